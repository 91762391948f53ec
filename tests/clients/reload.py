#!/usr/bin/env python3
"""reload.py CASE ARGS... -- connections of tests/reload.bats that live
across a reload (framing changed, listeners added); asserts exit 1."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ekkotest import (INFO, call, connect, recv_exact)  # noqa: E402


def case_old_conn_raw():
    """(c) framing raw -> line on the same port: old connection stays raw, new gets line"""
    s = connect(sys.argv[1])
    # Raw before the reload: no newline needed.
    s.sendall(b"before")
    assert recv_exact(s, 6) == b"before"
    open(sys.argv[3], "w").write("connected\n")
    for _ in range(300):                # wait (bounded) for the reload
        if os.path.exists(sys.argv[2]):
            break
        time.sleep(0.1)
    s.sendall(b"no newline")
    got = recv_exact(s, 10)
    assert got == b"no newline", got
    s.sendall(b"x")
    assert recv_exact(s, 1) == b"x"
    s.close()
    print("old ok")


def case_new_conn_line():
    """(c) framing raw -> line on the same port: old connection stays raw, new gets line"""
    s = connect(sys.argv[1])
    s.sendall(b"abc")
    s.settimeout(0.5)
    try:
        early = s.recv(100)
    except socket.timeout:
        early = None
    assert early is None, "line framing answered before the newline: %r" % early
    s.settimeout(5)
    s.sendall(b"def\n")
    assert recv_exact(s, 7) == b"abcdef\n"
    print("new ok")


def case_info_listeners():
    """(d) added listener is bound and served, removed listener is closed"""
    s = connect(sys.argv[1])
    op, body = call(s, INFO)
    sys.stdout.write(body.decode())


if __name__ == "__main__":
    case = globals()["case_" + sys.argv[1]]
    del sys.argv[1]
    case()
