#!/usr/bin/env python3
"""Check the events newsd codes in the seed wire story (../shared/seed/wire-story-blinken-wang.txt).

Each expectation is one development the issue names, with its actors, and must be found among the
events published (at or above events.min_confidence, i.e. not below_threshold); at most MAX_PUBLISHED
events may be published (issue 15: the story has about 7 real developments). The script prints one
line per expectation, then every published event, and exits 1 when an expectation is missing or too
many events are published. Skips (exit 0) when ../shared is absent.

Usage: python3 scripts/check_seed.py [--bin build/bench/bench_events] [--seed PATH] [-v]
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cc(actors):
    return {a.get("code") for a in actors}


def names(actors):
    return " ".join(a.get("name") or a.get("text") or "" for a in actors)


EXPECT = [
    ("Blinken-Wang meeting: CONSULT, USA and CHN",
     lambda e: e["type"] == "CONSULT" and {"USA", "CHN"} <= cc(e["source"]) | cc(e["target"])
     and "Blinken" in names(e["source"] + e["target"]) and "Wang" in names(e["source"] + e["target"])),
    ("US criticism of China's support for Russia: ACCUSE, USA -> CHN",
     lambda e: e["type"] == "ACCUSE" and "USA" in cc(e["source"]) and "CHN" in cc(e["target"])),
    ("China and Brazil's peace-plan meeting: CONSULT by CHN and BRA",
     lambda e: e["type"] == "CONSULT" and {"CHN", "BRA"} <= cc(e["source"])),
    ("Zelenskiy's dismissal of the plan: REJECT by UKR",
     lambda e: e["type"] == "REJECT" and "UKR" in cc(e["source"]) and "Zelenskiy" in names(e["source"])),
    ("US and EU concern over the drone report: ACCUSE by USA and the EU",
     lambda e: e["type"] == "ACCUSE" and "USA" in cc(e["source"]) and "European Union" in names(e["source"])),
    ("planned Xi-Biden call: planned, CHN and USA",
     lambda e: e["status"] == "planned" and {"CHN", "USA"} <= cc(e["source"]) | cc(e["target"])
     and "Xi" in names(e["source"] + e["target"]) and "Biden" in names(e["source"] + e["target"])),
]


MAX_PUBLISHED = 12


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bench", "bench_events"))
    ap.add_argument("--seed", default=os.path.join(ROOT, "..", "shared", "seed", "wire-story-blinken-wang.txt"))
    ap.add_argument("-v", action="store_true", help="print every event")
    args = ap.parse_args()
    if not os.path.exists(args.seed):
        print("skipped: no %s" % args.seed)
        return 0
    text = open(args.seed, encoding="utf-8").read()
    res = subprocess.run([args.bin, "--code"], input=json.dumps({"id": "seed", "text": text}) + "\n",
                         capture_output=True, text=True, check=True)
    out = json.loads(res.stdout)
    events = [e for e in out["events"] if not e.get("below_threshold")]
    if args.v:
        for e in events:
            print("  %-9s %-4s %s -> %s  [%s] %s" % (e["type"], e["cameo"], names(e["source"]), names(e["target"]),
                                                   e["trigger"]["text"], e["status"]))
    passed = failed = 0
    for label, test in EXPECT:
        hit = next((e for e in events if test(e)), None)
        if hit:
            passed += 1
            print("ok    %s  <- %s %s: %s -> %s" % (label, hit["type"], hit["cameo"], names(hit["source"]),
                                                 names(hit["target"])))
        else:
            failed += 1
            print("FAIL  %s" % label)
    print("published events (%d of %d coded, at most %d):" % (len(events), len(out["events"]), MAX_PUBLISHED))
    for e in events:
        print("  %-9s %-4s %.2f %s -> %s  [%s] %s" % (e["type"], e["cameo"], e["confidence"], names(e["source"]),
                                                   names(e["target"]), e["trigger"]["text"], e["status"]))
    if len(events) > MAX_PUBLISHED:
        failed += 1
        print("FAIL  %d events published, more than %d" % (len(events), MAX_PUBLISHED))
    print("subject: " + ", ".join("%s (%.2f)" % (t["name"], t["confidence"]) for t in out["subject"]))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
