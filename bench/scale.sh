#!/bin/bash
# scale.sh -- make bench-scale [CONNS=n]: issue #7 item 4, issue #17
# section 3.  ekkod holds SCALE_CONNS (100000) idle connections opened by
# load generator processes, each under the 20,000 open files a process
# may have and each from its own 16 source addresses in 127.0.0.0/8 (so
# no address runs out of ephemeral ports).  Every connection echoes once,
# idles SCALE_HOLD (30) seconds, and echoes again; any failure fails the
# run (exit 1).  Reports the connect rate, ekkod's memory per idle
# connection (growth, and the whole of ekkod divided by the count), the
# kernel's, per-worker `accepted` from STATS, and what per_ip_connections
# costs at accept (a second ramp with it on).  Writes build/bench-scale.md.
#
# Each pass runs in its own network namespace (unshare -n, as root), so
# the per-namespace sysctls it sets (SCALE_SYSCTLS) never touch the
# machine, and the namespace goes when the pass's last process exits.
# The global settings it depends on (fs.file-max, net.ipv4.tcp_mem) are
# only read, and the machine's sysctls are compared before and after.
#
# Sizing, each overridable: SCALE_PER_PROC (15000) connections at most per
# process, leaving headroom under the 20,000 descriptors; SCALE_WORKERS
# ekkod workers (that many per-process budgets, plus 2 for imbalance,
# at least 8); SCALE_PROCS load generators (at least 6); SCALE_PERIP=0
# skips the per_ip_connections ramp; SCALE_NETNS=0 runs in this namespace.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
conns=${SCALE_CONNS:-100000}
per_proc=${SCALE_PER_PROC:-15000}
need=$(((conns + per_proc - 1) / per_proc))
nworkers=${SCALE_WORKERS:-$((need + 2 > 8 ? need + 2 : 8))}
procs=${SCALE_PROCS:-$((need > 6 ? need : 6))}
# counted from when the last generator is connected (loadgen -G)
hold=${SCALE_HOLD:-30}
perip=${SCALE_PERIP:-1}
use_netns=${SCALE_NETNS:-1}
# Per-namespace sysctls a pass sets inside its namespace: "key=value ...".
# The accept queue must hold every connect in flight (SCALE_PROCS x 256,
# loadgen -K) while the workers catch up, or the kernel drops handshakes
# and some never complete: somaxconn above the 4096 default, and ekkod's
# tcp.backlog with it; the SYN queue likewise (no SYN cookies).
backlog=${SCALE_BACKLOG:-65535}
sysctls=${SCALE_SYSCTLS-net.core.somaxconn=$backlog \
net.ipv4.tcp_max_syn_backlog=$backlog}
. "$top/bench/lib.sh"

# Sum of a /proc field (kB) over PIDS: FILE FIELD PID...
kb_sum()
{
	local file=$1 key=$2 p s=0 v
	shift 2
	for p in "$@"; do
		v=$(awk -v k="$key:" '$1 == k {print $2; exit}' \
		    "/proc/$p/$file" 2>/dev/null)
		s=$((s + ${v:-0}))
	done
	echo $s
}

# ekkod's processes: master and workers.
# shellcheck disable=SC2046
ekkod_pids()
{
	echo "$e_pid" $(children_of "$e_pid")
}

# Pss and RSS of ekkod, in kB: "pss rss".
ekkod_mem()
{
	# shellcheck disable=SC2046
	echo "$(kb_sum smaps_rollup Pss $(ekkod_pids))" \
	    "$(kb_sum status VmRSS $(ekkod_pids))"
}

# CPU time (utime + stime, clock ticks) of ekkod's master and workers.
ekkod_ticks()
{
	local p files=()
	for p in $(ekkod_pids); do
		files+=("/proc/$p/stat")
	done
	# comm is "(ekkod)", no spaces: fields 14 and 15
	awk '{ s += $14 + $15 } END { print s + 0 }' "${files[@]}" \
	    2>/dev/null
}

# Kernel slab memory in kB, from /proc/meminfo.
slab_kb()
{
	awk '$1 == "Slab:" {print $2}' /proc/meminfo
}

