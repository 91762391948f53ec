#!/usr/bin/env python3
"""echo.py -- echo-mode clients for echo.bats, cli.bats and process.bats.

  python3 echo.py MODE ARGS...

Exit 0 when every byte came back as expected, else 1 with the
difference ("FAIL: ...").  Modes: bytewise, batch, halfclose, toolarge,
textbook, many, quit_mid, hold (see each cmd_MODE).
"""
import os
import random
import select
import selectors
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ekkotest import connect, die, recv_n, stats  # noqa: E402

TMO = 10.0


def conn(host, port, nodelay=False):
    return connect(port, host, timeout=TMO, nodelay=nodelay)


def recv_exact(s, n, what="reply"):
    """Exactly n bytes within TMO seconds, else FAIL naming what."""
    d, why = recv_n(s, n, TMO)
    if why:
        die("%s: %s after %d of %d bytes: %s" % (
            what, "EOF" if why == "eof" else "timed out", len(d), n,
            show(d)))
    return d

def show(b, n=80):
    return repr(b[:n]) + ("...(%d bytes)" % len(b) if len(b) > n else "")


def recv_to_eof(s, what="reply"):
    """Everything until EOF; dies on timeout (EOF never came)."""
    d = b""
    deadline = time.monotonic() + TMO
    while True:
        if time.monotonic() > deadline:
            die("%s: no EOF within %ds; got %s" % (what, TMO, show(d)))
        try:
            b = s.recv(65536)
        except socket.timeout:
            die("%s: no EOF within %ds; got %s" % (what, TMO, show(d)))
        except ConnectionResetError:
            die("%s: connection reset (RST) instead of EOF after %s"
                % (what, show(d)))
        if not b:
            return d
        d += b


def nothing_for(s, secs, what):
    """Assert that nothing arrives on s within secs (no partial echo)."""
    r, _, _ = select.select([s], [], [], secs)
    if r:
        try:
            b = s.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        die("%s: unexpected bytes %s" % (what, show(b)))


def unesc(x):
    return x.encode().decode("unicode_escape").encode("latin-1")


class Framing:
    """framing name plus parameter: line DELIM | fixed SIZE | length | raw"""

    def __init__(self, args):
        self.kind = args.pop(0)
        self.delim = b"\n"
        self.size = 0
        if self.kind == "line":
            self.delim = unesc(args.pop(0))
        elif self.kind == "fixed":
            self.size = int(args.pop(0))

    def wrap(self, payload):
        if self.kind == "line":
            return payload + self.delim
        if self.kind == "length":
            return struct.pack(">I", len(payload)) + payload
        return payload

    def payload(self, rnd, n):
        if self.kind == "fixed":
            n = self.size
        p = bytes(rnd.getrandbits(8) for _ in range(n))
        if self.kind == "line":
            # no delimiter inside; keep CR/LF bytes that are not one
            while self.delim in p:
                p = p.replace(self.delim, b"x")
            # a payload ending in a delimiter prefix is fine for "\n"
            # framing but would make a "\r\n" frame end early only if the
            # prefix plus delimiter contains the delimiter twice: it
            # cannot, the first match is the real end.
        return p

    def split(self, data):
        """Cut a reply stream into messages the way the server must."""
        out = []
        while data:
            if self.kind == "line":
                i = data.find(self.delim)
                if i < 0:
                    break
                n = i + len(self.delim)
            elif self.kind == "length":
                if len(data) < 4:
                    break
                n = 4 + struct.unpack(">I", data[:4])[0]
            elif self.kind == "fixed":
                n = self.size
            else:
                n = len(data)
            if len(data) < n:
                break
            out.append(data[:n])
            data = data[n:]
        return out, data

    def samples(self):
        """Hand-picked messages for the byte-at-a-time test."""
        if self.kind == "raw":
            return [b"hello", b"\x00\xff\r\n\n", "h\u00e9llo \u2603".encode()]
        if self.kind == "fixed":
            base = b"0123456789abcdefghijklmnopqrstuvwxyz\r\n\x00\xff" * 4
            return [base[i:i + self.size] for i in range(0, 3 * self.size,
                                                         self.size)]
        if self.kind == "length":
            return [self.wrap(p) for p in
                    (b"", b"a", b"\x00\x00\x00\x04abcd", b"line\n" * 20,
                     "h\u00e9llo".encode())]
        msgs = [b"hello", b"", "h\u00e9llo \u2603".encode(), b"tab\there"]
        if self.delim == b"\r\n":
            msgs += [b"lone\rcr", b"lone\nlf", b"ends in cr\r", b"\n"]
        else:
            msgs += [b"with\rcr"]
        if len(self.delim) > 1:
            msgs.append(self.delim[:-1] + b"partial delimiter")
        return [self.wrap(p) for p in msgs]


