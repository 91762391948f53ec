#!/usr/bin/env bats
# Connection counts under faults: every count taken is given back on
# every path (an epoll_ctl ADD that fails, a worker killed while holding
# connections or half-way through admitting one), so connections_active
# returns to the truth and per_ip_connections never locks an address
# out.  Faults come from an LD_PRELOAD shim (tests/fixtures/epoll_fail.c)
# built into the test's directory.

load helper

setup() {
	ekko_setup
	SHIM="$T/epoll_fail.so"
	cc -shared -fPIC -o "$SHIM" "$BATS_TEST_DIRNAME/fixtures/epoll_fail.c" \
	    -ldl
	CNT="$T/cnt.py"
	write_client > "$CNT"
}

teardown() {
	touch "$T/release"
	ekko_teardown
}

# The clients: every loop bounded in count and time; exit 1 on a
# "FAIL:" line.
write_client() {
	cat <<'PY'
import os, socket, sys, time


def echo_once(port, timeout=3.0):
    """One connection: 'hi' echoed (True) or dropped by the server."""
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
    try:
        s.sendall(b"hi\n")
        d = b""
        while not d.endswith(b"\n"):
            b = s.recv(64)
            if not b:
                return None, s
            d += b
        return d == b"hi\n", s
    except (ConnectionResetError, socket.timeout):
        return None, s


def churn(port, n):
    """n connections one after another; how many were served."""
    served = dropped = 0
    for _ in range(int(n)):
        ok, s = echo_once(port)
        s.close()
        if ok:
            served += 1
        else:
            dropped += 1
    print("served %d dropped %d" % (served, dropped))


def perip(port, limit):
    """limit connections all echo; one more is refused (closed)."""
    held, fails = [], 0
    for i in range(int(limit)):
        ok, s = echo_once(port)
        held.append(s)
        if not ok:
            print("FAIL: connection %d of %s not served" % (i + 1, limit))
            fails += 1
    ok, s = echo_once(port)
    held.append(s)
    if ok:
        print("FAIL: connection %d over the limit served" % (int(limit) + 1))
        fails += 1
    for s in held:
        s.close()
    print("perip %s: %s" % (limit, "ok" if not fails else "failed"))
    sys.exit(1 if fails else 0)


def hold(port, k, ready, release):
    """Hold k echoing connections until file release exists (20 s)."""
    held = []
    for i in range(int(k)):
        ok, s = echo_once(port)
        held.append(s)
        if not ok:
            print("FAIL: held connection %d not served" % (i + 1))
            sys.exit(1)
    open(ready, "w").close()
    for _ in range(200):
        if os.path.exists(release):
            break
        time.sleep(0.1)
    for s in held:
        s.close()


cmd, args = sys.argv[1], sys.argv[2:]
{"churn": churn, "perip": perip, "hold": hold}[cmd](*args)
PY
}

# The config: workers $1, the limits group $2; echo port $E (line),
# command port $C.
conf() {
	write_conf <<EOF
workers = $1;
limits = { $2 };
listeners = (
  { address = "127.0.0.1"; port = $E; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
);
EOF
}

# connections_active from STATS (the asking connection counts itself).
active() {
	stat_of "$C" connections_active 2>/dev/null
}

# Hold $1 connections in the background until teardown or release.
hold_bg() {
	rm -f "$T/ready" "$T/release"
	python3 "$CNT" hold "$E" "$1" "$T/ready" "$T/release" &
	echo $! >> "$T/pids"
	wait_for '[ -e "$T/ready" ]'
}

@test "epoll_ctl ADD failing: no count leaks, the address is never locked out" {
	E=$(free_port)
	C=$(free_port)
	conf 2 "per_ip_connections = 2;"
	touch "$T/faults"
	LD_PRELOAD="$SHIM" EKKO_SHIM_PORT="$E" EKKO_SHIM_EVERY=4 \
	    EKKO_SHIM_ON="$T/faults" start_ekkod
	run python3 "$CNT" churn "$E" 60
	echo "$output"
	[ "$status" -eq 0 ]
	# faults were injected, and the server survived them
	dropped=$(echo "$output" | awk '{ print $4 }')
	[ "$dropped" -ge 5 ]
	grep -q "epoll_ctl: No space left on device" "$LOG"
	rm "$T/faults"
	# every count given back: only the STATS connection is left
	wait_for '[ "$(active)" = 1 ]' 30 || { echo "active $(active)"; false; }
	# 127.0.0.1 may still hold per_ip_connections, and no more
	run python3 "$CNT" perip "$E" 2
	echo "$output"
	[ "$status" -eq 0 ]
	wait_for '[ "$(active)" = 1 ]' 30
}

@test "a worker killed by SIGKILL holding connections: counts freed" {
	E=$(free_port)
	C=$(free_port)
	conf 1 "per_ip_connections = 4;"
	start_ekkod
	hold_bg 3
	[ "$(active)" = 4 ]
	old=$(workers)
	kill -KILL "$old"
	wait_for '[ -n "$(workers)" ] && [ "$(workers)" != "$old" ]'
	wait_for '[ "$(active)" = 1 ]' 30 || { echo "active $(active)"; false; }
	touch "$T/release"
	run python3 "$CNT" perip "$E" 4
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "a worker killed half-way through admitting a connection: no leak, no wrap" {
	E=$(free_port)
	C=$(free_port)
	conf 1 "per_ip_connections = 4;"
	# the 4th connection's epoll_ctl ADD kills the worker: after both
	# counts were taken, before the connection was registered
	LD_PRELOAD="$SHIM" EKKO_SHIM_PORT="$E" EKKO_SHIM_KILL="$T/killed" \
	    EKKO_SHIM_KILL_AFTER=3 start_ekkod
	old=$(workers)
	hold_bg 3
	run python3 "$CNT" churn "$E" 1
	echo "$output"
	[ "$output" = "served 0 dropped 1" ]
	[ -e "$T/killed" ]
	wait_for '[ -n "$(workers)" ] && [ "$(workers)" != "$old" ]'
	grep -q "worker $old (slot 0, generation 1) killed by SIGKILL" "$LOG"
	wait_for '[ "$(active)" = 1 ]' 30 || { echo "active $(active)"; false; }
	touch "$T/release"
	run python3 "$CNT" perip "$E" 4
	echo "$output"
	[ "$status" -eq 0 ]
	n=$(active)
	echo "connections_active $n"
	[ "$n" -ge 1 ] && [ "$n" -le 5 ]
}
