# helper_limits.bash -- hostile clients for tests/limits.bats.
#
#   load helper
#   load helper_limits
#   setup() { ekko_setup; lim_setup; }
#
# lim_setup names the clients (tests/clients/limits.py, $LIMPY); run one
# as `python3 "$LIMPY" COMMAND ARGS...`.  Every client checks what it
# sees itself, prints what it measured, and exits 1 with a "FAIL: ..."
# line when the daemon misbehaves.

lim_setup() {
	LIMPY="$BATS_TEST_DIRNAME/clients/limits.py"
}

# Wait (bounded, $2 tenths) until the master has exactly $1 workers and
# STATS (command port $3) shows them all serving.
lim_wait_workers() {
	local want=$1 n=$2 port=$3 _
	for _ in $(seq 1 "$n"); do
		if [ "$(workers | wc -l)" -eq "$want" ] &&
		    [ "$(stat_of "$port" workers_running)" = "$want" ] &&
		    [ "$(stats_of "$port" 2>/dev/null |
		    grep -c '^worker\.[0-9]*\.state serving$')" -eq "$want" ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "workers: $(workers | tr '\n' ' '); STATS:" >&2
	stats_of "$port" >&2 || true
	return 1
}

# Create the system user and group "ekkotest" if missing.  Idempotent,
# and safe when two runs race to create it.
lim_ensure_ekkotest() {
	local _
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		if id ekkotest >/dev/null 2>&1 && getent group ekkotest \
		    >/dev/null; then
			return 0
		fi
		useradd --system --no-create-home --shell /usr/sbin/nologin \
		    --user-group ekkotest >/dev/null 2>&1 || true
		sleep 0.2
	done
	id ekkotest >/dev/null 2>&1
}

# The four Uid: (or Gid:) fields of /proc/$1/status, space separated.
lim_ids() {
	awk -v k="$2:" '$1 == k { print $2, $3, $4, $5 }' "/proc/$1/status"
}

# The Groups: line of /proc/$1/status, without the key.
lim_groups() {
	awk '$1 == "Groups:" { $1 = ""; sub(/^ /, ""); print }' \
	    "/proc/$1/status"
}
