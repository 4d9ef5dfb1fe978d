#!/usr/bin/env python3
"""Measure `newsd extract` on the trafilatura evaluation set in ../shared/data/html-extraction/:
for each page, the snippets its main text must contain ("with") and must not contain ("without").
Prints the share of must-appear snippets present and of must-not snippets absent.

    scripts/eval_extract.py [--newsd build/newsd] [--data DIR] [--show-misses N]

Exits 0 with a message when the data set is not there (it is not part of the repo)."""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def norm(s):
    return re.sub(r"\s+", " ", s).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--newsd", default=os.path.join(REPO, "build", "newsd"))
    ap.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "html-extraction"))
    ap.add_argument("--show-misses", type=int, default=0)
    args = ap.parse_args()

    expected = os.path.join(args.data, "expected.json")
    if not os.path.exists(expected):
        print(f"eval_extract: skipped: {expected} not found (the shared data set is absent)")
        return 0
    if not os.access(args.newsd, os.X_OK):
        print(f"eval_extract: {args.newsd} is not built (run make build)", file=sys.stderr)
        return 2
    cases = json.load(open(expected, encoding="utf-8"))
    w_total = w_ok = wo_total = wo_ok = pages = failed = 0
    misses = []
    t0 = time.monotonic()
    for url, case in cases.items():
        path = os.path.join(args.data, "pages", case["file"])
        if not os.path.exists(path):
            continue
        pages += 1
        r = subprocess.run([args.newsd, "extract", path], capture_output=True, timeout=60)
        if r.returncode != 0:
            failed += 1
        text = norm(r.stdout.decode("utf-8", "replace"))
        for snip in case.get("with", []):
            w_total += 1
            if norm(snip) in text:
                w_ok += 1
            else:
                misses.append(("missing", case["file"], snip))
        for snip in case.get("without", []):
            wo_total += 1
            if norm(snip) not in text:
                wo_ok += 1
            else:
                misses.append(("present", case["file"], snip))
    dt = time.monotonic() - t0
    for kind, f, snip in misses[: args.show_misses]:
        print(f"  {kind:8} {f}: {snip[:90]!r}")
    print(f"pages: {pages} ({failed} failed) in {dt:.1f} s")
    print(f"must-appear snippets present: {w_ok}/{w_total} = {100.0 * w_ok / max(w_total, 1):.1f}%")
    print(f"must-not snippets absent:     {wo_ok}/{wo_total} = {100.0 * wo_ok / max(wo_total, 1):.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
