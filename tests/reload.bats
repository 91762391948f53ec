#!/usr/bin/env bats
# Reload (SPEC 3 -s reload, SPEC 4 HUP): new generations, failed reloads
# that change nothing, listeners kept/added/removed, framing changes that
# only new connections see, and reloads under load without a dropped
# request.

load helper_cmd

setup() { cmd_setup; }
teardown() { ekko_teardown; }

reload() {
	"$EKKOD" -s reload -c "${1:-$T/ekkod.conf}"
}

# Worker pids of generation $2 in the STATS text $1, one a line.
gen_pids() {
	printf '%s\n' "$1" | awk -v g="$2" '
	    $1 ~ /^worker\.[0-9]+\.generation$/ && $2 == g {
		split($1, a, "."); s[a[2]] = 1 }
	    $1 ~ /^worker\.[0-9]+\.pid$/ { split($1, a, "."); p[a[2]] = $2 }
	    END { for (k in s) print p[k] }' | sort -n
}

# True when every worker of generation $2 left is draining (STATS on
# port $1): none of them accepts any more.
gen_draining() {
	local st
	st=$(stats_of "$1") || return 1
	printf '%s\n' "$st" | awk -v g="$2" '
	    $1 ~ /\.generation$/ { split($1, a, "."); gen[a[2]] = $2 }
	    $1 ~ /\.state$/ { split($1, a, "."); st[a[2]] = $2 }
	    END { for (k in gen) if (gen[k] == g && st[k] != "draining") f = 1
		  exit f }'
}

# Is something accepting on host $1 port $2?
can_connect() {
	python3 "$BATS_TEST_DIRNAME/clients/tools.py" can-connect "$1" "$2"
}

@test "(a) reload workers 2 -> 3: exit 0, new pids, old drained, generation 2" {
	PC=$(free_port)
	PE=$(free_port)
	conf() {
		write_conf <<EOF
workers = $1;
shutdown_timeout = 2;
$(pidfile_conf)
listeners = (
  { address = "127.0.0.1"; port = $PC; mode = "command"; framing = "length"; },
  { address = "127.0.0.1"; port = $PE; mode = "echo"; framing = "raw"; }
);
EOF
	}
	conf 2
	start_ekkod
	old=$(workers)
	[ "$(printf '%s\n' "$old" | wc -l)" -eq 2 ]
	conf 3
	run reload
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"reload done"* ]]
	grep -q "reload: generation 2 serving $T/ekkod.conf with 3 workers" "$LOG"
	# The old workers drain and leave; three new ones remain.
	wait_for '[ "$(workers | wc -l)" -eq 3 ]' 100
	new=$(workers)
	[ -z "$(comm -12 <(printf '%s\n' "$old" | sort) <(printf '%s\n' "$new" | sort))" ]
	st=$(stats_of "$PC")
	[ "$(stats_get "$st" generation)" = 2 ]
	[ "$(stats_get "$st" reloads)" = 1 ]
	[ "$(stats_get "$st" reloads_failed)" = 0 ]
	[ "$(stats_get "$st" last_reload)" = ok ]
	[ "$(stats_get "$st" workers_configured)" = 3 ]
	[ "$(stats_get "$st" workers_running)" = 3 ]
	[ "$(gen_pids "$st" 2)" = "$(printf '%s\n' "$new" | sort -n)" ]
	[ -z "$(gen_pids "$st" 1)" ]
	# Every new worker said it was ready before the reload was done.
	for s in $(printf '%s\n' "$st" | awk '$1 ~ /^worker\.[0-9]+\.state$/ { split($1, a, "."); print a[2] }'); do
		[ "$(stats_get "$st" "worker.$s.state")" = serving ] ||
		    { echo "worker.$s.state: $(stats_get "$st" "worker.$s.state")"; false; }
	done
	run tcp_roundtrip 127.0.0.1 "$PE" <<< "after reload"
	[ "$output" = "after reload" ]
}

