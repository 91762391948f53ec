#!/usr/bin/env bats
# systemd integration: the sd_notify protocol read from a real notify
# socket, and socket activation through systemd-socket-activate.

load helper

setup() { ekko_setup; }
teardown() { ekko_teardown; }

# Start the fake notify socket; messages land in $T/notify, one a line.
start_notify() {
	python3 "$BATS_TEST_DIRNAME/clients/notify_listen.py" "$T/notify.sock" \
	    "$T/notify" 60 &
	echo $! >> "$T/pids"
	wait_for '[ -S "$T/notify.sock" ]'
}

@test "sd_notify: READY, RELOADING+READY around a reload, STOPPING, STATUS" {
	P=$(free_port)
	write_conf <<EOF
workers = 2;
listeners = ( { address = "127.0.0.1"; port = $P; mode = "echo"; framing = "raw"; } );
EOF
	start_notify
	NOTIFY_SOCKET="$T/notify.sock" start_ekkod
	wait_for 'grep -q "^READY=1|MAINPID=$EKKOD_PID" "$T/notify"'
	grep -q "^STATUS=2 workers, generation 1" "$T/notify"
	kill -HUP "$EKKOD_PID"
	wait_for 'grep -q "^RELOADING=1|MONOTONIC_USEC=[0-9]*$" "$T/notify"'
	wait_for '[ "$(grep -c "^READY=1" "$T/notify")" -ge 2 ]'
	# the order: READY, RELOADING, READY
	run grep -o -E "^(READY|RELOADING)=1" "$T/notify"
	[ "${lines[0]}" = "READY=1" ]
	[ "${lines[1]}" = "RELOADING=1" ]
	[ "${lines[2]}" = "READY=1" ]
	stop_ekkod
	wait_for 'grep -q "^STOPPING=1" "$T/notify"'
}

@test "sd_notify: a refused reload reports STATUS=reload failed" {
	P=$(free_port)
	write_conf <<EOF
listeners = ( { address = "127.0.0.1"; port = $P; } );
EOF
	start_notify
	NOTIFY_SOCKET="$T/notify.sock" start_ekkod
	echo 'bogus = 1;' >> "$T/ekkod.conf"
	kill -HUP "$EKKOD_PID"
	wait_for 'grep -q "STATUS=reload failed: .*ekkod.conf:2: unknown key \"bogus\"" "$T/notify"'
}

@test "sd_notify: WATCHDOG=1 pings when WATCHDOG_USEC is set" {
	P=$(free_port)
	write_conf <<EOF
listeners = ( { address = "127.0.0.1"; port = $P; } );
EOF
	start_notify
	NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 start_ekkod
	wait_for '[ "$(grep -c "^WATCHDOG=1" "$T/notify")" -ge 3 ]' 50
}

@test "socket activation: a passed socket is adopted, the rest bound" {
	command -v systemd-socket-activate || skip "no systemd-socket-activate"
	P=$(free_port)
	Q=$(free_port)
	write_conf <<EOF
workers = 2;
listeners = (
  { address = "127.0.0.1"; port = $P; mode = "echo"; framing = "raw"; },
  { address = "127.0.0.1"; port = $Q; mode = "echo"; framing = "line"; }
);
EOF
	# systemd-socket-activate holds 127.0.0.1:P and execs ekkod on the
	# first connection: had ekkod tried to bind P itself, it would fail
	# with "Address already in use".
	systemd-socket-activate -l 127.0.0.1:$P -- "$EKKOD" -f \
	    -c "$T/ekkod.conf" >>"$LOG" 2>&1 &
	ekkod_record $!
	wait_for 'ss -ltn | grep -q "127.0.0.1:$P "'
	run tcp_roundtrip 127.0.0.1 "$P" 5 <<< "activated"
	[ "$output" = "activated" ]
	wait_for 'grep -q "ready: " "$LOG"'
	grep -q "adopting 1 socket(s) from systemd" "$LOG"
	run tcp_roundtrip 127.0.0.1 "$Q" <<< "bound itself"
	[ "$output" = "bound itself" ]
	stop_ekkod
}
