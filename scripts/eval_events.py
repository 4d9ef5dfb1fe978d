#!/usr/bin/env python3
"""Evaluate the event coder on the PLOVER gold-standard records (../shared/data/plover/).

For each gold sentence the coder's main event (highest confidence, first on ties) is compared with
the gold record: event type (gold labels of the 2016 file mapped to the 2021 names the coder uses:
DEMAND->REQUEST, DISAPPROVE->ACCUSE, FIGHT->ASSAULT, INVESTIGATE->ACCUSE as in CAMEO2PLOVER-2021),
source country (any predicted source code among the gold source codes) and target country (same, over
records with a gold target). A sentence with no event counts as wrong on all three.

The gold records were coded in PLOVER 0.5 (2016), whose categories split some CAMEO codes differently
from the 2021 table the coder uses (163 sanctions: SANCTION then, COERCE now; 171x, 181: COERCE then,
ASSAULT now; 08x: CONCEDE/RETREAT by sub-code). A second type column maps the coder's CAMEO code
with the 2016 table of ../shared/data/plover/README.md and compares it with the gold labels as they
are (DEMAND, DISAPPROVE, INVESTIGATE, FIGHT): the same events, scored in the gold's own ontology.

The records are split in two by position: even ones are "dev" (looked at while writing the coder),
odd ones "held-out" (never inspected); both are printed, with the whole set.

Two paths are scored. "dictionary": the coder alone (bench_events --code), actors looked up in the
events model's own dictionaries. "daemon": `newsd enrich` on each sentence as a story, i.e.
nd_enrich_story, where the coder takes its actors from the entities stage's mentions, as the daemon
does. The daemon row is the figure the daemon gives.

Precision first (issue 15): every emitted event is matched against the gold events of its sentence
(the same sentence text may carry several gold records). An event matches a gold one when its
type, a source code and (for a gold record with a target) a target code agree. Printed per split:
"prec all" (matched emitted events over all emitted), "prec pub" (the same over the events
published, i.e. not below_threshold), "recall" (gold events with a matching emitted event, of all
gold events), "recall pub" (the same with published events only), and "ev/sent" (emitted events per
sentence, published ones in brackets) beside the gold's.

Usage: python3 scripts/eval_events.py [--bin build/bench/bench_events] [--newsd build/newsd]
                                      [--data ../shared/data] [-v] [--daemon-v] [--ablation]
--ablation adds the dictionary path with verbs' roles from word order only (the coder without a
parse) and from the parse only (no word-order fallback), beside the default (parse, then word
order for a role the parse leaves empty).
-v prints the dictionary path's dev errors, --daemon-v the daemon path's.
Skips (exit 0) when the reference data is absent; skips the daemon row when newsd is not built.
"""
import argparse
import collections
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABEL = {"DEMAND": "REQUEST", "DISAPPROVE": "ACCUSE", "FIGHT": "ASSAULT", "INVESTIGATE": "ACCUSE"}
CODE_FIX = {"JAP": "JPN", "ITL": "ITA", "KSV": "XKX", "YUG": "SRB", "SCG": "SRB", "USR": "RUS",
            "SUN": "RUS", "DDR": "DEU"}


def plover_2016(cameo):
    """CAMEO code -> PLOVER 0.5 category (the table in ../shared/data/plover/README.md)."""
    root = cameo[:2]
    if root == "08":
        return "CONCEDE" if cameo[:3] in ("080", "081", "082", "083") else "RETREAT"
    return {"03": "AGREE", "04": "CONSULT", "05": "SUPPORT", "06": "COOPERATE", "07": "AID",
            "09": "INVESTIGATE", "10": "DEMAND", "11": "DISAPPROVE", "12": "REJECT", "13": "THREATEN",
            "14": "PROTEST", "15": "MOBILIZE", "16": "SANCTION", "17": "COERCE", "18": "ASSAULT",
            "19": "FIGHT", "20": "ASSAULT"}.get(root, "")


def codes(actors):
    if not isinstance(actors, list):
        return set()
    out = set()
    for a in actors:
        c = (a.get("code") or "")[:3]
        if c:
            out.add(CODE_FIX.get(c, c))
    return out


