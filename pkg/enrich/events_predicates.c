/* events_predicates: triggers and patterns. Verbs and eventive nouns of a sentence, the most
 * specific CAMEO pattern after a verb, and the word-order tests of a trigger (negation, plans,
 * passives, quotes, clauses). */
#include "enrich/events_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "a\x01b" into buf (size bufsz) without printf on the hot path. Returns the length, 0 if too long.
 */
static size_t join2(char *buf, size_t bufsz, const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen + blen + 2 > bufsz)
        return 0;
    memcpy(buf, a, alen);
    buf[alen] = '\x01';
    memcpy(buf + alen + 1, b, blen);
    buf[alen + 1 + blen] = '\0';
    return alen + 1 + blen;
}

size_t nd_ev_clause_start(const struct nd_evtok *toks, size_t s0, size_t i)
{
    for (size_t p = i; p-- > s0;)
        if (has_class(&toks[p], WL_CLAUSE_STOPS))
            return p + 1;
    return s0;
}

size_t nd_ev_clause_end(const struct nd_evtok *toks, size_t i, size_t s1)
{
    for (size_t p = i; p < s1; p++)
        if (has_class(&toks[p], WL_CLAUSE_STOPS) || key_is(&toks[p], "."))
            return p;
    return s1;
}

static int is_time_word(const struct nd_evtok *tok)
{
    return has_class(tok, WL_DAYS) || has_class(tok, WL_TIME_WORDS);
}

/* Most specific pattern of a verb in the tokens after it: returns its code, or NULL. */
const char *nd_ev_match_patterns(const struct nd_events *events, const char *lemma,
                                 const struct nd_evtok *toks, size_t from, size_t limit,
                                 size_t *nmatched)
{
    char key[ND_EVTOK_KEYMAX * 2 + 64];
    const char *best = NULL;
    size_t best_n = 0, lemma_len = strlen(lemma);
    long best_score = 0;
    size_t adjacent = from; /* the token right after the verb, past a day ("called Thursday on") */
    while (adjacent < limit && adjacent < from + 2 && is_time_word(&toks[adjacent]))
        adjacent++;
    for (size_t t = from; t < limit; t++) {
        uint32_t head;
        size_t n;
        if (t > from + 8)
            break; /* a pattern must start near its verb: words far off belong to other clauses */
        if (!(toks[t].cls & (PATTERN_START | PATTERN_PLURAL)))
            continue;
        n = 0;
        if (toks[t].cls & PATTERN_START)
            n = join2(key, sizeof(key), lemma, lemma_len, toks[t].key, toks[t].keylen);
        if (!n || !nd_evmap_get(events->pat_index, key, n, &head)) {
            /* a plural: "borders" -> "border", "boxes" -> "box", "parties" -> "party" */
            char sing[ND_EVTOK_KEYMAX + 2];
            size_t kl = toks[t].keylen;
            int found = 0;
            if (!(toks[t].cls & PATTERN_PLURAL) || kl < 4)
                continue;
            for (int form = 0; form < 3 && !found; form++) {
                size_t sl = form == 0 ? kl - 1 : form == 1 ? kl - 2 : kl - 3;
                memcpy(sing, toks[t].key, sl);
                if (form == 2)
                    sing[sl++] = 'y';
                n = join2(key, sizeof(key), lemma, lemma_len, sing, sl);
                found = n && nd_evmap_get(events->pat_index, key, n, &head);
            }
            if (!found)
                continue;
        }
        for (uint32_t l = head; l != UINT32_MAX; l = events->links[l].next) {
            const struct pattern *pat = &events->patterns[events->links[l].pattern];
            size_t w = 1, q = t + 1;
            /* more words win, and a pattern starting right after the verb beats one far away */
            long score = (long)pat->nwords * 4 - (long)(t - from);
            /* a particle right after the verb makes a phrasal verb whose sense it changes ("called
             * on" is an appeal, "rallied against" a protest): such one-preposition patterns of
             * appeals and protests are kept; other bare prepositions need a parse */
            int phrasal = t == adjacent && pat->nwords == 1 &&
                          (!strncmp(pat->code, "02", 2) || !strncmp(pat->code, "14", 2));
            if ((!pat->content && !phrasal) || (best && score <= best_score))
                continue; /* vague, or cannot beat the best so far */
            while (w < pat->nwords && q < limit) {
                const char *word = events->words[pat->words + w];
                int ok;
                if (word[0] == '&') {
                    uint32_t dummy;
                    size_t kn =
                        join2(key, sizeof(key), word, strlen(word), toks[q].key, toks[q].keylen);
                    ok = kn && nd_evmap_get(events->syn_members, key, kn, &dummy);
                } else {
                    ok = nd_ev_word_or_plural(word, toks[q].key, toks[q].keylen);
                }
                if (ok)
                    w++;
                q++;
            }
            if (w == pat->nwords && (!best || score > best_score)) {
                best = pat->code;
                best_n = pat->nwords;
                best_score = score;
            }
        }
    }
    *nmatched = best_n;
    return best;
}
/* Intent to do X is CAMEO 03x (PLOVER AGREE): "willing to withdraw", "a call was being planned". */
const char *nd_ev_intent_code(const char *code)
{
    if (!strncmp(code, "04", 2))
        return "036";
    if (!strncmp(code, "05", 2))
        return "032";
    if (!strncmp(code, "06", 2))
        return "031";
    if (!strncmp(code, "07", 2))
        return "033";
    if (!strncmp(code, "08", 2))
        return "035";
    return NULL;
}

