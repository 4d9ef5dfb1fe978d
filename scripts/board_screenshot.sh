#!/bin/sh
# Refreshes docs/board.png: `newsd demo` on a free port, its board opened in headless Chromium
# (Debian's chromium and chromium-driver, through python3-selenium) at 1920x1080 (SHOT_SIZE=W,H),
# dark scheme, with an escalation, a FLASH and a withdrawn story added (board_screenshot.py).
#   scripts/board_screenshot.sh [BUILD_DIR] [OUT.png]     (defaults: build, docs/board.png)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
out=${2:-$here/docs/board.png}
exec /usr/bin/python3 "$here/scripts/board_screenshot.py" "$build/newsd" "$out"
