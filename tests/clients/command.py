#!/usr/bin/env python3
"""command.py CASE PORT... -- the clients of tests/command.bats: the ekko
protocol in binary and text framing, errors, pipelining, STATS, INFO and
admin_allow.  A case fails with an AssertionError (exit 1)."""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ekkotest import (ECHO, INFO, PING, QUIT, STATS, call, connect, expect_eof,
                      frame, kv, read_line, read_reply, stats)  # noqa: E402


def case_binary_ops():
    """binary: PING, ECHO (text, binary, empty), STATS, INFO, QUIT then EOF"""
    s = connect(sys.argv[1])
    assert call(s, PING) == (0x81, b"PONG")
    assert call(s, ECHO, b"hello ekko") == (0x82, b"hello ekko")
    allbytes = bytes(range(256)) * 3
    assert call(s, ECHO, allbytes) == (0x82, allbytes)
    nul = b"\x00\x00\n\r\xff\x80\x00"
    assert call(s, ECHO, nul) == (0x82, nul)
    assert call(s, ECHO, b"") == (0x82, b"")
    op, body = call(s, STATS)
    assert op == 0x83, (op, body)
    assert b"requests_total " in body, body
    op, body = call(s, INFO)
    assert op == 0x84, (op, body)
    assert body.startswith(b"version "), body
    # QUIT: an empty 0x85 reply, then the server closes.
    assert call(s, QUIT) == (0x85, b"")
    expect_eof(s)
    print("ok")


def case_text_ops():
    """text: PING, ECHO, STATS..END, INFO..END, ERR, lowercase, CRLF, QUIT -> BYE then EOF"""
    s = connect(sys.argv[1])
    buf = bytearray()
    def req(line):
        s.sendall(line)
        return read_line(s, buf)
    assert req(b"PING\n") == b"PONG"
    assert req(b"ECHO hello world\n") == b"hello world"
    assert req(b"ping\n") == b"PONG"
    assert req(b"echo lower case\n") == b"lower case"
    assert req(b"Ping\r\n") == b"PONG"
    assert req(b"ECHO crlf line\r\n") == b"crlf line"
    assert req(b"FROB x\n") == b"ERR unknown command"
    assert req(b"\n") == b"ERR empty frame"
    # The connection is still usable after errors.
    assert req(b"PING\n") == b"PONG"
    for cmd in (b"STATS\n", b"info\r\n"):
        s.sendall(cmd)
        lines = []
        for _ in range(500):
            l = read_line(s, buf)
            if l == b"END":
                break
            lines.append(l)
        else:
            raise AssertionError("no END after %s" % cmd)
        assert lines, cmd
        for l in lines:
            k, sp, v = l.partition(b" ")
            assert sp and k and v, "not a key value line: %r" % l
        keys = [l.split(b" ")[0] for l in lines]
        if cmd.startswith(b"STATS"):
            assert b"requests_total" in keys and b"worker.0.pid" in keys, keys
        else:
            assert keys[0] == b"version", keys
    assert req(b"QUIT\n") == b"BYE"
    assert bytes(buf) == b"", buf
    expect_eof(s)
    print("ok")


def case_text_pipelined():
    """text: pipelined lines in one write get replies in order"""
    s = connect(sys.argv[1])
    s.sendall(b"PING\r\nECHO one\nbogus\nECHO two\r\nping\nQUIT\nPING\n")
    buf = bytearray()
    got = [read_line(s, buf) for _ in range(6)]
    assert got[:2] == [b"PONG", b"one"], got
    assert got[2].startswith(b"ERR "), got
    assert got[3:] == [b"two", b"PONG", b"BYE"], got
    # Nothing after BYE: the PING behind QUIT is not answered.
    s.settimeout(5)
    rest = bytes(buf)
    while True:
        b = s.recv(65536)
        if not b:
            break
        rest += b
    assert rest == b"", rest
    print("ok")


