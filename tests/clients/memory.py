#!/usr/bin/env python3
"""memory.py -- clients for tests/memory.bats: how input buffers grow,
huge frame headers, and the daemon-wide budget limits.max_memory.

  python3 memory.py growth|header_after_pause|fixed_byte|budget|over_share|
      echo_whole|stuck_wait ARGS...

Each prints what it measured; on a failure it prints "FAIL: ..." and
exits 1.
"""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ekkotest import (connect as _connect, cpu_ticks, die,  # noqa: E402
                      proc_status, recv_upto, say, statnum, stats)

fail = die


def connect(port, rcvbuf=0, timeout=60.0):
    return _connect(port, rcvbuf=rcvbuf, timeout=timeout)


def status_kb(pid, key):
    return proc_status(pid, key)


def recv_exact(s, n, wait=60.0):
    """Up to n bytes (fewer at EOF or after wait seconds)."""
    return recv_upto(s, n, wait)


def stats_within(cport, wait):
    """STATS over a connection that waits up to wait s for its reply."""
    s = connect(cport, timeout=wait)
    try:
        return stats(s)
    finally:
        s.close()


def echo_cost(pid, port, msg):
    """Worker CPU ticks to echo msg (sender thread, reader here)."""
    s = connect(port)
    t0 = cpu_ticks(pid)
    th = threading.Thread(target=s.sendall, args=(msg,))
    th.start()
    got = recv_exact(s, len(msg))
    th.join(60)
    t1 = cpu_ticks(pid)
    s.close()
    if got != msg:
        fail("echo of %d bytes came back as %d bytes" % (len(msg), len(got)))
    return t1 - t0


def cmd_growth(pid, lport, fport, maxf):
    pid, maxf = int(pid), int(maxf)
    frame = struct.pack(">I", maxf) + b"F" * maxf
    line = b"L" * maxf + b"\n"
    echo_cost(pid, fport, frame)        # warm-up: heap, page faults
    fcost = echo_cost(pid, fport, frame)
    lcost = echo_cost(pid, lport, line)
    say("worker CPU ticks: length frame %d, line %d (of %d bytes)" %
        (fcost, lcost, maxf))
    if lcost > 3 * fcost + 30:
        fail("a line costs %d ticks, a length frame %d" % (lcost, fcost))


def cmd_header_after_pause(pid, cport):
    """Command port: an ECHO whose reply the socket cannot take pauses
    reading; a header announcing 0xfffffff0 bytes sits right behind it."""
    pid = int(pid)
    base = status_kb(pid, "VmSize")
    s = connect(cport, rcvbuf=4096)
    payload = b"e" * 200000
    data = struct.pack(">IB", len(payload) + 1, 2) + payload + \
        b"\xff\xff\xff\xf0\x02"
    os.kill(pid, 19)                    # SIGSTOP: one read gets it all
    try:
        s.sendall(data)
        time.sleep(0.5)
    finally:
        os.kill(pid, 18)                # SIGCONT
    time.sleep(1.0)
    vm = status_kb(pid, "VmSize")
    rss = status_kb(pid, "VmRSS")
    say("worker VmSize %d kB before, %d kB after; VmRSS %d kB" %
        (base, vm, rss))
    s.close()
    if vm > base + 64 * 1024:
        fail("VmSize grew by %d kB" % (vm - base))


def cmd_fixed_byte(pid, port, nconn, frame_size):
    """Many connections each send one byte of a huge fixed frame; then
    one of them completes its frame and gets it back."""
    pid, nconn, fs = int(pid), int(nconn), int(frame_size)
    base = status_kb(pid, "VmSize")
    conns = [connect(port) for _ in range(nconn)]
    for s in conns:
        s.sendall(b"x")
    time.sleep(1.0)
    vm = status_kb(pid, "VmSize")
    say("worker VmSize %d kB before, %d kB after %d one-byte frames" %
        (base, vm, nconn))
    if vm > base + 64 * 1024:
        fail("VmSize grew by %d kB" % (vm - base))
    for i, s in enumerate(conns):
        s.settimeout(0.05)
        try:
            if s.recv(1) == b"":
                fail("connection %d closed by the server" % i)
        except socket.timeout:
            pass
    s = conns[0]
    s.settimeout(30)
    rest = b"y" * (fs - 1)
    th = threading.Thread(target=s.sendall, args=(rest,))
    th.start()
    got = recv_exact(s, fs)
    th.join(30)
    if got != b"x" + rest:
        fail("the completed frame came back as %d bytes" % len(got))
    say("a %d-byte frame completed and echoed" % fs)
    for s in conns:
        s.close()


def daemon_rss_kb(pids):
    total = 0
    for p in pids:
        try:
            total += status_kb(p, "VmRSS")
        except OSError:
            pass
    return total


