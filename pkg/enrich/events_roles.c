/* events_roles: role assignment. For each trigger of a sentence, its source and target from word
 * order, prepositions, passives, possessives and reported speech; negation, plans and threats
 * change the code. nd_ev_code_sentence runs the steps below in order; each step that can drop a
 * trigger returns 0 for "no event". */
#include "enrich/events_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRIGGERS 64

/* One sentence being coded. */
struct sentence {
    struct story_state *st;
    const struct nd_evtok *toks;
    size_t s0, s1;
    struct span spans[MAX_SPANS];
    size_t nspans;
    struct trigger trig[MAX_TRIGGERS];
    size_t ntrig;
    struct group_ref srcs[MAX_TRIGGERS], tgts[MAX_TRIGGERS];
    struct group_ref speaker, subject;
    size_t speech_at;
    int relaxed; /* the second, relaxed pass (see nd_ev_code_sentence) */
};

/* One trigger's roles and code while they are worked out. */
struct role {
    size_t t;
    struct trigger *tr;
    struct group_ref *src; /* the sentence's srcs[t] */
    struct group_ref tgt;
    const char *code;
    const struct group_ref *pron; /* what a pronoun stands for */
    size_t cb, ce;                /* the trigger's clause */
    size_t qb, qe;                /* its quote, if any */
    size_t tgt_from;              /* where its object may start */
    size_t barrier;               /* its subject lies after this (past earlier verbs' objects) */
    int prev_verb;                /* the last coded verb of the clause before it, or -1 */
    int planned, neg, meeting, passive, src_fallback, tgt_implied;
    int agent;         /* a passive's source is its agent, named ("chaired by Wang") */
    int parsed;        /* the trigger's sentence was parsed: roles come from the parse */
    int thing_subject; /* the parse's subject is a noun that is no actor ("the measures") */
};

/* A title or body with no country ("President Bouteflicka", "the rebels") belongs, in wire copy,
 * to the country the sentence is about: the nearest country before it, else after it, else the
 * previous sentence's subject. */
static void assign_agent_countries(struct sentence *s)
{
    for (size_t k = 0; k < s->nspans; k++) {
        struct span *sp = &s->spans[k];
        const char *cc = NULL;
        if (sp->cc[0] || sp->pron || sp->blocked || !sp->sector[0])
            continue;
        for (size_t q = k; q-- > 0 && !cc;)
            if (s->spans[q].cc[0] && !nd_ev_is_body_code(s->spans[q].cc))
                cc = s->spans[q].cc;
        for (size_t q = k + 1; q < s->nspans && !cc; q++)
            if (s->spans[q].cc[0] && !nd_ev_is_body_code(s->spans[q].cc))
                cc = s->spans[q].cc;
        if (!cc && s->st->last_subject.n)
            cc = s->st->last_subject.a[0].cc;
        if (cc) {
            memcpy(sp->cc, cc, sizeof(sp->cc));
            sp->inherited = 1;
        }
    }
}

/* The sentence's grammatical subject: first group outside a prepositional phrase. */
static void find_subject(struct sentence *s)
{
    for (size_t k = 0; k < s->nspans && !s->subject.n; k++) {
        if (s->spans[k].blocked || s->spans[k].prep || s->spans[k].possessive)
            continue;
        nd_ev_group_of(s->spans, s->nspans, k, nd_ev_pronoun_ref(s->st, &s->speaker), &s->subject);
    }
}

/* A weak trigger (a dictionary verb where a noun could be) is coded only in the relaxed pass, with
 * its pattern's code or its own. */
static int prepare_weak(struct sentence *s, struct role *r)
{
    struct trigger *tr = r->tr;
    size_t nm = 0;
    const char *code;
    if (!tr->weak)
        return 1;
    if (!s->relaxed)
        return 0;
    code =
        nd_ev_match_patterns(s->st->events, tr->weak->lemma, s->toks, tr->e,
                             tr->e + PATTERN_WINDOW < s->s1 ? tr->e + PATTERN_WINDOW : s->s1, &nm);
    if (!code ||
        ((!strncmp(code, "01", 2) || !strncmp(code, "02", 2)) && strcmp(tr->weak->code, "---"))) {
        code = tr->weak->code;
        nm = 0;
    }
    if (!strcmp(code, "---") || !strncmp(code, "01", 2) || !strncmp(code, "02", 2))
        return 0;
    copy_code(tr->code, code, sizeof(tr->code));
    tr->pattern = (int)nm;
    r->code = tr->code;
    return 1;
}

