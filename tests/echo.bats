#!/usr/bin/env bats
# Echo mode (SPEC section 6): every framing, byte at a time and batched,
# plain clients (nc, socat, the textbook Python client), IPv6, half-close,
# frames over max_frame, and 1000 clients at once.

load helper
load helper_proc

setup() { ekko_setup; }
teardown() { ekko_teardown; }

# One daemon with an echo listener per framing and a command port for
# STATS.  $1: limits.max_frame (default: the built-in 1 MiB).
start_echo() {
	read -r RAW LF CRLF FIX LEN CMD <<< "$(free_ports 6 | tr '\n' ' ')"
	local lim=""
	[ -z "${1:-}" ] || lim="limits = { max_frame = $1; };"
	write_conf <<EOF
workers = 2;
$lim
tcp = { backlog = 2048; };
listeners = (
  { address = "127.0.0.1"; port = $RAW;  mode = "echo"; framing = "raw"; },
  { address = "127.0.0.1"; port = $LF;   mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $CRLF; mode = "echo"; framing = "line";
    delimiter = "\r\n"; },
  { address = "127.0.0.1"; port = $FIX;  mode = "echo"; framing = "fixed";
    frame_size = 7; },
  { address = "127.0.0.1"; port = $LEN;  mode = "echo"; framing = "length"; },
  { address = "127.0.0.1"; port = $CMD;  mode = "command"; framing = "length"; }
);
EOF
	start_ekkod
}

# ---- byte at a time ----

