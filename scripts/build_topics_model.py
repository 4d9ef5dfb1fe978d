#!/usr/bin/env python3
"""Build models/topics.model: the IPTC Media Topic table, the weighted lexicon, and a calibrated
multinomial logistic regression over six classes (BBC's five mapped onto IPTC top-level topics,
and foreign news, whose probability topics.c shares among the world topics).

Inputs (scripts/topics_corpus.py has the details):
  models/iptc_mediatopics.tsv       the IPTC codes and names used (provenance in its header)
  models/src/topics_lexicon.tsv     our weighted lexicon (subtopics, evidence, the world share)
  <data>/bbc-news/<class>/*.txt     labelled articles; fold `--fold` of `--folds` held out
  <data>/conll2003/train.txt        weakly labelled Reuters stories (sport, business, world)

Each training story is seen twice: whole, and as headline + first sentence (the short items of a
feed), so the weights and the calibration hold for both. Training: softmax regression, AdaGrad,
L2, classes weighted to balance them (BBC's class sizes are no prior of a newsroom's feed).
Calibration: a temperature fitted by maximum likelihood on out-of-fold logits (two halves of the
training stories, each predicted by a model trained on the other half), so a confidence of 0.8
means right about 80% of the time on held-apart stories. Deterministic: the same inputs give the
same file. Without the BBC data the model ships the lexicon only (and says so).

Usage: python3 scripts/build_topics_model.py [--data ../shared/data] [--out models/topics.model]
                                             [--folds 5 --fold 0]
"""
import argparse
import collections
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import topics_corpus as tc  # noqa: E402

ROOT = tc.ROOT
EPOCHS, RATE, L2, MIN_DF = 8, 0.5, 1e-4, 5
# logit added to the world class per coded event between two countries (at most EVENT_CAP of them):
# set by hand, not fitted (no labelled stories carry events here)
EVENT_LOGIT, EVENT_CAP = 0.5, 3


def examples(train_files, weak):
    """(features, class index, story id) of both views of every training story."""
    out = []
    for sid, (path, code) in enumerate(train_files):
        head, paras = tc.bbc_story(path)
        y = tc.CLASSES.index(code)
        out.append((tc.features(head, "\n".join(paras)), y, sid))
        out.append((tc.features(head, tc.lead(paras)), y, sid))
    for k, (head, sents, lab) in enumerate(weak):
        y, sid = tc.CLASSES.index(lab), len(train_files) + k
        out.append((tc.features(head, " ".join(sents)), y, sid))
        out.append((tc.features(head, " ".join(sents[:1])), y, sid))
    return out


def vocabulary(exs):
    df = collections.Counter()
    for (f, _), _, _ in exs:
        df.update(f.keys())
    return {w: i for i, w in enumerate(sorted(w for w, c in df.items() if c >= MIN_DF))}


def logits(W, b, x):
    z = b[:]
    for i, v in x:
        Wi = W[i]
        for c in range(len(z)):
            z[c] += Wi[c] * v
    return z


def nfeatures(vocab):
    return len(vocab) + len(tc.LEXICON.tops)


def train(vec, nwords, seed=1):
    """Softmax regression by AdaGrad over (sparse x, y); classes weighted to equal total weight."""
    K = len(tc.CLASSES)
    cnt = collections.Counter(y for _, y in vec)
    cw = [len(vec) / (K * cnt[c]) if cnt[c] else 0.0 for c in range(K)]
    W = [[0.0] * K for _ in range(nwords)]
    G = [[1e-8] * K for _ in range(nwords)]
    b, Gb = [0.0] * K, [1e-8] * K
    order = list(range(len(vec)))
    rnd = random.Random(seed)
    for _ in range(EPOCHS):
        rnd.shuffle(order)
        for j in order:
            x, y = vec[j]
            z = logits(W, b, x)
            m = max(z)
            e = [math.exp(q - m) for q in z]
            s = sum(e)
            g = [cw[y] * q / s for q in e]
            g[y] -= cw[y]
            for c in range(K):
                Gb[c] += g[c] * g[c]
                b[c] -= RATE * g[c] / math.sqrt(Gb[c])
            for i, v in x:
                Wi, Gi = W[i], G[i]
                for c in range(K):
                    gc = g[c] * v + L2 * Wi[c]
                    Gi[c] += gc * gc
                    Wi[c] -= RATE * gc / math.sqrt(Gi[c])
    return W, b


