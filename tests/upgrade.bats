#!/usr/bin/env bats
# Binary upgrade in place (SPEC section 4a): USR2 / "ekkod -s upgrade"
# starts the binary now at the path the master was started from, hands
# it every listening socket, and only when its workers serve does the old
# master step down; every failure rolls back with the reason.  Two real
# builds that report different versions: build/ekkod and build/next/ekkod
# ("make next").

load helper
load helper_proc

bats_require_minimum_version 1.5.0

NEXT=$EKKO_BUILD/next/ekkod

setup() {
	ekko_setup
	[ -x "$NEXT" ] || skip "no $NEXT (make next)"
	mkdir -p "$T/bin"
	cp "$EKKOD" "$T/bin/ekkod"
	BIN=$T/bin/ekkod
	ports=$(free_ports 2)
	P=$(sed -n 1p <<< "$ports")
	C=$(sed -n 2p <<< "$ports")
	write_upgrade_conf
}
teardown() { ekko_teardown; }

# The config: a raw echo port $P and a line command port $C.
write_upgrade_conf() {
	write_conf <<EOF
workers = 2;
worker_timeout = ${WT:-10};
shutdown_timeout = 30;
pidfile = "$T/ekkod.pid";
listeners = (
  { address = "127.0.0.1"; port = $P; mode = "echo"; framing = "raw"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "line"; }
);
EOF
}

# Put $1 at the path the master was started from, as dpkg does (rename).
install_bin() {
	cp "$1" "$T/bin/.new"
	chmod "${2:-755}" "$T/bin/.new"
	mv -f "$T/bin/.new" "$BIN"
}

# A script at the binary's path: $1 is its body.
install_script() {
	printf '#!/bin/sh\n%s\n' "$1" > "$T/bin/.new"
	chmod 755 "$T/bin/.new"
	mv -f "$T/bin/.new" "$BIN"
}

start_master() {
	"$BIN" -f -c "$T/ekkod.conf" >>"$LOG" 2>&1 &
	ekkod_started $!
}

info_of() {
	printf 'INFO\r\n' | timeout 10 python3 "$BATS_TEST_DIRNAME/ekkotest.py" roundtrip \
	    127.0.0.1 "$C" 2 | tr -d '\r' |
	    awk -v k="$1" '$1 == k { print $2; exit }'
}

echo_ok() {
	[ "$(printf 'up %s\n' "$1" | timeout 10 python3 \
	    "$BATS_TEST_DIRNAME/ekkotest.py" roundtrip 127.0.0.1 "$P" 5)" = "up $1" ]
}

upgrade() {
	run --separate-stderr timeout 60 "$BIN" -s upgrade -c "$T/ekkod.conf"
	echo "status $status; out: $output; err: $stderr"
}

# The old master keeps serving, unchanged, after a refused upgrade.
still_serving() {
	[ "$(cat "$T/ekkod.pid")" = "$EKKOD_PID" ]
	kill -0 "$EKKOD_PID"
	echo_ok still
	[ "$(info_of version)" = "$("$EKKOD" -V | cut -d' ' -f2)" ]
	[ "$(info_of upgrades)" = 0 ]
}

@test "upgrade: the new binary serves on the same sockets; INFO and the pidfile name it; the old master is gone" {
	start_master
	old=$EKKOD_PID
	oldws=$(workers "$old")
	install_bin "$NEXT"
	upgrade
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^"ekkod: upgraded: pid "([0-9]+)", version "(.*)$ ]]
	new=${BASH_REMATCH[1]}
	echo "$new" >> "$T/pids"
	[ "${BASH_REMATCH[2]}" = "$("$NEXT" -V | cut -d' ' -f2)" ]
	[ "$(cat "$T/ekkod.pid")" = "$new" ]
	wait_gone "$old" 100
	[ "$(info_of pid)" = "$new" ]
	[ "$(info_of version)" = "${BASH_REMATCH[2]}" ]
	[ "$(info_of upgrades)" = 1 ]
	wait_gone "$old" 100
	for w in $oldws; do wait_gone "$w" 100; done
	log_has "upgrade: pid $new \(version .*\) serves"
	grep -q "adopting 2 socket(s) from the old master" "$LOG"
	echo_ok after
	# nothing leaked across exec: stdio, 2 listeners, pidfile, status
	# file, signalfd, epoll and a channel per worker; no pipe, no pair
	wait_for '[ "$(nworkers "$new")" -eq 2 ]'
	ls -l "/proc/$new/fd"
	[ "$(ls "/proc/$new/fd" | wc -l)" -eq 11 ]
	[ "$(ls -l "/proc/$new/fd" | grep -c 'socket:')" -eq 4 ]
	! ls -l "/proc/$new/fd" | grep -q 'pipe:' 
	# the new master is the one -s talks to, and it cleans up at exit
	run timeout 10 "$BIN" -s stop -c "$T/ekkod.conf"
	[ "$status" -eq 0 ]
	wait_gone "$new" 100
	[ ! -e "$T/ekkod.pid" ] && [ ! -e "$T/ekkod.pid.status" ]
}

