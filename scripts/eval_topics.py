#!/usr/bin/env python3
"""Top-level topic accuracy on BBC News (../shared/data/bbc-news/, 5 classes), mapped onto IPTC:
business -> 04000000 economy, business and finance; entertainment -> 01000000 arts, culture,
entertainment and media; politics -> 11000000 politics and government; sport -> 15000000 sport;
tech -> 13000000 science and technology.

Default: the shipped models/topics.model on its held-out fold (every 5th file of each class, never
trained on). --cv K: K-fold cross-validation, rebuilding the model per fold into a temporary folder.
Two figures per run: the C classifier's best top-level class (nd_topics_top_class) and the most
confident of those five top-level topics in the story's `subject` array (what `newsd enrich` emits).

Usage: python3 scripts/eval_topics.py [--bin build/bench/bench_events] [--cv 5]
Skips (exit 0) when the reference data is absent.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_topics_model as btm  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIVE = {code for _, code in btm.BBC}


def run_fold(binary, models, test):
    inp = "".join(json.dumps({"id": i, "text": btm.read_doc(p)}) + "\n" for i, (p, _) in enumerate(test))
    res = subprocess.run([binary, "--code", "--models", models], input=inp, capture_output=True, text=True,
                         check=True)
    ok_cls = ok_sub = 0
    for line in res.stdout.splitlines():
        d = json.loads(line)
        gold = test[d["id"]][1]
        ok_cls += d.get("top_class") == gold
        tops = [t for t in d["subject"] if t["uri"][-8:] in FIVE]
        best = max(tops, key=lambda t: t["confidence"])["uri"][-8:] if tops else None
        ok_sub += best == gold
    return ok_cls, ok_sub, len(test)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bench", "bench_events"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--cv", type=int, default=0, help="K-fold cross-validation (rebuilds the model K times)")
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(args.data, "bbc-news")):
        print("skipped: no %s" % os.path.join(args.data, "bbc-news"))
        return 0
    rows = []
    if args.cv:
        tmp = tempfile.mkdtemp(prefix="newsd-topics-")
        try:
            shutil.copy(os.path.join(ROOT, "models", "events.model"), tmp)
            for k in range(args.cv):
                subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "build_topics_model.py"),
                                "--data", args.data, "--folds", str(args.cv), "--fold", str(k),
                                "--out", os.path.join(tmp, "topics.model")], check=True, capture_output=True)
                _, test = btm.split_files(args.data, args.cv, k)
                rows.append(("fold %d" % k,) + run_fold(args.bin, tmp, test))
        finally:
            shutil.rmtree(tmp)
    else:
        _, test = btm.split_files(args.data, 5, 0)
        rows.append(("held-out fold 0 of 5",) + run_fold(args.bin, os.path.join(ROOT, "models"), test))
    print("BBC News top-level topic accuracy (5 classes mapped to IPTC Media Topics)")
    print("%-22s %6s %12s %14s" % ("split", "docs", "classifier", "subject top"))
    tc = ts = tn = 0
    for name, c, s, n in rows:
        print("%-22s %6d %11.1f%% %13.1f%%" % (name, n, 100 * c / n, 100 * s / n))
        tc, ts, tn = tc + c, ts + s, tn + n
    if len(rows) > 1:
        print("%-22s %6d %11.1f%% %13.1f%%" % ("all folds", tn, 100 * tc / tn, 100 * ts / tn))
    return 0


if __name__ == "__main__":
    sys.exit(main())
