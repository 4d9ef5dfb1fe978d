/* Entities: tagger spans and knowledge-base matches merged, typed, linked, resolved within the
 * story, and scored.
 *
 * Order of work for one story:
 *   1. tokenise headline and body; tag them as one document (headline first) so document-level
 *      features see both;
 *   2. candidate spans: the tagger's PER/ORG/LOC/MISC spans, and KB phrase matches starting with a
 *      capital. A KB match wins where it covers a tagger span; a longer tagger span ("U.N. General
 *      Assembly") wins over a KB match inside it;
 *   3. each span is typed and linked: KB entries give canonical name, ids, country, role; capitals
 *      not used as places ("Beijing says") stand for the country's government;
 *   4. people get role and country from the words before them ("U.S. Secretary of State Antony
 *      Blinken"); later short forms ("Blinken", "Wang") and "the minister" resolve to them;
 *   5. mentions are grouped into entities and salience is computed (headline and lead weigh more).
 */
#include "enrich/entities.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/doc.h"
#include "enrich/enrich_int.h"
#include "enrich/kb.h"
#include "enrich/tagger.h"

/* Setting a key given as a string literal: its length is known at compile time, so jansson is not
 * left to strlen it on every set (this runs for every key of every mention and event). */
#define JSON_SET_NEW(obj, lit, value) \
    json_object_setn_new_nocheck((obj), "" lit "", sizeof(lit) - 1, (value))
#define JSON_SET(obj, lit, value) \
    json_object_setn_nocheck((obj), "" lit "", sizeof(lit) - 1, (value))

#define MAX_SPAN_TOKENS 12

const char *nd_ent_type_name(enum nd_ent_type type)
{
    static const char *const names[] = {"PERSON", "ORG", "GPE", "LOC", "NORP"};
    return (unsigned)type < ND_ENT_NTYPES ? names[type] : "UNKNOWN";
}

/* One token of the combined headline+body document. */
struct wtok {
    const char *text; /* the field's text */
    uint32_t start, end;
    uint32_t cstart, cend; /* the doc token's character offsets */
    uint32_t flags;
    uint8_t field;   /* ND_FIELD_BODY or ND_FIELD_HEADLINE */
    uint32_t bodyix; /* index in ents->doc for body tokens */
    uint32_t sent;   /* sentence index (body) */
    uint64_t h;      /* nd_kb_tokhash */
};

/* A candidate mention before grouping. */
struct cand {
    size_t first, count; /* in wtok */
    enum nd_ent_type type;
    int kb;    /* KB entry or -1 */
    int group; /* entity index after grouping */
    unsigned metonym : 1, resolved : 1;
    float confidence;
    const char *role_b; /* role text found before a person: [role_b, role_e) */
    const char *role_e;
    size_t ref;          /* 1 + first token of the mention this one refers to ("the minister") */
    const char *known_b; /* the role of the person a short form refers to (for "the minister") */
    const char *known_e;
    char country[4];
};

struct work {
    const struct nd_enrich *enrich;
    const struct nd_story *story;
    struct wtok *t;
    size_t n, nhead;
    struct cand *c;
    size_t nc, ccap;
};

static int push_cand(struct work *w, struct cand c)
{
    if (w->nc == w->ccap) {
        /* about one candidate per eight tokens in news text: usually one allocation */
        size_t first = w->n / 4 < 64 ? 64 : w->n / 4 > 4096 ? 4096 : w->n / 4;
        size_t ncap = w->ccap ? w->ccap * 2 : first;
        struct cand *nc = realloc(w->c, ncap * sizeof(*nc));
        if (!nc)
            return -1;
        w->c = nc;
        w->ccap = ncap;
    }
    w->c[w->nc++] = c;
    return 0;
}

/* A small open-addressing map from a 64-bit key to an int, so every per-story step stays linear in
 * the number of tokens however many names a (possibly hostile) 5 MB story holds. Its arrays are
 * scratch memory (core.h), released when nd_entities_find returns. */
struct imap {
    uint64_t *keys;
    int *vals;
    size_t mask;
};

static int imap_init(struct imap *m, size_t n)
{
    size_t c = 64;
    while (c < n * 2)
        c <<= 1;
    m->keys = nd_scratch_calloc(c, sizeof(*m->keys));
    m->vals = nd_scratch_alloc(c * sizeof(*m->vals));
    m->mask = c - 1;
    return m->keys && m->vals ? 0 : -1;
}

/* The slot for key; *found says whether it was there. Key 0 is remapped (0 marks empty). */
static int *imap_slot(struct imap *m, uint64_t key, int *found)
{
    size_t i;
    key = key ? key : 1;
    for (i = (size_t)(key ^ (key >> 31)) & m->mask; m->keys[i] && m->keys[i] != key;
         i = (i + 1) & m->mask)
        ;
    *found = m->keys[i] == key;
    m->keys[i] = key;
    return &m->vals[i];
}

static int imap_get(const struct imap *m, uint64_t key, int dflt)
{
    size_t i;
    key = key ? key : 1;
    for (i = (size_t)(key ^ (key >> 31)) & m->mask; m->keys[i]; i = (i + 1) & m->mask)
        if (m->keys[i] == key)
            return m->vals[i];
    return dflt;
}

