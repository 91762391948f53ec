#!/bin/bash
# extra.sh -- make bench-extra: issue #7 item 3, efficiency per request.
#  - syscalls per request at (c): perf's raw_syscalls:sys_enter count on
#    the server under full load (strace -c -f when perf cannot), and an
#    strace -c -f breakdown by call;
#  - TCP segments per connection at (e), from the kernel's counters;
#  - heap allocations per request: ekkod under the LD_PRELOAD counter
#    bench/malloccount.so;
#  - user-space instructions per request at (b) and (c): callgrind on one
#    worker.
# Per-request figures come from two runs of different lengths on the same
# server (the difference of the counts over the difference of the
# requests), which cancels start-up and per-connection costs.
# Writes build/bench-extra.md.  Environment as for run.sh, plus
# BENCH_EXTRA_SECONDS (2).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
xsecs=${BENCH_EXTRA_SECONDS:-2}
scpu=${BENCH_SERVER_CPU:-1}
ccpu=${BENCH_CLIENT_CPU:-0}
. "$top/bench/lib.sh"
bench_init

build_tools || exit 1
have_ekkod=0
[ -x "$ekkod" ] && have_ekkod=1
[ $have_ekkod = 1 ] ||
    echo "bench-extra: $ekkod not built; ekko rows skipped" >&2

# Field KEY of a loadgen result line.
field()
{
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# Start an ekkod (one worker, on the server CPU) with PREFIX before it;
# sets e_raw, e_len, e_cmd, e_pid.
start_ekkod()
{
	e_raw=$(pick_port)
	e_len=$(pick_port)
	e_cmd=$(pick_port)
	write_ekkod_conf "$tmp/ekkod.conf" 1 10000 "$e_raw" "$e_len" "$e_cmd"
	start "$@" "$ekkod" -f -c "$tmp/ekkod.conf" 2>>"$tmp/ekkod.log"
	e_pid=$last_pid
	wait_port "$e_raw" 600 && wait_port "$e_cmd" 600
}

# The server processes to count: ekkod's or refecho's workers, or the
# server itself.
workers_of()
{
	local c
	c=$(children_of "$1" | tr ' ' '\n' | grep . | tr '\n' ',')
	if [ -n "$c" ]; then
		echo "${c%,}"
	else
		echo "$1"
	fi
}

# ---- 1. syscalls per request at (b), (c), (d) ----

use_perf=0
if command -v perf >/dev/null &&
    perf stat -e raw_syscalls:sys_enter true >/dev/null 2>&1; then
	use_perf=1
fi

# Syscalls per request of server PID on port/proto with loadgen OPTS, by
# perf.
perf_syscalls()
{
	local pid=$1 port=$2 proto=$3 opts=$4 line n calls
	perf stat -e raw_syscalls:sys_enter -x, -o "$tmp/perf.out" \
	    -p "$(workers_of "$pid")" &
	local pp=$!
	sleep 0.3
	# shellcheck disable=SC2086
	line=$("$lg" -p "$port" -P "$proto" $opts -d "$xsecs" -W 0 -C "$ccpu")
	kill -INT $pp
	wait $pp 2>/dev/null
	calls=$(awk -F, '/raw_syscalls/{print $1}' "$tmp/perf.out")
	n=$(field total "$line")
	awk -v c="$calls" -v n="$n" 'BEGIN { if (n > 0 && c != "")
	    printf "%.4f (%d calls, %d requests)", c / n, c, n; else
	    printf "n/a" }'
}

