#!/usr/bin/env bats
# PROXY protocol (SPEC 10): a balancer's v1 or v2 header names the
# client; its address is then the connection's for allow/deny,
# admin_allow, per_ip_connections and STATS.  Bad, cut short, oversized
# or late headers close the connection (errors_proxy); a peer outside
# proxy_allow is closed at accept (errors_denied).

load helper_cmd

setup() {
	cmd_setup
	write_pp > "$T/pp.py"
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

# Headers and checks for inline python: import pp.
write_pp() {
	cat <<'PY'
import socket, struct, sys, time
import ekkoproto as ep

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, sport=40000, dst=None, dport=80):
    six = ":" in src
    dst = dst or ("::1" if six else "127.0.0.1")
    return ("PROXY %s %s %s %d %d\r\n" % ("TCP6" if six else "TCP4", src,
            dst, sport, dport)).encode()


def v2(src=None, sport=40000, dport=80, cmd=0x21, tlvs=b""):
    if src is None:
        body, fam = b"", 0x00
    elif ":" in src:
        body = (socket.inet_pton(socket.AF_INET6, src) +
                socket.inet_pton(socket.AF_INET6, "::1") +
                struct.pack(">HH", sport, dport))
        fam = 0x21
    else:
        body = (socket.inet_aton(src) + socket.inet_aton("127.0.0.1") +
                struct.pack(">HH", sport, dport))
        fam = 0x11
    body += tlvs
    return SIG + bytes([cmd, fam]) + struct.pack(">H", len(body)) + body


def send(port, data):
    s = ep.connect(port)
    s.sendall(data)
    return s


def read_n(s, n):
    """n bytes, or what came before the server closed."""
    d = b""
    s.settimeout(5)
    while len(d) < n:
        try:
            b = s.recv(n - len(d))
        except ConnectionResetError:
            break
        if not b:
            break
        d += b
    return d


def closed(s, timeout=5):
    """The server closes s (EOF or reset) within timeout, sending nothing."""
    s.settimeout(timeout)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True


def stat(port, key):
    return int(ep.stats(port)[key])
PY
}

@test "proxy: v1 and v2 headers with data in the same segment are echoed" {
	run py "$PE" "$PL" <<'PY'
import sys, pp
pe, pl = int(sys.argv[1]), int(sys.argv[2])
for hdr in (pp.v1("10.1.1.1"), pp.v1("2001:db8::5"), pp.v2("10.1.1.2"),
            pp.v2("2001:db8::6"), pp.v2(cmd=0x20),
            pp.v2("10.1.1.3", tlvs=b"\x01\x00\x02h2\x04\x00\x02\x00\x00")):
    s = pp.send(pe, hdr + b"hello, ekko")
    got = pp.read_n(s, 11)
    assert got == b"hello, ekko", (hdr, got)
    s.close()
# line framing: the header is not part of the first line; header and
# line arrive byte by byte
s = pp.ep.connect(pl)
for b in pp.v2("10.1.1.4") + b"one\ntwo\n":
    s.sendall(bytes([b]))
got = pp.read_n(s, 8)
assert got == b"one\ntwo\n", got
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	[ "$(stat_of "$PS" errors_proxy)" = 0 ]
}

@test "proxy: the header's address is denied by the listener's deny" {
	run py "$PE" "$PS" <<'PY'
import sys, pp
pe, ps = int(sys.argv[1]), int(sys.argv[2])
before = pp.stat(ps, "errors_denied")
for hdr in (pp.v1("10.9.9.9"), pp.v2("10.9.9.9")):
    s = pp.send(pe, hdr + b"data")
    assert pp.closed(s), hdr
s = pp.send(pe, pp.v2("10.9.9.8") + b"data")
assert pp.read_n(s, 4) == b"data"
assert pp.stat(ps, "errors_denied") == before + 2
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	grep -q "refused 10.9.9.9 (by PROXY header) on port $PE: denied" "$LOG"
}