static uint64_t hmix(uint64_t a, uint64_t b)
{
    a ^= b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2);
    return a * 0xff51afd7ed558ccdull;
}

static int tok_is(const struct wtok *t, const char *word)
{
    size_t n = strlen(word);
    return t->end - t->start == n && !strncasecmp(t->text + t->start, word, n);
}

/* tok_is over a list of words: only those with the token's first letter (folding case) are
 * measured and compared. Tokens are never empty. */
static int tok_in(const struct wtok *t, const char *const *list, size_t n)
{
    unsigned char c0 = (unsigned char)(t->text[t->start] | 0x20);
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)(list[k][0] | 0x20) == c0 && tok_is(t, list[k]))
            return 1;
    return 0;
}

static int tok_upper(const struct wtok *t)
{
    return (t->flags & ND_TOK_UPPER) != 0;
}

/* ---- stage 1: tokens and tags ------------------------------------------------------------------
 */
/* Appends the field's tokens to w->t, which the caller sized (cap) for every field. */
static enum nd_err add_field(struct work *w, const struct nd_doc *doc, int field, size_t cap)
{
    for (size_t i = 0; i < doc->ntoks; i++) {
        const struct nd_doc_tok *t = &doc->toks[i];
        if (w->n >= cap)
            return ND_ERR_INVALID;
        w->t[w->n] = (struct wtok){.text = doc->text,
                                   .start = t->start,
                                   .end = t->end,
                                   .cstart = t->cstart,
                                   .cend = t->cend,
                                   .flags = t->flags,
                                   .field = (uint8_t)field,
                                   .bodyix = (uint32_t)i,
                                   .sent = field == ND_FIELD_BODY ? t->sent : 0};
        w->t[w->n].h = nd_kb_tokhash(doc->text + w->t[w->n].start, w->t[w->n].end - w->t[w->n].start);
        w->n++;
    }
    return ND_OK;
}

static enum nd_err tag_all(struct work *w, uint8_t **labels)
{
    struct nd_ner_tok *nt;
    enum nd_err err;
    size_t mark;
    /* the labels stay for the caller; the tagger's token array goes when tagging is done (a 5 MB
     * story has a million tokens) */
    if (!(*labels = nd_scratch_alloc(w->n ? w->n : 1)))
        return ND_ERR_NOMEM;
    mark = nd_scratch_mark();
    if (!(nt = nd_scratch_alloc((w->n ? w->n : 1) * sizeof(*nt))))
        return ND_ERR_NOMEM;
    for (size_t i = 0; i < w->n; i++) {
        nt[i].s = w->t[i].text + w->t[i].start;
        nt[i].len = w->t[i].end - w->t[i].start;
        nt[i].sent_start = (uint8_t)((w->t[i].flags & ND_TOK_SENT_START) || i == w->nhead);
        nt[i].label = 0;
        nt[i].lw = w->t[i].h;
    }
    err = nd_tagger_tag(w->enrich->tagger, w->enrich->kb, nt, w->n);
    for (size_t i = 0; i < w->n; i++)
        (*labels)[i] = err == ND_OK ? nt[i].label : 0;
    nd_scratch_release(mark);
    return err;
}

/* ---- stage 2 and 3: spans, types, links --------------------------------------------------------
 */
/* A span named by a word that heads the KB's place names ("Senkaku Islands", "Gulf of Aden") is a
 * place, whatever the tagger made of it: islands, seas and straits are no organisations. */
static int geo_named(const struct work *w, size_t first, size_t count)
{
    const struct nd_kb *kb = w->enrich->kb;
    if (count < 2)
        return 0;
    if (nd_kb_is_geo_head(kb, w->t[first + count - 1].h))
        return 1;
    return count >= 3 && tok_is(&w->t[first + 1], "of") && nd_kb_is_geo_head(kb, w->t[first].h);
}

static enum nd_ent_type type_of_tagger_span(const struct work *w, size_t first, size_t count,
                                            int tl)
{
    if (tl != 1 && geo_named(w, first, count))
        return ND_ENT_LOC;
    switch (tl) {
    case 1:
        return ND_ENT_PERSON;
    case 2:
        return ND_ENT_ORG;
    case 3:
        return ND_ENT_GPE;
    default:
        return ND_ENT_NORP; /* MISC: kept only when the KB knows it as a nationality */
    }
}

static int kb_lookup_span(const struct work *w, size_t first, size_t count)
{
    uint64_t h[MAX_SPAN_TOKENS];
    size_t n = 0;
    if (count > MAX_SPAN_TOKENS)
        return -1;
    for (size_t i = first; i < first + count; i++)
        h[n++] = w->t[i].h;
    /* "the United Nations" and "United Nations" alike */
    if (n > 1 && tok_is(&w->t[first], "the"))
        return nd_kb_lookup(w->enrich->kb, h + 1, n - 1);
    return nd_kb_lookup(w->enrich->kb, h, n);
}

/* Words after which a place name is a place, not an actor. */
static int locative(const struct wtok *t)
{
    static const char *const preps[] = {"in",         "at",     "from",   "to",     "near",
                                        "outside",    "across", "into",   "via",    "around",
                                        "throughout", "inside", "toward", "towards"};
    return tok_in(t, preps, sizeof(preps) / sizeof(preps[0]));
}

