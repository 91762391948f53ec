#!/bin/bash
# scale.sh -- make bench-scale: issue #7 item 4.  ekkod with 8 workers
# holds SCALE_CONNS (100000) idle connections opened by SCALE_PROCS (6)
# load generator processes, each under the 20,000 open files a process may
# have and each from its own source addresses in 127.0.0.0/8 (so no
# address runs out of ephemeral ports).  Every connection echoes once,
# idles SCALE_HOLD (30) seconds, and echoes again; any failure fails the
# run (exit 1).  Reports ekkod's memory growth per idle connection (Pss
# and RSS of master and workers), and per-worker `accepted` from STATS.
# Writes build/bench-scale.md.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
conns=${SCALE_CONNS:-100000}
procs=${SCALE_PROCS:-6}
hold=${SCALE_HOLD:-30}
nworkers=${SCALE_WORKERS:-8}
. "$top/bench/lib.sh"
bench_init

if [ ! -x "$ekkod" ]; then
	echo "bench-scale: $ekkod not built" >&2
	exit 1
fi
build_tools || exit 1

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

# Kernel slab memory in kB, from /proc/meminfo.
slab_kb()
{
	awk '$1 == "Slab:" {print $2}' /proc/meminfo
}

e_raw=$(pick_port)
e_cmd=$(pick_port)
write_ekkod_conf "$tmp/ekkod.conf" "$nworkers" $((conns + 20000)) \
    "$e_raw" "" "$e_cmd" 3600 4096
start "$ekkod" -f -c "$tmp/ekkod.conf" 2>"$tmp/ekkod.log"
e_pid=$last_pid
if ! wait_port "$e_raw" || ! wait_port "$e_cmd"; then
	echo "bench-scale: ekkod did not start:" >&2
	cat "$tmp/ekkod.log" >&2
	exit 1
fi
sleep 1
echo "bench-scale: ekkod pid $e_pid, $nworkers workers; open files per" \
    "process: $(ulimit -n) soft, $(ulimit -Hn) hard"
read -r pss0 rss0 <<<"$(ekkod_mem)"
slab0=$(slab_kb)
echo "bench-scale: ekkod before: Pss ${pss0} kB, RSS ${rss0} kB"

per=$(((conns + procs - 1) / procs))
left=$conns
lpids=()
t0=$(date +%s)
for ((i = 0; i < procs && left > 0; i++)); do
	n=$((left < per ? left : per))
	left=$((left - n))
	start "$lg" -p "$e_raw" -m hold -c "$n" -s 64 -H "$hold" \
	    -B "127.$((10 + i)).0.1" -N 16 >"$tmp/lg.$i" 2>&1
	lpids+=("$last_pid")
done

# Wait until every generator reports its connections open and echoed.
deadline=$((t0 + 300))
while :; do
	ready=$(cat "$tmp"/lg.* 2>/dev/null | grep -c '^phase=connected')
	[ "$ready" -ge "${#lpids[@]}" ] && break
	alive=0
	for p in "${lpids[@]}"; do
		kill -0 "$p" 2>/dev/null && alive=1
	done
	if [ $alive = 0 ] || [ "$(date +%s)" -gt $deadline ]; then
		echo "bench-scale: load generators did not get connected" >&2
		cat "$tmp"/lg.* >&2
		exit 1
	fi
	sleep 0.5
done
t1=$(date +%s)
sleep 2
read -r pss1 rss1 <<<"$(ekkod_mem)"
slab1=$(slab_kb)
stats=$("$lg" -p "$e_cmd" -m stats 2>&1)
active=$(echo "$stats" | awk '$1 == "connections_active" {print $2}')
echo "bench-scale: all connected in $((t1 - t0)) s; ekkod" \
    "connections_active=$active; Pss ${pss1} kB, RSS ${rss1} kB"

fail=0
for p in "${lpids[@]}"; do
	wait "$p" || fail=1
done
t2=$(date +%s)
read -r pss2 rss2 <<<"$(ekkod_mem)"

ok1=0 ok2=0 failures=0
for f in "$tmp"/lg.*; do
	line=$(grep '^mode=hold' "$f")
	[ -z "$line" ] && { fail=1; cat "$f" >&2; continue; }
	ok1=$((ok1 + $(echo "$line" | sed 's/.*echo1_ok=\([0-9]*\).*/\1/')))
	ok2=$((ok2 + $(echo "$line" | sed 's/.*echo2_ok=\([0-9]*\).*/\1/')))
	failures=$((failures + $(echo "$line" |
	    sed 's/.*failures=\([0-9]*\).*/\1/')))
done
[ "$failures" -gt 0 ] && fail=1
[ "$ok2" -eq "$conns" ] || fail=1

bpc_pss=$(awk -v a="$pss0" -v b="$pss1" -v n="$conns" \
    'BEGIN { printf "%.0f", (b - a) * 1024 / n }')
bpc_rss=$(awk -v a="$rss0" -v b="$rss1" -v n="$conns" \
    'BEGIN { printf "%.0f", (b - a) * 1024 / n }')
kpc=$(awk -v a="$slab0" -v b="$slab1" -v n="$conns" \
    'BEGIN { printf "%.0f", (b - a) * 1024 / n }')
balance=$(echo "$stats" | accept_balance)
verdict=PASS
[ $fail = 0 ] || verdict=FAIL
{
echo "## make bench-scale: $conns idle connections"
echo
echo "- ekkod: $nworkers workers, max_connections $((conns + 20000))," \
    "idle_timeout 3600; $procs load generator processes of at most" \
    "$per connections, source addresses 127.10.0.1 ... 127.$((9 + procs)).0.16"
echo "- connected and echoed once: $ok1 of $conns in $((t1 - t0)) s;" \
    "held ${hold} s; echoed again: $ok2 of $conns; failures: $failures;" \
    "total $((t2 - t0)) s: **$verdict**"
echo "- ekkod memory (master + workers), before -> with $conns idle" \
    "connections: Pss ${pss0} -> ${pss1} kB, RSS ${rss0} -> ${rss1} kB;" \
    "after the run ended: Pss ${pss2} kB"
echo "- **resident memory growth per idle connection: ${bpc_pss} bytes" \
    "(Pss), ${bpc_rss} bytes (RSS)** (target <= 256)"
echo "- for scale, not the daemon's: kernel slab growth per connection" \
    "(both ends of it, sockets, epoll items): ${kpc} bytes"
echo "- accepted per worker (STATS while holding): $balance"
echo
echo '```'
echo "$stats" | grep -E '^connections_(active|total|rejected) '
echo "$stats" | grep -E '^errors_[a-z_]+ [1-9]'
echo "$stats" | grep -E '^worker\.[0-9]+\.(accepted|connections_active) '
echo '```'
} >"$tmp/scale.md"
cp "$tmp/scale.md" "$build/bench-scale.md"
cat "$build/bench-scale.md"
[ $fail = 0 ]
