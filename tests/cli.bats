#!/usr/bin/env bats
# ekkod's command line (SPEC section 3): options and exit codes, -t with
# golden error output, bind and pidfile conflicts, daemon mode, -s.

load helper
load helper_proc

bats_require_minimum_version 1.5.0

BAD="$BATS_TEST_DIRNAME/fixtures/bad"
TOP="$BATS_TEST_DIRNAME/.."

setup() { ekko_setup; }
teardown() { ekko_teardown; }

# A config with one raw echo port $P (and pidfile $2 if given) in $1.
conf_at() {
	local pf=""
	[ -z "${2:-}" ] || pf="pidfile = \"$2\";"
	cat > "$1" <<EOF
workers = 2;
$pf
listeners = ( { address = "127.0.0.1"; port = $P; mode = "echo"; framing = "raw"; } );
EOF
}

echo_ok() {
	local out
	out=$(printf 'cli %s\n' "$2" | timeout 10 python3 \
	    "$BATS_TEST_DIRNAME/ekkotest.py" roundtrip 127.0.0.1 "$1" 5)
	[ "$out" = "cli $2" ]
}

# ekkod -t on fixture $1.conf, run from the fixture directory: exit 1,
# nothing on stdout, stderr exactly $1.out.
golden() {
	local name=$1
	[ -f "$BAD/$name.conf" ] && [ -f "$BAD/$name.out" ]
	st=0
	(cd "$BAD" && timeout 10 "$EKKOD" -t -c "$name.conf" \
	    >"$T/stdout" 2>"$T/stderr") || st=$?
	diff -u "$BAD/$name.out" "$T/stderr"
	[ "$st" -eq 1 ]
	[ ! -s "$T/stdout" ]
}

# ---- options ----

@test "-V prints the version, exit 0" {
	version=$(sed -n 's/^VERSION[[:space:]]*:*=[[:space:]]*//p' "$TOP/Makefile")
	run "$EKKOD" -V
	[ "$status" -eq 0 ]
	[ "$output" = "ekkod $version" ]
}

@test "-h prints the usage on stdout, exit 0" {
	run --separate-stderr "$EKKOD" -h
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: ekkod [-c FILE] [-f] [-t] [-s reload|upgrade|stop|quit|stats|drain|undrain] [-V] [-h]" ]]
	[ -z "$stderr" ]
}

@test "an unknown option is a usage error: exit 2, usage on stderr" {
	run --separate-stderr "$EKKOD" -x
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ "$stderr" == *"usage: ekkod"* ]]
	run "$EKKOD" -c
	[ "$status" -eq 2 ]
	run "$EKKOD" -t extra-argument
	[ "$status" -eq 2 ]
}

@test "-s with an unknown signal name: exit 2 naming the valid ones" {
	run --separate-stderr "$EKKOD" -s bogus -c "$BAD/unknown_key.conf"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *'-s: unknown signal "bogus" (reload, upgrade, stop, quit, stats, drain, undrain)'* ]]
}

# ---- -t ----

@test "-t on a good config: exit 0 and 'ekkod: configuration FILE is ok'" {
	P=$(free_port)
	conf_at "$T/good.conf"
	run --separate-stderr "$EKKOD" -t -c "$T/good.conf"
	[ "$status" -eq 0 ]
	[ "$output" = "ekkod: configuration $T/good.conf is ok" ]
	[ -z "$stderr" ]
	# every section, IPv6, each framing, workers = "auto"
	cat > "$T/full.conf" <<'EOF'
workers = "auto";
user = ""; group = "";
pidfile = "";
shutdown_timeout = 10;
worker_timeout = 30;
log = { facility = "local3"; level = "debug"; ident = "ekkod-test"; };
limits = { max_connections = 100; per_ip_connections = 5; max_frame = 4096;
           idle_timeout = 0; frame_timeout = 0; write_timeout = 0;
           max_output = 65536; };
tcp = { nodelay = false; keepalive = false; backlog = 16; rcvbuf = 65536;
        sndbuf = 65536; reuseport = true; };
admin_allow = [ "127.0.0.0/8", "::1/128", "10.1.2.0/24" ];
listeners = (
  { address = "::1"; port = 1; mode = "echo"; framing = "raw";
    allow = [ "::1/128" ]; deny = [ "::/0" ]; },
  { address = "127.0.0.1"; port = 2; mode = "echo"; framing = "line";
    delimiter = "\r\n"; },
  { address = "127.0.0.1"; port = 3; mode = "echo"; framing = "fixed";
    frame_size = 16; },
  { address = "0.0.0.0"; port = 4; mode = "command"; framing = "line"; },
  { address = "::"; port = 5; mode = "command"; framing = "length"; }
);
EOF
	run "$EKKOD" -t -c "$T/full.conf"
	[ "$status" -eq 0 ]
	[ "$output" = "ekkod: configuration $T/full.conf is ok" ]
}