static void set_country(char dst[4], const char *src)
{
    memcpy(dst, src, 3);
    dst[3] = '\0';
}

/* Type, link and metonymy for a span, given the KB entry (or -1). Returns 0 to drop the span. */
static int link_span(struct work *w, struct cand *c)
{
    const struct nd_kb *kb = w->enrich->kb;
    const struct nd_kb_entry *e = nd_kb_get(kb, c->kb);

    if (!e && c->count == 1 && c->type != ND_ENT_PERSON) {
        /* a known leader's surname the tagger took for something else ("helping Putin continue") */
        int p = nd_kb_surname_entry(kb, w->t[c->first].h);
        if (p >= 0) {
            c->kb = p;
            e = nd_kb_get(kb, p);
        }
    }
    if (!e) {
        /* MISC the KB does not know (events, products, "Cold War") is none of our types */
        if (c->type == ND_ENT_NORP)
            return 0;
        return 1;
    }
    c->type = e->type;
    set_country(c->country, e->country);
    /* A capital, or a country name, that is not after a locative preposition stands for the
     * government: "Beijing says", "Moscow's interests", "helping Moscow produce". */
    if (!strcmp(e->kind, "capital")) {
        int loc = c->first > 0 && w->t[c->first - 1].field == w->t[c->first].field &&
                  locative(&w->t[c->first - 1]);
        if (!loc) {
            int ctry = nd_kb_country(kb, e->country);
            if (ctry >= 0) {
                c->kb = ctry;
                c->metonym = 1;
            }
        }
    }
    return 1;
}

/* owner[k]: 1 + the tagger candidate covering token k, 0 for none. */
static void add_kb_matches(struct work *w, int *owner)
{
    const struct nd_kb *kb = w->enrich->kb;
    uint64_t *h = nd_scratch_alloc((w->n ? w->n : 1) * sizeof(*h));
    if (!h)
        return;
    for (size_t i = 0; i < w->n; i++)
        h[i] = w->t[i].h;
    for (size_t i = 0; i < w->n;) {
        size_t len = 0, end = i;
        int e, keep = 1;
        /* a match starts capitalised: most tokens go before the window is measured */
        if (!tok_upper(&w->t[i])) {
            i++;
            continue;
        }
        /* phrases do not cross the headline/body boundary */
        while (end < w->n && w->t[end].field == w->t[i].field && end - i < 16)
            end++;
        if ((e = nd_kb_match(kb, h, end, i, &len)) < 0 ||
            (!tok_upper(&w->t[i + len - 1]) && !(w->t[i + len - 1].flags & ND_TOK_NUMBER))) {
            i++;
            continue;
        }
        /* A longer tagger span around the match wins ("U.N. General Assembly"); the same span takes
         * the KB's link; tagger spans the match only overlaps give way to it. */
        for (size_t k = i; k < i + len; k++) {
            struct cand *c;
            if (!owner[k])
                continue;
            c = &w->c[owner[k] - 1];
            if (c->count && c->first <= i && c->first + c->count >= i + len) {
                if (c->count == len && c->kb < 0)
                    c->kb = e;
                keep = 0;
            }
        }
        if (keep) {
            for (size_t k = i; k < i + len; k++)
                if (owner[k])
                    w->c[owner[k] - 1].count = 0;
            if (push_cand(w, (struct cand){.first = i, .count = len, .kb = e, .confidence = 0.9f}))
                break;
            for (size_t k = i; k < i + len; k++)
                owner[k] = (int)w->nc;
        }
        i += len;
    }
}

/* ---- stage 4: roles and short forms ------------------------------------------------------------
 */
static const char *const role_heads[] = {"president",    "minister",
                                         "secretary",    "adviser",
                                         "advisor",      "chancellor",
                                         "premier",      "king",
                                         "queen",        "prince",
                                         "ambassador",   "envoy",
                                         "spokesman",    "spokeswoman",
                                         "spokesperson", "leader",
                                         "governor",     "senator",
                                         "general",      "commander",
                                         "chief",        "director",
                                         "chairman",     "chairwoman",
                                         "head",         "secretary-general",
                                         "mayor",        "representative",
                                         "official",     "diplomat",
                                         "negotiator",   "lawmaker",
                                         "emir",         "sheikh",
                                         "ayatollah",    "speaker",
                                         "counterpart"};
static const char *const role_mods[] = {
    "foreign",      "defence",  "defense",      "prime",   "deputy",    "vice",     "state",
    "national",     "security", "policy",       "of",      "interior",  "finance",  "trade",
    "economy",      "top",      "senior",       "chief",   "former",    "acting",   "supreme",
    "affairs",      "external", "home",         "justice", "energy",    "health",   "army",
    "military",     "navy",     "intelligence", "first",   "assistant", "under",    "special",
    "presidential", "the",      "and",          "for",     "treasury",  "commerce", "cabinet",
    "economic",     "armed",    "forces",       "staff",   "joint",     "general",  "council",
    "un",           "nato",     "eu",           "office",  "press"};

#define IN(t, list) tok_in(t, list, sizeof(list) / sizeof(list[0]))

/* Walk back from a person over title words: "U.S. Secretary of State | Antony Blinken". The role is
 * the title words; the country comes from a NORP or GPE just before them. */