/* An appeal (CAMEO 02) is no event itself: "urged the EC to support the PLO" codes its complement,
 * the first verb after "to" in the clause, as rallying support on behalf of Y (053) or, urging
 * action against Y, rallying opposition against Y (113). The complement is marked so it is not
 * coded as the subject's own act. */
static int resolve_appeal(struct sentence *s, struct role *r)
{
    const struct nd_evtok *toks = s->toks;
    struct trigger *tr = r->tr, *trig = s->trig;
    int comp = -1;
    if (tr->appealed) {
        tr->governed = 1;
        return 0;
    }
    if (!tr->appeal)
        return 1;
    for (size_t u = r->t + 1; u < s->ntrig && comp < 0; u++) {
        if (trig[u].b >= r->ce || trig[u].b > tr->e + 8)
            break;
        if (!trig[u].nominal && !trig[u].weak && trig[u].b > tr->e &&
            key_is(&toks[trig[u].b - 1], "to"))
            comp = (int)u;
    }
    if (comp < 0)
        return 0;
    trig[comp].appealed = 1;
    r->code = NULL;
    if (!strncmp(trig[comp].code, "05", 2) || !strncmp(trig[comp].code, "06", 2) ||
        !strncmp(trig[comp].code, "07", 2)) {
        r->code = "053";
        r->tgt_from = trig[comp].e;
    } else {
        for (size_t p = trig[comp].b; p + 1 < r->ce && !r->code; p++)
            if (key_is(&toks[p], "against")) {
                r->code = "113";
                r->tgt_from = p + 1;
            }
    }
    return r->code != NULL;
}

/* "agreed a new package of sanctions against Russia": a verb of agreement whose object is an
 * event noun says that the noun's event was decided; the noun codes it (as "sanctions against",
 * CAMEO 163), the verb is no agreement with its target. "Putin ordered missile strikes on Kyiv":
 * a verb of command whose object is an event noun is that event, carried out on the one's order
 * who gave it, not a demand (CAMEO 10) of anyone. Returns 0 for such a verb, whose source the
 * noun takes (find_barrier, assign_source). */
static int not_light_verb(struct sentence *s, struct role *r)
{
    if (!r->parsed || (strncmp(r->code, "03", 2) && !r->tr->command))
        return 1;
    for (size_t u = 0; u < s->ntrig; u++)
        if (u != r->t && s->trig[u].nominal && !s->trig[u].weak &&
            nd_ev_parse_object_names(s->st, r->tr->b, s->trig[u].b)) {
            struct group_ref tgt;
            int passive = 0, has_object = 0, thing = 0;
            nd_ev_parse_roles(s->st, s->spans, s->nspans, r->tr->b, r->pron, r->src, &tgt,
                              &passive, &has_object, &thing);
            if (passive)
                r->src->n = 0;
            r->tr->light = 1;
            return 0;
        }
    return 1;
}

/* "will not accept", "did not agree": refusing cooperation is a rejection (CAMEO 12, set by
 * apply_modality); "did not condemn" is no event. */
static int apply_negation(struct sentence *s, struct role *r)
{
    /* with a parse, a negator counts only when it attaches to the verb ("not only ... but" does
     * not); refusals ("declined to") are words, not syntax */
    r->neg = r->parsed ? nd_ev_parse_negated(s->st, r->tr->b) ||
                             nd_ev_negated(s->toks, s->s0, r->tr->b, 1)
                       : nd_ev_negated(s->toks, s->s0, r->tr->b, 0);
    return !(r->neg && (strncmp(r->code, "03", 2) < 0 || strncmp(r->code, "08", 2) > 0));
}

/* The tokens [from, to) are a verb's object: actor chunks, with the commas, quote marks,
 * ellipses and conjunctions between them ("pressing Iran, North Korea and China ... to stop"). */
static int object_between(const struct sentence *s, size_t from, size_t to)
{
    for (size_t p = from; p < to; p++)
        if (nd_ev_span_at(s->spans, s->nspans, p) < 0 && (s->toks[p].flags & ND_EVTOK_WORD) &&
            !key_is(&s->toks[p], "and") && !key_is(&s->toks[p], "or"))
            return 0;
    return 1;
}

/* "agreed to set up", "urged the U.S. to remove": an infinitive after a verb of the same clause is
 * that verb's complement, coded by it. Returns 0 for such a complement. */
