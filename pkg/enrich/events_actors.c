/* events_actors: actor resolution. Actor chunks of a sentence (entity mentions, the Phoenix actor
 * and agent dictionaries, titles, remembered names, pronouns), coordination into groups, and where
 * a group stands to a trigger (subject before it, object after it). */
#include "enrich/events_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest dictionary phrase of `kind` starting at token i (within [i, end)). Returns its token
 * count and the value, or 0. */
size_t nd_ev_match_phrase_at(const struct story_state *st, const struct nd_evmap *map, char kind,
                             size_t i, size_t end, uint32_t mask, uint32_t *value)
{
    char phrase[MAX_PHRASE * (ND_EVTOK_KEYMAX + 1) + 1];
    size_t lens[MAX_PHRASE], nfit = 0;
    /* the phrase lengths starting here, longest first: the set bits of mask, from the top; the
     * tokens are joined once, for the longest, and each shorter phrase is a prefix of that */
    for (uint32_t m = mask & ((1u << MAX_PHRASE) - 1); m; m &= ~(1u << (31 - __builtin_clz(m)))) {
        size_t n = (size_t)(32 - __builtin_clz(m));
        if (n > end - i)
            continue;
        if (n == 1) { /* one token: its value was looked up with the token's first_info */
            *value = st->events->finfo[st->fidx[i]].single[kind_index(kind)];
            return 1;
        }
        if (!nfit)
            nfit = nd_evlex_join_prefixes(st->toks, i, n, phrase, sizeof(phrase), lens);
        if (n <= nfit && nd_evmap_get(map, phrase, lens[n - 1], value))
            return n;
    }
    return 0;
}
static const struct memo *memo_find(const struct story_state *st, const struct nd_evtok *tok)
{
    for (size_t k = st->nmemo; k-- > 0;)
        if (st->memo[k].keylen == tok->keylen && !memcmp(st->memo[k].key, tok->key, tok->keylen))
            return &st->memo[k];
    return NULL;
}

static void memo_add(struct story_state *st, const char *key, const struct span *sp)
{
    struct memo *m;
    size_t klen;
    if (!key[0] || !sp->cc[0])
        return;
    klen = strlen(key);
    for (size_t k = 0; k < st->nmemo; k++)
        if (st->memo[k].keylen == klen && !memcmp(st->memo[k].key, key, klen)) {
            m = &st->memo[k];
            goto fill;
        }
    if (st->nmemo >= MAX_MEMO)
        return;
    m = &st->memo[st->nmemo++];
fill:
    copy_code(m->key, key, sizeof(m->key));
    m->keylen = (uint8_t)strlen(m->key);
    memcpy(m->cc, sp->cc, sizeof(m->cc));
    memcpy(m->sector, sp->sector, sizeof(m->sector));
    m->name = sp->name;
    m->name_b = sp->name_b;
    m->name_e = sp->name_e;
}

/* The entity mention starting at token i, if the caller gave mentions (sorted by start: binary
 * search). */
static const struct nd_events_mention *mention_at(const struct story_state *st, size_t i,
                                                  size_t *ntoks, size_t end)
{
    const struct nd_evtok *tok = &st->toks[i];
    if (st->mfirst[i] == UINT32_MAX)
        return NULL;
    for (size_t k = st->mfirst[i]; k < st->nmentions && st->sorted[k]->start == tok->start; k++) {
        const struct nd_events_mention *m = st->sorted[k];
        if (m->end > m->start) {
            size_t j = i;
            while (j < end && st->toks[j].end <= m->end)
                j++;
            *ntoks = j > i ? j - i : 1;
            return m;
        }
    }
    return NULL;
}

/* Three ASCII capitals ("CHN", "GOV"): what a code from outside must look like to be used. */
int nd_ev_is_code3(const char *s)
{
    return s && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' &&
           s[2] <= 'Z';
}

/* International and non-state bodies: their members have no country of theirs. */
int nd_ev_is_body_code(const char *cc)
{
    return !strcmp(cc, "IGO") || !strcmp(cc, "NGO") || !strcmp(cc, "IMG") || !strcmp(cc, "MNC");
}

