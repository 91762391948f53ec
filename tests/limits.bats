#!/usr/bin/env bats
# Hostile input and overload: idle and slow clients, peers that never
# read, oversized frames, connection limits, access lists, floods,
# descriptor exhaustion, privilege drop, and workers killed under load.
# The hostile clients live in helper_limits.bash ($LIMPY).

load helper
load helper_limits

setup() {
	ekko_setup
	lim_setup
}

teardown() {
	ekko_teardown
}

# Run a hostile client; show what it saw; succeed only if it did.
lim() {
	run python3 "$LIMPY" "$@"
	echo "$output"
	[ "$status" -eq 0 ]
}

# The config: workers $1, the limits group $2, then listeners (stdin,
# one "{ ... }," per line; the last without the comma).
conf() {
	{
		echo "workers = $1;"
		echo "limits = { $2 };"
		echo "listeners = ("
		cat
		echo ");"
	} | write_conf
}

@test "idle_timeout: a silent connection is closed and counted" {
	E=$(free_port)
	C=$(free_port)
	conf 2 "idle_timeout = 1;" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "raw"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	lim idle "$E"
	wait_stat "$C" errors_timeout_idle 30 1
	[ "$(stat_of "$C" errors_timeout_frame)" = 0 ]
	[ "$(stat_of "$C" errors_timeout_write)" = 0 ]
}

