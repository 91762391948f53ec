#!/bin/bash
# copies.sh -- bytes copied in user space per request at (d) (raw,
# length, ECHO of 64 KiB) and at (b) and (c) for ECHO, by ekkod built with -DEKKO_COUNT_COPIES (make
# bench-copies-build): the difference of STATS bytes_copied_in/_out over
# the requests loadgen completed (raw's requests_total counts reads, not
# messages), as the difference of a run of 3t and a run of t.  Also the
# worker's CPU (utime+stime from /proc) per request over the same run.
# Prints markdown rows; bench/extra.sh appends them to its report.
# Environment as for extra.sh.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
xsecs=${BENCH_EXTRA_SECONDS:-2}
scpu=${BENCH_SERVER_CPU:-1}
ccpu=${BENCH_CLIENT_CPU:-0}
. "$top/bench/lib.sh"
bench_init
cbuild=$build/copies
[ -x "$cbuild/ekkod" ] || { echo "copies: $cbuild/ekkod not built" >&2;
    exit 1; }
[ -x "$lg" ] || build_tools || exit 1

# One STATS key of the server on the command port.
stat_of()
{
	"$cbuild/ekko" -p "$e_cmd" stats --json 2>/dev/null |
	    tr ',{}' '\n\n\n' | sed -n "s/^ *\"$1\": *\([0-9]*\).*/\1/p" |
	    head -1
}

# utime+stime ticks of every worker of the master.
worker_ticks()
{
	local p s=0
	for p in $(pgrep -P "$e_pid"); do
		s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo $s
}

e_raw=$(pick_port)
e_len=$(pick_port)
e_cmd=$(pick_port)
write_ekkod_conf "$tmp/ekkod.conf" 1 10000 "$e_raw" "$e_len" "$e_cmd"
start taskset -c "$scpu" "$cbuild/ekkod" -f -c "$tmp/ekkod.conf" \
    2>>"$tmp/ekkod.log"
e_pid=$last_pid
wait_port "$e_raw" 100 && wait_port "$e_cmd" 100 || exit 1

# Copies in and out, worker ticks and requests of one loadgen run.
measure()
{
	local port=$1 proto=$2 opts=$3 secs=$4 i0 o0 t0 line
	i0=$(stat_of bytes_copied_in)
	o0=$(stat_of bytes_copied_out)
	t0=$(worker_ticks)
	# shellcheck disable=SC2086
	line=$("$lg" -p "$port" -P "$proto" $opts -d "$secs" -W 0 -C "$ccpu")
	echo "$(($(stat_of bytes_copied_in) - i0))" \
	    "$(($(stat_of bytes_copied_out) - o0))" \
	    "$(($(worker_ticks) - t0))" \
	    "$(echo "$line" | tr ' ' '\n' | sed -n 's/^total=//p')"
}

echo "| workload | server | bytes copied per request: input side |" \
    "output side (the socket did not take it) | worker CPU µs per" \
    "request | short run: in, out, requests |"
echo "|---|---|---:|---:|---:|---|"
hz=$(getconf CLK_TCK)
for x in "(d)|raw|$e_raw|raw|-c 4 -k 4 -s 65536" \
    "(d)|length|$e_len|length|-c 4 -k 4 -s 65536" \
    "(d)|ECHO|$e_cmd|ekko-echo|-c 4 -k 4 -s 65536" \
    "(b)|ECHO|$e_cmd|ekko-echo|-c 50 -k 1 -s 64" \
    "(c)|ECHO|$e_cmd|ekko-echo|-c 50 -k 16 -s 64"; do
	IFS='|' read -r w name port proto opts <<<"$x"
	a=$(measure "$port" "$proto" "$opts" "$xsecs")
	b=$(measure "$port" "$proto" "$opts" "$((xsecs * 3))")
	# per request = (long run - short run) / (their requests' difference):
	# what every connection costs once (buffers growing) cancels out
	echo "$a $b" | awk -v w="$w" -v s="$name" -v hz="$hz" '{
	    n = $8 - $4
	    if (NF < 8 || n <= 0) { print "| " w " | " s " | n/a | n/a | n/a | |"
	    exit }
	    i = $5 - $1; o = $6 - $2	# start-up varies: never below 0
	    printf "| %s | %s | %.1f | %.1f | %.2f | %d, %d, %d |\n", w, s,
	    (i < 0 ? 0 : i) / n, (o < 0 ? 0 : o) / n,
	    ($7 - $3) * 1e6 / hz / n, $1, $2, $4 }'
done
