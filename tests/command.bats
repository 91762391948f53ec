#!/usr/bin/env bats
# Command mode (SPEC 7): the ekko protocol in binary (length) and text
# (line) framing, errors, pipelining, STATS counters, INFO, admin_allow.

load helper_cmd

setup() { cmd_setup; }
teardown() { ekko_teardown; }

GLOBAL_KEYS=$(stats_keys global)
WORKER_KEYS=$(stats_keys worker)

# One binary (length) and one text (line) command listener.
start_cmd() {
	local n=${1:-2}
	PB=$(free_port)
	PL=$(free_port)
	write_conf <<EOF
workers = $n;
limits = { max_frame = 1024; };
listeners = (
  { address = "127.0.0.1"; port = $PB; mode = "command"; framing = "length"; },
  { address = "127.0.0.1"; port = $PL; mode = "command"; framing = "line"; }
);
EOF
	start_ekkod
}

@test "binary: PING, ECHO (text, binary, empty), STATS, INFO, QUIT then EOF" {
	start_cmd
	run client command binary_ops "$PB"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
}

@test "text: PING, ECHO, STATS..END, INFO..END, ERR, lowercase, CRLF, QUIT -> BYE then EOF" {
	start_cmd
	run client command text_ops "$PL"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
}

@test "text: pipelined lines in one write get replies in order" {
	start_cmd
	run client command text_pipelined "$PL"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
}

@test "unknown op -> 0xFF error, the connection stays usable, errors_unknown_op counts" {
	start_cmd 1
	run client command unknown_op "$PB"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
}

@test "empty frame (len 0) -> 0xFF error reply, connection stays usable" {
	start_cmd 1
	run client command empty_frame "$PB"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
}

@test "oversized frame -> replies owed, then 0xFF frame too large, then close" {
	start_cmd 1
	run client command oversized_frame "$PB" "$PL"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
	grep -q "connection on port $PB: frame larger than max_frame 1024; closing" "$LOG"
}

@test "1000 pipelined mixed requests in one write -> 1000 replies in order" {
	start_cmd
	run client command pipelined_1000 "$PB"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
}

@test "STATS counters are exact: requests_total, bytes_in, bytes_out, connections" {
	start_cmd 1
	run client command stats_exact "$PB"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
}

@test "STATS has every global key, then per-worker keys for each worker" {
	start_cmd 3
	run stats_of "$PB"
	[ "$status" -eq 0 ]
	st=$output
	for k in $GLOBAL_KEYS; do
		stats_get "$st" "$k" >/dev/null || { echo "missing $k"; false; }
	done
	[ "$(stats_get "$st" pid)" = "$EKKOD_PID" ]
	[ "$(stats_get "$st" generation)" = 1 ]
	[ "$(stats_get "$st" workers_configured)" = 3 ]
	[ "$(stats_get "$st" workers_running)" = 3 ]
	# Global keys first: no global key after the first worker.* line.
	printf '%s\n' "$st" | awk '
	    /^worker\./ { w = 1; next }
	    w { print "global key after worker keys: " $0; bad = 1 }
	    END { exit bad }'
	pids=$(workers)
	for s in 0 1 2; do
		for k in $WORKER_KEYS; do
			stats_get "$st" "worker.$s.$k" >/dev/null ||
			    { echo "missing worker.$s.$k"; false; }
		done
		p=$(stats_get "$st" "worker.$s.pid")
		printf '%s\n' "$pids" | grep -qx "$p" ||
		    { echo "worker.$s.pid $p is not a child of $EKKOD_PID"; false; }
		[ "$(stats_get "$st" "worker.$s.generation")" = 1 ]
		[ "$(stats_get "$st" "worker.$s.state")" = serving ]
		[ "$(stats_get "$st" "worker.$s.respawns")" = 0 ]
		# A worker that never exited has no last exit status.
		[ "$(stats_get "$st" "worker.$s.last_exit")" = none ] ||
		    { echo "worker.$s.last_exit: $(stats_get "$st" "worker.$s.last_exit")"; false; }
		[[ "$(stats_get "$st" "worker.$s.heartbeat_age")" =~ ^[0-9]+\.[0-9]{3}$ ]]
	done
	! stats_get "$st" worker.3.pid >/dev/null
	# Three distinct worker pids.
	[ "$(for s in 0 1 2; do stats_get "$st" "worker.$s.pid"; done | sort -u | wc -l)" -eq 3 ]
}

@test "INFO: version, master pid, workers, config, listeners" {
	start_cmd 2
	run "$EKKOD" -V
	ver=${output#ekkod }
	run client command info "$PB"
	[ "$status" -eq 0 ]
	info=$output
	echo "$info"
	[ "$(stats_get "$info" version)" = "$ver" ]
	[ "$(stats_get "$info" pid)" = "$EKKOD_PID" ]
	[ "$(stats_get "$info" workers)" = 2 ]
	[ "$(stats_get "$info" generation)" = 1 ]
	[[ "$(stats_get "$info" uptime)" =~ ^[0-9]+$ ]]
	[[ "$(stats_get "$info" config)" == *ekkod.conf ]]
	[ "$(stats_get "$info" listeners)" = 2 ]
	printf '%s\n' "$info" | grep -qx "listener\.[0-9]* 127\.0\.0\.1:$PB command length"
	printf '%s\n' "$info" | grep -qx "listener\.[0-9]* 127\.0\.0\.1:$PL command line"
}

@test "admin_allow: STATS/INFO forbidden from outside, PING works, errors_forbidden counts" {
	PA=$(free_port)
	PX=$(free_port)
	P6=$(free_port)
	PT=$(free_port)
	write_conf <<EOF
workers = 1;
admin_allow = [ "127.0.0.1/32" ];
listeners = (
  { address = "127.0.0.1"; port = $PA; mode = "command"; framing = "length"; },
  { address = "127.0.0.2"; port = $PX; mode = "command"; framing = "length"; },
  { address = "::1"; port = $P6; mode = "command"; framing = "length"; },
  { address = "127.0.0.2"; port = $PT; mode = "command"; framing = "line"; }
);
EOF
	start_ekkod
	run client command admin_allow "$PA" "$PX" "$P6" "$PT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
}
