#!/usr/bin/env bats
# The metrics listener (SPEC 10): GET /metrics and HEAD over HTTP/1.1
# with the Prometheus text format 0.0.4, checked by promtool under load;
# the figures equal STATS; hostile HTTP (oversized, malformed, trickled,
# pipelined, never read) gets a clear status or a close, counted, with
# the worker's other clients unaffected.

load helper_cmd
bats_require_minimum_version 1.5.0

setup() {
	cmd_setup
	PE=$(free_port)		# echo
	PC=$(free_port)		# command: the tests' STATS
	PM=$(free_port)		# metrics
	PD=$(free_port)		# metrics, denied to loopback
	metrics_conf | write_conf
	start_ekkod
}

# The config of every test; $1: more of the limits group, $2: more
# top-level settings.
metrics_conf() {
	cat <<EOF
workers = 2;
limits = { frame_timeout = 1; write_timeout = 2; max_output = 65536; ${1:-}};
${2:-}
listeners = (
	{ address = "127.0.0.1"; port = $PE; },
	{ address = "127.0.0.1"; port = $PC; mode = "command";
	  framing = "length"; },
	{ address = "127.0.0.1"; port = $PM; mode = "metrics"; },
	{ address = "127.0.0.1"; port = $PD; mode = "metrics";
	  deny = [ "127.0.0.0/8" ]; }
);
EOF
}

teardown() { ekko_teardown; }

@test "metrics: promtool check metrics passes on a scrape under load" {
	command -v promtool >/dev/null || skip "promtool not installed"
	"$EKKO" -p "$PE" bench -c 4 -d 20 --framing raw >"$T/bench" 2>&1 &
	local b=$!
	bg_record "$b"
	# one python for the polling: its start-up is slow on a busy host
	client metrics scrape_busy "$PM" 1000 10 >"$T/scrape"
	kill -0 "$b"		# still running: the scrape was under load
	kill "$b"
	wait "$b" || true
	promtool check metrics <"$T/scrape"
	grep -q '^ekko_build_info{version="[^"]*"} 1$' "$T/scrape"
	grep -q '^ekko_start_time_seconds [1-9]' "$T/scrape"
	grep -q '^ekko_errors_total{kind="frame_too_large"} ' "$T/scrape"
	grep -q '^ekko_worker_requests_total{worker="[0-9]*",generation="1"} ' \
	    "$T/scrape"
	grep -q '^ekko_request_duration_seconds_bucket{mode="echo",le="+Inf"} [1-9]' \
	    "$T/scrape"
	grep -q '^# TYPE ekko_request_duration_seconds histogram$' "$T/scrape"
}

@test "metrics: after the load stops, the figures equal STATS" {
	"$EKKO" -p "$PE" bench -c 4 -n 20000 --framing raw >/dev/null
	"$EKKO" -p "$PC" bench -c 2 -n 2000 >/dev/null
	client metrics equal_stats "$PM" "$PC"
}

@test "metrics: keep-alive, pipelined requests in order, HEAD, 404, 405" {
	client metrics keepalive "$PM"
}

@test "metrics: HTTP/1.0 closes unless keep-alive; a body closes" {
	client metrics http10 "$PM"
}

@test "metrics: a head over 8 KiB gets 400 and a close, counted" {
	local before
	before=$(stat_of "$PC" errors_frame_too_large)
	client metrics big_head "$PM"
	[ "$(stat_of "$PC" errors_frame_too_large)" -eq $((before + 1)) ]
}

@test "metrics: malformed requests get 400 and a close (errors_http)" {
	client metrics malformed "$PM"
	[ "$(stat_of "$PC" errors_http)" -eq 4 ]
}

@test "metrics: a head that never ends is closed after frame_timeout" {
	client metrics trickle "$PM"
	[ "$(stat_of "$PC" errors_timeout_frame)" -ge 1 ]
}

@test "metrics: a client that never reads is timed out; others are served" {
	client metrics never_reads "$PM" "$PC"
}

@test "metrics: deny applies at accept (errors_denied)" {
	client metrics denied "$PD"
	[ "$(stat_of "$PC" errors_denied)" -eq 1 ]
}

@test "metrics: framing does not apply to a metrics listener" {
	local p
	p=$(free_port)
	cat >"$T/bad.conf" <<EOF
listeners = ( { address = "127.0.0.1"; port = $p; mode = "metrics";
  framing = "line"; } );
EOF
	run "$EKKOD" -t -c "$T/bad.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *'mode "metrics" speaks HTTP'* ]]
}