/* Quoted segment [qb, qe) of tokens containing token i, if any. */
int nd_ev_quote_around(const struct nd_evtok *toks, size_t s0, size_t s1, size_t i, size_t *qb,
                       size_t *qe)
{
    size_t open = SIZE_MAX;
    for (size_t p = s0; p < s1; p++) {
        if (!(toks[p].flags & ND_EVTOK_QUOTE))
            continue;
        if (open == SIZE_MAX) {
            open = p;
        } else {
            if (i > open && i < p) {
                *qb = open + 1;
                *qe = p;
                return 1;
            }
            open = SIZE_MAX;
        }
    }
    if (open != SIZE_MAX && i > open) { /* a quote running to the end of the sentence */
        *qb = open + 1;
        *qe = s1;
        return 1;
    }
    return 0;
}

int nd_ev_negated(const struct nd_evtok *toks, size_t s0, size_t i, int lexical_only)
{
    for (size_t p = i, k = 0; p-- > s0 && k < 4; k++) {
        const char *key = toks[p].key;
        size_t len = toks[p].keylen;
        if (!lexical_only &&
            (has_class(&toks[p], WL_NEGATORS) || (len > 3 && !strcmp(key + len - 3, "n't"))))
            return 1;
        if (key_is(&toks[p], "to") && p > s0 && has_class(&toks[p - 1], WL_REFUSALS))
            return 1;
        if (has_class(&toks[p], WL_CLAUSE_STOPS) || key_is(&toks[p], ","))
            break;
    }
    return 0;
}

int nd_ev_is_planned(const struct nd_evtok *toks, size_t s0, size_t s1, size_t i, int nominal)
{
    for (size_t p = i, k = 0; p-- > s0 && k < 4; k++) {
        if (has_class(&toks[p], WL_MODALS))
            return 1;
        if (has_class(&toks[p], WL_CLAUSE_STOPS) || key_is(&toks[p], ","))
            break;
    }
    if (nominal ==
        'm') /* "a call ... was being planned", "a planned call": anywhere in the sentence */
        for (size_t p = s0; p < s1; p++)
            if (has_class(&toks[p], WL_PLAN_WORDS))
                return 1;
    if (nominal)
        for (size_t p = i > s0 + 6 ? i - 6 : s0; p < s1 && p < i + 6; p++)
            if (has_class(&toks[p], WL_PLAN_WORDS))
                return 1;
    return 0;
}

int nd_ev_is_passive(const struct nd_evtok *toks, size_t s0, size_t s1, size_t i)
{
    const char *k = toks[i].key;
    size_t len = toks[i].keylen;
    if (len < 3 || !(!strcmp(k + len - 2, "ed") || !strcmp(k + len - 2, "en") ||
                     has_class(&toks[i], WL_PARTICIPLES)))
        return 0;
    /* a participle right before its agent: "the meeting chaired by Wang" */
    if (i + 1 < s1 && key_is(&toks[i + 1], "by"))
        return 1;
    for (size_t p = i, n = 0; p-- > s0 && n < 3; n++) {
        if (has_class(&toks[p], WL_BE_FORMS))
            return 1;
        size_t pl = toks[p].keylen;
        if (!(pl > 2 && !strcmp(toks[p].key + pl - 2, "ly")))
            return 0;
    }
    return 0;
}

