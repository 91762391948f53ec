#!/usr/bin/env bats
# Memory under hostile input: how input buffers grow (geometric, never
# past what has arrived), headers that announce huge frames, and the
# daemon-wide budget limits.max_memory against peers that never read.
# The clients live in tests/clients/memory.py ($MEMPY).

load helper

setup() {
	ekko_setup
	mem_setup
}

teardown() {
	ekko_teardown
}

# Run a client of $MEMPY; show what it saw; succeed only if it did.
mem() {
	run python3 "$MEMPY" "$@"
	echo "$output"
	[ "$status" -eq 0 ]
}

# The config: workers $1, the limits group $2, tcp group $3, then
# listeners (stdin, one "{ ... }," per line; the last without comma).
conf() {
	{
		echo "workers = $1;"
		echo "limits = { $2 };"
		echo "tcp = { $3 };"
		echo "listeners = ("
		cat
		echo ");"
	} | write_conf
}

mem_setup() {
	MEMPY="$BATS_TEST_DIRNAME/clients/memory.py"
}

@test "line framing: a max_frame line costs about what a length frame does" {
	L=$(free_port)
	F=$(free_port)
	conf 1 "max_frame = 25165824;" "nodelay = true;" <<EOF
  { address = "127.0.0.1"; port = $L; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $F; mode = "echo"; framing = "length"; }
EOF
	start_ekkod
	mem growth "$(workers)" "$L" "$F" 25165824
}

@test "length framing: a huge header behind a backpressure pause reserves nothing" {
	[ -z "$EKKO_SANITIZE" ] || skip "VmSize is meaningless under ASan"
	C=$(free_port)
	conf 1 "max_output = 1024;" "sndbuf = 4096; rcvbuf = 1048576;" <<EOF
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	mem header_after_pause "$(workers)" "$C"
}

@test "fixed framing: one byte of a huge frame reserves nothing" {
	[ -z "$EKKO_SANITIZE" ] || skip "VmSize is meaningless under ASan"
	E=$(free_port)
	conf 1 "max_frame = 67108864;" "nodelay = true;" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "fixed"; frame_size = 67108864; }
EOF
	start_ekkod
	mem fixed_byte "$(workers)" "$E" 20 67108864
}

@test "fixed framing under ulimit -v: one-byte frames neither fail nor close" {
	[ -z "$EKKO_SANITIZE" ] || skip "ASan cannot run under ulimit -v"
	E=$(free_port)
	conf 1 "max_frame = 67108864;" "nodelay = true;" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "fixed"; frame_size = 67108864; }
EOF
	bash -c 'ulimit -v 786432 && exec "$0" -f -c "$1"' "$EKKOD" \
	    "$T/ekkod.conf" >>"$LOG" 2>&1 &
	ekkod_started $!
	mem fixed_byte "$(workers)" "$E" 20 67108864
	! grep -i "cannot allocate\|out of memory" "$LOG"
}

@test "max_memory: 2,000 peers that never read stay within the budget" {
	E=$(free_port)
	C=$(free_port)
	conf 2 "max_memory = 33554432; write_timeout = 2;" "sndbuf = 4096;" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "raw"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	mem budget "$E" "$C" 2000 33554432 "$EKKOD_PID" $(workers)
}

@test "max_memory: a frame one connection can never hold is closed at once" {
	E=$(free_port)
	C=$(free_port)
	# a third of the 1 MiB share is about 340 kB: 600 kB never fits,
	# and waiting write_timeout (30 s) for it would change nothing
	conf 1 "max_memory = 1048576;" "nodelay = true;" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "length"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	mem over_share "$E" "$C" 600000 10
	grep -q "frame of more than [0-9]* bytes cannot be held within the worker's max_memory share; closing" "$LOG"
}

@test "max_memory: a frame within a third of the share is echoed whole" {
	E=$(free_port)
	conf 1 "max_memory = 1048576;" "nodelay = true;" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "length"; }
EOF
	start_ekkod
	mem echo_whole "$E" 300000 10
}

@test "max_memory: a wait for memory ends at write_timeout, even with no other timeout" {
	E=$(free_port)
	C=$(free_port)
	# two 300 kB frames, each within a third of the 1 MiB share, but
	# not both: whoever waits for the other's memory waits for ever,
	# unless write_timeout ends it (frame and idle timeouts are off)
	conf 1 "max_memory = 1048576; write_timeout = 2; frame_timeout = 0; idle_timeout = 0;" "nodelay = true;" <<EOF
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "length"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
EOF
	start_ekkod
	mem stuck_wait "$E" "$C" 300000 2 15
}

@test "max_memory: documented and range-checked" {
	printf 'limits = { max_memory = 1024; };\n' | write_conf
	run "$EKKOD" -t -c "$T/ekkod.conf"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *max_memory* ]]
	grep -q "max_memory" "$BATS_TEST_DIRNAME/../daemon/ekkod.conf.5"
	grep -q "errors_memory" "$BATS_TEST_DIRNAME/../daemon/ekkod.conf.5"
}