@test "(b) broken config on HUP: FILE:LINE logged, old workers keep serving" {
	PC=$(free_port)
	PE=$(free_port)
	write_conf <<EOF
workers = 2;
shutdown_timeout = 2;
$(pidfile_conf)
listeners = (
  { address = "127.0.0.1"; port = $PC; mode = "command"; framing = "length"; },
  { address = "127.0.0.1"; port = $PE; mode = "echo"; framing = "raw"; }
);
EOF
	start_ekkod
	old=$(workers)
	cp "$T/ekkod.conf" "$T/good.conf"
	# Line 3 of the new file has an unknown key.
	{ head -n 2 "$T/good.conf"; echo "bogus_key = 1;"; tail -n +3 "$T/good.conf"; } \
	    > "$T/ekkod.conf"
	[ "$(sed -n 3p "$T/ekkod.conf")" = "bogus_key = 1;" ]
	kill -HUP "$EKKOD_PID"
	log_has "reload failed: " 50
	grep -q "reload failed: $T/ekkod.conf:3: unknown key \"bogus_key\"" "$LOG"
	[ "$(workers)" = "$old" ]
	run tcp_roundtrip 127.0.0.1 "$PE" <<< "still serving"
	[ "$output" = "still serving" ]
	st=$(stats_of "$PC")
	[ "$(stats_get "$st" generation)" = 1 ]
	[ "$(stats_get "$st" reloads)" = 0 ]
	[ "$(stats_get "$st" reloads_failed)" = 1 ]
	last=$(stats_get "$st" last_reload)
	echo "last_reload: $last"
	[[ "$last" == *":3: unknown key \"bogus_key\""* ]]
	[ "$(workers)" = "$old" ]
}

@test "(b) -s reload whose new listener cannot bind: exit 1 names bind and reason" {
	PC=$(free_port)
	PE=$(free_port)
	write_conf <<EOF
workers = 2;
shutdown_timeout = 2;
$(pidfile_conf)
listeners = (
  { address = "127.0.0.1"; port = $PC; mode = "command"; framing = "length"; },
  { address = "127.0.0.1"; port = $PE; mode = "echo"; framing = "raw"; }
);
EOF
	start_ekkod
	old=$(workers)
	# A plain listener holds a port of its own choosing.
	python3 "$BATS_TEST_DIRNAME/clients/tools.py" listen "$T/held" &
	bg_record $!
	disown $!
	wait_for '[ -s "$T/held" ]'
	PH=$(cat "$T/held")
	write_conf <<EOF
workers = 2;
shutdown_timeout = 2;
$(pidfile_conf)
listeners = (
  { address = "127.0.0.1"; port = $PC; mode = "command"; framing = "length"; },
  { address = "127.0.0.1"; port = $PE; mode = "echo"; framing = "raw"; },
  { address = "127.0.0.1"; port = $PH; mode = "echo"; framing = "line"; }
);
EOF
	run "$EKKOD" -t -c "$T/ekkod.conf"
	[ "$status" -eq 0 ]
	run reload
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bind 127.0.0.1:$PH"* ]]
	[[ "$output" == *"Address already in use"* ]]
	grep -q "reload failed: bind 127.0.0.1:$PH: Address already in use" "$LOG"
	[ "$(workers)" = "$old" ]
	run tcp_roundtrip 127.0.0.1 "$PE" <<< "old generation"
	[ "$output" = "old generation" ]
	st=$(stats_of "$PC")
	[ "$(stats_get "$st" generation)" = 1 ]
	[ "$(stats_get "$st" reloads_failed)" = 1 ]
	[[ "$(stats_get "$st" last_reload)" == *"bind 127.0.0.1:$PH"* ]]
}

@test "(c) framing raw -> line on the same port: old connection stays raw, new gets line" {
	PC=$(free_port)
	PE=$(free_port)
	conf() {
		write_conf <<EOF
workers = 2;
shutdown_timeout = 20;
$(pidfile_conf)
listeners = (
  { address = "127.0.0.1"; port = $PC; mode = "command"; framing = "length"; },
  { address = "127.0.0.1"; port = $PE; mode = "echo"; framing = "$1"; }
);
EOF
	}
	conf raw
	start_ekkod
	# One connection opened before the reload, kept across it.
	client reload old_conn_raw "$PE" "$T/go" "$T/step" > "$T/old.out" 2>&1 &
	oldpy=$!
	bg_record $oldpy
	wait_for '[ -s "$T/step" ]' 100
	conf line
	run reload
	echo "$output"
	[ "$status" -eq 0 ]
	# Once the old generation has stopped accepting, a new connection is
	# served with line framing.
	wait_for "gen_draining $PC 1" 100
	touch "$T/go"
	run client reload new_conn_line "$PE"
	echo "$output"
	[ "$output" = "new ok" ]
	for i in $(seq 1 100); do
		kill -0 "$oldpy" 2>/dev/null || break
		sleep 0.1
	done
	wait "$oldpy"
	cat "$T/old.out"
	[ "$(cat "$T/old.out")" = "old ok" ]
}

