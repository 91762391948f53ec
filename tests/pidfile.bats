#!/usr/bin/env bats
# The pidfile and its status file against a hostile service user (SPEC
# sections 3 and 9): root never follows a link or opens anything but a
# regular file of its own, never hands either file over, and "ekkod -s"
# signals only an ekkod master that holds the pidfile's lock.

load helper
load helper_proc

bats_require_minimum_version 1.5.0

setup() {
	ekko_setup
	P=$(free_port)
	mkdir -p "$T/run"
	PF="$T/run/ekkod.pid"
	echo "precious" > "$T/victim"
	chmod 600 "$T/victim"
}
teardown() {
	ekko_teardown
	[ ! -f "$T/cleanup" ] || rm -rf "$(cat "$T/cleanup")"
}

# A config with one raw echo port $P and the pidfile $PF, plus lines $@.
conf() {
	{
		echo "workers = 1;"
		echo "pidfile = \"$PF\";"
		for l in "$@"; do echo "$l"; done
		echo "listeners = ( { address = \"127.0.0.1\"; port = $P;" \
		    "mode = \"echo\"; framing = \"raw\"; } );"
	} > "$T/ekkod.conf"
}

victim_untouched() {
	[ "$(cat "$T/victim")" = precious ]
	[ "$(stat -c '%u %a' "$T/victim")" = "$(id -u) 600" ]
}

# ekkod must refuse to start: exit 1, stderr has $1, nothing serves.
refuses_with() {
	run --separate-stderr timeout 10 "$EKKOD" -f -c "$T/ekkod.conf"
	echo "status $status, stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$1"* ]]
	run timeout 5 nc -N 127.0.0.1 "$P" <<< "x"
	[ -z "$output" ]
}

# Hold locks on $1 from a python process that writes $2 (a pid, or
# "self") into it first; $3 = flock+lockf (default) or "read".  Prints
# the holder's pid once the locks are held.
hold_lock() {
	python3 "$BATS_TEST_DIRNAME/clients/tools.py" hold-lock "$1" "$2" "${3:-write}" > "$T/holder" &
	echo $! >> "$T/pids"
	wait_for '[ -s "$T/holder" ]'
	cat "$T/holder"
}

@test "pidfile planted as a symlink to a victim file: refused, victim untouched" {
	conf
	ln -s "$T/victim" "$PF"
	refuses_with "pidfile $PF is a symbolic link: refusing to use it"
	victim_untouched
	[ -L "$PF" ]
}

@test "pidfile planted as a symlink to a directory or a fifo: refused" {
	conf
	mkdir "$T/dir"
	ln -s "$T/dir" "$PF"
	refuses_with "pidfile $PF is a symbolic link: refusing to use it"
	[ -z "$(ls -A "$T/dir")" ]
	rm "$PF"
	mkfifo "$T/fifo"
	ln -s "$T/fifo" "$PF"
	refuses_with "pidfile $PF is a symbolic link: refusing to use it"
	rm "$PF"
	# planted directly, not through a link: no hang on the fifo either
	mkfifo "$PF"
	refuses_with "pidfile $PF is not a regular file: refusing to use it"
	rm "$PF"
	mkdir "$PF"
	refuses_with "pidfile $PF: Is a directory"
}

@test "pidfile planted as a hard link to a victim file: refused, victim untouched" {
	conf
	ln "$T/victim" "$PF"
	refuses_with "pidfile $PF has more than one hard link: refusing to use it"
	victim_untouched
}

@test "status file planted as a symlink (victim, directory, fifo): refused, victim untouched" {
	conf
	ln -s "$T/victim" "$PF.status"
	refuses_with "status file $PF.status is a symbolic link: refusing to use it"
	victim_untouched
	rm "$PF.status"
	mkdir "$T/dir"
	ln -s "$T/dir" "$PF.status"
	refuses_with "status file $PF.status is a symbolic link: refusing to use it"
	rm "$PF.status"
	mkfifo "$T/fifo"
	ln -s "$T/fifo" "$PF.status"
	refuses_with "status file $PF.status is a symbolic link: refusing to use it"
	rm "$PF.status"
	ln "$T/victim" "$PF.status"
	refuses_with "status file $PF.status has more than one hard link"
	victim_untouched
}

@test "as root with user set: pidfile and status file stay root's; reload and exit still work" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	# the service user must reach the config and the run directory
	W=$(mktemp -d /tmp/ekko-pidfile.XXXXXX)
	echo "$W" > "$T/cleanup"
	chmod 755 "$W"
	mkdir "$W/run"
	chown nobody "$W/run"
	PF="$W/run/ekkod.pid"
	conf 'user = "nobody";'
	mv "$T/ekkod.conf" "$W/ekkod.conf"
	chmod 644 "$W/ekkod.conf"
	start_ekkod "$W/ekkod.conf"
	[ "$(stat -c %u "$PF")" = 0 ]
	[ "$(stat -c %u "$PF.status")" = 0 ]
	[ "$(cat "$PF")" = "$EKKOD_PID" ]
	# the master, now nobody, still records a reload's outcome
	run timeout 60 "$EKKOD" -s reload -c "$W/ekkod.conf"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(stat -c %u "$PF.status")" = 0 ]
	grep -q "^result ok$" "$PF.status"
	stop_ekkod
	[ ! -e "$PF" ] && [ ! -e "$PF.status" ]
}

