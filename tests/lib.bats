#!/usr/bin/env bats
# The test library itself: tests/ekkotest.py and the scenario clients
# under tests/clients/ pass a linter, and the one list of STATS keys
# (tests/stats_keys.txt) is what a live STATS reply has, no more, no less.

load helper

setup() { ekko_setup; }
teardown() { ekko_teardown; }

# A python3 with pyflakes, if there is one (Debian: python3-pyflakes).
pyflakes_python() {
	local p
	for p in python3 /usr/bin/python3; do
		if "$p" -m pyflakes --version >/dev/null 2>&1; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

@test "lib: ekkotest.py and every client pass pyflakes (else py_compile)" {
	local py files
	files=$(ls "$BATS_TEST_DIRNAME"/*.py "$BATS_TEST_DIRNAME"/clients/*.py)
	[ -n "$files" ]
	if py=$(pyflakes_python); then
		# shellcheck disable=SC2086
		run env PYTHONPATH="$BATS_TEST_DIRNAME" "$py" -m pyflakes $files
	else
		echo "no pyflakes: py_compile only"
		# shellcheck disable=SC2086
		run python3 -m py_compile $files
	fi
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "lib: stats_keys.txt names each key once, of a known kind" {
	run awk '/^[^#]/ && NF { if ($1 !~ /^(global|worker|state)$/ ||
	    NF != 2 || seen[$1 " " $2]++) { print "bad: " $0; bad = 1 } }
	    END { exit bad }' "$BATS_TEST_DIRNAME/stats_keys.txt"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(stats_keys global | wc -l)" -ge 30 ]
}

@test "lib: a live STATS reply has exactly the keys of stats_keys.txt" {
	local c want got
	c=$(free_port)
	write_conf <<EOF
workers = 2;
listeners = ( { address = "127.0.0.1"; port = $c; mode = "command";
                framing = "length"; } );
EOF
	start_ekkod
	wait_stat "$c" workers_running 50 2
	want=$( { stats_keys global; for w in 0 1; do
	    stats_keys worker | sed "s/^/worker.$w./"; done; } | sort)
	got=$(stats_of "$c" | awk '{ print $1 }' | sort)
	diff <(echo "$want") <(echo "$got") || {
		echo "< only in tests/stats_keys.txt, > only in STATS"
		false
	}
	# Every worker state it shows is a listed one.
	stats_of "$c" | awk '$1 ~ /\.state$/ { print $2 }' | while read -r s; do
		stats_keys state | grep -qx "$s"
	done
}

@test "lib: ekkotest.py helpers: free ports, framing, STATS parsing" {
	run ekkotest selftest
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}