@test "-t: a config's escape sequences never reach the terminal raw" {
	# a value quoted back in an error, and the log ident of every line
	printf '%s\n' 'log = { ident = "e\x1b[2Jk"; };' \
	    'listeners = ( { address = "1.2.3.4\x1b]0;pwned\x07"; port = 1; } );' \
	    | write_conf
	run --separate-stderr "$EKKOD" -t -c "$T/ekkod.conf"
	echo "$stderr" | cat -v
	[ "$status" -eq 1 ]
	[[ "$stderr" == *'listeners.[0].address: "1.2.3.4?]0;pwned?" is not a numeric'* ]]
	if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' <<<"$stderr"; then
		echo "control bytes on stderr"
		false
	fi
}

@test "-t on etc/ekkod.conf (the reference config) is ok" {
	cd "$TOP"
	run --separate-stderr "$EKKOD" -t -c etc/ekkod.conf
	[ "$status" -eq 0 ]
	[ "$output" = "ekkod: configuration etc/ekkod.conf is ok" ]
}

@test "golden: every bad fixture has its expected output, and vice versa" {
	n=0
	for c in "$BAD"/*.conf; do
		[ -f "${c%.conf}.out" ] || { echo "no ${c%.conf}.out"; false; }
		n=$((n + 1))
	done
	for o in "$BAD"/*.out; do
		[ -f "${o%.out}.conf" ] || { echo "no ${o%.out}.conf"; false; }
	done
	[ "$n" -ge 12 ]
}

@test "golden: syntax error" { golden syntax; }
@test "golden: unknown key at top level" { golden unknown_key; }
@test "golden: unknown keys in groups and in a listener" { golden unknown_nested; }
@test "golden: wrong types" { golden wrong_type; }
@test "golden: values out of range, each reported once" { golden out_of_range; }
@test "golden: bad CIDRs" { golden bad_cidr; }
@test "golden: duplicate listener" { golden duplicate_listener; }
@test "golden: command mode with raw framing" { golden command_raw; }
@test "golden: fixed framing without frame_size" { golden fixed_no_size; }
@test "golden: a host name instead of a numeric address, reported once" { golden non_numeric_address; }
@test "golden: listener keys that do not fit, missing keys, each at its line" { golden listener_keys; }
@test "golden: an empty listener list" { golden no_listeners; }
@test "golden: several errors in one file are all reported" {
	golden many_errors
	[ "$(wc -l < "$BAD/many_errors.out")" -ge 10 ]
}

@test "a bad config refuses to start, with the same errors as -t" {
	st=0
	(cd "$BAD" && timeout 10 "$EKKOD" -f -c many_errors.conf \
	    >"$T/stdout" 2>"$T/stderr") || st=$?
	[ "$st" -eq 1 ]
	# the same FILE:LINE: message lines, whatever the log prefix
	sed 's/^ekkod\[[0-9]*\]: //' "$T/stderr" | grep -F -f "$BAD/many_errors.out" | wc -l > "$T/n"
	[ "$(cat "$T/n")" -eq "$(wc -l < "$BAD/many_errors.out")" ]
}

# ---- -c ----

@test "-c naming a missing file: exit 1 with 'cannot open'" {
	run --separate-stderr "$EKKOD" -t -c "$T/nope.conf"
	[ "$status" -eq 1 ]
	[ "$stderr" = "$T/nope.conf: cannot open: No such file or directory" ]
	run --separate-stderr timeout 10 "$EKKOD" -f -c "$T/nope.conf"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$T/nope.conf: cannot open: No such file or directory"* ]]
}

@test "no -c and no default file: -t checks the built-in defaults" {
	def=$("$EKKOD" -h | sed -n 's/.*(default \(.*\)).*/\1/p')
	[ -n "$def" ]
	[ ! -e "$def" ] || skip "$def exists on this machine"
	run --separate-stderr "$EKKOD" -t
	[ "$status" -eq 0 ]
	[[ "$output" == "ekkod: configuration "*"built-in defaults"*" is ok" ]]
}

