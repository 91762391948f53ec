#!/usr/bin/env bats
# The shortest path through the product: start, echo, stop.

load helper

setup() { ekko_setup; }
teardown() { ekko_teardown; }

@test "ekkod starts, echoes on a raw port, and stops on SIGTERM" {
	P=$(free_port)
	write_conf <<EOF
workers = 2;
listeners = ( { address = "127.0.0.1"; port = $P; mode = "echo"; framing = "raw"; } );
EOF
	start_ekkod
	run tcp_roundtrip 127.0.0.1 "$P" <<< "hello ekko"
	[ "$status" -eq 0 ]
	[ "$output" = "hello ekko" ]
	[ "$(workers | wc -l)" -eq 2 ]
	stop_ekkod
}
