#!/usr/bin/env python3
"""limits.py -- hostile clients for tests/limits.bats.

  python3 limits.py COMMAND ARGS...

Every client checks what it sees itself, prints what it measured, and
exits 1 with a "FAIL: ..." line when the daemon misbehaves.  Every loop
in it is bounded in count and in time.
"""
import os
import random
import select
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ekkotest import (connect, cpu_s, fail, finish, probe,  # noqa: E402
                      proc_status, read_all, request, say, statnum, stats,
                      until_closed)


def vmrss_kb(pid):
    return proc_status(pid, "VmRSS")


# ---- idle PORT: a silent client is closed, an active one is not ----
def cmd_idle(port):
    port = int(port)
    res = {}

    def silent():
        s = connect(port)
        t0 = time.monotonic()
        r = until_closed(s, 8.0)
        res["silent"] = (r, time.monotonic() - t0)
        s.close()

    def active():
        s = connect(port)
        t0 = time.monotonic()
        n = 0
        bad = None
        while time.monotonic() - t0 < 3.0 and n < 40:
            r = probe(s, b"alive %d\n" % n, 2.0)
            if r != "echo":
                bad = "probe %d after %.1f s: %s" % (n, time.monotonic() - t0,
                                                     r)
                break
            n += 1
            time.sleep(0.2)
        res["active"] = (bad, n)
        s.close()

    th = [threading.Thread(target=silent), threading.Thread(target=active)]
    for t in th:
        t.start()
    for t in th:
        t.join(15)
    r, el = res.get("silent", ("none", 0))
    say("silent client: %s after %.2f s" % (r, el))
    if r not in ("eof", "reset"):
        fail("silent client not closed within 8 s (%s)" % r)
    elif not 0.5 <= el <= 4.5:
        fail("silent client closed after %.2f s, want about 1 s" % el)
    bad, n = res.get("active", ("none", 0))
    say("active client: %d echoes" % n)
    if bad:
        fail("active client (input every 0.2 s) was cut: " + bad)
    finish()


# ---- slowloris PORT: one byte every 0.3 s, never a whole line ----
def cmd_slowloris(port):
    port = int(port)
    res = {}

    def loris():
        s = connect(port)
        t0 = time.monotonic()
        sent = 0
        how = "open"
        while time.monotonic() - t0 < 10.0 and sent < 40:
            try:
                s.send(b"x")
                sent += 1
            except (BrokenPipeError, ConnectionResetError):
                how = "send failed"
                break
            r = until_closed(s, 0.3)
            if r != "open":
                how = r
                break
        res["loris"] = (how, time.monotonic() - t0, sent)
        s.close()

    def polite():
        # Whole lines, each sent at once, 0.3 s apart: never cut.
        s = connect(port)
        t0 = time.monotonic()
        n = 0
        bad = None
        while time.monotonic() - t0 < 3.0 and n < 20:
            r = probe(s, b"line %d\n" % n, 2.0)
            if r != "echo":
                bad = "line %d: %s" % (n, r)
                break
            n += 1
            time.sleep(0.3)
        res["polite"] = (bad, n)
        s.close()

    th = [threading.Thread(target=loris), threading.Thread(target=polite)]
    for t in th:
        t.start()
    for t in th:
        t.join(20)
    how, el, sent = res.get("loris", ("none", 0, 0))
    say("slowloris: %s after %.2f s, %d bytes sent" % (how, el, sent))
    if how == "open" or how == "none":
        fail("slowloris client still open after %.1f s" % el)
    elif how == "data":
        fail("slowloris client got data back for a partial line")
    elif not 0.7 <= el <= 5.0:
        fail("slowloris closed after %.2f s, want about 1 s" % el)
    elif sent < 3:
        fail("slowloris closed after %d bytes: it was not trickling yet" %
             sent)
    bad, n = res.get("polite", ("none", 0))
    say("polite client: %d lines" % n)
    if bad:
        fail("polite client cut: " + bad)
    finish()


