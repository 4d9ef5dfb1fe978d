/* events_parse: roles from the dependency parse (story's nd_doc, UD relations).
 *
 * The coder's tokens (events_lex) are the doc's UD tokens, a hyphenated compound's joined (st->etok
 * maps a doc token to the coder's). For a verb trigger the parse gives:
 *   - the source: its nsubj, or the agent of a passive (obl:agent, an obl with "by"); a verb
 *     without a subject of its own takes it from the verb it is coordinated with (conj), from its
 *     controller (xcomp: the object of "urged X to", else the subject of "agreed to"), or, in a
 *     relative clause or a participle (acl, acl:relcl), from the noun the clause modifies;
 *   - the target: its obj or iobj, else the first oblique complement that is no place or time
 *     ("called for talks on Sudan": the actor inside the complement's noun phrase);
 *   - negation (advmod not/never, n't) and conditions (an advcl marked if/unless) from the tree.
 * A relation's noun phrase is mapped to the coder's actor chunk inside it, its own words first,
 * then compounds and possessors, then nominal modifiers and conjuncts. */
#include "enrich/events_int.h"

#include <stdlib.h>
#include <string.h>

#include "enrich/doc.h"
#include "enrich/syntax.h"

static enum nd_deprel rel(const struct nd_doc *doc, int32_t d)
{
    return (enum nd_deprel)doc->toks[d].deprel;
}

/* A clause modifying a noun: a participle or infinitive (acl), a relative clause (acl:relcl). */
static int is_acl(enum nd_deprel r)
{
    return r == ND_DEP_ACL || r == ND_DEP_ACL_RELCL;
}

static int32_t head(const struct nd_doc *doc, int32_t d)
{
    int32_t h = doc->toks[d].head;
    return h >= 0 ? h : -1;
}

/* The first child of d with relation r (exact, with subtype), or -1. */
static int32_t child(const struct nd_doc *doc, int32_t d, enum nd_deprel r)
{
    const struct nd_doc_sent *s = &doc->sents[doc->toks[d].sent];
    for (uint32_t k = s->first; k < s->first + s->count; k++)
        if (doc->toks[k].head == d && doc->toks[k].deprel == r)
            return (int32_t)k;
    return -1;
}

static int key_eq(const struct nd_doc *doc, int32_t d, const char *w)
{
    return !strcmp(doc->toks[d].key, w);
}

/* A child of d whose key is w under relation r. */
static int has_word_child(const struct nd_doc *doc, int32_t d, enum nd_deprel r, const char *w)
{
    const struct nd_doc_sent *s = &doc->sents[doc->toks[d].sent];
    for (uint32_t k = s->first; k < s->first + s->count; k++)
        if (doc->toks[k].head == d && doc->toks[k].deprel == r && key_eq(doc, (int32_t)k, w))
            return 1;
    return 0;
}

/* A child of d under relation r whose word is in the model's word list wl (the class bits of the
 * coder's token holding it). */
static int has_listed_child(const struct story_state *st, int32_t d, enum nd_deprel r,
                            enum word_list wl)
{
    const struct nd_doc *doc = st->doc;
    const struct nd_doc_sent *s = &doc->sents[doc->toks[d].sent];
    for (uint32_t k = s->first; k < s->first + s->count; k++)
        if (doc->toks[k].head == d && doc->toks[k].deprel == r && st->etok[k] != UINT32_MAX &&
            has_class(&st->toks[st->etok[k]], wl))
            return 1;
    return 0;
}

/* The actor chunk of the noun phrase headed by d: d's own chunk, else one inside it reached
 * through compound, flat, possessor, appos, nominal modifier or conjunct relations (not through
 * clauses). Returns the span index, or -1. */
static int np_span(const struct story_state *st, const struct span *spans, size_t nspans, int32_t d,
                   int depth)
{
    static const enum nd_deprel inner[] = {ND_DEP_COMPOUND, ND_DEP_FLAT,      ND_DEP_NMOD_POSS,
                                           ND_DEP_APPOS,    ND_DEP_NMOD,      ND_DEP_CONJ,
                                           ND_DEP_AMOD,     ND_DEP_NMOD_DESC, ND_DEP_NONE};
    const struct nd_doc *doc = st->doc;
    uint32_t e = st->etok[d];
    if (e != UINT32_MAX) {
        int k = nd_ev_span_at(spans, nspans, e);
        if (k >= 0 && !spans[k].blocked && (spans[k].cc[0] || spans[k].pron))
            return k;
    }
    if (depth >= 3)
        return -1;
    for (size_t r = 0; inner[r] != ND_DEP_NONE; r++) {
        const struct nd_doc_sent *s = &doc->sents[doc->toks[d].sent];
        for (uint32_t c = s->first; c < s->first + s->count; c++) {
            int k;
            if (doc->toks[c].head != d || doc->toks[c].deprel != inner[r])
                continue;
            if ((k = np_span(st, spans, nspans, (int32_t)c, depth + 1)) >= 0)
                return k;
        }
    }
    return -1;
}

