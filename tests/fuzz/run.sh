#!/bin/sh
# A short libFuzzer run from the repo's seed corpus. New inputs go to a scratch folder, so the repo's
# corpus only changes by hand (copy an interesting input in and commit it).
#   run.sh HARNESS CORPUS SECONDS
set -eu
harness=$1; corpus=$2; secs=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
"$harness" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$scratch" "$corpus"