int nd_ev_cap_word(const struct nd_evtok *tok)
{
    return (tok->flags & ND_EVTOK_WORD) && (tok->flags & ND_EVTOK_CAP);
}

/* "vietnamese-led": the actor before "-led", if the dictionary knows it. */
static int led_by(const struct story_state *st, const struct nd_evtok *tok, uint32_t *v)
{
    size_t n = tok->keylen;
    if (n < 6 || memcmp(tok->key + n - 4, "-led", 4) ||
        !nd_evmap_get(st->events->actor_map, tok->key, n - 4, v))
        return 0;
    return st->events->actors[*v].cc[0] != '\0';
}

/* Find actor chunks in sentence [s0, s1). */
/* An actor chunk being read from token i: the span so far and what made it. */
struct chunk {
    struct span sp;
    size_t j;         /* the next token to read */
    size_t agent_end; /* the end of its last agent (title) word */
    int have, agent, person;
};

enum step { STEP_NONE, STEP_NEXT, STEP_STOP };

static int capital(const struct nd_evtok *tok)
{
    return nd_ev_cap_word(tok) || tok->flags & ND_EVTOK_ALLCAP;
}

/* The entities stage's mention at c->j first; where it has none, or one without a country
 * ("Ryutaro Hashimoto", "the European Community"), the actor dictionaries: the two know different
 * names, and either alone misses actors the other has. *dlen, *v: the dictionary's match. */
static enum step chunk_mention(struct story_state *st, size_t s1, struct chunk *c, size_t *dlen,
                               uint32_t *v)
{
    const struct nd_events *events = st->events;
    size_t j = c->j, len = 0;
    const struct nd_events_mention *m = st->nmentions ? mention_at(st, j, &len, s1) : NULL;
    *dlen = 0;
    if (m && !nd_ev_is_code3(m->country) && capital(&st->toks[j]) &&
        (*dlen = match_phrase(st, events->actor_map, 'A', j, s1, v)) && events->actors[*v].cc[0])
        m = NULL;
    /* a place or body without a country ("Western Cambodia", "South Lebanon"): its words go to
     * the dictionary one by one; a person's name is kept for the title before it */
    if (m && !nd_ev_is_code3(m->country) && !*dlen && !(m->type && !strcmp(m->type, "PERSON")))
        m = NULL;
    if (!m)
        return STEP_NONE;
    if (!c->sp.cc[0] && nd_ev_is_code3(m->country))
        memcpy(c->sp.cc, m->country, 3);
    if (!c->sp.sector[0] && nd_ev_is_code3(m->role))
        memcpy(c->sp.sector, m->role, 3);
    if (m->name && (!c->sp.name || (m->type && !strcmp(m->type, "PERSON"))))
        c->sp.name = m->name;
    c->j += len;
    c->have = 1;
    return STEP_NEXT;
}

/* A region's or transnational group's code ("Palestinian Islamic Jihad": MEA) gives way to the
 * country its first word names alone ("Palestinian": PSE). */
static void national_prefix(struct story_state *st, size_t j, struct chunk *c)
{
    const struct nd_events *events = st->events;
    char low[4];
    uint32_t v;
    for (int k = 0; k < 3; k++)
        low[k] = (char)(c->sp.cc[k] >= 'A' && c->sp.cc[k] <= 'Z' ? c->sp.cc[k] - 'A' + 'a' : c->sp.cc[k]);
    low[3] = '\0';
    if (!nd_ev_in_list(events, WL_REGIONS, low) ||
        match_phrase(st, events->actor_map, 'A', j, j + 1, &v) != 1 ||
        events->actors[v].kind != 'C' || !events->actors[v].cc[0] ||
        nd_ev_is_body_code(events->actors[v].cc))
        return;
    memcpy(c->sp.cc, events->actors[v].cc, sizeof(c->sp.cc));
}

/* An actor of the dictionary at c->j (dlen, v when chunk_mention matched it already). A non-actor
 * ("Reuters") blocks the chunk; a named person or body is remembered by its words. */