/* Prepositions of place and time: "met Xi in Beijing", "on Monday" name no one acted upon. */
static int place_case(const struct story_state *st, int32_t d)
{
    int32_t c = child(st->doc, d, ND_DEP_CASE);
    return c >= 0 && nd_ev_in_list(st->events, WL_OBLIQUE_PLACES, st->doc->toks[c].key);
}

static int is_relative_pronoun(const struct nd_doc *doc, int32_t d)
{
    return doc->toks[d].xpos == ND_XPOS_WDT || doc->toks[d].xpos == ND_XPOS_WP;
}

/* The subject of verb v: its own, else the one it shares (conj, xcomp, relative clause, acl).
 * *passive: the subject is that of a passive. Returns a doc token, or -1. */
static int32_t subject_of(const struct nd_doc *doc, int32_t v, int *passive, int depth)
{
    int32_t s = child(doc, v, ND_DEP_NSUBJ), h = head(doc, v);
    *passive = 0;
    if (s < 0 && (s = child(doc, v, ND_DEP_NSUBJ_PASS)) >= 0)
        *passive = 1;
    if (s >= 0 && is_relative_pronoun(doc, s) && h >= 0 &&
        (is_acl(rel(doc, v)) || rel(doc, v) == ND_DEP_CONJ))
        return h; /* "Russia, which has been attacking": the noun the clause is about */
    if (s >= 0 || h < 0 || depth > 4)
        return s;
    switch (rel(doc, v)) {
    case ND_DEP_CONJ: /* "called for talks and offered to host them" */
        return subject_of(doc, h, passive, depth + 1);
    case ND_DEP_XCOMP: { /* "urged Beijing to stop": the object; "agreed to meet": the subject */
        int32_t o = child(doc, h, ND_DEP_OBJ);
        if (o < 0)
            o = child(doc, h, ND_DEP_IOBJ);
        return o >= 0 ? o : subject_of(doc, h, passive, depth + 1);
    }
    case ND_DEP_ACL:
    case ND_DEP_ACL_RELCL: /* "the sanctions targeting banks", "the officials who met" */
        /* "The Azerbaijani parliament threatened on Monday to ...": a greedy parse often reads
         * wire copy's main verb after its subject as a participle of a root noun; a sentence
         * whose root is that noun has no other verb to be its predicate, so the verb is active.
         * So for a noun heading the clause a reporting verb takes ("Thousands of Iraqi Kurds
         * demonstrated ..., witnesses said"): a clause has a predicate */
        *passive = doc->toks[v].xpos == ND_XPOS_VBN &&
                   !((doc->toks[h].head == ND_DOC_HEAD_ROOT || rel(doc, h) == ND_DEP_CCOMP) &&
                     child(doc, v, ND_DEP_AUX) < 0);
        return h;
    default:
        return -1;
    }
}

/* An object that is the subject's own ("withdraw its troops"): a possessive pronoun in it. */
static int own_object(const struct nd_doc *doc, int32_t o)
{
    int32_t p = child(doc, o, ND_DEP_NMOD_POSS);
    return p >= 0 && doc->toks[p].xpos == ND_XPOS_PRPS;
}

#define MAX_OBJECTS 8

/* The complements of verb v that may name its target, best first: obj, iobj, the oblique
 * complements that are no place or time, then those of its xcomp ("promised to continue military
 * aid to Mozambique"), then the subject of its ccomp ("demanded that the DPRK forsake ..."). */
