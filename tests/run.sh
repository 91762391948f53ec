#!/bin/sh
# Run every unit test binary and every bats file; print one summary line
# "N passed, N failed" and fail if anything failed.  Usage: run.sh BUILDDIR
# Set TESTS="tests/foo.bats ..." to run a subset.
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
export EKKO_BUILD="$top/$build"
out=$(mktemp)
trap 'rm -f "$out" "$out.unit"' EXIT INT TERM
for t in "$top/$build"/unit/test_*; do
	[ -x "$t" ] || continue
	echo "# unit: $(basename "$t")"
	"$t" >"$out.unit" 2>&1 || echo "not ok - $(basename "$t") exited $?" >>"$out.unit"
	cat "$out.unit" >>"$out"
	cat "$out.unit"
done
bats_files=${TESTS:-$(ls "$top"/tests/*.bats 2>/dev/null)}
if [ -n "$bats_files" ]; then
	# shellcheck disable=SC2086
	bats --tap $bats_files 2>&1 | tee -a "$out"
fi
passed=$(grep -c '^ok ' "$out")
failed=$(grep -c '^not ok ' "$out")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