@test "proxy: admin_allow applies to the header's address" {
	run py "$PC" "$PS" <<'PY'
import sys, pp
ep = pp.ep
pc, ps = int(sys.argv[1]), int(sys.argv[2])
# from outside admin_allow (127.0.0.0/8), through the balancer 127.0.0.1
s = pp.send(pc, pp.v2("192.0.2.7"))
op, body = ep.call(s, ep.STATS)
assert op == 0xFF and b"forbidden" in body.lower(), (op, body)
# inside it
s = pp.send(pc, pp.v2("127.0.0.9"))
op, body = ep.call(s, ep.STATS)
assert op == 0x83, (op, body)
# LOCAL (a health check) keeps the balancer's own address: inside
s = pp.send(pc, pp.v2(cmd=0x20))
op, body = ep.call(s, ep.STATS)
assert op == 0x83, (op, body)
assert pp.stat(ps, "errors_forbidden") == 1
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

@test "proxy: per_ip_connections counts the header's address, not the balancer's" {
	run py "$PE" "$PS" <<'PY'
import sys, time, pp
pe, ps = int(sys.argv[1]), int(sys.argv[2])
def echo_ok(s):
    s.sendall(b"x")
    return pp.read_n(s, 1) == b"x"
# two clients behind one balancer (127.0.0.1), two connections each:
# four from 127.0.0.1, within per_ip_connections = 2 per client
held = [pp.send(pe, pp.v1(a)) for a in ("10.2.2.2", "10.2.2.2",
                                        "10.3.3.3", "10.3.3.3")]
assert all(echo_ok(s) for s in held)
# a third from 10.2.2.2 is over its limit
s = pp.send(pe, pp.v1("10.2.2.2"))
assert pp.closed(s)
assert pp.stat(ps, "errors_per_ip") == 1
# one of 10.2.2.2's closes: its count is given back
held[0].close()
for i in range(50):
    s = pp.send(pe, pp.v1("10.2.2.2"))
    if echo_ok(s):
        break
    time.sleep(0.1)
else:
    raise AssertionError("10.2.2.2 not admitted after one closed")
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

@test "proxy: bad, cut short, oversized and late headers close and count errors_proxy" {
	run py "$PE" "$PC" "$PS" <<'PY'
import sys, struct, pp
pe, pc, ps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
bad = [
    (pe, b"PROXY TCP4 10.1.1.1 127.0.0.1 1 2\n"),        # no CR
    (pe, b"PROXY TCP4 10.1.1.1  127.0.0.1 1 2\r\n"),     # two spaces
    (pe, b"PROXY TCP4 10.1.1.1 127.0.0.1 65536 2\r\n"),  # port
    (pe, b"PROXY UNKNOWN " + b"x" * 5000 + b"\r\n"),      # 5 KiB v1
    (pe, b"GET / HTTP/1.0\r\n\r\n"),                      # no header
    (pc, pp.SIG[:11] + b"X" + bytes([0x21, 0x11, 0, 12]) + bytes(12)),
    (pc, pp.v1("10.1.1.1")),                              # v1 to v2
    (pc, pp.SIG + bytes([0x21, 0x11]) + struct.pack(">H", 5000) +
     bytes(5000)),                                        # over 4 KiB
]
before = pp.stat(ps, "errors_proxy")
for port, data in bad:
    s = pp.send(port, data)
    assert pp.closed(s), data[:40]
# truncated v2: the length promises more than arrives, then the peer
# closes its side
s = pp.send(pc, pp.v2("10.1.1.1")[:20])
s.shutdown(pp.socket.SHUT_WR)
assert pp.closed(s)
# late: half a header, then nothing past frame_timeout (1 s)
s = pp.send(pe, b"PROXY TCP4 10.1")
assert pp.closed(s, timeout=4)
# nothing at all, past frame_timeout
s = pp.ep.connect(pe)
assert pp.closed(s, timeout=4)
after = pp.stat(ps, "errors_proxy")
assert after == before + len(bad) + 3, (before, after)
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	grep -q "PROXY header invalid; closing" "$LOG"
}

@test "proxy: a peer outside proxy_allow is closed at accept" {
	run py "$PX" "$PS" <<'PY'
import sys, pp
px, ps = int(sys.argv[1]), int(sys.argv[2])
before = pp.stat(ps, "errors_denied")
s = pp.send(px, pp.v1("10.1.1.1") + b"hello")
assert pp.closed(s)
assert pp.stat(ps, "errors_denied") == before + 1
assert pp.stat(ps, "errors_proxy") == 0
print("ok")
PY
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
	wait_for "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $HP), 1).close()' 2>/dev/null"
	run py "$HP" "$PS" <<'PY'
import sys, pp
ep = pp.ep
hp, ps = int(sys.argv[1]), int(sys.argv[2])
before = pp.stat(ps, "errors_per_ip")
def ping_from(src):
    s = ep.connect(hp, source=src)
    try:
        op, body = ep.call(s, ep.PING)
    except (EOFError, ConnectionResetError):
        s.close()
        return None
    assert op == 0x81, (op, body)
    return s
# two clients, 127.0.0.2 and 127.0.0.3, all through haproxy (127.0.0.1)
a = [ping_from("127.0.0.2") for i in range(2)]
b = [ping_from("127.0.0.3") for i in range(2)]
assert all(a) and all(b), (a, b)
# the third from 127.0.0.2 is over per_ip_connections = 2; not haproxy
assert ping_from("127.0.0.2") is None
assert pp.stat(ps, "errors_per_ip") == before + 1
# STATS through haproxy from 127.0.0.3 (inside admin_allow) is answered
op, body = ep.call(b[0], ep.STATS)
assert op == 0x83, (op, body)
assert int(ep.kv(body)["errors_proxy"]) == 0
print("ok")
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	grep -q "refused 127.0.0.2 (by PROXY header) on port $PC: per_ip_connections reached" "$LOG"
	! grep -q "refused 127.0.0.1" "$LOG"
	kill -TERM "$HAPID"
	wait_for "! kill -0 $HAPID 2>/dev/null"
}