static size_t objects_of(const struct story_state *st, int32_t v, int32_t *out, size_t n, int depth)
{
    const struct nd_doc *doc = st->doc;
    const struct nd_doc_sent *s = &doc->sents[doc->toks[v].sent];
    int32_t o;
    for (int r = 0; r < 2; r++)
        if ((o = child(doc, v, r ? ND_DEP_IOBJ : ND_DEP_OBJ)) >= 0 && !own_object(doc, o) &&
            n < MAX_OBJECTS)
            out[n++] = o;
    for (uint32_t k = s->first; k < s->first + s->count && n < MAX_OBJECTS; k++)
        if (doc->toks[k].head == v && doc->toks[k].deprel == ND_DEP_OBL &&
            !place_case(st, (int32_t)k) && !has_word_child(doc, (int32_t)k, ND_DEP_CASE, "by"))
            out[n++] = (int32_t)k;
    if (depth < 2 && (o = child(doc, v, ND_DEP_XCOMP)) >= 0)
        n = objects_of(st, o, out, n, depth + 1);
    if ((o = child(doc, v, ND_DEP_CCOMP)) >= 0 && (o = child(doc, o, ND_DEP_NSUBJ)) >= 0 &&
        n < MAX_OBJECTS)
        out[n++] = o;
    return n;
}

/* All actors of g are of one country, the country of a's first. */
static int same_country_as(const struct group_ref *g, const struct group_ref *a)
{
    for (int k = 0; k < g->n; k++)
        if (!a->n || strcmp(g->a[k].cc, a->a[0].cc))
            return 0;
    return g->n > 0;
}

/* The target among the candidates: the first holding an actor of another country than the
 * source's ("Britain mobilized army reservists for a war against Iraq": not its own reservists),
 * else the first holding an actor. */
static void pick_target(const struct story_state *st, const struct span *spans, size_t nspans,
                        const int32_t *objs, size_t nobjs, const struct group_ref *pron,
                        const struct group_ref *src, struct group_ref *tgt)
{
    struct group_ref first = {.n = 0};
    for (size_t i = 0; i < nobjs; i++) {
        int k = np_span(st, spans, nspans, objs[i], 0);
        if (k < 0)
            continue;
        nd_ev_group_of(spans, nspans, (size_t)k, pron, tgt);
        if (!tgt->n)
            continue;
        if (!same_country_as(tgt, src))
            return;
        if (!first.n)
            first = *tgt;
    }
    *tgt = first;
}

/* The agent of a passive: obl:agent, or an obl with "by". */
static int32_t agent_of(const struct nd_doc *doc, int32_t v)
{
    int32_t a = child(doc, v, ND_DEP_OBL_AGENT);
    const struct nd_doc_sent *s = &doc->sents[doc->toks[v].sent];
    for (uint32_t k = s->first; a < 0 && k < s->first + s->count; k++)
        if (doc->toks[k].head == v && doc->toks[k].deprel == ND_DEP_OBL &&
            has_word_child(doc, (int32_t)k, ND_DEP_CASE, "by"))
            a = (int32_t)k;
    return a;
}

int32_t nd_ev_parse_verb(const struct story_state *st, size_t tok)
{
    uint32_t d;
    if (!st->parse || tok >= st->ntok)
        return -1;
    d = st->toks[tok].dtok + st->toks[tok].dn - 1u;
    return st->doc->sents[st->doc->toks[d].sent].parsed ? (int32_t)d : -1;
}

int nd_ev_parse_roles(const struct story_state *st, const struct span *spans, size_t nspans,
                      size_t tok, const struct group_ref *pron, struct group_ref *src,
                      struct group_ref *tgt, int *passive, int *has_object, int *thing_subject)
{
    const struct nd_doc *doc = st->doc;
    int32_t v = nd_ev_parse_verb(st, tok), s;
    int k, pass = 0;
    if (v < 0)
        return 0;
    *has_object = *thing_subject = 0;
    s = subject_of(doc, v, &pass, 0);
    if (child(doc, v, ND_DEP_AUX_PASS) >= 0)
        pass = 1;
    src->n = tgt->n = 0;
    if (pass) {
        int32_t a = agent_of(doc, v);
        if (a >= 0 && (k = np_span(st, spans, nspans, a, 0)) >= 0)
            nd_ev_group_of(spans, nspans, (size_t)k, pron, src);
        *has_object = s >= 0;
        if (s >= 0 && (k = np_span(st, spans, nspans, s, 0)) >= 0)
            nd_ev_group_of(spans, nspans, (size_t)k, pron, tgt);
    } else {
        if (s >= 0 && (k = np_span(st, spans, nspans, s, 0)) >= 0)
            nd_ev_group_of(spans, nspans, (size_t)k, pron, src);
        int32_t objs[MAX_OBJECTS];
        size_t nobjs = objects_of(st, v, objs, 0, 0);
        *has_object = nobjs > 0;
        pick_target(st, spans, nspans, objs, nobjs, pron, src, tgt);
    }
    /* "the measures would also hit firms": a subject that is a common noun and holds no actor is
     * a thing, and its act no actor's */
    *thing_subject = !pass && s >= 0 && !src->n &&
                     (doc->toks[s].upos == ND_UPOS_NOUN || doc->toks[s].upos == ND_UPOS_PROPN) &&
                     np_span(st, spans, nspans, s, 0) < 0;
    *passive = pass;
    return 1;
}

