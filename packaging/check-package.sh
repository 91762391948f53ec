#!/bin/bash
# Check the Debian package end to end, as root on a scratch machine:
# lintian, install, the user and run-time directory it creates, "ekkod -t"
# on the packaged config, the installed daemon serving the packaged ports
# as the ekko user (echo on 8888, PING on 8889), "ekkod -s", a clean stop,
# then remove (only the conffile stays) and purge.  Under systemd (a real
# machine) the service the package started is checked and stopped first.
# Prints PASS/FAIL lines and "N passed, N failed"; exits 1 on any failure.
# Usage: check-package.sh path/to/ekko_VERSION_ARCH.deb
#
# bash for /dev/tcp: the check needs no client tool beyond the package.
set -u
deb=${1:?usage: check-package.sh DEB}
conf=/etc/ekko/ekkod.conf
pidfile=/run/ekko/ekkod.pid
ekkod=/usr/sbin/ekkod
pass=0
fail=0
daemon=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ekko-check.XXXXXX")

# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
		kill -KILL "$daemon" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Does the ekko user exist?  (called through check)
# shellcheck disable=SC2317
have_user() {
	getent passwd ekko >/dev/null
}
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
# check "what" command...: PASS if the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

# Is something listening on TCP port $1 of 127.0.0.1?
port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Wait up to 10 s for a connection to 127.0.0.1:$1 to succeed.
wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		kill -0 "$daemon" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Send $2 (printf format) to 127.0.0.1:$1, half-close, print the reply
# as hex bytes.
exchange() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 5 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "$2" >&3
		head -c "$3" <&3 | od -An -tx1 | tr -s " \n" "  "
	' exchange "$@"
}

[ "$(id -u)" = 0 ] || { bad "check-package must run as root"; finish; }
[ -f "$deb" ] || { bad "no package $deb (make deb)"; finish; }
echo "# package: $deb"

# -- lintian: show everything; errors fail the check.
lintian --display-info "$deb" >"$tmp/lintian" 2>&1
cat "$tmp/lintian"
if grep -q '^E: ' "$tmp/lintian"; then
	bad "lintian reports errors"
else
	ok "lintian: no errors ($(grep -c '^W: ' "$tmp/lintian") warnings)"
fi

# The packaged config listens on 8888 and 8889: they must be free.
busy=
for p in 8888 8889; do
	if port_busy $p; then busy="$busy $p"; fi
done

# -- install
if dpkg -i "$deb" >"$tmp/dpkg" 2>&1; then
	ok "dpkg -i"
else
	cat "$tmp/dpkg"
	bad "dpkg -i"
	finish
fi
dpkg-query -L ekko >"$tmp/files"
check "installs $ekkod, /usr/bin/ekko and $conf" \
    test -x "$ekkod" -a -x /usr/bin/ekko -a -f "$conf"
check "$conf is a conffile" \
    grep -qx "$conf" /var/lib/dpkg/info/ekko.conffiles
check "man pages ekkod(8), ekkod.conf(5), ekko(1) installed" test \
    -f /usr/share/man/man8/ekkod.8.gz -a \
    -f /usr/share/man/man5/ekkod.conf.5.gz -a \
    -f /usr/share/man/man1/ekko.1.gz
service=$(grep '/systemd/system/ekkod\.service$' "$tmp/files")
socket=$(grep '/systemd/system/ekkod\.socket$' "$tmp/files")
check "systemd units installed ($service $socket)" \
    test -f "$service" -a -f "$socket"
check "ekkod.service runs $ekkod -f -c $conf" grep -qx \
    "ExecStart=$ekkod -f -c $conf" "$service"
if command -v systemd-analyze >/dev/null; then
	check "systemd-analyze verify ekkod.service ekkod.socket" \
	    systemd-analyze verify --man=no "$service" "$socket"
fi
check "system user ekko exists (sysusers)" have_user
check "/run/ekko exists, owned by ekko (tmpfiles)" \
    test "$(stat -c %U /run/ekko 2>/dev/null)" = ekko
check "packaged config keeps the pid file in /run/ekko" \
    grep -qx "pidfile = \"$pidfile\";" "$conf"