@test "frame_timeout: a slowloris trickling a line is closed and counted" {
	L=$(free_port)
	C=$(free_port)
	conf 2 "frame_timeout = 1;" <<EOF
  { address = "127.0.0.1"; port = $L; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	lim slowloris "$L"
	wait_stat "$C" errors_timeout_frame 30 1
	[ "$(stat_of "$C" errors_timeout_idle)" = 0 ]
}

@test "max_output: a peer that never reads is held back, RSS bounded, others served" {
	E=$(free_port)
	C=$(free_port)
	conf 1 "max_output = 1048576; write_timeout = 0;" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "raw"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	W=$(workers)
	[ "$(echo "$W" | wc -l)" -eq 1 ]
	lim backpressure "$E" "$W" 1048576
	[ "$(stat_of "$C" errors_timeout_write)" = 0 ]
	# The same worker, still there.
	[ "$(workers)" = "$W" ]
}

@test "write_timeout: a peer that never reads is closed and counted" {
	E=$(free_port)
	C=$(free_port)
	conf 1 "max_output = 1048576; write_timeout = 2;" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "raw"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	lim writetimeout "$E"
	wait_stat "$C" errors_timeout_write 30 1
}

@test "max_frame: oversized line and length frames close after the replies owed" {
	L=$(free_port)
	N=$(free_port)
	C=$(free_port)
	conf 2 "max_frame = 1024;" <<EOF
  { address = "127.0.0.1"; port = $L; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $N; mode = "echo"; framing = "length"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	lim oversize "$L" "$N" "$C" 1024
	wait_stat "$C" errors_frame_too_large 30 3
	grep -q "connection on port $L: frame larger than max_frame 1024; closing" "$LOG"
	grep -q "connection on port $N: frame larger than max_frame 1024; closing" "$LOG"
}

@test "max_connections = 20 across 2 workers: 30 connect, 20 served, 10 refused" {
	E=$(free_port)
	C=$(free_port)
	conf 2 "max_connections = 20;" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	# 1 command connection + 29 echo connections = 30.
	lim maxconn "$E" "$C" 20 10
	grep -q "refused 127.0.0.1:[0-9]* on port $E: max_connections reached" "$LOG"
	[ "$(workers | wc -l)" -eq 2 ]
}

@test "per_ip_connections = 5: the 6th from 127.0.0.1 is refused, 127.0.0.2 is not" {
	E=$(free_port)
	C=$(free_port)
	conf 2 "per_ip_connections = 5;" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	lim perip "$E" "$C" 5
	grep -q "refused 127.0.0.1:[0-9]* on port $E: per_ip_connections reached" "$LOG"
}

@test "per_ip_connections = 1: 300 addresses, each one connection, none refused" {
	E=$(free_port)
	C=$(free_port)
	conf 2 "per_ip_connections = 1;" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	# Each address has its own count: another address's connections
	# never use it up.
	lim perip_many "$E" "$C" 300
}

@test "allow/deny on IPv4 listeners: refused without a reply, counted" {
	A=$(free_port)
	D=$(free_port)
	C=$(free_port)
	conf 2 "" <<EOF
  { address = "127.0.0.1"; port = $A; mode = "echo"; framing = "line";
    allow = [ "127.0.0.2/32" ]; },
  { address = "127.0.0.1"; port = $D; mode = "echo"; framing = "line";
    deny = [ "127.0.0.3/32" ]; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	run python3 "$LIMPY" conn 127.0.0.1 "$A" 127.0.0.1
	echo "allow list, from 127.0.0.1: $output"
	[ "$output" = closed ]
	run python3 "$LIMPY" conn 127.0.0.1 "$A" 127.0.0.2
	echo "allow list, from 127.0.0.2: $output"
	[ "$output" = echo ]
	run python3 "$LIMPY" conn 127.0.0.1 "$D" 127.0.0.3
	echo "deny list, from 127.0.0.3: $output"
	[ "$output" = closed ]
	run python3 "$LIMPY" conn 127.0.0.1 "$D" 127.0.0.1
	echo "deny list, from 127.0.0.1: $output"
	[ "$output" = echo ]
	wait_stat "$C" errors_denied 30 2
	[ "$(stat_of "$C" connections_rejected)" = 2 ]
	# Refused before a byte was read: only the echoed lines count.
	[ "$(stat_of "$C" errors_frame_too_large)" = 0 ]
	grep -q "refused 127.0.0.1:[0-9]* on port $A: denied by allow/deny" "$LOG"
	grep -q "refused 127.0.0.3:[0-9]* on port $D: denied by allow/deny" "$LOG"
}

@test "allow/deny on IPv6 listeners: ::1 denied, allowed, not in the allow list" {
	python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ||
	    skip "no IPv6 loopback"
	V1=$(free_port)
	V2=$(free_port)
	V3=$(free_port)
	V4=$(free_port)
	C=$(free_port)
	conf 2 "" <<EOF
  { address = "::1"; port = $V1; mode = "echo"; framing = "line";
    deny = [ "::1/128" ]; },
  { address = "::1"; port = $V2; mode = "echo"; framing = "line";
    allow = [ "::1/128" ]; },
  { address = "::1"; port = $V3; mode = "echo"; framing = "line";
    allow = [ "2001:db8::/32", "127.0.0.0/8" ]; },
  { address = "::1"; port = $V4; mode = "echo"; framing = "line";
    deny = [ "127.0.0.0/8", "2001:db8::/32" ]; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	run python3 "$LIMPY" conn ::1 "$V1" -
	echo "deny ::1: $output"
	[ "$output" = closed ]
	run python3 "$LIMPY" conn ::1 "$V2" -
	echo "allow ::1: $output"
	[ "$output" = echo ]
	run python3 "$LIMPY" conn ::1 "$V3" -
	echo "allow list without ::1: $output"
	[ "$output" = closed ]
	run python3 "$LIMPY" conn ::1 "$V4" -
	echo "deny list without ::1: $output"
	[ "$output" = echo ]
	wait_stat "$C" errors_denied 30 2
	grep -q "refused \[::1\]:[0-9]* on port $V1: denied by allow/deny" "$LOG"
}

@test "connection flood: 5000 connects while an established client keeps echoing" {
	E=$(free_port)
	C=$(free_port)
	conf 2 "" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	before=$(workers | tr '\n' ' ')
	lim flood "$E" 5000
	# Nothing died, nothing leaked: the same workers, every flood
	# connection closed (the STATS connection is the one left).
	[ "$(workers | tr '\n' ' ')" = "$before" ]
	[ "$(grep -cE "killed by|exited with status" "$LOG")" -eq 0 ]
	lim_wait_workers 2 50 "$C"
	wait_stat "$C" connections_active 100 1
	run tcp_roundtrip 127.0.0.1 "$E" <<< "after the flood"
	[ "$output" = "after the flood" ]
}

@test "ulimit -n 64, 80 clients: no spin, logs pausing accepts, recovers" {
	E=$(free_port)
	conf 1 "" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "line"; }
EOF
	start_ekkod_ulimit 64
	W=$(workers)
	[ "$(echo "$W" | wc -l)" -eq 1 ]
	lim saturate "$E" 80 "$W"
	[ "$(workers)" = "$W" ]
	# An operator must learn that accepts are held back.
	grep "pausing accepts" "$LOG"
}

@test "EMFILE for real (24 listeners, ulimit -n 64): accept pauses, no spin, recovers" {
	mapfile -t ports < <(free_ports 24)
	[ "${#ports[@]}" -eq 24 ]
	for p in "${ports[@]}"; do
		echo "  { address = \"127.0.0.1\"; port = $p; mode = \"echo\"; framing = \"line\"; },"
	done | sed '$ s/,$//' | conf 1 ""
	start_ekkod_ulimit 64
	W=$(workers)
	[ "$(echo "$W" | wc -l)" -eq 1 ]
	lim saturate "${ports[0]}" 80 "$W"
	[ "$(workers)" = "$W" ]
	grep -q "accept: Too many open files; pausing accepts for 100 ms" "$LOG"
	[ "$(grep -cE "killed by|exited with status" "$LOG")" -eq 0 ]
}

@test "privilege drop: master and workers run as ekkotest, no root group" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	lim_ensure_ekkotest
	uid=$(id -u ekkotest)
	gid=$(getent group ekkotest | cut -d: -f3)
	[ "$uid" -ne 0 ] && [ "$gid" -ne 0 ]
	E=$(free_port)
	{
		echo 'user = "ekkotest"; group = "ekkotest";'
		echo "workers = 2;"
		echo "listeners = ( { address = \"127.0.0.1\"; port = $E; mode = \"echo\"; framing = \"raw\"; } );"
	} | write_conf
	start_ekkod
	grep -q 'running as user "ekkotest" group "ekkotest"' "$LOG"
	[ "$(grep -c "running as root" "$LOG")" -eq 0 ]
	pids="$EKKOD_PID $(workers | tr '\n' ' ')"
	[ "$(echo "$pids" | wc -w)" -eq 3 ]
	for p in $pids; do
		echo "pid $p: Uid $(lim_ids "$p" Uid) Gid $(lim_ids "$p" Gid) Groups $(lim_groups "$p")"
		[ "$(lim_ids "$p" Uid)" = "$uid $uid $uid $uid" ]
		[ "$(lim_ids "$p" Gid)" = "$gid $gid $gid $gid" ]
		for g in $(lim_groups "$p"); do
			[ "$g" != 0 ]
		done
	done
	run tcp_roundtrip 127.0.0.1 "$E" <<< "unprivileged"
	[ "$output" = "unprivileged" ]
}

@test "started as root without user: warns running as root" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	E=$(free_port)
	write_conf <<EOF
listeners = ( { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "raw"; } );
EOF
	start_ekkod
	grep -q "running as root: set user and group in the configuration to drop privileges" "$LOG"
}

@test "chaos: workers SIGKILLed under load; no wrong bytes, 2 workers at the end" {
	E=$(free_port)
	C=$(free_port)
	conf 2 "" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "raw"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	python3 "$LIMPY" chaos "$E" 5 4 > "$T/chaos.out" 2>&1 3>&- &
	cp=$!
	echo "$cp" >> "$T/pids"
	kills=0
	for _ in $(seq 1 10); do
		sleep 0.5
		mapfile -t ws < <(workers)
		[ "${#ws[@]}" -gt 0 ] || continue
		victim=${ws[RANDOM % ${#ws[@]}]}
		# Only a live worker (not a zombie being reaped) counts.
		state=$(awk '{ print $3 }' "/proc/$victim/stat" 2>/dev/null || true)
		[ -n "$state" ] && [ "$state" != Z ] || continue
		kill -KILL "$victim" 2>/dev/null && kills=$((kills + 1))
	done
	echo "kills: $kills"
	wait_for "! kill -0 $cp 2>/dev/null" 600
	rc=0
	wait "$cp" || rc=$?
	cat "$T/chaos.out"
	[ "$rc" -eq 0 ]
	[ "$kills" -ge 5 ]
	# Back-off may delay respawns (up to 30 s per step): bounded wait.
	lim_wait_workers 2 450 "$C"
	wait_for "[ \"\$(grep -c 'killed by SIGKILL; respawning' \"\$LOG\")\" -eq $kills ]" 50
	run tcp_roundtrip 127.0.0.1 "$E" <<< "after the chaos"
	[ "$output" = "after the chaos" ]
}

@test "max_output bounds replies too: 50000 pipelined STATS, never read, then all read in order" {
	P=$(free_port)
	write_conf <<EOF
workers = 1;
limits = { max_output = 1048576; };
listeners = ( { address = "127.0.0.1"; port = $P; mode = "command"; framing = "length"; } );
EOF
	start_ekkod
	W=$(workers)
	# 50000 STATS requests (250 kB) in one write: unbounded, their
	# replies would take some 70 MB; bounded, the worker stops reading.
	run timeout 60 python3 "$LIMPY" replies "$P" "$W"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"replies 50000"* ]]
}
