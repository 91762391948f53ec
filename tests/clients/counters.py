#!/usr/bin/env python3
"""counters.py -- clients for tests/counters.bats: every loop bounded in
count and time; exit 1 on a "FAIL:" line.

  python3 counters.py churn PORT N | perip PORT LIMIT |
                      hold PORT K READYFILE RELEASEFILE
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ekkotest import connect  # noqa: E402


def echo_once(port, timeout=3.0):
    """One connection: 'hi' echoed (True) or dropped by the server."""
    s = connect(port, timeout=timeout)
    try:
        s.sendall(b"hi\n")
        d = b""
        while not d.endswith(b"\n"):
            b = s.recv(64)
            if not b:
                return None, s
            d += b
        return d == b"hi\n", s
    except (ConnectionResetError, socket.timeout):
        return None, s


def churn(port, n):
    """n connections one after another; how many were served."""
    served = dropped = 0
    for _ in range(int(n)):
        ok, s = echo_once(port)
        s.close()
        if ok:
            served += 1
        else:
            dropped += 1
    print("served %d dropped %d" % (served, dropped))


def perip(port, limit):
    """limit connections all echo; one more is refused (closed)."""
    held, fails = [], 0
    for i in range(int(limit)):
        ok, s = echo_once(port)
        held.append(s)
        if not ok:
            print("FAIL: connection %d of %s not served" % (i + 1, limit))
            fails += 1
    ok, s = echo_once(port)
    held.append(s)
    if ok:
        print("FAIL: connection %d over the limit served" % (int(limit) + 1))
        fails += 1
    for s in held:
        s.close()
    print("perip %s: %s" % (limit, "ok" if not fails else "failed"))
    sys.exit(1 if fails else 0)


def hold(port, k, ready, release):
    """Hold k echoing connections until file release exists (20 s)."""
    held = []
    for i in range(int(k)):
        ok, s = echo_once(port)
        held.append(s)
        if not ok:
            print("FAIL: held connection %d not served" % (i + 1))
            sys.exit(1)
    open(ready, "w").close()
    for _ in range(200):
        if os.path.exists(release):
            break
        time.sleep(0.1)
    for s in held:
        s.close()


cmd, args = sys.argv[1], sys.argv[2:]
{"churn": churn, "perip": perip, "hold": hold}[cmd](*args)