def case_unknown_op():
    """unknown op -> 0xFF error, the connection stays usable, errors_unknown_op counts"""
    s = connect(sys.argv[1])
    op, body = call(s, 0x42, b"junk")
    assert op == 0xFF, (op, body)
    assert body == b"unknown op 0x42", body
    op, body = call(s, 0x7F)
    assert op == 0xFF, (op, body)
    assert call(s, PING) == (0x81, b"PONG")
    assert call(s, ECHO, b"still here") == (0x82, b"still here")
    st = stats(sys.argv[1])
    assert st["errors_unknown_op"] == "2", st["errors_unknown_op"]
    print("ok")


def case_empty_frame():
    """empty frame (len 0) -> 0xFF error reply, connection stays usable"""
    s = connect(sys.argv[1])
    s.sendall(struct.pack(">I", 0))
    op, body = read_reply(s)
    assert op == 0xFF, (op, body)
    assert body == b"empty frame", body
    assert call(s, PING) == (0x81, b"PONG")
    # Pipelined: PING, empty, ECHO -> three replies in order.
    s.sendall(frame(PING) + struct.pack(">I", 0) + frame(ECHO, b"x"))
    assert read_reply(s) == (0x81, b"PONG")
    assert read_reply(s)[0] == 0xFF
    assert read_reply(s) == (0x82, b"x")
    st = stats(sys.argv[1])
    assert st["errors_empty_frame"] == "2", st["errors_empty_frame"]
    print("ok")


def case_oversized_frame():
    """oversized frame -> replies owed, then 0xFF frame too large, then close"""
    pb, pl = sys.argv[1], sys.argv[2]
    # Binary: a PING, then a header announcing 2000 bytes (max_frame 1024).
    s = connect(pb)
    s.sendall(frame(PING) + struct.pack(">IB", 2000, ECHO) + b"x" * 10)
    assert read_reply(s) == (0x81, b"PONG")
    op, body = read_reply(s)
    assert op == 0xFF, (op, body)
    assert body == b"frame too large (max_frame 1024 bytes)", body
    expect_eof(s)
    # Exactly max_frame is still fine: len 1024 = op + 1023 bytes.
    s = connect(pb)
    big = bytes(range(256)) * 3 + b"z" * 255
    assert len(big) == 1023
    assert call(s, ECHO, big) == (0x82, big)
    s.close()
    # Text: a line longer than max_frame.
    s = connect(pl)
    s.sendall(b"PING\n" + b"a" * 1100 + b"\n")
    buf = bytearray()
    assert read_line(s, buf) == b"PONG"
    l = read_line(s, buf)
    assert l.startswith(b"ERR ") and b"too large" in l, l
    assert bytes(buf) == b""
    expect_eof(s)
    st = stats(pb)
    assert st["errors_frame_too_large"] == "2", st["errors_frame_too_large"]
    print("ok")


def case_pipelined_1000():
    """1000 pipelined mixed requests in one write -> 1000 replies in order"""
    s = connect(sys.argv[1])
    reqs, want = [], []
    for i in range(1000):
        if i % 3 == 0:
            reqs.append(frame(PING))
            want.append((0x81, b"PONG"))
        else:
            p = (b"msg-%d-" % i) + bytes([i % 256]) * (i % 50)
            reqs.append(frame(ECHO, p))
            want.append((0x82, p))
    s.sendall(b"".join(reqs))
    for i, w in enumerate(want):
        got = read_reply(s)
        assert got == w, "reply %d: got %r want %r" % (i, got, w)
    # Nothing more than 1000 replies.
    s.settimeout(0.3)
    try:
        extra = s.recv(1)
    except socket.timeout:
        extra = b""
    assert extra == b"", extra
    s.close()
    print("ok")