# ---- push: send and never read, until the server stops taking data ----
def push(s, budget, stall, limit):
    """Non-blocking sends of up to budget bytes; returns (sent, stalled,
    closed, seconds).  stalled: no progress for `stall` seconds."""
    s.setblocking(False)
    chunk = b"\x5a" * 262144
    sent = 0
    t0 = last = time.monotonic()
    p = select.poll()
    p.register(s, select.POLLOUT | select.POLLERR | select.POLLHUP)
    while sent < budget and time.monotonic() - t0 < limit:
        ev = p.poll(100)
        now = time.monotonic()
        if ev and ev[0][1] & (select.POLLERR | select.POLLHUP):
            return sent, False, True, now - t0
        if ev and ev[0][1] & select.POLLOUT:
            try:
                n = s.send(chunk[:min(len(chunk), budget - sent)])
                if n > 0:
                    sent += n
                    last = now
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                return sent, False, True, now - t0
        if now - last >= stall:
            return sent, True, False, now - t0
    return sent, False, False, time.monotonic() - t0


# ---- backpressure PORT WORKERPID MAX_OUTPUT ----
def cmd_backpressure(port, wpid, max_output):
    port, wpid, max_output = int(port), int(wpid), int(max_output)
    budget = 50 << 20
    other = connect(port)
    for i in range(5):
        if probe(other, b"warm %d\n" % i) != "echo":
            fail("no echo before the test")
            finish()
    base = vmrss_kb(wpid)
    stop = threading.Event()
    res = {"max_rss": base, "probes": 0, "bad": None, "worst": 0.0}

    def sampler():
        for _ in range(1000):
            if stop.is_set():
                break
            try:
                res["max_rss"] = max(res["max_rss"], vmrss_kb(wpid))
            except OSError:
                res["bad"] = "worker %d gone" % wpid
                break
            time.sleep(0.02)

    def prober():
        n = 0
        while not stop.is_set() and n < 400:
            payload = b"probe %d %s\n" % (n, os.urandom(8).hex().encode())
            t0 = time.monotonic()
            r = probe(other, payload, 2.0)
            dt = time.monotonic() - t0
            res["worst"] = max(res["worst"], dt)
            if r != "echo":
                res["bad"] = "probe %d: %s" % (n, r)
                break
            n += 1
            res["probes"] = n
            time.sleep(0.05)

    th = [threading.Thread(target=sampler), threading.Thread(target=prober)]
    for t in th:
        t.start()
    hog = connect(port)
    sent, stalled, closed, el = push(hog, budget, 1.5, 12.0)
    # Hold the stalled hog a moment: the worker must stay bounded.
    time.sleep(1.0)
    stop.set()
    for t in th:
        t.join(10)
    bound = base + max_output // 1024 + 16 * 1024
    say("hog: sent %.1f MB in %.1f s, stalled %s, closed %s" %
        (sent / 1048576.0, el, stalled, closed))
    say("worker VmRSS: baseline %d kB, max %d kB, bound %d kB" %
        (base, res["max_rss"], bound))
    say("other client: %d echoes, slowest %.3f s" %
        (res["probes"], res["worst"]))
    if closed:
        fail("the hog was closed (write_timeout is off here)")
    if sent >= budget or not stalled:
        fail("the worker kept reading from a peer that never reads "
             "(%.1f MB taken)" % (sent / 1048576.0))
    if res["max_rss"] > bound:
        fail("worker VmRSS grew to %d kB (baseline %d kB, bound %d kB)" %
             (res["max_rss"], base, bound))
    if res["bad"]:
        fail("other client on the same worker: " + res["bad"])
    if res["probes"] < 5:
        fail("other client got only %d echoes" % res["probes"])
    hog.close()
    if probe(other, b"after\n") != "echo":
        fail("no echo after the hog left")
    other.close()
    finish()


# ---- writetimeout PORT: a peer that never reads is closed ----
def cmd_writetimeout(port):
    hog = connect(int(port))
    t0 = time.monotonic()
    sent, stalled, closed, el = push(hog, 200 << 20, 30.0, 15.0)
    el = time.monotonic() - t0
    say("hog: sent %.1f MB, closed %s after %.2f s" %
        (sent / 1048576.0, closed, el))
    if not closed:
        fail("a peer that never reads was not closed within 15 s")
    elif el < 1.0:
        fail("closed after %.2f s, before write_timeout" % el)
    hog.close()
    finish()