# strace -c -f on every thread of server PID with loadgen OPTS; prints
# calls per request and leaves the table in $tmp/strace.NAME.
strace_syscalls()
{
	local pid=$1 port=$2 proto=$3 opts=$4 name=$5 line n calls args=() p t
	for p in $(workers_of "$pid" | tr ',' ' '); do
		for t in /proc/"$p"/task/*; do
			args+=(-p "${t##*/}")
		done
	done
	strace -c -f -o "$tmp/strace.$name" "${args[@]}" 2>/dev/null &
	local sp=$!
	sleep 0.5
	# shellcheck disable=SC2086
	line=$("$lg" -p "$port" -P "$proto" $opts -d "$xsecs" -W 0 -C "$ccpu")
	kill -INT $sp
	wait $sp 2>/dev/null
	# %time seconds usecs/call calls [errors] total
	calls=$(awk '$NF == "total" {print $4}' "$tmp/strace.$name")
	n=$(field total "$line")
	awk -v c="$calls" -v n="$n" 'BEGIN { if (n > 0 && c != "")
	    printf "%.4f (%d calls, %d requests)", c / n, c, n; else
	    printf "n/a" }'
}

rp=$(pick_port)
start taskset -c "$scpu" "$out/refecho" -p "$rp" -w 1 \
    -b "${BENCH_REFECHO_BUF:-262144}"
r_pid=$last_pid
wait_port "$rp"
if [ $have_ekkod = 1 ]; then
	start_ekkod taskset -c "$scpu" || have_ekkod=0
fi
targets=("refecho $r_pid $rp raw bcd")
if [ $have_ekkod = 1 ]; then
	targets+=("ekko-raw $e_pid $e_raw raw bcd" \
	    "ekko-length $e_pid $e_len length d" \
	    "ekko-echo $e_pid $e_cmd ekko-echo bc" \
	    "ekko-ping $e_pid $e_cmd ekko-ping bc")
fi
if command -v redis-server >/dev/null; then
	redp=$(pick_port)
	start taskset -c "$scpu" redis-server --port "$redp" --bind 127.0.0.1 \
	    --protected-mode no --save '' --appendonly no --daemonize no \
	    --logfile "$tmp/redis.log"
	wait_port "$redp" &&
	    targets+=("redis $last_pid $redp redis-echo bcd")
fi
if command -v memcached >/dev/null; then
	memp=$(pick_port)
	start taskset -c "$scpu" memcached -p "$memp" -l 127.0.0.1 -U 0 -t 1 \
	    -u root
	wait_port "$memp" &&
	    targets+=("memcached $last_pid $memp memcached-version bc")
fi

{
echo "## make bench-extra: efficiency per request"
echo
echo "### Syscalls per request"
echo
echo "(b) 50 conns x 1, (c) 50 conns x 16 pipelined, (d) 4 conns x 4 of" \
    "64 KiB; servers on CPU $scpu, load generator on CPU $ccpu, as in" \
    "make bench.  perf counts the server's syscall entries at full speed;" \
    "strace -c -f slows the server, so more requests arrive per wake-up" \
    "and fewer calls are needed per request."
echo
echo "| workload | server | perf: raw_syscalls:sys_enter per request |" \
    "strace -c -f: calls per request |"
echo "|---|---|---|---|"
} >"$tmp/extra.md"
declare -A wlopts=([b]="-c 50 -k 1 -s 64" [c]="-c 50 -k 16 -s 64"
    [d]="-c 4 -k 4 -s 65536")
for w in b c d; do
	for t in "${targets[@]}"; do
		read -r name pid port proto wls <<<"$t"
		case $wls in *$w*) ;; *) continue ;; esac
		a="n/a"
		[ $use_perf = 1 ] &&
		    a=$(perf_syscalls "$pid" "$port" "$proto" "${wlopts[$w]}")
		b="n/a"
		command -v strace >/dev/null &&
		    b=$(strace_syscalls "$pid" "$port" "$proto" \
		    "${wlopts[$w]}" "$w.$name")
		echo "| ($w) | $name | $a | $b |" >>"$tmp/extra.md"
		echo "bench-extra: syscalls ($w) $name: $a / $b"
	done
done
for name in c.refecho c.ekko-raw c.ekko-echo b.refecho b.ekko-raw \
    d.refecho d.ekko-length; do
	[ -f "$tmp/strace.$name" ] || continue
	{
		echo
		echo "strace -c -f, ${name#*.} at (${name%%.*}):"
		echo
		echo '```'
		head -12 "$tmp/strace.$name"
		echo '```'
	} >>"$tmp/extra.md"
