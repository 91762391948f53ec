# helper_cmd.bash -- extra helpers for command.bats, client.bats and
# reload.bats, on top of helper.bash (which it loads).
#
#   load helper_cmd
#   setup()    { cmd_setup; }
#   teardown() { ekko_teardown; }
#
#   cmd_setup          ekko_setup, plus $T/ekkoproto.py (see below) and
#                      PYTHONPATH so that inline python can "import ekkoproto"
#   py SCRIPT ARGS...  run python3 on the heredoc on stdin with ARGS
#   bg_record PID      record a background PID so teardown kills it
#   stats_get TEXT KEY value of KEY in a "key value" text
#   pidfile_conf       a pidfile line for the config ($T/ekkod.pid)
#   wait_log REGEX [TENTHS]   wait (bounded) until $LOG matches REGEX

load helper

cmd_setup() {
	ekko_setup
	write_ekkoproto > "$T/ekkoproto.py"
	export PYTHONPATH="$T${PYTHONPATH:+:$PYTHONPATH}"
}

# Record a PID that teardown kills (helper.bash reads $T/pids).
bg_record() {
	echo "$1" >> "$T/pids"
}

# The value of key $2 in the "key value" text $1.
stats_get() {
	printf '%s\n' "$1" | awk -v k="$2" \
	    '$1 == k { $1 = ""; sub(/^ /, ""); print; found = 1; exit }
	     END { exit !found }'
}

pidfile_conf() {
	echo "pidfile = \"$T/ekkod.pid\";"
}

# Wait (bounded, $2 tenths of a second, default 50) until $LOG matches
# the extended regex $1.
wait_log() {
	wait_for "grep -Eq -- '$1' '$LOG'" "${2:-50}"
}

# A tiny ekko protocol library for inline python in the tests.
write_ekkoproto() {
	cat <<'PY'
"""ekkoproto -- the ekko wire protocol for the bats tests (SPEC 7)."""
import socket
import struct
import time

PING, ECHO, STATS, INFO, QUIT = 1, 2, 3, 4, 5
ERR = 0xFF
TIMEOUT = 5.0


def frame(op, payload=b""):
    """A binary request: u32 len (op + payload) | u8 op | payload."""
    return struct.pack(">IB", len(payload) + 1, op) + payload


def connect(port, host="127.0.0.1", source=None, timeout=TIMEOUT):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source is not None:
        s.bind((source, 0))
    s.connect((host, int(port)))
    return s


def recv_exact(s, n):
    d = b""
    while len(d) < n:
        b = s.recv(n - len(d))
        if not b:
            raise EOFError("closed after %d of %d bytes" % (len(d), n))
        d += b
    return d


def read_reply(s):
    """One binary reply: (op, payload)."""
    n, op = struct.unpack(">IB", recv_exact(s, 5))
    assert n >= 1, "reply length %d" % n
    return op, recv_exact(s, n - 1)


def call(s, op, payload=b""):
    s.sendall(frame(op, payload))
    return read_reply(s)


def read_line(s, buf):
    """One line (without its LF) from s; buf is a bytearray of leftovers."""
    deadline = time.monotonic() + TIMEOUT
    while b"\n" not in buf:
        if time.monotonic() > deadline:
            raise TimeoutError("no full line, have %r" % bytes(buf))
        b = s.recv(65536)
        if not b:
            raise EOFError("closed, have %r" % bytes(buf))
        buf += b
    i = buf.index(b"\n")
    line = bytes(buf[:i])
    del buf[:i + 1]
    return line


def expect_eof(s, timeout=TIMEOUT):
    """The server closes: recv returns b"" (a reset counts as failure)."""
    s.settimeout(timeout)
    extra = s.recv(65536)
    assert extra == b"", "expected EOF, got %r" % extra


def kv(text):
    """'key value' lines -> dict (value kept as text)."""
    if isinstance(text, bytes):
        text = text.decode()
    d = {}
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        d[k] = v
    return d


def stats(port, host="127.0.0.1"):
    s = connect(port, host)
    op, body = call(s, STATS)
    s.close()
    assert op == 0x83, "STATS reply op 0x%02x %r" % (op, body)
    return kv(body)
PY
}

# Run python3 on the script on stdin, with arguments.
py() {
	python3 - "$@"
}
