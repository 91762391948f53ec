#!/bin/bash
# latency.sh -- make bench-latency: what the request-latency histogram
# (ekko_request_duration_seconds, issue #15) costs.  Two ekkods, one
# built as usual and one with "make LATENCY=0" (the histogram compiled
# out), each one worker on the server CPU with a metrics listener, driven
# at (b) and (c) by the load generator on the client CPU, in alternating
# runs (so that the host's drift hits both alike); medians.  Target: with
# the histogram, at least 0.97 of the rate without it.  Environment as
# for run.sh, plus BENCH_LATENCY_RUNS (7); EKKOD_NOLAT (the LATENCY=0
# build, default $BUILD/nolat/ekkod).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
secs=${BENCH_SECONDS:-3}
runs=${BENCH_LATENCY_RUNS:-7}
scpu=${BENCH_SERVER_CPU:-1}
ccpu=${BENCH_CLIENT_CPU:-0}
. "$top/bench/lib.sh"
bench_init
nolat=${EKKOD_NOLAT:-$build/nolat/ekkod}
build_tools || exit 1

# Start ekkod $1 with one worker; sets its echo port in $2's name.
start_one()
{
	local bin=$1 var=$2 p m
	p=$(pick_port)
	m=$(pick_port)
	cat >"$tmp/$var.conf" <<EOC
workers = 1;
log = { level = "warning"; };
listeners = (
  { address = "127.0.0.1"; port = $p; mode = "echo"; framing = "raw"; },
  { address = "127.0.0.1"; port = $m; mode = "metrics"; }
);
EOC
	start taskset -c "$scpu" "$bin" -f -c "$tmp/$var.conf"
	wait_port "$p" 600 || exit 1
	printf -v "$var" '%s' "$p"
}

# Requests per second of one run on port $1 with loadgen options $2.
rps()
{
	"$lg" -p "$1" -P raw $2 -d "$secs" -W 0.5 -C "$ccpu" |
	    tr ' ' '\n' | sed -n 's/^rps=//p'
}

median()
{
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

start_one "$ekkod" p_on
start_one "$nolat" p_off
echo "| workload | histogram on | LATENCY=0 | ratio |"
echo "|---|---:|---:|---:|"
for wl in "b|-c 50 -k 1 -s 64" "c|-c 50 -k 16 -s 64"; do
	name=${wl%%|*}
	opts=${wl#*|}
	rps "$p_on" "$opts" >/dev/null		# the first run after a change
	: >"$tmp/on"; : >"$tmp/off"		# of workload runs slow
	for ((i = 0; i < runs; i++)); do
		rps "$p_on" "$opts" >>"$tmp/on"
		rps "$p_off" "$opts" >>"$tmp/off"
	done
	on=$(median <"$tmp/on")
	off=$(median <"$tmp/off")
	echo "| ($name) | $on | $off |" \
	    "$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }') |"
done