done

# ---- TCP segments per connection at (e), from the kernel's counters ----

# Segments sent over loopback per connection of an (e) run on port/proto
# (both ends' segments: on loopback each one is sent and received here).
# The counters are the machine's: anything else talking TCP adds to them.
segments_per_conn()
{
	local port=$1 proto=$2 line n segs
	command -v nstat >/dev/null || { printf "n/a"; return; }
	nstat -n >/dev/null
	line=$("$lg" -p "$port" -P "$proto" -m cec -c 50 -s 64 -d "$xsecs" \
	    -W 0 -C "$ccpu" -B 127.0.3.1 -N 16)
	segs=$(nstat TcpOutSegs 2>/dev/null | awk '$1 == "TcpOutSegs" {
	    print $2 }')
	n=$(field total "$line")
	awk -v s="$segs" -v n="$n" 'BEGIN { if (n > 0 && s != "")
	    printf "%.2f (%d segments, %d connections)", s / n, s, n; else
	    printf "n/a" }'
}

{
echo
echo "### TCP segments per connection at (e)"
echo
echo "Connect, one 64-byte echo, close, 50 at a time; the kernel's" \
    "TcpOutSegs over the connections made (nstat).  The fewer, the less" \
    "work on the connecting CPU, which is the bottleneck at (e)."
echo
echo "| server | segments per connection |"
echo "|---|---|"
} >>"$tmp/extra.md"
for t in "${targets[@]}"; do
	read -r name pid port proto wls <<<"$t"
	case $name in ekko-length|ekko-echo|ekko-ping) continue ;; esac
	a=$(segments_per_conn "$port" "$proto")
	echo "| $name | $a |" >>"$tmp/extra.md"
	echo "bench-extra: segments per connection (e) $name: $a"
done

stop_all

# ---- PROXY protocol v2 at (e): its cost on connect-echo-close ----

# Requests per second of one (e) run on PORT, with loadgen's extra OPTS
# (-X: each connection starts with a PROXY v2 header).
cec_rps()
{
	local line
	# shellcheck disable=SC2086  # OPTS is a word list, or nothing
	line=$("$lg" -p "$1" -P raw -m cec -c 50 -s 64 -d "$xsecs" -W 0.5 \
	    -C "$ccpu" -B 127.0.4.1 -N 16 ${2:-})
	field rps "$line"
}

if [ $have_ekkod = 1 ]; then
	pp_raw=$(pick_port)
	pp_v2=$(pick_port)
	write_ekkod_conf "$tmp/pp.conf" 1 10000 "$pp_raw" "" "" 300 511 \
	    "$pp_v2"
	start taskset -c "$scpu" "$ekkod" -f -c "$tmp/pp.conf" \
	    2>>"$tmp/ekkod.log"
	wait_port "$pp_raw" 600 && wait_port "$pp_v2" 600
	# alternate, so that drift of the host hits both alike; medians
	: >"$tmp/pp.plain"; : >"$tmp/pp.v2"
	for i in 1 2 3 4 5; do
		cec_rps "$pp_raw" >>"$tmp/pp.plain"
		cec_rps "$pp_v2" -X >>"$tmp/pp.v2"
	done
	stop_all
	med() { sort -n "$1" | sed -n 3p; }
	a=$(med "$tmp/pp.plain"); b=$(med "$tmp/pp.v2")
	r=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a > 0) printf "%.3f", b / a
	    else printf "n/a" }')
	{
	echo
	echo "### PROXY protocol v2 at (e)"
	echo
	echo "Connect, a PROXY v2 header (28 bytes, as haproxy's" \
	    "send-proxy-v2), one 64-byte echo, close; 50 at a time; one" \
	    "worker on the server CPU; median of 5 alternating runs of" \
	    "${xsecs} s each.  Target: at least 0.95 of the same without PROXY."
	echo
	echo "| listener | connections/s | ratio |"
	echo "|---|---|---|"
	echo "| raw | $a | 1 |"
	echo "| raw, proxy_protocol = \"v2\" | $b | $r |"
	} >>"$tmp/extra.md"
	echo "bench-extra: (e) with PROXY v2: $b/s against $a/s: $r"