# ---- conflicts ----

@test "two daemons on one port: the second exits 1 naming address and reason" {
	P=$(free_port)
	conf_at "$T/ekkod.conf"
	start_ekkod
	conf_at "$T/second.conf"
	run --separate-stderr timeout 10 "$EKKOD" -f -c "$T/second.conf"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"bind 127.0.0.1:$P: Address already in use"* ]]
	# and the first one still serves
	echo_ok "$P" first
	kill -0 "$EKKOD_PID"
	[ "$(nworkers)" -eq 2 ]
}

@test "pidfile: the master's pid; a second ekkod on it refuses; removed on stop" {
	P=$(free_port)
	conf_at "$T/ekkod.conf" "$T/run/ekkod.pid"
	mkdir -p "$T/run"
	start_ekkod
	[ "$(cat "$T/run/ekkod.pid")" = "$EKKOD_PID" ]
	Q=$P
	P=$(free_ports 2 | grep -vx "$Q" | head -1)
	conf_at "$T/second.conf" "$T/run/ekkod.pid"
	run --separate-stderr timeout 10 "$EKKOD" -f -c "$T/second.conf"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"pidfile $T/run/ekkod.pid is locked by pid $EKKOD_PID: is another ekkod running?"* ]]
	# the refused one touched neither the pidfile nor its port
	[ "$(cat "$T/run/ekkod.pid")" = "$EKKOD_PID" ]
	run timeout 10 nc -N 127.0.0.1 "$P" <<< "x"
	[ -z "$output" ]
	echo_ok "$Q" still
	stop_ekkod
	[ ! -e "$T/run/ekkod.pid" ]
	[ -z "$(ls -A "$T/run")" ]
}

@test "a stale pidfile (unlocked) is taken over at start" {
	P=$(free_port)
	echo 999999 > "$T/ekkod.pid"
	conf_at "$T/ekkod.conf" "$T/ekkod.pid"
	start_ekkod
	[ "$(cat "$T/ekkod.pid")" = "$EKKOD_PID" ]
	echo_ok "$P" taken
}

# ---- daemon mode and -s ----

@test "daemon mode: returns at once, detached, serves; -s stop stops it" {
	P=$(free_port)
	conf_at "$T/ekkod.conf" "$T/ekkod.pid"
	st=0
	timeout 10 "$EKKOD" -c "$T/ekkod.conf" >"$T/out" 2>&1 || st=$?
	cat "$T/out"
	[ "$st" -eq 0 ]
	wait_for '[ -s "$T/ekkod.pid" ]'
	pid=$(cat "$T/ekkod.pid")
	echo "$pid" >> "$T/pids"
	kill -0 "$pid"
	# not our child, its own session, cwd /, stdio on /dev/null
	ppid=$(ps -o ppid= -p "$pid" | tr -d ' ')
	[ "$ppid" != "$$" ] && [ "$ppid" != "$BASHPID" ]
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ]
	[ "$(readlink "/proc/$pid/cwd")" = / ]
	for fd in 0 1 2; do
		[ "$(readlink "/proc/$pid/fd/$fd")" = /dev/null ]
	done
	wait_for '[ "$(nworkers "$pid")" -eq 2 ]'
	wait_for 'echo_ok "$P" daemon 2>/dev/null'
	ws=$(pgrep -P "$pid")
	run timeout 10 "$EKKOD" -s stop -c "$T/ekkod.conf"
	[ "$status" -eq 0 ]
	wait_gone "$pid" 100
	for w in $ws; do wait_gone "$w" 50; done
	[ ! -e "$T/ekkod.pid" ]
	run timeout 10 nc -N 127.0.0.1 "$P" <<< "x"
	[ -z "$output" ]
}