# Of it, the caches a connection's two sockets use, in kB (num_objs x
# objsize from /proc/slabinfo): the rest of Slab moves with whatever
# else the machine does.
SOCK_CACHES='TCP|sock_inode_cache|filp|dentry|eventpoll_epi|lsm_file_cache|lsm_inode_cache'
sock_slab_kb()
{
	awk -v re="^($SOCK_CACHES)\$" 'NR > 2 && $1 ~ re { s += $3 * $4 }
	    END { printf "%.0f", s / 1024 }' /proc/slabinfo 2>/dev/null
}

# TCP sockets in use and TCP memory (pages) in this namespace: "inuse mem".
tcp_sockstat()
{
	awk '$1 == "TCP:" { for (i = 2; i < NF; i++) f[$i] = $(i + 1)
		print f["inuse"], f["mem"] }' /proc/net/sockstat
}

# A TcpExt counter of this namespace (ListenOverflows, ...).
tcpext()
{
	awk -v k="$1" '$1 == "TcpExt:" { if (!h) { for (i = 2; i <= NF; i++)
		if ($i == k) c = i; h = 1; next } print $c + 0 }' \
	    /proc/net/netstat
}

# Source addresses of load generator I in pass P: 16 from 127.X.Y.1.
src_of()
{
	local hi=$(($1 / 240))
	echo "127.$((10 + $1 % 240)).$((hi * 2 + $2)).1"
}

