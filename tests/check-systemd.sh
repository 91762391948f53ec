#!/bin/bash
# check-systemd.sh -- the Debian package under a real systemd: a minimal
# bookworm root (mmdebstrap, cached under BUILD keyed by its package
# list) is copied for this run and booted with systemd-nspawn, its own
# network namespace (every byte stays on the container's loopback); the
# .deb is installed with dpkg -i and twelve checks run against systemd
# 252 as PID 1, among them "ekkod -s upgrade" by hand and a package
# upgrade and downgrade under load (to a 1.0.1 package built meanwhile,
# in the background, from a copy of the tree into BUILD/systemd-next.*).
# Prints TAP, each check with its evidence as "#" lines, and "N passed,
# N failed"; exits 1 on any failure.  The container, its cgroups, its
# copy of the root, the 1.0.1 build (its process group and directory) and
# /run/systemd/nspawn entries are removed at the end, whatever happened.
# Usage (as root): check-systemd.sh DEB BUILDDIR
set -u
deb=${1:?usage: check-systemd.sh DEB BUILDDIR}
build=${2:?usage: check-systemd.sh DEB BUILDDIR}
suite=bookworm
pkgs=systemd,systemd-sysv,dbus,libconfig9,procps,netcat-openbsd,iproute2
conf=/etc/ekko/ekkod.conf
n=0
pass=0
fail=0
name="ekko-check-$$-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
work=
nspawn=
pid1=
cgroups=
nextdir=
builder=
poller=

# ---- TAP ----

ev() { printf '%s\n' "$@"; }
result() {	# result OK|"" "name"
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
		pass=$((pass + 1))
	else
		echo "not ok $n - $2"
		fail=$((fail + 1))
	fi
}
# check "name" function: run it, evidence lines go to stdout as "#".
check() {
	local what=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	result "$rc" "$what"
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/#   /'
	return 0
}
finish() {
	echo "1..$n"
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
	exit
}
bail() {
	echo "Bail out! $*"
	fail=$((fail + 1))
	finish
}

# ---- the container ----

# The cgroup hierarchies nspawn places a container in: the named
# "systemd" one and the unified one (hybrid), or cgroup2 alone.
cgroup_roots() {
	if [ -d /sys/fs/cgroup/unified ]; then
		echo /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
	else
		echo /sys/fs/cgroup
	fi
}

# Every process still in this run's cgroups.
cgroup_pids() {
	local c
	for c in $cgroups; do
		[ -d "$c" ] && find "$c" -name cgroup.procs -exec cat {} + \
		    2>/dev/null
	done | sort -u
}