/* No tagger: a dictionary verb is read as a verb when what precedes it lets it be one (a subject,
 * an auxiliary, an adverb), or when it is a past form not right after a determiner or a
 * preposition. This keeps nouns such as "talks", "arms", "trade", "issues" from coding events. */
static int verb_position(const struct nd_events *events, const struct nd_evtok *toks,
                         const struct span *spans, size_t nspans, size_t s0, size_t i,
                         const char *lemma)
{
    const struct nd_evtok *prev, *word = &toks[i];
    size_t len = toks[i].keylen;
    /* a quote mark stands outside the grammar: in 'was "pressing Iran' the verb follows "was" */
    while (i > s0 + 1 && (toks[i - 1].flags & ND_EVTOK_QUOTE))
        i--;
    if (i == s0)
        return 0;
    prev = &toks[i - 1];
    if (has_class(prev, WL_DETS) || (has_class(prev, WL_PREPS) && !key_is(prev, "to")))
        return 0;
    if (key_is(prev, "and")) {
        /* "urged X and denounced Y", not "ties and arms" */
        return (len > 3 && !strcmp(word->key + len - 2, "ed")) ||
               (strcmp(word->key, lemma) && word->key[len - 1] != 's' &&
                !(len > 4 && !strcmp(word->key + len - 3, "ing")));
    }
    int k = nd_ev_span_at(spans, nspans, i - 1);
    if (k >= 0 && spans[k].b > s0 && has_class(&toks[spans[k].b - 1], WL_DETS) &&
        !key_is(&toks[spans[k].b - 1], "the") && !spans[k].sector[0])
        return 0; /* "a key U.S. ally": a noun after a modifier (not after a head noun such as
                   * "a Syrian newspaper called") */
    /* "sanctions against Russia targeting firms": a participle after the object of a
     * preposition describes the noun phrase; it is no act of that object */
    if (k >= 0 && spans[k].prep && len > 4 && !strcmp(word->key + len - 3, "ing"))
        return 0;
    if (k >= 0 || has_class(prev, WL_AUXILIARIES) || (nd_ev_cap_word(prev) && i - 1 > s0))
        return 1;
    /* "resume shelling", "continue fighting": the act an aspectual verb goes on with */
    if (has_class(prev, WL_ASPECTUALS) && len > 4 && !strcmp(word->key + len - 3, "ing"))
        return 1;
    if (prev->keylen > 3 && !strcmp(prev->key + prev->keylen - 2, "ly"))
        return 1;
    if (len > 3 && !strcmp(word->key + len - 2, "ed"))
        return 1;
    /* "a declaration demanding that": a participle after a noun */
    if (len > 4 && !strcmp(word->key + len - 3, "ing") && (prev->flags & ND_EVTOK_WORD) &&
        !nd_ev_cap_word(prev) &&
        !nd_evmap_get_hashed(events->verb_forms, prev->key, prev->keylen, prev->hash,
                             &(uint32_t){0}))
        return 1;
    /* "On Friday pressed", "this week said": a time phrase before the verb */
    if (nd_ev_cap_word(prev) && has_class(prev, WL_DAYS))
        return 1;
    return 0;
}
/* Modal words that are events themselves: a promise or an offer is an agreement (CAMEO 03). */
static int is_commitment(const struct nd_evtok *tok)
{
    return has_class(tok, WL_COMMITMENTS);
}

/* The triggers of one sentence being found. */
struct finder {
    struct story_state *st;
    size_t s0, s1;
    const struct span *spans;
    size_t nspans;
    struct trigger *trig;
    size_t n;
    struct group_ref *speaker;
    size_t *speech_at;
};

static struct trigger *new_trigger(struct finder *f, size_t b, size_t e)
{
    struct trigger *tr = &f->trig[f->n++];
    memset(tr, 0, sizeof(*tr));
    tr->b = b;
    tr->e = e;
    return tr;
}

/* The meeting noun at token i as the nominal trigger "<noun><prep>" codes it (prep with its
 * leading space, " between"), role 'p' or 'o'; NULL when the model has no such trigger. */