# One pass, in its own namespace: PASS (0 main, 1 per_ip) PER_IP OUT.
# Writes key=value lines to OUT, the STATS text to OUT.stats.
run_pass()
{
	local pass=$1 per_ip=$2 res=$3 kv
	bench_init
	if [ "$use_netns" = 1 ]; then
		ip link set lo up || exit 1
		for kv in $sysctls; do
			sysctl -qw "$kv" || exit 1
		done
	fi
	e_raw=$(pick_port)
	e_cmd=$(pick_port)
	write_ekkod_conf "$tmp/ekkod.conf" "$nworkers" $((conns + 20000)) \
	    "$e_raw" "" "$e_cmd" 3600 "$backlog"
	[ "$per_ip" -gt 0 ] && sed -i "s/idle_timeout = [0-9]*;/& \
per_ip_connections = $per_ip;/" "$tmp/ekkod.conf"
	start "$ekkod" -f -c "$tmp/ekkod.conf" 2>"$tmp/ekkod.log"
	e_pid=$last_pid
	if ! wait_port "$e_raw" || ! wait_port "$e_cmd"; then
		echo "bench-scale: ekkod did not start:" >&2
		cat "$tmp/ekkod.log" >&2
		exit 1
	fi
	# every worker up before the baseline
	for ((i = 0; i < 100; i++)); do
		[ "$(children_of "$e_pid" | wc -w)" -ge "$nworkers" ] && break
		sleep 0.1
	done
	sleep 1
	echo "bench-scale: pass $pass: ekkod pid $e_pid, $nworkers workers," \
	    "per_ip_connections $per_ip; open files per process:" \
	    "$(ulimit -n) soft, $(ulimit -Hn) hard" >&2
	read -r pss0 rss0 <<<"$(ekkod_mem)"
	slab0=$(slab_kb)
	sslab0=$(sock_slab_kb)
	read -r inuse0 tmem0 <<<"$(tcp_sockstat)"
	ticks0=$(ekkod_ticks)
	ovf0=$(tcpext ListenOverflows)

	local per=$(((conns + procs - 1) / procs)) left=$conns n i
	local lpids=() ph=$hold
	t0=$(date +%s.%N)
	for ((i = 0; i < procs && left > 0; i++)); do
		n=$((left < per ? left : per))
		left=$((left - n))
		start "$lg" -p "$e_raw" -m hold -c "$n" -s 64 -H "$ph" -G \
		    -B "$(src_of "$i" "$pass")" -N 16 >"$tmp/lg.$i" 2>&1
		lpids+=("$last_pid")
	done

	# Until every generator has its connections open and echoed: the
	# ramp, sampled each second (sockets in use count both ends).
	local deadline=$(($(date +%s) + 600)) ready alive p peak=0 prev
	local tprev=$t0 now inuse tmem rate
	prev=$inuse0
	while :; do
		ready=$(cat "$tmp"/lg.* 2>/dev/null | grep -c '^phase=connected')
		[ "$ready" -ge "${#lpids[@]}" ] && break
		alive=0
		for p in "${lpids[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		if [ $alive = 0 ] || [ "$(date +%s)" -gt $deadline ]; then
			echo "bench-scale: load generators did not get" \
			    "connected" >&2
			cat "$tmp"/lg.* >&2
			exit 1
		fi
		sleep 1
		now=$(date +%s.%N)
		read -r inuse tmem <<<"$(tcp_sockstat)"
		rate=$(awk -v a="$prev" -v b="$inuse" -v s="$tprev" \
		    -v e="$now" 'BEGIN { printf "%.0f", (b - a) / 2 / (e - s) }')
		[ "$rate" -gt "$peak" ] && peak=$rate
		prev=$inuse tprev=$now
	done
	t1=$(date +%s.%N)
	ticks1=$(ekkod_ticks)
	sleep 2
	read -r pss1 rss1 <<<"$(ekkod_mem)"
	slab1=$(slab_kb)
	sslab1=$(sock_slab_kb)
	read -r inuse1 tmem1 <<<"$(tcp_sockstat)"
	ovf1=$(tcpext ListenOverflows)
	"$lg" -p "$e_cmd" -m stats >"$res.stats" 2>&1
	early=$(cat "$tmp"/lg.* | grep -c '^phase=held')
	# all connected and measured: the hold starts now, for everyone
	kill -USR1 "${lpids[@]}"
	{
		echo "file_nr=$(awk '{print $1}' /proc/sys/fs/file-nr)"
		echo "ct_count=$(cat /proc/sys/net/netfilter/nf_conntrack_count \
		    2>/dev/null || echo none)"
	} >"$res.hold"
	echo "bench-scale: pass $pass: all connected in" \
	    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" \
	    "s; Pss ${pss1} kB, RSS ${rss1} kB" >&2

	local fail=0
	for p in "${lpids[@]}"; do
		wait "$p" || fail=1
	done
	t2=$(date +%s.%N)
	read -r pss2 rss2 <<<"$(ekkod_mem)"

	local ok1=0 ok2=0 failures=0 f line
	for f in "$tmp"/lg.*; do
		line=$(grep '^mode=hold' "$f")
		[ -z "$line" ] && { fail=1; cat "$f" >&2; continue; }
		ok1=$((ok1 + $(echo "$line" |
		    sed 's/.*echo1_ok=\([0-9]*\).*/\1/')))
		ok2=$((ok2 + $(echo "$line" |
		    sed 's/.*echo2_ok=\([0-9]*\).*/\1/')))
		failures=$((failures + $(echo "$line" |
		    sed 's/.*failures=\([0-9]*\).*/\1/')))
	done
	[ "$failures" -gt 0 ] && fail=1
	[ "$ok2" -eq "$conns" ] || fail=1
	cat >"$res" <<EOF
fail=$fail
ok1=$ok1
ok2=$ok2
failures=$failures
t_connect=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
t_total=$(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.1f", b - a }')
peak_rate=$peak
pss0=$pss0
rss0=$rss0
pss1=$pss1
rss1=$rss1
pss2=$pss2
rss2=$rss2
slab0=$slab0
slab1=$slab1
sslab0=$sslab0
sslab1=$sslab1
inuse1=$inuse1
tmem0=$tmem0
tmem1=$tmem1
ticks=$((ticks1 - ticks0))
overflows=$((ovf1 - ovf0))
early=$early
stats_bytes=$(wc -c <"$res.stats")
$(cat "$res.hold")
EOF
	return 0
}

# The machine's sysctls, to show the run changed none of them.
sysctl_snapshot()
{
	sysctl -a 2>/dev/null | grep -Ev \
	    '^(fs\.(dentry|inode|file-nr|quota)|kernel\.(random|ns_last_pid|pty\.nr|sched_domain)|net\.netfilter\.nf_conntrack_count|fs\.aio-nr|vm\.stat)' |
	    sort
}

if [ "${1:-}" = pass ]; then
	run_pass "$2" "$3" "$4"
	exit $?
fi

bench_init
if [ ! -x "$ekkod" ]; then
	echo "bench-scale: $ekkod not built" >&2
	exit 1
fi
build_tools || exit 1
if [ "$use_netns" = 1 ] && { [ "$(id -u)" != 0 ] ||
    ! unshare -n true 2>/dev/null; }; then
	echo "bench-scale: cannot make a network namespace (unshare -n," \
	    "root); running in this one, SCALE_SYSCTLS not applied" >&2
	use_netns=0
fi
# Both ends of every connection are open files, machine-wide.
fmax=$(cat /proc/sys/fs/file-max)
if [ "$fmax" -lt $((2 * conns + 50000)) ]; then
	echo "bench-scale: fs.file-max $fmax is below the 2 x $conns open" \
	    "files both ends need; raise it first (sysctl fs.file-max)" >&2
	exit 1
fi
sysctl_snapshot >"$tmp/sysctl.before"

# A pass: PASS PER_IP; its results in $tmp/pass.PASS.
pass()
{
	local ns=()
	[ "$use_netns" = 1 ] && ns=(unshare -n)
	start "${ns[@]}" env SCALE_WORKERS="$nworkers" SCALE_PROCS="$procs" \
	    SCALE_NETNS="$use_netns" bash "$0" pass "$1" "$2" \
	    "$tmp/pass.$1"
	wait "$last_pid"
	local rc=$?
	pids=()
	settle
	return $rc
}

# The kernel frees a namespace's sockets after its last process, in the
# background: wait (up to 300 s) until the socket caches are back near
# where they were, so that the next pass ramps on an idle machine.
settle()
{
	local t0 i
	t0=$(date +%s)
	for ((i = 0; i < 300; i++)); do
		[ "$(sock_slab_kb)" -le $((sslab_base + conns / 4)) ] && break
		sleep 1
	done
	echo "bench-scale: kernel freed the sockets in" \
	    "$(($(date +%s) - t0)) s" >&2
	echo $(($(date +%s) - t0)) >"$tmp/settle.$nsettle"
	nsettle=$((nsettle + 1))
}
nsettle=0
sslab_base=$(sock_slab_kb)
pass 0 0 || exit 1
perip_limit=$conns
if [ "$perip" = 1 ]; then
	pass 1 "$perip_limit" || exit 1
fi
sysctl_snapshot >"$tmp/sysctl.after"
if cmp -s "$tmp/sysctl.before" "$tmp/sysctl.after"; then
	sysctl_same="unchanged (sysctl -a compared before and after)"
else
	sysctl_same="CHANGED: $(diff "$tmp/sysctl.before" \
	    "$tmp/sysctl.after" | grep '^[<>]' | tr '\n' ' ')"
fi

# shellcheck disable=SC1090,SC1091
. "$tmp/pass.0"
per=$(((conns + procs - 1) / procs))
bpc() { awk -v a="$1" -v b="$2" -v n="$conns" \
    'BEGIN { printf "%.0f", (b - a) * 1024 / n }'; }
rate=$(awk -v t="$t_connect" -v n="$conns" 'BEGIN { printf "%.0f", n / t }')
hz=$(getconf CLK_TCK)
cpu_us() { awk -v t="$1" -v hz="$hz" -v n="$conns" \
    'BEGIN { printf "%.1f", t * 1e6 / hz / n }'; }
balance=$(accept_balance <"$tmp/pass.0.stats")
verdict=PASS
[ "$fail" = 0 ] || verdict=FAIL
# the target, 256 bytes a connection: on the growth; the whole of ekkod
# (its fixed cost per worker included) is said against it too
[ "$(bpc "$pss0" "$pss1")" -le 256 ] || verdict=FAIL
whole=no
[ "$(bpc 0 "$pss1")" -le 256 ] && whole=yes
{
echo "## make bench-scale: $conns idle connections"
echo
echo "- $(uname -n), $(nproc) CPUs, $(awk '$1 == "MemTotal:" {
	printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)," \
    "$(date -u '+%Y-%m-%d %H:%M UTC'); command: make bench-scale" \
    "CONNS=$conns"
echo "- ekkod: $nworkers workers, max_connections $((conns + 20000))," \
    "idle_timeout 3600, backlog $backlog; $procs load generator processes of" \
    "at most $per connections, 16 source addresses each" \
    "($(src_of 0 0) ... $(src_of $((procs - 1)) 0) + 15)"
echo "- network namespace of its own: $([ "$use_netns" = 1 ] && echo yes ||
    echo no); sysctls set in it: ${sysctls:-none}; machine's sysctls:" \
    "$sysctl_same"
