#!/bin/sh
# Install the Debian packages a target needs, when they are missing and we
# are root; otherwise say what is missing.
# Usage: deps.sh build|test|bench|package|systemd
set -e
build="gcc make pkg-config libconfig-dev"
test="$build bats socat netcat-openbsd python3 jq procps clang valgrind
 libclang-rt-14-dev systemd iproute2 util-linux mandoc haproxy prometheus
 tmux"
bench="$build redis-server memcached strace valgrind util-linux"
package="$build debhelper devscripts lintian fakeroot dpkg-dev"
# check-systemd: a bookworm root booted with systemd-nspawn
systemd="$package systemd-container mmdebstrap util-linux"
case "$1" in
build) want=$build ;;
test) want=$test ;;
bench) want=$bench ;;
package) want=$package ;;
systemd) want=$systemd ;;
*) echo "usage: deps.sh build|test|bench|package|systemd" >&2; exit 2 ;;
esac
missing=
for p in $want; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root to install)" >&2
	exit 0
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
