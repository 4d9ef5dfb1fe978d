#!/usr/bin/env python3
"""Compile newsd's knowledge base (models/kb.tsv) from public facts.

Run only when the sources change:  python3 scripts/build_kb.py [DATA_DIR] [OUT]
(DATA_DIR defaults to ../shared/data, OUT to models/kb.tsv). models/README.md names the sources.

Output, one record per line, tab-separated (the loader is pkg/enrich/kb.c):
  E  key  type  kind  country  wikidata  role  canonical  alias|alias|...
  G  word        a given name seen in leader lists (a tagger feature, not an entity)
  S  word        a surname seen in leader lists
Aliases are normalised: accents stripped, lower case, periods dropped, single spaces.
"""
import csv
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "data")
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "models", "kb.tsv")
ISO = "/usr/share/iso-codes/json/iso_3166-1.json"

# Kinds in order of precedence when two entries claim the same alias ("Georgia", "Washington").
PRIORITY = ["country", "org", "igo", "capital", "leader", "official", "norp", "city", "region", "loc"]


def norm(s):
    s = re.sub(r"[\x00-\x1f\x7f|]", "", s)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.casefold().replace("_", " ").replace(".", "").replace("\u2019", "'")
    s = re.sub(r"\s+", " ", s).strip()
    return s


def title(s):
    """PHOENIX_STYLE_NAME_ -> Phoenix Style Name."""
    words = s.replace("_", " ").strip().split()
    small = {"of", "the", "and", "de", "da", "del", "al", "la", "le", "von", "van", "du", "for", "in", "on"}
    out = []
    for i, w in enumerate(words):
        lw = w.lower()
        if i and lw in small:
            out.append(lw)
        else:
            out.append("-".join(p[:1].upper() + p[1:] for p in lw.split("-")))
    return " ".join(out)


entries = {}  # key -> dict


def add(key, typ, kind, canonical, country="", wikidata="", role="", aliases=()):
    canonical = re.sub(r"[\x00-\x1f\x7f|]", "", canonical)
    e = entries.get(key)
    if e is None:
        e = entries[key] = dict(key=key, type=typ, kind=kind, country=country, wikidata=wikidata,
                                role=role, canonical=canonical, aliases=set())
    else:
        e["wikidata"] = e["wikidata"] or wikidata
        e["role"] = e["role"] or role
    for a in list(aliases) + [canonical]:
        n = norm(a)
        if n and len(n) >= 2 and len(n.split()) <= 8:
            e["aliases"].add(n)
    return e


# ---- countries: ISO 3166 names, CountryInfo and Phoenix variants -------------------------------
iso = json.load(open(ISO))["3166-1"]
iso_by3 = {c["alpha_3"]: c for c in iso}
name_to3 = {}
for c in iso:
    canon = c.get("common_name", c["name"])
    if "," in canon:  # "Korea, Republic of" reads badly; the curated table below fixes the big ones
        canon = canon.split(",")[0]
    al = {c["name"], canon}
    if "official_name" in c:
        al.add(c["official_name"])
    add(c["alpha_3"], "GPE", "country", canon, c["alpha_3"], aliases=al)
    for a in al:
        name_to3[norm(a)] = c["alpha_3"]

CURATED_COUNTRIES = {
    # canonical names desks use, Wikidata ids, and the everyday forms newswire writes
    "USA": ("United States", "Q30", ["U.S.", "US", "USA", "U.S.A.", "America", "United States of America", "the United States"]),
    "GBR": ("United Kingdom", "Q145", ["Britain", "Great Britain", "UK", "U.K."]),
    "CHN": ("China", "Q148", ["People's Republic of China", "PRC", "mainland China"]),
    "RUS": ("Russia", "Q159", ["Russian Federation"]),
    "FRA": ("France", "Q142", []), "DEU": ("Germany", "Q183", []), "JPN": ("Japan", "Q17", []),
    "IND": ("India", "Q668", []), "UKR": ("Ukraine", "Q212", []), "BRA": ("Brazil", "Q155", []),
    "IRN": ("Iran", "Q794", ["Islamic Republic of Iran"]),
    "PRK": ("North Korea", "Q423", ["DPRK", "Democratic People's Republic of Korea"]),
    "KOR": ("South Korea", "Q884", ["Republic of Korea", "ROK"]),
    "TWN": ("Taiwan", "Q865", ["Republic of China"]), "ISR": ("Israel", "Q801", []),
    "ITA": ("Italy", "Q38", []), "CAN": ("Canada", "Q16", []), "AUS": ("Australia", "Q408", []),
    "ESP": ("Spain", "Q29", []), "TUR": ("Turkey", "Q43", ["Turkiye", "Türkiye"]),
    "SAU": ("Saudi Arabia", "Q851", []), "EGY": ("Egypt", "Q79", []), "PAK": ("Pakistan", "Q843", []),
    "MEX": ("Mexico", "Q96", []), "POL": ("Poland", "Q36", []), "SYR": ("Syria", "Q858", []),
    "VNM": ("Vietnam", "Q881", ["Viet Nam"]), "VEN": ("Venezuela", "Q717", []),
    "BOL": ("Bolivia", "Q750", []), "TZA": ("Tanzania", "Q924", []), "LAO": ("Laos", "Q819", []),
    "MDA": ("Moldova", "Q217", []), "PSE": ("Palestine", "Q219060", ["Palestinian territories", "State of Palestine"]),
    "COD": ("Democratic Republic of the Congo", "Q974", ["DR Congo", "DRC", "Congo-Kinshasa"]),
    "COG": ("Republic of the Congo", "Q971", ["Congo-Brazzaville"]),
    "CZE": ("Czech Republic", "Q213", ["Czechia"]),
    "NLD": ("Netherlands", "Q55", ["Holland", "the Netherlands"]),
    "ARE": ("United Arab Emirates", "Q878", ["UAE", "Emirates"]),
}
for code, (canon, qid, al) in CURATED_COUNTRIES.items():
    e = add(code, "GPE", "country", canon, code, qid, aliases=al)
    e["canonical"] = canon

