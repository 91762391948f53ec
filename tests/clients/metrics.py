#!/usr/bin/env python3
"""metrics.py -- HTTP clients for tests/metrics.bats (the metrics
listener, SPEC 10).

  python3 metrics.py COMMAND ARGS...

PM is the metrics port, PC the binary command port (STATS), PE an echo
port (line framing).  A failed check is an assertion: a traceback and
exit 1.  Every loop is bounded in count and in time.
"""
import json
import os
import resource
import selectors
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from ekkotest import (HttpReader, connect, http_get, samples,  # noqa: E402
                      scrape, stats)


def cmd_scrape_busy(pm, least="1000", wait="10"):
    """A scrape once ekko_requests_total is over least (or after wait
    seconds), to stdout: one python for the polling, as its start-up is
    slow on a busy host."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < float(wait):
        text = scrape(pm)
        if samples(text)["ekko_requests_total"] > int(least):
            break
        time.sleep(0.1)
    sys.stdout.write(text)


def cmd_equal_stats(pm, pc):
    """After the load: the figures of a scrape equal STATS."""
    st = stats(pc)
    req = http_get(extra="Connection: close\r\n")
    s = connect(pm)
    s.sendall(req)
    code, h, body = HttpReader(s).response()
    m = samples(body.decode())
    # the scrape counts itself, as STATS does: one request, one connection
    assert m["ekko_requests_total"] == int(st["requests_total"]) + 1, \
        (m["ekko_requests_total"], st["requests_total"])
    assert m["ekko_connections_total"] == int(st["connections_total"]) + 1
    assert m["ekko_bytes_in_total"] == int(st["bytes_in"]) + len(req)
    for k, v in st.items():
        if k.startswith("errors_"):
            assert m['ekko_errors_total{kind="%s"}' % k[7:]] == int(v), k
    for k in ("reloads", "respawns", "upgrades"):
        assert m["ekko_%s_total" % k] == int(st[k]), k
    assert m["ekko_workers_running"] == int(st["workers_running"])
    w = sum(v for k, v in m.items()
            if k.startswith("ekko_worker_requests_total"))
    assert w == m["ekko_requests_total"], (w, m["ekko_requests_total"])
    # every echo and command request is in the histogram of its mode
    cnt = {md: m['ekko_request_duration_seconds_count{mode="%s"}' % md]
           for md in ("echo", "command", "metrics")}
    assert cnt["echo"] >= 20000 and cnt["command"] >= 2000, cnt
    # the scrape is timed once answered; the STATS request may not be yet:
    # its worker times it after handing the reply over, racing this scrape
    assert m["ekko_requests_total"] - 2 <= sum(cnt.values()) <= \
        m["ekko_requests_total"] - 1, (cnt, m["ekko_requests_total"])


def cmd_keepalive(pm):
    """Keep-alive, pipelined requests answered in order, HEAD, 404, 405,
    then Connection: close."""
    s = connect(pm)
    r = HttpReader(s)
    s.sendall(http_get() + http_get("/nope") + http_get(method="HEAD") +
              http_get(method="DELETE") + http_get("/metrics?x=1"))
    st, h, body = r.response()
    assert st == 200 and h["content-type"] == \
        "text/plain; version=0.0.4; charset=utf-8", (st, h)
    assert len(body) == int(h["content-length"])
    assert b"ekko_requests_total" in body
    assert "connection" not in h
    st, h, body = r.response()
    assert st == 404, st
    st, h, body = r.response(head_only=True)
    assert st == 200 and int(h["content-length"]) > 1000, (st, h)
    st, h, body = r.response()
    assert st == 405 and h["allow"] == "GET, HEAD", (st, h)
    st, h, body = r.response()
    assert st == 200, st
    # still open: one more, then "Connection: close" is honoured
    s.sendall(http_get(extra="Connection: close\r\n"))
    st, h, body = r.response()
    assert st == 200 and h["connection"] == "close"
    r.eof()


def cmd_http10(pm):
    """HTTP/1.0 closes unless keep-alive; a request with a body closes."""
    s = connect(pm)
    r = HttpReader(s)
    s.sendall(http_get(version="1.0", extra="Connection: keep-alive\r\n"))
    st, h, _ = r.response()
    assert st == 200 and h["connection"] == "keep-alive", h
    s.sendall(http_get(version="1.0"))
    st, h, _ = r.response()
    assert st == 200 and h["connection"] == "close", h
    r.eof()
    s = connect(pm)
    r = HttpReader(s)
    s.sendall(http_get(method="POST", extra="Content-Length: 3\r\n") +
              b"abc")
    st, h, _ = r.response()
    assert st == 405 and h["connection"] == "close", (st, h)
    r.eof()


def cmd_big_head(pm):
    """A request head over 8 KiB: 400 and a close."""
    s = connect(pm)
    r = HttpReader(s)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000)
    st, h, _ = r.response()
    assert st == 400 and h["connection"] == "close", (st, h)
    r.eof()


def cmd_malformed(pm):
    """Four malformed requests: 400 and a close each."""
    for bad in (b"GET /metrics HTTP/1.1\r\n\r\n",          # no Host
                b"GET /metrics\r\n\r\n",                     # HTTP/0.9
                b"GET / HTTP/1.0\r\nA: b\r\n folded\r\n\r\n",
                b"\x16\x03\x01\x00\x05hello\r\n\r\n"):       # TLS, say
        s = connect(pm)
        r = HttpReader(s)
        s.sendall(bad)
        st, h, _ = r.response()
        assert st == 400 and h["connection"] == "close", (bad, st, h)
        r.eof()


def cmd_trickle(pm):
    """A head that never ends, a byte every 0.2 s: closed after
    frame_timeout (1 s in metrics.bats)."""
    s = connect(pm)
    r = HttpReader(s)
    t0 = time.monotonic()
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x")
    # arrival is no excuse for frame_timeout
    try:
        for i in range(40):
            time.sleep(0.2)
            s.sendall(b"a")
    except (BrokenPipeError, ConnectionResetError):
        pass
    r.eof()
    el = time.monotonic() - t0
    assert 0.9 < el < 4, el


def cmd_never_reads(pm, pc):
    """A client that never reads is timed out (errors_timeout_write);
    every other scraper is answered meanwhile."""
    before = int(stats(pc)["errors_timeout_write"])
    s = connect(pm, rcvbuf=4096)
    s.setblocking(False)
    sent = 0
    req = http_get() * 50
    for i in range(200):                 # never read; stop when it blocks
        try:
            sent += s.send(req)
        except BlockingIOError:
            break
    t0 = time.monotonic()
    while time.monotonic() - t0 < 6:
        assert "ekko_requests_total" in scrape(pm)
        if int(stats(pc)["errors_timeout_write"]) > before:
            break
        time.sleep(0.2)
    assert int(stats(pc)["errors_timeout_write"]) == before + 1
    s.close()


def cmd_denied(pd):
    """A denied peer: closed at accept, nothing answered."""
    s = connect(pd)
    s.sendall(http_get())
    HttpReader(s).eof()


def cmd_prom_ready(pp, wait="30"):
    """Wait (bounded) until the Prometheus on port pp is ready."""
    url = "http://127.0.0.1:%s/-/ready" % pp
    t0 = time.monotonic()
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except (OSError, urllib.error.URLError):
            if time.monotonic() - t0 > float(wait):
                sys.exit("prometheus on %s not ready after %s s" % (pp, wait))
            time.sleep(0.1)


def query_samples(pp, series, start, end):
    """The (time, value) samples Prometheus on port pp stored for series
    from start to end (epoch seconds)."""
    args = {"query": "%s[%ds]" % (series, int(end - start) + 2),
            "time": "%.3f" % end}
    url = "http://127.0.0.1:%s/api/v1/query?%s" % (
        pp, urllib.parse.urlencode(args))
    r = json.load(urllib.request.urlopen(url, timeout=5))
    assert r["status"] == "success", r
    res = r["data"]["result"]
    return [(float(t), float(v)) for t, v in res[0]["values"]
            if float(t) >= start] if res else []


def sample_rate(samples):
    """Increase per second from the first sample to the last; None with
    fewer than two, a second apart."""
    if len(samples) < 2 or samples[-1][0] - samples[0][0] < 1:
        return None
    (t0, v0), (t1, v1) = samples[0], samples[-1]
    return (v1 - v0) / (t1 - t0)


def cmd_prometheus(pp, pc, bench_json, bench_start, bench_end):
    """What the Prometheus on port pp scraped during the bench agrees
    with the bench (its --json output; it ran from epoch bench_start to
    bench_end) and with STATS."""
    bench = json.load(open(bench_json))
    start, end = float(bench_start), float(bench_end)

    def query(q, at=None):
        args = {"query": q}
        if at is not None:
            args["time"] = "%.3f" % at
        url = "http://127.0.0.1:%s/api/v1/query?%s" % (
            pp, urllib.parse.urlencode(args))
        r = json.load(urllib.request.urlopen(url, timeout=5))
        assert r["status"] == "success", r
        res = r["data"]["result"]
        return float(res[0]["value"][1]) if res else None

    echo = 'ekko_request_duration_seconds_count{mode="echo"}'
    # wait (bounded) until a scrape after the load is in
    t0 = time.monotonic()
    while time.monotonic() - t0 < 15:
        if query(echo) == bench["requests"]:
            break
        time.sleep(0.5)
    # every echo request of the bench, no more, no fewer
    assert query(echo) == bench["requests"], (query(echo), bench["requests"])
    # ekko_requests_total equals STATS, but for the scrapes since and STATS
    v = query("ekko_requests_total")
    s = int(stats(pc)["requests_total"])
    assert 1 <= s - v <= 4, (s, v)
    # the rate Prometheus saw during the run is the bench's: from its
    # own samples inside the run, first to last (PromQL's rate() over a
    # fixed window misjudges when a busy host delays or skips scrapes)
    r = sample_rate(query_samples(pp, echo, start, end))
    assert r is not None and 0.5 < r / bench["rps"] < 1.5, (r, bench["rps"])
    # the server's median is no more than the client's round trip (whose
    # p99 bounds it well), to within the 2.5x of a bucket
    q = query('histogram_quantile(0.5, rate('
              'ekko_request_duration_seconds_bucket{mode="echo"}[%ds]))'
              % (int(end - start) + 2), at=end)
    assert q is not None and 0 < q <= 2.5 * bench["p99_us"] / 1e6, (q, bench)
    print("prometheus: echo count %d, rate %.0f/s (bench %.0f/s), "
          "p50 %.1f us (bench p50 %.1f us)" % (bench["requests"], r,
          bench["rps"], q * 1e6, bench["p50_us"]))


def cmd_flood(pm, pe, n, wait="60"):
    """n concurrent scrapes, all connected at once (non-blocking), each
    answered 200 and closed within wait seconds; an echo client in the
    middle of it all is answered after every round of events."""
    n, wait = int(n), float(wait)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if hard != resource.RLIM_INFINITY and hard < want:
        sys.exit("RLIMIT_NOFILE hard limit %d: %d sockets need %d" %
                 (hard, n, want))
    # the soft limit up to the hard one (20000 on the CI host)
    if hard == resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sel = selectors.DefaultSelector()
    req = http_get(extra="Connection: close\r\n")
    t0 = time.monotonic()
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", int(pm)))
        sel.register(s, selectors.EVENT_WRITE, [b"", False])
    e = connect(pe, timeout=10)
    done, ok = 0, 0
    while done < n and time.monotonic() - t0 < wait:
        for key, ev in sel.select(timeout=1):
            s, st = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE and not st[1]:
                s.send(req)
                st[1] = True
                sel.modify(s, selectors.EVENT_READ, st)
                continue
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                b = b""
            if b:
                st[0] += b
                continue
            sel.unregister(s)
            s.close()
            done += 1
            ok += st[0].startswith(b"HTTP/1.1 200 OK\r\n")
        e.sendall(b"ping\n")
        assert e.recv(100) == b"ping\n"
    print("flood: %d scrapes, %d answered 200, in %.1f s" %
          (n, ok, time.monotonic() - t0))
    assert done == n and ok == n, (done, ok)


def main():
    a = sys.argv[1:]
    fn = globals().get("cmd_" + a[0]) if a else None
    if fn is None:
        sys.exit("metrics.py: unknown command %s" % (a[0] if a else ""))
    fn(*a[1:])


if __name__ == "__main__":
    main()
