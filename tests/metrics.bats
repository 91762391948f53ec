#!/usr/bin/env bats
# The metrics listener (SPEC 10): GET /metrics and HEAD over HTTP/1.1
# with the Prometheus text format 0.0.4, checked by promtool under load;
# the figures equal STATS; hostile HTTP (oversized, malformed, trickled,
# pipelined, never read) gets a clear status or a close, counted, with
# the worker's other clients unaffected.

load helper_cmd
bats_require_minimum_version 1.5.0

setup() {
	cmd_setup
	write_mhttp > "$T/mhttp.py"
	PE=$(free_port)		# echo
	PC=$(free_port)		# command: the tests' STATS
	PM=$(free_port)		# metrics
	PD=$(free_port)		# metrics, denied to loopback
	write_conf <<EOF
workers = 2;
limits = { frame_timeout = 1; write_timeout = 2; max_output = 65536; };
listeners = (
	{ address = "127.0.0.1"; port = $PE; },
	{ address = "127.0.0.1"; port = $PC; mode = "command";
	  framing = "length"; },
	{ address = "127.0.0.1"; port = $PM; mode = "metrics"; },
	{ address = "127.0.0.1"; port = $PD; mode = "metrics";
	  deny = [ "127.0.0.0/8" ]; }
);
EOF
	start_ekkod
}

teardown() { ekko_teardown; }

