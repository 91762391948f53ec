#!/usr/bin/env python3
"""accept.py -- clients for tests/accept.bats.

  accept.py hold PORTS N SECS    N connections to each port of PORTS
                                 (comma separated), one line sent on each;
                                 print "queued"; read every echo within
                                 SECS, print "echoed K"; hold all until
                                 stdin closes
  accept.py shutdown PID PORT    shut down (SHUT_RD) the listening socket
                                 of process PID on PORT from outside, as a
                                 broken or hostile environment might:
                                 accept on it then fails with EINVAL
  accept.py churn PORT N SECS    hold N connections, then for SECS close
                                 the oldest and open a new one; print the
                                 number of churns
"""
import ctypes
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ekkotest import connect  # noqa: E402


def cmd_hold(ports, n, limit):
    ports = [int(p) for p in ports.split(",")]
    n, limit = int(n), float(limit)
    conns = []
    for p in ports:
        for i in range(n):
            s = connect(p)
            s.sendall(b"hello\n")
            s.setblocking(False)
            conns.append(s)
    print("queued", flush=True)
    left, got, end = set(conns), {}, time.time() + limit
    while left and time.time() < end:
        r, _, _ = select.select(list(left), [], [], 0.2)
        for s in r:
            try:
                b = s.recv(64)
            except OSError:
                b = b""
            got[s] = got.get(s, b"") + b
            if not b or got[s].endswith(b"\n"):
                left.discard(s)
    print("echoed", sum(1 for v in got.values() if v == b"hello\n"),
          flush=True)
    sys.stdin.read()


def cmd_shutdown(pid, port):
    pid, port = int(pid), int(port)
    libc = ctypes.CDLL(None, use_errno=True)
    pfd = os.pidfd_open(pid)
    for name in os.listdir("/proc/%d/fd" % pid):
        fd = libc.syscall(438, pfd, int(name), 0)     # pidfd_getfd
        if fd < 0:
            sys.exit("pidfd_getfd: %s" % os.strerror(ctypes.get_errno()))
        try:
            s = socket.socket(fileno=fd)
        except OSError:
            os.close(fd)
            continue
        try:
            if s.type == socket.SOCK_STREAM and s.getsockname()[1] == port:
                s.shutdown(socket.SHUT_RD)
                print("shut", flush=True)
                sys.exit(0)
        except OSError:
            pass
        s.detach()
        os.close(fd)
    sys.exit("no listener on port %d" % port)


def cmd_churn(port, n, secs):
    port, n, secs = int(port), int(n), float(secs)
    conns = [connect(port) for _ in range(n)]
    end, churns = time.time() + secs, 0
    while time.time() < end and churns < 5000:
        conns.pop(0).close()
        conns.append(connect(port))
        churns += 1
        time.sleep(0.005)
    print(churns)


if __name__ == "__main__":
    globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
