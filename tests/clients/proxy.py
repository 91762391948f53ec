#!/usr/bin/env python3
"""proxy.py CASE PORT... -- the clients of tests/proxy.bats: PROXY v1/v2
headers (built by pp.py) name the client for deny, admin_allow,
per_ip_connections and STATS.  A failed assert exits 1."""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import pp  # noqa: E402


def case_v1_v2_echo():
    """proxy: v1 and v2 headers with data in the same segment are echoed"""
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


def case_header_denied():
    """proxy: the header's address is denied by the listener's deny"""
    pe, ps = int(sys.argv[1]), int(sys.argv[2])
    before = pp.stat(ps, "errors_denied")
    for hdr in (pp.v1("10.9.9.9"), pp.v2("10.9.9.9")):
        s = pp.send(pe, hdr + b"data")
        assert pp.closed(s), hdr
    s = pp.send(pe, pp.v2("10.9.9.8") + b"data")
    assert pp.read_n(s, 4) == b"data"
    assert pp.stat(ps, "errors_denied") == before + 2
    print("ok")


def case_admin_allow():
    """proxy: admin_allow applies to the header's address"""
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


def case_per_ip():
    """proxy: per_ip_connections counts the header's address, not the balancer's"""
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


def case_bad_headers():
    """proxy: bad, cut short, oversized and late headers close and count errors_proxy"""
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


def case_outside_proxy_allow():
    """proxy: a peer outside proxy_allow is closed at accept"""
    px, ps = int(sys.argv[1]), int(sys.argv[2])
    before = pp.stat(ps, "errors_denied")
    s = pp.send(px, pp.v1("10.1.1.1") + b"hello")
    assert pp.closed(s)
    assert pp.stat(ps, "errors_denied") == before + 1
    assert pp.stat(ps, "errors_proxy") == 0
    print("ok")


def case_haproxy():
    """proxy: behind a real haproxy (send-proxy-v2) the client's own address is limited and logged"""
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


if __name__ == "__main__":
    case = globals()["case_" + sys.argv[1]]
    del sys.argv[1]
    case()