size_t nd_ev_parse_argument_of(const struct story_state *st, size_t b, size_t e, int *subject)
{
    const struct nd_doc *doc = st->doc;
    for (size_t t = b; t < e && t < st->ntok; t++) {
        int32_t d = nd_ev_parse_verb(st, t);
        for (int depth = 0; d >= 0 && depth < 4; depth++) {
            enum nd_deprel r = rel(doc, d);
            int32_t h = head(doc, d);
            if ((r == ND_DEP_NSUBJ || r == ND_DEP_NSUBJ_PASS || r == ND_DEP_OBJ ||
                 r == ND_DEP_IOBJ) &&
                h >= 0) {
                *subject = r == ND_DEP_NSUBJ || r == ND_DEP_NSUBJ_PASS;
                return st->etok[h] == UINT32_MAX ? SIZE_MAX : st->etok[h];
            }
            if (r != ND_DEP_AMOD && r != ND_DEP_COMPOUND && r != ND_DEP_FLAT &&
                r != ND_DEP_NMOD_DESC)
                break;
            d = h;
        }
    }
    return SIZE_MAX;
}

int nd_ev_parse_negated(const struct story_state *st, size_t tok)
{
    const struct nd_doc *doc = st->doc;
    int32_t v = nd_ev_parse_verb(st, tok);
    for (int depth = 0; v >= 0 && depth < 3; depth++) {
        if (has_listed_child(st, v, ND_DEP_ADVMOD, WL_NEGATORS))
            return 1;
        /* "did not agree to meet": the negation of the verb that governs the infinitive */
        if (rel(doc, v) != ND_DEP_XCOMP)
            break;
        v = head(doc, v);
    }
    return 0;
}

int nd_ev_parse_conditional(const struct story_state *st, size_t tok)
{
    const struct nd_doc *doc = st->doc;
    int32_t v = nd_ev_parse_verb(st, tok);
    for (int depth = 0; v >= 0 && depth < 4; depth++) {
        if (rel(doc, v) == ND_DEP_ADVCL && has_listed_child(st, v, ND_DEP_MARK, WL_CONDITIONALS))
            return 1;
        if (rel(doc, v) != ND_DEP_CONJ && rel(doc, v) != ND_DEP_XCOMP)
            break;
        v = head(doc, v);
    }
    return 0;
}

int nd_ev_parse_noun_agent(const struct story_state *st, const struct span *spans, size_t nspans,
                           size_t tok, const struct group_ref *pron, struct group_ref *src)
{
    const struct nd_doc *doc = st->doc;
    int32_t d = nd_ev_parse_verb(st, tok);
    if (d < 0)
        return -1;
    const struct nd_doc_sent *s = &doc->sents[doc->toks[d].sent];
    /* the participle follows its noun */
    for (uint32_t k = (uint32_t)d + 1; k < s->first + s->count; k++) {
        int32_t a;
        int sp;
        if (doc->toks[k].head != d || doc->toks[k].xpos != ND_XPOS_VBN ||
            !is_acl(rel(doc, (int32_t)k)) || (a = agent_of(doc, (int32_t)k)) < 0 ||
            (sp = np_span(st, spans, nspans, a, 0)) < 0)
            continue;
        if (src)
            nd_ev_group_of(spans, nspans, (size_t)sp, pron, src);
        return 1;
    }
    return 0;
}

int nd_ev_parse_possessor(const struct story_state *st, const struct span *spans, size_t nspans,
                          size_t tok, const struct group_ref *pron, struct group_ref *src)
{
    int32_t d = nd_ev_parse_verb(st, tok), c;
    int k;
    if (d < 0 || (c = child(st->doc, d, ND_DEP_NMOD_POSS)) < 0 ||
        (k = np_span(st, spans, nspans, c, 0)) < 0)
        return 0;
    nd_ev_group_of(spans, nspans, (size_t)k, pron, src);
    return src->n > 0;
}