def case_stats_exact():
    """STATS counters are exact: requests_total, bytes_in, bytes_out, connections"""
    port = sys.argv[1]
    # Connection A: 3 PING, 1 ECHO "hello", QUIT; we see the server close it.
    a = connect(port)
    for _ in range(3):
        assert call(a, PING) == (0x81, b"PONG")       # 5 in, 9 out each
    assert call(a, ECHO, b"hello") == (0x82, b"hello") # 10 in, 10 out
    assert call(a, QUIT) == (0x85, b"")                # 5 in, 5 out
    expect_eof(a)
    a.close()
    # Connection B: one ECHO of 100 bytes, kept open.
    b = connect(port)
    p = bytes(range(100))
    assert call(b, ECHO, p) == (0x82, p)               # 105 in, 105 out
    # Connection C: STATS.
    c = connect(port)
    op, body = call(c, STATS)                          # 5 in
    assert op == 0x83, (op, body)
    st = kv(body)
    want = {
        "requests_total": 3 + 1 + 1 + 1 + 1,           # A 5, B 1, C 1 (STATS)
        "bytes_in": 3 * 5 + 10 + 5 + 105 + 5,
        "bytes_out": 3 * 9 + 10 + 5 + 105,
        "connections_total": 3,
        "connections_active": 2,                      # B and C
        "connections_rejected": 0,
        "worker.0.requests": 7,
        "worker.0.bytes_in": 140,
        "worker.0.bytes_out": 147,
        "worker.0.accepted": 3,
        "worker.0.connections_active": 2,
        "workers_configured": 1,
        "workers_running": 1,
    }
    bad = ["%s: got %s want %s" % (k, st.get(k), v)
           for k, v in want.items() if st.get(k) != str(v)]
    # A second STATS on C: its first reply (5 + len(body)) is now counted.
    op, body2 = call(c, STATS)
    st2 = kv(body2)
    want2 = {
        "requests_total": 8,
        "bytes_in": 145,
        "bytes_out": 147 + 5 + len(body),
    }
    bad += ["second STATS %s: got %s want %s" % (k, st2.get(k), v)
            for k, v in want2.items() if st2.get(k) != str(v)]
    # Connection D: PING, ECHO "xy" and STATS pipelined in one write; the
    # STATS counts the two requests before it, and itself.
    d = connect(port)
    d.sendall(frame(PING) + frame(ECHO, b"xy") + frame(STATS))
    assert read_reply(d) == (0x81, b"PONG")
    assert read_reply(d) == (0x82, b"xy")
    op, body3 = read_reply(d)
    assert op == 0x83, (op, body3)
    st3 = kv(body3)
    want3 = {
        "requests_total": 8 + 3,
        "bytes_in": 145 + 5 + 7 + 5,
        "connections_total": 4,
        "connections_active": 3,
    }
    bad += ["pipelined STATS %s: got %s want %s" % (k, st3.get(k), v)
            for k, v in want3.items() if st3.get(k) != str(v)]
    assert not bad, "\n".join(bad)
    print("ok")


def case_info():
    """INFO: version, master pid, workers, config, listeners"""
    s = connect(sys.argv[1])
    op, body = call(s, INFO)
    assert op == 0x84, (op, body)
    sys.stdout.write(body.decode())


def case_admin_allow():
    """admin_allow: STATS/INFO forbidden from outside, PING works, errors_forbidden counts"""
    pa, px, p6, pt = sys.argv[1:5]
    forbidden = 0
    # From 127.0.0.2 (source bound explicitly) and from ::1: not admins.
    for host, port, src in (("127.0.0.2", px, "127.0.0.2"), ("::1", p6, None),
                            ("127.0.0.1", pa, "127.0.0.2")):
        s = connect(port, host, source=src)
        assert call(s, PING) == (0x81, b"PONG"), host
        for op in (STATS, INFO):
            assert call(s, op) == (0xFF, b"forbidden"), (host, op)
            forbidden += 1
        assert call(s, ECHO, b"after") == (0x82, b"after"), host
        s.close()
    # Text framing from 127.0.0.2: ERR forbidden.
    s = connect(pt, "127.0.0.2", source="127.0.0.2")
    buf = bytearray()
    s.sendall(b"STATS\nINFO\nPING\n")
    assert read_line(s, buf) == b"ERR forbidden"
    assert read_line(s, buf) == b"ERR forbidden"
    assert read_line(s, buf) == b"PONG"
    forbidden += 2
    s.close()
    # From 127.0.0.1, to the 127.0.0.2 listener: allowed.
    s = connect(px, "127.0.0.2", source="127.0.0.1")
    op, body = call(s, INFO)
    assert op == 0x84, (op, body)
    s.close()
    st = stats(pa)
    assert st["errors_forbidden"] == str(forbidden), (st["errors_forbidden"], forbidden)
    print("ok")


if __name__ == "__main__":
    case = globals()["case_" + sys.argv[1]]
    del sys.argv[1]
    case()