static void find_role(struct work *w, struct cand *c, const int *cand_at)
{
    size_t i = c->first, b = c->first;
    int head = 0;
    while (b > 0 && w->t[b - 1].field == w->t[i].field && c->first - b < 8) {
        const struct wtok *t = &w->t[b - 1];
        if (cand_at[b - 1] >= 0)
            break;
        if (IN(t, role_heads))
            head = 1;
        else if (!IN(t, role_mods))
            break;
        b--;
    }
    while (b < i && (tok_is(&w->t[b], "of") || tok_is(&w->t[b], "the") || tok_is(&w->t[b], "and")))
        b++;
    if (!head || b == i)
        return;
    c->role_b = w->t[b].text + w->t[b].start;
    c->role_e = w->t[i - 1].text + w->t[i - 1].end;
    /* affiliation: a country or nationality right before the title */
    if (b > 0 && cand_at[b - 1] >= 0) {
        const struct cand *prev = &w->c[cand_at[b - 1]];
        if (prev->country[0] && (prev->type == ND_ENT_GPE || prev->type == ND_ENT_NORP))
            set_country(c->country, prev->country);
    }
}

/* ---- grouping into entities --------------------------------------------------------------------
 */
static char *span_text(const struct work *w, size_t first, size_t count)
{
    const struct wtok *a = &w->t[first], *b = &w->t[first + count - 1];
    return nd_strndup(a->text + a->start, b->end - a->start);
}

static int same_person(const struct work *w, const struct cand *full, const struct cand *c)
{
    /* every token of the short form appears in the full name: "Blinken", "Wang", "Xi" */
    for (size_t i = c->first; i < c->first + c->count; i++) {
        int found = 0;
        for (size_t j = full->first; j < full->first + full->count && !found; j++)
            found = w->t[i].h == w->t[j].h;
        if (!found)
            return 0;
    }
    return 1;
}

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    /* body before headline, then by position */
    return x->first < y->first ? -1 : x->first > y->first;
}

/* Candidates in cmp_cand order, equal ones kept in their order (as the merge sort behind glibc's
 * qsort keeps them). They come mostly in order already: a story's hundred or so are placed by
 * insertion, with no comparator call per step; a long list goes to qsort. */
#define CAND_INSERTION_MAX 256

static void sort_cands(struct cand *c, size_t n)
{
    if (n > CAND_INSERTION_MAX) {
        qsort(c, n, sizeof(*c), cmp_cand);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        struct cand x;
        size_t j = i;
        if (c[i - 1].first <= c[i].first)
            continue;
        x = c[i];
        while (j > 0 && c[j - 1].first > x.first) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = x;
    }
}

/* Unlinked mentions with the same type and words are one entity. */
static uint64_t text_key(const struct work *w, const struct cand *c)
{
    uint64_t k = (uint64_t)c->type + 77;
    for (size_t i = c->first; i < c->first + c->count; i++)
        k = hmix(k, w->t[i].h);
    return k;
}

struct ent_build {
    struct nd_entity *e;
    size_t mcap;      /* allocated mentions */
    struct cand *rep; /* the mention that named it */
    double score;
};

static enum nd_err build_entities(struct work *w, struct nd_entities *ents)
{
    const struct nd_kb *kb = w->enrich->kb;
    struct ent_build *eb = nd_scratch_calloc(w->nc ? w->nc : 1, sizeof(*eb));
    struct imap bykb = {0}, bytext = {0}, bytok = {0}, byname = {0};
    int found;
    size_t ne = 0;
    enum nd_err err = ND_OK;
    size_t nbody_sent = 0;

