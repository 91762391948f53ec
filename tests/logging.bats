#!/usr/bin/env bats
# Logging in the foreground (-f): a stderr nobody reads never stalls
# serving, under systemd (JOURNAL_STREAM names stderr) each line goes to
# the journal once, and a refused reload stays in the STATUS= line.

load helper
load helper_proc

setup() { ekko_setup; }
teardown() { ekko_teardown; }

# A fifo at $T/err whose reader holds it open for at most 30 s and never
# reads; its buffer is shrunk to one page so a few lines fill it.
stuck_fifo() {
	python3 "$BATS_TEST_DIRNAME/clients/tools.py" stuck-fifo "$T/err" &
	echo $! >> "$T/pids"
	wait_for '[ -e "$T/err.ready" ]'
}

# n connections to port $1 that are refused at accept (each logged,
# 10 a second per worker, the rest counted).
refused_flood() {
	python3 "$BATS_TEST_DIRNAME/clients/tools.py" refused-flood "$1" "$2"
}

# $2 echo round trips on port $1 (one connection each), every one
# answered within 2 s.
echo_ok() {
	python3 "$BATS_TEST_DIRNAME/clients/tools.py" echo-rounds "$1" "$2"
}

@test "logging: a stderr pipe nobody reads never stalls serving" {
	read -r P D C <<<"$(free_ports 3 | tr '\n' ' ')"
	# a long ident: every line is ~260 bytes, start-up alone nearly
	# fills the page
	ident=$(printf 'ekkod-%0200d' 0)
	write_conf <<EOF
workers = 1;
worker_timeout = 2;
log = { ident = "$ident"; level = "debug"; };
listeners = (
  { address = "127.0.0.1"; port = $P; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $D; deny = [ "127.0.0.0/8" ]; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
);
EOF
	stuck_fifo
	"$EKKOD" -f -c "$T/ekkod.conf" 2>"$T/err" >/dev/null </dev/null &
	ekkod_record $!
	wait_for "echo_ok $P 1"
	# 3 s of refused connections: ~10 lines a second, well past the page
	refused_flood "$D" 3
	# a reload logs a dozen lines more, from the master and new workers
	kill -HUP "$EKKOD_PID"
	echo_ok "$P" 20
	wait_for '[ "$(stat_of "$C" reloads)" = 1 ]' 30
	kill -0 "$EKKOD_PID"
}

# Start ekkod -f with stderr to $LOG and JOURNAL_STREAM naming the
# device:inode of file $1; wait until port $P echoes.
start_journal() {
	JOURNAL_STREAM=$(stat -c %d:%i "$1") "$EKKOD" -f -c "$T/ekkod.conf" \
	    >>"$LOG" 2>&1 </dev/null &
	ekkod_record $!
	wait_for "echo_ok $P 1"
}

@test "logging: no stderr copy when stderr is the journal stream" {
	P=$(free_port)
	write_conf <<EOF
listeners = ( { address = "127.0.0.1"; port = $P; mode = "echo"; framing = "line"; } );
EOF
	# stderr is the stream JOURNAL_STREAM names: syslog alone, once
	start_journal "$LOG"
	stop_ekkod
	[ ! -s "$LOG" ]
	# a stale JOURNAL_STREAM (another file) keeps the copy
	: > "$T/other"
	start_journal "$T/other"
	grep -q "ready: " "$LOG"
}

# The fake notify socket; messages land in $T/notify, one a line.
start_notify() {
	python3 "$BATS_TEST_DIRNAME/clients/notify_listen.py" "$T/notify.sock" \
	    "$T/notify" 60 &
	echo $! >> "$T/pids"
	wait_for '[ -S "$T/notify.sock" ]'
}

@test "sd_notify: STATUS keeps 'reload failed' until the next good reload" {
	P=$(free_port)
	write_conf <<EOF
listeners = ( { address = "127.0.0.1"; port = $P; } );
EOF
	cp "$T/ekkod.conf" "$T/good.conf"
	start_notify
	NOTIFY_SOCKET="$T/notify.sock" start_ekkod
	echo 'bogus = 1;' >> "$T/ekkod.conf"
	kill -HUP "$EKKOD_PID"
	wait_for 'grep -q "STATUS=reload failed: .*unknown key" "$T/notify"'
	before=$(grep -c "STATUS=" "$T/notify")
	# the periodic line (every 5 s) still says it
	wait_for '[ "$(grep -c "STATUS=" "$T/notify")" -gt "$before" ]' 80
	tail -n 1 "$T/notify" | grep -Eq \
	    '^STATUS=reload failed: .*unknown key "bogus"; [0-9]+ workers, generation 1,'
	cp "$T/good.conf" "$T/ekkod.conf"
	kill -HUP "$EKKOD_PID"
	wait_for 'tail -n 1 "$T/notify" | grep -Eq "^STATUS=[0-9]+ workers, generation 2,"'
}

@test "socket activation with tcp.reuseport, workers of another user: one line at start, no worker errors" {
	command -v systemd-socket-activate || skip "no systemd-socket-activate"
	[ "$(id -u)" = 0 ] || skip "needs root (the socket is root's, the workers nobody's)"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	P=$(free_port)
	chmod 755 "$T"
	write_conf <<EOF
workers = 3;
user = "nobody";
tcp = { reuseport = true; };
listeners = ( { address = "127.0.0.1"; port = $P; mode = "echo"; framing = "line"; } );
EOF
	systemd-socket-activate -l 127.0.0.1:$P -- "$EKKOD" -f \
	    -c "$T/ekkod.conf" >>"$LOG" 2>&1 &
	ekkod_record $!
	wait_for 'ss -ltn | grep -q "127.0.0.1:$P "'
	echo_ok "$P" 3
	wait_for 'grep -q "ready: 3 workers" "$LOG"'
	stop_ekkod
	cat "$LOG"
	! grep -q "Address already in use" "$LOG"
	[ "$(grep -c "tcp.reuseport.*127.0.0.1:$P.*share" "$LOG")" = 1 ]
}

@test "socket activation with tcp.reuseport, workers of the socket's user: each worker joins the port's group" {
	command -v systemd-socket-activate || skip "no systemd-socket-activate"
	P=$(free_port)
	write_conf <<EOF
workers = 3;
tcp = { reuseport = true; };
listeners = ( { address = "127.0.0.1"; port = $P; mode = "echo"; framing = "line"; } );
EOF
	systemd-socket-activate -l 127.0.0.1:$P -- "$EKKOD" -f \
	    -c "$T/ekkod.conf" >>"$LOG" 2>&1 &
	ekkod_record $!
	wait_for 'ss -ltn | grep -q "127.0.0.1:$P "'
	echo_ok "$P" 3
	wait_for 'grep -q "ready: 3 workers" "$LOG"'
	# the passed socket and one of each worker's own
	wait_for '[ "$(ss -ltn | grep -c "127.0.0.1:$P ")" -eq 4 ]'
	stop_ekkod
	cat "$LOG"
	! grep -q "Address already in use" "$LOG"
	! grep -q "tcp.reuseport.*share" "$LOG"
}
