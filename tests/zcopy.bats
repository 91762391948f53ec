#!/usr/bin/env bats
# Framed replies without a copy (issue 17, section 1): a framed echo and
# ECHO answer from the connection's input ring, where a partial frame
# waits while the frames after it are read, and a frame may lie across
# the ring's wrap.  Each test checks the bytes on the wire: whole
# messages in order, never a partial one (SPEC section 6).

load helper
load helper_proc

setup() { ekko_setup; }
teardown() { ekko_teardown; }

# One worker, a listener per framing and the command ports.  $1: extra
# top-level config (tcp or limits).
start_z() {
	read -r LEN LF CRLF FIX CMDB CMDT <<< "$(free_ports 6 | tr '\n' ' ')"
	write_conf <<EOF
workers = 1;
${1:-}
listeners = (
  { address = "127.0.0.1"; port = $LEN;  mode = "echo"; framing = "length"; },
  { address = "127.0.0.1"; port = $LF;   mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $CRLF; mode = "echo"; framing = "line";
    delimiter = "\r\n"; },
  { address = "127.0.0.1"; port = $FIX;  mode = "echo"; framing = "fixed";
    frame_size = 50001; },
  { address = "127.0.0.1"; port = $CMDB; mode = "command"; framing = "length"; },
  { address = "127.0.0.1"; port = $CMDT; mode = "command"; framing = "line"; }
);
EOF
	start_ekkod
}

# tests/clients/zcopy.py PORT KIND ARG NFRAMES SEED [opts], its output
# shown on failure.
zc() {
	run client zcopy "$@"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "length: large pipelined frames across the ring's wrap come back whole, in order" {
	start_z
	zc "$LEN" length - 40 1
	zc "$LEN" length - 40 2
}

@test "line \\n and \\r\\n, fixed: large pipelined frames across the wrap" {
	start_z
	zc "$LF" line '\n' 30 3
	zc "$CRLF" line '\r\n' 30 4
	zc "$FIX" fixed 50001 30 5
}

@test "ECHO, binary and text: large pipelined requests across the wrap" {
	start_z
	zc "$CMDB" echo-bin - 30 6
	zc "$CMDT" echo-text - 30 7
}

@test "ECHO and PING, binary: small requests across the wrap too" {
	start_z
	zc "$CMDB" mix-bin - 3000 18
	zc "$CMDB" mix-bin - 3000 19 --partial
}

@test "pipelined frames and a trailing partial, then half-close: the partial is dropped" {
	start_z
	zc "$LEN" length - 25 8 --partial
	zc "$LF" line '\n' 25 9 --partial
	zc "$CRLF" line '\r\n' 25 10 --partial
	zc "$FIX" fixed 50001 25 11 --partial
	zc "$CMDB" echo-bin - 25 12 --partial
	zc "$CMDT" echo-text - 25 13 --partial
}

@test "replies the socket takes only in part while the input holds more frames" {
	# a small send buffer, and a client that reads only once all is sent
	start_z "tcp = { sndbuf = 4096; };"
	zc "$LEN" length - 30 14 --slow
	zc "$LF" line '\n' 30 15 --slow
	zc "$FIX" fixed 50001 20 16 --slow --partial
	zc "$CMDB" echo-bin - 20 17 --slow --partial
}

@test "max_output holds frames in the ring while output drains, then answers them" {
	start_z "limits = { max_output = 65536; }; tcp = { sndbuf = 4096; };"
	zc "$LEN" length - 30 18 --slow
	zc "$CRLF" line '\r\n' 30 19 --slow --partial
	zc "$FIX" fixed 50001 20 20 --slow
	zc "$CMDB" echo-bin - 20 25 --slow
	zc "$CMDB" mix-bin - 2000 26 --slow --partial
}

@test "counters unchanged: bytes_in, bytes_out and requests of a ring echo" {
	start_z
	zc "$LEN" length - 20 21 --partial
	sent=$(echo "$output" | sed -n 's/.*sent \([0-9]*\) bytes, .*/\1/p')
	back=$(echo "$output" | sed -n 's/.* \([0-9]*\) back$/\1/p')
	# each STATS request counts itself; it is 5 bytes in
	[ "$(stat_of "$CMDB" requests_total)" -eq 21 ]
	out=$(stat_of "$CMDB" bytes_out)
	bin=$(stat_of "$CMDB" bytes_in)
	echo "sent $sent back $back bytes_in $bin bytes_out $out"
	[ "$bin" -eq $((sent + 15)) ]
	[ "$out" -gt "$back" ]
}

@test "a frame over max_frame after frames held in the ring: those before it, then close" {
	start_z "limits = { max_frame = 300000; };"
	zc "$LEN" length - 12 22 --toolarge
	zc "$LF" line '\n' 12 23 --toolarge
	zc "$FIX" fixed 50001 12 24 --partial
	[ "$(stat_of "$CMDB" errors_frame_too_large)" -eq 2 ]
}
