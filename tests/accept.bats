#!/usr/bin/env bats
# Accepting under stress: draining with tcp.reuseport never re-arms a
# listener, a listener that fails for good is dropped (logged once, no
# spin), limit messages stay few under churn, and a reload applies socket
# options to the listeners it keeps or says plainly why it cannot rebind.

load helper
load helper_proc

setup() { ekko_setup; HOLD_FD_OPEN=; }
teardown() {
	if [ -n "$HOLD_FD_OPEN" ]; then
		exec 8>&-
	fi
	ekko_teardown
}

# Start accept.py hold in the background with args "$@", its stdin a fifo held
# open on fd 8 (bats owns 3; close 8 to let it go), its output in $T/hold.out.
hold_start() {
	mkfifo "$T/hold.in"
	python3 "$BATS_TEST_DIRNAME/clients/accept.py" hold "$@" < "$T/hold.in" > "$T/hold.out" 2>&1 &
	HOLD_PID=$!
	echo "$HOLD_PID" >> "$T/pids"
	exec 8> "$T/hold.in"
	HOLD_FD_OPEN=1
}

hold_release() {
	exec 8>&-
	HOLD_FD_OPEN=
	wait_gone "$HOLD_PID" 50
}

# CPU time (user + system, clock ticks) of process $1; 0 once gone.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# Largest CPU ticks any of the pids in $@ burns in one second.
max_cpu_per_second() {
	local p max=0 d
	declare -A t0
	for p in "$@"; do t0[$p]=$(cpu_ticks "$p"); done
	sleep 1
	for p in "$@"; do
		d=$(( $(cpu_ticks "$p") - ${t0[$p]} ))
		[ "$d" -gt "$max" ] && max=$d
	done
	echo "$max"
}

# Does an echo listener on port $1 echo a line, $2 times in a row?
echo_ok() {
	local i
	for i in $(seq 1 "${2:-1}"); do
		[ "$(printf 'ping\n' | tcp_roundtrip 127.0.0.1 "$1" 2)" = ping ] ||
		    return 1
	done
}

@test "drain with reuseport: old workers accept their queue, do not spin or re-arm, then exit" {
	mapfile -t P < <(free_ports 2)
	write_conf <<EOF
workers = 2;
shutdown_timeout = 10;
worker_timeout = 30;
tcp = { reuseport = true; };
listeners = (
  { address = "127.0.0.1"; port = ${P[0]}; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = ${P[1]}; mode = "echo"; framing = "line"; }
);
EOF
	start_ekkod
	mapfile -t OLD < <(workers)
	[ "${#OLD[@]}" -eq 2 ]
	kill -STOP "${OLD[@]}"
	kill -HUP "$EKKOD_PID"
	log_has "reload: generation 2 serving" 100 || {
		kill -CONT "${OLD[@]}"; false; }
	# Some of these land in the stopped workers' own reuseport queues.
	hold_start "${P[0]},${P[1]}" 60 15
	wait_for 'grep -q queued "$T/hold.out"' 100 || {
		kill -CONT "${OLD[@]}"; cat "$T/hold.out"; false; }
	kill -CONT "${OLD[@]}"
	wait_for 'grep -q echoed "$T/hold.out"' 200
	cat "$T/hold.out" >&2; tail -5 "$LOG" >&2
	grep -qx "echoed 120" "$T/hold.out"
	# The old workers hold their connections and wait: idle, not spinning.
	for p in "${OLD[@]}"; do ! is_gone "$p" || skip "old worker gone"; done
	cpu=$(max_cpu_per_second "${OLD[@]}")
	echo "old workers: at most $cpu ticks in 1 s" >&2
	[ "$cpu" -le 15 ]
	# New connections are served on both ports, every time.
	echo_ok "${P[0]}" 10
	echo_ok "${P[1]}" 10
	# No flood: no failing accept at all, nothing suppressed.
	! grep -E "accept port|suppressed" "$LOG"
	# Let the held connections go: the old workers finish and exit.
	hold_release
	for p in "${OLD[@]}"; do wait_gone "$p" 50; done
	[ "$(nworkers)" -eq 2 ]
}

@test "a listener whose accept fails for good is dropped once, without spinning" {
	mapfile -t P < <(free_ports 2)
	write_conf <<EOF
workers = 2;
listeners = (
  { address = "127.0.0.1"; port = ${P[0]}; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = ${P[1]}; mode = "echo"; framing = "line"; }
);
EOF
	start_ekkod
	mapfile -t W < <(workers)
	out=$(python3 "$BATS_TEST_DIRNAME/clients/accept.py" shutdown "$EKKOD_PID" "${P[0]}" 2>&1) ||
	    skip "cannot reach the listener: $out"
	sleep 0.5
	cpu=$(max_cpu_per_second "${W[@]}")
	echo "workers: at most $cpu ticks in 1 s" >&2
	[ "$cpu" -le 15 ]
	# Logged once per worker, with the port and the reason.
	n=$(grep -c "accept port ${P[0]}: Invalid argument; no longer accepting on this listener" "$LOG" || true)
	[ "$n" -ge 1 ] && [ "$n" -le 2 ]
	! grep suppressed "$LOG"
	# The other listener serves on; the workers are the same.
	echo_ok "${P[1]}" 10
	[ "$(workers | tr '\n' ' ')" = "$(printf '%s ' "${W[@]}")" ]
}

