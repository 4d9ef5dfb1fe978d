#!/bin/sh
# The one Release build of newsd: configure, build and install into DESTDIR, exactly as the container
# image (Dockerfile), CI (the ctest test release.build) and packagers do it.
#   scripts/build-release.sh DESTDIR [BUILD_DIR]
# DESTDIR gets PREFIX/bin/newsd and PREFIX/share/newsd/{models,desks.yaml,demo/feeds}, the binary
# stripped. PREFIX defaults to /usr; BUILD_DIR to build-release/ in the source tree. The packages it
# needs are `scripts/deps.sh build`.
set -eu

if [ $# -lt 1 ] || [ -z "$1" ]; then
    echo "usage: scripts/build-release.sh DESTDIR [BUILD_DIR]" >&2
    exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
destdir=$(cd "$1" && pwd)
build=${2:-$src/build-release}
prefix=${PREFIX:-/usr}
jobs=$(nproc 2>/dev/null || echo 2)
gen=""
command -v ninja >/dev/null 2>&1 && gen="-G Ninja"

# Tests need the test packages (cmocka, Kafka, ...); the release build needs none of them.
# shellcheck disable=SC2086
cmake -S "$src" -B "$build" $gen -DCMAKE_BUILD_TYPE=Release -DNEWSD_TESTS=OFF
cmake --build "$build" -j "$jobs"
DESTDIR="$destdir" cmake --install "$build" --prefix "$prefix" --strip
