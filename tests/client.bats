#!/usr/bin/env bats
# The ekko client (SPEC 8) against a real ekkod: ping, echo, stats, info,
# raw, bench, and the exit codes 0 ok, 1 error reply, 2 usage, 3 cannot
# connect or timed out.

load helper_cmd

bats_require_minimum_version 1.5.0

setup() { cmd_setup; }
teardown() { ekko_teardown; }

# The client, never allowed to hang the suite.
ekko() {
	timeout 60 "$EKKO" "$@"
}

# ekkod with a command port $PC and echo ports of every framing.
start_all() {
	PC=$(free_port)
	PRAW=$(free_port)
	PLINE=$(free_port)
	PLEN=$(free_port)
	PFIX=$(free_port)
	write_conf <<EOF
workers = ${1:-2};
listeners = (
  { address = "127.0.0.1"; port = $PC; mode = "command"; framing = "length"; },
  { address = "127.0.0.1"; port = $PRAW; mode = "echo"; framing = "raw"; },
  { address = "127.0.0.1"; port = $PLINE; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $PLEN; mode = "echo"; framing = "length"; },
  { address = "127.0.0.1"; port = $PFIX; mode = "echo"; framing = "fixed"; frame_size = 64; }
);
EOF
	start_ekkod
}

# A listener that accepts and never answers; its port in $SILENT.
start_silent() {
	python3 "$BATS_TEST_DIRNAME/clients/tools.py" listen "$T/silent" accept &
	bg_record $!
	disown $!
	wait_for '[ -s "$T/silent" ]'
	SILENT=$(cat "$T/silent")
}

@test "ekko ping -c 3: three replies, a summary, exit 0" {
	start_all
	run ekko -p "$PC" ping -c 3 -i 0.2
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -Ec "^PONG from 127\.0\.0\.1:$PC: seq=[123] time=[0-9.]+ ms$" <<< "$output")" -eq 3 ]
	grep -q "^--- 127\.0\.0\.1:$PC ekko ping statistics ---$" <<< "$output"
	grep -q "^3 requests sent, 3 replies received, 0% loss" <<< "$output"
	grep -Eq "^rtt min/avg/max/mdev = [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ ms$" <<< "$output"
	# The server answered three requests (the STATS here is the fourth).
	[ "$(stat_of "$PC" requests_total)" -ge 3 ]
}

@test "ekko echo MESSAGE...: words joined with one space, like echo(1)" {
	start_all
	run --separate-stderr ekko -p "$PC" echo hello world
	[ "$status" -eq 0 ]
	[ "$output" = "hello world" ]
	run --separate-stderr ekko -p "$PC" echo "two  spaces" kept
	[ "$status" -eq 0 ]
	[ "$output" = "two  spaces kept" ]
	# Over IPv6 as well.
	P6=$(free_port)
	write_conf <<EOF
listeners = ( { address = "::1"; port = $P6; mode = "command"; framing = "length"; } );
EOF
	stop_ekkod
	start_ekkod
	run --separate-stderr ekko -H ::1 -p "$P6" echo over v6
	[ "$status" -eq 0 ]
	[ "$output" = "over v6" ]
}

@test "ekko echo without MESSAGE: each stdin line echoed, in order" {
	start_all
	printf 'first line\n\nthird  line\ttab\nlast without newline' > "$T/in"
	run --separate-stderr ekko -p "$PC" echo < "$T/in"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'first line\n\nthird  line\ttab\nlast without newline')" ]
	# Many lines stream through, in order.
	seq 1 3000 | sed 's/^/line /' > "$T/many"
	ekko -p "$PC" echo < "$T/many" > "$T/many.out"
	cmp "$T/many" "$T/many.out"
}

@test "ekko stats: the global table and one row per worker" {
	start_all 3
	run --separate-stderr ekko -p "$PC" stats
	echo "$output"
	[ "$status" -eq 0 ]
	grep -Eq "^pid +$EKKOD_PID$" <<< "$output"
	grep -Eq "^requests_total +[0-9]+$" <<< "$output"
	grep -Eq "^workers_running +3$" <<< "$output"
	# The worker table: a header naming the columns, a row per slot.
	grep -Eq "^worker +pid +generation +state +accepted" <<< "$output"
	for p in $(workers); do
		grep -Eq "^[0-9]+ +$p +1 +[a-z]+ +[0-9]+" <<< "$output" ||
		    { echo "no row for worker $p"; false; }
	done
	[ "$(grep -Ec "^[0-9]+ +[0-9]+ +1 +(starting|serving|draining|backoff) " <<< "$output")" -eq 3 ]
}

