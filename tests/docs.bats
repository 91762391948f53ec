#!/usr/bin/env bats
# The documentation says what the code does (Postfix mantools/check-*):
# every config key (SPEC section 5) is documented in ekkod.conf(5) and set
# or shown in the reference etc/ekkod.conf, every STATS key (SPEC section
# 7) in ekkod.conf(5), every signal and option in ekkod(8); the reference
# config holds exactly the built-in defaults, and every example validates.

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
CONF5=$TOP/daemon/ekkod.conf.5
MAN8=$TOP/daemon/ekkod.8
REF=$TOP/etc/ekkod.conf
EKKOD=${EKKO_BUILD:-$TOP/build}/ekkod

# Keys that have a built-in default, nested ones by their own name.
KEYS_DEFAULT="workers user group pidfile shutdown_timeout worker_timeout
    log facility level ident
    limits max_connections per_ip_connections max_frame idle_timeout
    frame_timeout write_timeout max_output max_memory
    tcp nodelay keepalive backlog rcvbuf sndbuf reuseport
    admin_allow listeners address port mode framing"
# Per-listener keys without a default: documented, shown in comments.
KEYS_OPTIONAL="allow deny frame_size delimiter"

STATS_GLOBAL="uptime pid generation workers_configured workers_running
    respawns reloads reloads_failed last_reload connections_active
    connections_total connections_rejected requests_total bytes_in
    bytes_out errors_frame_too_large errors_timeout_idle
    errors_timeout_frame errors_timeout_write errors_denied
    errors_forbidden errors_unknown_op errors_max_connections
    errors_per_ip errors_empty_frame errors_memory"
STATS_WORKER="pid generation state accepted connections_active requests
    bytes_in bytes_out heartbeat_age respawns last_exit"
WORKER_STATES="starting serving draining backoff"

SIGNALS="HUP TERM INT QUIT USR1 TTIN TTOU USR2"
OPTIONS="c f t s V h"
SIGNAL_NAMES="reload stop quit stats"

# SPEC section 5's defaults, comments and blanks removed.
DEFAULTS='workers=2;user="";group="";pidfile="";shutdown_timeout=10;'\
'worker_timeout=30;log={facility="daemon";level="info";ident="ekkod";};'\
'limits={max_connections=10000;per_ip_connections=0;max_frame=1048576;'\
'idle_timeout=300;frame_timeout=30;write_timeout=30;max_output=4194304;'\
'max_memory=268435456;};'\
'tcp={nodelay=true;keepalive=true;backlog=511;rcvbuf=0;sndbuf=0;'\
'reuseport=false;};admin_allow=["127.0.0.0/8","::1/128"];'\
'listeners=({address="0.0.0.0";port=8888;mode="echo";framing="raw";},'\
'{address="127.0.0.1";port=8889;mode="command";framing="length";});'

# The words in $2 that file $1 lacks (as whole words).
missing_words() {
	local w out=
	for w in $2; do
		grep -qw -- "$w" "$1" || out="$out $w"
	done
	echo "$out"
}

# A section of a mdoc page, from ".Sh $2" (or ".Ss $2") to the next .Sh.
section() {
	awk -v s="$2" '
		/^\.S[hs] / { if (on && $1 == ".Sh") on = 0 }
		$0 == ".Sh " s || $0 == ".Ss " s { on = 1 }
		on' "$1"
}

# Settings of a libconfig text, comments and blanks removed.
squeeze() {
	sed -e 's/[[:space:]]*#.*//' -e 's,[[:space:]]*//.*,,' | tr -d ' \t\n'
}

# The literal displays of a mdoc section, one per file $3.N; prints N.
displays() {
	section "$1" "$2" | awk -v out="$3" '
		/^\.Bd -literal/ { n++; on = 1; next }
		/^\.Ed/ { on = 0; next }
		on { gsub(/\\e/, "\\"); print > (out "." n) }
		END { print n + 0 }'
}

@test "docs: every config key is documented in ekkod.conf(5)" {
	local m
	m=$(missing_words "$CONF5" "$KEYS_DEFAULT $KEYS_OPTIONAL")
	[ -z "$m" ] || { echo "missing in ekkod.conf.5:$m"; false; }
	# each one defined, as an item of a key list
	m=
	for k in $KEYS_DEFAULT $KEYS_OPTIONAL; do
		case $k in log|limits|tcp|listeners) continue ;; esac
		grep -q "^\.It Ic $k\( \|$\)" "$CONF5" || m="$m $k"
	done
	[ -z "$m" ] || { echo "no .It Ic entry in ekkod.conf.5:$m"; false; }
}