# HTTP for inline python: import mhttp.
write_mhttp() {
	cat <<'PY'
import socket, time

TIMEOUT = 5.0


def connect(port, rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(TIMEOUT)
    s.connect(("127.0.0.1", int(port)))
    return s


def get(path="/metrics", method="GET", extra="", version="1.1"):
    host = "Host: 127.0.0.1\r\n" if version == "1.1" else ""
    return ("%s %s HTTP/%s\r\n%s%s\r\n" % (method, path, version, host,
            extra)).encode()


class Reader:
    """Responses, one at a time, from a socket; eof() once it closed."""

    def __init__(self, s):
        self.s, self.buf = s, b""

    def fill(self):
        b = self.s.recv(65536)
        if not b:
            raise EOFError("closed, have %r" % self.buf[:200])
        self.buf += b

    def response(self, head_only=False):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
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
    s = connect(port)
    s.sendall(get(extra="Connection: close\r\n"))
    st, h, body = Reader(s).response()
    s.close()
    assert st == 200, st
    return body.decode()


def samples(text):
    """name{labels} -> float, for every sample line."""
    d = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            d[k] = float(v)
    return d
PY
}

# A scrape of the metrics port, to stdout.
scrape() {
	py "$PM" <<'PY'
import sys, mhttp
sys.stdout.write(mhttp.scrape(sys.argv[1]))
PY
}

@test "metrics: promtool check metrics passes on a scrape under load" {
	command -v promtool >/dev/null || skip "promtool not installed"
	"$EKKO" -p "$PE" bench -c 4 -d 20 --framing raw >"$T/bench" 2>&1 &
	local b=$!
	bg_record "$b"
	# one python for the polling: its start-up is slow on a busy host
	py "$PM" >"$T/scrape" <<'PY'
import sys, time, mhttp
t0 = time.monotonic()
while time.monotonic() - t0 < 10:
    text = mhttp.scrape(sys.argv[1])
    if mhttp.samples(text)["ekko_requests_total"] > 1000:
        break
    time.sleep(0.1)
sys.stdout.write(text)
PY
	kill -0 "$b"		# still running: the scrape was under load
	kill "$b"
	wait "$b" || true
	promtool check metrics <"$T/scrape"
	grep -q '^ekko_build_info{version="[^"]*"} 1$' "$T/scrape"
	grep -q '^ekko_start_time_seconds [1-9]' "$T/scrape"
	grep -q '^ekko_errors_total{kind="frame_too_large"} ' "$T/scrape"
	grep -q '^ekko_worker_requests_total{worker="[0-9]*",generation="1"} ' \
	    "$T/scrape"
	grep -q '^ekko_request_duration_seconds_bucket{mode="echo",le="+Inf"} [1-9]' \
	    "$T/scrape"
	grep -q '^# TYPE ekko_request_duration_seconds histogram$' "$T/scrape"
}

@test "metrics: after the load stops, the figures equal STATS" {
	"$EKKO" -p "$PE" bench -c 4 -n 20000 --framing raw >/dev/null
	"$EKKO" -p "$PC" bench -c 2 -n 2000 >/dev/null
	py "$PM" "$PC" <<'PY'
import sys, mhttp, ekkoproto as ep
pm, pc = sys.argv[1], sys.argv[2]
st = ep.stats(pc)
req = mhttp.get(extra="Connection: close\r\n")
s = mhttp.connect(pm)
s.sendall(req)
code, h, body = mhttp.Reader(s).response()
m = mhttp.samples(body.decode())
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
w = sum(v for k, v in m.items() if k.startswith("ekko_worker_requests_total"))
assert w == m["ekko_requests_total"], (w, m["ekko_requests_total"])
# every echo and command request is in the histogram of its mode
cnt = {md: m['ekko_request_duration_seconds_count{mode="%s"}' % md]
       for md in ("echo", "command", "metrics")}
assert cnt["echo"] >= 20000 and cnt["command"] >= 2000, cnt
# the scrape is timed once answered; the STATS request may not be yet:
# its worker times it after handing the reply over, racing this scrape
assert m["ekko_requests_total"] - 2 <= sum(cnt.values()) <= \
    m["ekko_requests_total"] - 1, (cnt, m["ekko_requests_total"])
PY
}

@test "metrics: keep-alive, pipelined requests in order, HEAD, 404, 405" {
	py "$PM" <<'PY'
import sys, mhttp
s = mhttp.connect(sys.argv[1])
r = mhttp.Reader(s)
s.sendall(mhttp.get() + mhttp.get("/nope") + mhttp.get(method="HEAD") +
          mhttp.get(method="DELETE") + mhttp.get("/metrics?x=1"))
st, h, body = r.response()
assert st == 200 and h["content-type"] == \
    "text/plain; version=0.0.4; charset=utf-8", (st, h)
assert len(body) == int(h["content-length"]) and b"ekko_requests_total" in body
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
s.sendall(mhttp.get(extra="Connection: close\r\n"))
st, h, body = r.response()
assert st == 200 and h["connection"] == "close"
r.eof()
PY
}

@test "metrics: HTTP/1.0 closes unless keep-alive; a body closes" {
	py "$PM" <<'PY'
import sys, mhttp
s = mhttp.connect(sys.argv[1])
r = mhttp.Reader(s)
s.sendall(mhttp.get(version="1.0", extra="Connection: keep-alive\r\n"))
st, h, _ = r.response()
assert st == 200 and h["connection"] == "keep-alive", h
s.sendall(mhttp.get(version="1.0"))
st, h, _ = r.response()
assert st == 200 and h["connection"] == "close", h
r.eof()
s = mhttp.connect(sys.argv[1])
r = mhttp.Reader(s)
s.sendall(mhttp.get(method="POST", extra="Content-Length: 3\r\n") + b"abc")
st, h, _ = r.response()
assert st == 405 and h["connection"] == "close", (st, h)
r.eof()
PY
}

@test "metrics: a head over 8 KiB gets 400 and a close, counted" {
	local before
	before=$(stat_of "$PC" errors_frame_too_large)
	py "$PM" <<'PY'
import sys, mhttp
s = mhttp.connect(sys.argv[1])
r = mhttp.Reader(s)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000)
st, h, _ = r.response()
assert st == 400 and h["connection"] == "close", (st, h)
r.eof()
PY
	[ "$(stat_of "$PC" errors_frame_too_large)" -eq $((before + 1)) ]
}

@test "metrics: malformed requests get 400 and a close (errors_http)" {
	py "$PM" <<'PY'
import sys, mhttp
for bad in (b"GET /metrics HTTP/1.1\r\n\r\n",          # no Host
            b"GET /metrics\r\n\r\n",                     # HTTP/0.9
            b"GET / HTTP/1.0\r\nA: b\r\n folded\r\n\r\n",
            b"\x16\x03\x01\x00\x05hello\r\n\r\n"):       # TLS, say
    s = mhttp.connect(sys.argv[1])
    r = mhttp.Reader(s)
    s.sendall(bad)
    st, h, _ = r.response()
    assert st == 400 and h["connection"] == "close", (bad, st, h)
    r.eof()
PY
	[ "$(stat_of "$PC" errors_http)" -eq 4 ]
}