# ---- oversize LINEPORT LENPORT CMDPORT MAXFRAME ----
def cmd_oversize(lport, nport, cport, maxf):
    lport, nport, cport, maxf = int(lport), int(nport), int(cport), int(maxf)
    # Line framing: the largest line that fits is echoed.
    s = connect(lport)
    line = b"L" * (maxf - 1) + b"\n"
    if probe(s, line) != "echo":
        fail("line of max_frame - 1 bytes + newline not echoed")
    s.close()
    # Owed reply, then a line with no end in sight: reply, then close.
    s = connect(lport)
    s.sendall(b"ok\n" + b"y" * (2 * maxf))
    out, how = read_all(s, 5.0)
    say("line: got %r then %s" % (out[:20], how))
    if out != b"ok\n" or how not in ("eof", "reset"):
        fail("line too large: want b'ok\\n' then close, got %r then %s" %
             (out[:40], how))
    s.close()
    # Length framing: a frame of max_frame is fine.
    s = connect(nport)
    fr = struct.pack(">I", maxf) + b"F" * maxf
    if probe(s, fr) != "echo":
        fail("length frame of max_frame bytes not echoed")
    s.close()
    # Owed frame, then a header announcing max_frame + 1.
    s = connect(nport)
    small = struct.pack(">I", 5) + b"hello"
    s.sendall(small + struct.pack(">I", maxf + 1))
    out, how = read_all(s, 5.0)
    say("length: got %r then %s" % (out[:20], how))
    if out != small or how not in ("eof", "reset"):
        fail("length too large: want the owed frame then close, got %r "
             "then %s" % (out[:40], how))
    s.close()
    # Command mode: PONG, then the error reply, then close.
    s = connect(cport)
    s.sendall(struct.pack(">IB", 1, 1) + struct.pack(">I", maxf + 1))
    out, how = read_all(s, 5.0)
    want = struct.pack(">IB", 5, 0x81) + b"PONG"
    err = b"frame too large (max_frame %d bytes)" % maxf
    want += struct.pack(">IB", len(err) + 1, 0xFF) + err
    say("command: got %r then %s" % (out, how))
    if out != want or how not in ("eof", "reset"):
        fail("command too large: want %r then close, got %r then %s" %
             (want, out, how))
    s.close()
    finish()


# ---- maxconn ECHOPORT CMDPORT LIMIT EXTRA ----
def cmd_maxconn(eport, cport, limit, extra):
    eport, cport, limit, extra = int(eport), int(cport), int(limit), \
        int(extra)
    cmd = connect(cport)           # connection number 1 of the limit
    if request(cmd, 1) != (0x81, b"PONG"):
        fail("no PONG")
        finish()
    conns, verdicts = [], []
    for i in range(limit - 1 + extra):
        s = connect(eport)
        conns.append(s)
        verdicts.append(probe(s, b"conn %d\n" % i, 3.0))
    say("verdicts: " + " ".join(verdicts))
    served = [s for s, v in zip(conns, verdicts) if v == "echo"]
    want = ["echo"] * (limit - 1)
    if verdicts[:limit - 1] != want:
        fail("the first %d connections were not all served" % (limit - 1))
    if any(v not in ("eof", "reset") for v in verdicts[limit - 1:]):
        fail("connections past the limit were not closed at once: %s" %
             verdicts[limit - 1:])
    st = stats(cmd)
    say("active %s rejected %s errors_max_connections %s" %
        (st.get("connections_active"), st.get("connections_rejected"),
         st.get("errors_max_connections")))
    if statnum(st, "connections_active") != limit:
        fail("connections_active %s, want %d" %
             (st.get("connections_active"), limit))
    if statnum(st, "errors_max_connections") != extra:
        fail("errors_max_connections %s, want %d" %
             (st.get("errors_max_connections"), extra))
    if statnum(st, "connections_rejected") != extra:
        fail("connections_rejected %s, want %d" %
             (st.get("connections_rejected"), extra))
    for s in conns:
        if s not in served:
            s.close()
    # Close 5 served ones; once the server saw it, 5 new ones get in.
    for s in served[:5]:
        s.close()
    del served[:5]
    for _ in range(100):
        st = stats(cmd)
        if statnum(st, "connections_active") == limit - 5:
            break
        time.sleep(0.05)
    if statnum(st, "connections_active") != limit - 5:
        fail("connections_active stays %s after 5 closed" %
             st.get("connections_active"))
    again = []
    for i in range(5):
        s = connect(eport)
        again.append(s)
        r = probe(s, b"again %d\n" % i, 3.0)
        if r != "echo":
            fail("new connection %d after closing some: %s" % (i, r))
    s = connect(eport)
    r = probe(s, b"one too many\n", 3.0)
    if r not in ("eof", "reset"):
        fail("connection over the limit again: %s" % r)
    s.close()
    st = stats(cmd)
    if statnum(st, "errors_max_connections") != extra + 1:
        fail("errors_max_connections %s, want %d" %
             (st.get("errors_max_connections"), extra + 1))
    for s in served + again:
        s.close()
    cmd.close()
    finish()