@test "docs: every config key is in etc/ekkod.conf" {
	local m
	m=$(missing_words "$REF" "$KEYS_DEFAULT $KEYS_OPTIONAL")
	[ -z "$m" ] || { echo "missing in etc/ekkod.conf:$m"; false; }
	# keys with a default are set, not only mentioned in a comment
	m=
	for k in $KEYS_DEFAULT; do
		sed 's/#.*//' "$REF" | grep -q "\b$k = " || m="$m $k"
	done
	[ -z "$m" ] || { echo "not set in etc/ekkod.conf:$m"; false; }
}

@test "docs: etc/ekkod.conf holds exactly the built-in defaults" {
	local got
	got=$(squeeze <"$REF")
	[ "$got" = "$DEFAULTS" ] || {
		echo "expected: $DEFAULTS"
		echo "got:      $got"
		false
	}
}

@test "docs: ekkod.conf(5) shows the built-in defaults" {
	local n got
	n=$(displays "$CONF5" EXAMPLES "$BATS_TEST_TMPDIR/ex")
	[ "$n" -ge 1 ]
	got=$(squeeze <"$BATS_TEST_TMPDIR/ex.1")
	[ "$got" = "$DEFAULTS" ] || {
		echo "expected: $DEFAULTS"
		echo "got:      $got"
		false
	}
}

@test "docs: every STATS key is in ekkod.conf(5) STATISTICS" {
	local m
	section "$CONF5" STATISTICS >"$BATS_TEST_TMPDIR/stats"
	m=$(missing_words "$BATS_TEST_TMPDIR/stats" "$STATS_GLOBAL")
	[ -z "$m" ] || { echo "global STATS keys missing:$m"; false; }
	section "$CONF5" "Per-worker keys" >"$BATS_TEST_TMPDIR/worker"
	m=$(missing_words "$BATS_TEST_TMPDIR/worker" \
	    "$STATS_WORKER $WORKER_STATES")
	[ -z "$m" ] || { echo "per-worker STATS keys missing:$m"; false; }
	grep -q 'worker' "$BATS_TEST_TMPDIR/worker"
	grep -q 'SLOT' "$BATS_TEST_TMPDIR/worker"
}

@test "docs: every signal is in ekkod(8)" {
	local m= s
	for s in $SIGNALS; do
		section "$MAN8" SIGNALS | grep -qw "SIG$s" || m="$m SIG$s"
	done
	[ -z "$m" ] || { echo "signals missing in ekkod.8 SIGNALS:$m"; false; }
}

@test "docs: every ekkod option is in ekkod(8)" {
	local m= o
	for o in $OPTIONS; do
		grep -q "^\.It Fl $o\( \|$\)" "$MAN8" || m="$m -$o"
		section "$MAN8" SYNOPSIS | grep -q "Fl [a-zA-Z]*$o" ||
		    m="$m -$o(synopsis)"
	done
	for o in $SIGNAL_NAMES; do
		grep -qw "Cm $o" "$MAN8" || m="$m -s$o"
	done
	[ -z "$m" ] || { echo "options missing in ekkod.8:$m"; false; }
	for s in "EXIT STATUS" FILES "SEE ALSO" SYSTEMD RELOAD; do
		grep -qx "\.Sh $s" "$MAN8"
	done
}

@test "docs: the man pages pass mandoc -T lint" {
	command -v mandoc >/dev/null || skip "mandoc not installed"
	run mandoc -T lint -W warning "$MAN8" "$CONF5"
	echo "$output"
	[ -z "$output" ]
}

@test "docs: ekkod -t accepts etc/ekkod.conf" {
	[ -x "$EKKOD" ] || skip "no $EKKOD"
	run "$EKKOD" -t -c "$REF"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ekkod: configuration $REF is ok" ]
}

@test "docs: ekkod -t accepts the commented examples of etc/ekkod.conf" {
	[ -x "$EKKOD" ] || skip "no $EKKOD"
	local f=$BATS_TEST_TMPDIR/examples.conf
	{
		echo 'listeners = ('
		sed -n '/^# Examples (not active):/,/^listeners = (/p' "$REF" |
		    sed -n 's/^#   //p'
		echo ');'
	} >"$f"
	cat "$f"
	grep -q frame_size "$f"
	grep -q delimiter "$f"
	run "$EKKOD" -t -c "$f"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "docs: ekkod -t accepts every example of ekkod.conf(5)" {
	[ -x "$EKKOD" ] || skip "no $EKKOD"
	local n i
	n=$(displays "$CONF5" EXAMPLES "$BATS_TEST_TMPDIR/ex")
	[ "$n" -ge 2 ]
	for i in $(seq "$n"); do
		run "$EKKOD" -t -c "$BATS_TEST_TMPDIR/ex.$i"
		echo "example $i: $output"
		[ "$status" -eq 0 ]
	done
}