    size_t person_toks = 0;
    for (size_t ci = 0; ci < w->nc; ci++)
        if (w->c[ci].type == ND_ENT_PERSON)
            person_toks += w->c[ci].count;
    if (!eb || imap_init(&bykb, w->nc) || imap_init(&bytext, w->nc) || imap_init(&bytok, w->nc) ||
        imap_init(&byname, person_toks)) {
        err = ND_ERR_NOMEM;
        goto out;
    }
    for (size_t ci = 0; ci < w->nc; ci++)
        w->c[ci].group = -1;
    /* Persons with two or more tokens first: they are what short forms resolve to. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t ci = 0; ci < w->nc; ci++) {
            struct cand *c = &w->c[ci];
            int g = -1;
            if (c->group >= 0 || !c->count)
                continue;
            if (pass == 0 && !(c->type == ND_ENT_PERSON && c->count >= 2 && c->kb < 0))
                continue;
            if (c->ref) {
                g = imap_get(&bytok, c->ref, -1);
                if (g < 0)
                    continue;
            }
            if (g < 0 && c->kb >= 0)
                g = imap_get(&bykb, (uint64_t)c->kb + 1, -1);
            if (g < 0 && c->type == ND_ENT_PERSON && c->kb < 0) {
                /* a short form: every token in the full name of a person named before */
                int cand = imap_get(&byname, w->t[c->first].h, -1);
                if (cand >= 0 && w->c[cand].count > c->count && same_person(w, &w->c[cand], c))
                    g = w->c[cand].group;
            }
            if (g < 0 && c->kb < 0)
                g = imap_get(&bytext, text_key(w, c), -1);
            if (g >= 0 && c->type == ND_ENT_PERSON && c->count < eb[g].rep->count)
                c->resolved = 1;
            if (g < 0 && c->type == ND_ENT_PERSON && c->count == 1 && c->kb < 0) {
                /* a lone surname nobody in the story had: the KB's person with that surname */
                int e = nd_kb_surname_entry(kb, w->t[c->first].h);
                if (e >= 0) {
                    c->kb = e;
                    g = imap_get(&bykb, (uint64_t)e + 1, -1);
                }
            }
            if (g < 0 && ne >= ND_ENT_MAX_ENTITIES)
                continue; /* c->group stays -1: left out */
            if (g < 0) {
                const struct nd_kb_entry *ke = nd_kb_get(kb, c->kb);
                struct nd_entity *e = nd_xcalloc(1, sizeof(*e));
                e->type = c->type;
                if (ke) {
                    e->type = ke->type;
                    e->name = nd_strdup(ke->canonical);
                    e->wikidata = nd_strdup(ke->wikidata);
                    e->kb_id = nd_strdup(ke->key);
                    e->kind = ke->kind;
                    if (ke->role)
                        e->role = nd_strdup(ke->role);
                    set_country(e->country, ke->country);
                } else {
                    e->name = span_text(w, c->first, c->count);
                }
                g = (int)ne++;
                eb[g].e = e;
                eb[g].rep = c;
                if (c->kb >= 0)
                    *imap_slot(&bykb, (uint64_t)c->kb + 1, &found) = g;
                else
                    *imap_slot(&bytext, text_key(w, c), &found) = g;
            }
            c->group = g;
            *imap_slot(&bytok, c->first + 1, &found) = g;
            if (c->type == ND_ENT_PERSON && c->count >= 2 && !c->resolved)
                for (size_t k = c->first; k < c->first + c->count; k++) {
                    int *slot = imap_slot(&byname, w->t[k].h, &found);
                    if (!found)
                        *slot = (int)ci;
                }
            /* role and affiliation from the text; the text's role is what this story says */
            if (c->role_b && !(c->resolved && eb[g].e->role)) {
                free(eb[g].e->role);
                eb[g].e->role = nd_strndup(c->role_b, (size_t)(c->role_e - c->role_b));
            }
            if (c->country[0] && !eb[g].e->country[0])
                set_country(eb[g].e->country, c->country);
        }
    }
    /* mentions and salience */
    for (size_t ci = 0; ci < w->nc; ci++) {
        struct cand *c = &w->c[ci];
        struct nd_entity *e;
        struct nd_mention *m;
        const struct wtok *a, *z;
        double weight;
        if (c->group < 0 || !c->count)
            continue;
        e = eb[c->group].e;
        a = &w->t[c->first];
        if (e->mention_total++ >= ND_ENT_MAX_MENTIONS) {
            eb[c->group].score += a->field == ND_FIELD_HEADLINE ? 3.0 : 1.0;
            continue;
        }
        if (e->nmentions == eb[c->group].mcap) {
            size_t ncap = eb[c->group].mcap ? eb[c->group].mcap * 2 : 4;
            m = realloc(e->mentions, ncap * sizeof(*m));
            if (!m) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            e->mentions = m;
            eb[c->group].mcap = ncap;
        }
        m = &e->mentions[e->nmentions++];
        z = &w->t[c->first + c->count - 1];
        memset(m, 0, sizeof(*m));
        m->field = a->field;
        m->start = a->start;
        m->end = z->end;
        m->cstart = a->cstart;
        m->cend = z->cend;
        m->sentence = a->sent;
        m->tok_first = a->bodyix;
        m->tok_count = (uint32_t)c->count;
        m->metonym = c->metonym;
        m->resolved = c->resolved;
        m->confidence = c->confidence;
        if (a->field == ND_FIELD_HEADLINE)
            weight = 3.0;
        else if (a->sent == 0)
            weight = 2.0;
        else if (a->sent < 3)
            weight = 1.5;
        else
            weight = 1.0;
        eb[c->group].score += weight;
        if (a->field == ND_FIELD_BODY && a->sent + 1 > nbody_sent)
            nbody_sent = a->sent + 1;
    }
    {
        double max = 0;
        for (size_t k = 0; k < ne; k++)
            if (eb[k].score > max)
                max = eb[k].score;
        ents->entities = calloc(ne ? ne : 1, sizeof(*ents->entities));
        if (!ents->entities) {
            err = ND_ERR_NOMEM;
            goto out;
        }
        for (size_t k = 0; k < ne; k++) {
            eb[k].e->salience = max > 0 ? (double)(long)(eb[k].score / max * 1000 + 0.5) / 1000 : 0;
            ents->entities[k] = *eb[k].e;
            free(eb[k].e);
            eb[k].e = NULL;
        }
        ents->nentities = ne;
        ne = 0;
    }
out:
    for (size_t k = 0; k < ne; k++) {
        if (eb[k].e) {
            free(eb[k].e->name);
            free(eb[k].e->wikidata);
            free(eb[k].e->kb_id);
            free(eb[k].e->role);
            free(eb[k].e->mentions);
            free(eb[k].e);
        }
    }
    return err;
}

/* Short forms the tagger missed: capitalised tokens equal to a token of a known multi-token person
 * ("Wang" after "Wang Yi"), and "the minister" / "the secretary" after a person with that title. */