DEMONYMS = {  # main adjectival forms CountryInfo spells oddly or lacks
    "USA": ["American", "Americans", "U.S."], "GBR": ["British", "Briton", "Britons", "UK"],
    "CHN": ["Chinese"], "RUS": ["Russian", "Russians"], "UKR": ["Ukrainian", "Ukrainians"],
    "PRK": ["North Korean", "North Koreans"], "KOR": ["South Korean", "South Koreans"],
    "DEU": ["German", "Germans"], "FRA": ["French"], "ISR": ["Israeli", "Israelis"],
    "PSE": ["Palestinian", "Palestinians"], "IRN": ["Iranian", "Iranians"],
    "TWN": ["Taiwanese"], "BRA": ["Brazilian", "Brazilians"], "JPN": ["Japanese"],
    "IND": ["Indian", "Indians"], "NLD": ["Dutch"], "CHE": ["Swiss"], "PHL": ["Filipino", "Philippine"],
}

ci = open(os.path.join(DATA, "countryinfo", "CountryInfo.120116.txt"), encoding="utf-8", errors="replace").read()
given, surnames = set(), set()


def fields(block, tag):
    m = re.search(r"<%s>(.*?)</%s>" % (tag, tag), block, re.S)
    if not m:
        return []
    out = []
    for line in m.group(1).split("\n"):
        line = line.split("#")[0].strip()
        if line and not line.startswith("<"):
            out.append(line.split()[0])
    return out


def person_names(block):
    for m in re.finditer(r"^\s+([A-Z][A-Z'\-]+(?:_[A-Z][A-Z'\-.]*)+)_?\s+\[", block, re.M):
        parts = [p for p in m.group(1).split("_") if p]
        if len(parts) >= 2:
            first, last = parts[0], parts[-1]
            if len(first) > 1 and "." not in first:
                given.add(norm(first))
            if len(last) > 2:
                surnames.add(norm(last))


for block in re.findall(r"<Country>(.*?)</Country>", ci, re.S):
    m = re.search(r"<ISO3166-alpha3>(\w+)</ISO3166-alpha3>", block)
    code = m.group(1) if m else ""
    if code not in iso_by3:
        continue
    cname = re.search(r"<CountryName>(.*?)</CountryName>", block)
    if cname:
        add(code, "GPE", "country", entries[code]["canonical"], code, aliases=[title(cname.group(1))])
    nat = fields(block, "Nationality")
    dem = DEMONYMS.get(code) or [title(n) for n in nat[:1]]
    dem = [d for d in dem if d]
    if dem:
        extra = [d + "s" for d in dem if d.endswith("an") or d.endswith("i")]
        add(code + ":norp", "NORP", "norp", dem[0], code, aliases=dem + extra)
    for i, cap in enumerate(fields(block, "Capital")[:2]):
        add(code + ":capital", "GPE", "capital", title(fields(block, "Capital")[0]), code, aliases=[title(cap)])
    for city in fields(block, "MajorCities"):
        t = title(city)
        add("city:" + norm(t), "GPE", "city", t, code, aliases=[t])
    for r in fields(block, "Regions"):  # states, provinces and historic regions: places with people
        t = title(r)
        if len(t) > 3:
            add("region:" + norm(t), "GPE", "region", t, code, aliases=[t])
    for r in fields(block, "GeogFeatures"):  # rivers, mountains, deserts
        t = title(r)
        if len(t) > 3:
            add("loc:" + norm(t), "LOC", "loc", t, code, aliases=[t])
    person_names(block)

