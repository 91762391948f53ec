#!/usr/bin/env python3
"""ekkotest -- the one client library of the ekko tests (stdlib only).

The bats files and the scenario clients under tests/clients/ speak to
ekkod through this module: sockets (connect, exact reads, probes),
framing (line, length, fixed), the ekko protocol (SPEC 7: binary ops
and text commands), STATS (fetch, parse, the list of keys), HTTP to the
metrics listener (SPEC 10), free ports and waiting with a deadline.  Every read is bounded in time.

As a program it serves helper.bash:

  ekkotest.py free-ports N          N distinct free loopback ports
  ekkotest.py stats PORT            the STATS text of a command port
  ekkotest.py req PORT OP [PAYLOAD] one binary request: "0xOP payload"
  ekkotest.py roundtrip HOST PORT [IDLE]  stdin to the socket, then
                                    half-close; replies to stdout until
                                    EOF or IDLE seconds of silence
  ekkotest.py keys global|worker|state   the STATS keys (stats_keys.txt)
  ekkotest.py selftest              check the helpers that need no daemon
"""
import os
import socket
import struct
import sys
import time

PING, ECHO, STATS, INFO, QUIT = 1, 2, 3, 4, 5
ERR = 0xFF
TIMEOUT = 5.0
HERE = os.path.dirname(os.path.abspath(__file__))
KEYS_FILE = os.path.join(HERE, "stats_keys.txt")

# ---- reporting, for scenario clients -------------------------------

FAILS = []


def say(msg):
    """Print one line at once (the bats test shows it on failure)."""
    print(msg)
    sys.stdout.flush()


def fail(msg):
    """Record a failure; finish() then exits 1."""
    FAILS.append(msg)
    say("FAIL: " + msg)


def die(msg):
    """Fail at once: print "FAIL: msg" and exit 1."""
    say("FAIL: " + msg)
    sys.exit(1)


def finish():
    sys.exit(1 if FAILS else 0)


# ---- sockets -------------------------------------------------------


