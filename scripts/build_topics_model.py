#!/usr/bin/env python3
"""Build models/topics.model: IPTC Media Topic table, weighted lexicon, and a multinomial naive Bayes
model of the five BBC News classes mapped onto IPTC top-level topics.

Inputs:
  models/iptc_mediatopics.tsv       the IPTC codes and names used (provenance in its header)
  models/src/topics_lexicon.tsv     our weighted lexicon
  <data>/bbc-news/<class>/*.txt     training articles (Greene & Cunningham 2006)

The BBC split is deterministic: the files of each class sorted by name, every 5th one (index % 5 ==
fold) held out for scripts/eval_topics.py; --folds/--fold select another fold for cross-validation.
Without the BBC data the model ships the lexicon only (and says so).

Usage: python3 scripts/build_topics_model.py [--data ../shared/data] [--out models/topics.model]
                                             [--folds 5 --fold 0]
"""
import argparse
import collections
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_events_model import tokens  # noqa: E402  same keys as the C tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BBC = [("business", "04000000"), ("entertainment", "01000000"), ("politics", "11000000"),
       ("sport", "15000000"), ("tech", "13000000")]
VOCAB = 6000
STOP = set("the a an and or of to in on at for with by from is are was were be been being it its this that "
           "these those he she they we you i his her their our as but not no if than then so such there here "
           "has have had do does did will would can could may might should must also said says say mr mrs ms "
           "which who whom what when where why how all any some more most other into over after before about "
           "up out just only new one two three year years last first 's \" ' , . : ; ( ) - ? !".split())


def split_files(data, folds, fold):
    train, test = [], []
    for cls, code in BBC:
        d = os.path.join(data, "bbc-news", cls)
        files = sorted(f for f in os.listdir(d) if f.endswith(".txt"))
        for i, f in enumerate(files):
            (test if i % folds == fold else train).append((os.path.join(d, f), code))
    return train, test


def read_doc(path):
    with open(path, encoding="latin-1") as f:
        return f.read()


def train_nb(train):
    df = collections.Counter()
    counts = {code: collections.Counter() for _, code in BBC}
    ndocs = collections.Counter()
    for path, code in train:
        toks = [t for t in tokens(read_doc(path)) if t not in STOP and not t.isdigit() and len(t) > 1]
        counts[code].update(toks)
        df.update(set(toks))
        ndocs[code] += 1
    total = collections.Counter()
    for c in counts.values():
        total.update(c)
    # keep the words that tell classes apart most: highest spread of class frequency, df >= 3
    def spread(w):
        ps = [(counts[code][w] + 1) / (sum(counts[code].values()) + 1) for _, code in BBC]
        return max(ps) / (sum(ps) / len(ps)) * math.log(1 + total[w])
    vocab = sorted((w for w in df if df[w] >= 3), key=lambda w: (-spread(w), w))[:VOCAB]
    vocab.sort()
    sizes = {code: sum(counts[code][w] for w in vocab) for _, code in BBC}
    out = []
    for w in vocab:
        lp = [math.log((counts[code][w] + 1) / (sizes[code] + len(vocab))) for _, code in BBC]
        out.append((w, lp))
    ntot = sum(ndocs.values())
    priors = [math.log(ndocs[code] / ntot) for _, code in BBC]
    return out, priors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "topics.model"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--fold", type=int, default=0)
    args = ap.parse_args()

    lines = ["# newsd topics model v1: built by scripts/build_topics_model.py; see models/README.md"]
    with open(os.path.join(ROOT, "models", "iptc_mediatopics.tsv"), encoding="utf-8") as f:
        for raw in f:
            if raw.startswith("#") or not raw.strip():
                continue
            code, level, parent, name = raw.rstrip("\n").split("\t")
            lines.append("T\t%s\t%s\t%s\t%s" % (code, level, parent or "-", name))
    known = {l.split("\t")[1] for l in lines[1:]}
    with open(os.path.join(ROOT, "models", "src", "topics_lexicon.tsv"), encoding="utf-8") as f:
        for raw in f:
            if raw.startswith("#") or not raw.strip():
                continue
            code, weight, term = raw.rstrip("\n").split("\t")
            if code not in known:
                sys.exit("lexicon: unknown topic %s" % code)
            k = " ".join(tokens(term))
            if k:
                lines.append("L\t%s\t%s\t%s" % (k, code, weight))
    bbc = os.path.join(args.data, "bbc-news")
    if os.path.isdir(bbc):
        train, _ = split_files(args.data, args.folds, args.fold)
        rows, priors = train_nb(train)
        lines.append("B\t%s" % "\t".join(code for _, code in BBC))
        lines.append("Q\t%s" % "\t".join("%.4f" % p for p in priors))
        for w, lp in rows:
            lines.append("W\t%s\t%s" % (w, "\t".join("%.3f" % x for x in lp)))
        note = "naive Bayes on %d BBC articles (fold %d of %d held out)" % (len(train), args.fold, args.folds)
    else:
        note = "lexicon only (no %s)" % bbc
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s: %s" % (args.out, note))


if __name__ == "__main__":
    main()