static int not_governed(struct sentence *s, struct role *r)
{
    struct trigger *tr = r->tr;
    int governed = 0;
    size_t to; /* its "to", before an aspectual verb: "prepared to resume shelling" */
    if (tr->nominal || tr->b <= s->s0)
        return 1;
    to = tr->b - 1;
    if (to > s->s0 && has_class(&s->toks[to], WL_ASPECTUALS))
        to--;
    if (!key_is(&s->toks[to], "to"))
        return 1;
    /* "agreed to keep channels open and to hold talks": an infinitive coordinated with the
     * infinitive a verb governs is governed by it too */
    int coordinated = to >= s->s0 + 1 && (key_is(&s->toks[to - 1], "and") ||
                                          key_is(&s->toks[to - 1], "or"));
    for (size_t q = 0; q < r->t && !governed; q++)
        governed = !s->trig[q].weak && s->trig[q].e <= tr->b && s->trig[q].b >= r->cb &&
                   (s->trig[q].e + 5 >= tr->b || object_between(s, s->trig[q].e, to) ||
                    (coordinated && s->trig[q].e + 16 >= tr->b && s->trig[q].e < s->s1 &&
                     key_is(&s->toks[s->trig[q].e], "to")));
    if (governed)
        tr->governed = 1;
    return !governed;
}

/* The clause's earlier verbs: "X urged Y ... and denounced Z": Y is the first verb's object, not
 * this one's subject. A clause after the speech verb starts after it. */
static void find_barrier(struct sentence *s, struct role *r)
{
    const struct trigger *tr = r->tr;
    if (s->speech_at != SIZE_MAX && s->speech_at < tr->b && r->cb <= s->speech_at)
        r->cb = s->speech_at + 1;
    r->barrier = r->cb;
    r->prev_verb = -1;
    for (size_t q = 0; q < r->t; q++)
        if (!s->trig[q].nominal && s->trig[q].e <= tr->b && s->trig[q].e >= r->cb &&
            (!s->trig[q].dropped || s->trig[q].governed || s->trig[q].light)) {
            r->barrier = s->trig[q].e;
            if (!s->trig[q].dropped || (s->trig[q].light && s->srcs[q].n))
                r->prev_verb = (int)q;
        }
}

/* "a call between Xi and Biden": the pair, first as source. */
static void assign_pair(struct sentence *s, struct role *r)
{
    const struct trigger *tr = r->tr;
    int k = nd_ev_object_after(s->toks, s->spans, s->nspans, tr->pair_at ? tr->pair_at : tr->e,
                               r->ce, 1);
    struct group_ref g;
    if (k < 0)
        return;
    nd_ev_group_of(s->spans, s->nspans, (size_t)k, r->pron, &g);
    if (g.n >= 2) {
        r->src->n = 1;
        r->src->a[0] = g.a[0];
        r->tgt.n = g.n - 1;
        memcpy(r->tgt.a, g.a + 1, sizeof(g.a[0]) * (size_t)(g.n - 1));
    } else {
        r->tgt = g;
    }
}

/* "the meeting chaired by Wang and Amorim": the agent after "by" is the source and the subject
 * the target; with no agent named ("was arrested in Lebanon"), the act is the authorities' of the
 * place where it happens. */
static void assign_passive(struct sentence *s, struct role *r)
{
    const struct trigger *tr = r->tr;
    int k;
    r->passive = 1;
    for (size_t p = tr->e; p < r->ce && p < tr->e + 3; p++)
        if (key_is(&s->toks[p], "by")) {
            k = nd_ev_object_after(s->toks, s->spans, s->nspans, p + 1, r->ce, 0);
            if (k >= 0)
                nd_ev_group_of(s->spans, s->nspans, (size_t)k, r->pron, r->src);
            break;
        }
    r->agent = r->src->n > 0;
    k = nd_ev_subject_before(s->spans, s->nspans, r->barrier, tr->b, 0);
    if (k >= 0)
        nd_ev_group_of(s->spans, s->nspans, (size_t)k, r->pron, &r->tgt);
    for (size_t q = 0; q < s->nspans && !r->src->n; q++) {
        const struct span *sp = &s->spans[q];
        if (sp->b < tr->e || sp->b >= r->ce || sp->blocked || !sp->cc[0] || !sp->prep ||
            strcmp(sp->prep, "in") || nd_ev_is_body_code(sp->cc))
            continue;
        nd_ev_group_of(s->spans, s->nspans, q, r->pron, r->src);
        if (nd_ev_same_group(r->src, &r->tgt))
            r->src->n = 0;
    }
}