static enum step chunk_actor(struct story_state *st, size_t s1, struct chunk *c, size_t dlen,
                             uint32_t v)
{
    const struct nd_events *events = st->events;
    const struct nd_evtok *toks = st->toks;
    size_t j = c->j, len;
    const struct actor *a;
    if (!capital(&toks[j]) ||
        !(len = dlen ? dlen : match_phrase(st, events->actor_map, 'A', j, s1, &v)))
        return STEP_NONE;
    a = &events->actors[v];
    if (!a->cc[0]) {
        if (c->have)
            return STEP_STOP;
        c->sp.blocked = 1;
        c->j += len;
        c->have = 1;
        return STEP_STOP;
    }
    if (!c->sp.cc[0])
        memcpy(c->sp.cc, a->cc, sizeof(c->sp.cc));
    if (len >= 2)
        national_prefix(st, j, c);
    if (a->sector[0] && !c->sp.sector[0])
        memcpy(c->sp.sector, a->sector, sizeof(c->sp.sector));
    if (a->kind == 'P' || (len >= 2 && a->sector[0])) {
        /* a named person or body: remembered by its first and last word */
        c->sp.name = a->name;
        c->person = 1;
        if (!c->sp.cc[0]) /* a title's body wins: "NATO Secretary-General Mark Rutte" */
            memcpy(c->sp.cc, a->cc, sizeof(c->sp.cc));
        for (size_t q = j; q < j + len; q++) {
            uint32_t g;
            size_t gl = match_phrase(st, events->agent_map, 'G', q, j + len, &g);
            if (gl)
                q += gl - 1;
            else if (toks[q].flags & ND_EVTOK_CAP)
                memo_add(st, toks[q].key, &c->sp);
        }
    } else if (a->kind == 'O' && !c->sp.name) {
        c->sp.name = a->name;
    }
    c->j += len;
    c->have = 1;
    return STEP_NEXT;
}

/* Agents and the words that join them to a country: "Vietnamese-led forces", "the foreign
 * minister", "North Korea's foreign ministry", "opposition groups in Zimbabwe". */
static enum step chunk_agent(struct story_state *st, size_t s1, struct chunk *c)
{
    const struct nd_events *events = st->events;
    const struct nd_evtok *toks = st->toks;
    size_t j = c->j, len;
    uint32_t v;
    if (!c->have && nd_ev_cap_word(&toks[j]) && led_by(st, &toks[j], &v)) {
        memcpy(c->sp.cc, events->actors[v].cc, sizeof(c->sp.cc));
        c->j++;
        c->have = 1;
        return STEP_NEXT;
    }
    if ((len = match_phrase(st, events->agent_map, 'G', j, s1, &v))) {
        /* "the foreign minister" alone is an actor; "government" inside a longer noun phrase is
         * taken only next to a country */
        memcpy(c->sp.sector, events->sectors[v], sizeof(c->sp.sector));
        c->j += len;
        c->agent_end = c->j;
        c->have = c->agent = 1;
        return STEP_NEXT;
    }
    if (c->have && c->sp.cc[0] && j + 1 < s1 && key_is(&toks[j], "'s") &&
        match_phrase(st, events->agent_map, 'G', j + 1, s1, &v)) {
        c->j++;
        return STEP_NEXT;
    }
    if (c->have && c->agent && !c->sp.cc[0] && j + 2 < s1 && has_class(&toks[j], WL_COLLECTIVES) &&
        (key_is(&toks[j + 1], "of") || key_is(&toks[j + 1], "in") || key_is(&toks[j + 1], "from")))
        j = ++c->j;
    if (c->have && c->agent && !c->sp.cc[0] && j + 1 < s1 &&
        (key_is(&toks[j], "of") || key_is(&toks[j], "in") || key_is(&toks[j], "from"))) {
        size_t k = j + 1;
        if (key_is(&toks[k], "the") && k + 1 < s1)
            k++;
        if (nd_ev_cap_word(&toks[k]) && match_phrase(st, events->actor_map, 'A', k, s1, &v)) {
            c->j = k;
            return STEP_NEXT;
        }
    }
    return STEP_STOP;
}

/* A title followed by a capitalised name: "Foreign Minister Wang Yi"; "NATO Secretary-General Mark
 * Rutte": the person, in the title's body. */
