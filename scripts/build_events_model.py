#!/usr/bin/env python3
"""Compile the event coder's knowledge into models/events.model.

Sources (read-only, never copied whole into the repo):
  <data>/petrarch2/CAMEO.2.0.txt                 verb blocks, verb forms, post-verb patterns, synsets
  <data>/petrarch2/Phoenix.Countries.actors.txt  country names, adjectives, capitals, officials
  <data>/petrarch2/Phoenix.International.actors.txt   international organisations
  <data>/petrarch2/Phoenix.MilNonState.actors.txt     militant and non-state groups
  <data>/petrarch2/Phoenix.agents.txt            agents (titles, bodies) -> sector
  <data>/plover/CAMEO2PLOVER-2021.txt            CAMEO code -> PLOVER type
  <data>/world-leaders-2026/world_leaders.csv    current heads of state and government
  models/src/events_extra.tsv                    our own nominal triggers and title aliases
  models/src/events_words.tsv                    the coder's word lists (prepositions, negators, ...)

Output: models/events.model, one record per line, tab-separated, first field the record kind
(see pkg/enrich/events.c, model_load). Deterministic: sorted, no timestamps.

Usage: python3 scripts/build_events_model.py [--data ../shared/data] [--out models/events.model]
"""
import argparse
import csv
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Root-level Goldstein-like intensities per CAMEO cue category (-10 conflict .. +10 cooperation).
# Values follow the CAMEO adaptation of Goldstein (1992) at root level; finer codes inherit them.
GOLDSTEIN = {
    "01": 0.0, "02": 3.0, "03": 4.0, "04": 1.0, "05": 3.5, "06": 6.0, "07": 7.0, "08": 5.0,
    "09": -2.0, "10": -5.0, "11": -2.0, "12": -4.0, "13": -6.0, "14": -6.5, "15": -7.2,
    "16": -4.0, "17": -7.0, "18": -9.0, "19": -10.0, "20": -10.0,
}
GOLDSTEIN_FINE = {"036": 4.0, "041": 1.0, "042": 1.9, "043": 2.8, "044": 2.5, "045": 5.0,
                  "046": 7.0, "057": 8.0, "138": -7.0, "163": -8.0, "190": -10.0}

# Phoenix/CAMEO country codes that are not ISO 3166 alpha-3 (historical states, CAMEO's own).
CODE_FIX = {"KSV": "XKX", "SCG": "SRB", "YUG": "SRB", "FRY": "SRB", "SRP": "SRB", "SUN": "RUS",
            "USR": "RUS", "DDR": "DEU", "TMP": "TLS", "CSK": "CZE", "JAP": "JPN", "ITL": "ITA",
            "FRN": "FRA"}

WORD_RE = re.compile(r"[A-Za-z0-9\x80-\uffff]+(?:[.\-'][A-Za-z0-9\x80-\uffff]+)*\.?|'s\b|[^\sA-Za-z0-9]")


def tokens(phrase):
    """Same tokens and keys as the C tokenizer (events_lex.c): lowercase, periods dropped."""
    phrase = phrase.replace("_", " ").replace("\u2019", "'")
    out = []
    for t in WORD_RE.findall(phrase):
        if not t[0].isalnum():
            out.append(t)
            continue
        tail = None
        if t.endswith(".") and "." not in t[:-1] and not (len(t) == 2 and t[0].isupper()):
            t, tail = t[:-1], "."
        if len(t) > 2 and t.lower().endswith("'s") and t[-3].isalnum():
            out.append(t[:-2].lower().replace(".", ""))
            t = "'s"
        k = t.lower().replace(".", "") if t != "'s" else t
        if k:
            out.append(k)
        if tail:
            out.append(tail)
    return out


def key(phrase):
    return " ".join(tokens(phrase))


def strip_comment(line):
    i = line.find("#")
    return line if i < 0 else line[:i]


def norm_country(code):
    c = code[:3]
    return CODE_FIX.get(c, c)


# ---------- verbs ----------

def inflect(word):
    """Regular English forms of a verb: base, -s, -ed, -ing (over-generation is harmless)."""
    w = word
    forms = {w}
    if re.search(r"(s|sh|ch|x|z|o)$", w):
        forms.add(w + "es")
    elif re.search(r"[^aeiou]y$", w):
        forms.add(w[:-1] + "ies")
    else:
        forms.add(w + "s")
    if w.endswith("e"):
        forms.update({w + "d", w[:-1] + "ing"})
    elif re.search(r"[^aeiou]y$", w):
        forms.update({w[:-1] + "ied", w + "ing"})
    else:
        forms.update({w + "ed", w + "ing"})
        if re.search(r"[^aeiou][aeiou][bdgklmnprt]$", w):
            forms.update({w + w[-1] + "ed", w + w[-1] + "ing"})
    return forms