/* The source of an active verb or a noun: a noun's possessor ("Zelenskiy's dismissal of"), the
 * previous verb's source for a noun ("will visit Germany for talks with Merz"), the subject before
 * the trigger, else the previous verb's source. */
static void assign_source(struct sentence *s, struct role *r)
{
    const struct trigger *tr = r->tr;
    int k;
    if (tr->agent_noun)
        nd_ev_parse_noun_agent(s->st, s->spans, s->nspans, tr->b, r->pron, r->src);
    if (!r->src->n && tr->nominal)
        nd_ev_parse_possessor(s->st, s->spans, s->nspans, tr->b, r->pron, r->src);
    if (!r->src->n && tr->nominal && tr->b >= 2 && key_is(&s->toks[tr->b - 1], "'s")) {
        k = nd_ev_span_at(s->spans, s->nspans, tr->b - 2);
        if (k >= 0)
            nd_ev_group_of(s->spans, s->nspans, (size_t)k, r->pron, r->src);
    }
    if (!r->src->n && tr->nominal && r->prev_verb >= 0)
        *r->src = s->srcs[r->prev_verb];
    if (!r->src->n) {
        k = nd_ev_subject_before(s->spans, s->nspans, r->barrier, tr->b, 0);
        if (k >= 0)
            nd_ev_group_of(s->spans, s->nspans, (size_t)k, r->pron, r->src);
    }
    if (!r->src->n && r->prev_verb >= 0)
        *r->src = s->srcs[r->prev_verb];
}

/* g's members are all the source's own people by the sentence's country only ("Britain mobilized
 * army reservists", "the United States suspended part of a military aid program"): agents that
 * name no country of their own, of a country of the source's. */
static int own_agents(const struct group_ref *g, const struct group_ref *src)
{
    for (int k = 0; k < g->n; k++) {
        int own = 0;
        for (int q = 0; q < src->n && !own; q++)
            own = g->a[k].inherited && !strcmp(g->a[k].cc, src->a[q].cc);
        if (!own)
            return 0;
    }
    return g->n > 0;
}

/* The target: the first group after the trigger in its clause (near it, for a noun), past a news
 * agency for a noun ("concerned by a Reuters report that Russia ..."), and past the source's own
 * agents ("mobilized army reservists for a possible war against Iraq"). */
static void assign_target(struct sentence *s, struct role *r)
{
    const struct trigger *tr = r->tr;
    size_t limit = tr->nominal ? tr->e + 4 : r->tgt_from + 12, end = r->ce < limit ? r->ce : limit;
    int k = nd_ev_object_after(s->toks, s->spans, s->nspans, r->tgt_from, end, r->meeting);
    for (int tries = 0; k >= 0 && tries < 3; tries++) {
        struct group_ref g;
        nd_ev_group_of(s->spans, s->nspans, (size_t)k, r->pron, &g);
        if (!own_agents(&g, r->src))
            break;
        k = nd_ev_object_after(s->toks, s->spans, s->nspans, s->spans[k].e, end, r->meeting);
    }
    if (k < 0 && tr->nominal) {
        for (size_t q = 0; q < s->nspans; q++)
            if (s->spans[q].blocked && s->spans[q].b >= tr->e && s->spans[q].b < limit)
                k = nd_ev_object_after(s->toks, s->spans, s->nspans, s->spans[q].e,
                                       r->ce < tr->e + 10 ? r->ce : tr->e + 10, r->meeting);
    }
    if (k >= 0)
        nd_ev_group_of(s->spans, s->nspans, (size_t)k, r->pron, &r->tgt);
}

/* The parse makes the actor g (a word-order object of r's verb) another verb's subject ("Chile
 * and Argentina held talks ..., the Chilean foreign ministry said"). (Also refusing the objects of
 * other triggers cost 1.4 points of target accuracy on the PLOVER dev half: the parse's objects
 * are often wrong.) */
static int claimed_elsewhere(const struct sentence *s, const struct role *r,
                             const struct group_ref *g)
{
    int subject = 0;
    size_t v;
    if (!g->n || (v = nd_ev_parse_argument_of(s->st, g->a[0].b, g->a[0].e, &subject)) == SIZE_MAX)
        return 0;
    return subject && v != r->tr->b;
}