@test "raw: byte at a time, every byte comes back as it is sent" {
	start_echo
	run ekko_py bytewise 127.0.0.1 "$RAW" raw
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "line \\n: byte at a time, each message whole only once complete" {
	start_echo
	run ekko_py bytewise 127.0.0.1 "$LF" line '\n'
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "line \\r\\n: byte at a time, multi-byte delimiter split across sends" {
	start_echo
	run ekko_py bytewise 127.0.0.1 "$CRLF" line '\r\n'
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "fixed 7: byte at a time, frame_size bytes each time" {
	start_echo
	run ekko_py bytewise 127.0.0.1 "$FIX" fixed 7
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "length: byte at a time, header split too, N=0 included" {
	start_echo
	run ekko_py bytewise 127.0.0.1 "$LEN" length
	echo "$output"
	[ "$status" -eq 0 ]
}

# ---- batched: many messages in one send, and cut at random places ----

@test "raw: 3000 messages in one send come back byte for byte" {
	start_echo
	run ekko_py batch 127.0.0.1 "$RAW" one 3000 raw
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "line \\n: 3000 messages in one send, and in random cuts" {
	start_echo
	run ekko_py batch 127.0.0.1 "$LF" one 3000 line '\n'
	echo "$output"
	[ "$status" -eq 0 ]
	run ekko_py batch 127.0.0.1 "$LF" cut 3000 line '\n'
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "line \\r\\n: 3000 messages in one send, and in random cuts" {
	start_echo
	run ekko_py batch 127.0.0.1 "$CRLF" one 3000 line '\r\n'
	echo "$output"
	[ "$status" -eq 0 ]
	run ekko_py batch 127.0.0.1 "$CRLF" cut 3000 line '\r\n'
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "fixed 7: 3000 frames in one send, and in random cuts" {
	start_echo
	run ekko_py batch 127.0.0.1 "$FIX" one 3000 fixed 7
	echo "$output"
	[ "$status" -eq 0 ]
	run ekko_py batch 127.0.0.1 "$FIX" cut 3000 fixed 7
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "length: 3000 frames in one send, and in random cuts" {
	start_echo
	run ekko_py batch 127.0.0.1 "$LEN" one 3000 length
	echo "$output"
	[ "$status" -eq 0 ]
	run ekko_py batch 127.0.0.1 "$LEN" cut 3000 length
	echo "$output"
	[ "$status" -eq 0 ]
	# the echoed requests were counted
	[ "$(stat_of "$CMD" requests_total)" -ge 6000 ]
}

@test "length: an empty frame (N=0) is echoed as 4 zero bytes" {
	start_echo
	run bash -c "printf '\\0\\0\\0\\0' | python3 '$BATS_TEST_DIRNAME/ekkotest.py' roundtrip 127.0.0.1 $LEN | od -An -tx1 | tr -d ' \\n'"
	[ "$status" -eq 0 ]
	[ "$output" = "00000000" ]
}

# ---- max_frame ----

@test "line frame over max_frame: owed replies, then EOF; counted" {
	start_echo 64
	run ekko_py toolarge 127.0.0.1 "$LF" 64 line '\n'
	echo "$output"
	[ "$status" -eq 0 ]
	run ekko_py toolarge 127.0.0.1 "$CRLF" 64 line '\r\n'
	echo "$output"
	[ "$status" -eq 0 ]
	wait_for '[ "$(stat_of "$CMD" errors_frame_too_large)" = 2 ]'
	grep -q "connection on port $LF: frame larger than max_frame 64; closing" "$LOG"
	# the daemon still serves
	run tcp_roundtrip 127.0.0.1 "$LF" <<< "still here"
	[ "$output" = "still here" ]
}

@test "length frame over max_frame: owed replies, then EOF; counted" {
	start_echo 64
	run ekko_py toolarge 127.0.0.1 "$LEN" 64 length
	echo "$output"
	[ "$status" -eq 0 ]
	wait_for '[ "$(stat_of "$CMD" errors_frame_too_large)" = 1 ]'
	grep -q "connection on port $LEN: frame larger than max_frame 64; closing" "$LOG"
}

@test "a frame of max_frame bytes, delimiter or header included, is echoed" {
	start_echo 64
	run bash -c "{ head -c 63 /dev/zero | tr '\\0' a; printf '\\n'; } | python3 '$BATS_TEST_DIRNAME/ekkotest.py' roundtrip 127.0.0.1 $LF | wc -c"
	[ "$output" -eq 64 ]
	run bash -c "{ printf '\\0\\0\\0\\074'; head -c 60 /dev/zero; } | python3 '$BATS_TEST_DIRNAME/ekkotest.py' roundtrip 127.0.0.1 $LEN | wc -c"
	[ "$output" -eq 64 ]
	[ "$(stat_of "$CMD" errors_frame_too_large)" = 0 ]
}

# ---- real clients ----

@test "nc: a line comes back on the raw port" {
	start_echo
	run timeout 10 nc -N 127.0.0.1 "$RAW" <<< "hello from nc"
	[ "$status" -eq 0 ]
	[ "$output" = "hello from nc" ]
	run timeout 10 nc -N 127.0.0.1 "$LF" <<< "line port too"
	[ "$status" -eq 0 ]
	[ "$output" = "line port too" ]
}

@test "the textbook Python echo client works unchanged on the raw port" {
	start_echo
	run ekko_py textbook 127.0.0.1 "$RAW"
	[ "$status" -eq 0 ]
	[ "$output" = "Received b'Hello, world'" ]
}

@test "socat: stdin to the raw and CRLF ports and back" {
	start_echo
	run bash -c "printf 'one\\ntwo\\n' | timeout 10 socat -t 5 - TCP:127.0.0.1:$RAW"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'one\ntwo')" ]
	run bash -c "printf 'GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' | timeout 10 socat -t 5 - TCP:127.0.0.1:$CRLF | cmp - <(printf 'GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n')"
	[ "$status" -eq 0 ]
}

@test "IPv6: an echo listener on ::1 serves nc, Python and framed clients" {
	ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1' ||
	    skip "no ::1 on loopback"
	read -r P Q <<< "$(free_ports 2 | tr '\n' ' ')"
	write_conf <<EOF
workers = 2;
listeners = (
  { address = "::1"; port = $P; mode = "echo"; framing = "raw"; },
  { address = "::1"; port = $Q; mode = "echo"; framing = "line"; }
);
EOF
	start_ekkod
	run timeout 10 nc -N ::1 "$P" <<< "over v6"
	[ "$status" -eq 0 ]
	[ "$output" = "over v6" ]
	run ekko_py textbook ::1 "$P"
	[ "$output" = "Received b'Hello, world'" ]
	run ekko_py batch ::1 "$Q" cut 500 line '\n'
	echo "$output"
	[ "$status" -eq 0 ]
	# not on IPv4
	run timeout 10 nc -N 127.0.0.1 "$P" <<< "over v4"
	[ "$status" -ne 0 ] || [ -z "$output" ]
}

# ---- half-close ----

@test "half-close: every reply owed, then EOF, in each framing" {
	start_echo
	run ekko_py halfclose 127.0.0.1 "$RAW" whole raw
	echo "$output"; [ "$status" -eq 0 ]
	run ekko_py halfclose 127.0.0.1 "$LF" whole line '\n'
	echo "$output"; [ "$status" -eq 0 ]
	run ekko_py halfclose 127.0.0.1 "$CRLF" whole line '\r\n'
	echo "$output"; [ "$status" -eq 0 ]
	run ekko_py halfclose 127.0.0.1 "$FIX" whole fixed 7
	echo "$output"; [ "$status" -eq 0 ]
	run ekko_py halfclose 127.0.0.1 "$LEN" whole length
	echo "$output"; [ "$status" -eq 0 ]
}

@test "half-close with a partial frame: complete ones answered, partial dropped" {
	start_echo
	run ekko_py halfclose 127.0.0.1 "$LF" partial line '\n'
	echo "$output"; [ "$status" -eq 0 ]
	run ekko_py halfclose 127.0.0.1 "$CRLF" partial line '\r\n'
	echo "$output"; [ "$status" -eq 0 ]
	run ekko_py halfclose 127.0.0.1 "$FIX" partial fixed 7
	echo "$output"; [ "$status" -eq 0 ]
	run ekko_py halfclose 127.0.0.1 "$LEN" partial length
	echo "$output"; [ "$status" -eq 0 ]
	# the daemon is unharmed
	run tcp_roundtrip 127.0.0.1 "$LF" <<< "after"
	[ "$output" = "after" ]
}

@test "half-close through nc -N and socat gets the whole reply" {
	start_echo
	run bash -c "seq 1 2000 | timeout 10 nc -N 127.0.0.1 $LF | md5sum"
	[ "$output" = "$(seq 1 2000 | md5sum)" ]
	run bash -c "seq 1 2000 | timeout 10 socat -t 5 - TCP:127.0.0.1:$RAW | md5sum"
	[ "$output" = "$(seq 1 2000 | md5sum)" ]
}

# ---- many clients ----

@test "1000 concurrent clients on the raw port each get exactly their own bytes" {
	[ "$(ulimit -n)" -ge 2100 ] || ulimit -n 4096 ||
	    skip "ulimit -n $(ulimit -n) is too small for 1000 clients"
	start_echo
	run ekko_py many 127.0.0.1 "$RAW" 1000
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok 1000 clients" ]
}

@test "1000 concurrent clients on the length port each get exactly their own frame" {
	[ "$(ulimit -n)" -ge 2100 ] || ulimit -n 4096 ||
	    skip "ulimit -n $(ulimit -n) is too small for 1000 clients"
	start_echo
	run ekko_py many 127.0.0.1 "$LEN" 1000 length
	echo "$output"
	[ "$status" -eq 0 ]
	# every connection was served and is closed again
	[ "$(stat_of "$CMD" connections_total)" -ge 1000 ]
	wait_for '[ "$(stat_of "$CMD" connections_active)" -le 1 ]'
}