# shellcheck disable=SC2317 # called by the trap
cleanup() {
	local i c m
	trap - EXIT INT TERM
	if [ -n "$builder" ] && kill -0 "$builder" 2>/dev/null; then
		kill -TERM -- "-$builder" 2>/dev/null	# its process group
		wait "$builder" 2>/dev/null
	fi
	[ -n "$nextdir" ] && rm -rf "$nextdir"
	if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
		kill -TERM "$nspawn" 2>/dev/null	# halt the container
		for i in $(seq 100); do
			kill -0 "$nspawn" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$nspawn" 2>/dev/null
		wait "$nspawn" 2>/dev/null
	fi
	for i in 1 2 3; do
		for c in $(cgroup_pids); do kill -KILL "$c" 2>/dev/null; done
		[ -z "$(cgroup_pids)" ] && break
		sleep 0.2
	done
	for c in $cgroups; do
		[ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + \
		    2>/dev/null
	done
	if [ -n "$work" ]; then
		grep -F " $work/" /proc/mounts | awk '{ print $2 }' |
		    sort -r | while read -r m; do umount -l "$m"; done
		rm -rf "$work"
	fi
	for m in /run/systemd/nspawn/propagate/"$name" \
	    /run/systemd/nspawn/unix-export/"$name"; do
		[ -e "$m" ] && { umount -l "$m" 2>/dev/null; rm -rf "$m"; }
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The cached root for this package list, built once (into a private
# directory, then renamed: two runs building at once do not clash).
cached_root() {
	local key dir tmp
	key=$(printf '%s %s %s\n' "$suite" apt "$pkgs" | sha256sum | cut -c1-12)
	dir="$build/systemd-root-$key"
	if [ ! -x "$dir/usr/lib/systemd/systemd" ]; then
		tmp="$build/systemd-root-$key.tmp.$$"
		echo "# building $dir (mmdebstrap $suite: $pkgs)" >&2
		if ! mmdebstrap --quiet --variant=apt --include="$pkgs" \
		    "$suite" "$tmp" >&2; then
			rm -rf "$tmp"
			return 1
		fi
		mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
	fi
	echo "$dir"
}

# Boot a copy of the cached root; set pid1 to the container's systemd.
boot() {
	local root=$1 c i
	work=$(mktemp -d "$build/systemd-run.XXXXXX")
	cp -a --reflink=auto "$root" "$work/root" || return 1
	for c in $(cgroup_roots); do
		mkdir "$c/$name" || return 1
		cgroups="$cgroups $c/$name"
	done
	# the launcher moves itself into this run's cgroups, so that the
	# container's cgroups (payload/, supervisor/) are this run's alone
	# shellcheck disable=SC2016
	setsid sh -c 'for c in $1; do echo $$ > "$c/cgroup.procs"; done
	    shift; exec "$@"' sh "$cgroups" \
	    systemd-nspawn -q -D "$work/root" -b --register=no --keep-unit \
	    --private-network --console=pipe -M "$name" \
	    </dev/null >"$work/console.log" 2>&1 &
	nspawn=$!
	c=$(echo "$cgroups" | xargs | cut -d ' ' -f 1)
	for i in $(seq 100); do
		pid1=$(cat "$c/payload/init.scope/cgroup.procs" 2>/dev/null |
		    head -n 1)
		[ -n "$pid1" ] && break
		kill -0 "$nspawn" 2>/dev/null || return 1
		sleep 0.1
	done
	[ -n "$pid1" ] || return 1
	for i in $(seq 200); do
		case $(in_ct systemctl is-system-running 2>/dev/null) in
		running) return 0 ;;
		degraded) in_ct systemctl --failed --no-legend >&2
			return 0 ;;
		esac
		sleep 0.1
	done
	return 1
}

# Run a command inside the container, with a clean environment.
in_ct() {
	nsenter -t "$pid1" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    LANG=C.UTF-8 "$@"
}
sh_ct() { in_ct sh -c "$1"; }

# Wait (bounded, $1 tenths of a second) until shell code $2, run in the
# container, succeeds.
wait_ct() {
	local i
	for i in $(seq "$1"); do
		sh_ct "$2" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

prop() { in_ct systemctl show -p "$2" --value "$1"; }
main_pid() { prop ekkod MainPID; }
restarts() { prop ekkod NRestarts; }

# Echo "$1" through port 8888 (raw framing) inside the container.
echo_8888() {
	# shellcheck disable=SC2016
	[ "$(in_ct sh -c 'printf "%s\n" "$1" | timeout 5 nc -N -w 3 \
	    127.0.0.1 8888' sh "$1")" = "$1" ]
}

# The journal of ekkod.service (messages only), after a flush.
journal() {
	in_ct journalctl --sync 2>/dev/null
	in_ct journalctl -q -u ekkod -o cat "$@"
}

# Build, in the background, the package of a later version (VERSION
# 1.0.1 in the Makefile, 1.0.1-1 in the changelog) from a copy of the
# source tree, into $nextdir; nothing is cached or changed in the tree.
# Its own process group ($builder), so that cleanup can end all of it.
next_deb_start() {
	local top
	top=$(cd "$(dirname "$0")/.." && pwd)
	nextdir=$(mktemp -d "$(cd "$build" && pwd)/systemd-next.XXXXXX")
	# shellcheck disable=SC2016
	setsid sh -c 'top=$1 d=$2
	    (set -e
	    mkdir "$d/src"
	    (cd "$top" && tar -cf - --exclude=./.git --exclude=./build \
	        --exclude=./build-san --exclude=./build-fuzz \
	        --exclude=./debian .) | tar -C "$d/src" -xf -
	    sed -i "s/^VERSION\([[:space:]]*\):= .*/VERSION\1:= 1.0.1/" \
	        "$d/src/Makefile"
	    grep -q "^VERSION[[:space:]]*:= 1.0.1$" "$d/src/Makefile"
	    { printf "ekko (1.0.1-1) unstable; urgency=medium\n\n"
	      printf "  * check-systemd: a later version to upgrade to.\n\n"
	      printf " -- ekko developers <ekko-dev@example.org>  %s\n\n" \
	          "$(date -R)"
	      cat "$top/packaging/debian/changelog"
	    } > "$d/src/packaging/debian/changelog"
	    sh "$d/src/packaging/build-deb.sh" "$d/out")
	    echo $? > "$d/status"' sh "$top" "$nextdir" \
	    </dev/null >"$nextdir/build.log" 2>&1 &
	builder=$!
}

# Wait for that build (at most 10 minutes); the .deb's path.  (A check
# runs in a subshell, to which the builder is no child: no "wait".)
next_deb() {
	local i
	for i in $(seq 6000); do
		[ -s "$nextdir/status" ] && break
		sleep 0.1
	done
	[ "$(cat "$nextdir/status" 2>/dev/null)" = 0 ] ||
	    { tail -n 20 "$nextdir/build.log" >&2; return 1; }
	ls "$nextdir"/out/ekko_1.0.1-1_*.deb
}

# Record ekkod's ActiveState, SubState and MainPID every 0.1 s inside the
# container, into $work/states, until poll_stop (or $1 seconds at most).
poll_start() {
	local i
	in_ct rm -f /root/poll.stop
	# shellcheck disable=SC2016
	in_ct sh -c 'end=$(($(date +%s) + $1))
	    while [ "$(date +%s)" -lt "$end" ] && [ ! -e /root/poll.stop ]; do
		systemctl show -p ActiveState -p SubState -p MainPID ekkod |
		    sort | tr "\n" " "
		echo
		sleep 0.1
	    done' sh "$1" >"$work/states" 2>&1 &
	poller=$!
	for i in $(seq 50); do	# the first sample is taken
		[ -s "$work/states" ] && break
		sleep 0.1
	done
}
# Stop recording; print the distinct states seen, in order; fail if any
# was not active/running.
poll_stop() {
	in_ct touch /root/poll.stop
	wait "$poller"
	poller=
	uniq "$work/states" | sed 's/^/  seen: /'
	[ -s "$work/states" ] &&
	    ! grep -qv "ActiveState=active MainPID=[1-9][0-9]* SubState=running" \
	    "$work/states"
}

# ekkod and nothing else: MainPID $1 and its children, at least 3.
only_generation() {
	local p n=0
	for p in $(in_ct pgrep -x ekkod); do
		n=$((n + 1))
		[ "$p" = "$1" ] ||
		    [ "$(in_ct ps -o ppid= -p "$p" | tr -d ' ')" = "$1" ] ||
		    return 1
	done
	[ "$n" -ge 3 ]
}

# ---- the checks ----

# 1. dpkg -i starts the service: active, workers run as ekko with no
# capabilities, StatusText is the live STATUS line.
t_start() {
	local ok=0 p caps
	in_ct dpkg -i /root/ekko.deb >/dev/null || { ev "dpkg -i failed"; return 1; }
	wait_ct 50 'systemctl is-active -q ekkod &&
	    systemctl show -p StatusText --value ekkod | grep -q workers' ||
	    ok=1
	ev "is-active: $(in_ct systemctl is-active ekkod)" \
	    "StatusText: $(prop ekkod StatusText)"
	for p in $(in_ct pgrep -x ekkod); do
		caps=$(in_ct awk '/^CapEff|^CapPrm/ { printf "%s ", $2 }' \
		    "/proc/$p/status")
		ev "pid $p user $(in_ct ps -o user= -p "$p") caps $caps"
		in_ct ps -o user= -p "$p" | grep -qx ekko || ok=1
		[ "$caps" = "0000000000000000 0000000000000000 " ] || ok=1
	done
	[ "$(in_ct pgrep -x ekkod | wc -l)" -ge 3 ] || ok=1
	return $ok
}

# 2. echo on 8888 and ekko ping on 8889, inside the container.
t_serve() {
	local out
	echo_8888 "hello from the container" || { ev "no echo on 8888"; return 1; }
	ev "echo 8888: hello from the container"
	out=$(in_ct timeout 10 ekko ping -c 2 -i 0.1 2>&1)
	ev "$out"
	printf '%s\n' "$out" | grep -q "2 received\|2 replies\|time="
}

# 3. reload with a good config: new generation, same MainPID, Reloaded.
t_reload_good() {
	local pid
	pid=$(main_pid)
	in_ct systemctl reload ekkod || { ev "systemctl reload failed"; return 1; }
	wait_ct 50 'systemctl show -p StatusText --value ekkod |
	    grep -q "generation 2"' || { ev "StatusText: $(prop ekkod StatusText)"; return 1; }
	ev "MainPID $pid -> $(main_pid)" "StatusText: $(prop ekkod StatusText)" \
	    "journal: $(journal | grep -m1 'Reloaded')"
	[ "$(main_pid)" = "$pid" ] && journal | grep -q "Reloaded"
}

# 4. reload with a config the master refuses (it parses, but a listener
# cannot be bound): systemctl reload fails, the service keeps serving,
# the journal has the error at warning, StatusText keeps "reload failed"
# past the next periodic update (5 s), until the next good reload.
t_reload_refused() {
	local ok=0 rc st
	in_ct cp "$conf" /root/good.conf
	# 192.0.2.1 (TEST-NET-1) is no address of the container
	sh_ct "sed -i 's/address = \"127.0.0.1\"; port = 8889/address = \"192.0.2.1\"; port = 8889/' $conf"
	in_ct grep -q 192.0.2.1 "$conf" || { ev "could not edit $conf"; return 1; }
	in_ct systemctl reload ekkod 2>/dev/null
	rc=$?
	ev "systemctl reload: exit $rc"
	[ "$rc" != 0 ] || ok=1
	ev "is-active: $(in_ct systemctl is-active ekkod)"
	in_ct systemctl is-active -q ekkod || ok=1
	echo_8888 still || { ev "no echo after the refused reload"; ok=1; }
	st=$(journal -p warning..warning | grep -m1 "reload failed")
	ev "journal (warning): $st"
	[ -n "$st" ] || ok=1
	ev "StatusText: $(prop ekkod StatusText)"
	prop ekkod StatusText | grep -q "^reload failed: .*192.0.2.1" || ok=1
	sleep 6
	ev "StatusText 6 s later: $(prop ekkod StatusText)"
	prop ekkod StatusText | grep -q "^reload failed: .*192.0.2.1" || ok=1
	in_ct cp /root/good.conf "$conf"
	in_ct systemctl reload ekkod || { ev "good reload failed"; ok=1; }
	ev "after a good reload: $(prop ekkod StatusText)"
	prop ekkod StatusText | grep -q "^[0-9]* workers, generation 3" || ok=1
	return $ok
}

# 4b. a config that does not parse: systemctl reload fails, the service
# keeps serving, the error is in the journal at warning or above.
t_reload_unparsable() {
	local ok=0 rc
	sh_ct "echo 'bogus = 1;' >> $conf"
	in_ct systemctl reload ekkod 2>/dev/null
	rc=$?
	ev "systemctl reload: exit $rc, is-active: $(in_ct systemctl is-active ekkod)"
	[ "$rc" != 0 ] || ok=1
	in_ct systemctl is-active -q ekkod || ok=1
	echo_8888 still || { ev "no echo after the refused reload"; ok=1; }
	ev "journal (warning and above): $(journal -p warning | grep -m1 'unknown key')"
	journal -p warning | grep -q 'unknown key "bogus"' || ok=1
	in_ct cp /root/good.conf "$conf"
	return $ok
}

# 5. each line once in the journal, at its own priority: no stderr copy
# ("ekkod[PID]: ..." at info) beside the syslog line.
t_journal_once() {
	local ok=0 pid copies started
	pid=$(main_pid)
	copies=$(journal | grep -c '^ekkod\[[0-9]*\]: ')
	started=$(journal _PID="$pid" | grep -c "^started: ")
	ev "journal lines in the stderr copy's form: $copies" \
	    "\"started:\" lines of MainPID $pid: $started" \
	    "reload failed at info: $(journal -p info..info | grep -c 'reload failed')"
	[ "$copies" = 0 ] && [ "$started" = 1 ] &&
	    [ "$(journal -p info..info | grep -c 'reload failed')" = 0 ] || ok=1
	return $ok
}

# 6. watchdog: healthy (no restart, WatchdogTimestamp advancing); a
# stopped master is killed by systemd's watchdog and restarted; a stopped
# worker is handled by ekkod's own watchdog, no service restart.
t_watchdog() {
	local ok=0 r0 w0 w1 pid wpid
	sh_ct "mkdir -p /run/systemd/system/ekkod.service.d &&
	    printf '[Service]\nWatchdogSec=3\n' \
	    > /run/systemd/system/ekkod.service.d/check.conf &&
	    sed -i 's/^worker_timeout = .*/worker_timeout = 2;/' $conf &&
	    systemctl daemon-reload && systemctl restart ekkod" ||
	    { ev "restart with WatchdogSec=3 failed"; return 1; }
	r0=$(restarts)
	w0=$(prop ekkod WatchdogTimestampMonotonic)
	sleep 4
	w1=$(prop ekkod WatchdogTimestampMonotonic)
	ev "healthy 4 s: NRestarts $r0 -> $(restarts), WatchdogTimestamp $w0 -> $w1"
	[ "$(restarts)" = "$r0" ] && [ "$w1" -gt "$w0" ] || ok=1
	# a worker stopped: ekkod's watchdog (worker_timeout 2 s)
	pid=$(main_pid)
	wpid=$(in_ct pgrep -P "$pid" | head -n 1)
	in_ct kill -STOP "$wpid"
	wait_ct 80 "! kill -0 $wpid 2>/dev/null" || ok=1
	wait_ct 30 "[ \$(pgrep -P $pid | wc -l) -ge 2 ]" || ok=1
	ev "worker $wpid stopped: $(journal | grep -m1 "worker $wpid .*hung")" \
	    "MainPID $pid -> $(main_pid), NRestarts $r0 -> $(restarts)"
	[ "$(main_pid)" = "$pid" ] && [ "$(restarts)" = "$r0" ] || ok=1
	echo_8888 "after a hung worker" || { ev "no echo"; ok=1; }
	# the master stopped: systemd's watchdog (3 s) kills and restarts
	in_ct kill -STOP "$pid"
	wait_ct 150 "[ \"\$(systemctl show -p NRestarts --value ekkod)\" -gt $r0 ] &&
	    systemctl is-active -q ekkod" || ok=1
	ev "master $pid stopped: $(journal | grep -m1 'Watchdog timeout')" \
	    "MainPID $pid -> $(main_pid), NRestarts $r0 -> $(restarts)"
	[ "$(main_pid)" != "$pid" ] || ok=1
	wait_ct 50 "printf 'x\n' | timeout 2 nc -N -w 1 127.0.0.1 8888 | grep -q x" ||
	    { ev "no echo after the restart"; ok=1; }
	return $ok
}

# 7. stop is graceful and quick; kill -9 of the master restarts it;
# "ekkod -s quit" ends the service without a restart.
t_stop() {
	local ok=0 t0 t1 r0 pid
	t0=$(date +%s%N)
	in_ct systemctl stop ekkod
	t1=$(date +%s%N)
	ev "systemctl stop: $(( (t1 - t0) / 1000000 )) ms, Result=$(prop ekkod Result), $(journal | tail -n 3 | tr '\n' '|')"
	[ $(( (t1 - t0) / 1000000 )) -lt 5000 ] || ok=1
	[ "$(prop ekkod Result)" = success ] || ok=1
	journal | grep -q "graceful stop requested" ||
	    { ev "systemctl stop was not a graceful stop (QUIT)"; ok=1; }
	[ -z "$(in_ct pgrep -x ekkod)" ] || { ev "ekkod left running"; ok=1; }
	in_ct systemctl start ekkod || ok=1
	r0=$(restarts)
	pid=$(main_pid)
	in_ct kill -KILL "$pid"
	wait_ct 50 "[ \"\$(systemctl show -p NRestarts --value ekkod)\" -gt $r0 ] &&
	    systemctl is-active -q ekkod" || ok=1
	ev "kill -9 $pid: MainPID -> $(main_pid), NRestarts $r0 -> $(restarts)"
	r0=$(restarts)
	in_ct ekkod -s quit -c "$conf" || { ev "ekkod -s quit failed"; ok=1; }
	wait_ct 100 "! systemctl is-active -q ekkod" || ok=1
	sleep 2
	ev "ekkod -s quit: $(in_ct systemctl is-active ekkod), Result=$(prop ekkod Result), NRestarts $r0 -> $(restarts)"
	[ "$(in_ct systemctl is-active ekkod)" = inactive ] || ok=1
	[ "$(restarts)" = "$r0" ] || ok=1
	return $ok
}

# 8. socket activation, with the README's instructions: the service
# starts on the first connection, adopts both sockets, serves, reloads.
t_socket() {
	local ok=0
	in_ct systemctl start ekkod	# as after installation
	sh_ct "systemctl disable --now ekkod.service &&
	    systemctl enable --now ekkod.socket" 2>&1 ||
	    { ev "the README's commands failed"; return 1; }
	ev "after enable --now: socket $(in_ct systemctl is-active ekkod.socket), service $(in_ct systemctl is-active ekkod)"
	[ "$(in_ct systemctl is-active ekkod)" = inactive ] || ok=1
	echo_8888 "activated" || { ev "no echo through the socket"; ok=1; }
	wait_ct 50 'systemctl is-active -q ekkod' || ok=1
	ev "after a connection: service $(in_ct systemctl is-active ekkod)" \
	    "journal: $(journal | grep -m1 'adopting.*from systemd')"
	journal | grep -q "adopting 2 socket(s) from systemd" || ok=1
	in_ct timeout 10 ekko ping -c 1 >/dev/null || { ev "no ping on 8889"; ok=1; }
	in_ct systemctl reload ekkod || { ev "reload failed"; ok=1; }
	ev "after reload: $(prop ekkod StatusText)"
	prop ekkod StatusText | grep -q "generation 2" || ok=1
	echo_8888 "after reload" || ok=1
	return $ok
}

# 7a. ekkod -s upgrade by hand (SIGUSR2, section 4a), with t_watchdog's
# WatchdogSec=3: the service never leaves active/running, MainPID moves
# to the new master (the pid printed and in the pidfile), no restart,
# the old master goes, the new one serves, is the one systemctl status
# shows, keeps the watchdog fed (WatchdogTimestamp advances, no kill in
# 2 x WatchdogSec) and reloads under systemctl reload.
t_upgrade() {
	local ok=0 old new out rc r0 w0 w1 wd g0 g1 k0
	in_ct cp /root/good.conf "$conf"
	# a manual restart: NRestarts back to 0, t_watchdog's kill forgotten
	in_ct systemctl restart ekkod || { ev "systemctl restart failed"; return 1; }
	wait_ct 50 'systemctl is-active -q ekkod' || { ev "not active"; return 1; }
	r0=$(restarts)
	old=$(main_pid)
	k0=$(journal | grep -c 'Watchdog timeout')
	wd=$(( $(prop ekkod WatchdogUSec | sed 's/s$//') ))
	poll_start 60
	out=$(in_ct timeout 60 ekkod -s upgrade -c "$conf" 2>&1)
	rc=$?
	new=$(printf '%s\n' "$out" | sed -n 's/.*upgraded: pid \([0-9]*\).*/\1/p')
	wait_ct 100 "! kill -0 $old 2>/dev/null" || { ev "old master $old still there"; ok=1; }
	w0=$(prop ekkod WatchdogTimestampMonotonic)
	ev "ekkod -s upgrade: exit $rc: $out" \
	    "MainPID $old -> $(main_pid), pidfile $(in_ct cat /run/ekko/ekkod.pid), NRestarts $r0 -> $(restarts), WatchdogSec $wd"
	[ "$rc" = 0 ] && [ -n "$new" ] && [ "$new" != "$old" ] || ok=1
	[ "$(main_pid)" = "$new" ] || ok=1
	[ "$(in_ct cat /run/ekko/ekkod.pid)" = "$new" ] || ok=1
	wait_ct 50 "[ \$(pgrep -P $new | wc -l) -ge 2 ]" || ok=1
	only_generation "$new" || { ev "processes: $(in_ct pgrep -a ekkod | tr '\n' '|')"; ok=1; }
	echo_8888 "after the upgrade" || { ev "no echo after the upgrade"; ok=1; }
	in_ct systemctl status --no-pager ekkod | grep -q "Main PID: $new (ekkod)" ||
	    { ev "systemctl status: $(in_ct systemctl status --no-pager ekkod | grep 'Main PID')"; ok=1; }
	# the new master feeds the watchdog: its timestamp advances, and no
	# watchdog kill within twice WatchdogSec of the switch
	wait_ct $((wd * 10 + 50)) "[ \$(systemctl show -p WatchdogTimestampMonotonic --value ekkod) -gt $w0 ]" || ok=1
	w1=$(prop ekkod WatchdogTimestampMonotonic)
	sleep "$wd"
	ev "WatchdogTimestampMonotonic after the switch: $w0 -> $w1; after $((2 * wd)) s: MainPID $(main_pid), NRestarts $(restarts)" \
	    "watchdog timeouts in the journal: $k0 before, $(journal | grep -c 'Watchdog timeout') after"
	[ "$w1" -gt "$w0" ] && [ "$(main_pid)" = "$new" ] || ok=1
	[ "$(journal | grep -c 'Watchdog timeout')" = "$k0" ] || ok=1
	poll_stop || ok=1	# (a reload is "reloading", rightly)
	# systemctl reload of the new master: same MainPID, new generation
	g0=$(in_ct timeout 10 ekko info | awk '$1 == "generation" { print $2 }')
	in_ct systemctl reload ekkod || { ev "systemctl reload failed"; ok=1; }
	g1=$(in_ct timeout 10 ekko info | awk '$1 == "generation" { print $2 }')
	ev "systemctl reload: generation $g0 -> $g1, MainPID $(main_pid)"
	[ -n "$g0" ] && [ "${g1:-0}" -gt "$g0" ] && [ "$(main_pid)" = "$new" ] || ok=1
	echo_8888 "after the reload" || ok=1
	[ "$(restarts)" = "$r0" ] || ok=1
	return $ok
}

# One package upgrade (or downgrade) to $1, which is version $2, under a
# load inside the container: 10 long-lived connections exchanging
# messages (ekko bench, raw framing, open loop at 1000 requests/s: the
# machine is shared) and short
# connections one after the other (nc), for 6 s, dpkg -i after 1.5 s.
pkg_switch() {
	local ok=0 deb=$1 version=$2 old out rc r0 short bench k0
	r0=$(restarts)
	k0=$(journal | wc -l)
	old=$(main_pid)
	poll_start 60
	in_ct sh -c 'timeout 30 ekko -p 8888 bench --framing raw -c 10 -d 6 \
	    -r 1000 >/root/bench.out 2>&1; echo "exit status $?" \
	    >>/root/bench.out' &
	bench=$!
	# shellcheck disable=SC2016
	in_ct sh -c 'i=0 f=0 end=$(($(date +%s) + 6))
	    while [ "$(date +%s)" -lt "$end" ]; do
		i=$((i + 1))
		r=$(printf "short %d\n" "$i" | timeout 5 nc -N -w 3 127.0.0.1 8888)
		[ "$r" = "short $i" ] || f=$((f + 1))
	    done
	    echo "$i short connections, $f failed"' >"$work/short" 2>&1 &
	short=$!
	sleep 1.5
	out=$(in_ct timeout 120 dpkg -i "$deb" </dev/null 2>&1)
	rc=$?
	wait "$bench" "$short"
	poll_stop >"$work/seen" || ok=1
	ev "dpkg -i $deb: exit $rc" "$(printf '%s\n' "$out" | grep -i 'ekko\|upgrade\|restart')"
	[ "$rc" = 0 ] || ok=1
	printf '%s\n' "$out" | grep -q "upgraded: pid" || ok=1
	! printf '%s\n' "$out" | grep -qi "failed\|restarting" || ok=1
	ev "$(cat "$work/seen")" "$(cat "$work/short")" \
	    "$(in_ct grep -e 'requests completed' -e 'errors:' -e 'exit status' /root/bench.out)"
	grep -q " 0 failed$" "$work/short" || ok=1
	in_ct grep -q "errors: connect 0, reset 0, timeout 0, closed 0, mismatch 0, server 0" \
	    /root/bench.out || ok=1
	in_ct grep -q "exit status 0" /root/bench.out || ok=1
	ev "ekkod -V: $(in_ct ekkod -V), INFO: $(in_ct timeout 10 ekko info | grep -e version -e '^pid' -e upgrades | tr -s ' \n' ' ')" \
	    "MainPID $old -> $(main_pid), NRestarts $r0 -> $(restarts)"
	in_ct timeout 10 ekko info | grep -qx "version *$version" || ok=1
	in_ct timeout 10 ekko info | grep -qx "pid *$(main_pid)" || ok=1
	[ "$(main_pid)" != "$old" ] && [ "$(restarts)" = "$r0" ] || ok=1
	wait_ct 100 "! kill -0 $old 2>/dev/null" || { ev "old master $old still there"; ok=1; }
	only_generation "$(main_pid)" || { ev "processes: $(in_ct pgrep -a ekkod | tr '\n' '|')"; ok=1; }
	[ "$ok" = 0 ] || ev "journal meanwhile:" "$(journal | tail -n +"$((k0 + 1))" | head -n 40)"
	return $ok
}

# 7b. dpkg -i of a later version while ekkod runs and serves upgrades it
# in place: no failed or reset connection, no wrong byte, the running
# master is the new version, no restart, no fallback; then the downgrade.
t_package_upgrade() {
	local next ok=0
	next=$(next_deb) || { ev "building the 1.0.1 package failed"; return 1; }
	cp "$next" "$work/root/root/ekko-next.deb"
	ev "upgrade to 1.0.1-1:"
	pkg_switch /root/ekko-next.deb 1.0.1 || ok=1
	ev "downgrade to 1.0.0-1:"
	pkg_switch /root/ekko.deb 1.0.0 || ok=1
	return $ok
}

# 9. dpkg -r stops service and socket; purge removes the enable links.
t_remove() {
	local ok=0 links
	in_ct dpkg -r ekko >/dev/null || { ev "dpkg -r failed"; return 1; }
	ev "after dpkg -r: service $(in_ct systemctl is-active ekkod), socket $(in_ct systemctl is-active ekkod.socket), processes: $(in_ct pgrep -x ekkod | tr '\n' ' ')"
	! in_ct systemctl is-active -q ekkod && \
	    ! in_ct systemctl is-active -q ekkod.socket || ok=1
	[ -z "$(in_ct pgrep -x ekkod)" ] || ok=1
	in_ct dpkg --purge ekko >/dev/null || { ev "dpkg --purge failed"; ok=1; }
	links=$(in_ct find /etc/systemd/system -name 'ekkod*' | tr '\n' ' ')
	ev "after purge: links left: ${links:-none}, /etc/ekko: $(in_ct test -e /etc/ekko && echo present || echo gone)"
	[ -z "$links" ] && ! in_ct test -e /etc/ekko || ok=1
	return $ok
}

# ---- main ----

[ "$(id -u)" = 0 ] || bail "check-systemd must run as root"
[ -f "$deb" ] || bail "no package $deb (make deb)"
for t in systemd-nspawn mmdebstrap nsenter; do
	command -v "$t" >/dev/null || bail "$t missing (make deps: sh mk/deps.sh systemd)"
done
start=$(date +%s)
root=$(cached_root) || bail "mmdebstrap failed"
boot "$root" || { cat "$work/console.log" 2>/dev/null | tail -n 20 | sed 's/^/# /'; bail "the container did not boot"; }
echo "# booted $name ($(in_ct systemctl --version | head -n 1)) in $(( $(date +%s) - start )) s"
cp "$deb" "$work/root/root/ekko.deb"
next_deb_start

check "dpkg -i starts ekkod: active, workers as ekko without capabilities, StatusText live" t_start
check "echo on 8888 and ekko ping on 8889 inside the container" t_serve
check "systemctl reload, good config: new generation, same MainPID, Reloaded" t_reload_good
check "systemctl reload, refused config: fails, keeps serving, warning in the journal, StatusText keeps 'reload failed' until a good reload" t_reload_refused
check "systemctl reload, unparsable config: fails, keeps serving, error in the journal" t_reload_unparsable
check "each log line once in the journal, at its own priority" t_journal_once
check "watchdog: healthy pings; a stopped worker is ekkod's, a stopped master systemd's" t_watchdog
check "ekkod -s upgrade under systemd: always active, MainPID to the new master, no restart, watchdog and reload work after" t_upgrade
check "dpkg -i of 1.0.1 under load upgrades in place: nothing refused or reset, new version runs, no restart; and the downgrade" t_package_upgrade
check "systemctl stop graceful and quick; kill -9 restarts; ekkod -s quit does not" t_stop
check "socket activation as the README says: start on connect, adopt, serve, reload" t_socket
check "dpkg -r stops service and socket; purge removes the enable links" t_remove
echo "# $(( $(date +%s) - start )) s in all"
finish
