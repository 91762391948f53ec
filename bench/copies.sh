#!/bin/bash
# copies.sh -- bytes copied in user space per request at (d), and at (b)
# and (c) for ECHO, by ekkod built with -DEKKO_COUNT_COPIES (make
# bench-copies-build): the difference of STATS bytes_copied_in/_out over
# the requests loadgen completed in one run (raw's requests_total counts
# reads, not messages).  Also the
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

echo "| workload | server | bytes copied per request: input side |" \
    "output side (the socket did not take it) | worker CPU µs per request |"
echo "|---|---|---:|---:|---:|"
hz=$(getconf CLK_TCK)
for x in "(d)|raw|$e_raw|raw|-c 4 -k 4 -s 65536" \
    "(d)|length|$e_len|length|-c 4 -k 4 -s 65536" \
    "(b)|ECHO|$e_cmd|ekko-echo|-c 50 -k 1 -s 64" \
    "(c)|ECHO|$e_cmd|ekko-echo|-c 50 -k 16 -s 64"; do
	IFS='|' read -r w name port proto opts <<<"$x"
	i0=$(stat_of bytes_copied_in)
	o0=$(stat_of bytes_copied_out)
	t0=$(worker_ticks)
	# shellcheck disable=SC2086
	line=$("$lg" -p "$port" -P "$proto" $opts -d "$xsecs" -W 0 \
	    -C "$ccpu")
	t1=$(worker_ticks)
	i1=$(stat_of bytes_copied_in)
	o1=$(stat_of bytes_copied_out)
	awk -v w="$w" -v s="$name" -v i="$((i1 - i0))" -v o="$((o1 - o0))" \
	    -v n="$(echo "$line" | tr ' ' '\n' | sed -n 's/^total=//p')" -v t="$((t1 - t0))" -v hz="$hz" \
	    'BEGIN { if (n <= 0) { print "| " w " | " s " | n/a | n/a | n/a |"
	    exit } printf "| %s | %s | %.1f | %.1f | %.2f (%d requests) |\n",
	    w, s, i / n, o / n, t * 1e6 / hz / n, n }'
done
