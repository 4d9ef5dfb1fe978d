#!/usr/bin/env python3
"""Entity-level exact-match F1 of `newsd tag --conll` on CoNLL-2003 (the conlleval method: a predicted
entity counts only when its type and both boundaries match a gold entity), per type and overall.

usage: scripts/eval_ner.py [--cv K | --shipped] [--epochs N] [--clusters TSV|none] [NEWSD_BIN] [CONLL_FILE]
  default     dev.txt (or CONLL_FILE) tagged by a model trained on train.txt alone with the shipped
              recipe (`newsd train-ner --data train.txt`, about 10 s): the shipped models/ner.bin is
              the same recipe on train.txt + dev.txt, so dev says nothing about it;
  --shipped   models/ner.bin itself on CONLL_FILE (for text it was not trained on);
  --cv K      K-fold cross-validation over the documents of train.txt: document d is in fold d mod K;
              each fold is tagged by a model trained on the other folds; the counts of all folds are
              pooled. About 10 s a fold. Features and settings were chosen with --cv 5.
Defaults: build/newsd and ../shared/data/conll2003/dev.txt. Skips (exit 0) when the data is absent.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA_DIR = os.path.join(ROOT, "..", "shared", "data", "conll2003")
TYPES = ("PER", "ORG", "LOC", "MISC")


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


def tag(binary, text, models=None):
    env = dict(os.environ)
    if models:
        env["NEWSD_MODELS"] = models
    t0 = time.time()
    res = subprocess.run([binary, "tag", "--conll"], input=text.encode(), capture_output=True,
                         check=True, env=env)
    return res.stdout.decode(), time.time() - t0


def score(text, out):
    """Per-type [tp, npred, ngold] counts of tagger output out against CoNLL text."""
    gold_lines, pred_lines = text.split("\n"), out.split("\n")
    if len(pred_lines) < len(gold_lines) - 1:
        raise SystemExit("eval_ner: output has %d lines, input %d" % (len(pred_lines), len(gold_lines)))
    gold, pred = [], []
    for g, p in zip(gold_lines, pred_lines):
        if not g.strip() or g.startswith("-DOCSTART-"):
            continue
        gt, pt = g.split(), p.split("\t")
        if pt[0] != gt[0]:
            raise SystemExit("eval_ner: output out of step with input at %r / %r" % (g, p))
        gold.append(gt[-1])
        pred.append(pt[1])
    g, p = chunks(gold), chunks(pred)
    counts = {}
    for typ in TYPES:
        gt = {c for c in g if c[0] == typ}
        pt = {c for c in p if c[0] == typ}
        counts[typ] = [len(gt & pt), len(pt), len(gt)]
    return counts, len(gold)


def prf(tp, npred, ngold):
    pr = tp / npred if npred else 0.0
    rc = tp / ngold if ngold else 0.0
    return pr, rc, 2 * pr * rc / (pr + rc) if pr + rc else 0.0


def report(title, counts, ntok, extra=""):
    tot = [sum(counts[t][k] for t in TYPES) for k in range(3)]
    print("%s: %d tokens, %d gold entities, %d predicted" % (title, ntok, tot[2], tot[1]))
    for typ in TYPES:
        print("  %-4s precision %.4f recall %.4f F1 %.4f" % ((typ,) + prf(*counts[typ])))
    print("overall precision %.4f recall %.4f F1 %.4f%s" % (prf(*tot) + (extra,)))


def split_docs(text):
    docs, cur = [], []
    for line in text.split("\n"):
        if line.startswith("-DOCSTART-"):
            if cur:
                docs.append(cur)
            cur = []
        cur.append(line)
    if cur:
        docs.append(cur)
    return ["\n".join(d).rstrip("\n") + "\n\n" for d in docs if any(l.strip() and not l.startswith("-DOCSTART-") for l in d)]


def model_dir():
    """A temporary models folder with the shipped knowledge base, for a model trained here."""
    tmp = tempfile.mkdtemp(prefix="eval_ner")
    os.symlink(os.path.join(ROOT, "models", "kb.tsv"), os.path.join(tmp, "kb.tsv"))
    return tmp


def train(binary, data, tmp, epochs, clusters):
    """`newsd train-ner` on the CoNLL file data into tmp/ner.bin."""
    args = [binary, "train-ner", "--data", data, "--out", os.path.join(tmp, "ner.bin"), "--clusters", clusters]
    if epochs:
        args += ["--epochs", str(epochs)]
    subprocess.run(args, check=True, capture_output=True, env=dict(os.environ, NEWSD_MODELS=tmp))


def cross_validate(binary, k, epochs, clusters):
    text = open(os.path.join(DATA_DIR, "train.txt"), encoding="utf-8").read()
    docs = split_docs(text)
    total = {t: [0, 0, 0] for t in TYPES}
    ntok = 0
    tmp = model_dir()
    try:
        for fold in range(k):
            train_text = "".join(d for i, d in enumerate(docs) if i % k != fold)
            held = "".join(d for i, d in enumerate(docs) if i % k == fold)
            with open(os.path.join(tmp, "train.txt"), "w", encoding="utf-8") as fp:
                fp.write(train_text)
            train(binary, os.path.join(tmp, "train.txt"), tmp, epochs, clusters)
            out, _ = tag(binary, held, tmp)
            counts, n = score(held, out)
            ntok += n
            for t in TYPES:
                for j in range(3):
                    total[t][j] += counts[t][j]
            tot = [sum(counts[t][j] for t in TYPES) for j in range(3)]
            print("  fold %d: %d documents, F1 %.4f" % (fold, sum(1 for i in range(len(docs)) if i % k == fold),
                                                      prf(*tot)[2]), flush=True)
    finally:
        shutil.rmtree(tmp)
    report("CoNLL-2003 train.txt, %d-fold cross-validation over %d documents (pooled)" % (k, len(docs)),
           total, ntok)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cv", type=int, default=0)
    ap.add_argument("--shipped", action="store_true")
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--clusters", default=os.path.join(ROOT, "models", "clusters.tsv"),
                    help="word clusters for the model trained here, or 'none'")
    ap.add_argument("bin", nargs="?", default=os.path.join(ROOT, "build", "newsd"))
    ap.add_argument("data", nargs="?", default=os.path.join(DATA_DIR, "dev.txt"))
    a = ap.parse_args()
    if not os.path.exists(a.data) or not os.path.exists(os.path.join(DATA_DIR, "train.txt")):
        print("eval_ner: %s absent; skipped" % a.data)
        return 0
    if a.cv:
        cross_validate(a.bin, a.cv, a.epochs, a.clusters)
        return 0
    text = open(a.data, encoding="utf-8").read()
    if a.shipped:
        out, secs = tag(a.bin, text)
        title = "models/ner.bin on %s" % os.path.basename(a.data)
    else:
        tmp = model_dir()
        try:
            train(a.bin, os.path.join(DATA_DIR, "train.txt"), tmp, a.epochs, a.clusters)
            out, secs = tag(a.bin, text, tmp)
        finally:
            shutil.rmtree(tmp)
        title = "CoNLL-2003 %s, model trained on train.txt" % os.path.basename(a.data)
    counts, ntok = score(text, out)
    report(title, counts, ntok, "  (newsd tag: %.2f s wall, with model load)" % secs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
