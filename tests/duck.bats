#!/usr/bin/env bats
# Lame duck and the agent listener (SPEC 10): ekkod -s drain/undrain, the
# DRAIN op (binary and text), ekko drain/undrain, "PONG draining" to a
# text PING, STATS draining, agent replies up/drain/down, drain_delay on
# a graceful stop, and haproxy's agent-check in front of two instances.

load helper_cmd

setup() {
	cmd_setup
	PB=$(free_port)		# command, length (binary)
	PT=$(free_port)		# command, line (text)
	PA=$(free_port)		# agent
	PE=$(free_port)		# echo, line
}

teardown() { ekko_teardown; }

# The config of one instance: $1 = drain_delay, $2 = shutdown_timeout.
duck_conf() {
	cat <<EOF
workers = 2;
$(pidfile_conf)
drain_delay = ${1:-0};
shutdown_timeout = ${2:-10};
limits = { max_connections = 10; };
listeners = (
	{ address = "127.0.0.1"; port = $PB; mode = "command"; framing = "length"; },
	{ address = "127.0.0.1"; port = $PT; mode = "command"; framing = "line"; },
	{ address = "127.0.0.1"; port = $PA; mode = "agent"; },
	{ address = "127.0.0.1"; port = $PE; mode = "echo"; framing = "line"; }
);
EOF
}

# What the agent on port $1 (default $PA) answers.  Plain bash, no
# python: a loaded CI machine takes seconds to start python, and these
# run inside drain_delay.
agent() {
	timeout 5 bash -c 'exec 5<>/dev/tcp/127.0.0.1/"$1" && cat <&5' _ \
	    "${1:-$PA}" 2>/dev/null
}

# Line $2 sent to port $1, the first line of the answer (CR removed).
line_to() {
	timeout 5 bash -c 'exec 5<>/dev/tcp/127.0.0.1/"$1" &&
	    printf "%s\r\n" "$2" >&5 && read -r l <&5 && echo "${l%$'"'\r'"'}"' \
	    _ "$1" "$2" 2>/dev/null
}

# The text PING's answer on port $1 (default $PT).
text_ping() {
	line_to "${1:-$PT}" PING
}

# STATS draining, through the client.
draining() {
	"$EKKO" -p "$PB" stats | awk '$1 == "draining" { print $2 }'
}

@test "duck: -s drain and -s undrain switch agent, text PING, STATS; binary PING stays PONG" {
	duck_conf | write_conf
	start_ekkod
	[ "$(agent)" = "up ready 100%" ]
	[ "$(text_ping)" = "PONG" ]
	[ "$(draining)" = 0 ]

	run "$EKKOD" -c "$T/ekkod.conf" -s drain
	[ "$status" -eq 0 ]
	wait_for '[ "$(draining)" = 1 ]'
	[ "$(agent)" = "drain" ]
	[ "$(text_ping)" = "PONG draining" ]
	[ "$(ekkotest req "$PB" 1)" = "0x81 PONG" ]
	# still serving and accepting
	[ "$(line_to "$PE" hi)" = "hi" ]
	log_has "lame duck: draining \(signal from pid [0-9]+\)" 50

	run "$EKKOD" -c "$T/ekkod.conf" -s undrain
	[ "$status" -eq 0 ]
	wait_for '[ "$(draining)" = 0 ]'
	[ "$(agent)" = "up ready 100%" ]
	[ "$(text_ping)" = "PONG" ]
	log_has "lame duck: serving \(signal from pid [0-9]+\)" 50
}

@test "duck: DRAIN op binary and text, ekko drain / undrain, admin only" {
	duck_conf | write_conf
	start_ekkod
	[ "$(ekkotest req "$PB" 6)" = "0x86 draining" ]
	[ "$(draining)" = 1 ]
	[ "$(agent)" = "drain" ]
	[ "$(ekkotest req "$PB" 6 off)" = "0x86 serving" ]
	[ "$(agent)" = "up ready 100%" ]
	run ekkotest req "$PB" 6 bogus
	[[ "$output" == "0xff DRAIN takes nothing or \"off\"" ]]

	# text: the state after it, twice is harmless
	run tcp_roundtrip 127.0.0.1 "$PT" 2 <<< $'DRAIN\r\nDRAIN\r\nPING\r\ndrain off\r\nPING'
	[ "${lines[0]}" = "draining" ]
	[ "${lines[1]}" = "draining" ]
	[ "${lines[2]}" = "PONG draining" ]
	[ "${lines[3]}" = "serving" ]
	[ "${lines[4]}" = "PONG" ]

	run "$EKKO" -p "$PB" drain
	[ "$status" -eq 0 ]
	[ "$output" = "draining" ]
	run "$EKKO" -p "$PB" undrain
	[ "$status" -eq 0 ]
	[ "$output" = "serving" ]
	run "$EKKO" -p "$PB" drain extra
	[ "$status" -eq 2 ]
	# nobody listens: exit 3
	run "$EKKO" -p "$(free_port)" drain
	[ "$status" -eq 3 ]
}