# ---- perip ECHOPORT CMDPORT LIMIT ----
def cmd_perip(eport, cport, limit):
    eport, cport, limit = int(eport), int(cport), int(limit)
    cmd = connect(cport, source="127.0.0.3")
    mine = []
    for i in range(limit):
        s = connect(eport, source="127.0.0.1")
        mine.append(s)
        r = probe(s, b"mine %d\n" % i, 3.0)
        if r != "echo":
            fail("connection %d from 127.0.0.1 (limit %d): %s" %
                 (i + 1, limit, r))
    s = connect(eport, source="127.0.0.1")
    r = probe(s, b"one too many\n", 3.0)
    say("connection %d from 127.0.0.1: %s" % (limit + 1, r))
    if r not in ("eof", "reset"):
        fail("connection %d from 127.0.0.1 not closed: %s" % (limit + 1, r))
    s.close()
    other = connect(eport, source="127.0.0.2")
    r = probe(other, b"from .2\n", 3.0)
    say("connection from 127.0.0.2: %s" % r)
    if r != "echo":
        fail("connection from 127.0.0.2 not served: %s" % r)
    st = stats(cmd)
    if statnum(st, "errors_per_ip") != 1:
        fail("errors_per_ip %s, want 1" % st.get("errors_per_ip"))
    if statnum(st, "connections_rejected") != 1:
        fail("connections_rejected %s, want 1" %
             st.get("connections_rejected"))
    # One of 127.0.0.1's closes: it may connect once more.
    mine.pop().close()
    for _ in range(100):
        if statnum(stats(cmd), "connections_active") == limit + 1:
            break
        time.sleep(0.05)
    s = connect(eport, source="127.0.0.1")
    r = probe(s, b"back\n", 3.0)
    if r != "echo":
        fail("127.0.0.1 after one of its connections closed: %s" % r)
    for c in mine + [s, other, cmd]:
        c.close()
    finish()