static void chunk_title_name(struct story_state *st, size_t s1, struct chunk *c)
{
    const struct nd_events *events = st->events;
    const struct nd_evtok *toks = st->toks;
    size_t j = c->j, k = j;
    if (!c->have || c->sp.blocked || !(c->agent || c->sp.sector[0] || c->person))
        return;
    while (k < s1 && k - j < 3 && nd_ev_cap_word(&toks[k]) && !(toks[k].flags & ND_EVTOK_NL)) {
        uint32_t v;
        size_t plen = match_phrase(st, events->actor_map, 'A', k, s1, &v);
        if (plen && k == j && events->actors[v].cc[0] &&
            (events->actors[v].kind == 'P' || (plen >= 2 && events->actors[v].sector[0]))) {
            c->sp.name = events->actors[v].name;
            c->sp.name_b = c->sp.name_e = 0;
            c->person = 1;
            c->j = j = k + plen;
            k = j;
            break;
        }
        if (plen)
            break;
        k++;
    }
    if (k > j) {
        c->sp.name = NULL;
        c->sp.name_b = (uint32_t)j;
        c->sp.name_e = (uint32_t)k;
        for (size_t q = j; q < k; q++)
            memo_add(st, toks[q].key, &c->sp);
        c->j = k;
    }
}

/* No actor from the dictionaries: a name remembered from earlier in the story, or a pronoun. */
static void chunk_memo_or_pronoun(struct story_state *st, size_t s1, size_t i, struct chunk *c)
{
    const struct nd_evtok *toks = st->toks;
    const struct memo *m;
    if (nd_ev_cap_word(&toks[i]) && (m = memo_find(st, &toks[i]))) {
        size_t k = i + 1;
        while (k < s1 && nd_ev_cap_word(&toks[k]) && memo_find(st, &toks[k]) == m)
            k++;
        memcpy(c->sp.cc, m->cc, sizeof(c->sp.cc));
        memcpy(c->sp.sector, m->sector, sizeof(c->sp.sector));
        c->sp.name = m->name;
        c->sp.name_b = m->name_b;
        c->sp.name_e = m->name_e;
        c->j = k;
        c->have = 1;
    } else if (has_class(&toks[i], WL_PRONOUNS)) {
        c->sp.pron = 1;
        c->j = i + 1;
        c->have = 1;
    }
}

/* Read the actor chunk starting at token i into c. */
static void read_chunk(struct story_state *st, size_t s1, size_t i, struct chunk *c)
{
    memset(c, 0, sizeof(*c));
    c->j = i;
    while (c->j < s1) {
        size_t dlen;
        uint32_t v = 0;
        enum step step = chunk_mention(st, s1, c, &dlen, &v);
        if (step == STEP_NONE)
            step = chunk_actor(st, s1, c, dlen, v);
        if (step == STEP_NONE)
            step = chunk_agent(st, s1, c);
        if (step == STEP_STOP)
            break;
    }
    chunk_title_name(st, s1, c);
    if (!c->have)
        chunk_memo_or_pronoun(st, s1, i, c);
}

/* A chunk without a country: an agent alone ("the foreign minister", "police") takes the country
 * of the same title seen earlier in the story; else it is no actor (returns 0). "Ethnic Albanians
 * demonstrated in Serbia": a people, not its nation's state; CAMEO's ethnic sector. */
static int settle_country(struct story_state *st, size_t s0, size_t i, struct chunk *c)
{
    const struct nd_evtok *toks = st->toks;
    struct span *sp = &c->sp;
    if (!sp->cc[0] && !sp->pron && !sp->blocked) {
        const struct memo *m;
        if (!c->agent)
            return 0;
        if ((m = memo_find(st, &toks[c->j - 1]))) {
            memcpy(sp->cc, m->cc, sizeof(sp->cc));
            sp->name = m->name;
            sp->name_b = m->name_b;
            sp->name_e = m->name_e;
        }
    }
    if (i > s0 && has_class(&toks[i - 1], WL_ETHNIC) && sp->cc[0] && !c->person && !sp->name_e &&
        !c->agent) {
        sp->cc[0] = '\0';
        memcpy(sp->sector, "ETH", 4);
        sp->name = NULL;
    }
    return 1;
}

/* The chunk's place in the sentence: its token range, what is remembered of it for later
 * sentences, whether 's follows, the preposition before it ("thousands of Iraqi Kurds" is no
 * prepositional phrase). */