@test "duck: DRAIN from outside admin_allow is forbidden" {
	duck_conf | sed 's/^workers = 2;/workers = 1;\nadmin_allow = [ "10.0.0.0\/8" ];/' |
	    write_conf
	start_ekkod
	run "$EKKO" -p "$PB" drain
	[ "$status" -eq 1 ]
	[[ "$output" == *"server error: forbidden"* ]]
	[ "$(agent)" = "up ready 100%" ]
}

@test "duck: the agent's free share follows max_connections" {
	duck_conf | write_conf
	start_ekkod
	run client duck agent_share "$PE" "$PA"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "up ready 70%" ]
	[ "${lines[1]}" = "up ready 70%" ]
	[ "${lines[2]}" = "up ready 100%" ]
}

@test "duck: QUIT spends drain_delay in lame duck, still accepting, then agent down and stop" {
	duck_conf 4 5 | write_conf
	start_ekkod
	pid=$EKKOD_PID
	# a client in the middle of a message keeps its worker until
	# shutdown_timeout: the agent answers "down" meanwhile
	exec 7<>/dev/tcp/127.0.0.1/"$PE"
	printf 'partial' >&7
	t0=$(date +%s%N)
	run "$EKKOD" -c "$T/ekkod.conf" -s quit
	[ "$status" -eq 0 ]
	wait_for '[ "$(draining)" = 1 ]'
	[ "$(agent)" = "drain" ]
	[ "$(text_ping)" = "PONG draining" ]
	# new connections are still accepted and served during the delay
	[ "$(line_to "$PE" "still here")" = "still here" ]
	# undrain cannot end a stop's lame duck
	run "$EKKO" -p "$PB" undrain
	[ "$status" -eq 1 ]
	[[ "$output" == *"stopping"* ]]
	"$EKKOD" -c "$T/ekkod.conf" -s undrain
	log_has "undrain from pid [0-9]+ ignored: stopping" 50
	[ "$(agent)" = "drain" ]
	# after the delay: listeners closed, the agent says down
	wait_for '[ "$(agent)" = "down" ]' 60
	t1=$(date +%s%N)
	[ $(( (t1 - t0) / 1000000 )) -ge 3900 ]
	run line_to "$PE" late
	[ "$status" -ne 0 ]
	[ -z "$output" ]
	log_has "graceful stop: drain_delay over, closing listeners" 50
	# the held client finishes its message, gets it back, then EOF
	printf '\n' >&7
	run timeout 5 cat <&7
	[ "$output" = "partial" ]
	exec 7<&-
	wait_for "! kill -0 $pid 2>/dev/null" 50
	EKKOD_PID=
}

@test "duck: agent listener takes no framing, no proxy_protocol" {
	cat > "$T/bad.conf" <<EOF
listeners = ( { address = "127.0.0.1"; port = $PA; mode = "agent"; framing = "line"; } );
EOF
	run "$EKKOD" -t -c "$T/bad.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *'mode "agent" takes no framing'* ]]
}

# ---- haproxy in front of two instances ----

# Start instance $1 (a or b) from $T/$1.conf, log in $T/$1.log; sets
# PID_$1.
start_instance() {
	"$EKKOD" -f -c "$T/$1.conf" >>"$T/$1.log" 2>&1 &
	eval "PID_$1=$!"
	bg_record $!
	wait_for "grep -q 'ready: ' '$T/$1.log'" 50
}

# The config of instance $1: port $2 for haproxy's clients (text
# commands, PROXY v2), $3 text commands (health check), $4 agent, $5
# binary commands (ekko).
instance_conf() {
	cat > "$T/$1.conf" <<EOF
workers = 1;
drain_delay = 2;
pidfile = "$T/$1.pid";
listeners = (
	{ address = "127.0.0.1"; port = $2; mode = "command"; framing = "line";
	  proxy_protocol = "v2"; proxy_allow = [ "127.0.0.1/32" ]; },
	{ address = "127.0.0.1"; port = $3; mode = "command"; framing = "line"; },
	{ address = "127.0.0.1"; port = $4; mode = "agent"; },
	{ address = "127.0.0.1"; port = $5; mode = "command"; framing = "length"; }
);
EOF
}

# One line from haproxy's stats socket: "show stat" status of server $1.
ha_status() {
	echo "show stat" | socat -t 3 - "UNIX-CONNECT:$T/haproxy.sock" |
	    awk -F, -v s="$1" '$1 == "be" && $2 == s { print $18 }'
}