@test "daemon mode: 'ekkod -s stop' works as soon as 'ekkod' has returned" {
	P=$(free_port)
	conf_at "$T/ekkod.conf" "$T/ekkod.pid"
	for i in $(seq 1 10); do
		st=0
		timeout 10 "$EKKOD" -c "$T/ekkod.conf" >"$T/out" 2>&1 || st=$?
		# at once, as a script would: the pidfile must name the master
		sst=0
		timeout 10 "$EKKOD" -s stop -c "$T/ekkod.conf" >"$T/sout" 2>&1 ||
		    sst=$?
		echo "round $i: start exit $st, stop exit $sst: $(cat "$T/sout")"
		if [ "$sst" -ne 0 ]; then
			# clean up the master that is still running
			wait_for '[ -s "$T/ekkod.pid" ]'
			pid=$(cat "$T/ekkod.pid")
			echo "$pid" >> "$T/pids"
			kill -TERM "$pid"
			wait_gone "$pid" 100
		fi
		[ "$st" -eq 0 ]
		[ "$sst" -eq 0 ]
		wait_for '[ ! -e "$T/ekkod.pid" ]'
	done
}

@test "-s stats and -s quit reach the master through the pidfile" {
	P=$(free_port)
	conf_at "$T/ekkod.conf" "$T/ekkod.pid"
	start_ekkod
	run timeout 10 "$EKKOD" -s stats -c "$T/ekkod.conf"
	[ "$status" -eq 0 ]
	log_has "stats: uptime [0-9]+, pid $EKKOD_PID, "
	pid=$EKKOD_PID
	run timeout 10 "$EKKOD" -s quit -c "$T/ekkod.conf"
	[ "$status" -eq 0 ]
	wait_status "$pid" 150 || true
	EKKOD_PID=
	[ "$EXIT_STATUS" = 0 ]
	grep -q "graceful stop requested" "$LOG"
	[ ! -e "$T/ekkod.pid" ]
}

@test "-s stop without a pidfile in the config: exit 1, clear message" {
	P=$(free_port)
	conf_at "$T/ekkod.conf"
	run --separate-stderr timeout 10 "$EKKOD" -s stop -c "$T/ekkod.conf"
	[ "$status" -eq 1 ]
	[ "$stderr" = "ekkod: $T/ekkod.conf sets no pidfile: cannot find the running master" ]
}

@test "-s stop with no master running: exit 1, clear message, nobody signalled" {
	P=$(free_port)
	conf_at "$T/ekkod.conf" "$T/ekkod.pid"
	run --separate-stderr timeout 10 "$EKKOD" -s stop -c "$T/ekkod.conf"
	[ "$status" -eq 1 ]
	[ "$stderr" = "ekkod: no running ekkod: pidfile $T/ekkod.pid: No such file or directory" ]
	# a stale pidfile naming a live process that is not ekkod
	sleep 60 &
	victim=$!
	echo "$victim" >> "$T/pids"
	echo "$victim" > "$T/ekkod.pid"
	run --separate-stderr timeout 10 "$EKKOD" -s stop -c "$T/ekkod.conf"
	[ "$status" -eq 1 ]
	[ "$stderr" = "ekkod: no running ekkod: pidfile $T/ekkod.pid is not locked (stale)" ]
	sleep 0.2
	kill -0 "$victim"
	kill "$victim"
	wait "$victim" 2>/dev/null || true
}
