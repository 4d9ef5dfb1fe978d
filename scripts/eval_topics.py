#!/usr/bin/env python3
"""How right newsd's topics are, and how far their confidence can be taken as a probability.

Splits (every output line names its split):
  BBC full     BBC News articles never trained on (headline + whole body), 5 classes mapped onto IPTC:
               business -> 04000000, entertainment -> 01000000, politics -> 11000000, sport ->
               15000000, tech -> 13000000. Default: the shipped model on its held-out fold (every 5th
               file of each class); --cv K: K-fold cross-validation, the model rebuilt per fold.
  BBC short    the same held-apart articles as short items: headline + first sentence.
  CoNLL dev    216 Reuters stories of CoNLL-2003 dev.txt (headline + two sentences), hand-labelled
               world / sport / business / sci-tech (scripts/topics_conll_dev.tsv; never trained on),
               scored on four classes: 04000000 business, 15000000 sport, 13000000 sci/tech, any
               other top-level topic but 01000000 world. Trained on: the shipped model.

Figures: "classifier" is nd_topics_top_class, "first topic" the first top-level topic of the
story's subject (what desks see), both exact for BBC and on the four classes for CoNLL; then the
confusion matrix (gold rows, first topic columns), the share of stories whose first topic is each
top-level topic, and the reliability table (first topic's confidence in bins against how often it
is right).

Usage: python3 scripts/eval_topics.py [--bin build/bench/bench_events] [--cv 5]
Skips (exit 0) when the reference data is absent.
"""
import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import topics_corpus as tc  # noqa: E402

ROOT = tc.ROOT
NAMES = {"04000000": "business", "01000000": "entertainment", "11000000": "politics", "15000000": "sport",
         "13000000": "tech", "16000000": "conflict", "02000000": "crime", "03000000": "disaster",
         "05000000": "education", "06000000": "environment", "07000000": "health", "08000000": "human int.",
         "09000000": "labour", "10000000": "lifestyle", "12000000": "religion", "14000000": "society",
         "17000000": "weather"}
FOUR = {"04000000": "B", "15000000": "S", "13000000": "T", "01000000": "E"}
BINS = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01]


def four(code):
    return FOUR.get(code, "W") if code else "-"


def run(binary, models, items):
    """items: (headline, body, gold). Returns per item (top_class, first topic code, its confidence,
    subject)."""
    inp = "".join(json.dumps({"id": i, "headline": h, "text": b}) + "\n" for i, (h, b, _) in enumerate(items))
    res = subprocess.run([binary, "--code", "--models", models], input=inp, capture_output=True, text=True,
                         check=True)
    out = [None] * len(items)
    for line in res.stdout.splitlines():
        d = json.loads(line)
        first = next((t for t in d["subject"] if t["uri"][-6:] == "000000"), None)
        out[d["id"]] = (d.get("top_class"), first["uri"][-8:] if first else None,
                        first["confidence"] if first else 0.0, d["subject"])
    return out


def bbc_items(test, short):
    items = []
    for path, code in test:
        head, paras = tc.bbc_story(path)
        items.append((head, tc.lead(paras) if short else "\n\n".join(paras), code))
    return items


def accuracy_line(split, n, ok_cls, ok_first, extra=""):
    print("%-28s %5d docs  classifier %5.1f%%  first topic %5.1f%%%s"
          % (split, n, 100 * ok_cls / n, 100 * ok_first / n, extra))


def confusion(split, golds, preds, gold_order):
    cols = [c for c, _ in collections.Counter(preds).most_common()]
    print("%s: confusion matrix (rows gold, columns first topic)" % split)
    print("  %-14s" % "gold" + "".join("%11s" % NAMES.get(c, c or "none")[:10] for c in cols))
    for g in gold_order:
        row = collections.Counter(p for gg, p in zip(golds, preds) if gg == g)
        print("  %-14s" % NAMES.get(g, g) + "".join("%11d" % row[c] for c in cols))


def shares(split, preds):
    n = len(preds)
    cnt = collections.Counter(preds)
    print("%s: share of stories by first topic: %s" % (split, ", ".join(
        "%s %.1f%%" % (NAMES.get(c, c or "none"), 100 * v / n) for c, v in cnt.most_common())))