static void place_chunk(struct story_state *st, size_t s0, size_t s1, size_t i, struct chunk *c)
{
    const struct nd_evtok *toks = st->toks;
    struct span *sp = &c->sp;
    sp->b = (uint32_t)i;
    sp->e = (uint32_t)c->j;
    if (c->agent && sp->cc[0] && c->agent_end > i && (sp->name || sp->name_e > sp->name_b))
        memo_add(st, toks[c->agent_end - 1].key, sp); /* the title, for "the foreign minister" */
    if (sp->name && sp->cc[0] && sp->e - sp->b >= 2)
        memo_add(st, toks[sp->e - 1].key, sp);
    if (c->j < s1 && key_is(&toks[c->j], "'s"))
        sp->possessive = 1;
    if (i > s0) {
        size_t p = i - 1;
        if (has_class(&toks[p], WL_DETS) && p > s0)
            p--;
        if (has_class(&toks[p], WL_PREPS) &&
            !(key_is(&toks[p], "of") && p > s0 &&
              (has_class(&toks[p - 1], WL_QUANTITIES) ||
               (toks[p - 1].key[0] >= '0' && toks[p - 1].key[0] <= '9')))) {
            sp->prep = toks[p].key;
            sp->prep_place = (char)nd_ev_in_list(st->events, WL_PLACES, sp->prep);
        }
    }
}

/* Coordination: "China and Brazil", "Iran, North Korea and China" share a group with the chunk
 * before; a comma alone joins only inside a list that goes on ("Iran, North Korea and China", not
 * "In talks with Barrot, Jaishankar raised"). */
static void coordinate(const struct nd_evtok *toks, const struct span *spans, size_t n,
                       struct span *sp, size_t j, size_t s1, uint16_t *group)
{
    const struct span *prev = n > 0 ? &spans[n - 1] : NULL;
    size_t gap_b, gap_e = sp->b, ok;
    int has_and = 0;
    if (!prev || prev->blocked || sp->blocked) {
        sp->group = ++*group;
        return;
    }
    gap_b = prev->e + prev->possessive;
    ok = gap_e > gap_b;
    for (size_t q = gap_b; q < gap_e && ok; q++)
        ok = key_is(&toks[q], "and") || key_is(&toks[q], ",") || key_is(&toks[q], "the") ||
             key_is(&toks[q], "&");
    for (size_t q = gap_b; q < gap_e; q++)
        has_and |= key_is(&toks[q], "and") || key_is(&toks[q], "&");
    if (ok && !has_and)
        ok = j < s1 && (key_is(&toks[j], ",") || key_is(&toks[j], "and"));
    if (ok && gap_e - gap_b <= 3 && !prev->possessive) {
        sp->group = prev->group;
        sp->prep = prev->prep;
        sp->prep_place = prev->prep_place;
    } else {
        sp->group = ++*group;
    }
}

size_t nd_ev_find_spans(struct story_state *st, size_t s0, size_t s1, struct span *spans)
{
    size_t n = 0, i = s0;
    uint16_t group = 0;
    while (i < s1 && n < MAX_SPANS) {
        struct chunk c;
        read_chunk(st, s1, i, &c);
        if (!c.have) {
            i++;
            continue;
        }
        if (!settle_country(st, s0, i, &c)) {
            i = c.j;
            continue;
        }
        place_chunk(st, s0, s1, i, &c);
        coordinate(st->toks, spans, n, &c.sp, c.j, s1, &group);
        spans[n++] = c.sp;
        i = c.j > i ? c.j : i + 1;
    }
    return n;
}

int nd_ev_span_at(const struct span *spans, size_t nspans, size_t tok)
{
    for (size_t k = 0; k < nspans; k++)
        if (tok >= spans[k].b && tok < spans[k].e)
            return (int)k;
    return -1;
}

