#!/usr/bin/env python3
"""Entity-level exact-match F1 of `newsd tag --conll` on CoNLL-2003 dev.txt (the conlleval method:
a predicted entity counts only when its type and both boundaries match a gold entity).

usage: scripts/eval_ner.py [NEWSD_BIN] [CONLL_FILE]
Defaults: build/newsd and ../shared/data/conll2003/dev.txt. Skips (exit 0) when the data is absent.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "newsd")
DATA = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "..", "shared", "data", "conll2003", "dev.txt")


def chunks(tags):
    """(type, start, end) spans from IOB tags, conlleval style: an I- after O or another type starts one."""
    out, start, typ = [], None, None
    for i, t in enumerate(tags + ["O"]):
        bound = t == "O" or t.startswith("B-") or (t.startswith("I-") and t[2:] != typ)
        if bound and typ is not None:
            out.append((typ, start, i))
            typ = None
        if t != "O" and (t.startswith("B-") or typ is None):
            typ, start = t[2:], i
    return set(out)


def main():
    if not os.path.exists(DATA):
        print("eval_ner: %s absent; skipped" % DATA)
        return 0
    text = open(DATA, encoding="utf-8").read()
    t0 = time.time()
    res = subprocess.run([BIN, "tag", "--conll"], input=text.encode(), capture_output=True, check=True)
    secs = time.time() - t0
    gold_lines = text.split("\n")
    pred_lines = res.stdout.decode().split("\n")
    gold, pred = [], []
    for g, p in zip(gold_lines, pred_lines):
        if not g.strip() or g.startswith("-DOCSTART-"):
            continue
        gt = g.split()
        pt = p.split("\t")
        if pt[0] != gt[0]:
            print("eval_ner: output out of step with input at %r / %r" % (g, p))
            return 1
        gold.append(gt[-1])
        pred.append(pt[1])
    if len(pred_lines) < len(gold_lines) - 1:
        print("eval_ner: output has %d lines, input %d" % (len(pred_lines), len(gold_lines)))
        return 1
    g, p = chunks(gold), chunks(pred)
    tp = len(g & p)
    prec = tp / len(p) if p else 0.0
    rec = tp / len(g) if g else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    print("CoNLL-2003 %s: %d tokens, %d gold entities, %d predicted" % (os.path.basename(DATA), len(gold), len(g), len(p)))
    for typ in ("PER", "ORG", "LOC", "MISC"):
        gt = {c for c in g if c[0] == typ}
        pt = {c for c in p if c[0] == typ}
        tpt = len(gt & pt)
        pr = tpt / len(pt) if pt else 0.0
        rc = tpt / len(gt) if gt else 0.0
        print("  %-4s precision %.4f recall %.4f F1 %.4f" % (typ, pr, rc, 2 * pr * rc / (pr + rc) if pr + rc else 0.0))
    print("overall precision %.4f recall %.4f F1 %.4f  (newsd tag: %.2f s wall, with model load)" % (prec, rec, f1, secs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
