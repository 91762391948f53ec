#!/usr/bin/env bats
# make install with PREFIX and DESTDIR: the file list, and a conffile that
# is never overwritten.

load helper

setup() { ekko_setup; }
teardown() { ekko_teardown; }

@test "make install DESTDIR=... PREFIX=/usr installs exactly the expected files" {
	top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	run make -C "$top" -s install DESTDIR="$T/root" PREFIX=/usr \
	    BUILD="$EKKO_BUILD"
	[ "$status" -eq 0 ]
	run sh -c "cd '$T/root' && find . -type f | sort"
	expected="./etc/ekko/ekkod.conf
./usr/bin/ekko
./usr/lib/systemd/system/ekkod.service
./usr/lib/systemd/system/ekkod.socket
./usr/lib/sysusers.d/ekko.conf
./usr/lib/tmpfiles.d/ekko.conf
./usr/sbin/ekkod
./usr/share/man/man1/ekko.1
./usr/share/man/man5/ekkod.conf.5
./usr/share/man/man8/ekkod.8"
	[ "$output" = "$expected" ]
	[ -x "$T/root/usr/sbin/ekkod" ]
	# the unit names the installed paths
	grep -q "^ExecStart=/usr/sbin/ekkod -f -c /etc/ekko/ekkod.conf$" \
	    "$T/root/usr/lib/systemd/system/ekkod.service"
	# the installed config is the reference one with a pid file in the
	# unit's /run/ekko (for ExecReload), and it is valid
	sed 's,^pidfile = "";,pidfile = "/run/ekko/ekkod.pid";,' \
	    "$top/etc/ekkod.conf" | cmp - "$T/root/etc/ekko/ekkod.conf"
	grep -q '^pidfile = "/run/ekko/ekkod.pid";$' "$T/root/etc/ekko/ekkod.conf"
	run "$T/root/usr/sbin/ekkod" -t -c "$T/root/etc/ekko/ekkod.conf"
	[ "$status" -eq 0 ]
}

@test "make install never overwrites an existing /etc/ekko/ekkod.conf" {
	top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	mkdir -p "$T/root/etc/ekko"
	echo "workers = 7;" > "$T/root/etc/ekko/ekkod.conf"
	run make -C "$top" -s install DESTDIR="$T/root" BUILD="$EKKO_BUILD"
	[ "$status" -eq 0 ]
	[ "$(cat "$T/root/etc/ekko/ekkod.conf")" = "workers = 7;" ]
	[ -x "$T/root/usr/local/sbin/ekkod" ]
}