/* The actors of span k's coordinated group; a pronoun member takes the actors of `pron`. */
void nd_ev_group_of(const struct span *spans, size_t nspans, size_t k, const struct group_ref *pron,
                    struct group_ref *g)
{
    g->n = 0;
    for (size_t q = 0; q < nspans && g->n < 4; q++) {
        const struct span *sp = &spans[q];
        if (sp->group != spans[k].group || sp->blocked)
            continue;
        if (sp->pron) {
            for (int r = 0; pron && r < pron->n && g->n < 4; r++)
                g->a[g->n++] = pron->a[r];
            continue;
        }
        if (!sp->cc[0])
            continue;
        struct actor_ref *a = &g->a[g->n++];
        memcpy(a->cc, sp->cc, sizeof(a->cc));
        memcpy(a->sector, sp->sector, sizeof(a->sector));
        a->name = sp->name;
        a->name_b = sp->name_b;
        a->name_e = sp->name_e;
        a->b = sp->b;
        a->e = sp->e;
        a->implied = 0;
        a->inherited = sp->inherited;
    }
}

/* The subject of a trigger: the leftmost group in [after, before) outside a prepositional phrase
 * (SVO: the subject comes first; objects of earlier verbs are cut off by the caller's `after`).
 * Returns the index of the group's first span, or -1. */
int nd_ev_subject_before(const struct span *spans, size_t nspans, size_t after, size_t before,
                         int nearest)
{
    int found = -1;
    for (size_t k = 0; k < nspans; k++) {
        const struct span *sp = &spans[k];
        if (sp->b < after || sp->blocked || sp->prep || (!sp->cc[0] && !sp->pron))
            continue;
        if (sp->e > before)
            break;
        if (k > 0 && spans[k - 1].group == sp->group && spans[k - 1].b >= after)
            continue; /* not the group's first span */
        if (sp->possessive) {
            size_t last = k;
            while (last + 1 < nspans && spans[last + 1].group == sp->group)
                last++;
            if (spans[last].e + 1 < before)
                continue; /* "China's support ... X": the possessor is not the subject */
        }
        found = (int)k;
        if (!nearest)
            break;
    }
    return found;
}

/* First group starting in [from, limit) that can be a target: not a place ("met Xi in Beijing"),
 * not the venue ("on the sidelines of the U.N. General Assembly"). */
int nd_ev_object_after(const struct nd_evtok *toks, const struct span *spans, size_t nspans,
                       size_t from, size_t limit, int meeting)
{
    for (size_t k = 0; k < nspans; k++) {
        const struct span *sp = &spans[k];
        if (sp->b < from || sp->blocked || (!sp->cc[0] && !sp->pron))
            continue;
        if (sp->b >= limit)
            break;
        if (k > 0 && spans[k - 1].group == sp->group && spans[k - 1].b >= from)
            continue;
        if (meeting && sp->prep_place)
            continue;
        if (sp->b > from && has_class(&toks[sp->b - 1], WL_POSSESSIVES))
            continue; /* "withdraw its troops": the actor's own, not a target */
        if (sp->prep && !strcmp(sp->prep, "of") && sp->b >= 2) {
            size_t p = sp->b - 1;
            while (p > from && !key_is(&toks[p], "of"))
                p--;
            if (p >= 1 && has_class(&toks[p - 1], WL_SIDELINES))
                continue;
        }
        return (int)k;
    }
    return -1;
}
int nd_ev_same_group(const struct group_ref *a, const struct group_ref *b)
{
    if (a->n != b->n || !a->n)
        return 0;
    for (int k = 0; k < a->n; k++)
        if (strcmp(a->a[k].cc, b->a[k].cc) || a->a[k].b != b->a[k].b)
            return 0;
    return 1;
}
/* All actors of the group of one country ("Russian forces and Russian police"). */
int nd_ev_same_country(const struct group_ref *g)
{
    for (int k = 1; k < g->n; k++)
        if (strcmp(g->a[k].cc, g->a[0].cc))
            return 0;
    return 1;
}

/* Resolve a pronoun subject: after a speech verb in this sentence it is the speaker, else the
 * previous sentence's subject. */
/* What a pronoun subject stands for: after a speech verb in this sentence the speaker, else the
 * previous sentence's subject. */
const struct group_ref *nd_ev_pronoun_ref(const struct story_state *st,
                                          const struct group_ref *speaker)
{
    return speaker->n ? speaker : &st->last_subject;
}

/* Find the triggers of sentence [s0, s1); fills speaker/speech_at from speech verbs. */
