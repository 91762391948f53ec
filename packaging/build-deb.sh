#!/bin/sh
# Build the Debian package from a copy of the source tree, as it is now
# (committed or not), with packaging/debian as its debian/ directory; the
# binary packages land in BUILDDIR (default build).  Usage: build-deb.sh
# [BUILDDIR]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-build}
case $out in /*) ;; *) out=$top/$out ;; esac
version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ekko-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
src=$tmp/ekko-${version%-*}
mkdir "$src"
(cd "$top" && tar -cf - --exclude=./.git --exclude=./build \
    --exclude=./build-san --exclude=./build-fuzz --exclude=./debian \
    --exclude=./packaging/debian/.debhelper .) | tar -C "$src" -xf -
cp -R "$top/packaging/debian" "$src/debian"
rm -rf "$src/debian/.debhelper"
(cd "$src" && dpkg-buildpackage -us -uc -b)
mkdir -p "$out"
for f in "$tmp"/*.deb; do
	cp "$f" "$out/"
	echo "deb: $out/$(basename "$f")"
done