def connect(port, host="127.0.0.1", source=None, timeout=TIMEOUT,
            rcvbuf=0, nodelay=False):
    """A TCP connection to host:port (IPv4 or IPv6 by the address),
    optionally bound to a source address first."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if nodelay:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if source is not None:
            s.bind((source, 0))
        s.settimeout(timeout)
        s.connect((host, int(port)))
    except Exception:
        s.close()
        raise
    return s


def recv_n(s, n, wait):
    """Up to n bytes: (bytes, "" | "eof" | "timeout")."""
    d = bytearray()
    end = None if wait is None else time.monotonic() + wait
    while len(d) < n:
        if end is not None:
            left = end - time.monotonic()
            if left <= 0:
                return bytes(d), "timeout"
            s.settimeout(left)
        try:
            b = s.recv(min(n - len(d), 1 << 20))
        except socket.timeout:
            return bytes(d), "timeout"
        if not b:
            return bytes(d), "eof"
        d += b
    return bytes(d), ""


def recv_exact(s, n, wait=None):
    """Exactly n bytes; EOFError if the peer closes first, TimeoutError
    if wait seconds (default: the socket's timeout for each read) pass."""
    d, why = recv_n(s, n, wait)
    if why == "eof":
        raise EOFError("closed after %d of %d bytes" % (len(d), n))
    if why:
        raise TimeoutError("timed out after %d of %d bytes" % (len(d), n))
    return d


def recv_upto(s, n, wait):
    """Up to n bytes: fewer when the peer closes or wait seconds pass."""
    return recv_n(s, n, wait)[0]


def read_all(s, wait):
    """Everything until EOF/reset/wait seconds of silence:
    (bytes, eof|reset|open)."""
    out = b""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            return out, "open"
        except (ConnectionResetError, ConnectionAbortedError):
            return out, "reset"
        if not d:
            return out, "eof"
        out += d
    return out, "open"


def until_closed(s, wait):
    """What the peer does within wait seconds, without sending:
    eof | reset | data | open."""
    s.settimeout(wait)
    try:
        d = s.recv(65536)
    except socket.timeout:
        return "open"
    except (ConnectionResetError, ConnectionAbortedError):
        return "reset"
    return "eof" if d == b"" else "data"


def expect_eof(s, timeout=TIMEOUT):
    """The server closes: recv returns b"" (a reset counts as failure)."""
    s.settimeout(timeout)
    extra = s.recv(65536)
    assert extra == b"", "expected EOF, got %r" % extra


def probe(s, payload, wait=3.0):
    """Send payload, expect it echoed within wait seconds:
    echo | eof | reset | timeout | short | wrong."""
    try:
        s.settimeout(wait)
        s.sendall(payload)
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
        return "reset"
    except socket.timeout:
        return "timeout"
    got = b""
    end = time.monotonic() + wait
    while len(got) < len(payload):
        left = end - time.monotonic()
        if left <= 0:
            return "timeout"
        s.settimeout(left)
        try:
            d = s.recv(len(payload) - len(got))
        except socket.timeout:
            return "timeout"
        except (ConnectionResetError, ConnectionAbortedError):
            return "reset"
        if not d:
            return "eof" if not got else "short"
        got += d
    return "echo" if got == payload else "wrong"


def roundtrip(host, port, data, idle=3.0):
    """Send data, half-close, return what comes back until EOF or idle
    seconds of silence."""
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(idle)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        pass
    s.close()
    return out


# ---- framing (SPEC 6) ----------------------------------------------


def length_frame(payload):
    """A length-framed message: u32 big-endian length | payload."""
    return struct.pack(">I", len(payload)) + payload


def line_frame(payload, delim=b"\n"):
    return payload + delim


def read_line(s, buf, delim=b"\n", wait=TIMEOUT):
    """One line (without its delimiter) from s; buf is a bytearray of
    leftovers, kept between calls."""
    deadline = time.monotonic() + wait
    while delim not in buf:
        if time.monotonic() > deadline:
            raise TimeoutError("no full line, have %r" % bytes(buf))
        b = s.recv(65536)
        if not b:
            raise EOFError("closed, have %r" % bytes(buf))
        buf += b
    i = buf.index(delim)
    line = bytes(buf[:i])
    del buf[:i + len(delim)]
    return line


# ---- the ekko protocol (SPEC 7) ------------------------------------


def frame(op, payload=b""):
    """A binary request: u32 len (op + payload) | u8 op | payload."""
    return struct.pack(">IB", len(payload) + 1, op) + payload


def read_reply(s):
    """One binary reply: (op, payload)."""
    n, op = struct.unpack(">IB", recv_exact(s, 5))
    assert n >= 1, "reply length %d" % n
    return op, recv_exact(s, n - 1)


def call(s, op, payload=b""):
    """One binary request on an open connection: (reply op, payload)."""
    s.sendall(frame(op, payload))
    return read_reply(s)


request = call


def text_call(s, buf, line):
    """One text-mode command (line framing): the reply line."""
    s.sendall(line + b"\n")
    return read_line(s, buf)


def kv(text):
    """'key value' lines -> dict (value kept as text)."""
    if isinstance(text, bytes):
        text = text.decode()
    d = {}
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        d[k] = v
    return d


def stats_text(port, host="127.0.0.1"):
    """The STATS reply of a binary command port, as text."""
    s = connect(port, host)
    try:
        op, body = call(s, STATS)
    finally:
        s.close()
    if op != 0x83:
        raise RuntimeError("STATS reply 0x%02x %r" % (op, body))
    return body.decode()


def stats(where, host="127.0.0.1"):
    """STATS as a dict: where is a port (a new connection) or an open
    binary command connection."""
    if isinstance(where, socket.socket):
        op, body = call(where, STATS)
        if op != 0x83:
            raise RuntimeError("STATS: reply 0x%02x %r" % (op, body))
        return kv(body)
    return kv(stats_text(where, host))


def statnum(d, k):
    """A numeric STATS value; -1 when the key is missing."""
    return int(d.get(k, "-1"))


def stats_keys(kind="global"):
    """The STATS keys of tests/stats_keys.txt: kind global, worker (the
    part after worker.N.) or state (the worker states)."""
    out = []
    with open(KEYS_FILE) as f:
        for line in f:
            w = line.split("#", 1)[0].split()
            if len(w) == 2 and w[0] == kind:
                out.append(w[1])
    return out


# ---- HTTP, for the metrics listener (SPEC 10) ----------------------


def http_get(path="/metrics", method="GET", extra="", version="1.1"):
    """An HTTP request head (Host: only for 1.1); extra is header lines,
    each ending in CRLF."""
    host = "Host: 127.0.0.1\r\n" if version == "1.1" else ""
    return ("%s %s HTTP/%s\r\n%s%s\r\n" % (method, path, version, host,
            extra)).encode()


class HttpReader:
    """Responses, one at a time, from a socket; eof() once it closed."""

    def __init__(self, s):
        self.s, self.buf = s, b""

    def fill(self):
        b = self.s.recv(65536)
        if not b:
            raise EOFError("closed, have %r" % self.buf[:200])
        self.buf += b

    def response(self, head_only=False):
        """(status, {lower-case header: value}, body)."""
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = 0 if head_only else int(hdrs.get("content-length", "0"))
        while len(self.buf) < n:
            self.fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, hdrs, body

    def eof(self, timeout=TIMEOUT):
        """The server closes: nothing more, then EOF (or a reset)."""
        self.s.settimeout(timeout)
        try:
            extra = self.s.recv(65536)
        except ConnectionResetError:
            extra = b""
        assert extra == b"" and self.buf == b"", "more: %r" % extra[:100]


def scrape(port):
    """One GET /metrics on a new connection: the exposition text."""
    s = connect(port)
    s.sendall(http_get(extra="Connection: close\r\n"))
    st, h, body = HttpReader(s).response()
    s.close()
    assert st == 200, st
    return body.decode()


def samples(text):
    """Prometheus text: name{labels} -> float, for every sample line."""
    d = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            d[k] = float(v)
    return d


# ---- ports, processes, waiting -------------------------------------


def free_ports(n):
    """n distinct free TCP ports on loopback, chosen by the kernel: all
    are held open at once while it picks them."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def wait_for(pred, wait, step=0.05):
    """Call pred until it returns true or wait seconds pass; its last
    value."""
    end = time.monotonic() + wait
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def proc_status(pid, key):
    """A numeric field of /proc/PID/status (kB for Vm*), -1 if absent."""
    with open("/proc/%d/status" % int(pid)) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks."""
    with open("/proc/%d/stat" % int(pid)) as f:
        st = f.read().rsplit(")", 1)[1].split()
    return int(st[11]) + int(st[12])


def cpu_s(pid):
    """utime + stime of a process, in seconds."""
    return cpu_ticks(pid) / os.sysconf("SC_CLK_TCK")


# ---- the command line, for helper.bash -----------------------------


def selftest():
    """The helpers that need no daemon (tests/lib.bats)."""
    p = free_ports(5)
    assert len(set(p)) == 5 and all(0 < x < 65536 for x in p), p
    assert frame(PING) == b"\x00\x00\x00\x01\x01"
    assert frame(ECHO, b"ab") == b"\x00\x00\x00\x03\x02ab"
    assert length_frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert line_frame(b"x", b"\r\n") == b"x\r\n"
    assert kv(b"a 1\nb two words\n") == {"a": "1", "b": "two words"}
    assert statnum({"a": "7"}, "a") == 7 and statnum({}, "a") == -1
    assert "errors_nomem" in stats_keys("global")
    assert "heartbeat_age" in stats_keys("worker")
    assert wait_for(lambda: 3, 0.1) == 3
    assert wait_for(lambda: 0, 0.1) == 0
    assert http_get("/x", "HEAD", "A: b\r\n") == \
        b"HEAD /x HTTP/1.1\r\nHost: 127.0.0.1\r\nA: b\r\n\r\n"
    assert samples("# HELP a x\na 1\nb{k=\"v w\"} 2.5\n") == \
        {"a": 1.0, 'b{k="v w"}': 2.5}
    print("ok")


def main(a):
    if a[0] == "free-ports":
        print("\n".join(str(p) for p in free_ports(int(a[1]))))
    elif a[0] == "stats":
        sys.stdout.write(stats_text(a[1]))
    elif a[0] == "req":
        payload = a[3].encode() if len(a) > 3 else b""
        s = connect(a[1])
        op, body = call(s, int(a[2], 0), payload)
        s.close()
        print("0x%02x %s" % (op, body.decode(errors="replace")))
    elif a[0] == "roundtrip":
        idle = float(a[3]) if len(a) > 3 else 3.0
        data = sys.stdin.buffer.read()
        sys.stdout.buffer.write(roundtrip(a[1], a[2], data, idle))
    elif a[0] == "keys":
        print("\n".join(stats_keys(a[1])))
    elif a[0] == "selftest":
        selftest()
    else:
        sys.exit("ekkotest.py: unknown command %s" % a[0])


if __name__ == "__main__":
    main(sys.argv[1:])