@test "metrics: a head that never ends is closed after frame_timeout" {
	py "$PM" <<'PY'
import sys, time, mhttp
s = mhttp.connect(sys.argv[1])
r = mhttp.Reader(s)
t0 = time.monotonic()
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x")
# trickle a byte every 0.2 s: arrival is no excuse for frame_timeout (1 s)
try:
    for i in range(40):
        time.sleep(0.2)
        s.sendall(b"a")
except (BrokenPipeError, ConnectionResetError):
    pass
r.eof()
el = time.monotonic() - t0
assert 0.9 < el < 4, el
PY
	[ "$(stat_of "$PC" errors_timeout_frame)" -ge 1 ]
}

@test "metrics: a client that never reads is timed out; others are served" {
	py "$PM" "$PC" <<'PY'
import sys, time, mhttp, ekkoproto as ep
pm, pc = sys.argv[1], sys.argv[2]
before = int(ep.stats(pc)["errors_timeout_write"])
s = mhttp.connect(pm, rcvbuf=4096)
s.setblocking(False)
sent = 0
req = mhttp.get() * 50
for i in range(200):                     # never read; stop when it blocks
    try:
        sent += s.send(req)
    except BlockingIOError:
        break
t0 = time.monotonic()
# meanwhile, every other scraper is answered
while time.monotonic() - t0 < 6:
    assert "ekko_requests_total" in mhttp.scrape(pm)
    if int(ep.stats(pc)["errors_timeout_write"]) > before:
        break
    time.sleep(0.2)
assert int(ep.stats(pc)["errors_timeout_write"]) == before + 1
s.close()
PY
}

@test "metrics: deny applies at accept (errors_denied)" {
	py "$PD" <<'PY'
import sys, mhttp
s = mhttp.connect(sys.argv[1])
s.sendall(mhttp.get())
r = mhttp.Reader(s)
r.eof()
PY
	[ "$(stat_of "$PC" errors_denied)" -eq 1 ]
}

@test "metrics: framing does not apply to a metrics listener" {
	local p
	p=$(free_port)
	cat >"$T/bad.conf" <<EOF
listeners = ( { address = "127.0.0.1"; port = $p; mode = "metrics";
  framing = "line"; } );
EOF
	run "$EKKOD" -t -c "$T/bad.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *'mode "metrics" speaks HTTP'* ]]
}

@test "ekko top: a plain snapshot per interval when stdout is not a tty" {
	"$EKKO" -p "$PE" bench -c 2 -d 20 --framing raw >/dev/null 2>&1 &
	local b=$!
	bg_record "$b"
	run --separate-stderr timeout 20 "$EKKO" -p "$PC" top -i 0.5 -n 3
	kill "$b"; wait "$b" || true
	[ "$status" -eq 0 ]
	[ "$(grep -c '^ekko top 127.0.0.1:' <<<"$output")" -eq 3 ]
	[ "$(grep -c '^ *SLOT  *PID  *GEN STATE' <<<"$output")" -eq 3 ]
	# two workers serving, in each snapshot; no escape sequences
	[ "$(grep -cE '^ +[0-9]+ +[0-9]+ +1 serving ' <<<"$output")" -eq 6 ]
	! grep -q $'\033' <<<"$output"
	# the last snapshot saw the load
	tail -n 8 <<<"$output" | grep -qE '^requests [1-9][0-9]*/s'
}

