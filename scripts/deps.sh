#!/bin/sh
# Installs the Debian 12 packages newsd needs. Idempotent: when every package is present it only
# runs dpkg-query and returns. Used by the Makefile and by the Dockerfile.
#   deps.sh build      compilers, CMake and the -dev libraries: enough to build newsd and run its demo
#                      (`make build`, `make demo`, the image's build stage, scripts/build-release.sh)
#   deps.sh test       build + what the tests need: cmocka, clang/lld/libclang-rt for the fuzzers,
#                      valgrind, kcat, Java and Maven for the test Kafka broker, pytest and friends
#                      (`make test`, `make asan`, `make fuzz`)
#   deps.sh runtime    only the shared libraries the daemon links against (the image's runtime stage)
#   deps.sh            the same as `deps.sh test`
set -eu

build_pkgs="build-essential cmake ninja-build pkg-config git ca-certificates
 librdkafka-dev libcurl4-openssl-dev libjansson-dev libxml2-dev libyaml-dev libmicrohttpd-dev
 libutf8proc-dev libxxhash-dev libmimalloc-dev zlib1g-dev"
test_pkgs="libcmocka-dev clang llvm libclang-rt-14-dev lld valgrind kcat maven openjdk-17-jre-headless
 python3 python3-pytest python3-confluent-kafka python3-yaml python3-jsonschema
 chromium chromium-driver python3-selenium"
runtime_pkgs="librdkafka1 libcurl4 libjansson4 libxml2 libyaml-0-2 libmicrohttpd12 libutf8proc2 libxxhash0
 libmimalloc2.0 zlib1g ca-certificates"

case "${1:-test}" in
runtime) want="$runtime_pkgs" ;;
build) want="$build_pkgs" ;;
test | all) want="$build_pkgs $test_pkgs" ;;
*)
    echo "usage: deps.sh [build|test|runtime]" >&2
    exit 2 ;;
esac

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# The machine may have a JDK from elsewhere (Temurin); any java 17+ on PATH serves the test broker.
case " $missing " in
*" openjdk-17-jre-headless "*)
    if command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -Eq 'version "(1[7-9]|2[0-9])'; then
        missing=$(echo "$missing" | sed 's/ openjdk-17-jre-headless//')
    fi ;;
esac
case " $missing " in
*" maven "*) command -v mvn >/dev/null 2>&1 && missing=$(echo "$missing" | sed 's/ maven//') ;;
esac
[ -z "$(echo "$missing" | tr -d ' ')" ] && exit 0

echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# apt-get update exits 0 when a source could not be fetched (it only warns), and the install then
# fails later with "Unable to locate package"; --error-on=any makes that failure happen here.
if ! $SUDO apt-get update -qq --error-on=any; then
    echo "deps: apt-get update failed (see above): the package lists could not be fetched, so nothing" \
         "was installed. Check the network, a proxy, or /etc/apt/sources.list*, then run again." >&2
    exit 1
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
