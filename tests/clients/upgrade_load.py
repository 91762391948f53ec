#!/usr/bin/env python3
"""A verifying load for the upgrade tests: short connections arriving
continuously plus long-lived connections exchanging messages, against a
raw echo port, until STOPFILE exists (or MAX seconds pass).  Prints one
line of counts: connects, failed connects, resets, wrong bytes, and the
long-lived sessions started and completed.

usage: upgrade_load.py HOST PORT STOPFILE [MAX_SECONDS]
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ekkotest import recv_exact  # noqa: E402

HOST, PORT, STOPFILE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
MAX = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
DEADLINE = time.monotonic() + MAX
EXCHANGES = 40          # per long-lived session, 25 ms apart: ~1 s
counts = {"connects": 0, "connect_failed": 0, "resets": 0, "wrong": 0,
          "timeouts": 0, "sessions": 0, "sessions_done": 0}
lock = threading.Lock()


def count(key, n=1):
    with lock:
        counts[key] += n


def running():
    return not os.path.exists(STOPFILE) and time.monotonic() < DEADLINE


def exchange(s, msg):
    """Send msg, read it back; count what went wrong.  True if right."""
    try:
        s.sendall(msg)
        got = recv_exact(s, len(msg))
    except socket.timeout:
        count("timeouts")
        return False
    except (ConnectionResetError, BrokenPipeError, EOFError):
        count("resets")
        return False
    if got != msg:
        count("wrong")
        return False
    return True


def connect():
    try:
        s = socket.create_connection((HOST, PORT), timeout=5)
    except OSError:
        count("connect_failed")
        return None
    count("connects")
    return s


def short_client(tag):
    i = 0
    while running():
        s = connect()
        if s is None:
            time.sleep(0.01)
            continue
        exchange(s, b"short %d %d\n" % (tag, i))
        s.close()
        i += 1


def long_client(tag):
    i = 0
    while running():
        s = connect()
        if s is None:
            time.sleep(0.01)
            continue
        count("sessions")
        ok = True
        for k in range(EXCHANGES):
            if not exchange(s, b"long %d %d %d\n" % (tag, i, k)):
                ok = False
                break
            time.sleep(0.025)
        s.close()
        if ok:
            count("sessions_done")
        i += 1


def main():
    threads = [threading.Thread(target=short_client, args=(t,))
               for t in range(3)]
    threads += [threading.Thread(target=long_client, args=(t,))
                for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())),
          flush=True)


main()