def nll(pairs, T):
    tot = 0.0
    for z, y in pairs:
        m = max(q / T for q in z)
        tot += m + math.log(sum(math.exp(q / T - m) for q in z)) - z[y] / T
    return tot / len(pairs)


def fit_temperature(pairs):
    """The T minimising the negative log-likelihood of softmax(z / T), by golden-section search."""
    lo, hi = 0.2, 5.0
    g = (math.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if nll(pairs, a) < nll(pairs, b):
            hi = b
        else:
            lo = a
    return (lo + hi) / 2


def calibrate(exs, vocab):
    """Out-of-fold logits over two halves of the stories (both views of a story in one half)."""
    pairs = []
    for half in (0, 1):
        tr = [(tc.scaled(f, vocab), y) for f, y, sid in exs if sid % 2 != half]
        W, b = train(tr, nfeatures(vocab))
        pairs += [(logits(W, b, tc.scaled(f, vocab)), y) for f, y, sid in exs if sid % 2 == half]
    return fit_temperature(pairs)


def table_lines():
    lines = []
    with open(os.path.join(ROOT, "models", "iptc_mediatopics.tsv"), encoding="utf-8") as f:
        for raw in f:
            if raw.startswith("#") or not raw.strip():
                continue
            code, level, parent, name = raw.rstrip("\n").split("\t")
            lines.append("T\t%s\t%s\t%s\t%s" % (code, level, parent or "-", name))
    known = {l.split("\t")[1] for l in lines}
    with open(os.path.join(ROOT, "models", "src", "topics_lexicon.tsv"), encoding="utf-8") as f:
        for raw in f:
            if raw.startswith("#") or not raw.strip():
                continue
            code, weight, term = raw.rstrip("\n").split("\t")
            if code not in known:
                sys.exit("lexicon: unknown topic %s" % code)
            k = " ".join(tc.tokens(term))
            if k:
                lines.append("L\t%s\t%s\t%s" % (k, code, weight))
    return lines


def classifier_lines(data, folds, fold):
    train_files, _ = tc.bbc_split(data, folds, fold)
    weak = tc.conll_weak(data) if os.path.isfile(os.path.join(data, "conll2003", "train.txt")) else []
    exs = examples(train_files, weak)
    vocab = vocabulary(exs)
    T = calibrate(exs, vocab)
    W, b = train([(tc.scaled(f, vocab), y) for f, y, _ in exs], nfeatures(vocab))
    lines = ["C\t%s" % "\t".join(tc.CLASSES), "P\t%s" % "\t".join("%g" % p for p in tc.POSITION),
             "S\t%.4f\t%g\t%d" % (T, EVENT_LOGIT, EVENT_CAP), "G\t%s" % "\t".join("%.4f" % x for x in b)]
    for j, code in enumerate(tc.LEXICON.tops):
        lines.append("X\t%s\t%s" % (code, "\t".join("%.3f" % x for x in W[len(vocab) + j])))
    for w, i in sorted(vocab.items()):
        # centred: a word's weights minus their mean over the classes (the softmax is the same), so
        # each weight is how far the word moves its class against the others (topics.c's evidence)
        m = sum(W[i]) / len(W[i])
        row = [x - m for x in W[i]]
        if max(abs(x) for x in row) >= 0.005:
            lines.append("W\t%s\t%s" % (w, "\t".join("%.3f" % x for x in row)))
    note = "softmax regression on %d BBC articles (fold %d of %d held out) and %d weakly labelled " \
           "CoNLL-2003 stories, temperature %.3f" % (len(train_files), fold, folds, len(weak), T)
    return lines, note


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "topics.model"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--fold", type=int, default=0)
    args = ap.parse_args()

    lines = ["# newsd topics model v2: built by scripts/build_topics_model.py; see models/README.md"]
    lines += table_lines()
    if os.path.isdir(os.path.join(args.data, "bbc-news")):
        cls, note = classifier_lines(args.data, args.folds, args.fold)
        lines += cls
    else:
        note = "lexicon only (no %s)" % os.path.join(args.data, "bbc-news")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s: %s" % (args.out, note))


if __name__ == "__main__":
    main()