/* The roles of a verb from the parse; with ND_EVENTS_ROLES_FALLBACK a role the parse leaves empty
 * is taken from word order (the passive's place of the act, the subject before, the object
 * after). */
static void assign_parsed(struct sentence *s, struct role *r)
{
    unsigned roles = s->st->events->roles;
    struct group_ref tgt_word = {.n = 0};
    int has_object = 0;
    nd_ev_parse_roles(s->st, s->spans, s->nspans, r->tr->b, r->pron, r->src, &r->tgt, &r->passive,
                      &has_object, &r->thing_subject);
    /* "U.S. national security adviser Jake Sullivan met ...": a complement that is the subject's
     * own chunk (a misparsed title), or its own agents ("providing ... military intelligence to
     * Macedonia"), names no one acted upon; word order may find the object */
    if (nd_ev_same_group(r->src, &r->tgt) || own_agents(&r->tgt, r->src))
        r->tgt.n = 0;
    r->agent = r->passive && r->src->n; /* a passive's parsed source is its agent */
    if (!(roles & ND_EVENTS_ROLES_FALLBACK) || (r->src->n && r->tgt.n))
        return;
    if (r->passive) {
        struct group_ref src = *r->src, tgt = r->tgt;
        int agent = r->agent;
        r->src->n = r->tgt.n = 0;
        assign_passive(s, r);
        r->agent |= agent;
        if (src.n)
            *r->src = src;
        if (tgt.n)
            r->tgt = tgt;
        return;
    }
    /* (skipping word order for a parsed subject that is a thing cost 1.3 points of source and
     * 1.4 of target accuracy on the PLOVER dev half: the parse's subjects are often wrong) */
    if (!r->src->n)
        assign_source(s, r);
    /* (an object the parse found holding no actor is no reason to skip word order: on the PLOVER
     * dev half that cost 10 points of target accuracy, the parse's objects being often wrong) */
    (void)has_object;
    if (!r->tgt.n) {
        assign_target(s, r);
        tgt_word = r->tgt;
        /* a word-order object that is the parse's source is no target, nor one another verb
         * claims in the parse */
        if (nd_ev_same_group(&tgt_word, r->src) || claimed_elsewhere(s, r, &tgt_word))
            r->tgt.n = 0;
    }
}

/* A source from outside the trigger's own clause, each one a fallback that lowers confidence:
 * the speaker ("Blinken said it would ...", when the verb follows the speech verb closely; a clause
 * with a subject of its own is not the speaker's act), the sentence's subject for a noun, the last
 * speaker inside a quote, and in the relaxed pass the sentence's first actor. */
static void source_fallbacks(struct sentence *s, struct role *r)
{
    const struct trigger *tr = r->tr;
    struct group_ref *src = r->src;
    /* the parse names the subject, and it is a thing ("actions that are helping Putin"): the act
     * is no speaker's */
    if (r->thing_subject)
        return;
    if (!src->n && s->speech_at != SIZE_MAX && s->speech_at < tr->b &&
        (tr->nominal || tr->b <= s->speech_at + 4)) {
        *src = s->speaker;
        r->src_fallback = 1;
    }
    if (!src->n && tr->nominal && s->subject.n && !nd_ev_same_group(&s->subject, &r->tgt)) {
        *src = s->subject;
        r->src_fallback = 1;
    }
    if (!src->n && nd_ev_quote_around(s->toks, s->s0, s->s1, tr->b, &r->qb, &r->qe) &&
        s->st->last_speaker.n) {
        *src = s->st->last_speaker;
        r->src_fallback = 1;
    }
    if (!src->n && s->relaxed) {
        for (size_t q = 0; q < s->nspans && !src->n; q++) {
            if (s->spans[q].blocked || s->spans[q].b >= tr->b ||
                (q > 0 && s->spans[q - 1].group == s->spans[q].group))
                continue;
            nd_ev_group_of(s->spans, s->nspans, q, r->pron, src);
            if (nd_ev_same_group(src, &r->tgt))
                src->n = 0;
        }
        r->src_fallback = 1;
    }
}

/* "Chile and Argentina held talks ... with Chilean officials": the act of several countries
 * together names one of them again ("Chilean", a nationality word, a ministry); that member is
 * no counterpart of the act, and is dropped from the target. */