@test "ekko stats --json: valid JSON with every key and a workers array" {
	start_all 2
	run --separate-stderr ekko -p "$PC" stats --json
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | python3 -m json.tool > /dev/null
	printf '%s\n' "$output" | python3 -c '
import json, sys, ekkotest
d = json.load(sys.stdin)
need = ekkotest.stats_keys("global")
missing = [k for k in need if k not in d]
assert not missing, missing
assert d["pid"] == int(sys.argv[1]), d["pid"]
assert isinstance(d["requests_total"], int)
w = d["workers"]
assert len(w) == 2, w
for x in w:
    for k in ("slot", "pid", "generation", "state", "accepted",
              "connections_active", "requests", "bytes_in", "bytes_out",
              "heartbeat_age", "respawns", "last_exit"):
        assert k in x, (k, x)
assert sorted(x["pid"] for x in w) == sorted(int(p) for p in sys.argv[2:]), w
' "$EKKOD_PID" $(workers)
	printf '%s\n' "$output" | jq -e '.workers | length == 2'
}

@test "ekko info --json: valid JSON (python and jq) with version and pid" {
	start_all
	run --separate-stderr ekko -p "$PC" info --json
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | python3 -m json.tool > /dev/null
	printf '%s\n' "$output" | jq -e . > /dev/null
	printf '%s\n' "$output" | jq -e ".pid == $EKKOD_PID"
	printf '%s\n' "$output" | jq -e '.version == "'"$("$EKKOD" -V | awk '{print $2}')"'"'
	printf '%s\n' "$output" | jq -e '.listeners == 5'
	run --separate-stderr ekko -p "$PC" info
	[ "$status" -eq 0 ]
	grep -Eq "^pid +$EKKOD_PID$" <<< "$output"
}

@test "exit 3: connection refused, and stderr names 127.0.0.1:PORT" {
	P=$(free_port)
	for cmd in "ping -c 1" "echo x" "stats" "info"; do
		# shellcheck disable=SC2086
		run --separate-stderr ekko -p "$P" $cmd
		echo "$cmd: $status: $stderr"
		[ "$status" -eq 3 ]
		[[ "$stderr" == *"127.0.0.1:$P"* ]]
		[[ "$stderr" == *"refused"* ]]
	done
	run --separate-stderr ekko -p "$P" raw < /dev/null
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"127.0.0.1:$P"* ]]
}

@test "exit 3: a listener that never answers, -t 0.5, gives up in time" {
	start_silent
	for cmd in "ping -c 1" "echo x" "stats"; do
		t0=$(date +%s%N)
		# shellcheck disable=SC2086
		run --separate-stderr ekko -t 0.5 -p "$SILENT" $cmd
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		echo "$cmd: $status in $ms ms: $stderr"
		[ "$status" -eq 3 ]
		[[ "$stderr" == *"127.0.0.1:$SILENT"* ]]
		# -t bounds every single wait: far below the 5 s default.
		[ "$ms" -lt 4000 ]
	done
}

@test "exit 1: an error reply (forbidden STATS/INFO) names the reason" {
	P4=$(free_port)
	P6=$(free_port)
	write_conf <<EOF
admin_allow = [ "127.0.0.1/32" ];
listeners = (
  { address = "127.0.0.1"; port = $P4; mode = "command"; framing = "length"; },
  { address = "::1"; port = $P6; mode = "command"; framing = "length"; }
);
EOF
	start_ekkod
	# From ::1, outside admin_allow.
	for cmd in stats info "stats --json"; do
		# shellcheck disable=SC2086
		run --separate-stderr ekko -H ::1 -p "$P6" $cmd
		echo "$cmd: $status: $stderr"
		[ "$status" -eq 1 ]
		[[ "$stderr" == *forbidden* ]]
	done
	# PING is for everyone.
	run ekko -H ::1 -p "$P6" ping -c 1
	[ "$status" -eq 0 ]
	# From 127.0.0.1: allowed.
	run --separate-stderr ekko -p "$P4" stats
	[ "$status" -eq 0 ]
	grep -Eq "^errors_forbidden +3$" <<< "$output"
}

@test "exit 2: bad usage" {
	run --separate-stderr ekko
	[ "$status" -eq 2 ]
	run --separate-stderr ekko frobnicate
	[ "$status" -eq 2 ]
	[[ "$stderr" == *frobnicate* ]]
	run --separate-stderr ekko --no-such-option ping
	[ "$status" -eq 2 ]
	run --separate-stderr ekko ping -c x
	[ "$status" -eq 2 ]
	run --separate-stderr ekko -t abc ping
	[ "$status" -eq 2 ]
	run --separate-stderr ekko -p 99999 ping
	[ "$status" -eq 2 ]
	# Host names are never resolved.
	run --separate-stderr ekko -H localhost ping -c 1
	[ "$status" -eq 2 ]
	run --separate-stderr ekko bench --framing nosuch -n 1
	[ "$status" -eq 2 ]
}