@test "upgrade: 10 in a row, alternating two builds, under load: no failed connect, reset or wrong byte" {
	start_master
	first=$EKKOD_PID
	python3 "$BATS_TEST_DIRNAME/clients/upgrade_load.py" 127.0.0.1 "$P" \
	    "$T/stop" 120 > "$T/load.out" &
	load=$!
	echo "$load" >> "$T/pids"
	sleep 1
	masters=$first
	for round in $(seq 1 10); do
		if [ $((round % 2)) -eq 1 ]; then b=$NEXT; else b=$EKKOD; fi
		install_bin "$b"
		upgrade
		[ "$status" -eq 0 ]
		pid=$(cat "$T/ekkod.pid")
		echo "$pid" >> "$T/pids"
		masters="$masters $pid"
		# old workers may take a last connection while they drain
		wait_for '[ "$(info_of pid)" = "$pid" ]'
		[ "$(info_of version)" = "$("$b" -V | cut -d' ' -f2)" ]
		[ "$(info_of upgrades)" = "$round" ]
		sleep 0.5
	done
	sleep 1
	touch "$T/stop"
	wait "$load"
	sed "s/^/# /" "$T/load.out" >&3
	for k in connect_failed resets wrong timeouts; do
		grep -q " $k=0 \|^$k=0 \| $k=0$" "$T/load.out"
	done
	s=$(sed 's/.*sessions=\([0-9]*\).*/\1/' "$T/load.out")
	d=$(sed 's/.*sessions_done=\([0-9]*\).*/\1/' "$T/load.out")
	[ "$s" -gt 20 ] && [ "$s" -eq "$d" ]
	# every old master, and its workers, has gone
	last=$(cat "$T/ekkod.pid")
	for m in $masters; do
		[ "$m" = "$last" ] || wait_gone "$m" 150
	done
	[ "$(pgrep -f "$T/ekkod.conf" | sort | tr '\n' ' ')" = \
	    "$( (echo "$last"; workers "$last") | sort | tr '\n' ' ')" ]
	kill -TERM "$last"
	wait_gone "$last" 100
}

@test "upgrade: a second upgrade while the first old master still drains a connection succeeds" {
	start_master
	old=$EKKOD_PID
	exec 7<>"/dev/tcp/127.0.0.1/$P"	# keeps the old generation draining
	install_bin "$NEXT"
	upgrade
	[ "$status" -eq 0 ]
	first=$(cat "$T/ekkod.pid")
	echo "$first" >> "$T/pids"
	kill -0 "$old"	# still draining (shutdown_timeout 30)
	install_bin "$EKKOD"
	upgrade
	exec 7>&-
	[ "$status" -eq 0 ]
	second=$(cat "$T/ekkod.pid")
	echo "$second" >> "$T/pids"
	[ "$second" != "$first" ]
	[ "$(info_of pid)" = "$second" ]
	wait_gone "$old" 100
	wait_gone "$first" 100
	echo_ok after
}

@test "upgrade refused: the binary is missing; the old master serves on" {
	start_master
	rm "$BIN"
	cp "$EKKOD" "$T/bin/ekkod-ctl"
	BIN=$T/bin/ekkod-ctl upgrade
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cannot execute $T/bin/ekkod: No such file or directory"* ]]
	[[ "$stderr" == *"ekkod: upgrade refused or rolled back; pid $EKKOD_PID keeps serving"* ]]
	log_has "upgrade rolled back: the new master exited with status 127"
	BIN=$T/bin/ekkod-ctl
	still_serving
}

@test "upgrade refused: the binary is not executable" {
	start_master
	cp "$EKKOD" "$T/bin/ekkod-ctl"
	install_bin "$NEXT" 644
	BIN=$T/bin/ekkod-ctl upgrade
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cannot execute $T/bin/ekkod: Permission denied"* ]]
	BIN=$T/bin/ekkod-ctl
	still_serving
}

@test "upgrade rolled back: the new binary exits at once" {
	start_master
	cp "$EKKOD" "$T/bin/ekkod-ctl"
	install_script 'exit 3'
	BIN=$T/bin/ekkod-ctl upgrade
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"the new master exited with status 3"* ]]
	BIN=$T/bin/ekkod-ctl
	still_serving
}

@test "upgrade rolled back: the new binary rejects the config, and says why" {
	start_master
	install_bin "$NEXT"
	echo "bogus_key = 1;" >> "$T/ekkod.conf"
	upgrade
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$T/ekkod.conf:9: unknown key \"bogus_key\""* ]]
	[[ "$stderr" == *"the new master exited with status 1"* ]]
	log_has "upgrade: new master: .*unknown key"
	still_serving
}