fi

# ---- 2. heap allocations per request (ekkod under malloccount) ----

# Sum of malloc+calloc+realloc over the counter files of PIDS (a,b,c).
allocs_of()
{
	local p s=0 v
	for p in $(echo "$1" | tr ',' ' '); do
		[ -f "$tmp/mc/$p" ] || continue
		v=$(od -An -t u8 -N 24 "$tmp/mc/$p" | awk '{for (i = 1;
		    i <= NF; i++) s += $i} END {print s + 0}')
		s=$((s + v))
	done
	echo $s
}

# Allocations per request on port/proto with loadgen OPTS, by difference
# of a 1-unit and a 3-unit run.
alloc_rate()
{
	local port=$1 proto=$2 opts=$3 w a0 a1 a2 l1 l2 n1 n2
	w=$(workers_of "$e_pid")
	a0=$(allocs_of "$w")
	# shellcheck disable=SC2086
	l1=$("$lg" -p "$port" -P "$proto" $opts -d "$xsecs" -W 0 -C "$ccpu")
	a1=$(allocs_of "$w")
	# shellcheck disable=SC2086
	l2=$("$lg" -p "$port" -P "$proto" $opts -d "$((xsecs * 3))" -W 0 \
	    -C "$ccpu")
	a2=$(allocs_of "$w")
	n1=$(field total "$l1")
	n2=$(field total "$l2")
	awk -v a0="$a0" -v a1="$a1" -v a2="$a2" -v n1="$n1" -v n2="$n2" \
	    'BEGIN { d = (a2 - a1) - (a1 - a0); n = n2 - n1
	    if (n <= 0) { print "n/a"; exit }
	    printf "%.6f | %d allocs / %d requests | %d allocs / %d requests",
	    (d < 0 ? 0 : d) / n, a1 - a0, n1, a2 - a1, n2 }'
}

if [ $have_ekkod = 1 ]; then
	mkdir -p "$tmp/mc"
	start_ekkod taskset -c "$scpu" env \
	    LD_PRELOAD="$out/malloccount.so" MALLOCCOUNT_DIR="$tmp/mc"
	{
	echo
	echo "### Heap allocations per request (ekkod worker, LD_PRELOAD" \
	    "malloc counter)"
	echo
	echo "Counted: malloc, calloc, realloc in the worker.  Per request =" \
	    "(allocations of a run of 3t - those of a run of t) / (requests" \
	    "of 3t - requests of t), so per-connection set-up cancels out."
	echo
	echo "| workload | allocs per request | short run | long run |"
	echo "|---|---:|---|---|"
	} >>"$tmp/extra.md"
	for x in "(b) raw|$e_raw|raw|-c 50 -k 1 -s 64" \
	    "(b) ECHO|$e_cmd|ekko-echo|-c 50 -k 1 -s 64" \
	    "(b) PING|$e_cmd|ekko-ping|-c 50 -k 1 -s 64" \
	    "(c) raw|$e_raw|raw|-c 50 -k 16 -s 64" \
	    "(c) ECHO|$e_cmd|ekko-echo|-c 50 -k 16 -s 64" \
	    "(d) length|$e_len|length|-c 4 -k 4 -s 65536"; do
		IFS='|' read -r name port proto opts <<<"$x"
		r=$(alloc_rate "$port" "$proto" "$opts")
		echo "| $name | $r |" >>"$tmp/extra.md"
		echo "bench-extra: allocs $name: $r"
	done
	stop_all
fi

# ---- 3. user-space instructions per request at (b) and (c), callgrind ----

