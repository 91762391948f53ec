#!/usr/bin/env bats
# The process model (SPEC section 4): workers under a supervising master,
# respawn with back-off, the hung-worker watchdog, and the signals.

load helper
load helper_proc

setup() { ekko_setup; }
teardown() { ekko_teardown; }

# Start ekkod with $1 workers (default 2), an echo port $P (raw), a line
# echo port $L and a command port $C; extra top-level config in $2.
start_proc() {
	read -r P L C <<< "$(free_ports 3 | tr '\n' ' ')"
	PIDFILE="$T/ekkod.pid"
	write_conf <<EOF
workers = ${1:-2};
pidfile = "$PIDFILE";
${2:-}
listeners = (
  { address = "127.0.0.1"; port = $P; mode = "echo"; framing = "raw"; },
  { address = "127.0.0.1"; port = $L; mode = "echo"; framing = "line"; },
  { address = "127.0.0.1"; port = $C; mode = "command"; framing = "length"; }
);
EOF
	start_ekkod
}

# One echo round trip on port $P; fails unless the bytes come back.
echo_ok() {
	local out
	out=$(printf 'ping %s\n' "$1" | timeout 10 python3 \
	    "$BATS_TEST_DIRNAME/ekkotest.py" roundtrip 127.0.0.1 "$P" 5)
	[ "$out" = "ping $1" ]
}

# A worker pid of the master that is not in the list $1, if any.
new_worker() {
	local p
	for p in $(workers); do
		case " $1 " in *" $p "*) ;; *) echo "$p"; return 0 ;; esac
	done
	return 1
}

# The test stops the master itself: $1 = signal; checks exit status 0,
# every worker gone, pidfile gone.
stop_with() {
	local pid=$EKKOD_PID ws w
	ws=$(workers)
	[ -s "$PIDFILE" ]
	kill -"$1" "$pid"
	wait_status "$pid" 150 || true
	EKKOD_PID=
	echo "exit status: $EXIT_STATUS"
	[ "$EXIT_STATUS" = 0 ]
	for w in $ws; do
		wait_gone "$w" 50
	done
	[ ! -e "$PIDFILE" ]
	grep -q "stopped" "$LOG"
}

@test "exactly 'workers' worker processes, children of the master" {
	start_proc 3
	[ "$(nworkers)" -eq 3 ]
	for w in $(workers); do
		[ "$(ps -o ppid= -p "$w" | tr -d ' ')" = "$EKKOD_PID" ]
	done
	grep -q "started: 3 workers, generation 1" "$LOG"
	grep -q "ready: 3 workers serving" "$LOG"
	[ "$(stat_of "$C" workers_configured)" = 3 ]
	[ "$(stat_of "$C" workers_running)" = 3 ]
	[ "$(stat_of "$C" pid)" = "$EKKOD_PID" ]
	# the scoreboard names the same pids
	run bash -c "python3 '$BATS_TEST_DIRNAME/ekkotest.py' stats $C | awk '\$1 ~ /^worker\\.[0-9]+\\.pid\$/ && \$2 != 0 { print \$2 }' | sort -n"
	[ "$output" = "$(workers)" ]
	[ "$(cat "$PIDFILE")" = "$EKKOD_PID" ]
	run bash -c "python3 '$BATS_TEST_DIRNAME/ekkotest.py' stats $C | awk '\$1 ~ /^worker\\.[0-9]+\\.state\$/ { print \$2 }' | sort | uniq -c | awk '{ print \$1, \$2 }'"
	[ "$output" = "3 serving" ]
}

@test "workers ignore the master's signals (HUP INT QUIT USR1 USR2 TTIN TTOU)" {
	start_proc 2
	ws=$(workers)
	w=$(workers | head -1)
	for sig in HUP INT QUIT USR1 USR2 TTIN TTOU; do
		kill -"$sig" "$w"
	done
	sleep 0.5
	kill -0 "$w"
	state=$(awk '{ print $3 }' "/proc/$w/stat")
	[ "$state" = S ] || [ "$state" = R ]
	[ "$(workers)" = "$ws" ]
	for i in 1 2 3 4 5 6; do echo_ok "$i"; done
	! grep -q "respawning" "$LOG"
	! grep -Eq "reload|stop requested|workers: " "$LOG"
}