echo "- connected and echoed once: $ok1 of $conns in $t_connect s" \
    "(**$rate connections/s**, peak $peak_rate/s over one second;" \
    "ListenOverflows $overflows); held ${hold} s; echoed again: $ok2 of" \
    "$conns; failures: $failures; total $t_total s: **$verdict**"
[ "$early" -gt 0 ] && echo "- WARNING: $early generators had ended" \
    "their hold before the memory was read"
echo "- ekkod memory (master + workers), before -> with $conns idle" \
    "connections: Pss ${pss0} -> ${pss1} kB, RSS ${rss0} -> ${rss1} kB;" \
    "after the run ended: Pss ${pss2} kB, RSS ${rss2} kB"
echo "- **ekkod resident memory per idle connection: growth $(bpc "$pss0" \
    "$pss1") bytes (Pss), $(bpc "$rss0" "$rss1") bytes (RSS); whole" \
    "ekkod divided by the count: $(bpc 0 "$pss1") bytes (Pss), $(bpc 0 \
    "$rss1") bytes (RSS)** (target <= 256: the growth in Pss decides" \
    "the verdict; the whole Pss within it too: $whole)"
echo "- the kernel, for scale (not the daemon's), per connection (both" \
    "ends of it): Slab (/proc/meminfo) growth $(bpc "$slab0" "$slab1")" \
    "bytes, of which the socket caches ($SOCK_CACHES in /proc/slabinfo)" \
    "$(bpc "$sslab0" "$sslab1") bytes; TCP memory (tcp_mem pages)" \
    "$tmem0 -> $tmem1 against net.ipv4.tcp_mem" \
    "\"$(cat /proc/sys/net/ipv4/tcp_mem)\"; open files $file_nr of" \
    "fs.file-max $fmax; conntrack entries in the namespace: $ct_count"