# Ir of the worker (the non-master callgrind file) of one callgrind run
# serving loadgen for SECS on the chosen port, PIPE requests in flight
# per connection (1 at (b), 16 at (c)); prints "Ir requests".
cg_run()
{
	local kind=$1 secs=$2 proto=$3 pipe=$4 port pid f ir line
	rm -f "$tmp"/cg.*
	if [ "$kind" = refecho ]; then
		port=$(pick_port)
		start taskset -c "$scpu" valgrind --tool=callgrind \
		    --callgrind-out-file="$tmp/cg.%p" "$out/refecho" \
		    -p "$port" -w 1 -b "${BENCH_REFECHO_BUF:-262144}" \
		    2>>"$tmp/vg.log"
		pid=$last_pid
		wait_port "$port" || { stop_pid "$pid"; return 1; }
	else
		start_ekkod taskset -c "$scpu" valgrind --tool=callgrind \
		    --callgrind-out-file="$tmp/cg.%p" 2>>"$tmp/vg.log" ||
		    { stop_pid "$e_pid"; return 1; }
		pid=$e_pid
		port=$e_raw
		[ "$proto" = raw ] || port=$e_cmd
	fi
	sleep 1
	line=$("$lg" -p "$port" -P "$proto" -c 50 -k "$pipe" -s 64 -d "$secs" \
	    -W 0 -C "$ccpu")
	stop_pid "$pid"
	ir=0
	for f in "$tmp"/cg.*; do
		[ "$f" = "$tmp/cg.$pid" ] && continue
		ir=$((ir + $(awk '/^summary:/{print $2}' "$f")))
	done
	echo "$ir $(field total "$line")"
}

if command -v valgrind >/dev/null; then
	{
	echo
	echo "### User-space instructions per request at (b) and (c), callgrind"
	echo
	echo "The worker's instructions (Ir) under callgrind; per request =" \
	    "difference between a run of 3t and a run of t over the" \
	    "difference in requests.  Kernel work is not counted."
	echo
	echo "| server | workload | instructions per request | short run |" \
	    "long run |"
	echo "|---|---|---:|---|---|"
	} >>"$tmp/extra.md"
	cgl=("refecho raw b" "refecho raw c")
	[ $have_ekkod = 1 ] && cgl+=("ekkod raw b" "ekkod ekko-echo b" \
	    "ekkod ekko-ping b" "ekkod raw c" "ekkod ekko-echo c")
	for x in "${cgl[@]}"; do
		read -r kind proto wl <<<"$x"
		pipe=1
		[ "$wl" = c ] && pipe=16
		s1=$(cg_run "$kind" "$xsecs" "$proto" "$pipe")
		s2=$(cg_run "$kind" "$((xsecs * 3))" "$proto" "$pipe")
		r=$(echo "$s1 $s2" | awk '{ n = $4 - $2
		    if (NF < 4 || n <= 0) { print "n/a"; exit }
		    printf "%.0f | %d Ir / %d requests | %d Ir / %d requests",
		    ($3 - $1) / n, $1, $2, $3, $4 }')
		echo "| $kind $proto | ($wl) | $r |" >>"$tmp/extra.md"
		echo "bench-extra: instructions $kind $proto ($wl): $r"
	done
fi

# ---- 4. bytes copied in user space per request (a counting build) ----

if [ -x "$build/copies/ekkod" ]; then
	{
	echo
	echo "### Bytes copied in user space per request"
	echo
	echo "ekkod built with -DEKKO_COUNT_COPIES (make" \
	    "bench-copies-build): STATS bytes_copied_in (input kept, grown" \
	    "or moved, replies built) and bytes_copied_out (output the" \
	    "socket did not take) over the requests of one run; bench/copies.sh."
	echo
	BUILD=$build bash "$top/bench/copies.sh"
	} >>"$tmp/extra.md"
fi

cp "$tmp/extra.md" "$build/bench-extra.md"
cat "$build/bench-extra.md"