@test "ekko top under tmux: draws the workers, q quits, the terminal is restored" {
	command -v tmux >/dev/null || skip "tmux not installed"
	local sock=$T/tmux.sock pid
	"$EKKO" -p "$PE" bench -c 2 -d 30 --framing raw >/dev/null 2>&1 &
	local b=$!
	bg_record "$b"
	cat >"$T/run.sh" <<EOF
stty -a >"$T/stty.before"
"$EKKO" -p "$PC" top -i 0.3
echo "TOP-EXIT=\$?"
stty -a >"$T/stty.after"
sleep 60
EOF
	tmux -S "$sock" -f /dev/null new-session -d -x 120 -y 30 \
	    "sh $T/run.sh"
	pid=$(tmux -S "$sock" display-message -p '#{pid}')
	bg_record "$pid"
	wait_for "tmux -S '$sock' capture-pane -p | grep -qE '^ +[0-9]+ +[0-9]+ +1 serving +[0-9]+ +[1-9]'" 100
	tmux -S "$sock" capture-pane -p >"$T/screen"
	grep -q 'SLOT' "$T/screen"
	grep -qE '^requests [1-9][0-9]*/s' "$T/screen"
	tmux -S "$sock" send-keys q
	wait_for "tmux -S '$sock' capture-pane -p | grep -q TOP-EXIT=0" 50
	wait_for "[ -s '$T/stty.after' ]" 30
	tmux -S "$sock" capture-pane -p >"$T/after"
	! grep -q 'SLOT' "$T/after"	# the alternate screen is gone
	diff "$T/stty.before" "$T/stty.after"
	kill "$pid"
	kill "$b"; wait "$b" || true
}

@test "metrics: a real Prometheus scrapes ekkod under bench; its figures agree" {
	command -v prometheus >/dev/null || skip "prometheus not installed"
	local pp pid b
	pp=$(free_port)
	cat >"$T/prom.yml" <<EOF
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: ekkod
    static_configs: [ { targets: [ "127.0.0.1:$PM" ] } ]
EOF
	prometheus --config.file="$T/prom.yml" \
	    --storage.tsdb.path="$T/prom-data" \
	    --web.listen-address="127.0.0.1:$pp" >"$T/prom.log" 2>&1 &
	pid=$!
	bg_record "$pid"
	wait_for "python3 -c 'import urllib.request as u; u.urlopen(\"http://127.0.0.1:$pp/-/ready\", timeout=1)' 2>/dev/null" 300 || {
		cat "$T/prom.log"; false; }
	"$EKKO" -p "$PE" bench -c 2 -d 8 --framing raw --json >"$T/bench.json"
	py "$pp" "$PC" "$T/bench.json" <<'PY'
import json, sys, time, urllib.parse, urllib.request
import ekkoproto as ep
pp, pc, bench = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
end = time.time()

def query(q, at=None):
    args = {"query": q}
    if at is not None:
        args["time"] = "%.3f" % at
    url = "http://127.0.0.1:%s/api/v1/query?%s" % (pp,
          urllib.parse.urlencode(args))
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
s = int(ep.stats(pc)["requests_total"])
assert 1 <= s - v <= 4, (s, v)
# the rate Prometheus saw over the run is the bench's, within 1 s scrapes
# (a wide window: on a busy host a scrape may come late)
r = query('rate(%s[6s])' % echo, at=end - 1)
assert r is not None and 0.5 < r / bench["rps"] < 1.5, (r, bench["rps"])
# the server's median is no more than the client's round trip (whose p99
# bounds it well), to within the 2.5x of a bucket
q = query('histogram_quantile(0.5, rate(ekko_request_duration_seconds_bucket'
          '{mode="echo"}[10s]))', at=end - 1)
assert q is not None and 0 < q <= 2.5 * bench["p99_us"] / 1e6, (q, bench)
print("prometheus: echo count %d, rate %.0f/s (bench %.0f/s), "
      "p50 %.1f us (bench p50 %.1f us)" % (bench["requests"], r,
      bench["rps"], q * 1e6, bench["p50_us"]))
PY
	kill "$pid"
	wait "$pid" || true
}

@test "metrics: a flood of 1000 concurrent scrapes is answered; echo unaffected" {
	py "$PM" "$PE" <<'PY'
import resource, selectors, socket, sys, time, mhttp
pm, pe = sys.argv[1], sys.argv[2]
N = 1000
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
sel = selectors.DefaultSelector()
req = mhttp.get(extra="Connection: close\r\n")
for i in range(N):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", int(pm)))
    sel.register(s, selectors.EVENT_WRITE, [b"", False])
# an echo client in the middle of it all
e = socket.create_connection(("127.0.0.1", int(pe)), timeout=10)
done, ok, t0 = 0, 0, time.monotonic()
while done < N and time.monotonic() - t0 < 60:
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
assert done == N and ok == N, (done, ok)
PY
}