static void add_short_forms(struct work *w, const int *cand_at)
{
    size_t nc0 = w->nc, ntok = 0;
    struct imap names = {0};
    int found;

    for (size_t ci = 0; ci < nc0; ci++)
        if (w->c[ci].count >= 2 && w->c[ci].type == ND_ENT_PERSON)
            ntok += w->c[ci].count;
    if (imap_init(&names, ntok))
        return;
    for (size_t ci = 0; ci < nc0; ci++) {
        const struct cand *p = &w->c[ci];
        if (p->count < 2 || p->type != ND_ENT_PERSON)
            continue;
        for (size_t j = p->first; j < p->first + p->count; j++) {
            int *slot;
            if (w->t[j].flags & ND_TOK_ABBREV)
                continue;
            slot = imap_slot(&names, w->t[j].h, &found);
            if (!found)
                *slot = (int)ci;
        }
    }
    for (size_t i = 0; i < w->n; i++) {
        int ci;
        if (cand_at[i] >= 0 || !tok_upper(&w->t[i]) ||
            (w->t[i].flags & ND_TOK_ALLCAPS && w->t[i].end - w->t[i].start < 3))
            continue;
        if ((ci = imap_get(&names, w->t[i].h, -1)) >= 0 && (size_t)ci < nc0 && w->c[ci].first < i) {
            struct cand c = {.first = i,
                             .count = 1,
                             .type = ND_ENT_PERSON,
                             .kb = -1,
                             .confidence = 0.7f,
                             .resolved = 1,
                             .known_b = w->c[ci].known_b,
                             .known_e = w->c[ci].known_e};
            if (push_cand(w, c))
                break;
        }
    }

    /* "the minister": the person with that title who was last written about; within that sentence
     * the first one named (the subject, usually). Short forms count, through the role they refer
     * to. Candidates are sorted by position: walk back from the phrase, a bounded number of steps.
     */
    for (size_t i = 1, lo = 0; i < w->n; i++) {
        const struct wtok *t = &w->t[i];
        size_t hl = t->end - t->start, best = (size_t)-1, steps = 0;
        if (!tok_is(&w->t[i - 1], "the") || !IN(t, role_heads) || (t->flags & ND_TOK_UPPER) ||
            (i + 1 < w->n && tok_upper(&w->t[i + 1])) || t->field != ND_FIELD_BODY)
            continue;
        while (lo < nc0 && w->c[lo].first < i - 1)
            lo++;
        for (size_t ci = lo; ci-- > 0 && steps < 64; steps++) {
            const struct cand *p = &w->c[ci];
            int match = 0;
            if (best != (size_t)-1 && w->t[p->first].sent != w->t[w->c[best].first].sent)
                break;
            if (!p->count || p->type != ND_ENT_PERSON || !p->known_b ||
                w->t[p->first].field != ND_FIELD_BODY)
                continue;
            for (const char *r = p->known_b; r + hl <= p->known_e && !match; r++)
                match = !strncasecmp(r, t->text + t->start, hl);
            if (match)
                best = ci;
        }
        if (best != (size_t)-1) {
            struct cand c = w->c[best];
            c.ref = w->c[best].first + 1;
            c.first = i - 1;
            c.count = 2;
            c.role_b = c.role_e = NULL;
            c.resolved = 1;
            c.confidence = 0.6f;
            c.metonym = 0;
            if (push_cand(w, c))
                break;
        }
    }
}

enum nd_err nd_entities_find(const struct nd_enrich *enrich, const struct nd_story *story,
                             struct nd_entities *ents)
{
    const char *body = story->body_text ? story->body_text : "";
    struct nd_doc *doc = nd_xcalloc(1, sizeof(*doc));
    enum nd_err err = nd_doc_build(doc, body, strlen(body));
    if (err != ND_OK) {
        free(doc);
        memset(ents, 0, sizeof(*ents));
        return err;
    }
    err = nd_entities_find_doc(enrich, story, doc, ents);
    ents->own_doc = doc; /* nd_entities_find_doc zeroed ents first */
    return err;
}

