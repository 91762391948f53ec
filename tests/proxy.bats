#!/usr/bin/env bats
# PROXY protocol (SPEC 10): a balancer's v1 or v2 header names the
# client; its address is then the connection's for allow/deny,
# admin_allow, per_ip_connections and STATS.  Bad, cut short, oversized
# or late headers close the connection (errors_proxy); a peer outside
# proxy_allow is closed at accept (errors_denied).

load helper_cmd

setup() {
	cmd_setup
	PE=$(free_port)		# echo, proxy "any"
	PC=$(free_port)		# command, proxy "v2"
	PS=$(free_port)		# command, no proxy: the tests' STATS
	PX=$(free_port)		# echo, proxy "v1", balancers 10.0.0.0/8 only
	PL=$(free_port)		# echo, proxy "v2", line framing
	write_conf <<EOF
workers = 1;
limits = { per_ip_connections = 2; frame_timeout = 1; };
admin_allow = [ "127.0.0.0/8" ];
listeners = (
	{ address = "127.0.0.1"; port = $PE; proxy_protocol = "any";
	  proxy_allow = [ "127.0.0.1/32" ]; deny = [ "10.9.9.9/32" ]; },
	{ address = "127.0.0.1"; port = $PC; mode = "command";
	  framing = "length"; proxy_protocol = "v2";
	  proxy_allow = [ "127.0.0.1/32" ]; },
	{ address = "127.0.0.1"; port = $PS; mode = "command";
	  framing = "length"; },
	{ address = "127.0.0.1"; port = $PX; proxy_protocol = "v1";
	  proxy_allow = [ "10.0.0.0/8" ]; },
	{ address = "127.0.0.1"; port = $PL; framing = "line";
	  proxy_protocol = "v2"; proxy_allow = [ "127.0.0.1/32" ]; }
);
EOF
	start_ekkod
}

teardown() { ekko_teardown; }

@test "proxy: v1 and v2 headers with data in the same segment are echoed" {
	run client proxy v1_v2_echo "$PE" "$PL"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	[ "$(stat_of "$PS" errors_proxy)" = 0 ]
}

@test "proxy: the header's address is denied by the listener's deny" {
	run client proxy header_denied "$PE" "$PS"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	grep -q "refused 10.9.9.9 (by PROXY header) on port $PE: denied" "$LOG"
}

@test "proxy: admin_allow applies to the header's address" {
	run client proxy admin_allow "$PC" "$PS"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

@test "proxy: per_ip_connections counts the header's address, not the balancer's" {
	run client proxy per_ip "$PE" "$PS"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

@test "proxy: bad, cut short, oversized and late headers close and count errors_proxy" {
	run client proxy bad_headers "$PE" "$PC" "$PS"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	grep -q "PROXY header invalid; closing" "$LOG"
}

@test "proxy: a peer outside proxy_allow is closed at accept" {
	run client proxy outside_proxy_allow "$PX" "$PS"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	grep -q "refused 127.0.0.1:[0-9]* on port $PX: not in proxy_allow" "$LOG"
}

@test "proxy: proxy_protocol without proxy_allow is a config error" {
	cat > "$T/bad.conf" <<EOF
listeners = ( { address = "127.0.0.1"; port = $PE; proxy_protocol = "v2"; } );
EOF
	run "$EKKOD" -t -c "$T/bad.conf"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *'proxy_protocol "v2" needs proxy_allow'* ]]
	cat > "$T/bad.conf" <<EOF
listeners = ( { address = "127.0.0.1"; port = $PE;
    proxy_allow = [ "127.0.0.1/32" ]; } );
EOF
	run "$EKKOD" -t -c "$T/bad.conf"
	[ "$status" -ne 0 ]
	[[ "$output" == *'proxy_allow is only for proxy_protocol'* ]]
	cat > "$T/bad.conf" <<EOF
listeners = ( { address = "127.0.0.1"; port = $PE;
    proxy_protocol = "v3"; proxy_allow = [ "127.0.0.1/32" ]; } );
EOF
	run "$EKKOD" -t -c "$T/bad.conf"
	[ "$status" -ne 0 ]
	[[ "$output" == *'unknown proxy_protocol "v3"'* ]]
}

@test "proxy: behind a real haproxy (send-proxy-v2) the client's own address is limited and logged" {
	command -v haproxy >/dev/null || skip "haproxy is not installed"
	HP=$(free_port)
	cat > "$T/haproxy.cfg" <<EOF
global
	maxconn 100
defaults
	mode tcp
	timeout connect 2s
	timeout client 10s
	timeout server 10s
frontend fe
	bind 127.0.0.1:$HP
	default_backend be
backend be
	server e1 127.0.0.1:$PC send-proxy-v2
EOF
	haproxy -db -f "$T/haproxy.cfg" > "$T/haproxy.log" 2>&1 &
	HAPID=$!
	bg_record $HAPID
	wait_for "client tools can-connect 127.0.0.1 $HP"
	run client proxy haproxy "$HP" "$PS"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	grep -q "refused 127.0.0.2 (by PROXY header) on port $PC: per_ip_connections reached" "$LOG"
	! grep -q "refused 127.0.0.1" "$LOG"
	kill -TERM "$HAPID"
	wait_for "! kill -0 $HAPID 2>/dev/null"
}