@test "ekko raw: stdin to a raw echo port, the same bytes back" {
	start_all
	printf 'line one\nline two\n\0binary\377\001 end' > "$T/in"
	ekko -p "$PRAW" raw < "$T/in" > "$T/out"
	cmp "$T/in" "$T/out"
	head -c 300000 /dev/urandom > "$T/big"
	ekko -p "$PRAW" raw < "$T/big" > "$T/big.out"
	cmp "$T/big" "$T/big.out"
}

@test "ekko bench -c 10 -n 2000 --json: 2000 verified requests, no errors" {
	start_all
	run --separate-stderr ekko -p "$PC" bench -c 10 -n 2000 --json
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["requests"] == 2000, r
assert all(v == 0 for v in r["errors"].values()), r["errors"]
assert set(r["errors"]) >= {"connect", "reset", "timeout", "closed",
                            "mismatch", "server"}, r["errors"]
assert r["conns"] == 10 and r["framing"] == "ekko", r
for k in ("rps", "mbps", "p50_us", "p99_us", "p999_us", "max_us"):
    assert isinstance(r[k], (int, float)) and r[k] >= 0, (k, r[k])
assert r["p50_us"] <= r["p99_us"] <= r["p999_us"] <= r["max_us"], r
'
	# The server saw them too: 2000 ECHO requests (and our STATS).
	[ "$(stat_of "$PC" errors_unknown_op)" = 0 ]
	req=$(stat_of "$PC" requests_total)
	[ "$req" -ge 2000 ]
}

@test "ekko bench --framing raw|line|length|fixed|ping: zero mismatches" {
	start_all
	for f in raw:$PRAW line:$PLINE length:$PLEN fixed:$PFIX ping:$PC ekko:$PC; do
		run --separate-stderr ekko -p "${f#*:}" bench --framing "${f%%:*}" \
		    -c 4 -n 400 -s 64 -P 4 --json
		echo "${f%%:*}: $status $output $stderr"
		[ "$status" -eq 0 ]
		printf '%s\n' "$output" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["requests"] == 400, r
assert all(v == 0 for v in r["errors"].values()), r["errors"]
assert r["framing"] == sys.argv[1], r
' "${f%%:*}"
	done
}

@test "ekko bench counts a mismatch and exits 1" {
	start_all
	# A raw echo port sends an ECHO request back as it is: op 0x02, not
	# the 0x82 reply the protocol owes.
	run --separate-stderr ekko -t 2 -p "$PRAW" bench --framing ekko -c 1 -n 10 --json
	echo "$status $output $stderr"
	[ "$status" -eq 1 ]
	printf '%s\n' "$output" | jq -e '.errors.mismatch > 0'
}

@test "ekko bench -d 1 -c 5: runs for about a second, then reports" {
	start_all
	run --separate-stderr ekko -p "$PC" bench -d 1 -c 5
	echo "$output"
	[ "$status" -eq 0 ]
	grep -Eq "^ *[0-9]+ requests completed in [0-9.]+ seconds" <<< "$output"
	grep -Eq "errors: connect 0, reset 0, timeout 0, closed 0" <<< "$output"
	grep -Eq "mismatch 0, server 0" <<< "$output"
	n=$(grep -Eo "^ *[0-9]+ requests completed" <<< "$output" | awk '{print $1}')
	[ "$n" -gt 0 ]
}

@test "a hostile server's text never reaches the terminal as control bytes" {
	# stats, info, drain and top print what the server says; whoever
	# holds the port (the service user, say) must not drive the
	# operator's terminal with escapes.  Error replies already were safe.
	python3 "$BATS_TEST_DIRNAME/clients/tools.py" hostile "$T/hostile" &
	bg_record $!
	disown $!
	wait_for '[ -s "$T/hostile" ]'
	H=$(cat "$T/hostile")
	for cmd in stats info drain "top -n 1" "stats --json"; do
		# shellcheck disable=SC2086
		ekko -p "$H" $cmd >"$T/out" 2>"$T/err" || true
		echo "== $cmd"
		cat -v "$T/out" "$T/err"
		[ -s "$T/out" ]
		# no C0 control but newline, no DEL, no C1 raw or UTF-8 encoded
		if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f\x80-\x9f]' \
		    "$T/out" "$T/err"; then
			echo "control bytes from ekko $cmd"
			false
		fi
	done
	# the lines stay lines; JSON keeps the bytes, escaped
	ekko -p "$H" info >"$T/out"
	grep -q '^pid  *7$' "$T/out"
	ekko -p "$H" stats --json >"$T/out"
	grep -q '"state": "\\u001b\[31mserving\\u009b0m"' "$T/out"
	python3 -m json.tool "$T/out" >/dev/null
}
