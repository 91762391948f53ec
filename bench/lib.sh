# lib.sh -- helpers shared by bench/run.sh, bench/extra.sh, bench/scale.sh.
# Sourced by bash with top set; bench_init sets the rest.

# The common state of a bench script: where things are built, a scratch
# directory, and the traps that stop every process it started by PID.
bench_init()
{
	build=${BUILD:-$top/build}
	case $build in /*) ;; *) build=$top/$build ;; esac
	ekkod=${EKKOD:-$build/ekkod}
	out=$build/bench
	lg=$out/loadgen
	tmp=$(mktemp -d /tmp/ekko-bench.XXXXXX)
	pids=()
	used_ports=" "
	trap 'stop_all; rm -rf "$tmp"' EXIT
	trap 'exit 130' INT TERM
}

# Build the limit reference, the load generator and the malloc counter.
build_tools()
{
	local cc=${CC:-cc}
	mkdir -p "$out"
	$cc -O2 -Wall -Wextra -o "$out/refecho" "$top/bench/refecho.c" &&
	$cc -O2 -Wall -Wextra -pthread -o "$out/loadgen" \
	    "$top/bench/loadgen.c" &&
	$cc -O2 -Wall -Wextra -fPIC -shared -o "$out/malloccount.so" \
	    "$top/bench/malloccount.c"
}

# Whether a local TCP port appears in /proc/net/tcp{,6} (any state).
port_used()
{
	local hex
	hex=$(printf ':%04X ' "$1")
	grep -q "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Print a free port, never one this run already handed out.
pick_port()
{
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		case $used_ports in *" $p "*) continue ;; esac
		port_used "$p" && continue
		used_ports="$used_ports$p "
		echo "$p"
		return
	done
}

# Wait until something accepts on 127.0.0.1:PORT, up to TENTHS/10 s (5 s).
wait_port()
{
	local i
	for ((i = 0; i < ${2:-50}; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Start a command in the background and remember its PID (last_pid).
start()
{
	"$@" &
	last_pid=$!
	pids+=("$last_pid")
}

# Stop one process we started: TERM, up to 5 s, then KILL.
stop_pid()
{
	local p=$1 i
	kill -TERM "$p" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

# Stop every process this script started.
stop_all()
{
	local p
	for p in "${pids[@]}"; do
		stop_pid "$p"
	done
	pids=()
}

# Write an ekkod config: FILE WORKERS MAXCONN RAWPORT LENGTHPORT CMDPORT
# [IDLE_TIMEOUT [BACKLOG]]; an empty port leaves that listener out.
write_ekkod_conf()
{
	local f=$1 w=$2 mc=$3 raw=$4 len=$5 cmd=$6 idle=${7:-300}
	local bl=${8:-511} pp=${9:-} l=""
	local a='address = "127.0.0.1"'
	# a raw echo behind the PROXY protocol v2, as haproxy sends it
	[ -n "$pp" ] && l="$l
  { $a; port = $pp; mode = \"echo\"; framing = \"raw\";
    proxy_protocol = \"v2\"; proxy_allow = [ \"127.0.0.0/8\" ]; },"
	[ -n "$raw" ] && l="$l
  { $a; port = $raw; mode = \"echo\"; framing = \"raw\"; },"
	[ -n "$len" ] && l="$l
  { $a; port = $len; mode = \"echo\"; framing = \"length\"; },"
	[ -n "$cmd" ] && l="$l
  { $a; port = $cmd; mode = \"command\"; framing = \"length\"; },"
	cat >"$f" <<EOF
# written by bench for one run
workers = $w;
log = { level = "warning"; };
limits = { max_connections = $mc; idle_timeout = $idle; };
tcp = { backlog = $bl; };
listeners = (${l%,}
);
EOF
}

# Child PIDs of a process (ekkod's workers).
children_of()
{
	cat /proc/"$1"/task/*/children 2>/dev/null
}

# One line on the machine, and a warning if it is busy before we start.
machine_note()
{
	local a b busy
	a=$(awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $2+$3+$4+$5+$6+$7+$8+$9}' \
	    /proc/stat)
	sleep 1
	b=$(awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $2+$3+$4+$5+$6+$7+$8+$9}' \
	    /proc/stat)
	busy=$(echo "$a $b" | awk '{ d = $4 - $2
		print (d > 0) ? int(100 * ($3 - $1) / d) : 0 }')
	echo "- machine: $(nproc) CPUs, $(uname -sr)," \
	    "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)," \
	    "$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- servers: refecho (bench/refecho.c)," \
	    "$(redis-server --version 2>/dev/null | awk '{print "redis", $3}' |
	    sed 's/v=//')," \
	    "$(memcached -V 2>/dev/null)"
	echo "- CPU busy before start: ${busy}%"
	if [ "$busy" -gt 10 ]; then
		echo "- WARNING: the machine was ${busy}% busy before the" \
		    "run; other processes share the CPUs and disturb the" \
		    "figures"
	fi
}

# Short summary of a loadgen result line.
summary()
{
	echo "$1" | awk '{
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			f[kv[1]] = kv[2]
		}
		if (f["valid"] == "")
			print "FAILED: " $0
		else
			printf "rps=%s gbps=%s p50=%sus p99=%sus cpu=%s " \
			    "others=%s%s\n", f["rps"], f["gbps"], f["p50_us"],
			    f["p99_us"], f["srv_busy"], f["others"],
			    f["valid"] == "1" ? "" : " INVALID"
	}'
}

# From STATS on stdin: each worker's accepted count and max/min.
accept_balance()
{
	awk '$1 ~ /^worker\.[0-9]+\.accepted$/ {
		n++; a[n] = $2; s = s sprintf("%s=%s ", $1, $2)
		if (n == 1 || $2 > max) max = $2
		if (n == 1 || $2 < min) min = $2
	}
	END {
		if (n == 0) { print "no per-worker accepted in STATS"; exit }
		r = (min > 0) ? sprintf("%.3f", max / min) : "inf"
		printf "%smax/min=%s", s, r
	}'
}

# The markdown report: medians, ratios to refecho, targets.  FILE BALANCE
report()
{
	echo "## make bench: ekko against the limit reference"
	echo
	cat "$out/machine.txt"
	echo "- $runs runs of ${secs} s each (after ${warm} s warm-up), median" \
	    "shown; servers pinned to CPU $scpu with 1 worker (memcached" \
	    "-t 1, redis single-threaded), load generator pinned to CPU" \
	    "$ccpu; (a'): load generator on CPU $scpu with the server"
	echo "- refecho reads up to ${refbuf:-65536} bytes per readiness" \
	    "event (ekkod: 256 KiB)"
	echo
	awk -v balance="$2" -v maxothers="${max_others:-0.03}" \
	    -f "$top/bench/report.awk" "$1"
}