@test "SIGKILL of a worker: logged, respawned, service continues, counted" {
	start_proc 2
	old=$(workers | tr '\n' ' ')
	victim=$(workers | head -1)
	kill -KILL "$victim"
	log_has "worker $victim \(slot [0-9]+, generation 1\) killed by SIGKILL; respawning"
	slot=$(grep -Eo "worker $victim \(slot [0-9]+" "$LOG" | grep -Eo '[0-9]+$')
	wait_for '[ "$(nworkers)" -eq 2 ] && new_worker "$old" >/dev/null'
	! workers | grep -qx "$victim"
	for i in $(seq 1 20); do
		echo_ok "$i"
	done
	wait_for '[ "$(stat_of "$C" respawns)" = 1 ]'
	[ "$(stat_of "$C" "worker.$slot.last_exit")" = "signal 9" ]
	[ "$(stat_of "$C" "worker.$slot.respawns")" = 1 ]
	[ "$(stat_of "$C" "worker.$slot.pid")" = "$(new_worker "$old")" ]
	[ "$(stat_of "$C" workers_running)" = 2 ]
}

@test "SIGTERM: master and workers gone, pidfile gone, exit status 0" {
	start_proc 2
	# open connections do not hold up a fast stop; they are closed
	python3 "$BATS_TEST_DIRNAME/clients/echo.py" hold 127.0.0.1 "$L" 3 20 > "$T/hold.out" &
	hold=$!
	echo "$hold" >> "$T/pids"
	wait_for 'grep -q held "$T/hold.out"'
	stop_with TERM
	grep -q "fast stop requested" "$LOG"
	wait_status "$hold" 100 || true
	cat "$T/hold.out"
	grep -qx "closed 3" "$T/hold.out"
	run timeout 10 nc -N 127.0.0.1 "$P" <<< "x"
	[ "$status" -ne 0 ] || [ -z "$output" ]
}

@test "SIGINT: master and workers gone, pidfile gone, exit status 0" {
	start_proc 3
	stop_with INT
	grep -q "fast stop requested" "$LOG"
}

@test "SIGQUIT: idle connection closed at once, a started message finishes, then exit 0" {
	start_proc 2 "shutdown_timeout = 10;"
	ws=$(workers)
	run ekko_py quit_mid 127.0.0.1 "$L" "$EKKOD_PID" "$C"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "graceful stop requested" "$LOG"
	# exits within shutdown_timeout (10 s), with status 0
	wait_status "$EKKOD_PID" 120 || true
	EKKOD_PID=
	[ "$EXIT_STATUS" = 0 ]
	for w in $ws; do wait_gone "$w" 50; done
	[ ! -e "$PIDFILE" ]
}

@test "SIGQUIT with nothing to finish stops at once with status 0" {
	start_proc 2 "shutdown_timeout = 30;"
	echo_ok 1
	kill -QUIT "$EKKOD_PID"
	# well before shutdown_timeout
	wait_status "$EKKOD_PID" 100 || true
	EKKOD_PID=
	[ "$EXIT_STATUS" = 0 ]
	[ ! -e "$PIDFILE" ]
}

@test "SIGUSR1 logs a statistics snapshot" {
	start_proc 2
	echo_ok 1
	! grep -q "stats: " "$LOG"
	kill -USR1 "$EKKOD_PID"
	log_has "stats: uptime [0-9]+, pid $EKKOD_PID, generation 1, "
	log_has "stats: worker\.0\.pid [0-9]+, worker\.0\.generation 1"
	log_has "stats: worker\.1\.pid [0-9]+, "
	# still serving, still two workers
	echo_ok 2
	[ "$(nworkers)" -eq 2 ]
}

@test "SIGTTIN adds a worker, SIGTTOU removes one, never fewer than 1" {
	start_proc 2
	kill -TTIN "$EKKOD_PID"
	log_has "workers: 3$"
	wait_for '[ "$(nworkers)" -eq 3 ]'
	wait_for '[ "$(stat_of "$C" workers_configured)" = 3 ]'
	for n in 2 1; do
		kill -TTOU "$EKKOD_PID"
		log_has "workers: $n$"
		wait_for "[ \"\$(nworkers)\" -eq $n ]" 150
		wait_for "[ \"\$(stat_of \"\$C\" workers_configured)\" = $n ]"
	done
	echo_ok one
	# at one worker, TTOU is refused; USR1 behind it proves it was read
	kill -TTOU "$EKKOD_PID"
	kill -USR1 "$EKKOD_PID"
	log_has "stats: uptime"
	sleep 0.5
	[ "$(nworkers)" -eq 1 ]
	[ "$(stat_of "$C" workers_configured)" = 1 ]
	! grep -q "workers: 0" "$LOG"
	echo_ok still
	# and it can grow again
	kill -TTIN "$EKKOD_PID"
	log_has "workers: 2$"
	wait_for '[ "$(nworkers)" -eq 2 ]'
	# a removed worker is not "respawned"
	! grep -q "respawning" "$LOG"
	[ "$(stat_of "$C" respawns)" = 0 ]
}

