#!/usr/bin/env bats
# Connection counts under faults: every count taken is given back on
# every path (an epoll_ctl ADD that fails, a worker killed while holding
# connections or half-way through admitting one), so connections_active
# returns to the truth and per_ip_connections never locks an address
# out.  Faults come from an LD_PRELOAD shim (tests/fixtures/epoll_fail.c)
# built into the test's directory.

load helper

setup() {
	ekko_setup
	SHIM="$T/epoll_fail.so"
	cc -shared -fPIC -o "$SHIM" "$BATS_TEST_DIRNAME/fixtures/epoll_fail.c" \
	    -ldl
	CNT="$BATS_TEST_DIRNAME/clients/counters.py"
}

teardown() {
	touch "$T/release"
	ekko_teardown
}

# The config: workers $1, the limits group $2; echo port $E (line),
# command port $C.
conf() {
	write_conf <<EOF
workers = $1;
limits = { $2 };
listeners = (
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
);
EOF
}

# connections_active from STATS (the asking connection counts itself).
active() {
	stat_of "$C" connections_active 2>/dev/null
}

# Hold $1 connections in the background until teardown or release.
hold_bg() {
	rm -f "$T/ready" "$T/release"
	python3 "$CNT" hold "$E" "$1" "$T/ready" "$T/release" &
	echo $! >> "$T/pids"
	wait_for '[ -e "$T/ready" ]'
}

@test "epoll_ctl ADD failing: no count leaks, the address is never locked out" {
	E=$(free_port)
	C=$(free_port)
	conf 2 "per_ip_connections = 2;"
	touch "$T/faults"
	LD_PRELOAD="$SHIM" EKKO_SHIM_PORT="$E" EKKO_SHIM_EVERY=4 \
	    EKKO_SHIM_ON="$T/faults" start_ekkod
	run python3 "$CNT" churn "$E" 60
	echo "$output"
	[ "$status" -eq 0 ]
	# faults were injected, and the server survived them
	dropped=$(echo "$output" | awk '{ print $4 }')
	[ "$dropped" -ge 5 ]
	grep -q "epoll_ctl: No space left on device" "$LOG"
	rm "$T/faults"
	# every count given back: only the STATS connection is left
	wait_for '[ "$(active)" = 1 ]' 30 || { echo "active $(active)"; false; }
	# 127.0.0.1 may still hold per_ip_connections, and no more
	run python3 "$CNT" perip "$E" 2
	echo "$output"
	[ "$status" -eq 0 ]
	wait_for '[ "$(active)" = 1 ]' 30
}

@test "a worker killed by SIGKILL holding connections: counts freed" {
	E=$(free_port)
	C=$(free_port)
	conf 1 "per_ip_connections = 4;"
	start_ekkod
	hold_bg 3
	[ "$(active)" = 4 ]
	old=$(workers)
	kill -KILL "$old"
	wait_for '[ -n "$(workers)" ] && [ "$(workers)" != "$old" ]'
	wait_for '[ "$(active)" = 1 ]' 30 || { echo "active $(active)"; false; }
	touch "$T/release"
	run python3 "$CNT" perip "$E" 4
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "a worker killed half-way through admitting a connection: no leak, no wrap" {
	E=$(free_port)
	C=$(free_port)
	conf 1 "per_ip_connections = 4;"
	# the 4th connection's epoll_ctl ADD kills the worker: after both
	# counts were taken, before the connection was registered
	LD_PRELOAD="$SHIM" EKKO_SHIM_PORT="$E" EKKO_SHIM_KILL="$T/killed" \
	    EKKO_SHIM_KILL_AFTER=3 start_ekkod
	old=$(workers)
	hold_bg 3
	run python3 "$CNT" churn "$E" 1
	echo "$output"
	[ "$output" = "served 0 dropped 1" ]
	[ -e "$T/killed" ]
	wait_for '[ -n "$(workers)" ] && [ "$(workers)" != "$old" ]'
	grep -q "worker $old (slot 0, generation 1) killed by SIGKILL" "$LOG"
	wait_for '[ "$(active)" = 1 ]' 30 || { echo "active $(active)"; false; }
	touch "$T/release"
	run python3 "$CNT" perip "$E" 4
	echo "$output"
	[ "$status" -eq 0 ]
	n=$(active)
	echo "connections_active $n"
	[ "$n" -ge 1 ] && [ "$n" -le 5 ]
}