@test "a pidfile of another owner (left by an older ekkod) is replaced by root's own" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	echo 999999 > "$PF"
	chown nobody "$PF"
	conf
	start_ekkod
	[ "$(stat -c %u "$PF")" = 0 ]
	[ "$(cat "$PF")" = "$EKKOD_PID" ]
}

@test "-s stop: a pidfile naming another process, locked by a third, signals nobody" {
	conf
	sleep 60 &
	victim=$!
	echo "$victim" >> "$T/pids"
	holder=$(hold_lock "$PF" "$victim")
	run --separate-stderr timeout 10 "$EKKOD" -s stop -c "$T/ekkod.conf"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[ "$stderr" = "ekkod: pidfile $PF names pid $victim but is locked by pid $holder: not trusting it" ]
	sleep 0.2
	kill -0 "$victim"
	kill -0 "$holder"
}

@test "-s stop: a pidfile naming its own lock holder that is not ekkod signals nobody" {
	conf
	holder=$(hold_lock "$PF" self)
	run --separate-stderr timeout 10 "$EKKOD" -s stop -c "$T/ekkod.conf"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[ "$stderr" = "ekkod: pidfile $PF names pid $holder, which is not an ekkod: not signalling it" ]
	sleep 0.2
	kill -0 "$holder"
}

@test "-s stop: only a read lock (all a reader of the file can take) is not a master" {
	conf
	sleep 60 &
	victim=$!
	echo "$victim" >> "$T/pids"
	echo "$victim" > "$PF"
	holder=$(hold_lock "$PF" "$victim" read)
	run --separate-stderr timeout 10 "$EKKOD" -s stop -c "$T/ekkod.conf"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"not trusting it"* ]]
	sleep 0.2
	kill -0 "$victim"
}

@test "-s stop: a symlinked pidfile is not followed" {
	conf
	start_ekkod
	mv "$PF" "$T/real.pid"
	ln -s "$T/real.pid" "$PF"
	run --separate-stderr timeout 10 "$EKKOD" -s stop -c "$T/ekkod.conf"
	[ "$status" -eq 1 ]
	[ "$stderr" = "ekkod: no running ekkod: pidfile $PF: is a symbolic link" ]
	kill -0 "$EKKOD_PID"
}

@test "-s stats and -s stop work when the config on disk no longer parses" {
	conf
	start_ekkod
	pid=$EKKOD_PID
	# a careless edit: a syntax error after the pidfile line
	printf 'workers = ;\nlimits = { max_frame = "x" };\n' >> "$T/ekkod.conf"
	run timeout 10 "$EKKOD" -t -c "$T/ekkod.conf"
	[ "$status" -eq 1 ]
	run timeout 10 "$EKKOD" -s stats -c "$T/ekkod.conf"
	echo "$output"
	[ "$status" -eq 0 ]
	log_has "stats: uptime [0-9]+, pid $pid, "
	# a reload still needs a valid config, and says why not
	run --separate-stderr timeout 10 "$EKKOD" -s reload -c "$T/ekkod.conf"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"ekkod.conf:"* ]]
	run timeout 10 "$EKKOD" -s stop -c "$T/ekkod.conf"
	[ "$status" -eq 0 ]
	wait_status "$pid" 150 || true
	EKKOD_PID=
	[ "$EXIT_STATUS" = 0 ]
}

@test "-s stop with only semantic errors in the config (unknown key) still stops" {
	conf 'no_such_key = 1;'
	sed -i '/no_such_key/d' "$T/ekkod.conf"
	start_ekkod
	pid=$EKKOD_PID
	echo 'no_such_key = 1;' >> "$T/ekkod.conf"
	run timeout 10 "$EKKOD" -s stop -c "$T/ekkod.conf"
	[ "$status" -eq 0 ]
	wait_status "$pid" 150 || true
	EKKOD_PID=
	[ "$EXIT_STATUS" = 0 ]
}

@test "group without user: refused by -t with file:line, not run as root silently" {
	cat > "$T/ekkod.conf" <<EOF
workers = 1;
group = "nogroup";
listeners = ( { address = "127.0.0.1"; port = $P; mode = "echo"; framing = "raw"; } );
EOF
	run --separate-stderr timeout 10 "$EKKOD" -t -c "$T/ekkod.conf"
	[ "$status" -eq 1 ]
	[ "$stderr" = "$T/ekkod.conf:2: group: \"nogroup\" is set without user: ekkod would keep running as root; set user too" ]
	refuses_with "is set without user"
}
