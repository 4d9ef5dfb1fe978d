"""Training and evaluation text for the topics model (scripts/build_topics_model.py, eval_topics.py).

- BBC News (Greene & Cunningham 2006): 2,225 articles in 5 labelled classes; the first line is the
  headline. Split deterministically: the files of each class sorted by name, index % folds == fold
  held out.
- CoNLL-2003 train.txt (Reuters, August 1996) as weakly labelled general news: a sports story by
  its Reuters sport slug ("SOCCER - ..."), business or world by the words of its headline and lead
  (WEAK_BUSINESS, WEAK_WORLD below); a story with both kinds of words about equally, or a digest,
  gets no label and is not used. BBC has no class for foreign news (its politics is Westminster),
  and these stories give the classifier one.
- CoNLL-2003 dev.txt with hand labels (scripts/topics_conll_dev.tsv): evaluation only.

The features are those topics.c computes: word keys of the C tokenizer, stop words, digits and
one-letter words left out, each occurrence weighted by where it stands (headline, lead, body,
tail; POSITION below), the sum scaled by 1/sqrt(total weight) so that a headline and a long
article give logits of the same size.
"""
import collections
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_events_model import tokens  # noqa: E402  same keys as the C tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BBC = [("business", "04000000"), ("entertainment", "01000000"), ("politics", "11000000"),
       ("sport", "15000000"), ("tech", "13000000")]
WORLD = "world"  # the class of foreign news: its probability is shared among the world topics
CLASSES = [code for _, code in BBC] + [WORLD]
# headline weight, lead weight, lead length (body tokens), body weight, tail start (body tokens),
# tail weight: written into the model, read by topics.c
POSITION = (2.0, 1.5, 45, 1.0, 350, 0.7)
STOP = set("the a an and or of to in on at for with by from is are was were be been being it its this that "
           "these those he she they we you i his her their our as but not no if than then so such there here "
           "has have had do does did will would can could may might should must also said says say mr mrs ms "
           "which who whom what when where why how all any some more most other into over after before about "
           "up out just only new one two three year years last first 's monday tuesday wednesday thursday "
           "friday saturday sunday".split())  # weekdays: wire style (Reuters names the day), no topic
SENT = re.compile(r"(?<=[.!?])[\"']?\s+(?=[\"'A-Z])")
DATELINE = re.compile(r"^[A-Z][A-Za-z .,\-']* \d{4}-\d\d-\d\d$")
SPORT_SLUGS = set("SOCCER CRICKET TENNIS BASEBALL CYCLING GOLF ATHLETICS RUGBY RALLYING MOTOR BASKETBALL HORSE "
                  "BADMINTON MOTORCYCLING SQUASH MOTOCROSS AUSTRALIAN BOXING NFL NHL ICE SWIMMING SKIING ROWING "
                  "SAILING HOCKEY NBA YACHTING JUDO ALPINE FORMULA".split())
DIGEST_SLUGS = {"PRESS", "RTRS", "RESEARCH", "OFFICIAL", "FEATURE", "INDICATORS"}
WEAK_BUSINESS = set("profit profits shares share stocks stock bonds bond prices price pct percent net rate rates "
                    "bank futures dividend forecast results earnings mln bln index peso dollar crude oil copper "
                    "gold wheat cattle merger acquisition ipo stake sales output deficit surplus gdp inflation "
                    "economy budget market markets trade traders investors firm company corp inc ltd group "
                    "revenue loss debt tonnes bourse".split())
WEAK_WORLD = set("police killed kill dead die dies troops rebels rebel army president minister government "
                 "election elections vote parliament peace talks ceasefire war attack bomb refugees refugee "
                 "court jailed arrested hijack hijacked diplomat embassy un nato osce party opposition protest "
                 "crash floods cholera guerrillas militants soldiers hostage hostages murder kidnapped "
                 "ambassador prime leader military clashes fighting treaty pact visit".split())


def keep(t):
    return t not in STOP and len(t) > 1 and t[0].isalnum() and not t.isdigit()


class Lexicon:
    """models/src/topics_lexicon.tsv over the IPTC table: a story's points per top-level topic, as
    topics.c adds them (longest term first at each word, position-weighted, carried to ancestors
    at half per level), for the classifier's lexicon features."""

    def __init__(self):
        self.parent, self.level, self.terms, self.longest = {}, {}, collections.defaultdict(list), {}
        with open(os.path.join(ROOT, "models", "iptc_mediatopics.tsv"), encoding="utf-8") as f:
            for raw in f:
                if not raw.startswith("#") and raw.strip():
                    code, level, parent, _ = raw.rstrip("\n").split("\t")
                    self.parent[code], self.level[code] = parent or None, int(level)
        self.tops = [c for c in self.parent if self.level[c] == 1]
        with open(os.path.join(ROOT, "models", "src", "topics_lexicon.tsv"), encoding="utf-8") as f:
            for raw in f:
                if not raw.startswith("#") and raw.strip():
                    code, weight, term = raw.rstrip("\n").split("\t")
                    k = tokens(term)
                    if k:
                        self.terms[" ".join(k)].append((code, float(weight)))
                        self.longest[k[0]] = max(self.longest.get(k[0], 0), len(k))

    def points(self, toks, i, pw, pts):
        for n in range(min(self.longest.get(toks[i], 0), len(toks) - i), 0, -1):
            hit = self.terms.get(" ".join(toks[i:i + n]))
            if hit:
                for code, w in hit:
                    pts[code] += w * pw
                return

    def top_points(self, pts):
        """Points per top-level topic, subtopics' carried at half per level."""
        top = collections.Counter()
        for code, v in pts.items():
            if self.level.get(code) == 1:
                top[code] += v
            carry, p, depth = v * 0.5, self.parent.get(code), 0
            while p and depth < 8:
                if self.level.get(p) == 1:
                    top[p] += carry
                carry, p, depth = carry * 0.5, self.parent.get(p), depth + 1
        return top


