#!/usr/bin/env python3
"""tools.py -- small background helpers of the bats tests, each bounded
in time.

  tools.py listen FILE [accept]   listen on a free loopback port, write it
                                  to FILE (atomically); hold it 60 s,
                                  accepting and never answering with
                                  "accept" (a silent server)
  tools.py stuck-fifo PATH        make fifo PATH, hold it open for 30 s
                                  and never read (pipe shrunk to a page);
                                  PATH.ready once it is open
  tools.py refused-flood PORT SECS   connect, wait for close, repeat
  tools.py echo-rounds PORT N     N one-line round trips, one connection
                                  each, every one answered within 2 s
  tools.py hold-echoed PORT N     N connections, each echoing "hello"
                                  once; print "ready"; hold them until
                                  stdin closes
  tools.py can-connect HOST PORT  exit 0 if something accepts there
  tools.py hold-lock PATH PID|self write|read   hold locks on PATH (see
                                  pidfile.bats); print own pid; 60 s
"""
import fcntl
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ekkotest import connect, recv_exact  # noqa: E402


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def cmd_listen(path, mode="hold"):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16 if mode == "accept" else 5)
    write_atomic(path, "%d\n" % s.getsockname()[1])
    if mode != "accept":
        time.sleep(60)
        return
    held = []
    s.settimeout(1)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            held.append(s.accept()[0])
        except socket.timeout:
            pass


# What a hostile server answers each command op with: text that would
# drive a terminal (OSC title, colour, clear screen, a raw C1 CSI and a
# UTF-8 encoded one), in keys and in values.
HOSTILE = {
    3: b"uptime 5\x1b]0;pwned\x07\nerrors_\x1b[2Jx 1\n"
       b"worker.0.state \x1b[31mserving\xc2\x9b0m\nworker.0.pid 7\x9b\n",
    4: b"version 1.0\x1b[2J\npid 7\n",
    6: b"draining\x1b]0;pwned\x07\x1b[2J",
}


def cmd_hostile(path):
    """A command port whose every reply carries terminal escapes: the
    client must not pass a control byte of it to the terminal."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    write_atomic(path, "%d\n" % s.getsockname()[1])
    s.settimeout(1)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            c = s.accept()[0]
        except socket.timeout:
            continue
        c.settimeout(5)
        try:
            while True:
                hdr = c.recv(5, socket.MSG_WAITALL)
                if len(hdr) < 5:
                    break
                n = struct.unpack(">I", hdr[:4])[0]
                if n > 1:
                    c.recv(n - 1, socket.MSG_WAITALL)
                text = HOSTILE.get(hdr[4], b"\x1b[2J")
                c.sendall(struct.pack(">IB", len(text) + 1, hdr[4] | 0x80)
                          + text)
        except OSError:
            pass
        c.close()


def cmd_stuck_fifo(path):
    os.mkfifo(path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ
    open(path + ".ready", "w").close()
    time.sleep(30)


def cmd_refused_flood(port, secs):
    end = time.time() + float(secs)
    while time.time() < end:
        try:
            s = connect(port, timeout=1)
            s.recv(1)
            s.close()
        except OSError:
            pass


def cmd_echo_rounds(port, n):
    for i in range(int(n)):
        s = connect(port, timeout=2)
        got = b""
        s.sendall(b"hello %d\n" % i)
        while not got.endswith(b"\n"):
            b = s.recv(100)
            if not b:
                break
            got += b
        s.close()
        if got != b"hello %d\n" % i:
            sys.exit("round trip %d: %r" % (i, got))


def cmd_hold_echoed(port, n):
    conns = []
    for i in range(int(n)):
        s = connect(port, timeout=10)
        s.sendall(b"hello")
        recv_exact(s, 5)
        conns.append(s)
    print("ready", flush=True)
    sys.stdin.read()


def cmd_can_connect(host, port):
    try:
        connect(port, host, timeout=2).close()
    except OSError:
        sys.exit(1)


def cmd_hold_lock(path, pid, mode="write"):
    if mode == "read":
        fd = os.open(path, os.O_RDONLY)
        fcntl.lockf(fd, fcntl.LOCK_SH)
    else:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, (str(os.getpid()) if pid == "self" else pid).encode() +
                 b"\n")
        # both kinds of lock, so that neither check can be fooled
        fcntl.flock(fd, fcntl.LOCK_EX)
        fcntl.lockf(fd, fcntl.LOCK_EX)
    print(os.getpid(), flush=True)
    time.sleep(60)


def main(a):
    fn = globals().get("cmd_" + a[0].replace("-", "_"))
    if fn is None:
        sys.exit("tools.py: unknown command %s" % a[0])
    fn(*a[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