def cmd_budget(eport, cport, nconn, budget, *pids):
    """nconn peers send and never read; the daemon stays within budget
    while a polite client is still answered."""
    pids = [int(p) for p in pids]
    nconn, budget = int(nconn), int(budget)
    base = daemon_rss_kb(pids)
    hogs = []
    chunk = b"h" * 65536
    end = time.monotonic() + 30
    for i in range(nconn):
        if time.monotonic() > end:
            fail("connecting %d hogs took over 30 s" % nconn)
        s = connect(eport, rcvbuf=4096)
        s.setblocking(False)
        try:
            s.send(chunk)
        except BlockingIOError:
            pass
        hogs.append(s)
    peak = base
    polite = None
    t0 = time.monotonic()
    while time.monotonic() - t0 < 4.0:
        for s in hogs:      # keep pushing what the daemon will take
            try:
                s.send(chunk)
            except (BlockingIOError, OSError):
                pass
        peak = max(peak, daemon_rss_kb(pids))
        if polite is None and time.monotonic() - t0 > 1.0:
            # Answered at all is the point; how fast is bench's business
            # (under ASan on a busy host this took 8.6 s once).
            p = connect(eport, timeout=30)
            p0 = time.monotonic()
            p.sendall(b"polite\n")
            got = recv_exact(p, 7, 30)
            polite = time.monotonic() - p0
            p.close()
            if got != b"polite\n":
                fail("the polite client got %r" % got)
        time.sleep(0.1)
    limit = base + budget // 1024 + 16 * 1024
    say("daemon RSS: %d kB idle, peak %d kB with %d hogs (limit %d kB); "
        "polite echo in %.2f s" % (base, peak, nconn, limit, polite))
    # ASan's shadow and quarantine make RSS say nothing of ours.
    if peak > limit and not os.environ.get("EKKO_SANITIZE"):
        fail("RSS peak %d kB over %d kB" % (peak, limit))
    # While the hogs' unread bytes keep its worker at its share, STATS
    # waits for memory like any reader: as patient as the polite client
    # (under ASan this took over 5 s once; 0.9 s without it).
    st = stats_within(cport, 30)
    em = statnum(st, "errors_memory")
    say("errors_memory %d, errors_timeout_write %d, errors_nomem %d" %
        (em, statnum(st, "errors_timeout_write"),
         statnum(st, "errors_nomem")))
    if em < 1:
        fail("errors_memory is %d" % em)
    for s in hogs:
        s.close()


def still_serving(port, cport, within):
    """After a close for memory: a small length frame on port still comes
    back; returns errors_memory from STATS on cport."""
    p = connect(port, timeout=within)
    p.sendall(struct.pack(">I", 5) + b"after")
    got = recv_exact(p, 9, within)
    p.close()
    if got != struct.pack(">I", 5) + b"after":
        fail("a small frame after it came back as %r" % got)
    em = statnum(stats_within(cport, within), "errors_memory")
    say("errors_memory %d" % em)
    return em


def cmd_over_share(port, cport, size, within):
    """A length frame of size bytes, more than the worker's max_memory
    share lets one connection hold, is closed within `within` s (not
    after write_timeout), counted in errors_memory, and the worker goes
    on echoing."""
    size, within = int(size), float(within)
    s = connect(port, timeout=within)
    s.setblocking(False)
    data = struct.pack(">I", size) + b"m" * size
    t0 = time.monotonic()
    sent, closed = 0, False
    while time.monotonic() - t0 < within and not closed:
        try:
            if sent < len(data):
                sent += s.send(data[sent:sent + 65536])
            else:
                time.sleep(0.01)
            closed = s.recv(1) == b""
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:     # reset: closed too
            closed = True
    took = time.monotonic() - t0
    s.close()
    say("sent %d of %d bytes; closed: %s after %.2f s" %
        (sent, len(data), closed, took))
    if not closed:
        fail("still open after %.1f s" % within)
    if still_serving(port, cport, within) != 1:
        fail("errors_memory is not 1")


def cmd_echo_whole(port, size, within):
    """A length frame of size bytes comes back whole within `within` s."""
    size, within = int(size), float(within)
    s = connect(port, timeout=within)
    msg = struct.pack(">I", size) + b"k" * size
    th = threading.Thread(target=s.sendall, args=(msg,))
    th.start()
    got = recv_exact(s, len(msg), within)
    th.join(within)
    s.close()
    say("a frame of %d bytes: %d came back" % (size, len(got)))
    if got != msg:
        fail("the frame came back as %d bytes" % len(got))


def cmd_stuck_wait(port, cport, size, nconn, within):
    """nconn connections each send all but the last byte of a length
    frame of size bytes, so that together they hold more than the
    worker's share and at least one must wait for memory that only the
    others could give back.  With frame_timeout and idle_timeout off,
    only write_timeout can end that wait: a connection is closed within
    `within` s, counted in errors_memory, and the worker goes on
    echoing."""
    size, nconn, within = int(size), int(nconn), float(within)
    data = struct.pack(">I", size) + b"w" * (size - 1)
    socks = [connect(port, timeout=within) for _ in range(nconn)]
    sent = [0] * nconn
    for s in socks:
        s.setblocking(False)
    t0 = time.monotonic()
    closed = set()
    while time.monotonic() - t0 < within and not closed:
        for i, s in enumerate(socks):
            try:
                if sent[i] < len(data):
                    sent[i] += s.send(data[sent[i]:sent[i] + 16384])
                if s.recv(1) == b"":
                    closed.add(i)
            except BlockingIOError:
                pass
            except OSError:     # reset: closed too
                closed.add(i)
        time.sleep(0.005)
    took = time.monotonic() - t0
    say("sent %s of %d bytes each; closed %s after %.2f s" %
        (sent, len(data), sorted(closed), took))
    if not closed:
        fail("no connection closed within %.1f s" % within)
    if still_serving(port, cport, within) < 1:
        fail("errors_memory is 0")
    for s in socks:
        s.close()


cmds = {"growth": cmd_growth, "header_after_pause": cmd_header_after_pause,
        "fixed_byte": cmd_fixed_byte, "budget": cmd_budget,
        "over_share": cmd_over_share, "echo_whole": cmd_echo_whole,
        "stuck_wait": cmd_stuck_wait}
cmds[sys.argv[1]](*sys.argv[2:])
