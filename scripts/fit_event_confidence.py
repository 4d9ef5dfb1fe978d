#!/usr/bin/env python3
"""Fit the event coder's confidence calibration: models/events_calib.tsv.

The coder gives every event a vector of features (pkg/enrich/events_emit.c: a source found, found
by a fallback, a CAMEO pattern matched and how much of it, a target, a noun trigger, the event's
place and count in its sentence, roles read from the dependency parse, ...). This script runs the
coder over the PLOVER gold sentences (bench_events --code --features), labels each emitted event
right when it matches a gold event of its sentence in type, source and target (as
scripts/eval_events.py scores precision), and fits a logistic regression (L2, C=1) on the dev half
only: the even-numbered records. The held-out half (odd) is never read here. The fit is Newton's
method on the L2-penalised log loss (no intercept: the features have a bias term), in plain Python. The weights, one line
per feature, are what nd_events_new loads; the confidence is then the estimated probability that
the event is right.

Usage: python3 scripts/fit_event_confidence.py [--bin build/bench/bench_events] [--data ../shared/data]
                                               [--out models/events_calib.tsv]
Reproducible: no randomness.
"""
import argparse
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eval_events  # noqa: E402

# Not fitted (weight 0): the gold annotates one event per sentence, so how many events a sentence
# has measures the annotation, not whether an event is true (with it, a wire lead's second true
# event, "met X and warned Y", fell under the threshold); 5-fold cross-validation on dev showed no
# loss without it (log loss 0.529 -> 0.536, precision at 0.5 0.667 -> 0.688 with more kept).
UNUSED = {"sent_events"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FEATURES = ["bias", "source", "src_fallback", "relaxed", "tgt_implied", "pattern", "target", "order",
            "nominal", "planned", "passive", "sent_events", "default", "src_gov", "quoted", "parse",
            "root", "depth", "thing_subject", "order_other"]


def dev_events(binary, models, gold):
    """(features, label) of every event the coder emits on a dev-half sentence."""
    dev = [(i, r) for i, r in enumerate(gold) if i % 2 == 0]
    inp = "".join(json.dumps({"id": i, "text": r["text"]}) + "\n" for i, r in dev)
    res = subprocess.run([binary, "--code", "--features", "--models", models], input=inp,
                         capture_output=True, text=True, check=True)
    by_text = {}
    for r in gold:
        by_text.setdefault(r["text"], []).append(eval_events.gold_event(r))
    seen, rows = set(), []
    for line in res.stdout.splitlines():
        d = json.loads(line)
        text = gold[d["id"]]["text"]
        if text in seen:  # a sentence repeated in several records counts once
            continue
        seen.add(text)
        for e in d["events"]:
            ok = any(eval_events.event_matches(e, g) for g in by_text[text])
            rows.append((e["features"], int(ok)))
    return rows


def solve(a, b):
    """Solve a x = b (a square, positive definite here) by Gaussian elimination."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c and m[r][c]:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def sigmoid(z):
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def fit_logistic(x, y, c=1.0, iters=50):
    """Weights minimising sum of log losses + |w|^2 / (2c) (as scikit-learn's C)."""
    k = len(x[0])
    w = [0.0] * k
    for _ in range(iters):
        p = [sigmoid(sum(wi * xi for wi, xi in zip(w, row))) for row in x]
        grad = [w[j] / c + sum((pi - t) * row[j] for pi, t, row in zip(p, y, x)) for j in range(k)]
        hess = [[(1 / c if i == j else 0.0) + sum(pi * (1 - pi) * row[i] * row[j] for pi, row in zip(p, x))
                 for j in range(k)] for i in range(k)]
        step = solve(hess, grad)
        w = [wi - si for wi, si in zip(w, step)]
        if max(abs(si) for si in step) < 1e-10:
            break
    return w


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bench", "bench_events"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--models", default=os.path.join(ROOT, "models"))
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "events_calib.tsv"))
    args = ap.parse_args()
    path = os.path.join(args.data, "plover", "PLOVER_GSR_CAMEO.txt")
    gold = [r for r in json.load(open(path, encoding="utf-8")) if r.get("event") != "DOCUMENT" and r.get("text")]
    rows = dev_events(args.bin, args.models, gold)
    # An event without a source can never match a gold event (the match needs a source code): its
    # confidence is the smoothed rate of such events that were right on dev, (right + 1) / (n + 2),
    # and the regression is fitted on the events with a source.
    nosrc = [label for f, label in rows if not f[FEATURES.index("source")]]
    nosrc_p = (sum(nosrc) + 1) / (len(nosrc) + 2)
    rows = [(f, label) for f, label in rows if f[FEATURES.index("source")]]
    used = [k for k, name in enumerate(FEATURES) if name not in UNUSED]
    x = [[f[k] for k in used] for f, _ in rows]
    y = [label for _, label in rows]
    fitted = fit_logistic(x, y)
    w = [0.0] * len(FEATURES)
    for k, weight in zip(used, fitted):
        w[k] = weight
    p = [sigmoid(sum(a * b for a, b in zip(fitted, row))) for row in x]
    loss = -sum(math.log(q if t else 1 - q) for q, t in zip(p, y)) / len(y)
    brier = sum((q - t) ** 2 for q, t in zip(p, y)) / len(y)
    with open(args.out, "w") as out:
        out.write("# Event confidence calibration: logistic weights over the coder's features\n")
        out.write("# (pkg/enrich/events_emit.c). Written by scripts/fit_event_confidence.py from the\n")
        out.write("# PLOVER gold records' dev half (even records): %d events, %d right; log loss %.3f,\n"
                  % (len(y), sum(y), loss))
        out.write("# Brier %.3f on dev. Do not edit.\n" % brier)
        for name, weight in zip(FEATURES, w):
            out.write("%s\t%.4f\n" % (name, weight))
        out.write("# the confidence of an event without a source: %d such on dev, %d right\n"
                  % (len(nosrc), sum(nosrc)))
        out.write("no_source\t%.4f\n" % nosrc_p)
    print("dev events %d (right %d), log loss %.3f, Brier %.3f -> %s" % (len(y), sum(y), loss, brier,
                                                                         os.path.relpath(args.out, ROOT)))
    for t in (0.3, 0.4, 0.5, 0.6, 0.7):
        kept = [label for q, label in zip(p, y) if q >= t]
        print("  threshold %.1f: dev precision %.3f of %d kept (of %d right, %d kept)" % (
            t, sum(kept) / max(1, len(kept)), len(kept), sum(y), sum(kept)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
