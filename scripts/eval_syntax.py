#!/usr/bin/env python3
"""UPOS, XPOS, UAS and LAS of `newsd syntax` on UD English EWT dev and test.

Gold tokenisation: the treebank's words go through `newsd syntax --conllu`, which fills UPOS, XPOS,
HEAD and DEPREL; every word is scored (punctuation included), as the CoNLL 2018 shared task does.
LAS compares the universal part of DEPREL (CoNLL 2018); LAS-full compares the whole label
(nsubj:pass, obl:tmod ...).

Raw text: the `# text` of the split's sentences, joined with spaces within a paragraph and blank
lines between paragraphs (`# newpar`/`# newdoc`), goes through `newsd syntax -` (newsd's own
tokeniser and sentence splitter). Gold and system words are aligned by character offsets in the
text with whitespace removed, as the CoNLL 2018 evaluation script (conll18_ud_eval.py) does; words
inside a multiword token get the spans of their forms within the token. Scores are F1 over aligned
words: Words, UPOS, UAS, LAS; and, as CoNLL 2018 has them, Tokens (surface tokens: a multiword token
such as "don't" is one, so a system that writes no multiword-token lines loses those) and
Sentences (a sentence is right when its span is).

usage: scripts/eval_syntax.py [NEWSD_BIN] [DATA_DIR]
Defaults: build/newsd and ../shared/data/ud-english-ewt. Skips (exit 0) when the data is absent.
"""
import gzip
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "newsd")
DATA = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "..", "shared", "data", "ud-english-ewt")


def read_conllu(text):
    """Sentences as dicts: comments, words [(form, upos, xpos, head, deprel)], mwts {first: (last, form)}."""
    sents, cur = [], None
    for line in text.split("\n"):
        if not line.strip():
            if cur and cur["words"]:
                sents.append(cur)
            cur = None
            continue
        if cur is None:
            cur = {"comments": [], "words": [], "mwts": {}}
        if line.startswith("#"):
            cur["comments"].append(line)
            continue
        c = line.split("\t")
        if "-" in c[0]:
            a, b = c[0].split("-")
            cur["mwts"][int(a)] = (int(b), c[1])
        elif "." in c[0]:
            continue
        else:
            cur["words"].append((c[1], c[3], c[4], int(c[6]) if c[6] != "_" else 0, c[7]))
    if cur and cur["words"]:
        sents.append(cur)
    return sents


def univ(rel):
    return rel.split(":")[0]


def gold_tok(gold_text, name):
    t0 = time.time()
    res = subprocess.run([BIN, "syntax", "--conllu"], input=gold_text.encode(), capture_output=True)
    secs = time.time() - t0
    if res.returncode:
        sys.exit("eval_syntax: newsd syntax --conllu failed: %s" % res.stderr.decode())
    gold, pred = read_conllu(gold_text), read_conllu(res.stdout.decode())
    if len(gold) != len(pred):
        sys.exit("eval_syntax: %d sentences in, %d out" % (len(gold), len(pred)))
    n = upos = xpos = uas = las = lasf = 0
    for g, p in zip(gold, pred):
        for gw, pw in zip(g["words"], p["words"]):
            n += 1
            upos += gw[1] == pw[1]
            xpos += gw[2] == pw[2]
            if gw[3] == pw[3]:
                uas += 1
                las += univ(gw[4]) == univ(pw[4])
                lasf += gw[4] == pw[4]
    for what, v in (("UPOS", upos), ("XPOS", xpos), ("UAS", uas), ("LAS", las), ("LAS-full", lasf)):
        print("eval_syntax: %s gold-tok %s %.4f" % (name, what, v / n))
    print("eval_syntax: %s gold-tok words %d, %.0f words/s end to end (process, I/O included)" % (name, n, n / secs))


def raw_text(sents):
    """The split's text: sentences joined by spaces, paragraphs by blank lines."""
    paras, cur = [], []
    for s in sents:
        new = any(c.startswith("# newpar") or c.startswith("# newdoc") for c in s["comments"])
        if new and cur:
            paras.append(" ".join(cur))
            cur = []
        txt = [c for c in s["comments"] if c.startswith("# text = ")]
        cur.append(txt[0][len("# text = "):] if txt else " ".join(w[0] for w in s["words"]))
    if cur:
        paras.append(" ".join(cur))
    return "\n\n".join(paras) + "\n"


