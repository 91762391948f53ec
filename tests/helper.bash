# helper.bash -- shared by every bats file: start the real ekkod in a
# throwaway directory on free ports, talk to it, stop it by PID.
#
#   load helper
#   setup()    { ekko_setup; }
#   teardown() { ekko_teardown; }
#
#   P1=$(free_port)
#   write_conf <<EOF ... EOF        # writes $T/ekkod.conf (libconfig)
#   start_ekkod                     # -f -c $T/ekkod.conf, waits until ready
#   workers                         # worker pids of $EKKOD_PID, one a line
#   stop_ekkod                      # SIGTERM, wait, SIGKILL if needed

EKKO_BUILD=${EKKO_BUILD:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)/build}
EKKOD="$EKKO_BUILD/ekkod"
EKKO="$EKKO_BUILD/ekko"

ekko_setup() {
	T="$BATS_TEST_TMPDIR"
	EKKOD_PID=
	LOG="$T/ekkod.log"
	: > "$LOG"
}

ekko_teardown() {
	if [ -n "$EKKOD_PID" ]; then
		stop_ekkod || true
	fi
	# Anything a test started and recorded in $T/pids is stopped too.
	if [ -f "$T/pids" ]; then
		while read -r p; do kill -9 "$p" 2>/dev/null || true; done \
		    < "$T/pids"
	fi
}

# A free TCP port on loopback, chosen by the kernel.
free_port() {
	python3 - "$@" <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# Write the config from stdin to $T/ekkod.conf.
write_conf() {
	cat > "$T/ekkod.conf"
}

# Start ekkod in the foreground on $T/ekkod.conf (or $1), logging to
# $LOG; wait (bounded) until every worker reports ready in the log.
start_ekkod() {
	local conf=${1:-$T/ekkod.conf} i
	"$EKKOD" -f -c "$conf" >>"$LOG" 2>&1 &
	EKKOD_PID=$!
	echo "$EKKOD_PID" >> "$T/pids"
	for i in $(seq 1 100); do
		if grep -q "ready: " "$LOG"; then
			return 0
		fi
		if ! kill -0 "$EKKOD_PID" 2>/dev/null; then
			echo "ekkod exited during start:" >&2
			cat "$LOG" >&2
			EKKOD_PID=
			return 1
		fi
		sleep 0.05
	done
	echo "ekkod not ready after 5 s:" >&2
	cat "$LOG" >&2
	return 1
}

# Stop ekkod with SIGTERM and wait for it (bounded), else SIGKILL.
stop_ekkod() {
	local pid=$EKKOD_PID i
	[ -n "$pid" ] || return 0
	EKKOD_PID=
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 1
}

# Worker pids of the running master (children by parent PID), one a line.
workers() {
	pgrep -P "${1:-$EKKOD_PID}" | sort -n
}

# Wait (bounded, $2 tenths of a second, default 50) until command $1
# succeeds.
wait_for() {
	local i n=${2:-50}
	for i in $(seq 1 "$n"); do
		if eval "$1"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Send stdin to host:port (raw TCP), print what comes back until the
# server closes or $3 seconds (default 3) pass with nothing.
tcp_roundtrip() {
	python3 "$BATS_TEST_DIRNAME/tcpio.py" "$@"
}

# A STATS value from the command port $1 (binary protocol), key $2.
stat_of() {
	python3 "$BATS_TEST_DIRNAME/tcpio.py" --stats "$1" | \
	    awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }'
}