int nd_ev_parse_object_names(const struct story_state *st, size_t verb, size_t noun)
{
    const struct nd_doc *doc = st->doc;
    int32_t v = nd_ev_parse_verb(st, verb), d = nd_ev_parse_verb(st, noun);
    /* the noun itself, or a noun inside it ("a new package of sanctions") */
    for (int depth = 0; d >= 0 && depth < 3; depth++) {
        int32_t h = head(doc, d);
        if (h == v)
            return rel(doc, d) == ND_DEP_OBJ;
        if (rel(doc, d) != ND_DEP_NMOD && rel(doc, d) != ND_DEP_COMPOUND)
            return 0;
        d = h;
    }
    return 0;
}

int nd_ev_parse_asked(const struct story_state *st, size_t tok)
{
    const struct nd_doc *doc = st->doc;
    int32_t v = nd_ev_parse_verb(st, tok), h;
    uint32_t e, idx;
    const struct nd_evtok *ht;
    if (v < 0 || rel(doc, v) != ND_DEP_XCOMP || (h = head(doc, v)) < 0 ||
        (e = st->etok[h]) == UINT32_MAX)
        return 0;
    ht = &st->toks[e];
    if (!nd_evmap_get_hashed(st->events->verb_forms, ht->key, ht->keylen, ht->hash, &idx))
        return 0;
    return !strncmp(st->events->verbs[idx].code, "02", 2) ||
           !strncmp(st->events->verbs[idx].code, "10", 2);
}

/* A to-infinitive modifying a common noun (acl marked "to"): "an effort to gather", "talks to ease
 * frictions". Returns the noun's doc token, or -1. */
static int32_t infinitive_of_noun(const struct nd_doc *doc, int32_t v)
{
    int32_t h;
    if (v < 0 || rel(doc, v) != ND_DEP_ACL || (h = head(doc, v)) < 0 ||
        doc->toks[h].upos != ND_UPOS_NOUN || !has_word_child(doc, v, ND_DEP_MARK, "to"))
        return -1;
    return h;
}

/* A noun of plan or intent ("plans", "offer", "readiness") before an infinitive. */
static int plan_noun(const struct story_state *st, int32_t d)
{
    const char *k = st->doc->toks[d].key;
    return nd_ev_in_list(st->events, WL_PLAN_WORDS, k) || nd_ev_in_list(st->events, WL_MODALS, k);
}

int nd_ev_parse_purpose(const struct story_state *st, size_t tok)
{
    int32_t h = infinitive_of_noun(st->doc, nd_ev_parse_verb(st, tok));
    return h >= 0 && !plan_noun(st, h);
}

int nd_ev_parse_depth(const struct story_state *st, size_t tok)
{
    const struct nd_doc *doc = st->doc;
    int32_t v = nd_ev_parse_verb(st, tok);
    int depth = 0;
    if (v < 0)
        return -1;
    for (int steps = 0; v >= 0 && steps < 16 && depth < 3; steps++) {
        enum nd_deprel r = nd_deprel_base(rel(doc, v));
        if (r == ND_DEP_ROOT)
            break;
        depth += r == ND_DEP_CCOMP || r == ND_DEP_XCOMP || r == ND_DEP_ADVCL || r == ND_DEP_ACL ||
                 r == ND_DEP_PARATAXIS || r == ND_DEP_CSUBJ;
        v = head(doc, v);
    }
    return depth;
}

int nd_ev_parse_planned(const struct story_state *st, size_t tok)
{
    const struct nd_doc *doc = st->doc;
    int32_t v = nd_ev_parse_verb(st, tok), h;
    /* "plans to visit China": the infinitive of a noun of plan */
    if ((h = infinitive_of_noun(doc, v)) >= 0 && plan_noun(st, h))
        return 1;
    for (int depth = 0; v >= 0 && depth < 3; depth++) {
        const struct nd_doc_sent *s = &doc->sents[doc->toks[v].sent];
        /* "will meet", "would visit": a modal auxiliary of the verb */
        for (uint32_t k = s->first; k < s->first + s->count; k++)
            if (doc->toks[k].head == v && doc->toks[k].deprel == ND_DEP_AUX &&
                nd_ev_in_list(st->events, WL_MODALS, doc->toks[k].key))
                return 1;
        /* "plans to visit", "is expected to meet": the infinitive of a verb of intent or plan */
        if (rel(doc, v) != ND_DEP_XCOMP || (v = head(doc, v)) < 0)
            break;
        if (nd_ev_in_list(st->events, WL_MODALS, doc->toks[v].key) ||
            nd_ev_in_list(st->events, WL_PLAN_WORDS, doc->toks[v].key))
            return 1;
    }
    return 0;
}