def cmd_bytewise(a):
    """Send each sample one byte per send (TCP_NODELAY, small sleeps);
    framed: nothing may come back before the message is complete, then
    exactly the message; raw: every byte comes back as it is sent."""
    host, port = a.pop(0), a.pop(0)
    f = Framing(a)
    s = conn(host, port, nodelay=True)
    for m in f.samples():
        for i in range(len(m)):
            s.sendall(m[i:i + 1])
            if f.kind == "raw":
                got = recv_exact(s, 1, "raw byte %d of %r" % (i, m))
                if got != m[i:i + 1]:
                    die("raw byte %d of %r: got %r" % (i, m, got))
                continue
            time.sleep(0.002)
            if i < len(m) - 1:
                nothing_for(s, 0.3 if i == len(m) - 2 else 0,
                            "partial message %r after %d bytes" % (m, i + 1))
        if f.kind != "raw":
            got = recv_exact(s, len(m), "echo of %r" % m)
            if got != m:
                die("echo of %r: got %r" % (m, got))
    nothing_for(s, 0.2, "after the last message")
    s.close()
    print("ok")


def sender(s, chunks):
    import threading

    def run():
        try:
            for c in chunks:
                s.sendall(c)
        except OSError as e:
            sys.stderr.write("send: %s\n" % e)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def cmd_batch(a):
    """COUNT messages sent in one send (or cut at random places), read
    back: the stream is the same bytes, and cut with the framing it is
    exactly the same messages in the same order."""
    host, port, how, count = a.pop(0), a.pop(0), a.pop(0), int(a.pop(0))
    f = Framing(a)
    rnd = random.Random(int(port) * 7 + count)
    msgs = [f.wrap(f.payload(rnd, rnd.choice((0, 1, 2, 5, 17, 100, 300))))
            for _ in range(count)]
    data = b"".join(msgs)
    if how == "one":
        chunks = [data]
    else:
        chunks, i = [], 0
        while i < len(data):
            n = rnd.randint(1, 700)
            chunks.append(data[i:i + n])
            i += n
    s = conn(host, port, nodelay=True)
    t = sender(s, chunks)
    got = recv_exact(s, len(data), "%d messages" % count)
    t.join(TMO)
    if got != data:
        i = next(k for k in range(len(data)) if got[k] != data[k])
        die("stream differs at byte %d: sent %s got %s" % (
            i, show(data[i:]), show(got[i:])))
    if f.kind != "raw":
        back, rest = f.split(got)
        if back != msgs or rest:
            die("replies are not the %d messages (%d back)" % (count,
                len(back)))
    s.shutdown(socket.SHUT_WR)
    extra = recv_to_eof(s, "after the batch")
    if extra:
        die("extra bytes after the batch: %s" % show(extra))
    print("ok %d messages %d bytes" % (count, len(data)))


def cmd_halfclose(a):
    """Complete messages plus an optional partial one, then
    shutdown(SHUT_WR): every complete message comes back, then EOF."""
    host, port, partial = a.pop(0), a.pop(0), a.pop(0) == "partial"
    f = Framing(a)
    rnd = random.Random(5)
    msgs = [f.wrap(f.payload(rnd, n)) for n in (3, 0, 40, 7, 1000)]
    if f.kind == "raw":
        msgs = [b"first ", b"second ", b"third"]
    data = b"".join(msgs)
    tail = b""
    if partial:
        tail = {"line": b"no delimiter yet",
                "length": struct.pack(">I", 10) + b"abc",
                "fixed": b"x" * max(f.size - 1, 0),
                "raw": b""}[f.kind]
    s = conn(host, port)
    s.sendall(data + tail)
    s.shutdown(socket.SHUT_WR)
    got = recv_to_eof(s)
    if got != data:
        die("half-close: expected %s got %s" % (show(data), show(got)))
    print("ok")


def cmd_toolarge(a):
    """Two good messages, then a frame over max_frame: the two replies,
    then EOF."""
    host, port, maxf = a.pop(0), a.pop(0), int(a.pop(0))
    f = Framing(a)
    good = [f.wrap(b"one"), f.wrap(b"two")]
    if f.kind == "line":
        bad = b"y" * (maxf + 50)
    else:
        bad = struct.pack(">I", maxf + 1)
    s = conn(host, port, nodelay=True)
    s.sendall(b"".join(good) + bad)
    got = recv_to_eof(s)
    if got != b"".join(good):
        die("too large: expected the owed replies %s then EOF; got %s"
            % (show(b"".join(good)), show(got)))
    print("ok")


def cmd_textbook(a):
    """The textbook Python echo client, unchanged."""
    host, port = a[0], int(a[1])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(TMO)
        s.connect((host, port))
        s.sendall(b'Hello, world')
        data = s.recv(1024)
    print('Received', repr(data))