def run_dictionary(binary, gold, roles="both"):
    inp = "".join(json.dumps({"id": i, "text": r["text"]}) + "\n" for i, r in enumerate(gold))
    res = subprocess.run([binary, "--code", "--roles", roles], input=inp, capture_output=True, text=True,
                         check=True)
    pred = {}
    for line in res.stdout.splitlines():
        d = json.loads(line)
        pred[d["id"]] = d["events"]
    return pred


def run_daemon(newsd, gold):
    """Each sentence a story through `newsd enrich` (nd_enrich_story: text, entities, events)."""
    # the daemon makes its own story ids; the input's uri comes back as provenance.guid
    inp = "".join(json.dumps({"uri": "urn:gold:%d" % i, "body_text": r["text"]}) + "\n"
                  for i, r in enumerate(gold))
    res = subprocess.run([newsd, "enrich", "-"], input=inp, capture_output=True, text=True, check=True)
    pred = {}
    for line in res.stdout.splitlines():
        d = json.loads(line)
        pred[int(d["provenance"]["guid"].rsplit(":", 1)[1])] = d.get("events") or []
    return pred


def gold_event(r):
    return (LABEL.get(r["event"], r["event"]), codes(r.get("source")), codes(r.get("target")))


def event_matches(e, g):
    """Emitted event e against gold (type, source codes, target codes)."""
    gtype, gsrc, gtgt = g
    return (e["type"] == gtype and bool(codes(e["source"]) & gsrc)
            and (not gtgt or bool(codes(e["target"]) & gtgt)))


def split_of(i):
    return "dev" if i % 2 == 0 else "held-out"


def precision(gold, pred):
    """Per split: emitted, matched emitted, gold events, found gold, sentences; for all events and
    for the published ones."""
    by_text = collections.defaultdict(list)
    for r in gold:
        by_text[r["text"]].append(gold_event(r))
    stats = {name: collections.Counter() for name in ("dev", "held-out", "all")}
    for i, r in enumerate(gold):
        evs = pred.get(i, [])
        golds = by_text[r["text"]]
        mine = gold_event(r)
        for name in (split_of(i), "all"):
            s = stats[name]
            s["sent"] += 1
            s["gold"] += 1
            s["found"] += any(event_matches(e, mine) for e in evs)
            s["found_pub"] += any(event_matches(e, mine) for e in evs if not e.get("below_threshold"))
            # a sentence's events count once, with its first record (a repeated text has several)
            if next(k for k, q in enumerate(gold) if q["text"] == r["text"]) != i:
                continue
            for e in evs:
                ok = any(event_matches(e, g) for g in golds)
                pub = not e.get("below_threshold")
                s["emitted"] += 1
                s["matched"] += ok
                s["emitted_pub"] += pub
                s["matched_pub"] += ok and pub
            s["uniq"] += 1
            s["gold_uniq"] += len(golds)
    return stats


def print_precision(stats):
    print("%-9s %9s %9s %8s %10s %16s %8s" % ("split", "prec all", "prec pub", "recall", "recall pub",
                                            "ev/sent (pub)", "gold"))
    for name in ("dev", "held-out", "all"):
        s = stats[name]
        print("%-9s %8.1f%% %8.1f%% %7.1f%% %9.1f%% %9.2f (%.2f) %8.2f" % (
            name, 100 * s["matched"] / max(1, s["emitted"]), 100 * s["matched_pub"] / max(1, s["emitted_pub"]),
            100 * s["found"] / max(1, s["gold"]), 100 * s["found_pub"] / max(1, s["gold"]),
            s["emitted"] / max(1, s["uniq"]), s["emitted_pub"] / max(1, s["uniq"]),
            s["gold_uniq"] / max(1, s["uniq"])))