static void drop_joint_sources(struct role *r)
{
    int n = 0, joint = 0;
    for (int k = 1; k < r->src->n; k++)
        joint |= strcmp(r->src->a[k].cc, r->src->a[0].cc) != 0;
    if (!joint)
        return;
    for (int k = 0; k < r->tgt.n; k++) {
        int own = 0;
        for (int q = 0; q < r->src->n && !own; q++)
            own = r->tgt.a[k].cc[0] && !strcmp(r->tgt.a[k].cc, r->src->a[q].cc);
        if (!own)
            r->tgt.a[n++] = r->tgt.a[k];
    }
    r->tgt.n = n;
}

/* Move all but the first source to the target: the members of one compound subject. */
static void split_compound_source(struct role *r)
{
    r->tgt.n = r->src->n - 1;
    memcpy(r->tgt.a, r->src->a + 1, sizeof(r->src->a[0]) * (size_t)(r->src->n - 1));
    r->src->n = 1;
}

/* An actor is never its own target; "he and Wang discussed" is a consultation between the members
 * of one compound subject; "French and Egyptian warships launched war games" is joint military
 * cooperation (CAMEO 062), not a show of force. */
static void reconcile_roles(struct sentence *s, struct role *r)
{
    if (nd_ev_same_group(r->src, &r->tgt) || own_agents(&r->tgt, r->src))
        r->tgt.n = 0;
    drop_joint_sources(r);
    /* (the co-chairs of a meeting, "chaired by Wang and Amorim", meet others than each other) */
    if (!r->tgt.n && !r->passive && r->src->n >= 2 && !strncmp(r->code, "04", 2) &&
        !r->tr->agent_noun)
        split_compound_source(r);
    if (!strncmp(r->code, "15", 2) && !r->passive && r->src->n >= 2 &&
        nd_ev_exercise_near(s->toks, r->tr->e, r->ce) && !nd_ev_same_country(r->src)) {
        r->code = "062";
        split_compound_source(r);
    }
}

/* An event needs an actor on one side at least (one with only a target, "Russian positions were
 * shelled", is kept; its confidence says the source is missing). A verb's bare default code without
 * anyone acted upon is mostly noise ("wants", "established"); protests, force postures and violence
 * need no target. */
static int worth_coding(struct sentence *s, struct role *r)
{
    static const char *const intransitive[] = {"03", "10", "11", "12", "13", "14",
                                               "15", "18", "19", "20", NULL};
    const struct trigger *tr = r->tr;
    int ok = 0;
    if (!r->src->n && !r->tgt.n)
        return 0;
    if (s->relaxed || tr->nominal || tr->pattern || r->tgt.n || r->passive || r->planned || r->neg)
        return 1;
    for (size_t q = 0; intransitive[q] && !ok; q++)
        ok = !strncmp(r->code, intransitive[q], 2);
    return ok;
}

/* No one acted upon by name: a state's act lands where it happens ("lifted a state of emergency
 * in West Darfur"), else at home ("the army holds civilians"); an act between several sources
 * ("India and Australia signed a pact") with no counterpart named keeps an empty target. */
static void assign_implied_target(struct sentence *s, struct role *r)
{
    struct group_ref *src = r->src, *tgt = &r->tgt;
    int between = 0;
    if (tgt->n || !src->n || nd_ev_is_body_code(src->a[0].cc))
        return;
    for (size_t q = 0; q < s->nspans && !tgt->n; q++) {
        const struct span *sp = &s->spans[q];
        if (sp->blocked || !sp->cc[0] || !sp->prep || !sp->prep_place ||
            nd_ev_is_body_code(sp->cc) || (q > 0 && s->spans[q - 1].group == sp->group))
            continue;
        nd_ev_group_of(s->spans, s->nspans, q, r->pron, tgt);
        if (nd_ev_same_group(src, tgt))
            tgt->n = 0;
    }
    for (int q = 1; q < src->n; q++)
        between |= memcmp(src->a[q].cc, src->a[0].cc, sizeof(src->a[0].cc)) != 0;
    if (!tgt->n && !between) {
        memset(&tgt->a[0], 0, sizeof(tgt->a[0]));
        memcpy(tgt->a[0].cc, src->a[0].cc, sizeof(tgt->a[0].cc));
        tgt->a[0].implied = 1;
        tgt->n = 1;
    }
    r->tgt_implied = tgt->n > 0;
}

/* Announced harm or a condition ("will withdraw unless") is a threat (CAMEO 13); intent to
 * cooperate an agreement to (CAMEO 03). */