enum nd_err nd_entities_find_doc(const struct nd_enrich *enrich, const struct nd_story *story,
                                 const struct nd_doc *doc, struct nd_entities *ents)
{
    struct work w;
    struct nd_doc head = {0};
    uint8_t *labels = NULL;
    int *owner = NULL;
    struct imap known = {0};
    int *cand_at = NULL;
    size_t tcap = 0, mark = nd_scratch_mark();
    enum nd_err err;

    memset(ents, 0, sizeof(*ents));
    memset(&w, 0, sizeof(w));
    w.enrich = enrich;
    w.story = story;
    ents->doc = doc;
    if (!doc) {
        err = ND_ERR_INVALID;
        goto out;
    }
    if (story->headline &&
        (err = nd_doc_build(&head, story->headline, strlen(story->headline))) != ND_OK)
        goto out;
    /* sized once for both fields */
    tcap = head.ntoks + doc->ntoks;
    if (tcap && !(w.t = nd_scratch_alloc(tcap * sizeof(*w.t)))) {
        err = ND_ERR_NOMEM;
        goto out;
    }
    if ((err = add_field(&w, &head, ND_FIELD_HEADLINE, tcap)) != ND_OK)
        goto out;
    w.nhead = w.n;
    if ((err = add_field(&w, doc, ND_FIELD_BODY, tcap)) != ND_OK)
        goto out;
    if (!w.n || !enrich || !enrich->tagger)
        goto out;
    if ((err = tag_all(&w, &labels)) != ND_OK)
        goto out;

    /* tagger spans */
    for (size_t i = 0; i < w.n;) {
        size_t j;
        int tl = (labels[i] + 1) / 2;
        if (!labels[i]) {
            i++;
            continue;
        }
        for (j = i + 1; j < w.n && labels[j] && !(labels[j] & 1) && (labels[j] + 1) / 2 == tl &&
                        w.t[j].field == w.t[i].field;
             j++)
            ;
        /* a capitalised place word the tagger left out names the place the span is part of
         * ("the Sulu Sea": tagged "Sulu") */
        if (j < w.n && !labels[j] && w.t[j].field == w.t[i].field && w.t[j].sent == w.t[i].sent &&
            tok_upper(&w.t[j]) && nd_kb_is_geo_head(enrich->kb, w.t[j].h))
            j++;
        {
            /* quotes and brackets the tagger swept into a span are not part of the name */
            size_t a = i, z = j;
            while (a < z && (w.t[a].flags & ND_TOK_PUNCT))
                a++;
            while (z > a && (w.t[z - 1].flags & ND_TOK_PUNCT))
                z--;
            /* names are written with a capital somewhere ("al-Qaeda" too has "Qaeda"); a span of
             * lower-case words is a tagger slip */
            int cap = 0;
            for (size_t k = a; k < z && !cap; k++)
                cap = tok_upper(&w.t[k]) && !(w.t[k].flags & ND_TOK_PUNCT);
            if (z == a || z - a > MAX_SPAN_TOKENS || !cap) {
                i = j;
                continue;
            }
            i = a;
            j = z;
        }
        {
            struct cand c = {.first = i,
                             .count = j - i,
                             .type = type_of_tagger_span(&w, i, j - i, tl),
                             .confidence = 0.8f};
            c.kb = kb_lookup_span(&w, i, j - i);
            if (push_cand(&w, c)) {
                err = ND_ERR_NOMEM;
                goto out;
            }
        }
        i = j;
    }
    /* owner and cand_at share one allocation */
    owner = nd_scratch_calloc(2 * w.n, sizeof(int));
    cand_at = owner ? owner + w.n : NULL;
    if (!owner) {
        err = ND_ERR_NOMEM;
        goto out;
    }
    for (size_t ci = 0; ci < w.nc; ci++)
        for (size_t k = w.c[ci].first; k < w.c[ci].first + w.c[ci].count; k++)
            owner[k] = (int)ci + 1;
    add_kb_matches(&w, owner);
    /* link, type, drop; then roles (which need the country candidates linked) */
    for (size_t ci = 0; ci < w.nc; ci++)
        if (w.c[ci].count && !link_span(&w, &w.c[ci]))
            w.c[ci].count = 0;
    sort_cands(w.c, w.nc);
    for (size_t i = 0; i < w.n; i++)
        cand_at[i] = -1;
    for (size_t ci = 0; ci < w.nc; ci++)
        for (size_t k = w.c[ci].first; k < w.c[ci].first + w.c[ci].count; k++)
            cand_at[k] = (int)ci;
    for (size_t ci = 0; ci < w.nc; ci++)
        if (w.c[ci].count && w.c[ci].type == ND_ENT_PERSON)
            find_role(&w, &w.c[ci], cand_at);
    /* what each person is known as, for "the minister" later: the title before the full name, else
     * the KB's role; a short form knows the role of the full name it repeats */
    if (imap_init(&known, w.nc * MAX_SPAN_TOKENS / 4 + 16)) {
        err = ND_ERR_NOMEM;
        goto out;
    }
    for (size_t ci = 0, used = 0; ci < w.nc; ci++) {
        struct cand *c = &w.c[ci];
        const struct nd_kb_entry *ke = nd_kb_get(enrich->kb, c->kb);
        int k, found;
        if (!c->count || c->type != ND_ENT_PERSON)
            continue;
        if (c->role_b) {
            c->known_b = c->role_b;
            c->known_e = c->role_e;
        } else if (ke && ke->role) {
            c->known_b = ke->role;
            c->known_e = ke->role + strlen(ke->role);
        } else if ((k = imap_get(&known, w.t[c->first].h, -1)) >= 0 && w.c[k].count > c->count &&
                   same_person(&w, &w.c[k], c)) {
            c->known_b = w.c[k].known_b;
            c->known_e = w.c[k].known_e;
        }
        if (c->known_b && c->count >= 2)
            for (size_t j = c->first; j < c->first + c->count && used * 2 < known.mask;
                 j++, used++) {
                int *slot = imap_slot(&known, w.t[j].h, &found);
                if (!found)
                    *slot = (int)ci;
            }
    }
    add_short_forms(&w, cand_at);
    sort_cands(w.c, w.nc);
    /* headline tokens come first in w.t; list body entities first by moving headline ones last is
     * done by build order: body candidates are processed in text order after the headline's. */
    err = build_entities(&w, ents);
out:
    nd_scratch_release(mark);
    free(w.c);
    nd_doc_free(&head);
    if (err != ND_OK) {
        nd_entities_free(ents);
        if (err == ND_ERR_NOMEM || err == ND_ERR_TOOBIG)
            return err;
    }
    return err;
}