# ---- perip_many ECHOPORT CMDPORT N: N addresses, 1 connection each ----
def cmd_perip_many(eport, cport, n):
    eport, cport, n = int(eport), int(cport), int(n)
    cmd = connect(cport, source="127.0.0.1")
    conns, refused = [], []
    for i in range(n):
        src = "127.1.%d.%d" % (1 + i // 200, 1 + i % 200)
        s = connect(eport, source=src)
        conns.append(s)
        r = probe(s, b"from %s\n" % src.encode(), 3.0)
        if r != "echo":
            refused.append("%s (%s)" % (src, r))
    say("%d addresses, %d refused" % (n, len(refused)))
    if refused:
        fail("first connection of an address refused under "
             "per_ip_connections = 1: %s" % ", ".join(refused[:10]))
    st = stats(cmd)
    if statnum(st, "errors_per_ip") != 0:
        fail("errors_per_ip %s, want 0" % st.get("errors_per_ip"))
    # The limit itself still holds: a second one from the first address.
    s = connect(eport, source="127.1.1.1")
    r = probe(s, b"second\n", 3.0)
    if r not in ("eof", "reset"):
        fail("second connection from 127.1.1.1 not refused: %s" % r)
    for c in conns + [s, cmd]:
        c.close()
    finish()


# ---- conn HOST PORT SRC: one connection, one line; what happened ----
def cmd_conn(host, port, src):
    try:
        s = connect(port, host=host, source=src if src != "-" else None)
    except OSError as e:
        say("connect failed: %s" % e)
        sys.exit(1)
    r = probe(s, b"hello from %s\n" % src.encode(), 3.0)
    if r == "reset" or r == "eof":
        r = "closed"
    say(r)
    s.close()


# ---- flood PORT COUNT: COUNT connects, each closed at once ----
def cmd_flood(port, count):
    port, count = int(port), int(count)
    stop = threading.Event()
    res = {"probes": 0, "bad": None, "worst": 0.0}

    def prober():
        s = connect(port)
        n = 0
        while not stop.is_set() and n < 2000:
            payload = b"steady %d %s\n" % (n, os.urandom(6).hex().encode())
            t0 = time.monotonic()
            r = probe(s, payload, 5.0)
            res["worst"] = max(res["worst"], time.monotonic() - t0)
            if r != "echo":
                res["bad"] = "echo %d: %s" % (n, r)
                break
            n += 1
            res["probes"] = n
            time.sleep(0.01)
        s.close()

    th = threading.Thread(target=prober)
    th.start()
    t0 = time.monotonic()
    done = errs = 0
    linger0 = struct.pack("ii", 1, 0)
    for i in range(count):
        if time.monotonic() - t0 > 30:
            break
        s = socket.socket()
        s.setblocking(False)
        if i % 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger0)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            errs += 1
        s.close()
        done += 1
    el = time.monotonic() - t0
    time.sleep(0.5)
    stop.set()
    th.join(15)
    say("flood: %d connects in %.2f s (%d errors)" % (done, el, errs))
    say("steady client: %d echoes, slowest %.3f s" %
        (res["probes"], res["worst"]))
    if done < count:
        fail("flood cut short at %d connects" % done)
    if res["bad"]:
        fail("steady client during the flood: " + res["bad"])
    if res["probes"] < 10:
        fail("steady client got only %d echoes" % res["probes"])
    finish()


# ---- saturate PORT COUNT WORKERPID: more clients than descriptors ----
def cmd_saturate(port, count, wpid):
    port, count, wpid = int(port), int(count), int(wpid)
    conns = []
    for i in range(count):
        try:
            conns.append(connect(port, timeout=3.0))
        except OSError as e:
            say("connect %d: %s" % (i, e))
            break
    # Everyone asks at once; a second later, count who got an answer.
    for i, s in enumerate(conns):
        try:
            s.sendall(b"s%d\n" % i)
        except OSError:
            pass
    served = 0
    end = time.monotonic() + 1.0
    for i, s in enumerate(conns):
        want = b"s%d\n" % i
        got = b""
        while len(got) < len(want):
            s.settimeout(max(0.01, end - time.monotonic()))
            try:
                d = s.recv(len(want) - len(got))
            except OSError:
                break
            if not d:
                break
            got += d
        served += got == want
    c0 = cpu_s(wpid)
    time.sleep(2.0)
    used = cpu_s(wpid) - c0
    say("%d connected, %d served, worker cpu %.2f s in 2 s" %
        (len(conns), served, used))
    if len(conns) < count:
        fail("only %d of %d connects completed" % (len(conns), count))
    if served < 10:
        fail("only %d connections served" % served)
    if used >= 1.0:
        fail("worker spins: %.2f s of CPU in 2 s" % used)
    for s in conns:
        s.close()
    # Once the clients are gone, new ones are served again.
    ok = False
    t0 = time.monotonic()
    for i in range(50):
        if time.monotonic() - t0 > 15:
            break
        try:
            s = connect(port, timeout=3.0)
            r = probe(s, b"again %d\n" % i, 1.0)
            s.close()
        except OSError as e:
            r = str(e)
        if r == "echo":
            ok = True
            break
        say("attempt %d after %.2f s: %s" % (i, time.monotonic() - t0, r))
        time.sleep(0.2)
    say("served again after %.2f s: %s" % (time.monotonic() - t0, ok))
    if not ok:
        fail("no connection served after the clients closed")
    finish()