@test "ekko top: a plain snapshot per interval when stdout is not a tty" {
	"$EKKO" -p "$PE" bench -c 2 -d 20 --framing raw >/dev/null 2>&1 &
	local b=$!
	bg_record "$b"
	run --separate-stderr timeout 20 "$EKKO" -p "$PC" top -i 0.5 -n 3
	kill "$b"; wait "$b" || true
	[ "$status" -eq 0 ]
	[ "$(grep -c '^ekko top 127.0.0.1:' <<<"$output")" -eq 3 ]
	[ "$(grep -c '^ *SLOT  *PID  *GEN STATE' <<<"$output")" -eq 3 ]
	# two workers serving, in each snapshot; no escape sequences
	[ "$(grep -cE '^ +[0-9]+ +[0-9]+ +1 serving ' <<<"$output")" -eq 6 ]
	! grep -q $'\033' <<<"$output"
	# the last snapshot saw the load
	tail -n 8 <<<"$output" | grep -qE '^requests [1-9][0-9]*/s'
}

@test "ekko top under tmux: draws the workers, q quits, the terminal is restored" {
	command -v tmux >/dev/null || skip "tmux not installed"
	local sock=$T/tmux.sock pid
	"$EKKO" -p "$PE" bench -c 2 -d 30 --framing raw >/dev/null 2>&1 &
	local b=$!
	bg_record "$b"
	cat >"$T/run.sh" <<EOF
stty -a >"$T/stty.before"
"$EKKO" -p "$PC" top -i 0.3
echo "TOP-EXIT=\$?"
stty -a >"$T/stty.after"
sleep 60
EOF
	tmux -S "$sock" -f /dev/null new-session -d -x 120 -y 30 \
	    "sh $T/run.sh"
	pid=$(tmux -S "$sock" display-message -p '#{pid}')
	bg_record "$pid"
	wait_for "tmux -S '$sock' capture-pane -p | grep -qE '^ +[0-9]+ +[0-9]+ +1 serving +[0-9]+ +[1-9]'" 100
	tmux -S "$sock" capture-pane -p >"$T/screen"
	grep -q 'SLOT' "$T/screen"
	grep -qE '^requests [1-9][0-9]*/s' "$T/screen"
	tmux -S "$sock" send-keys q
	wait_for "tmux -S '$sock' capture-pane -p | grep -q TOP-EXIT=0" 50
	wait_for "[ -s '$T/stty.after' ]" 30
	tmux -S "$sock" capture-pane -p >"$T/after"
	! grep -q 'SLOT' "$T/after"	# the alternate screen is gone
	diff "$T/stty.before" "$T/stty.after"
	kill "$pid"
	kill "$b"; wait "$b" || true
}

@test "metrics: a real Prometheus scrapes ekkod under bench; its figures agree" {
	command -v prometheus >/dev/null || skip "prometheus not installed"
	local pp pid b
	pp=$(free_port)
	cat >"$T/prom.yml" <<EOF
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: ekkod
    static_configs: [ { targets: [ "127.0.0.1:$PM" ] } ]
EOF
	prometheus --config.file="$T/prom.yml" \
	    --storage.tsdb.path="$T/prom-data" \
	    --web.listen-address="127.0.0.1:$pp" >"$T/prom.log" 2>&1 &
	pid=$!
	bg_record "$pid"
	client metrics prom_ready "$pp" 30 || {
		cat "$T/prom.log"; false; }
	# the rate is judged over the bench's own seconds, not at whatever
	# later moment a loaded host runs the client
	b=$(date +%s.%N)
	"$EKKO" -p "$PE" bench -c 2 -d 8 --framing raw --json >"$T/bench.json"
	client metrics prometheus "$pp" "$PC" "$T/bench.json" "$b" \
	    "$(date +%s.%N)"
	kill "$pid"
	wait "$pid" || true
}

@test "metrics: a flood of 10000 concurrent scrapes is answered; echo unaffected" {
	local n=10000 hard
	hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] && hard=$((n + 1000))
	[ "$hard" -ge $((n + 100)) ] ||
	    skip "RLIMIT_NOFILE hard limit $hard: $n sockets need $((n + 100))"
	# ekkod's workers size their tables by the soft limit and one may
	# take every scrape: the soft limit up to the hard one; room in
	# max_connections (default 10000) for the flood, the echo client and
	# STATS; a backlog for the burst of connects.  The flood takes about
	# 1.3 s here and 4 s under ASan (make sanitize), so N is 10000 in both
	stop_ekkod
	metrics_conf "max_connections = $((n + 100));" \
	    "tcp = { backlog = 4096; };" | write_conf
	start_ekkod_ulimit "$hard"
	client metrics flood "$PM" "$PE" "$n" 60
	[ "$(stat_of "$PC" errors_max_connections)" -eq 0 ]
}