def verb_forms(entry):
    """'+MEET_WITH {+MET_WITH ...}' or 'MEET {MEETS MET}' -> (lemma key, set of form keys)."""
    m = re.match(r"^(\S+)\s*(?:\{([^}]*)\})?", entry.strip())
    if not m:
        return None, set()
    main = m.group(1)
    irregular = m.group(2).split() if m.group(2) else []
    words = main.split("_")
    marked = [i for i, w in enumerate(words) if w.startswith("+")]
    vi = marked[0] if marked else 0
    words = [w.lstrip("+") for w in words]
    lemma = " ".join(tokens(" ".join(words)))
    forms = set()
    for f in inflect(words[vi].lower()):
        ws = list(words)
        ws[vi] = f
        forms.add(key(" ".join(ws)))
    for irr in irregular:
        forms.add(key(irr.replace("+", "").replace("_", " ")))
    forms.add(lemma)
    return lemma, {f for f in forms if f}


def parse_verbs(path):
    synsets = {}
    verbs = {}      # lemma -> {"forms": set, "code": str|None, "patterns": [(code, words)]}
    block_code = None
    block_verbs = []
    cur_syn = None
    with open(path, encoding="latin-1") as f:
        for raw in f:
            line = strip_comment(raw).rstrip()
            if not line.strip():
                cur_syn = None
                continue
            if line.startswith("&"):
                cur_syn = line.strip().split()[0].lower()
                synsets[cur_syn] = set()
                continue
            if cur_syn and line.startswith("+"):
                w = line[1:].strip()
                noplural = w.endswith("_") or cur_syn.endswith("_")
                k = key(w.rstrip("_"))
                if k:
                    synsets[cur_syn].add(k)
                    if not noplural and " " not in k:
                        synsets[cur_syn].update(plurals(k))
                continue
            cur_syn = None
            m = re.match(r"^---\s+(\S+)\s+\[([^\]]*)\]\s+---", line)
            if m:
                block_code = m.group(2).strip()
                block_verbs = []
                continue
            if line.startswith("-"):
                pm = re.match(r"^-\s*(.*?)\s*\[([^\]]*)\]", line)
                if not pm or not block_verbs:
                    continue
                body, code = pm.group(1), pm.group(2).strip()
                if "*" not in body:
                    continue
                pre, post = body.split("*", 1)
                if pre.strip():
                    continue  # pre-verb nouns need a parse; skipped
                primary = code.split(":")[0].strip()
                if not primary:
                    continue
                words = []
                ok = True
                for w in re.findall(r"&?[A-Za-z0-9'.\-]+|[$+%^]", post.replace("_", " ")):
                    if w in "$+%^":
                        ok = False
                        break
                    if w.startswith("&"):
                        words.append(w.lower())
                    else:
                        words.extend(tokens(w))
                if not ok or not words:
                    continue
                for lemma in block_verbs:
                    verbs[lemma]["patterns"].append((primary, words))
                continue
            # a verb line
            entry = line.strip()
            own = None
            om = re.search(r"\[([^\]]*)\]\s*$", entry)
            if om:
                own = om.group(1).strip().split(":")[0].strip() or None
                entry = entry[:om.start()]
            lemma, forms = verb_forms(entry)
            if not lemma:
                continue
            v = verbs.setdefault(lemma, {"forms": set(), "code": None, "patterns": []})
            v["forms"].update(forms)
            code = own or (block_code.split(":")[0].strip() if block_code else None)
            if code and code != "---" and not v["code"]:
                v["code"] = code
            block_verbs.append(lemma)
    return synsets, verbs


def plurals(k):
    if k.endswith("y") and not k.endswith(("ay", "ey", "oy", "uy")):
        return {k[:-1] + "ies"}
    if k.endswith("ss"):
        return {k + "es"}
    return {k + "s"}


# ---------- actors ----------

def parse_actor_file(path, actors, kind_default):
    """TABARI actor records: primary phrase [code], +synonyms, tab-indented [code dates] lines."""
    group = []
    codes = []

    def flush():
        if group and codes:
            code = pick_code(codes)
            if code:
                name = group[0]
                for g in group:
                    add_actor(actors, g, code, name, kind_default)
        group.clear()
        codes.clear()

    with open(path, encoding="latin-1") as f:
        for raw in f:
            line = strip_comment(raw).rstrip("\n")
            if not line.strip():
                continue
            if line[0] in "\t " and line.strip().startswith("["):
                codes.extend(re.findall(r"\[([^\]]+)\]", line))
                continue
            s = line.strip()
            if s.startswith("+"):
                phrase = re.sub(r"\[.*", "", s[1:]).strip()
                for p in phrase.split("+"):
                    if p.strip():
                        group.append(p.strip())
                codes.extend(re.findall(r"\[([^\]]+)\]", s))
                continue
            flush()
            phrase = re.sub(r"\[.*", "", s).strip()
            if phrase:
                group.append(phrase)
            codes.extend(re.findall(r"\[([^\]]+)\]", s))
    flush()


