#!/bin/sh
# ctest's release.build (a fixture set-up): scripts/build-release.sh into DESTDIR, as the Dockerfile
# runs it. The compiler's warnings are errors already (-Werror); CMake's own warnings fail it here.
#   release_build.sh DESTDIR BUILD_DIR
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
destdir=$1
build=$2
log=$build.log
rm -rf "$destdir"
mkdir -p "$(dirname "$log")"
if ! "$src/scripts/build-release.sh" "$destdir" "$build" >"$log" 2>&1; then
    cat "$log"
    echo "release.build: scripts/build-release.sh failed" >&2
    exit 1
fi
if grep -in "warning" "$log"; then
    echo "release.build: the Release build printed warnings (full log: $log)" >&2
    exit 1
fi
test -x "$destdir/usr/bin/newsd"
echo "release.build: installed into $destdir ($(du -sk "$destdir" | cut -f1) KiB)"
