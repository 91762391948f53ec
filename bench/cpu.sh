#!/bin/bash
# cpu.sh -- make bench-cpu: the server CPU per request of issue #17's
# targets, from runs seconds apart.  One ekkod (one worker) with a raw and
# a length echo listener, and the limit (refecho), pinned to the server
# CPU; at (b), (c) and (d) the load generator alternates between them,
# BENCH_CPU_RUNS (9) rounds of BENCH_SECONDS (2) s, the order rotating
# each round.  Each round gives ekko raw's CPU per request over the
# limit's and (at (d)) length's over raw's, and over raw echo of
# 65,540-byte messages (the same bytes on the wire as length's 65,536-byte
# frames with their headers, so that ratio is framing's own cost, without
# the stream's 4-byte shift, which costs raw echo too).  The medians of
# those ratios are the figures, since this host's speed drifts by tens of
# percent over minutes, far more than between two runs of one round.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
secs=${BENCH_SECONDS:-2}
runs=${BENCH_CPU_RUNS:-9}
scpu=${BENCH_SERVER_CPU:-1}
ccpu=${BENCH_CLIENT_CPU:-0}
. "$top/bench/lib.sh"
bench_init
build_tools || exit 1

e_raw=$(pick_port)
e_len=$(pick_port)
write_ekkod_conf "$tmp/ekkod.conf" 1 10000 "$e_raw" "$e_len" ""
start taskset -c "$scpu" "$ekkod" -f -c "$tmp/ekkod.conf" 2>"$tmp/ekkod.log"
e_pid=$last_pid
r_port=$(pick_port)
start taskset -c "$scpu" "$out/refecho" -p "$r_port" -w 1 -b 262144
r_pid=$last_pid
wait_port "$e_len" && wait_port "$r_port" || exit 1

# Server CPU us per request and GB/s of one run: PORT PROTO PID OPTS
cpu_run()
{
	# shellcheck disable=SC2086
	"$lg" -p "$1" -P "$2" -d "$secs" -S "$scpu" -Q "$3" $4 -C "$ccpu" \
	    2>&1 | tail -1 | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		if (v["rps"] > 0 && v["srv_busy"] > 0)
			printf "%.4f %s\n", v["srv_busy"] * 1e6 / v["rps"], v["gbps"]
		else
			print "- -" }'
}

median()
{
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "| workload | limit us/req | ekko raw us/req | raw / limit |" \
    "ekko length us/req | length / raw | length / raw at 65,540 B |" \
    "rounds |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for wl in "b|-c 50 -k 1 -s 64" "c|-c 50 -k 16 -s 64" \
    "d|-c 4 -k 4 -s 65536"; do
	name=${wl%%|*}
	opts=${wl#*|}
	names="ref raw"
	# raw echo of 65,540-byte messages puts on the wire what length
	# does (header and all), so length over it is framing's own cost
	[ "$name" = d ] && names="ref raw len odd"
	cpu_run "$r_port" raw "$r_pid" "$opts" >/dev/null	# warm-up
	: >"$tmp/rounds"
	read -ra order <<<"$names"
	for ((i = 0; i < runs; i++)); do
		c_ref=- c_raw=- c_len=- c_odd=-
		for ((k = 0; k < ${#order[@]}; k++)); do
			case ${order[$(((i + k) % ${#order[@]}))]} in
			ref) read -r c_ref _ <<<"$(cpu_run "$r_port" raw "$r_pid" "$opts")" ;;
			raw) read -r c_raw _ <<<"$(cpu_run "$e_raw" raw "$e_pid" "$opts")" ;;
			len) read -r c_len _ <<<"$(cpu_run "$e_len" length "$e_pid" "$opts")" ;;
			odd) read -r c_odd _ <<<"$(cpu_run "$e_raw" raw "$e_pid" "${opts/65536/65540}")" ;;
			esac
		done
		echo "$c_ref $c_raw $c_len $c_odd" >>"$tmp/rounds"
	done
	grep -v -- '^- \|^[0-9.]* - ' "$tmp/rounds" >"$tmp/ok"
	n=$(wc -l <"$tmp/ok")
	ref=$(awk '{print $1}' "$tmp/ok" | median)
	raw=$(awk '{print $2}' "$tmp/ok" | median)
	rr=$(awk '{print $2 / $1}' "$tmp/ok" | median)
	len="" lr="" lo=""
	if [ "$name" = d ]; then
		len=$(awk '$3 != "-" {print $3}' "$tmp/ok" | median)
		lr=$(awk '$3 != "-" {print $3 / $2}' "$tmp/ok" | median)
		lo=$(awk '$3 != "-" && $4 != "-" {print $3 / $4}' "$tmp/ok" |
		    median)
	fi
	printf '| (%s) | %.2f | %.2f | %.3f | %s | %s | %s | %d |\n' \
	    "$name" "$ref" "$raw" "$rr" "${len:+$(printf %.2f "$len")}" \
	    "${lr:+$(printf %.3f "$lr")}" "${lo:+$(printf %.3f "$lo")}" "$n"
done
