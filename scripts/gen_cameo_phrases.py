#!/usr/bin/env python3
"""Generate pkg/alert/cameo_phrases.c: one verb phrase per CAMEO code, what an alert says happened.

The phrase is the code's own CAMEO name, as the CAMEO to PLOVER table of the PLOVER manual
(../shared/data/plover/CAMEO2PLOVER-2021.txt) gives it in its comments ("036: ... # Express intent
to meet or negotiate"), put in the past tense ("expressed intent to meet or negotiate"), with the
word that joins the target ("with", "on", "against"; "" for a direct object) or a {T} where the
target goes ("accused {T} of war crimes"). So an alert says no
more than the code: never the PLOVER bucket's phrase ("reached an agreement" for every AGREE).
A code missing from the table takes its parent's phrase at lookup (pkg/alert/ref.c).

    python3 scripts/gen_cameo_phrases.py [CAMEO2PLOVER-2021.txt] > pkg/alert/cameo_phrases.c
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Past tense of the verbs the CAMEO names start with (or that follow "or" / ",").
PAST = {"express": "expressed", "agree": "agreed", "consult": "consulted", "discuss": "discussed",
        "make": "made", "host": "hosted", "meet": "met", "engage": "engaged", "praise": "praised",
        "endorse": "endorsed", "defend": "defended", "rally": "rallied", "grant": "granted",
        "apolgize": "apologised", "apologize": "apologised", "forgive": "forgave", "sign": "signed",
        "cooperate": "cooperated", "share": "shared", "provide": "provided", "yield": "yielded",
        "ease": "eased", "accede": "acceded", "return": "returned", "release": "released",
        "allow": "allowed", "de-escalate": "de-escalated", "investigate": "investigated",
        "demand": "demanded", "disapprove": "disapproved", "criticize": "criticised",
        "denounce": "denounced", "accuse": "accused", "complain": "complained",
        "bring": "brought", "find": "found", "reject": "rejected", "decline": "declined",
        "defy": "defied", "veto": "vetoed", "threaten": "threatened", "give": "gave",
        "demonstrate": "demonstrated", "conduct": "conducted", "obstruct": "obstructed",
        "block": "blocked", "protest": "protested", "riot": "rioted", "increase": "increased",
        "mobilize": "mobilised", "reduce": "reduced", "break": "broke", "stop": "stopped",
        "impose": "imposed", "halt": "halted", "expel": "expelled", "withdraw": "withdrew",
        "coerce": "coerced", "seize": "seized", "damage": "damaged", "arrest": "arrested",
        "detain": "detained", "charge": "charged", "deport": "deported", "occupy": "occupied",
        "use": "used", "abduct": "abducted", "hijack": "hijacked", "physically": "physically",
        "assault": "assaulted", "attempt": "attempted", "assassinate": "assassinated",
        "fight": "fought", "employ": "employed", "violate": "violated", "request": "requested",
        "mediate": "mediated", "settle": "settled", "accept": "accepted", "restrict": "restricted",
        "confiscate": "confiscated", "destroy": "destroyed", "torture": "tortured",
        "declare": "declared", "receive": "received", "demobilize": "demobilised",
        "retreat": "retreated", "carry": "carried", "kill": "killed", "ban": "banned",
        "detonate": "detonated", "ostruct": "obstructed", "sexually": "sexually"}

# The word before the target, by CAMEO root; a code of its own below when the root's is wrong.
JOIN_ROOT = {"03": "with", "04": "with", "05": "", "06": "with", "07": "to", "08": "toward",
             "09": "", "10": "of", "11": "", "12": "from", "13": "", "14": "against",
             "15": "against", "16": "against", "17": "", "18": "against", "19": "against",
             "20": "against"}
JOIN_CODE = {"033": "to", "0331": "to", "0332": "to", "0333": "to", "0334": "to", "035": "to",
             "042": "to", "043": "from", "053": "for", "054": "to", "055": "to", "057": "with",
             "075": "to", "084": "to", "085": "on", "0851": "on", "0852": "on", "086": "in",
             "087": "against", "101": "from", "102": "from", "103": "from", "104": "from",
             "114": "about",
             "120": "", "121": "with", "124": "to", "125": "with", "128": "", "129": "",
             "139": "to", "160": "with", "161": "with", "162": "to", "163": "on", "164": "with",
             "172": "on", "191": "on", "192": "in", "196": "with", "190": "against"}
# Names that read badly when put in the past tense as they are; {T} marks where the target goes
# (else it follows the joining word at the end).
NAME_CODE = {"100": "Make a request", "055": "Apologize", "116": "Find {T} guilty or liable",
             "0813": "Ease curfew", "105": "Demand that {T} yield", "1055": "Demand that {T} allow international involvement",
             "122": "Reject request for material aid", "123": "Reject request for political reform",
             "125": "Reject proposal to meet, discuss or negotiate", "144": "Obstruct passage, block",
             "145": "Protest violently, riot", "182": "Physically assault {T}", "1821": "Sexually assault {T}",
             "1822": "Torture {T}", "1823": "Kill {T} by physical assault", "1311": "Threaten to reduce or stop aid",
             "1313": "Threaten to reduce or break relations", "131": "Threaten {T} with non-force",
             "130": "Threaten {T}", "132": "Threaten {T} with administrative sanctions",
             "133": "Threaten {T} with political dissent, protest", "137": "Threaten {T} with violent repression",
             "138": "Threaten {T} with military force", "1121": "Accuse {T} of crime, corruption",
             "1122": "Accuse {T} of human rights abuses", "1123": "Accuse {T} of aggression",
             "1124": "Accuse {T} of war crimes", "1125": "Accuse {T} of espionage, treason",
             "113": "Rally opposition against {T}", "115": "Bring lawsuit against {T}",
             "053": "Rally support on behalf of {T}", "110": "Disapprove of {T}",
             "090": "Investigate {T}", "091": "Investigate crime, corruption in {T}",
             "092": "Investigate human rights abuses in {T}", "093": "Investigate military action of {T}",
             "094": "Investigate war crimes of {T}", "173": "Arrest, detain, or charge {T} with legal action",
             "174": "Expel or deport individuals of {T}", "175": "Use violent repression against {T}",
             "184": "Use {T} as human shield", "185": "Attempt to assassinate {T}", "186": "Assassinate {T}",
             "171": "Seize or damage property of {T}", "1711": "Confiscate property of {T}",
             "1712": "Destroy property of {T}", "128": "Defy norms, law", "129": "Veto {T}",
             "0841": "Return, release persons to {T}", "0842": "Return, release property to {T}",
             "1411": "Demonstrate for leadership change", "0862": "Receive inspectors from {T}",
             "0871": "Declare truce, ceasefire with {T}", "0873": "Demobilize armed forces",
             "0874": "Retreat or surrender militarily to {T}",
             "181": "Abduct or hijack people of {T}", "144": "Obstruct passage, block {T}"}


def past(name):
    """'Express intent to meet or negotiate' -> 'expressed intent to meet or negotiate': the leading
    verbs ("Arrest, detain, or charge"), joined by "or" and commas, in the past tense."""
    out, expect_verb = [], True
    for w in name.strip().split():
        bare = w.lower().rstrip(",")
        if expect_verb and bare in PAST:
            out.append(PAST[bare] + ("," if w.endswith(",") else ""))
            expect_verb = w.endswith(",")
            continue
        if out and bare in ("or", "and") and out[-1].rstrip(",") in PAST.values():
            out.append(bare)
            expect_verb = True
            continue
        expect_verb = False
        out.append(w if w == "{T}" or (w.isupper() and len(w) > 2) else w.lower())
    return " ".join(out)


def join_of(code):
    for c in (code, code[:3]):
        if c in JOIN_CODE:
            return JOIN_CODE[c]
    return JOIN_ROOT.get(code[:2], "")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "data", "plover",
                                                             "CAMEO2PLOVER-2021.txt")
    rows = {}
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^(\d{3,4}):[^#]*#\s*(.+?)\s*$", line)
        if not m:
            continue
        code, name = m.group(1), m.group(2)
        name = re.sub(r"\s*\(.*?\)", "", NAME_CODE.get(code, name))
        if code not in rows:
            phrase = past(name)
            rows[code] = (phrase, "" if "{T}" in phrase else join_of(code))
    print("/* Generated by scripts/gen_cameo_phrases.py from the CAMEO names of the PLOVER manual's")
    print(" * CAMEO2PLOVER-2021 table; do not edit. */")
    print('#include "alert/alert_int.h"\n')
    print("const struct nd_cameo_phrase nd_cameo_phrases[] = {")
    for code in sorted(rows):
        phrase, join = rows[code]
        print('    {"%s", "%s", "%s"},' % (code, phrase.replace('"', '\\"'), join))
    print("};")
    print("const size_t nd_ncameo_phrases = sizeof(nd_cameo_phrases) / sizeof(nd_cameo_phrases[0]);")
    return 0


if __name__ == "__main__":
    sys.exit(main())