static const char *planned_code(struct sentence *s, const char *code)
{
    const char *ic = nd_ev_intent_code(code);
    int conditional = 0;
    for (size_t p = s->s0; p < s->s1; p++)
        conditional |= has_class(&s->toks[p], WL_CONDITIONALS);
    if (strncmp(code, "14", 2) >= 0 || (conditional && strncmp(code, "08", 2) >= 0))
        return !strncmp(code, "18", 2) || !strncmp(code, "19", 2) || !strncmp(code, "20", 2) ? "138"
               : !strncmp(code, "16", 2)                                                     ? "131"
               : !strncmp(code, "14", 2) ? "133"
                                         : "130";
    return ic ? ic : code;
}

/* Obligation, negation, commitments to harm and plans change the code: "Russia said Sudan must
 * return the helicopter" is the speaker's demand of the subject (100); a refused cooperation a
 * rejection (120); "vowed to fight" a threat (13x), "prepared to attack" a force posture (154).
 * What someone must do, with no speaker to demand it, is no event: nothing was done. Returns 0 for
 * no event. */
static int apply_modality(struct sentence *s, struct role *r)
{
    const struct nd_evtok *toks = s->toks;
    const struct trigger *tr = r->tr;
    const char *harm;
    int obliged = 0;
    for (size_t p = tr->b, n = 0; p-- > s->s0 && n < 3; n++)
        obliged |= has_class(&toks[p], WL_OBLIGATIONS) ||
                   (key_is(&toks[p], "to") && p > s->s0 && has_class(&toks[p - 1], WL_HAVE_FORMS));
    if (obliged && s->speaker.n && s->speech_at < tr->b && !nd_ev_same_group(&s->speaker, r->src)) {
        r->tgt = *r->src;
        *r->src = s->speaker;
        r->code = "100";
        r->src_fallback = 0;
    } else if (obliged) {
        return 0;
    } else if (r->neg) {
        r->code = "120";
    } else if (!tr->nominal && (!strncmp(r->code, "03", 2) || !strcmp(r->code, "110")) &&
               (harm = nd_ev_harmful_complement(toks, s->trig, s->ntrig, r->t, r->ce))) {
        r->code = harm;
        if (!strcmp(harm, "138") && has_class(&toks[tr->b], WL_READINESS))
            r->code = "154";
    } else if (r->planned) {
        r->code = planned_code(s, r->code);
    }
    return 1;
}

/* The quote around the trigger, else the speaker's own quoted words in this sentence. */
static void attach_quote(struct sentence *s, struct role *r)
{
    if (r->qe > r->qb || nd_ev_quote_around(s->toks, s->s0, s->s1, r->tr->b, &r->qb, &r->qe) ||
        !s->speaker.n || !nd_ev_same_group(&s->speaker, r->src))
        return;
    for (size_t p = s->s0; p < s->s1; p++)
        if (s->toks[p].flags & ND_EVTOK_QUOTE &&
            nd_ev_quote_around(s->toks, s->s0, s->s1, p + 1, &r->qb, &r->qe))
            break;
}

/* Emit unless an earlier trigger of the sentence gave the same event ("imposed sanctions on
 * Iran": verb and noun name one event). */
static void emit_unique(struct sentence *s, struct role *r)
{
    struct trigger *tr = r->tr;
    int dup = 0;
    tr->dropped = 0;
    for (size_t q = 0; q < r->t && !dup; q++)
        dup = !s->trig[q].dropped && !strncmp(s->trig[q].emitted, r->code, 2) &&
              nd_ev_same_group(&s->srcs[q], r->src) && nd_ev_same_group(&s->tgts[q], &r->tgt);
    s->tgts[r->t] = r->tgt;
    copy_code(tr->emitted, r->code, sizeof(tr->emitted));
    if (!dup) {
        struct ev_found found = {.tr = tr,
                                 .code = r->code,
                                 .src = r->src,
                                 .tgt = &r->tgt,
                                 .qb = r->qb,
                                 .qe = r->qe,
                                 .planned = r->planned,
                                 .src_fallback = r->src_fallback,
                                 .relaxed = s->relaxed,
                                 .tgt_implied = r->tgt_implied,
                                 .passive = r->passive && !r->agent,
                                 .parsed = r->parsed,
                                 .thing_subject = r->thing_subject,
                                 .clause_depth = r->parsed ? nd_ev_parse_depth(s->st, tr->b) : 0};
        nd_ev_emit(s->st, s->s0, s->s1, &found);
    }
}