@test "(d) added listener is bound and served, removed listener is closed" {
	PC=$(free_port)
	PA=$(free_port)
	PB=$(free_port)
	write_conf <<EOF
workers = 2;
shutdown_timeout = 2;
$(pidfile_conf)
listeners = (
  { address = "127.0.0.1"; port = $PC; mode = "command"; framing = "length"; },
  { address = "127.0.0.1"; port = $PA; mode = "echo"; framing = "raw"; }
);
EOF
	start_ekkod
	run tcp_roundtrip 127.0.0.1 "$PA" <<< "on A"
	[ "$output" = "on A" ]
	! can_connect 127.0.0.1 "$PB"
	write_conf <<EOF
workers = 2;
shutdown_timeout = 2;
$(pidfile_conf)
listeners = (
  { address = "127.0.0.1"; port = $PC; mode = "command"; framing = "length"; },
  { address = "::1"; port = $PB; mode = "echo"; framing = "line"; }
);
EOF
	run reload
	echo "$output"
	[ "$status" -eq 0 ]
	run tcp_roundtrip ::1 "$PB" <<< "on B"
	[ "$output" = "on B" ]
	# A is closed once the old workers have let go of it.
	wait_for "! can_connect 127.0.0.1 $PA" 100
	# And stays closed (not one old worker still holding it).
	wait_for '[ "$(workers | wc -l)" -eq 2 ]' 100
	! can_connect 127.0.0.1 "$PA"
	run client reload info_listeners "$PC"
	echo "$output"
	[[ "$output" == *"[::1]:$PB echo line"* || "$output" == *"::1:$PB echo line"* ]]
	[[ "$output" != *":$PA "* ]]
}

@test "(e) 20 reloads in a row under load: no request lost, reset or wrong" {
	PC=$(free_port)
	PL=$(free_port)
	PR=$(free_port)
	write_conf <<EOF
workers = 2;
shutdown_timeout = 5;
$(pidfile_conf)
listeners = (
  { address = "127.0.0.1"; port = $PC; mode = "command"; framing = "length"; },
  { address = "127.0.0.1"; port = $PL; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $PR; mode = "echo"; framing = "length"; }
);
EOF
	start_ekkod
	python3 "$BATS_TEST_DIRNAME/clients/reload_load.py" "$PC" "$PL" "$PR" "$T/stop" "$T/progress" \
	    "$T/result.json" 2> "$T/load.err" &
	loadpid=$!
	bg_record $loadpid
	wait_for '[ -s "$T/progress" ] && [ "$(cat "$T/progress")" -gt 0 ]' 100
	for r in $(seq 1 20); do
		run reload
		if [ "$status" -ne 0 ]; then
			echo "reload $r: exit $status: $output"
			false
		fi
		[[ "$output" == *"reload done"* ]]
		# The load goes on after each reload.
		c=$(cat "$T/progress")
		wait_for '[ "$(cat "$T/progress")" -gt "$c" ]' 100 ||
		    { echo "no progress after reload $r"; false; }
	done
	touch "$T/stop"
	wait_for '[ -s "$T/result.json" ]' 150
	wait "$loadpid"
	cat "$T/load.err"
	res=$(cat "$T/result.json")
	echo "$res"
	python3 - "$res" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
bad = {k: r[k] for k in ("connect_fail", "reset", "eof", "timeout",
                         "mismatch", "other") if r[k]}
assert not bad, (bad, r["errors"])
assert r["requests"] >= 100, r
assert r["connections"] >= 25, r
PY
	st=$(stats_of "$PC")
	[ "$(stats_get "$st" generation)" = 21 ]
	[ "$(stats_get "$st" reloads)" = 20 ]
	[ "$(stats_get "$st" reloads_failed)" = 0 ]
	[ "$(stats_get "$st" last_reload)" = ok ]
	# Every old generation drains away.
	wait_for '[ "$(workers | wc -l)" -eq 2 ]' 100
}

@test "(f) -s reload with no running daemon: exit 1 and a clear message" {
	PE=$(free_port)
	write_conf <<EOF
$(pidfile_conf)
listeners = ( { address = "127.0.0.1"; port = $PE; mode = "echo"; framing = "raw"; } );
EOF
	run reload
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no running ekkod"* ]]
	[[ "$output" == *"$T/ekkod.pid"* ]]
	# A stale pidfile (nobody holds its lock) is no running daemon either.
	echo 999999 > "$T/ekkod.pid"
	run reload
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no running ekkod"* ]]
	# A config without a pidfile cannot find a master.
	echo "workers = 1;" > "$T/nopid.conf"
	run reload "$T/nopid.conf"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"pidfile"* ]]
	# After a real daemon stopped, its pidfile is gone and so is the master.
	start_ekkod
	stop_ekkod
	run reload
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no running ekkod"* ]]
}