echo "- ekkod CPU (master + workers, utime + stime) while ramping:" \
    "$(cpu_us "$ticks") µs per accepted connection"
echo "- accepted per worker (STATS while holding, $stats_bytes bytes):" \
    "$balance"
if [ "$perip" = 1 ]; then
	a_rate=$rate a_cpu=$(cpu_us "$ticks") a_t=$t_connect
	# shellcheck disable=SC1090,SC1091
	. "$tmp/pass.1"
	[ "$fail" = 0 ] || verdict=FAIL
	echo "- per_ip_connections at accept, same count and generators" \
	    "(second pass, fresh namespace, after the kernel freed the first" \
	    "pass's sockets in $(cat "$tmp/settle.0") s): off: $a_t s, $a_rate" \
	    "connections/s, $a_cpu µs ekkod CPU per connection; on" \
	    "(per_ip_connections = $perip_limit, nothing refused): $t_connect" \
	    "s, $(awk -v t="$t_connect" -v n="$conns" \
	    'BEGIN { printf "%.0f", n / t }') connections/s, $(cpu_us \
	    "$ticks") µs per connection (ListenOverflows $overflows); echoed" \
	    "$ok1 and $ok2 of $conns, failures $failures; accepted" \
	    "$(accept_balance <"$tmp/pass.1.stats" | sed 's/.* //')"
fi
echo "- **bench-scale: $verdict**"
echo
echo '```'
grep -E '^connections_(active|total|rejected) ' "$tmp/pass.0.stats"
grep -E '^errors_[a-z_]+ [1-9]' "$tmp/pass.0.stats"
grep -E '^worker\.[0-9]+\.(accepted|connections_active) ' \
    "$tmp/pass.0.stats"
echo '```'
} >"$tmp/scale.md"
cp "$tmp/scale.md" "$build/bench-scale.md"
cat "$build/bench-scale.md"
[ "$verdict" = PASS ]