# -- the installed daemon on the packaged config, run by hand
out=$("$ekkod" -t -c "$conf" 2>&1)
rc=$?
echo "# ekkod -t: $out"
check "ekkod -t -c $conf exits 0" test "$rc" -eq 0
check "ekkod -t says the configuration is ok" \
    test "$out" = "ekkod: configuration $conf is ok"

# Under systemd the package has started the service: check it, stop it.
if [ -z "$busy" ] && [ -d /run/systemd/system ]; then
	check "ekkod.service is active after install" \
	    systemctl is-active --quiet ekkod.service
	reply=$(exchange 8888 'hello, ekko\n' 12)
	check "ekkod.service echoes on 8888 (got: $reply)" test "$reply" = \
	    " 68 65 6c 6c 6f 2c 20 65 6b 6b 6f 0a "
	check "systemctl reload ekkod" systemctl reload ekkod.service
	check "systemctl stop ekkod" systemctl stop ekkod.service
fi

if [ -n "$busy" ]; then
	bad "ports$busy already in use: cannot run the packaged config"
else
	# As the unit does: the ekko user, in the foreground.
	setpriv --reuid=ekko --regid=ekko --init-groups -- \
	    "$ekkod" -f -c "$conf" >"$tmp/ekkod.log" 2>&1 &
	daemon=$!
	if wait_port 8888 && wait_port 8889; then
		ok "ekkod (pid $daemon) listens on 8888 and 8889 as ekko"
	else
		bad "ekkod does not listen on 8888 and 8889"
	fi
	check "pid file $pidfile holds the master's pid" \
	    test "$(cat "$pidfile" 2>/dev/null)" = "$daemon"
	reply=$(exchange 8888 'hello, ekko\n' 12)
	check "port 8888 echoes (got: $reply)" test "$reply" = \
	    " 68 65 6c 6c 6f 2c 20 65 6b 6b 6f 0a "
	reply=$(exchange 8889 '\x00\x00\x00\x01\x01' 9)
	check "port 8889 answers PING with PONG (got: $reply)" \
	    test "$reply" = " 00 00 00 05 81 50 4f 4e 47 "
	check "ekkod -s stats finds the master" "$ekkod" -s stats -c "$conf"
	check "ekkod -s reload: the new generation serves" \
	    "$ekkod" -s reload -c "$conf"
	reply=$(exchange 8888 'again\n' 6)
	check "port 8888 echoes after the reload (got: $reply)" \
	    test "$reply" = " 61 67 61 69 6e 0a "
	kill -TERM "$daemon" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$daemon" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$daemon" 2>/dev/null; then
		bad "ekkod still runs 10 s after SIGTERM"
		kill -KILL "$daemon"
		wait "$daemon" 2>/dev/null
	else
		wait "$daemon"
		check "ekkod exits 0 on SIGTERM" test $? -eq 0
	fi
	daemon=
	check "pid file removed at exit" test ! -e "$pidfile"
	echo "# ekkod output:"
	sed 's/^/#   /' "$tmp/ekkod.log"
fi

# -- remove: every file of the package goes but the conffile.
if dpkg -r ekko >"$tmp/dpkg" 2>&1; then
	ok "dpkg -r"
else
	cat "$tmp/dpkg"
	bad "dpkg -r"
fi
left=
while read -r f; do
	if [ -e "$f" ] && [ ! -d "$f" ] && [ "$f" != "$conf" ]; then
		left="$left $f"
	fi
done <"$tmp/files"
check "after dpkg -r no file of the package is left${left:+ (left:$left)}" \
    test -z "$left"
check "after dpkg -r the conffile $conf stays" test -f "$conf"
check "after dpkg -r the ekko user stays" have_user

# -- purge: the conffile goes too.
if dpkg -P ekko >"$tmp/dpkg" 2>&1; then
	ok "dpkg -P"
else
	cat "$tmp/dpkg"
	bad "dpkg -P"
fi
check "after dpkg -P $conf is gone" test ! -e "$conf"
check "after dpkg -P the package is unknown to dpkg" \
    test -z "$(dpkg-query -W -f='${Status}' ekko 2>/dev/null |
    grep -v not-installed)"
finish