# Capitals as newswire writes them today.
for code, (canon, al) in {"USA": ("Washington", ["Washington D.C.", "Washington DC"]),
                          "UKR": ("Kyiv", ["Kiev"]), "IND": ("New Delhi", []),
                          "KOR": ("Seoul", []), "PRK": ("Pyongyang", [])}.items():
    e = add(code + ":capital", "GPE", "capital", canon, code, aliases=al)
    e["canonical"] = canon

# ---- international organisations (Phoenix international actors, IGO codes) ----------------------
IGOS = {  # code: canonical, wikidata, extra aliases
    "IGOUNO": ("United Nations", "Q1065", ["U.N.", "UN", "the United Nations"]),
    "IGOEUREEC": ("European Union", "Q458", ["EU", "E.U."]),
    "IGOWSTNAT": ("NATO", "Q7184", ["North Atlantic Treaty Organization", "Nato", "the Atlantic alliance"]),
    "IGOUNOWHO": ("World Health Organization", "Q7817", ["WHO"]),
    "IGOWSTIMF": ("International Monetary Fund", "Q7804", ["IMF"]),
    "IGOWTO": ("World Trade Organization", "Q7825", ["WTO"]),
    "IGOSEAASN": ("ASEAN", "Q7768", ["Association of Southeast Asian Nations"]),
    "IGOOPC": ("OPEC", "Q7795", ["Organization of the Petroleum Exporting Countries"]),
}
igo_names = {}
cur = None
for line in open(os.path.join(DATA, "petrarch2", "Phoenix.International.actors.txt"), encoding="utf-8", errors="replace"):
    line = line.split("#")[0].rstrip()
    # Organisations are written "NAME_ [IGOxxx]" with "+ALIAS" lines after; people carry dated codes on
    # separate lines and are skipped.
    m = re.match(r"^([A-Z0-9][A-Z0-9_'.&\-]*)\s*\[(IGO[A-Z]*)\]\s*$", line)
    if m:
        cur = m.group(2)
        igo_names.setdefault(cur, []).append(m.group(1))
    elif line.startswith("+") and cur:
        igo_names[cur].append(line[1:].strip())
    else:
        cur = None
for code, names in igo_names.items():
    names = [n for n in names if not re.search(r"SECRETARY|PRESIDENT|CHIEF|DIRECTOR|SPOKES", n)]
    # people filed under an organisation's code: a known given name and no organisation word
    names = [n for n in names if not (norm(n.split("_")[0]) in given and 2 <= len(norm(n).split()) <= 4 and
             not re.search(r"BANK|ORGANI|COUNCIL|UNION|COMMISSION|FUND|AGENCY|COURT|FORCE|MISSION|"
                           r"PROGRAM|OFFICE|CONFERENCE|ASSEMBLY|PARLIAMENT|COMMITTEE|COMMUNITY|ASSOCIATION", n))]
    if not names:
        continue
    canon, qid, extra = IGOS.get(code, (title(names[0]), "", []))
    if canon.startswith("The "):
        canon = canon[4:]
    add(code, "ORG", "igo", canon, "", qid, aliases=[title(n) for n in names] + extra)
for code, (canon, qid, extra) in IGOS.items():
    e = add(code, "ORG", "igo", canon, "", qid, aliases=extra)
    e["canonical"] = canon

# ---- current heads of state and government (February 2026) -------------------------------------
with open(os.path.join(DATA, "world-leaders-2026", "world_leaders_with_gender_wikidataid.csv"), encoding="utf-8") as f:
    for row in csv.DictReader(f):
        code = name_to3.get(norm(row["country"]))
        if not code:
            for k, v in CURATED_COUNTRIES.items():
                if norm(row["country"]) in (norm(v[0]), *[norm(a) for a in v[2]]):
                    code = k
        name = row["person"].strip()
        if not name:
            continue
        qid = row.get("wikidata_id", "").strip()
        add(qid or "leader:" + norm(name), "PERSON", "leader", name, code or "", qid, row["position"].strip(),
            aliases=[name])
        parts = name.split()
        if len(parts) >= 2:
            given.add(norm(parts[0]))
            surnames.add(norm(parts[-1]))

# ---- curated senior officials, national institutions, regions (scripts/kb_curated.tsv) -----------
with open(os.path.join(HERE, "kb_curated.tsv"), encoding="utf-8") as f:
    for line in f:
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        kind, typ, country, role, canon, *al = line.split("\t")
        key = "%s:%s" % (kind, norm(canon))
        add(key, typ, kind, canon, country, "", role, aliases=[a for a in (al[0].split("|") if al else []) if a])
        if typ == "PERSON":
            parts = canon.split()
            given.add(norm(parts[0]))
            surnames.add(norm(parts[-1]))