def pick_code(codes):
    """Prefer the current ('>date') code, then the latest dated one, then an undated default."""
    best, best_end = None, -1
    default = None
    for c in codes:
        parts = c.split()
        code = parts[0].lstrip("~")
        if not re.match(r"^[A-Z]{3}", code):
            continue
        if len(parts) == 1:
            default = default or code
            continue
        d = parts[1]
        if d.startswith(">"):
            end = 99999999
        elif "-" in d:
            end = int(norm_date(d.split("-")[1]))
        elif d.startswith("<"):
            end = int(norm_date(d[1:]))
        else:
            end = 0
        if end > best_end:
            best, best_end = code, end
    if best and best_end >= 20000101:
        return best
    return default or best


def norm_date(d):
    d = re.sub(r"\D", "", d)
    if len(d) == 6:
        d = ("19" if int(d[:2]) > 30 else "20") + d
    return d or "0"


def possessive_variants(k):
    """The spellings of a plural possessive the dictionaries write one way only: "peoples '" (the
    Phoenix form of "Peoples'"), "peoples" and "people 's" name the same thing."""
    words = k.split()
    out = []
    for i, w in enumerate(words[:-1]):
        if len(w) > 3 and w.endswith("s") and words[i + 1] == "'":
            for form in ([w[:-1], "'s"], [w]):
                out.append(" ".join(words[:i] + form + words[i + 2:]))
    return out


def add_actor(actors, phrase, code, name, kind):
    k = key(phrase.rstrip("_"))
    if not k or len(k) < 2:
        return
    first = k.split()[0]
    if first in {"the", "a", "an"} and len(k.split()) > 1:
        k = " ".join(k.split()[1:])
    if k in actors:
        return
    actors[k] = (code, display(name), kind)


def display(phrase):
    p = phrase.rstrip("_").replace("_", " ")
    return " ".join(w if (len(w) <= 3 and "." in w) else w.capitalize() for w in p.split())


def parse_agents(path):
    agents = {}
    subs = {}
    with open(path, encoding="latin-1") as f:
        for raw in f:
            line = strip_comment(raw).strip()
            if not line:
                continue
            m = re.match(r"^!(\w+)!\s*=\s*(.*)$", line)
            if m:
                subs[m.group(1)] = [w.strip() for w in m.group(2).split(",")]
                continue
            m = re.match(r"^(.*?)\s*(?:\{[^}]*\})?\s*\[~?([A-Z]{3})[A-Z]*\]", line)
            if not m:
                continue
            phrase, sector = m.group(1).strip(), m.group(2)
            phrases = [phrase]
            sm = re.search(r"!(\w+)!", phrase)
            if sm and sm.group(1) in subs:
                phrases = [phrase.replace(sm.group(0), s) for s in subs[sm.group(1)]]
            for p in phrases:
                k = key(p.rstrip("_"))
                if k:
                    agents.setdefault(k, sector)
                    if not p.endswith("_") and " " not in k:
                        for pl in plurals(k):
                            agents.setdefault(pl, sector)
    return agents


# ---------- PLOVER ----------

