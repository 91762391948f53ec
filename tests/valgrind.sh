#!/bin/sh
# valgrind.sh -- a short ekkod session under valgrind: start, traffic in
# every mode and framing, a reload, more traffic, stop.  Fails unless
# master and every worker end with no errors and nothing definitely or
# indirectly lost.  Usage: valgrind.sh BUILDDIR   (make valgrind)
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
t=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$t"' EXIT INT TERM
ports=$(python3 -c '
import socket
ss = [socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
set -- $ports
cat > "$t/ekkod.conf" <<CONF
workers = 2;
limits = { max_frame = 64; per_ip_connections = 100; };
listeners = (
  { address = "127.0.0.1"; port = $1; mode = "echo"; framing = "raw"; },
  { address = "127.0.0.1"; port = $2; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $3; mode = "echo"; framing = "fixed"; frame_size = 4; },
  { address = "127.0.0.1"; port = $4; mode = "echo"; framing = "length"; },
  { address = "127.0.0.1"; port = $5; mode = "command"; framing = "length"; },
  { address = "127.0.0.1"; port = $6; mode = "command"; framing = "line"; }
);
CONF
valgrind --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --log-file="$t/vg.%p" "$top/$build/ekkod" -f -c "$t/ekkod.conf" \
    > "$t/log" 2>&1 &
pid=$!
i=0
until grep -q "ready: " "$t/log"; do
	i=$((i + 1)); [ $i -lt 300 ] || { cat "$t/log"; exit 1; }
	sleep 0.1
done
traffic() {
	python3 - "$@" <<'PY'
import socket, struct, sys
p = [int(x) for x in sys.argv[1:]]
def rt(port, data, n=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data); s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
    s.close()
    return out
assert rt(p[0], b"raw bytes") == b"raw bytes"
assert rt(p[1], b"a\nb\npartial") == b"a\nb\n"
assert rt(p[2], b"abcdefg") == b"abcd"
assert rt(p[3], b"\0\0\0\2hi\0\0\0\0") == b"\0\0\0\2hi\0\0\0\0"
assert rt(p[3], b"\0\0\1\0" + b"x" * 300).startswith(b"") # too large
req = b"".join(struct.pack(">IB", len(x) + 1, op) + x for op, x in
    [(1, b""), (2, b"hello"), (3, b""), (4, b""), (9, b""), (5, b"")])
assert rt(p[4], req).startswith(b"\0\0\0\5\x81PONG")
assert rt(p[5], b"PING\nECHO x\nSTATS\nINFO\nnope\n\nQUIT\n").startswith(b"PONG\nx\n")
PY
}
traffic "$@"
kill -HUP $pid
i=0
until grep -q "generation 2 serving" "$t/log"; do
	i=$((i + 1)); [ $i -lt 300 ] || { cat "$t/log"; exit 1; }
	sleep 0.1
done
traffic "$@"
kill -USR1 $pid
# A binary upgrade: the new master (the same binary, under valgrind too,
# --trace-children) takes the sockets over; the old one exits 0.
kill -USR2 $pid
i=0
until grep -q "drains and exits" "$t/log"; do
	i=$((i + 1)); [ $i -lt 600 ] || { cat "$t/log"; exit 1; }
	sleep 0.1
done
new=$(sed -n 's/.*upgrade: started .* as pid \([0-9]*\).*/\1/p' "$t/log")
wait $pid || { echo "old ekkod exited $?"; cat "$t/log"; exit 1; }
pid=$new
traffic "$@"
kill -TERM $pid
i=0
while kill -0 $pid 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 300 ] || { cat "$t/log"; exit 1; }
	sleep 0.1
done
grep -q "$pid.*stopped" "$t/log" || { cat "$t/log"; exit 1; }
pid=
bad=0
for f in "$t"/vg.*; do
	if ! grep -q "ERROR SUMMARY: 0 errors" "$f" ||
	    grep -Eq "(definitely|indirectly) lost: [1-9]" "$f"; then
		cat "$f"
		bad=1
	fi
done
n=$(ls "$t"/vg.* | wc -l)
[ $bad -eq 0 ] && echo "valgrind: $n processes (master, workers of 2 generations, the upgraded master and its workers), no errors, no leaks"
exit $bad
