# helper_proc.bash -- extra helpers for echo.bats, cli.bats, process.bats.
# Load after helper:   load helper; load helper_proc
#
#   ekko_py MODE ARGS...      tests/clients/echo.py (python3); exit 0 when
#                             every byte came back as expected, else 1 with
#                             a "FAIL: ..." line
#   wait_gone PID [TENTHS]    until PID no longer exists (bounded)
#   is_gone PID               PID does not exist or is a zombie
#   wait_status PID [TENTHS]  wait (bounded) for our child PID; its exit
#                             status in $EXIT_STATUS ("timeout" if none)
#   nworkers [PID]            number of worker processes of the master

# Is PID gone (no such process, or a zombie nobody reaped yet)?
is_gone() {
	local st
	kill -0 "$1" 2>/dev/null || return 0
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "$st" = Z ] || [ "$st" = X ] || [ -z "$st" ]
}

# Until PID is gone; $2 tenths of a second (default 100).
wait_gone() {
	wait_for "is_gone $1" "${2:-100}"
}

# Wait (bounded, $2 tenths, default 150) for our child PID to exit and
# set EXIT_STATUS to its status ("timeout" if it did not exit).
wait_status() {
	EXIT_STATUS=timeout
	wait_gone "$1" "${2:-150}" || return 1
	EXIT_STATUS=0
	wait "$1" 2>/dev/null || EXIT_STATUS=$?
}

# How many workers the master (default $EKKOD_PID) has.
nworkers() {
	pgrep -P "${1:-$EKKOD_PID}" | wc -l
}

# Run the echo-mode client tests/clients/echo.py.
ekko_py() {
	timeout 120 python3 "$BATS_TEST_DIRNAME/clients/echo.py" "$@"
}