def score(gold, pred, verbose):
    stats = {name: collections.Counter() for name in ("dev", "held-out", "all")}
    per_type = collections.defaultdict(collections.Counter)
    for i, r in enumerate(gold):
        evs = pred.get(i, [])
        main_ev = max(evs, key=lambda e: e["confidence"]) if evs else None
        gtype = LABEL.get(r["event"], r["event"])
        gsrc, gtgt = codes(r.get("source")), codes(r.get("target"))
        ok_type = bool(main_ev) and main_ev["type"] == gtype
        ok_2016 = bool(main_ev) and plover_2016(main_ev["cameo"]) == r["event"]
        ok_src = bool(main_ev) and bool(codes(main_ev["source"]) & gsrc)
        ok_tgt = bool(main_ev) and bool(codes(main_ev["target"]) & gtgt)
        split = "dev" if i % 2 == 0 else "held-out"
        for name in (split, "all"):
            s = stats[name]
            s["n"] += 1
            s["type"] += ok_type
            s["type16"] += ok_2016
            s["coded"] += bool(main_ev)
            if gsrc:
                s["n_src"] += 1
                s["src"] += ok_src
            if gtgt:
                s["n_tgt"] += 1
                s["tgt"] += ok_tgt
        per_type[gtype]["n"] += 1
        per_type[gtype]["ok"] += ok_type
        if verbose and split == "dev" and not (ok_type and ok_src):
            print("%-28s gold %-9s %s->%s | got %s %s %s->%s (%s)\n    %s" % (
                r["id"], gtype, sorted(gsrc), sorted(gtgt),
                main_ev["type"] if main_ev else "-", main_ev["cameo"] if main_ev else "",
                sorted(codes(main_ev["source"])) if main_ev else "",
                sorted(codes(main_ev["target"])) if main_ev else "",
                main_ev["trigger"]["text"] if main_ev else "", r["text"][:160]))
    return stats, per_type


def print_table(title, stats, per_type):
    print(title)
    print("%-9s %6s %9s %11s %13s %11s %11s" % ("split", "n", "coded", "type acc", "type (2016)",
                                                "source acc", "target acc"))
    for name in ("dev", "held-out", "all"):
        s = stats[name]
        print("%-9s %6d %8.1f%% %10.1f%% %12.1f%% %10.1f%% %10.1f%%" % (
            name, s["n"], 100 * s["coded"] / s["n"], 100 * s["type"] / s["n"], 100 * s["type16"] / s["n"],
            100 * s["src"] / max(1, s["n_src"]), 100 * s["tgt"] / max(1, s["n_tgt"])))
    print("per type (all): " + ", ".join("%s %d/%d" % (t, c["ok"], c["n"]) for t, c in sorted(per_type.items())))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bench", "bench_events"))
    ap.add_argument("--newsd", default=os.path.join(ROOT, "build", "newsd"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("-v", action="store_true", help="print dev-set errors of the dictionary path")
    ap.add_argument("--ablation", action="store_true",
                    help="also score the dictionary path with roles from word order only and from the parse only")
    ap.add_argument("--daemon-v", action="store_true", help="print dev-set errors of the daemon path")
    args = ap.parse_args()
    path = os.path.join(args.data, "plover", "PLOVER_GSR_CAMEO.txt")
    if not os.path.exists(path):
        print("skipped: no %s" % path)
        return 0
    gold = [r for r in json.load(open(path, encoding="utf-8")) if r.get("event") != "DOCUMENT" and r.get("text")]
    print("PLOVER gold records: %d sentences (%s)" % (len(gold), os.path.relpath(path, ROOT)))
    pred = run_dictionary(args.bin, gold)
    stats, per_type = score(gold, pred, args.v)
    print_table("dictionary path (bench_events --code: the coder's own actor dictionaries)", stats, per_type)
    print_precision(precision(gold, pred))
    for roles, title in (("order", "word order only (no parse: the old coder)"),
                         ("parse", "parse only (no word-order fallback)")) if args.ablation else ():
        pred = run_dictionary(args.bin, gold, roles)
        stats, per_type = score(gold, pred, False)
        print_table("ablation, dictionary path, roles from %s" % title, stats, per_type)
        print_precision(precision(gold, pred))
    if os.path.exists(args.newsd):
        pred = run_daemon(args.newsd, gold)
        stats, per_type = score(gold, pred, args.daemon_v)
        print_table("daemon path (newsd enrich: nd_enrich_story, actors from the entities stage)",
                    stats, per_type)
        print_precision(precision(gold, pred))
    else:
        print("daemon path skipped: no %s" % args.newsd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
