#!/usr/bin/env bats
# The documentation says what the code does (Postfix mantools/check-*):
# every STATS key (SPEC section 7) in ekkod.conf(5), every signal and
# option in ekkod(8), and every example validates.  Config keys are
# checked against the key table itself by tests/unit/test_config_docs.c:
# each documented in ekkod.conf(5), and etc/ekkod.conf and the first
# example of ekkod.conf(5) setting each to its built-in default.

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
CONF5=$TOP/daemon/ekkod.conf.5
MAN8=$TOP/daemon/ekkod.8
REF=$TOP/etc/ekkod.conf
EKKOD=${EKKO_BUILD:-$TOP/build}/ekkod

# The STATS keys: the one list, tests/stats_keys.txt.
STATS_KEYS=$BATS_TEST_DIRNAME/stats_keys.txt
STATS_GLOBAL=$(awk '$1 == "global" { print $2 }' "$STATS_KEYS")
STATS_WORKER=$(awk '$1 == "worker" { print $2 }' "$STATS_KEYS")
WORKER_STATES=$(awk '$1 == "state" { print $2 }' "$STATS_KEYS")

SIGNALS="HUP TERM INT QUIT USR1 TTIN TTOU USR2 RTMIN+1 RTMIN+2"
OPTIONS="c f t s V h"
SIGNAL_NAMES="reload upgrade stop quit stats drain undrain"

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

# The literal displays of a mdoc section, one per file $3.N; prints N.
displays() {
	section "$1" "$2" | awk -v out="$3" '
		/^\.Bd -literal/ { n++; on = 1; next }
		/^\.Ed/ { on = 0; next }
		on { gsub(/\\e/, "\\"); print > (out "." n) }
		END { print n + 0 }'
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