LEXICON = None


def features(head, body):
    """(word -> summed position weight, top-level topic -> lexicon points), as topics.c weighs
    them."""
    global LEXICON
    if LEXICON is None:
        LEXICON = Lexicon()
    hw, lw, ln, bw, tn, tw = POSITION
    f, pts = collections.Counter(), collections.Counter()
    for field, toks in ((0, tokens(head)), (1, tokens(body))):
        for i, t in enumerate(toks):  # i: the token's place (punctuation counts), as in topics.c
            if not t[0].isalnum():
                continue
            pw = hw if not field else lw if i < ln else bw if i < tn else tw
            if keep(t):
                f[t] += pw
            LEXICON.points(toks, i, pw, pts)
    return f, LEXICON.top_points(pts)


def read_doc(path):
    with open(path, encoding="latin-1") as f:
        return f.read()


def bbc_split(data, folds, fold):
    train, test = [], []
    for cls, code in BBC:
        d = os.path.join(data, "bbc-news", cls)
        files = sorted(f for f in os.listdir(d) if f.endswith(".txt"))
        for i, f in enumerate(files):
            (test if i % folds == fold else train).append((os.path.join(d, f), code))
    return train, test


def bbc_story(path):
    """(headline, paragraphs) of a BBC article."""
    lines = read_doc(path).strip().split("\n")
    return lines[0].strip(), [l.strip() for l in lines[1:] if l.strip()]


def lead(paras, n=1):
    """The first n sentences: what a short item (headline + lead) carries."""
    return " ".join(SENT.split(" ".join(paras))[:n]) if paras else ""


def conll_docs(path):
    """Documents of a CoNLL-2003 file as lists of sentences (lists of words)."""
    out, cur, sent = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("-DOCSTART-") or not line.strip():
                if sent:
                    cur.append(sent)
                    sent = []
                if line.startswith("-DOCSTART-") and cur:
                    out.append(cur)
                    cur = []
                continue
            sent.append(line.split(" ")[0])
    if sent:
        cur.append(sent)
    if cur:
        out.append(cur)
    return out


def detok(words):
    s = " ".join(words)
    s = re.sub(r" ('s|n't|,|\.|:|;|\)|')", r"\1", s)
    return re.sub(r"\( ", "(", s)


def conll_stories(path):
    """(index, headline, sentences without the dateline) per document."""
    for i, d in enumerate(conll_docs(path)):
        sents = [detok(s) for s in d[1:]]
        yield i, detok(d[0]), [s for s in sents if not DATELINE.match(s)]


def weak_label(head, sents):
    m = re.match(r"^([A-Za-z][A-Za-z ]+?) ?- ?", head)
    slug = m.group(1).split()[0].upper() if m else ""
    if slug in SPORT_SLUGS:
        return "15000000"
    if slug in DIGEST_SLUGS or not sents:
        return None
    words = set(tokens(head)) | set(tokens(sents[0]))
    b, w = len(words & WEAK_BUSINESS), len(words & WEAK_WORLD)
    if w > 2 * b:
        return WORLD
    if b > 2 * w:
        return "04000000"
    return None


def conll_weak(data):
    """Weakly labelled CoNLL-2003 train stories: (headline, sentences, class)."""
    out = []
    for _, head, sents in conll_stories(os.path.join(data, "conll2003", "train.txt")):
        lab = weak_label(head, sents)
        if lab:
            out.append((head, sents, lab))
    return out


def conll_dev_labelled(data):
    """Hand-labelled CoNLL-2003 dev stories: (headline, sentences, label in W/S/B/T)."""
    labels = {}
    with open(os.path.join(ROOT, "scripts", "topics_conll_dev.tsv"), encoding="utf-8") as f:
        for raw in f:
            if raw.startswith("#") or not raw.strip():
                continue
            i, lab = raw.split("\t")[:2]
            labels[int(i)] = lab.strip()
    out = []
    for i, head, sents in conll_stories(os.path.join(data, "conll2003", "dev.txt")):
        if labels.get(i, "X") != "X":
            out.append((head, sents, labels[i]))
    return out


def scaled(feat, vocab):
    """Sparse (index, value) of features over vocab: the words scaled by 1/sqrt(total weight),
    then log(1 + points) of each top-level topic (indices after the words, in table order)."""
    f, top = feat
    items = [(vocab[w], v) for w, v in f.items() if w in vocab]
    z = sum(v for _, v in items)
    s = 1 / math.sqrt(z) if z > 0 else 0.0
    out = [(i, v * s) for i, v in items]
    for j, code in enumerate(LEXICON.tops):
        if top.get(code):
            out.append((len(vocab) + j, math.log1p(top[code])))
    return out