# ---- chaos PORT SECONDS CLIENTS: connect/send/verify/close in loops ----
def cmd_chaos(port, secs, nclients):
    port, secs, nclients = int(port), float(secs), int(nclients)
    lock = threading.Lock()
    tot = {"ok": 0, "broken": 0, "mismatch": 0}
    examples = []

    def one(cid, seq):
        payload = b"c%d-s%d-" % (cid, seq) + \
            os.urandom(random.randint(1, 48 * 1024)).hex().encode() + b"\n"
        try:
            s = connect(port, timeout=2.0)
        except OSError:
            return "broken", None
        try:
            s.settimeout(2.0)
            # Two halves 20 ms apart: a kill often lands mid-connection.
            half = len(payload) // 2
            s.sendall(payload[:half])
            time.sleep(0.02)
            s.sendall(payload[half:])
            s.shutdown(socket.SHUT_WR)
            got = b""
            while len(got) <= len(payload):
                d = s.recv(65536)
                if not d:
                    break
                got += d
        except OSError:
            # A worker killed mid-connection: reset or timed out.
            return "broken", None
        finally:
            s.close()
        if got == payload:
            return "ok", None
        if len(got) < len(payload) and payload.startswith(got):
            return "broken", None       # cut short by a kill: a prefix
        return "mismatch", (payload[:60], got[:60], len(payload), len(got))

    def client(cid):
        t0 = time.monotonic()
        seq = 0
        # At most 500 connections a client: each leaves a TIME_WAIT
        # behind, and the ephemeral ports are shared with other tests.
        while time.monotonic() - t0 < secs and seq < 500:
            r, ex = one(cid, seq)
            with lock:
                tot[r] += 1
                if ex and len(examples) < 5:
                    examples.append(ex)
            seq += 1

    th = [threading.Thread(target=client, args=(i,))
          for i in range(nclients)]
    for t in th:
        t.start()
    for t in th:
        t.join(secs + 30)
    say("chaos: %d completed, %d broken by kills, %d mismatches" %
        (tot["ok"], tot["broken"], tot["mismatch"]))
    for ex in examples:
        say("mismatch: sent %r... (%d bytes), got %r... (%d bytes)" %
            (ex[0], ex[2], ex[1], ex[3]))
    if tot["mismatch"]:
        fail("%d connections got wrong bytes" % tot["mismatch"])
    if tot["ok"] < 20:
        fail("only %d connections completed" % tot["ok"])
    finish()


# ---- replies PORT WORKERPID: 50000 pipelined STATS, replies unread ----
def cmd_replies(port, wpid):
    port, wpid = int(port), int(wpid)
    base = vmrss_kb(wpid)
    s = connect(port, timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    n = 50000
    s.sendall(struct.pack(">IB", 1, 3) * n)
    time.sleep(1.5)
    grown = vmrss_kb(wpid) - base
    say("worker VmRSS grew by %d kB while the replies were not read" %
        grown)
    if grown > 8 * 1024:
        sys.exit("FAIL: worker memory not bounded by max_output")
    got, buf = 0, b""
    while got < n:
        b = s.recv(1 << 20)
        if not b:
            sys.exit("FAIL: closed after %d replies" % got)
        buf += b
        while len(buf) >= 5:
            ln, op = struct.unpack(">IB", buf[:5])
            if len(buf) < 4 + ln:
                break
            if op != 0x83:
                sys.exit("FAIL: reply %d has op 0x%02x" % (got, op))
            buf = buf[4 + ln:]
            got += 1
    say("replies %d" % got)


def main():
    a = sys.argv[1:]
    fn = globals().get("cmd_" + a[0])
    if fn is None:
        sys.exit("lim.py: unknown command %s" % a[0])
    fn(*a[1:])


if __name__ == "__main__":
    main()