void nd_entities_free(struct nd_entities *ents)
{
    if (!ents)
        return;
    for (size_t i = 0; i < ents->nentities; i++) {
        struct nd_entity *e = &ents->entities[i];
        free(e->name);
        free(e->wikidata);
        free(e->kb_id);
        free(e->role);
        free(e->mentions);
    }
    free(ents->entities);
    nd_doc_free(ents->own_doc);
    free(ents->own_doc);
    memset(ents, 0, sizeof(*ents));
}

const struct nd_entity *nd_entities_at(const struct nd_entities *ents, uint32_t start, uint32_t end)
{
    for (size_t i = 0; i < ents->nentities; i++)
        for (size_t k = 0; k < ents->entities[i].nmentions; k++) {
            const struct nd_mention *m = &ents->entities[i].mentions[k];
            if (m->field == ND_FIELD_BODY && m->start < end && m->end > start)
                return &ents->entities[i];
        }
    return NULL;
}

json_t *nd_entities_to_json(const struct nd_entities *ents, const struct nd_story *story)
{
    const char *body = story->body_text ? story->body_text : "";
    const char *headline = story->headline ? story->headline : "";
    json_t *arr = json_array(), *types[ND_ENT_NTYPES] = {0}, *headline_field = NULL;
    /* keys are ASCII literals: the _nocheck setters skip re-validating them (this runs per
     * mention). Values repeated within the array (a type name, an entity's mention text written the
     * same way again) are one shared node: jansson counts references, and the tree is never edited
     * in place, so sharing saves an allocation and a UTF-8 check per repeat. */
    for (size_t i = 0; i < ents->nentities; i++) {
        const struct nd_entity *e = &ents->entities[i];
        json_t *obj = json_object(), *ids = json_object(), *ms = json_array();
        /* the entity's distinct mention texts so far (most entities are written one or two ways) */
        struct {
            const char *s;
            size_t n;
            json_t *v;
        } seen[4];
        size_t nseen = 0;
        int country_like = e->country[0] && (e->type == ND_ENT_GPE || e->type == ND_ENT_NORP) &&
                           e->kind && (!strcmp(e->kind, "country") || !strcmp(e->kind, "norp"));
        if ((unsigned)e->type < ND_ENT_NTYPES) {
            if (!types[e->type])
                types[e->type] = json_string(nd_ent_type_name(e->type));
            JSON_SET(obj, "type", types[e->type]);
        } else {
            JSON_SET_NEW(obj, "type", json_string(nd_ent_type_name(e->type)));
        }
        JSON_SET_NEW(obj, "name", json_string(e->name ? e->name : ""));
        if (country_like)
            JSON_SET_NEW(ids, "iso3166", json_string(e->country));
        if (e->wikidata)
            JSON_SET_NEW(ids, "wikidata", json_string(e->wikidata));
        if (e->kb_id)
            JSON_SET_NEW(ids, "kb", json_string(e->kb_id));
        JSON_SET_NEW(obj, "ids", ids);
        if (e->kind)
            JSON_SET_NEW(obj, "kind", json_string(e->kind));
        if (e->role)
            JSON_SET_NEW(obj, "role", json_string(e->role));
        if (e->country[0] && !country_like)
            JSON_SET_NEW(obj, "country", json_string(e->country));
        JSON_SET_NEW(obj, "salience", json_real(e->salience));
        for (size_t k = 0; k < e->nmentions; k++) {
            const struct nd_mention *m = &e->mentions[k];
            json_t *mo = json_object(), *text = NULL;
            const char *ts = m->field == ND_FIELD_HEADLINE ? headline + m->start : body + m->start;
            size_t tn = m->end - m->start;
            JSON_SET_NEW(mo, "start", json_integer(m->cstart));
            JSON_SET_NEW(mo, "end", json_integer(m->cend));
            for (size_t k2 = 0; k2 < nseen && !text; k2++)
                if (seen[k2].n == tn && !memcmp(seen[k2].s, ts, tn))
                    text = seen[k2].v;
            if (text) {
                JSON_SET(mo, "text", text);
            } else {
                text = json_stringn(ts, tn);
                if (text && nseen < sizeof(seen) / sizeof(seen[0])) {
                    seen[nseen].s = ts;
                    seen[nseen].n = tn;
                    seen[nseen++].v = text;
                }
                JSON_SET_NEW(mo, "text", text);
            }
            if (m->field == ND_FIELD_HEADLINE) {
                if (!headline_field)
                    headline_field = json_string("headline");
                JSON_SET(mo, "field", headline_field);
            }
            if (m->metonym)
                JSON_SET_NEW(mo, "metonym", json_true());
            if (m->resolved)
                JSON_SET_NEW(mo, "resolved", json_true());
            json_array_append_new(ms, mo);
        }
        JSON_SET_NEW(obj, "mentions", ms);
        if (e->mention_total > e->nmentions)
            JSON_SET_NEW(obj, "mention_count", json_integer((json_int_t)e->mention_total));
        json_array_append_new(arr, obj);
    }
    for (size_t k = 0; k < ND_ENT_NTYPES; k++)
        json_decref(types[k]);
    json_decref(headline_field);
    return arr;
}
