# helper.bash -- shared by every bats file: start the real ekkod in a
# throwaway directory on free ports, talk to it, stop it by PID.
#
#   load helper
#   setup()    { ekko_setup; }
#   teardown() { ekko_teardown; }
#
#   P1=$(free_port); free_ports N  # kernel-chosen loopback ports
#   write_conf <<EOF ... EOF        # writes $T/ekkod.conf (libconfig)
#   start_ekkod [CONF]              # -f -c $T/ekkod.conf, waits until ready
#   start_ekkod_ulimit N            # the same under ulimit -n N
#   ekkod_started PID / ekkod_record PID   # a master started by hand
#   workers                         # worker pids of $EKKOD_PID, one a line
#   stop_ekkod                      # SIGTERM, wait, SIGKILL if needed
#   wait_for CMD [TENTHS]           # until CMD succeeds (bounded)
#   log_has REGEX [TENTHS]          # until $LOG matches REGEX (bounded)
#   tcp_roundtrip HOST PORT [IDLE]  # stdin to a raw TCP port, replies out
#   stats_of PORT                   # the STATS text of a command port
#   stat_of PORT KEY                # one STATS value ("" if none)
#   stats_get TEXT KEY              # one value of a STATS text
#   wait_stat PORT KEY TENTHS WANT  # until a STATS value is WANT (bounded)
#   stats_keys global|worker|state  # the one list, tests/stats_keys.txt
#   client NAME ARGS...             # tests/clients/NAME.py ARGS
#   ekkotest ARGS...                # tests/ekkotest.py, the client library

# The python clients leave no __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1

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

# The client library (tests/ekkotest.py) as a command.
ekkotest() {
	python3 "$BATS_TEST_DIRNAME/ekkotest.py" "$@"
}

# $1 distinct free TCP ports on loopback, one a line: all are held open
# at once while the kernel picks them, so no two are the same.
free_ports() {
	local ports
	ports=$(ekkotest free-ports "$1")
	[ -z "${BATS_TEST_TMPDIR:-}" ] ||
	    echo "$ports" >>"$BATS_TEST_TMPDIR/.ports"
	echo "$ports"
}

# A free TCP port on loopback, chosen by the kernel, and none this test
# was given already: the kernel may hand a closed port out again at
# once, and two listeners on one port make a config ekkod refuses.
free_port() {
	local seen="${BATS_TEST_TMPDIR:-}/.ports" p i
	for ((i = 0; i < 20; i++)); do
		p=$(ekkotest free-ports 1)
		[ -n "${BATS_TEST_TMPDIR:-}" ] || break
		grep -qx "$p" "$seen" 2>/dev/null || break
	done
	[ -z "${BATS_TEST_TMPDIR:-}" ] || echo "$p" >>"$seen"
	echo "$p"
}

# Write the config from stdin to $T/ekkod.conf.
write_conf() {
	cat > "$T/ekkod.conf"
}

# Start ekkod in the foreground on $T/ekkod.conf (or $1), logging to
# $LOG; wait (bounded) until every worker reports ready in the log.
start_ekkod() {
	"$EKKOD" -f -c "${1:-$T/ekkod.conf}" >>"$LOG" 2>&1 &
	ekkod_started $!
}

# Start ekkod as start_ekkod does, under a soft descriptor limit of $1
# (a subshell with ulimit -n).
start_ekkod_ulimit() {
	(ulimit -n "$1"; exec "$EKKOD" -f -c "$T/ekkod.conf") >>"$LOG" 2>&1 &
	ekkod_started $!
}

# Record $1 as the ekkod master just started (teardown stops it).
ekkod_record() {
	EKKOD_PID=$1
	echo "$EKKOD_PID" >> "$T/pids"
}

# Record $1 as the ekkod master just started and wait (bounded, 5 s)
# until it logs that its workers are ready; fail if it exits first.
ekkod_started() {
	local i
	ekkod_record "$1"
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

# Until $LOG has a line matching the extended regex $1; $2 tenths of a
# second (default 100).
log_has() {
	_log_has_re=$1
	wait_for 'grep -Eq -- "$_log_has_re" "$LOG"' "${2:-100}"
}

# Run scenario client tests/clients/$1.py with the remaining arguments.
client() {
	local name=$1
	shift
	python3 "$BATS_TEST_DIRNAME/clients/$name.py" "$@"
}

# Send stdin to host:port (raw TCP), print what comes back until the
# server closes or $3 seconds (default 3) pass with nothing.
tcp_roundtrip() {
	ekkotest roundtrip "$@"
}

# STATS as "key value" lines from the binary command port $1.
stats_of() {
	ekkotest stats "$1"
}

# The value of key $2 in the "key value" text $1; fails if it is absent.
stats_get() {
	printf '%s\n' "$1" | awk -v k="$2" \
	    '$1 == k { $1 = ""; sub(/^ /, ""); print; found = 1; exit }
	     END { exit !found }'
}

# A STATS value from the command port $1 (binary protocol), key $2;
# empty if the port does not answer or has no such key.
stat_of() {
	stats_get "$(stats_of "$1" 2>/dev/null)" "$2" || true
}

# The STATS keys of kind $1 (global, worker or state), one a line, from
# the one list tests/stats_keys.txt.
stats_keys() {
	awk -v k="$1" '$1 == k { print $2 }' "$BATS_TEST_DIRNAME/stats_keys.txt"
}

# Wait (bounded, $3 tenths) until STATS key $2 on port $1 equals $4.
wait_stat() {
	local port=$1 key=$2 n=$3 want=$4 _ v
	for _ in $(seq 1 "$n"); do
		v=$(stat_of "$port" "$key")
		[ "$v" = "$want" ] && return 0
		sleep 0.1
	done
	echo "STATS $key is '$v', want '$want'" >&2
	return 1
}