# GeoNames: cities over 1 million people, with their common English names.
with open(os.path.join(DATA, "geonames-cities15000-2013", "cities15000.txt"), encoding="utf-8") as f:
    iso2to3 = {c["alpha_2"]: c["alpha_3"] for c in iso}
    for line in f:
        col = line.rstrip("\n").split("\t")
        if len(col) < 15 or not col[14].isdigit() or int(col[14]) < 1000000:
            continue
        code = iso2to3.get(col[8], "")
        add("city:" + norm(col[2]), "GPE", "city", col[2], code, aliases=[col[1], col[2]])

# ---- gazetteer phrases: tagger features only, never entities -----------------------------------
# P person names (Phoenix country actors marked as CountryInfo people), O organisations (Phoenix
# international and non-state actors), L places (world-cities). Single words are left out: they are
# too ambiguous to help ("Bath", "Reading").
gaz = {"P": set(), "O": set(), "L": set()}


def gaz_add(kind, name):
    n = norm(title(name) if name.isupper() or "_" in name else name)
    n = re.sub(r"\s*\(.*?\)", "", n).strip()
    if 2 <= len(n.split()) <= 6 and len(n) <= 60 and not re.search(r"[0-9\[\]<>]", n):
        gaz[kind].add(n)


for line in open(os.path.join(DATA, "petrarch2", "Phoenix.Countries.actors.txt"), encoding="utf-8", errors="replace"):
    m = re.match(r"^\+?([A-Z][A-Z'\-]+(?:_[A-Z][A-Z'\-.]*)+)_?\s*#\s*CountryInfo", line)
    if m:
        gaz_add("P", m.group(1))
for fn in ("Phoenix.International.actors.txt", "Phoenix.MilNonState.actors.txt"):
    for line in open(os.path.join(DATA, "petrarch2", fn), encoding="utf-8", errors="replace"):
        line = line.split("#")[0].strip()
        m = re.match(r"^\+?([A-Z][A-Z0-9_'.&\-]+)", line)
        if m and not re.search(r"SECRETARY|PRESIDENT|MINISTER|CHIEF|SPOKES", m.group(1)):
            name = m.group(1).rstrip("_")
            first = norm(name.split("_")[0])
            if first not in given:
                gaz_add("O", name)
with open(os.path.join(DATA, "world-cities", "world-cities.csv"), encoding="utf-8") as f:
    for row in csv.DictReader(f):
        gaz_add("L", row["name"])
        gaz_add("L", row["subcountry"])

# ---- resolve alias conflicts by kind precedence, then write ----------------------------------------
owner = {}
for key, e in entries.items():
    for a in e["aliases"]:
        o = owner.get(a)
        if o is None or PRIORITY.index(e["kind"]) < PRIORITY.index(entries[o]["kind"]):
            owner[a] = key
# Common words: a one-word place alias that running text mostly writes in lower case ("this",
# "you", "mobile") would turn sentence-initial words into places. Counted from CoNLL-2003 train.txt.
lower_counts = {}
with open(os.path.join(DATA, "conll2003", "train.txt"), encoding="utf-8") as f:
    for line in f:
        w = line.split(" ", 1)[0]
        if w and w[0].islower():
            lower_counts[w] = lower_counts.get(w, 0) + 1
COMMON = {w for w, c in lower_counts.items() if c >= 2}

STOP = {"us", "it", "in", "is", "as", "at", "be", "by", "do", "go", "he", "if", "me", "my", "no", "of",
        "on", "or", "so", "to", "up", "we", "an", "the", "and", "said", "new", "will", "may", "can",
        "general", "president", "minister", "republic", "union", "state", "states", "government"}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w", encoding="utf-8") as out:
    out.write("# newsd knowledge base, generated by scripts/build_kb.py; see models/README.md\n")
    for key in sorted(entries):
        e = entries[key]
        al = sorted(a for a in e["aliases"] if owner.get(a) == key and (a not in STOP or a == "us" and key == "USA")
                    and not (e["kind"] in ("city", "region", "loc") and a in COMMON))
        if not al:
            continue
        out.write("\t".join(["E", key, e["type"], e["kind"], e["country"], e["wikidata"], e["role"],
                             e["canonical"], "|".join(al)]) + "\n")
    for g in sorted(given - STOP):
        if len(g) > 1:
            out.write("G\t%s\n" % g)
    for s in sorted(surnames - STOP):
        out.write("S\t%s\n" % s)
    for kind in ("P", "O", "L"):
        for g in sorted(gaz[kind]):
            out.write("%s\t%s\n" % (kind, g))
print("wrote %s: %d entries, %d given names, %d surnames, gazetteer %d people %d organisations %d places"
      % (OUT, len(entries), len(given), len(surnames), len(gaz["P"]), len(gaz["O"]), len(gaz["L"])))