static struct trigger *noun_trigger(struct finder *f, size_t i, const char *prep, char role)
{
    const struct nd_events *events = f->st->events;
    const struct nd_evtok *toks = f->st->toks;
    char key[ND_EVTOK_KEYMAX + 16];
    size_t n = toks[i].keylen, pl = strlen(prep);
    uint32_t v;
    memcpy(key, toks[i].key, n);
    memcpy(key + n, prep, pl);
    n += pl;
    if (!nd_evmap_get(events->nominal_map, key, n, &v))
        return NULL;
    struct trigger *tr = new_trigger(f, i, i + 1);
    copy_code(tr->code, events->nominals[v].code, sizeof(tr->code));
    tr->nominal = role;
    return tr;
}

/* "a call was being planned soon between Xi and Biden": a meeting noun and its "between" apart.
 * Returns 1 when it made a trigger at token i. */
static int pair_trigger(struct finder *f, size_t i)
{
    const struct nd_evtok *toks = f->st->toks;
    for (size_t p = i + 1; p < f->s1 && p < i + 7; p++) {
        if (has_class(&toks[p], WL_CLAUSE_STOPS) || key_is(&toks[p], ","))
            return 0;
        if (!key_is(&toks[p], "between"))
            continue;
        struct trigger *tr = noun_trigger(f, i, " between", 'p');
        if (tr)
            tr->pair_at = p + 1;
        return tr != NULL;
    }
    return 0;
}

/* "the meeting chaired by Wang and Amorim": a meeting noun whose participle names its agent (the
 * parse) is the agent's meeting, coded as "<noun> with" is; the agent is its source
 * (nd_ev_parse_noun_agent). Returns 1 when it made a trigger at token i. */
static int agent_meeting_trigger(struct finder *f, size_t i)
{
    struct trigger *tr;
    if (nd_ev_parse_noun_agent(f->st, f->spans, f->nspans, i, NULL, NULL) <= 0 ||
        !(tr = noun_trigger(f, i, " with", 'o')))
        return 0;
    tr->agent_noun = 1;
    return 1;
}

/* A speech verb at [i, i + len): its subject (or the name after it) is the sentence's speaker. */
static void note_speaker(struct finder *f, size_t i, size_t len)
{
    const struct nd_evtok *toks = f->st->toks;
    int k = nd_ev_subject_before(f->spans, f->nspans, nd_ev_clause_start(toks, f->s0, i), i, 1);
    struct group_ref g;
    if (k < 0)
        k = nd_ev_object_after(toks, f->spans, f->nspans, i + len,
                               i + len + 4 < f->s1 ? i + len + 4 : f->s1, 0);
    if (k < 0)
        return;
    nd_ev_group_of(f->spans, f->nspans, (size_t)k, nd_ev_pronoun_ref(f->st, f->speaker), &g);
    if (g.n) {
        *f->speaker = g;
        *f->speech_at = i;
    }
}

/* A dictionary verb at token i: a trigger with its most specific pattern's code, a weak trigger
 * where a noun could be, the speaker of a speech verb, or nothing for a marker of plans ("was
 * being planned"). Returns the tokens the verb takes, 0 when there is no verb at i. */
static size_t verb_trigger(struct finder *f, size_t i)
{
    const struct nd_events *events = f->st->events;
    const struct nd_evtok *toks = f->st->toks;
    size_t len, nm = 0;
    uint32_t v;
    const struct verb *verb;
    const char *code;
    if (!(len = match_phrase(f->st, events->verb_forms, 'V', i, f->s1, &v)))
        return 0;
    verb = &events->verbs[v];
    if (!verb_position(events, toks, f->spans, f->nspans, f->s0, i, verb->lemma)) {
        if (!verb->speech && !verb->plan &&
            !has_class(&toks[i], WL_MODALS))
            new_trigger(f, i, i + len)->weak = verb;
        return len;
    }
    code = nd_ev_match_patterns(events, verb->lemma, toks, i + len,
                                i + len + PATTERN_WINDOW < f->s1 ? i + len + PATTERN_WINDOW : f->s1,
                                &nm);
    /* CAMEO 01/02 (comments, appeals) are not PLOVER events. A verb that is an event by itself
     * ("demand") keeps its own code for an appeal pattern; a verb of meeting or intent ("call")
     * read as an appeal ("called on", "called for") is the appeal; a comment pattern ("issued a
     * statement") is no event, whatever the verb's default */
    if (!code || (!strncmp(code, "02", 2) && strcmp(verb->code, "---") &&
                  strncmp(verb->code, "03", 2) && strncmp(verb->code, "04", 2))) {
        code = verb->code;
        nm = 0;
    }
    if (verb->speech) {
        note_speaker(f, i, len);
        return len;
    }
    /* "was being planned", "are expected to meet": markers of what follows, no events */
    if (verb->plan ||
        (has_class(&toks[i], WL_MODALS) && !is_commitment(&toks[i])))
        return len;
    if (strcmp(code, "---") && strncmp(code, "01", 2)) {
        struct trigger *tr = new_trigger(f, i, i + len);
        copy_code(tr->code, code, sizeof(tr->code));
        tr->pattern = (int)nm;
        tr->appeal = !strncmp(code, "02", 2);
        tr->command = verb->command;
    }
    return len;
}

