#!/usr/bin/env bats
# The tcp.* settings as a peer sees them on its connections, read from
# the server side's sockets with ss(8): keepalive timers, and the request
# acknowledged by the reply instead of by an ACK of its own.

load helper

setup() { ekko_setup; HOLD_PID=; }
teardown() {
	if [ -n "$HOLD_PID" ]; then
		kill -TERM "$HOLD_PID" 2>/dev/null || true
		wait "$HOLD_PID" 2>/dev/null || true
	fi
	ekko_teardown
}

# Server-side sockets of port $1 in ss -tnoi form, one a line.
server_sockets() {
	ss -tnoiH state established "( sport = :$1 )" | paste - -
}

# ekkod with $1 workers, tcp = { $2 }, one echo port $P; then $3
# connections held open on it, each having echoed a message.
serve_and_hold() {
	P=$(free_port)
	write_conf <<EOF
workers = $1;
tcp = { $2 };
listeners = ( { address = "127.0.0.1"; port = $P; mode = "echo"; } );
EOF
	start_ekkod
	hold_conns "$P" "$3"
	run server_sockets "$P"
	echo "$output"
	[ "$(echo "$output" | grep -c .)" -eq "$3" ]
}

# How many of the server-side sockets (in $output) match $1.
count_of() {
	echo "$output" | grep -c -- "$1"
}

# Hold $2 echoed connections to port $1 in the background (fd 3 is
# their stdin: closing it ends them).
hold_conns() {
	coproc HOLD { timeout 60 python3 "$BATS_TEST_DIRNAME/clients/tools.py" \
	    hold-echoed "$1" "$2"; }
	echo "$HOLD_PID" >> "$T/pids"
	local line
	read -r -t 20 line <&"${HOLD[0]}"
	[ "$line" = ready ]
}

@test "keepalive: every accepted socket has a keepalive timer" {
	serve_and_hold 2 "keepalive = true;" 8
	[ "$(count_of 'timer:(keepalive')" -eq 8 ]
}

@test "keepalive with tcp.reuseport: the workers' own sockets have it too" {
	# Three sockets in the reuseport group (the master's and one per
	# worker): 16 connections all hashed to the master's one would be a
	# 1-in-43-million chance.
	serve_and_hold 2 "keepalive = true; reuseport = true;" 16
	[ "$(count_of 'timer:(keepalive')" -eq 16 ]
}

@test "keepalive = false: no keepalive timer" {
	serve_and_hold 1 "keepalive = false; reuseport = true;" 4
	[ "$(count_of 'timer:(keepalive')" -eq 0 ]
}

@test "smart accept: a request is acknowledged by its reply, no bare ACK" {
	serve_and_hold 1 "nodelay = true;" 8
	# segs_out counts what the accepted socket sent after the handshake:
	# the reply alone, where an immediate ACK of the request would make
	# it 2.  The delayed-ACK timer (40 ms) may beat a reply on a machine
	# busy enough, so most, not all, must show it.
	[ "$(count_of ' segs_out:1 ')" -ge 4 ]
}