@test "a client churning at the descriptor limit: a few limit lines, not one per flip" {
	P=$(free_port)
	write_conf <<EOF
workers = 1;
listeners = (
  { address = "127.0.0.1"; port = $P; mode = "echo"; framing = "line"; }
);
EOF
	# RLIMIT_NOFILE 64: the worker holds 48 connections (16 kept back).
	start_ekkod_ulimit 64
	# 56 connections, more than the worker's budget: it flips between
	# "at its descriptor limit" and "below it" many times a second.
	churns=$(timeout 30 python3 "$BATS_TEST_DIRNAME/clients/accept.py" churn "$P" 56 3)
	echo "churns: $churns" >&2
	[ "$churns" -ge 50 ]
	sleep 0.3
	n=$(grep -c "descriptor limit" "$LOG" || true)
	echo "limit lines: $n" >&2
	[ "$n" -ge 1 ] && [ "$n" -le 3 ]
	echo_ok "$P" 1
}

# rb and tb (bytes) of the listening socket on port $1, as "RB TB".
listen_bufs() {
	ss -tlmnH "( sport = :$1 )" | tr -d '\n' |
	    sed -n 's/.*skmem:(r[0-9]*,rb\([0-9]*\),t[0-9]*,tb\([0-9]*\),.*/\1 \2/p'
}

# Write a config with one echo listener on $1:$2 and tcp settings $3.
acc_conf() {
	write_conf <<EOF
workers = 1;
pidfile = "$T/ekkod.pid";
tcp = { $3 };
listeners = (
  { address = "$1"; port = $2; mode = "echo"; framing = "line"; }
);
EOF
}

@test "reload applies tcp.rcvbuf and tcp.sndbuf to a kept listener" {
	[ "$(cat /proc/sys/net/core/rmem_max)" -ge 45056 ] &&
	    [ "$(cat /proc/sys/net/core/wmem_max)" -ge 45056 ] ||
	    skip "net.core.rmem_max/wmem_max below 45056"
	P=$(free_port)
	acc_conf 127.0.0.1 "$P" "rcvbuf = 24576; sndbuf = 24576;"
	start_ekkod
	# The kernel doubles what it is given (its bookkeeping).
	[ "$(listen_bufs "$P")" = "49152 49152" ]
	acc_conf 127.0.0.1 "$P" "rcvbuf = 40960; sndbuf = 45056;"
	"$EKKOD" -s reload -c "$T/ekkod.conf"
	log_has "reload: generation 2 serving" 50
	echo "after reload: $(listen_bufs "$P")" >&2
	[ "$(listen_bufs "$P")" = "81920 90112" ]
	echo_ok "$P" 1
}

@test "reload from 0.0.0.0:P to 127.0.0.1:P is refused with the reason" {
	P=$(free_port)
	acc_conf 0.0.0.0 "$P" ""
	start_ekkod
	acc_conf 127.0.0.1 "$P" ""
	run "$EKKOD" -s reload -c "$T/ekkod.conf"
	echo "$output" >&2
	[ "$status" -eq 1 ]
	[[ "$output" == *"bind 127.0.0.1:$P: Address already in use: still bound by the current 0.0.0.0:$P listener; changing between a wildcard and a specific address of the same port needs a restart"* ]]
	grep -q "reload failed: bind 127.0.0.1:$P: .*needs a restart" "$LOG"
	# Nothing changed: the old listener serves.
	echo_ok "$P" 1
}

@test "reload turning tcp.reuseport on: the workers get sockets of their own" {
	P=$(free_port)
	acc_conf 127.0.0.1 "$P" "reuseport = false;"
	sed -i 's/^workers = 1;/workers = 2;/' "$T/ekkod.conf"
	start_ekkod
	[ "$(ss -tlnH "( sport = :$P )" | wc -l)" -eq 1 ]
	sed -i 's/reuseport = false;/reuseport = true;/' "$T/ekkod.conf"
	"$EKKOD" -s reload -c "$T/ekkod.conf"
	log_has "reload: generation 2 serving" 50
	# The kept socket and one per new worker; the old ones had none.
	wait_for '[ "$(ss -tlnH "( sport = :$P )" | wc -l)" -eq 3 ]' 50
	! grep "sharing the master's socket" "$LOG"
	echo_ok "$P" 4
}