@test "upgrade rolled back: the new master is never ready within worker_timeout; it is ended" {
	WT=2 write_upgrade_conf
	start_master
	cp "$EKKOD" "$T/bin/ekkod-ctl"
	install_script "echo \$\$ > $T/hung.pid; exec sleep 60"
	BIN=$T/bin/ekkod-ctl upgrade
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"the new master was not ready within worker_timeout (2 s)"* ]]
	hung=$(cat "$T/hung.pid")
	echo "$hung" >> "$T/pids"
	wait_gone "$hung" 100
	BIN=$T/bin/ekkod-ctl
	still_serving
}

@test "upgrade: a second USR2 while one is in progress is refused and logged" {
	WT=3 write_upgrade_conf
	start_master
	cp "$EKKOD" "$T/bin/ekkod-ctl"
	install_script "echo \$\$ > $T/hung.pid; exec sleep 60"
	timeout 60 "$T/bin/ekkod-ctl" -s upgrade -c "$T/ekkod.conf" \
	    > "$T/first.out" 2>&1 &
	first=$!
	wait_for '[ -s "$T/hung.pid" ]'
	echo "$(cat "$T/hung.pid")" >> "$T/pids"
	BIN=$T/bin/ekkod-ctl upgrade
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"an upgrade is already in progress"* ]]
	log_has "upgrade refused: an upgrade is already in progress"
	# the first one gets its own outcome, not the second's
	wait "$first" || true
	cat "$T/first.out"
	grep -q "not ready within worker_timeout" "$T/first.out"
	! grep -q "already in progress" "$T/first.out"
	BIN=$T/bin/ekkod-ctl
	still_serving
}

@test "upgrade: TERM to the old master during an upgrade stops both; the pidfile goes" {
	start_master
	install_script "echo \$\$ > $T/hung.pid; exec sleep 60"
	kill -USR2 "$EKKOD_PID"
	wait_for '[ -s "$T/hung.pid" ]'
	hung=$(cat "$T/hung.pid")
	echo "$hung" >> "$T/pids"
	pid=$EKKOD_PID
	kill -TERM "$pid"
	wait_status "$pid" 150 || true
	EKKOD_PID=
	[ "$EXIT_STATUS" = 0 ]
	wait_gone "$hung" 100
	[ ! -e "$T/ekkod.pid" ]
	log_has "upgrade rolled back: stop requested"
}

@test "upgrade: the old master killed (SIGKILL) mid-upgrade; the new one carries on and owns the pidfile" {
	start_master
	old=$EKKOD_PID
	cp "$NEXT" "$T/bin/ekkod.next"
	# the new master takes a second to start: time to kill the old one
	install_script "echo \$\$ > $T/new.pid; sleep 1; exec $T/bin/ekkod.next \"\$@\""
	kill -USR2 "$old"
	wait_for '[ -s "$T/new.pid" ]'
	new=$(cat "$T/new.pid")
	echo "$new" >> "$T/pids"
	kill -KILL "$old"
	EKKOD_PID=
	log_has "upgrade: the old master is gone; pid $new takes over" 150
	wait_for '[ "$(cat "$T/ekkod.pid")" = "$new" ]'
	echo_ok survived
	[ "$(info_of pid)" = "$new" ]
	cp "$EKKOD" "$T/bin/ekkod-ctl"
	run timeout 10 "$T/bin/ekkod-ctl" -s stop -c "$T/ekkod.conf"
	[ "$status" -eq 0 ]
	wait_gone "$new" 100
	[ ! -e "$T/ekkod.pid" ]
}

@test "upgrade: a lame duck stays one across the upgrade (the new master drains too)" {
	start_master
	old=$EKKOD_PID
	run "$BIN" -s drain -c "$T/ekkod.conf"
	[ "$status" -eq 0 ]
	wait_for '[ "$(printf "PING\r\n" | timeout 10 python3 \
	    "$BATS_TEST_DIRNAME/ekkotest.py" roundtrip 127.0.0.1 "$C" 2 |
	    tr -d "\r")" = "PONG draining" ]'
	install_bin "$NEXT"
	upgrade
	[ "$status" -eq 0 ]
	new=$(cat "$T/ekkod.pid")
	echo "$new" >> "$T/pids"
	[ "$new" != "$old" ]
	wait_gone "$old" 100
	[ "$(info_of pid)" = "$new" ]
	[ "$(printf 'PING\r\n' | timeout 10 python3 \
	    "$BATS_TEST_DIRNAME/ekkotest.py" roundtrip 127.0.0.1 "$C" 2 |
	    tr -d '\r')" = "PONG draining" ]
	echo_ok "still serving"
	run "$BIN" -s undrain -c "$T/ekkod.conf"
	[ "$status" -eq 0 ]
	wait_for '[ "$(printf "PING\r\n" | timeout 10 python3 \
	    "$BATS_TEST_DIRNAME/ekkotest.py" roundtrip 127.0.0.1 "$C" 2 |
	    tr -d "\r")" = "PONG" ]'
}