def cmd_many(a):
    """N clients at once, each with its own bytes; each gets exactly its
    own bytes back.  All connect first, then all send, then all read."""
    host, port, n = a[0], int(a[1]), int(a[2])
    framing = a[3] if len(a) > 3 else "raw"
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        s.setblocking(False)
        s.connect_ex((host, port))
        socks.append(s)
    want = {}
    deadline = time.monotonic() + 60
    for i, s in enumerate(socks):
        msg = ("client %05d %s\n" % (i, os.urandom(8).hex())).encode() * 3
        if framing == "length":
            msg = struct.pack(">I", len(msg)) + msg
        want[s] = [msg, 0, b""]          # to send, sent, received
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, i)
    done = 0
    while done < n:
        if time.monotonic() > deadline:
            die("%d of %d clients done within 60 s" % (done, n))
        for key, ev in sel.select(1.0):
            s = key.fileobj
            w = want[s]
            if ev & selectors.EVENT_WRITE and w[1] < len(w[0]):
                try:
                    w[1] += s.send(w[0][w[1]:])
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError as e:
                    die("client %d: send: %s" % (key.data, e))
                if w[1] == len(w[0]):
                    sel.modify(s, selectors.EVENT_READ, key.data)
            if ev & selectors.EVENT_READ:
                try:
                    b = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    die("client %d: recv: %s" % (key.data, e))
                if not b:
                    die("client %d: EOF after %s" % (key.data, show(w[2])))
                w[2] += b
                if not w[0].startswith(w[2]):
                    die("client %d: got %s, not its own bytes %s" % (
                        key.data, show(w[2]), show(w[0])))
                if len(w[2]) == len(w[0]):
                    sel.unregister(s)
                    done += 1
    for s in socks:
        s.close()
    print("ok %d clients" % n)


def cmd_quit_mid(a):
    """SIGQUIT with one connection mid-message and one idle: the idle one
    closes at once, the other gets its message answered, then EOF."""
    host, port, master, cport = a[0], int(a[1]), int(a[2]), int(a[3])
    busy = conn(host, port, nodelay=True)
    idle = conn(host, port, nodelay=True)
    busy.sendall(b"first\n")
    if recv_exact(busy, 6, "busy first") != b"first\n":
        die("busy: bad first reply")
    idle.sendall(b"idle\n")
    if recv_exact(idle, 5, "idle") != b"idle\n":
        die("idle: bad reply")
    busy.sendall(b"hal")
    # Wait (bounded) until the server has read those 3 bytes: bytes_in
    # counts the 14 bytes above plus 5 per STATS request, this one too.
    sent, nstats = 14, 0
    deadline = time.monotonic() + TMO
    while True:
        nstats += 1
        st = stats(cport)
        if int(st.get("bytes_in", 0)) - 5 * nstats >= sent:
            break
        if time.monotonic() > deadline:
            die("the server never read the half line (stats %r)" % st)
        time.sleep(0.05)
    t0 = time.monotonic()
    os.kill(master, signal.SIGQUIT)
    if recv_to_eof(idle, "idle connection after QUIT") != b"":
        die("idle connection got bytes after QUIT")
    dt = time.monotonic() - t0
    if dt > 5:
        die("idle connection closed only after %.1f s" % dt)
    nothing_for(busy, 0.3, "busy connection before its line is complete")
    busy.sendall(b"f line\n")
    got = recv_to_eof(busy, "busy connection after QUIT")
    if got != b"half line\n":
        die("busy connection: expected b'half line\\n' then EOF, got %r"
            % got)
    # no new connection is served any more
    try:
        s = conn(host, port)
        s.settimeout(2)
        s.sendall(b"late\n")
        try:
            b = s.recv(100)
        except socket.timeout:
            b = b""
        except ConnectionResetError:
            b = b""
        if b:
            die("a connection made after QUIT was served: %r" % b)
    except (ConnectionRefusedError, ConnectionResetError):
        pass
    print("ok")


def cmd_hold(a):
    """Open N connections (each echoes once), print "held", then wait up
    to SECS for the server to close them; print "closed K"."""
    host, port, n, secs = a[0], int(a[1]), int(a[2]), float(a[3])
    socks = []
    for i in range(n):
        s = conn(host, port)
        s.sendall(b"hi\n")
        recv_exact(s, 3)
        socks.append(s)
    print("held", flush=True)
    closed = 0
    deadline = time.monotonic() + secs
    while socks and time.monotonic() < deadline:
        r, _, _ = select.select(socks, [], [], 0.2)
        for s in r:
            try:
                b = s.recv(100)
            except OSError:
                b = b""
            if not b:
                socks.remove(s)
                closed += 1
    print("closed %d" % closed, flush=True)


def main():
    a = sys.argv[1:]
    cmd = a.pop(0)
    globals()["cmd_" + cmd](a)


main()