def reliability(split, confs, rights):
    print("%s: reliability (first topic's confidence against how often it is right)" % split)
    print("  %-11s %6s %10s %10s" % ("confidence", "docs", "mean conf", "right"))
    for lo, hi in zip(BINS, BINS[1:]):
        sel = [(c, r) for c, r in zip(confs, rights) if lo <= c < hi]
        if sel:
            print("  %.2f-%.2f   %6d %9.3f %9.1f%%" % (lo, min(hi, 1.0), len(sel),
                                                     sum(c for c, _ in sel) / len(sel),
                                                     100 * sum(r for _, r in sel) / len(sel)))
    n = len(confs)
    ece = sum(abs(sum(c for c, _ in s) / len(s) - sum(r for _, r in s) / len(s)) * len(s) / n
              for s in ([(c, r) for c, r in zip(confs, rights) if lo <= c < hi] for lo, hi in zip(BINS, BINS[1:]))
              if s)
    print("  expected calibration error %.3f" % ece)


def report_bbc(split, rows):
    """rows: (gold, top_class, first, conf) over every held-apart story of the split."""
    n = len(rows)
    accuracy_line(split, n, sum(r[1] == r[0] for r in rows), sum(r[2] == r[0] for r in rows))
    golds, preds = [r[0] for r in rows], [r[2] for r in rows]
    confusion(split, golds, preds, [code for _, code in tc.BBC])
    shares(split, preds)
    reliability(split, [r[3] for r in rows], [r[2] == r[0] for r in rows])


def bbc_rows(binary, models, test, short):
    items = bbc_items(test, short)
    return [(g, top, first, conf) for (_, _, g), (top, first, conf, _) in zip(items, run(binary, models, items))]


def eval_conll(binary, models, data):
    items = [(h, " ".join(s[:2]), lab) for h, s, lab in tc.conll_dev_labelled(data)]
    res = run(binary, models, items)
    rows = [(g, four(top), four(first), conf, first) for (_, _, g), (top, first, conf, _) in zip(items, res)]
    split = "CoNLL dev (hand-labelled)"
    per = collections.Counter(r[0] for r in rows)
    okc = collections.Counter(r[0] for r in rows if r[2] == r[0])
    accuracy_line(split, len(rows), sum(r[1] == r[0] for r in rows), sum(r[2] == r[0] for r in rows),
                  "  (" + ", ".join("%s %d/%d" % (g, okc[g], per[g]) for g in sorted(per)) + ")")
    print("%s: confusion matrix (rows gold W/S/B/T, columns first topic)" % split)
    cols = [c for c, _ in collections.Counter(r[4] for r in rows).most_common()]
    print("  %-6s" % "gold" + "".join("%11s" % NAMES.get(c, c or "none")[:10] for c in cols))
    for g in ("W", "S", "B", "T"):
        row = collections.Counter(r[4] for r in rows if r[0] == g)
        if per[g]:
            print("  %-6s" % g + "".join("%11d" % row[c] for c in cols))
    shares(split, [r[4] for r in rows])
    reliability(split, [r[3] for r in rows], [r[2] == r[0] for r in rows])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bench", "bench_events"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--cv", type=int, default=0, help="K-fold cross-validation (rebuilds the model K times)")
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(args.data, "bbc-news")):
        print("skipped: no %s" % os.path.join(args.data, "bbc-news"))
        return 0
    full, short = [], []
    if args.cv:
        tmp = tempfile.mkdtemp(prefix="newsd-topics-")
        try:
            shutil.copy(os.path.join(ROOT, "models", "events.model"), tmp)
            for k in range(args.cv):
                subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "build_topics_model.py"),
                                "--data", args.data, "--folds", str(args.cv), "--fold", str(k),
                                "--out", os.path.join(tmp, "topics.model")], check=True, capture_output=True)
                _, test = tc.bbc_split(args.data, args.cv, k)
                f, s = bbc_rows(args.bin, tmp, test, False), bbc_rows(args.bin, tmp, test, True)
                accuracy_line("BBC full, fold %d of %d" % (k, args.cv), len(f), sum(r[1] == r[0] for r in f),
                              sum(r[2] == r[0] for r in f))
                accuracy_line("BBC short, fold %d of %d" % (k, args.cv), len(s), sum(r[1] == r[0] for r in s),
                              sum(r[2] == r[0] for r in s))
                full += f
                short += s
        finally:
            shutil.rmtree(tmp)
        name = "%d-fold CV" % args.cv
    else:
        _, test = tc.bbc_split(args.data, 5, 0)
        models = os.path.join(ROOT, "models")
        full, short = bbc_rows(args.bin, models, test, False), bbc_rows(args.bin, models, test, True)
        name = "held-out fold 0 of 5"
    report_bbc("BBC full, %s" % name, full)
    report_bbc("BBC short (headline+lead), %s" % name, short)
    if os.path.isfile(os.path.join(args.data, "conll2003", "dev.txt")):
        eval_conll(args.bin, os.path.join(ROOT, "models"), args.data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