@test "signals in quick succession are all honoured, in order" {
	start_proc 2
	# POSIX does not queue a standard signal twice: two TTIN sent before
	# the master reads the first are one.  So a repeated signal waits
	# for the effect of the previous one; different signals go at once.
	kill -TTIN "$EKKOD_PID"; kill -USR1 "$EKKOD_PID"
	log_has "workers: 3$"
	log_has "stats: uptime"
	kill -TTIN "$EKKOD_PID"
	log_has "workers: 4$"
	kill -TTOU "$EKKOD_PID"; kill -USR1 "$EKKOD_PID"
	wait_for '[ "$(grep -c "workers: 3$" "$LOG")" -eq 2 ]'
	wait_for '[ "$(grep -c "stats: uptime" "$LOG")" -eq 2 ]'
	# the resize lines are in the order the signals were sent
	run bash -c "grep -Eo 'workers: [0-9]+$' '$LOG' | tr '\\n' ' '"
	[ "$output" = "workers: 3 workers: 4 workers: 3 " ]
	wait_for '[ "$(nworkers)" -eq 3 ]' 150
	[ "$(stat_of "$C" workers_configured)" = 3 ]
	for i in 1 2 3 4 5; do echo_ok "$i"; done
}

@test "a worker that keeps dying at once is respawned with back-off, logged once" {
	start_proc 2
	seen=$(workers | tr '\n' ' ')
	# the first victim is an old worker, then each newest one
	w=$(workers | head -1)
	kill -KILL "$w"
	kills=1
	max=0
	deadline=$((SECONDS + 40))
	while [ "$kills" -lt 10 ] && [ "$SECONDS" -lt "$deadline" ]; do
		if w=$(new_worker "$seen"); then
			kill -KILL "$w"
			seen="$seen $w"
			kills=$((kills + 1))
		else
			sleep 0.02
		fi
		n=$(nworkers)
		[ "$n" -le "$max" ] || max=$n
	done
	echo "kills: $kills, most workers at once: $max"
	[ "$kills" -eq 10 ]
	# never more processes than configured: no fork bomb
	[ "$max" -le 2 ]
	log_has "respawn throttled: [0-9]+ workers died within 1000 ms of starting; respawning after a delay growing to 30 s"
	[ "$(grep -c "respawn throttled" "$LOG")" -eq 1 ]
	[ "$(grep -c "killed by SIGKILL; respawning" "$LOG")" -eq 10 ]
	# the slot waits in back-off; the other worker keeps serving
	run bash -c "python3 '$BATS_TEST_DIRNAME/ekkotest.py' stats $C | grep -E '^worker\.[0-9]+\.state backoff$'"
	[ "$status" -eq 0 ]
	for i in 1 2 3; do echo_ok "$i"; done
	[ "$(stat_of "$C" respawns)" -ge 9 ]
}

@test "a hung worker (SIGSTOP) is killed within worker_timeout and replaced" {
	ulimit -c 0		# the SIGABRT must not leave a core here
	start_proc 2 "worker_timeout = 2;"
	old=$(workers | tr '\n' ' ')
	victim=$(workers | head -1)
	other=$(workers | tail -1)
	echo "$victim" >> "$T/pids"
	kill -STOP "$victim"
	# worker_timeout 2 s + 1 s for the heartbeat, plus generous slack
	log_has "worker $victim \(slot [0-9]+\) hung: no heartbeat for [0-9.]+ s; sending SIGABRT" 90
	wait_gone "$victim" 60
	log_has "worker $victim \(slot [0-9]+, generation 1\) killed by SIG(ABRT|KILL).* after hanging; respawning" 30
	wait_for '[ "$(nworkers)" -eq 2 ] && new_worker "$old" >/dev/null' 60
	for i in $(seq 1 10); do echo_ok "$i"; done
	# the other worker never hung
	kill -0 "$other"
	[ "$(grep -c " hung: " "$LOG")" -eq 1 ]
}