static void code_trigger(struct sentence *s, size_t t)
{
    const struct nd_evtok *toks = s->toks;
    struct trigger *tr = &s->trig[t];
    struct role r = {.t = t, .tr = tr, .src = &s->srcs[t], .code = tr->code};

    tr->dropped = 1;
    tr->governed = tr->light = 0;
    r.src->n = 0;
    s->tgts[t].n = 0;
    if (!prepare_weak(s, &r))
        return;
    r.cb = nd_ev_clause_start(toks, s->s0, tr->b);
    r.ce = nd_ev_clause_end(toks, tr->e, s->s1);
    r.pron = nd_ev_pronoun_ref(s->st, &s->speaker);
    r.tgt_from = tr->e;
    /* "will boycott the elections unless the president agrees to step down": what an "if" or
     * "unless" clause names is a condition, not something that happened */
    r.parsed = !tr->nominal && nd_ev_parse_verb(s->st, tr->b) >= 0;
    if (r.cb > s->s0 && has_class(&toks[r.cb - 1], WL_CONDITIONALS))
        return;
    if (r.parsed && (nd_ev_parse_conditional(s->st, tr->b) || nd_ev_parse_asked(s->st, tr->b) ||
                     nd_ev_parse_purpose(s->st, tr->b)))
        return;
    if (!resolve_appeal(s, &r))
        return;
    /* "peacekeeping troops arrived in Sierra Leone": troops do not visit, their arrival is a
     * deployment, and of peacekeepers, CAMEO's provision of peacekeeping (074) */
    if (!tr->nominal && !strncmp(r.code, "04", 2) && nd_ev_peacekeepers_before(toks, r.cb, tr->b))
        r.code = "074";
    r.meeting = !strncmp(r.code, "03", 2) || !strncmp(r.code, "04", 2);
    if (!apply_negation(s, &r) || !not_governed(s, &r) || !not_light_verb(s, &r))
        return;
    find_barrier(s, &r);
    /* a parsed verb's plans come from the tree; a noun's from the words around it */
    r.planned = r.parsed ? nd_ev_parse_planned(s->st, tr->b)
                         : nd_ev_is_planned(toks, s->s0, s->s1, tr->b,
                                            !tr->nominal                ? 0
                                            : !strncmp(r.code, "04", 2) ? 'm'
                                                                        : 'n');
    if (tr->nominal == 'p') {
        assign_pair(s, &r);
    } else if (r.parsed) {
        assign_parsed(s, &r);
    } else if (!tr->nominal && nd_ev_is_passive(toks, s->s0, s->s1, tr->b)) {
        assign_passive(s, &r);
    } else {
        assign_source(s, &r);
        assign_target(s, &r);
    }
    source_fallbacks(s, &r);
    reconcile_roles(s, &r);
    if (!worth_coding(s, &r))
        return;
    assign_implied_target(s, &r);
    if (!apply_modality(s, &r))
        return;
    attach_quote(s, &r);
    emit_unique(s, &r);
}

void nd_ev_code_sentence(struct story_state *st, size_t s0, size_t s1)
{
    struct sentence sentence, *s = &sentence;
    s->st = st;
    s->toks = st->toks;
    s->s0 = s0;
    s->s1 = s1;
    s->speaker.n = s->subject.n = 0;
    s->speech_at = SIZE_MAX;
    s->nspans = nd_ev_find_spans(st, s0, s1, s->spans);
    st->sentence_events = 0;
    assign_agent_countries(s);
    s->ntrig = nd_ev_find_triggers(st, s0, s1, s->spans, s->nspans, s->trig, MAX_TRIGGERS,
                                   &s->speaker, &s->speech_at);
    find_subject(s);
    /* Pass 0 codes what the rules are sure of. A sentence left without an event gets a relaxed
     * pass at lower confidence: verbs in noun-like positions, a bare verb without a target, the
     * sentence's first actor as the source when the verb has none of its own (wire copy leads with
     * the actor). */
    for (s->relaxed = 0; s->relaxed < 2; s->relaxed++) {
        if (s->relaxed && (st->sentence_events || !s->ntrig))
            break;
        for (size_t t = 0; t < s->ntrig; t++)
            code_trigger(s, t);
    }
    if (s->subject.n)
        st->last_subject = s->subject;
    if (s->speaker.n)
        st->last_speaker = s->speaker;
    else if (!(s->toks[s0].flags & ND_EVTOK_QUOTE))
        st->last_speaker.n = 0;
}