def parse_plover(path):
    table = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(\d{2,4}):\s*([A-Z]+)", line)
            if m:
                table.setdefault(m.group(1), m.group(2))
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "events.model"))
    args = ap.parse_args()
    pet = os.path.join(args.data, "petrarch2")
    if not os.path.isdir(pet):
        sys.exit("no %s: the reference data is needed to rebuild the model" % pet)

    synsets, verbs = parse_verbs(os.path.join(pet, "CAMEO.2.0.txt"))
    actors = {}
    extra_actors, nominals, agents_extra, verbs_extra, patterns_extra = read_extra()
    for k, v in extra_actors.items():
        actors[k] = v
    parse_actor_file(os.path.join(pet, "Phoenix.Countries.actors.txt"), actors, "C")
    parse_actor_file(os.path.join(pet, "Phoenix.International.actors.txt"), actors, "O")
    parse_actor_file(os.path.join(pet, "Phoenix.MilNonState.actors.txt"), actors, "O")
    add_world_leaders(os.path.join(args.data, "world-leaders-2026", "world_leaders.csv"), actors)
    # people of a country: "Albanians", "Iraqis", "Israelis" (the dictionary lists the adjective)
    for k, (code, name, kind) in list(actors.items()):
        if kind == "C" and " " not in k and len(code) == 3 and k.endswith(("an", "i")):
            actors.setdefault(k + "s", (code, name, kind))
    # "Democratic People's Republic of Korea": Phoenix spells it "Peoples'" only
    for k, value in list(actors.items()):
        for v in possessive_variants(k) if "'" in k else ():
            actors.setdefault(v, value)
    agents = parse_agents(os.path.join(pet, "Phoenix.agents.txt"))
    agents.update(agents_extra)
    plover = parse_plover(os.path.join(args.data, "plover", "CAMEO2PLOVER-2021.txt"))

    for lemma, (code, forms) in verbs_extra.items():
        v = verbs.setdefault(lemma, {"forms": set(), "code": None, "patterns": []})
        v["forms"].update(forms)
        v["code"] = None if code == "---" else code
    for lemma, code, words in patterns_extra:
        if lemma in verbs:
            # ours corrects the dictionary's pattern of the same words ("expel diplomats" is 166,
            # expelling diplomats, in the CAMEO manual; the dictionary has 174, deporting people)
            pats = [p for p in verbs[lemma]["patterns"] if p[1] != words]
            verbs[lemma]["patterns"] = [(code, words)] + pats
    out = []
    out.append("# newsd events model v1: built by scripts/build_events_model.py; see models/README.md")
    for code in sorted(plover):
        g = GOLDSTEIN_FINE.get(code[:3], GOLDSTEIN.get(code[:2], 0.0))
        out.append("M\t%s\t%s\t%.1f" % (code, plover[code], g))
    # the word lists come before the patterns and verbs that are read with them
    with open(os.path.join(ROOT, "models", "src", "events_words.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, words = line.rstrip("\n").split("\t")
            out.append("W\t%s\t%s" % (name, words))
    for name in sorted(synsets):
        if synsets[name]:
            out.append("S\t%s\t%s" % (name, "|".join(sorted(synsets[name]))))
    for lemma in sorted(verbs):
        v = verbs[lemma]
        if not v["code"] and not v["patterns"] and lemma not in verbs_extra:
            continue
        out.append("D\t%s\t%s" % (lemma, v["code"] or "---"))
        for form in sorted(v["forms"]):
            out.append("V\t%s\t%s" % (form, lemma))
        seen = set()
        for code, words in v["patterns"]:
            sig = (code, tuple(words))
            if sig in seen:
                continue
            seen.add(sig)
            out.append("P\t%s\t%s\t%s" % (lemma, code, " ".join(words)))
    for k in sorted(actors):
        code, name, kind = actors[k]
        cc = norm_country(code)
        out.append("A\t%s\t%s\t%s\t%s\t%s" % (k, cc, code, kind, name))
    for k in sorted(agents):
        out.append("G\t%s\t%s" % (k, agents[k]))
    for k in sorted(nominals):
        code, role = nominals[k]
        out.append("N\t%s\t%s\t%s" % (k, code, role))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print("wrote %s: %d verbs, %d actors, %d agents, %d nominal triggers" %
          (args.out, len(verbs), len(actors), len(agents), len(nominals)))


def add_world_leaders(path, actors):
    if not os.path.exists(path):
        return
    names = {}
    for a in json.load(open("/usr/share/iso-codes/json/iso_3166-1.json"))["3166-1"]:
        for n in ("name", "common_name", "official_name"):
            if n in a:
                names[a[n].lower()] = a["alpha_3"]
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            cc = names.get(row["country"].strip().lower())
            if not cc:
                k = key(row["country"])
                if k in actors and actors[k][2] == "C":
                    cc = norm_country(actors[k][0])
            if cc:
                add_actor(actors, row["person"], cc + "GOV", row["person"], "P")


def read_extra():
    """models/src/events_extra.tsv: our additions where the dictionaries are thin for wire copy."""
    path = os.path.join(ROOT, "models", "src", "events_extra.tsv")
    actors, nominals, agents, verbs, patterns = {}, {}, {}, {}, []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if parts[0] == "A":
                actors[key(parts[1])] = (parts[2], parts[3], "C" if len(parts) < 5 else parts[4])
            elif parts[0] == "N":
                nominals[key(parts[1])] = (parts[2], parts[3])
            elif parts[0] == "G":
                agents[key(parts[1])] = parts[2]
            elif parts[0] == "P":
                patterns.append((key(parts[1]), parts[2], tokens(parts[3])))
            elif parts[0] == "V":
                forms = set()
                for f_ in parts[3].split("|"):
                    forms.add(key(f_))
                verbs[key(parts[1])] = (parts[2], forms)
    return actors, nominals, agents, verbs, patterns


if __name__ == "__main__":
    main()