def spans(sents):
    """Per word: (start, end) in the whitespace-free character stream, and (sentence, index) keys."""
    out, pos = [], 0
    for si, s in enumerate(sents):
        i = 0
        words = s["words"]
        while i < len(words):
            if i + 1 in s["mwts"]:
                last, form = s["mwts"][i + 1]
                form = "".join(form.split())
                parts = ["".join(w[0].split()) for w in words[i:last]]
                if "".join(parts) == form:
                    for k, part in enumerate(parts):
                        out.append((pos, pos + len(part), si, i + k))
                        pos += len(part)
                else:
                    for k in range(last - i):
                        out.append((pos, pos + len(form), si, i + k))
                    pos += len(form)
                i = last
                continue
            f = "".join(words[i][0].split())
            out.append((pos, pos + len(f), si, i))
            pos += len(f)
            i += 1
    return out


def token_spans(sents):
    """Surface tokens (a multiword token is one) as (start, end) in the whitespace-free stream."""
    out, pos = [], 0
    for s in sents:
        i, words = 0, s["words"]
        while i < len(words):
            if i + 1 in s["mwts"]:
                last, form = s["mwts"][i + 1]
                i = last
            else:
                form = words[i][0]
                i += 1
            n = len("".join(form.split()))
            out.append((pos, pos + n))
            pos += n
    return out


def sentence_spans(sents):
    """Each sentence's (start, end) in the whitespace-free stream."""
    out, pos = [], 0
    for s in sents:
        n = sum(b - a for a, b in token_spans([s]))
        out.append((pos, pos + n))
        pos += n
    return out


def f1(gold, system):
    g, s = set(gold), set(system)
    return 2 * len(g & s) / (len(g) + len(s)) if g or s else 1.0


def raw(gold_text, name):
    gold = read_conllu(gold_text)
    text = raw_text(gold)
    res = subprocess.run([BIN, "syntax", "-"], input=text.encode(), capture_output=True)
    if res.returncode:
        sys.exit("eval_syntax: newsd syntax - failed: %s" % res.stderr.decode())
    pred = read_conllu(res.stdout.decode())
    gs, ps = spans(gold), spans(pred)
    gmap = {(a, b): (si, wi) for a, b, si, wi in gs}
    gat = {(si, wi): (a, b) for a, b, si, wi in gs}
    pat = {(si, wi): (a, b) for a, b, si, wi in ps}
    words = upos = uas = las = 0
    for a, b, si, wi in ps:
        g = gmap.get((a, b))
        if g is None:
            continue
        words += 1
        gw, pw = gold[g[0]]["words"][g[1]], pred[si]["words"][wi]
        upos += gw[1] == pw[1]
        gh = gat[(g[0], gw[3] - 1)] if gw[3] else None
        ph = pat[(si, pw[3] - 1)] if pw[3] else None
        if gh == ph:
            uas += 1
            las += univ(gw[4]) == univ(pw[4])
    ng, np_ = len(gs), len(ps)
    for what, v in (("Words", words), ("UPOS", upos), ("UAS", uas), ("LAS", las)):
        print("eval_syntax: %s raw-text %s F1 %.4f" % (name, what, 2 * v / (ng + np_)))
    print("eval_syntax: %s raw-text Tokens F1 %.4f" % (name, f1(token_spans(gold), token_spans(pred))))
    print("eval_syntax: %s raw-text Sentences F1 %.4f" % (name, f1(sentence_spans(gold), sentence_spans(pred))))
    print("eval_syntax: %s raw-text sentences gold %d system %d" % (name, len(gold), len(pred)))


def main():
    for split in ("dev", "test"):
        path = os.path.join(DATA, "en_ewt-ud-%s.conllu.gz" % split)
        if not os.path.exists(path):
            print("eval_syntax: %s absent; skipped" % path)
            return 0
        text = gzip.open(path, "rt", encoding="utf-8").read()
        gold_tok(text, "EWT " + split)
        raw(text, "EWT " + split)
    return 0


if __name__ == "__main__":
    sys.exit(main())