size_t nd_ev_find_triggers(struct story_state *st, size_t s0, size_t s1, const struct span *spans,
                           size_t nspans, struct trigger *trig, size_t max,
                           struct group_ref *speaker, size_t *speech_at)
{
    const struct nd_events *events = st->events;
    const struct nd_evtok *toks = st->toks;
    struct finder f = {st, s0, s1, spans, nspans, trig, 0, speaker, speech_at};
    size_t sk = 0; /* spans are in text order: sk follows i */

    for (size_t i = s0; i < s1 && f.n < max;) {
        uint32_t v;
        size_t len;
        while (sk < nspans && spans[sk].e <= i)
            sk++;
        if (!(toks[i].flags & ND_EVTOK_WORD) || (sk < nspans && spans[sk].b <= i)) {
            i++;
            continue;
        }
        if ((len = match_phrase(st, events->nominal_map, 'N', i, s1, &v))) {
            struct trigger *tr = new_trigger(&f, i, i + len);
            copy_code(tr->code, events->nominals[v].code, sizeof(tr->code));
            tr->nominal = events->nominals[v].role;
            i += len;
            continue;
        }
        if (has_class(&toks[i], WL_MEETING_NOUNS) &&
            (pair_trigger(&f, i) || agent_meeting_trigger(&f, i))) {
            i++;
            continue;
        }
        len = verb_trigger(&f, i);
        i += len ? len : 1;
    }
    return f.n;
}

/* Peacekeepers named just before a verb, in its clause ("Bangladeshi peacekeeping troops
 * arrived"). */
int nd_ev_peacekeepers_before(const struct nd_evtok *toks, size_t cb, size_t b)
{
    for (size_t p = b > cb + 6 ? b - 6 : cb; p < b; p++)
        if (has_class(&toks[p], WL_PEACEKEEPING))
            return 1;
    return 0;
}

/* A military exercise named after a verb, in its clause ("launched 10 days of war games"). */
int nd_ev_exercise_near(const struct nd_evtok *toks, size_t from, size_t ce)
{
    for (size_t p = from; p < ce && p < from + 8; p++)
        if (has_class(&toks[p], WL_EXERCISES))
            return 1;
    return 0;
}

/* The threat code for the event of an infinitive right after trigger t ("sworn to fight"), when
 * that event is harm (CAMEO 15 to 20); NULL otherwise. */
const char *nd_ev_harmful_complement(const struct nd_evtok *toks, const struct trigger *trig,
                                     size_t ntrig, size_t t, size_t ce)
{
    for (size_t u = t + 1; u < ntrig; u++) {
        const struct trigger *c = &trig[u];
        if (c->b >= ce || c->b > trig[t].e + 5)
            break;
        /* "to fight", and through an aspectual verb "to resume shelling" */
        size_t to = c->b - 1;
        if (to > trig[t].e && has_class(&toks[to], WL_ASPECTUALS))
            to--;
        if (c->nominal || c->weak || !key_is(&toks[to], "to"))
            continue;
        if (!strncmp(c->code, "18", 2) || !strncmp(c->code, "19", 2) || !strncmp(c->code, "20", 2))
            return "138";
        if (!strncmp(c->code, "16", 2))
            return "131";
        if (!strncmp(c->code, "15", 2) || !strncmp(c->code, "17", 2))
            return "130";
        return NULL;
    }
    return NULL;
}