# Instances a and b, and haproxy ($HP) in front of them with agent-check
# and a text PING health check; waits until haproxy has both UP.
start_fleet() {
	command -v haproxy >/dev/null || skip "haproxy is not installed"
	EA=$(free_port); TA=$(free_port); AA=$(free_port); CA=$(free_port)
	EB=$(free_port); TB=$(free_port); AB=$(free_port); CB=$(free_port)
	HP=$(free_port)
	instance_conf a "$EA" "$TA" "$AA" "$CA"
	instance_conf b "$EB" "$TB" "$AB" "$CB"
	start_instance a
	start_instance b
	cat > "$T/haproxy.cfg" <<EOF
global
	maxconn 200
	stats socket $T/haproxy.sock level admin
defaults
	mode tcp
	timeout connect 2s
	timeout client 20s
	timeout server 20s
	retries 3
	option redispatch
frontend fe
	bind 127.0.0.1:$HP
	default_backend be
backend be
	balance roundrobin
	option tcp-check
	tcp-check send "PING\r\n"
	tcp-check expect string PONG
	server a 127.0.0.1:$EA weight 100 send-proxy-v2 check port $TA inter 300ms agent-check agent-port $AA agent-inter 300ms
	server b 127.0.0.1:$EB weight 100 send-proxy-v2 check port $TB inter 300ms agent-check agent-port $AB agent-inter 300ms
EOF
	haproxy -db -f "$T/haproxy.cfg" > "$T/haproxy.log" 2>&1 &
	HAPID=$!
	bg_record $HAPID
	wait_for '[ "$(ha_status a)" = UP ] && [ "$(ha_status b)" = UP ]' 50
}

stop_fleet() {
	kill -TERM "$HAPID" "$PID_a" "$PID_b" 2>/dev/null || true
	wait_for "! kill -0 $HAPID 2>/dev/null && ! kill -0 $PID_a 2>/dev/null && ! kill -0 $PID_b 2>/dev/null"
}

# Over $1 new connections through haproxy, how many reached each
# instance: "a=N b=M", told by the master pid INFO reports.
spread() {
	client duck spread "$HP" "$1" "$PID_a" "$PID_b"
}

@test "duck: behind haproxy, ekko drain on A moves new connections to B; undrain brings A back" {
	start_fleet
	run spread 10
	echo "$output"
	[ "$output" = "a=5 b=5" ]
	# an open connection to A, kept through the drain
	exec 8<>/dev/tcp/127.0.0.1/"$HP"
	t0=$(date +%s%N)
	run "$EKKO" -p "$CA" drain
	[ "$output" = "draining" ]
	# haproxy sees it within two agent intervals (2 x 300 ms; plus a
	# margin for a loaded CI machine)
	wait_for '[[ "$(ha_status a)" == DRAIN* ]]' 30
	t1=$(date +%s%N)
	echo "DRAIN after $(( (t1 - t0) / 1000000 )) ms"
	run spread 10
	echo "$output"
	[ "$output" = "a=0 b=10" ]
	# the connection opened before works on, wherever it went
	printf 'PING\r\n' >&8
	read -r -t 5 line <&8
	[[ "$line" == PONG* ]]
	exec 8<&-
	run "$EKKO" -p "$CA" undrain
	[ "$output" = "serving" ]
	wait_for '[ "$(ha_status a)" = UP ]' 30
	run spread 10
	echo "$output"
	[ "$output" = "a=5 b=5" ]
	stop_fleet
}

# Stop instance $1 gracefully (QUIT: drain_delay of lame duck, then the
# graceful stop), wait for it to exit, start it again, and wait until
# haproxy has it UP.
restart_instance() {
	local pid
	eval "pid=\$PID_$1"
	"$EKKOD" -c "$T/$1.conf" -s quit
	wait_for "! kill -0 $pid 2>/dev/null" 150
	: > "$T/$1.log"
	start_instance "$1"
	wait_for '[ "$(ha_status '"$1"')" = UP ]' 100
}

@test "duck: rolling graceful restart of A then B behind haproxy: no client sees a failure" {
	start_fleet
	# clients through haproxy, the whole time: connect, three ECHOs
	# checked byte for byte, close; each kind of failure counted
	# python3 itself, not the client verb: $! must be python's pid
	python3 "$BATS_TEST_DIRNAME/clients/duck.py" rolling "$HP" \
	    "$T/load.stop" > "$T/load.out" 2>&1 &
	LOADPID=$!
	bg_record $LOADPID
	# the load runs before, during and after
	wait_for '[ "$(awk '"'"'$1 == "requests_total" { print $2 }'"'"' <("$EKKO" -p "$CA" stats))" -gt 30 ]' 100
	echo "restart a at $(date +%s.%N)" >> "$T/load.out"
	restart_instance a
	echo "restart b at $(date +%s.%N)" >> "$T/load.out"
	restart_instance b
	sleep 1
	touch "$T/load.stop"
	wait_for "! kill -0 $LOADPID 2>/dev/null" 100
	cat "$T/load.out" | head -30
	cat "$T/haproxy.log"
	grep -Eq "^sessions=[0-9]{2,} connect=0 reset=0 wrong=0 eof=0$" "$T/load.out"
	stop_fleet
}
