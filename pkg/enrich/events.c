/* Event coder: see events.h for the method. The model file format is documented in
 * scripts/build_events_model.py; each line is one record, tab-separated, kind first:
 *   M code plover goldstein | S &synset members(|) | D lemma code | V form lemma
 *   P lemma code words...   | A key country phoenix-code kind name | G key sector
 *   N key code role */
#include "enrich/events.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "enrich/events_lex.h"

/* Setting a key given as a string literal: its length is known at compile time, so jansson is not
 * left to strlen it on every set (this runs for every key of every mention and event). */
#define JSON_SET_NEW(obj, lit, value) \
    json_object_setn_new_nocheck((obj), "" lit "", sizeof(lit) - 1, (value))
#define JSON_SET(obj, lit, value) \
    json_object_setn_nocheck((obj), "" lit "", sizeof(lit) - 1, (value))

static const char *const *const *word_lists_ref(void);
static const char *const *preps_ref(void);

#define MODEL_CAP (64u << 20)
#define MAX_PHRASE 8 /* longest dictionary phrase tried, in tokens */
#define MAX_TOKENS ND_EVLEX_MAX_TOKENS
#define MAX_SPANS 256     /* actor chunks per sentence */
#define MAX_MEMO 128      /* names remembered across a story */
#define MAX_EVENTS 256    /* events per story */
#define PATTERN_WINDOW 10 /* tokens after a verb a pattern may span */
#define FIRST_AHEAD 8     /* tokens between a dictionary slot's prefetch and its lookup */

struct verb {
    const char *lemma;
    char code[6];
    uint8_t speech;
};

struct pattern {
    char code[6];
    uint8_t
        content; /* has a word other than a preposition (else too vague to use without a parse) */
    uint16_t nwords;
    uint32_t words; /* index into words[] */
};

struct link {
    uint32_t pattern;
    uint32_t next; /* UINT32_MAX ends the chain */
};

struct actor {
    const char *name;
    const char *code; /* Phoenix code, "USAGOV" */
    char cc[4];       /* ISO alpha-3, "IGO", or "" for a non-actor ("Reuters") */
    char sector[4];
    char kind; /* C country/place, O organisation, P person */
};

struct synset {
    const char *first; /* members, NUL-separated and consecutive in the model buffer */
    uint32_t n;
};

struct first_info {
    uint32_t masks; /* 8 bits per dictionary: bit n-1 set when a phrase of n tokens starts here */
    uint32_t cls;   /* word_lists bits, and PATTERN_START */
    uint32_t single[4]; /* per dictionary, the value of the one-token phrase (when bit 0 is set) */
};

#define PATTERN_START (1u << 31)
#define PATTERN_PLURAL (1u << 30) /* the singular of this word starts a pattern */

/* English plural of a pattern noun into buf: "border" -> "borders", "crisis" -> none. Returns 1
 * when made. */
static int plural_key(const char *word, char *buf, size_t bufsz)
{
    size_t n = strlen(word);
    if (n < 3 || n + 3 > bufsz || word[0] == '&' || strchr(word, ' '))
        return 0;
    memcpy(buf, word, n + 1);
    if (word[n - 1] == 's' || word[n - 1] == 'x' || (n > 2 && !strcmp(word + n - 2, "ch")) ||
        (n > 2 && !strcmp(word + n - 2, "sh")))
        memcpy(buf + n, "es", 3);
    else if (word[n - 1] == 'y' && !strchr("aeiou", word[n - 2]))
        memcpy(buf + n - 1, "ies", 4);
    else
        memcpy(buf + n, "s", 2);
    return 1;
}

/* Does token key k (length kl) equal word w or its plural? */
static int word_or_plural(const char *w, const char *k, size_t kl)
{
    char pl[ND_EVTOK_KEYMAX + 4];
    size_t wl = strlen(w);
    if (wl == kl)
        return !memcmp(w, k, kl);
    if (kl < wl + 1 || kl > wl + 2 || !plural_key(w, pl, sizeof(pl)))
        return 0;
    return strlen(pl) == kl && !memcmp(pl, k, kl);
}

struct nominal {
    char code[6];
    char role; /* 'o' obj, 'p' pair */
};

struct plover {
    char code[6];
    const char *type;
    float goldstein;
};

struct nd_events {
    char *buf; /* the model file, fields NUL-terminated in place */
    struct verb *verbs;
    size_t nverbs;
    struct pattern *patterns;
    size_t npatterns;
    const char **words;
    size_t nwords;
    struct link *links;
    size_t nlinks;
    struct actor *actors;
    size_t nactors;
    char (*sectors)[4];
    size_t nsectors;
    struct nominal *nominals;
    size_t nnominals;
    struct plover *plovers;
    size_t nplovers;
    struct synset *syns;
    size_t nsyns;
    struct first_info *finfo;
    size_t nfinfo, finfo_cap;
    struct nd_evmap *syn_names, *verb_forms, *verb_lemmas, *pat_index, *syn_members, *actor_map,
        *agent_map, *nominal_map, *plover_map,
        *first_len; /* first token (prefixed by kind) -> longest phrase */
};

/* ---------- loading ---------- */

static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

static void *grow_array(void *arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 256;
    void *p = realloc(arr, ncap * elem);
    if (!p)
        return NULL;
    *cap = ncap;
    return p;
}

/* What a token can start: for each dictionary (actors, agents, nominal triggers, verbs) a mask of
 * the phrase lengths that begin with it, and its function-word classes. One lookup per token serves
 * all of them, and a phrase is only joined and looked up at lengths that exist. */
static int kind_shift(char kind)
{
    return kind == 'A' ? 0 : kind == 'G' ? 8 : kind == 'N' ? 16 : 24;
}

static struct first_info *first_info_of(struct nd_events *events, const char *key, size_t klen)
{
    uint32_t idx;
    if (nd_evmap_get(events->first_len, key, klen, &idx))
        return &events->finfo[idx];
    events->finfo =
        grow_array(events->finfo, &events->finfo_cap, events->nfinfo, sizeof(*events->finfo));
    if (!events->finfo || nd_evmap_put(events->first_len, key, klen, (uint32_t)events->nfinfo))
        return NULL;
    memset(&events->finfo[events->nfinfo], 0, sizeof(events->finfo[0]));
    return &events->finfo[events->nfinfo++];
}

static int kind_index(char kind)
{
    return kind_shift(kind) / 8;
}

static int note_first(struct nd_events *events, char kind, const char *key, uint32_t value)
{
    const char *sp = strchr(key, ' ');
    size_t flen = sp ? (size_t)(sp - key) : strlen(key);
    uint32_t ntok = 1;
    struct first_info *fi;
    if (flen >= ND_EVTOK_KEYMAX)
        return 0;
    for (const char *p = key; *p; p++)
        ntok += *p == ' ';
    if (ntok > MAX_PHRASE)
        return 0;
    if (!(fi = first_info_of(events, key, flen)))
        return -1;
    fi->masks |= (1u << (ntok - 1)) << kind_shift(kind);
    if (ntok == 1)
        fi->single[kind_index(kind)] = value; /* a later record replaces it, as in the maps */
    return 0;
}

static void copy_code(char *dst, const char *src, size_t sz)
{
    size_t n = strnlen(src, sz - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

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

static int index_pattern(struct nd_events *events, size_t *lcap, const char *lemma,
                         const char *word)
{
    char key[256];
    uint32_t head = UINT32_MAX;
    int n = snprintf(key, sizeof(key), "%s\x01%s", lemma, word);
    if (n <= 0 || (size_t)n >= sizeof(key))
        return 0;
    nd_evmap_get(events->pat_index, key, (size_t)n, &head);
    struct first_info *fi = first_info_of(events, word, strlen(word));
    if (!fi)
        return -1;
    fi->cls |= PATTERN_START; /* most words start no pattern: they skip the pattern lookup */
    char plural[ND_EVTOK_KEYMAX + 4];
    if (plural_key(word, plural, sizeof(plural))) {
        /* "opened its borders" matches "open border": the plural finds the singular's chain */
        if (!(fi = first_info_of(events, plural, strlen(plural))))
            return -1;
        fi->cls |= PATTERN_PLURAL;
    }
    events->links = grow_array(events->links, lcap, events->nlinks, sizeof(*events->links));
    if (!events->links)
        return -1;
    events->links[events->nlinks] =
        (struct link){.pattern = (uint32_t)events->npatterns, .next = head};
    if (nd_evmap_put(events->pat_index, key, (size_t)n, (uint32_t)events->nlinks))
        return -1;
    events->nlinks++;
    return 0;
}

static int add_pattern(struct nd_events *events, size_t *pcap, size_t *wcap, size_t *lcap,
                       char *lemma, const char *code, char *words)
{
    struct pattern *pat;
    uint32_t first_word = (uint32_t)events->nwords;
    char *save = NULL;
    events->patterns =
        grow_array(events->patterns, pcap, events->npatterns, sizeof(*events->patterns));
    if (!events->patterns)
        return -1;
    pat = &events->patterns[events->npatterns];
    copy_code(pat->code, code, sizeof(pat->code));
    pat->words = first_word;
    pat->nwords = 0;
    for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        events->words = grow_array(events->words, wcap, events->nwords, sizeof(*events->words));
        if (!events->words)
            return -1;
        events->words[events->nwords++] = w;
        pat->nwords++;
    }
    if (!pat->nwords)
        return 0;
    /* a bare preposition ("meet at") needs a parse to mean anything: such patterns are not used */
    pat->content = 0;
    for (uint16_t x = 0; x < pat->nwords && !pat->content; x++) {
        const char *word = events->words[pat->words + x];
        int prep = 0;
        for (size_t y = 0; preps_ref()[y] && !prep; y++)
            prep = !strcmp(word, preps_ref()[y]);
        pat->content = !prep;
    }
    /* index the pattern under (lemma, first word); a synset first word is indexed under each member
     */
    const char *w0 = events->words[first_word];
    uint32_t syn;
    if (w0[0] == '&' && nd_evmap_get(events->syn_names, w0, strlen(w0), &syn)) {
        const char *m = events->syns[syn].first;
        for (uint32_t k = 0; k < events->syns[syn].n; k++, m += strlen(m) + 1)
            if (index_pattern(events, lcap, lemma, m))
                return -1;
    } else if (index_pattern(events, lcap, lemma, w0)) {
        return -1;
    }
    events->npatterns++;
    return 0;
}

static uint32_t sector_index(struct nd_events *events, size_t *cap, const char *sector)
{
    for (size_t i = 0; i < events->nsectors; i++)
        if (!strncmp(events->sectors[i], sector, 3))
            return (uint32_t)i;
    events->sectors = grow_array(events->sectors, cap, events->nsectors, sizeof(*events->sectors));
    if (!events->sectors)
        return UINT32_MAX;
    snprintf(events->sectors[events->nsectors], 4, "%.3s", sector);
    return (uint32_t)events->nsectors++;
}

static const char *const speech_lemmas[] = {"say",     "tell",     "add",       "state",
                                            "declare", "announce", "insist",    "note",
                                            "stress",  "conclude", "reiterate", NULL};

static enum nd_err model_load(struct nd_events *events, char *errstr, size_t errsz)
{
    enum nd_err err = ND_OK;
    size_t sycap = 0, vcap = 0, pcap = 0, wcap = 0, lcap = 0, acap = 0, scap = 0, ncap = 0,
           mcap = 0;
    size_t lineno = 0;
    char *line = events->buf, *next;

    for (; line && *line; line = next) {
        char *f[8];
        int nf;
        uint32_t idx;
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        nf = split_fields(line, f, 8);
        switch (line[0]) {
        case 'M':
            if (nf < 4) {
                err = ND_ERR_INVALID;
                goto out;
            }
            events->plovers =
                grow_array(events->plovers, &mcap, events->nplovers, sizeof(*events->plovers));
            if (!events->plovers) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            copy_code(events->plovers[events->nplovers].code, f[1], 6);
            events->plovers[events->nplovers].type = f[2];
            events->plovers[events->nplovers].goldstein = strtof(f[3], NULL);
            if (nd_evmap_put(events->plover_map, f[1], strlen(f[1]),
                             (uint32_t)events->nplovers++)) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            break;
        case 'S': {
            char key[128];
            uint32_t count = 0;
            if (nf < 3) {
                err = ND_ERR_INVALID;
                goto out;
            }
            events->syns = grow_array(events->syns, &sycap, events->nsyns, sizeof(*events->syns));
            if (!events->syns) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            for (char *m = f[2], *bar; m; m = bar) {
                bar = strchr(m, '|');
                if (bar)
                    *bar++ = '\0';
                int n = snprintf(key, sizeof(key), "%s\x01%s", f[1], m);
                if (n > 0 && (size_t)n < sizeof(key) &&
                    nd_evmap_put(events->syn_members, key, (size_t)n, 1)) {
                    err = ND_ERR_NOMEM;
                    goto out;
                }
                count++;
            }
            events->syns[events->nsyns] = (struct synset){.first = f[2], .n = count};
            if (nd_evmap_put(events->syn_names, f[1], strlen(f[1]), (uint32_t)events->nsyns++)) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            break;
        }
        case 'D': {
            struct verb *verb;
            if (nf < 3) {
                err = ND_ERR_INVALID;
                goto out;
            }
            events->verbs =
                grow_array(events->verbs, &vcap, events->nverbs, sizeof(*events->verbs));
            if (!events->verbs) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            verb = &events->verbs[events->nverbs];
            verb->lemma = f[1];
            copy_code(verb->code, f[2], sizeof(verb->code));
            verb->speech = 0;
            for (size_t i = 0; speech_lemmas[i]; i++)
                if (!strcmp(f[1], speech_lemmas[i]))
                    verb->speech = 1;
            if (nd_evmap_put(events->verb_lemmas, f[1], strlen(f[1]), (uint32_t)events->nverbs++)) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            break;
        }
        case 'V':
            if (nf < 3 || !nd_evmap_get(events->verb_lemmas, f[2], strlen(f[2]), &idx)) {
                err = ND_ERR_INVALID;
                goto out;
            }
            if (nd_evmap_put(events->verb_forms, f[1], strlen(f[1]), idx) ||
                note_first(events, 'V', f[1], idx)) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            break;
        case 'P':
            if (nf < 4) {
                err = ND_ERR_INVALID;
                goto out;
            }
            if (add_pattern(events, &pcap, &wcap, &lcap, f[1], f[2], f[3])) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            break;
        case 'A': {
            struct actor *actor;
            if (nf < 6) {
                err = ND_ERR_INVALID;
                goto out;
            }
            events->actors =
                grow_array(events->actors, &acap, events->nactors, sizeof(*events->actors));
            if (!events->actors) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            actor = &events->actors[events->nactors];
            memset(actor, 0, sizeof(*actor));
            actor->name = f[5];
            actor->code = f[3];
            actor->kind = f[4][0];
            if (strcmp(f[3], "---"))
                snprintf(actor->cc, sizeof(actor->cc), "%.3s", f[2]);
            if (strlen(f[3]) >= 6)
                snprintf(actor->sector, sizeof(actor->sector), "%.3s", f[3] + 3);
            if (nd_evmap_put(events->actor_map, f[1], strlen(f[1]), (uint32_t)events->nactors++) ||
                note_first(events, 'A', f[1], (uint32_t)events->nactors - 1)) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            break;
        }
        case 'G':
            if (nf < 3) {
                err = ND_ERR_INVALID;
                goto out;
            }
            idx = sector_index(events, &scap, f[2]);
            if (idx == UINT32_MAX || nd_evmap_put(events->agent_map, f[1], strlen(f[1]), idx) ||
                note_first(events, 'G', f[1], idx)) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            break;
        case 'N':
            if (nf < 4) {
                err = ND_ERR_INVALID;
                goto out;
            }
            events->nominals =
                grow_array(events->nominals, &ncap, events->nnominals, sizeof(*events->nominals));
            if (!events->nominals) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            copy_code(events->nominals[events->nnominals].code, f[2], 6);
            events->nominals[events->nnominals].role = f[3][0] == 'p' ? 'p' : 'o';
            if (nd_evmap_put(events->nominal_map, f[1], strlen(f[1]),
                             (uint32_t)events->nnominals++) ||
                note_first(events, 'N', f[1], (uint32_t)events->nnominals - 1)) {
                err = ND_ERR_NOMEM;
                goto out;
            }
            break;
        default:
            err = ND_ERR_INVALID;
            goto out;
        }
    }
    if (!events->nverbs || !events->nactors || !events->nplovers) {
        snprintf(errstr, errsz, "events model: no verbs, actors or PLOVER table");
        return ND_ERR_INVALID;
    }
    return ND_OK;
out:
    if (err == ND_ERR_INVALID)
        snprintf(errstr, errsz, "events model: line %zu: malformed record", lineno);
    else
        snprintf(errstr, errsz, "events model: out of memory at line %zu", lineno);
    return err;
}

struct nd_events *nd_events_new(const char *models_dir, char *errstr, size_t errsz)
{
    struct nd_events *events = NULL;
    struct nd_buf path;
    size_t len = 0;
    enum nd_err err;

    events = calloc(1, sizeof(*events));
    if (!events) {
        snprintf(errstr, errsz, "events model: out of memory");
        return NULL;
    }
    if ((err = nd_path_join(&path, models_dir, "events.model")) == ND_OK)
        err = nd_file_read(path.data, MODEL_CAP, &events->buf, &len);
    nd_buf_free(&path);
    if (err) {
        snprintf(errstr, errsz, "events model %s/events.model: %s", models_dir, nd_err_str(err));
        goto out;
    }
    events->syn_names = nd_evmap_new(256);
    events->verb_forms = nd_evmap_new(16384);
    events->verb_lemmas = nd_evmap_new(4096);
    events->pat_index = nd_evmap_new(32768);
    events->syn_members = nd_evmap_new(4096);
    events->actor_map = nd_evmap_new(40000);
    events->agent_map = nd_evmap_new(4096);
    events->nominal_map = nd_evmap_new(64);
    events->plover_map = nd_evmap_new(512);
    events->first_len = nd_evmap_new(40000);
    if (!events->syn_names || !events->verb_forms || !events->verb_lemmas || !events->pat_index ||
        !events->syn_members || !events->actor_map || !events->agent_map || !events->nominal_map ||
        !events->plover_map || !events->first_len) {
        snprintf(errstr, errsz, "events model: out of memory");
        goto out;
    }
    if (model_load(events, errstr, errsz) != ND_OK)
        goto out;
    /* function-word classes share the per-token lookup with the phrase lengths: bits 16 and up */
    const char *const *const *lists = word_lists_ref();
    for (uint32_t k = 0; lists[k]; k++)
        for (size_t w = 0; lists[k][w]; w++) {
            const char *word = lists[k][w];
            struct first_info *fi = first_info_of(events, word, strlen(word));
            if (fi)
                fi->cls |= 1u << k;
            else {
                snprintf(errstr, errsz, "events model: out of memory");
                goto out;
            }
        }
    return events;
out:
    nd_events_destroy(events);
    return NULL;
}

void nd_events_destroy(struct nd_events *events)
{
    if (!events)
        return;
    nd_evmap_destroy(events->syn_names);
    nd_evmap_destroy(events->verb_forms);
    nd_evmap_destroy(events->verb_lemmas);
    nd_evmap_destroy(events->pat_index);
    nd_evmap_destroy(events->syn_members);
    nd_evmap_destroy(events->actor_map);
    nd_evmap_destroy(events->agent_map);
    nd_evmap_destroy(events->nominal_map);
    nd_evmap_destroy(events->plover_map);
    nd_evmap_destroy(events->first_len);
    free(events->verbs);
    free(events->patterns);
    free(events->words);
    free(events->links);
    free(events->actors);
    free(events->sectors);
    free(events->nominals);
    free(events->plovers);
    free(events->syns);
    free(events->finfo);
    free(events->buf);
    free(events);
}

size_t nd_events_model_size(const struct nd_events *events)
{
    return events->nverbs + events->npatterns + events->nactors +
           nd_evmap_count(events->agent_map) + events->nnominals;
}

/* ---------- coding ---------- */

/* One actor chunk in a sentence: "U.S. Secretary of State Antony Blinken", "China", "they". */
struct span {
    uint32_t b, e; /* token range [b, e) */
    char cc[4];
    char sector[4];
    const char *name;        /* display name (model or text), may be NULL */
    uint32_t name_b, name_e; /* name taken from the text when name is NULL and name_e > name_b */
    char pron;               /* 1: a pronoun to resolve */
    char blocked;     /* a known non-actor ("Reuters"): occupies text, never source or target */
    char possessive;  /* followed by 's */
    const char *prep; /* the preposition before it, or NULL */
    uint16_t group;   /* coordinated chunks share a group id */
};

struct memo {
    char key[ND_EVTOK_KEYMAX];
    uint8_t keylen;
    char cc[4];
    char sector[4];
    const char *name;
    uint32_t name_b, name_e;
};

/* A resolved actor as the JSON shows it; text offsets point into the story. */
struct actor_ref {
    char cc[4];
    char sector[4];
    const char *name;
    uint32_t name_b, name_e;
    uint32_t b, e; /* token range of the mention */
    int implied;   /* not named in the sentence: the source's own country (a domestic act) */
};

struct group_ref {
    struct actor_ref a[4];
    int n;
};

#define MAX_ACTOR_CACHE 64

struct actor_cache {
    uint32_t b, e, name_b;
    int implied;
    char cc[4], sector[4];
    const char *name;
    json_t *obj;
};

#define MAX_CODE_CACHE 32

/* A CAMEO code's PLOVER entry and JSON values (type, cameo, intensity), looked up and built once
 * per story: an event-dense story repeats a handful of codes. The cache owns one reference to each
 * value; every event that uses them takes another. */
struct code_cache {
    char code[6];
    const struct plover *pl;
    json_t *type, *cameo, *intensity;
};

#define MAX_GROUP_CACHE 8

/* A source or target array, shared by the events of a story with the same actors: the actor
 * objects are shared already, so equal member pointers mean an equal array. The events that share
 * one are mostly those of one sentence: a ring of the recent arrays finds them. */
struct group_cache {
    int n;
    json_t *members[4];
    json_t *arr; /* borrowed: the events hold the references */
};

#define MAX_CONF_CACHE 16

/* A story's confidences take few distinct values (a sum of a few fixed terms). */
struct conf_cache {
    double v;
    json_t *obj; /* the cache owns one reference */
};

#define MAX_STR_CACHE 32

/* Actor codes, sectors and dictionary or entity names recur across a story's actors: one JSON
 * string each, shared by reference. key is the name's pointer, or the code itself. */
struct str_cache {
    const char *name;
    char code[4];
    json_t *obj; /* the cache owns one reference */
};

struct story_state {
    const struct nd_events *events;
    const char *text;
    size_t text_len;
    struct nd_evtok *toks;
    size_t ntok;
    uint32_t *firsts; /* per token: packed longest phrase per dictionary (see note_first) */
    uint32_t *fidx;   /* per token: its first_info (valid where firsts is not 0) */
    uint32_t *cps;    /* per token: code point offsets of start and end */
    uint32_t *mfirst; /* per token: the first sorted mention starting with it, or UINT32_MAX */
    const struct nd_events_mention **sorted; /* the caller's mentions by start offset */
    size_t nmentions;
    size_t nmemo;
    struct group_ref last_subject; /* the previous sentence's subject, for pronouns */
    struct group_ref last_speaker;
    json_t *out;
    size_t nactor_cache;
    size_t ncode_cache;
    json_t *status[2]; /* "reported", "planned", shared like the code values */
    size_t ngroup_cache;
    size_t nconf_cache;
    int utf8_ok; /* the whole text is valid UTF-8: its slices need no check of their own */
    size_t nstr_cache;
    size_t nevents;
    size_t sentence_events;
    json_t *sentence_obj; /* the current sentence's span, borrowed from its first event */
    /* hash indexes of the string and actor caches: entry index + 1, 0 empty */
    uint8_t str_index[2 * MAX_STR_CACHE];
    uint8_t actor_index[2 * MAX_ACTOR_CACHE];
    /* The arrays last: only their first n* entries are ever read, each written whole when added,
     * so a new state zeroes the fields above and not the 16 KB below. */
    struct memo memo[MAX_MEMO];
    struct actor_cache actor_cache[MAX_ACTOR_CACHE];
    struct code_cache code_cache[MAX_CODE_CACHE];
    struct group_cache group_cache[MAX_GROUP_CACHE];
    struct conf_cache conf_cache[MAX_CONF_CACHE];
    struct str_cache str_cache[MAX_STR_CACHE];
};

/* Token key equals a string literal (length first: most tokens differ there). */
#define key_is(tok, lit)                                                                           \
    ((tok)->keylen == sizeof(lit) - 1 && !memcmp((tok)->key, lit, sizeof(lit) - 1))

/* The word lists below, in this order, are the bits of nd_evtok.cls. */
enum word_list {
    WL_PREPS,
    WL_DETS,
    WL_QUANTITIES,
    WL_COLLECTIVES,
    WL_PRONOUNS,
    WL_BE_FORMS,
    WL_NEGATORS,
    WL_MODALS,
    WL_PLAN_WORDS,
    WL_CLAUSE_STOPS,
    WL_AUXILIARIES,
    WL_MEETING_NOUNS
};

#define has_class(tok, wl) (((tok)->cls >> (wl)) & 1u)

static const char *const preps[] = {
    "of",      "in",      "at",     "on",     "to",     "from",    "with",  "for",
    "by",      "against", "into",   "over",   "about",  "between", "among", "toward",
    "towards", "across",  "near",   "within", "during", "behind",  "under", "despite",
    "through", "after",   "before", "than",   "like",   "amid",    NULL};
static const char *const dets[] = {"the",  "a",    "an",    "its",   "his",  "her", "their",
                                   "our",  "this", "these", "those", "'s",   "my",  "your",
                                   "that", "any",  "no",    "every", "each", NULL};
static const char *const quantities[] = {
    "thousands", "hundreds", "dozens",     "tens",     "millions", "scores", "group", "groups",
    "number",    "members",  "supporters", "some",     "many",     "most",   "all",   "one",
    "two",       "three",    "several",    "majority", "band",     NULL};
static const char *const collectives[] = {"groups",     "members",   "leaders",  "officials",
                                          "supporters", "activists", "factions", "forces",
                                          "fighters",   NULL};
static const char *const pronouns[] = {"he", "she", "it", "they", "we", NULL};
static const char *const be_forms[] = {"is",   "are",   "was", "were", "be",
                                       "been", "being", "'s",  NULL};
static const char *const negators[] = {"not",     "never",      "n't",      "no",
                                       "neither", "nor",        "cannot",   "prevent",
                                       "avoid",   "preventing", "avoiding", NULL};
static const char *const modals[] = {
    "will",    "would",    "shall",   "'ll",      "going",    "plans",     "plan",
    "planned", "planning", "intends", "intend",   "expected", "scheduled", "set",
    "willing", "ready",    "hopes",   "hope",     "wants",    "want",      "aims",
    "seeks",   "offered",  "pledged", "promised", "vowed",    "proposed",  NULL};
static const char *const plan_words[] = {"planned",   "planning", "plan",     "plans",
                                         "scheduled", "expected", "proposed", "upcoming",
                                         "possible",  "will",     "would",    NULL};
static const char *const clause_stops[] = {";",        ":",      "but",     "while",   "whereas",
                                           "although", "though", "because", "despite", "which",
                                           "who",      "when",   "if",      "unless",  NULL};

static const char *const auxiliaries[] = {
    "will",     "would",     "has",     "have",  "had",     "is",        "are",        "was",
    "were",     "did",       "does",    "do",    "to",      "can",       "could",      "may",
    "might",    "should",    "must",    "be",    "been",    "being",     "not",        "n't",
    "also",     "then",      "again",   "later", "earlier", "now",       "still",      "already",
    "just",     "often",     "never",   "who",   "that",    "which",     "they",       "he",
    "she",      "it",        "we",      "i",     "you",     "officials", "government", "leaders",
    "today",    "yesterday", "tonight", "shall", "'ll",     "once",      "twice",      "further",
    "formally", NULL};
static const char *const meeting_nouns[] = {"call",     "talks", "meeting", "summit",
                                            "meetings", "phone", NULL};

/* Every list above gets a bit; a token's bits are looked up once per story (nd_evtok.cls), so the
 * many "is this a preposition" questions cost a mask test, not string compares. */
static const char *const *const word_lists[] = {
    preps,  dets,       quantities,   collectives, pronouns,      be_forms, negators,
    modals, plan_words, clause_stops, auxiliaries, meeting_nouns, NULL};

static const char *const *const *word_lists_ref(void)
{
    return word_lists;
}

static const char *const *preps_ref(void)
{
    return preps;
}

/* Longest dictionary phrase of `kind` starting at token i (within [i, end)). Returns its token
 * count and the value, or 0. */
static size_t match_phrase_at(const struct story_state *st, const struct nd_evmap *map, char kind,
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

/* Most tokens start no phrase of the dictionary asked: that answer, from the token's masks, is
 * inlined at each call, and only a possible match pays for the call and its phrase buffer. */
static inline size_t match_phrase(const struct story_state *st, const struct nd_evmap *map,
                                  char kind, size_t i, size_t end, uint32_t *value)
{
    uint32_t mask = (st->firsts[i] >> kind_shift(kind)) & 0xff;
    return mask ? match_phrase_at(st, map, kind, i, end, mask, value) : 0;
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
static int is_code3(const char *s)
{
    return s && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' &&
           s[2] <= 'Z';
}

/* International and non-state bodies: their members have no country of theirs. */
static int is_body_code(const char *cc)
{
    return !strcmp(cc, "IGO") || !strcmp(cc, "NGO") || !strcmp(cc, "IMG") || !strcmp(cc, "MNC");
}

static int cap_word(const struct nd_evtok *tok)
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
static size_t find_spans(struct story_state *st, size_t s0, size_t s1, struct span *spans)
{
    const struct nd_events *events = st->events;
    const struct nd_evtok *toks = st->toks;
    size_t n = 0;
    uint16_t group = 0;
    size_t i = s0;

    while (i < s1 && n < MAX_SPANS) {
        struct span sp;
        int have = 0, agent = 0, person = 0;
        size_t agent_end = 0;
        size_t j = i;
        memset(&sp, 0, sizeof(sp));
        for (;;) {
            uint32_t v;
            size_t len = 0;
            if (j >= s1)
                break;
            /* the entities stage's mention first; where it has none, or one without a country
             * ("Ryutaro Hashimoto", "the European Community"), the actor dictionaries: the two
             * know different names, and either alone misses actors the other has */
            const struct nd_events_mention *m = st->nmentions ? mention_at(st, j, &len, s1) : NULL;
            size_t dlen = 0;
            if (m && !is_code3(m->country) &&
                (cap_word(&toks[j]) || toks[j].flags & ND_EVTOK_ALLCAP) &&
                (dlen = match_phrase(st, events->actor_map, 'A', j, s1, &v)) &&
                events->actors[v].cc[0])
                m = NULL;
            /* a place or body without a country ("Western Cambodia", "South Lebanon"): its words
             * go to the dictionary one by one; a person's name is kept for the title before it */
            if (m && !is_code3(m->country) && !dlen && !(m->type && !strcmp(m->type, "PERSON")))
                m = NULL;
            if (m) {
                if (!sp.cc[0] && is_code3(m->country))
                    memcpy(sp.cc, m->country, 3);
                if (!sp.sector[0] && is_code3(m->role))
                    memcpy(sp.sector, m->role, 3);
                if (m->name && (!sp.name || (m->type && !strcmp(m->type, "PERSON"))))
                    sp.name = m->name;
                j += len;
                have = 1;
                continue;
            }
            if ((cap_word(&toks[j]) || toks[j].flags & ND_EVTOK_ALLCAP) &&
                (len = dlen ? dlen : match_phrase(st, events->actor_map, 'A', j, s1, &v))) {
                const struct actor *a = &events->actors[v];
                if (!a->cc[0]) {
                    if (have)
                        break;
                    sp.blocked = 1;
                    j += len;
                    have = 1;
                    break;
                }
                if (!sp.cc[0])
                    memcpy(sp.cc, a->cc, sizeof(sp.cc));
                if (a->sector[0] && !sp.sector[0])
                    memcpy(sp.sector, a->sector, sizeof(sp.sector));
                if (a->kind == 'P' || (len >= 2 && a->sector[0])) {
                    /* a named person or body: remembered by its first and last word */
                    sp.name = a->name;
                    person = 1;
                    if (!sp.cc[0]) /* a title's body wins: "NATO Secretary-General Mark Rutte" */
                        memcpy(sp.cc, a->cc, sizeof(sp.cc));
                    for (size_t q = j; q < j + len; q++) {
                        uint32_t g;
                        size_t gl = match_phrase(st, events->agent_map, 'G', q, j + len, &g);
                        if (gl)
                            q += gl - 1;
                        else if (toks[q].flags & ND_EVTOK_CAP)
                            memo_add(st, toks[q].key, &sp);
                    }
                } else if (a->kind == 'O' && !sp.name) {
                    sp.name = a->name;
                }
                j += len;
                have = 1;
                continue;
            }
            if (!have && cap_word(&toks[j]) && led_by(st, &toks[j], &v)) {
                /* "Vietnamese-led forces", "a Saudi-led coalition": the leader's */
                memcpy(sp.cc, events->actors[v].cc, sizeof(sp.cc));
                j++;
                have = 1;
                continue;
            }
            if ((len = match_phrase(st, events->agent_map, 'G', j, s1, &v))) {
                /* "the foreign minister" alone is an actor; "government" inside a longer noun
                 * phrase is taken only next to a country */
                memcpy(sp.sector, events->sectors[v], sizeof(sp.sector));
                j += len;
                agent_end = j;
                have = agent = 1;
                continue;
            }
            if (have && sp.cc[0] && j + 1 < s1 && key_is(&toks[j], "'s") &&
                match_phrase(st, events->agent_map, 'G', j + 1, s1, &v)) {
                /* "North Korea's foreign ministry": the body belongs to the country */
                j++;
                continue;
            }
            if (have && agent && !sp.cc[0] && j + 2 < s1 && has_class(&toks[j], WL_COLLECTIVES) &&
                (key_is(&toks[j + 1], "of") || key_is(&toks[j + 1], "in") ||
                 key_is(&toks[j + 1], "from")))
                j++; /* "opposition groups in Zimbabwe" */
            if (have && agent && !sp.cc[0] && j + 1 < s1 &&
                (key_is(&toks[j], "of") || key_is(&toks[j], "in") || key_is(&toks[j], "from"))) {
                size_t k = j + 1;
                if (key_is(&toks[k], "the") && k + 1 < s1)
                    k++;
                if (cap_word(&toks[k]) && match_phrase(st, events->actor_map, 'A', k, s1, &v)) {
                    j = k;
                    continue;
                }
            }
            break;
        }
        if (have && !sp.blocked && (agent || sp.sector[0] || person)) {
            /* a title followed by a capitalised name: "Foreign Minister Wang Yi" */
            size_t k = j;
            while (k < s1 && k - j < 3 && cap_word(&toks[k]) && !(toks[k].flags & ND_EVTOK_NL)) {
                uint32_t v;
                size_t plen = match_phrase(st, events->actor_map, 'A', k, s1, &v);
                if (plen && k == j && events->actors[v].cc[0] &&
                    (events->actors[v].kind == 'P' || (plen >= 2 && events->actors[v].sector[0]))) {
                    /* "NATO Secretary-General Mark Rutte": the person, in the title's body */
                    sp.name = events->actors[v].name;
                    sp.name_b = sp.name_e = 0;
                    person = 1;
                    j = k + plen;
                    k = j;
                    break;
                }
                if (plen)
                    break;
                k++;
            }
            if (k > j) {
                sp.name = NULL;
                sp.name_b = (uint32_t)j;
                sp.name_e = (uint32_t)k;
                for (size_t q = j; q < k; q++)
                    memo_add(st, toks[q].key, &sp);
                j = k;
            }
        }
        if (!have) {
            const struct memo *m;
            if (cap_word(&toks[i]) && (m = memo_find(st, &toks[i]))) {
                size_t k = i + 1;
                while (k < s1 && cap_word(&toks[k]) && memo_find(st, &toks[k]) == m)
                    k++;
                memcpy(sp.cc, m->cc, sizeof(sp.cc));
                memcpy(sp.sector, m->sector, sizeof(sp.sector));
                sp.name = m->name;
                sp.name_b = m->name_b;
                sp.name_e = m->name_e;
                j = k;
                have = 1;
            } else if (has_class(&toks[i], WL_PRONOUNS)) {
                sp.pron = 1;
                j = i + 1;
                have = 1;
            }
        }
        if (!have) {
            i++;
            continue;
        }
        if (!sp.cc[0] && !sp.pron && !sp.blocked) {
            /* an agent alone: "the foreign minister", "police"; only a title seen with a country in
             * this story gets one, else it is no actor */
            if (!agent) {
                i = j;
                continue;
            }
            const struct memo *m = memo_find(st, &toks[j - 1]);
            if (m) {
                memcpy(sp.cc, m->cc, sizeof(sp.cc));
                sp.name = m->name;
                sp.name_b = m->name_b;
                sp.name_e = m->name_e;
            }
        }
        if (i > s0 && key_is(&toks[i - 1], "ethnic") && sp.cc[0] && !person && !sp.name_e &&
            !agent) {
            /* "ethnic Albanians demonstrated in Serbia": a people, not its nation's state; CAMEO's
             * ethnic sector, the country the sentence places them in (code_sentence) */
            sp.cc[0] = '\0';
            memcpy(sp.sector, "ETH", 4);
            sp.name = NULL;
        }
        sp.b = (uint32_t)i;
        sp.e = (uint32_t)j;
        if (agent && sp.cc[0] && agent_end > i && (sp.name || sp.name_e > sp.name_b))
            memo_add(st, toks[agent_end - 1].key,
                     &sp); /* the title, for "the foreign minister" later */
        if (sp.name && sp.cc[0] && sp.e - sp.b >= 2)
            memo_add(st, toks[sp.e - 1].key, &sp);
        if (j < s1 && key_is(&toks[j], "'s"))
            sp.possessive = 1;
        if (i > s0) {
            size_t p = i - 1;
            if (has_class(&toks[p], WL_DETS) && p > s0)
                p--;
            if (has_class(&toks[p], WL_PREPS) &&
                !(key_is(&toks[p], "of") && p > s0 &&
                  (has_class(&toks[p - 1], WL_QUANTITIES) ||
                   (toks[p - 1].key[0] >= '0' && toks[p - 1].key[0] <= '9'))))
                sp.prep = toks[p].key; /* "thousands of Iraqi Kurds" is no prepositional phrase */
        }
        /* coordination: "China and Brazil", "Iran, North Korea and China" */
        if (n > 0 && !spans[n - 1].blocked && !sp.blocked) {
            size_t gap_b = spans[n - 1].e + spans[n - 1].possessive, gap_e = i, ok = gap_e > gap_b;
            for (size_t q = gap_b; q < gap_e && ok; q++)
                ok = key_is(&toks[q], "and") || key_is(&toks[q], ",") || key_is(&toks[q], "the") ||
                     key_is(&toks[q], "&");
            /* a comma alone joins only inside a list that goes on: "Iran, North Korea and China",
             * not "In talks with Barrot, Jaishankar raised" */
            int has_and = 0;
            for (size_t q = gap_b; q < gap_e; q++)
                has_and |= key_is(&toks[q], "and") || key_is(&toks[q], "&");
            if (ok && !has_and)
                ok = j < s1 && (key_is(&toks[j], ",") || key_is(&toks[j], "and"));
            if (ok && gap_e - gap_b <= 3 && !spans[n - 1].possessive) {
                sp.group = spans[n - 1].group;
                sp.prep = spans[n - 1].prep;
            } else {
                sp.group = ++group;
            }
        } else {
            sp.group = ++group;
        }
        spans[n++] = sp;
        i = j > i ? j : i + 1;
    }
    return n;
}

static int span_at(const struct span *spans, size_t nspans, size_t tok)
{
    for (size_t k = 0; k < nspans; k++)
        if (tok >= spans[k].b && tok < spans[k].e)
            return (int)k;
    return -1;
}

/* The actors of span k's coordinated group; a pronoun member takes the actors of `pron`. */
static void group_of(const struct span *spans, size_t nspans, size_t k,
                     const struct group_ref *pron, struct group_ref *g)
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
    }
}

/* The subject of a trigger: the leftmost group in [after, before) outside a prepositional phrase
 * (SVO: the subject comes first; objects of earlier verbs are cut off by the caller's `after`).
 * Returns the index of the group's first span, or -1. */
static int subject_before(const struct span *spans, size_t nspans, size_t after, size_t before,
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

static int place_prep(const char *prep)
{
    static const char *const places[] = {"in",      "at",         "near", "during",
                                         "across",  "into",       "from", "inside",
                                         "outside", "throughout", NULL};
    for (size_t i = 0; places[i]; i++)
        if (!strcmp(prep, places[i]))
            return 1;
    return 0;
}

/* First group starting in [from, limit) that can be a target: not a place ("met Xi in Beijing"),
 * not the venue ("on the sidelines of the U.N. General Assembly"). */
static int object_after(const struct nd_evtok *toks, const struct span *spans, size_t nspans,
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
        if (meeting && sp->prep && place_prep(sp->prep))
            continue;
        if (sp->b > from && (key_is(&toks[sp->b - 1], "its") || key_is(&toks[sp->b - 1], "their") ||
                             key_is(&toks[sp->b - 1], "his") || key_is(&toks[sp->b - 1], "her") ||
                             key_is(&toks[sp->b - 1], "our")))
            continue; /* "withdraw its troops": the actor's own, not a target */
        if (sp->prep && !strcmp(sp->prep, "of") && sp->b >= 2) {
            size_t p = sp->b - 1;
            while (p > from && !key_is(&toks[p], "of"))
                p--;
            if (p >= 1 && (key_is(&toks[p - 1], "sidelines") || key_is(&toks[p - 1], "margins") ||
                           key_is(&toks[p - 1], "side")))
                continue;
        }
        return (int)k;
    }
    return -1;
}

static size_t clause_start(const struct nd_evtok *toks, size_t s0, size_t i)
{
    for (size_t p = i; p-- > s0;)
        if (has_class(&toks[p], WL_CLAUSE_STOPS))
            return p + 1;
    return s0;
}

static size_t clause_end(const struct nd_evtok *toks, size_t i, size_t s1)
{
    for (size_t p = i; p < s1; p++)
        if (has_class(&toks[p], WL_CLAUSE_STOPS) || key_is(&toks[p], "."))
            return p;
    return s1;
}

static int is_time_word(const struct nd_evtok *tok)
{
    return key_is(tok, "monday") || key_is(tok, "tuesday") || key_is(tok, "wednesday") ||
           key_is(tok, "thursday") || key_is(tok, "friday") || key_is(tok, "saturday") ||
           key_is(tok, "sunday") || key_is(tok, "today") || key_is(tok, "yesterday");
}

/* Most specific pattern of a verb in the tokens after it: returns its code, or NULL. */
static const char *match_patterns(const struct nd_events *events, const char *lemma,
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
                    ok = word_or_plural(word, toks[q].key, toks[q].keylen);
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

static const struct plover *plover_of(const struct nd_events *events, const char *code)
{
    uint32_t v;
    char c[6];
    copy_code(c, code, sizeof(c));
    for (size_t len = strlen(c); len >= 2; len--)
        if (nd_evmap_get(events->plover_map, c, len, &v))
            return &events->plovers[v];
    return NULL;
}

/* Intent to do X is CAMEO 03x (PLOVER AGREE): "willing to withdraw", "a call was being planned". */
static const char *intent_code(const char *code)
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

/* text[b, e) as a JSON string. When the story was found valid UTF-8 once, a slice that starts and
 * ends on character boundaries is valid too, and skips jansson's check. */
static json_t *slice_json(const struct story_state *st, uint32_t b, uint32_t e)
{
    const unsigned char *t = (const unsigned char *)st->text;
    if (st->utf8_ok && (t[b] & 0xC0) != 0x80 && (e >= st->text_len || (t[e] & 0xC0) != 0x80))
        return json_stringn_nocheck(st->text + b, e - b);
    return json_stringn(st->text + b, e - b);
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF), as jansson checks it. */
static int utf8_valid(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    while (p < end) {
        unsigned c = *p;
        uint64_t w;
        if (end - p >= 8 && (memcpy(&w, p, 8), !(w & 0x8080808080808080ull))) {
            p += 8; /* eight ASCII bytes at once: most of an English story */
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((p[k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n + 1;
    }
    return 1;
}

/* A shared JSON string for a code ("CHN", "GOV": three ASCII capitals, no check needed) or, with
 * code NULL, for a name string that lives as long as the story (model or entity names). */
_Static_assert(2 * MAX_STR_CACHE == 1 << 6 && 2 * MAX_ACTOR_CACHE == 1 << 7,
               "the cache indexes below take 6 and 7 bits");

/* Slot of a cache key in an index of 2^bits entries (Fibonacci hashing). */
static size_t index_slot(uint64_t key, int bits)
{
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

static json_t *interned(struct story_state *st, const char *code, const char *name)
{
    json_t *obj;
    uint32_t c4 = 0;
    uint64_t key;
    size_t j;
    if (code)
        memcpy(&c4, code, 4);
    key = code ? c4 : (uint64_t)(uintptr_t)name;
    for (j = index_slot(key, 6); st->str_index[j]; j = (j + 1) & (2 * MAX_STR_CACHE - 1)) {
        const struct str_cache *c = &st->str_cache[st->str_index[j] - 1];
        if (code ? !c->name && !memcmp(c->code, code, 4) : c->name == name)
            return json_incref(c->obj);
    }
    obj = code ? json_string_nocheck(code) : json_string(name);
    if (obj && st->nstr_cache < MAX_STR_CACHE) {
        struct str_cache *c = &st->str_cache[st->nstr_cache++];
        c->name = code ? NULL : name;
        copy_code(c->code, code ? code : "", sizeof(c->code));
        c->obj = json_incref(obj);
        st->str_index[j] = (uint8_t)st->nstr_cache;
    }
    return obj;
}

static json_t *build_actor_json(struct story_state *st, const struct actor_ref *a);

/* An actor's JSON object; a mention that is source or target of several events is built once and
 * shared (jansson counts references), which halves the allocations of an event-dense story. */
static json_t *actor_json(struct story_state *st, const struct actor_ref *a)
{
    uint32_t cc4;
    memcpy(&cc4, a->cc, 4);
    uint64_t key = ((uint64_t)a->b << 40) ^ ((uint64_t)a->e << 20) ^ a->name_b ^
                   ((uint64_t)cc4 << 24) ^ (uint64_t)(uintptr_t)a->name;
    size_t j;
    for (j = index_slot(key, 7); st->actor_index[j]; j = (j + 1) & (2 * MAX_ACTOR_CACHE - 1)) {
        const struct actor_cache *c = &st->actor_cache[st->actor_index[j] - 1];
        if (c->b == a->b && c->e == a->e && c->name == a->name && c->name_b == a->name_b &&
            c->implied == a->implied && !memcmp(c->cc, a->cc, sizeof(c->cc)) &&
            !memcmp(c->sector, a->sector, sizeof(c->sector)))
            return json_incref(c->obj);
    }
    json_t *obj = build_actor_json(st, a);
    if (obj && st->nactor_cache < MAX_ACTOR_CACHE) {
        st->actor_index[j] = (uint8_t)(st->nactor_cache + 1);
        struct actor_cache *c = &st->actor_cache[st->nactor_cache++];
        c->b = a->b;
        c->e = a->e;
        c->name = a->name;
        c->name_b = a->name_b;
        c->implied = a->implied;
        memcpy(c->cc, a->cc, sizeof(c->cc));
        memcpy(c->sector, a->sector, sizeof(c->sector));
        c->obj = obj; /* borrowed: the events array holds the references */
    }
    return obj;
}

static json_t *build_actor_json(struct story_state *st, const struct actor_ref *a)
{
    json_t *obj = json_object();
    /* codes are three ASCII capitals (checked where they come in): no UTF-8 check needed */
    JSON_SET_NEW(obj, "code", interned(st, a->cc, NULL));
    if (a->sector[0])
        JSON_SET_NEW(obj, "sector", interned(st, a->sector, NULL));
    if (a->name)
        JSON_SET_NEW(obj, "name", interned(st, NULL, a->name));
    else if (a->name_e > a->name_b && a->name_e <= st->ntok) {
        uint32_t b = st->toks[a->name_b].start, e = st->toks[a->name_e - 1].end;
        JSON_SET_NEW(obj, "name", slice_json(st, b, e));
    }
    if (a->implied)
        JSON_SET_NEW(obj, "implied", json_true());
    if (a->e > a->b) {
        uint32_t b = st->toks[a->b].start, e = st->toks[a->e - 1].end;
        JSON_SET_NEW(obj, "text", slice_json(st, b, e));
        JSON_SET_NEW(obj, "start", json_integer((json_int_t)st->cps[2 * a->b]));
        JSON_SET_NEW(obj, "end", json_integer((json_int_t)st->cps[2 * (a->e - 1) + 1]));
    }
    return obj;
}

static json_t *group_json(struct story_state *st, const struct group_ref *g)
{
    json_t *members[4], *arr;
    int n = g->n < 4 ? g->n : 4;
    for (int k = 0; k < n; k++)
        members[k] = actor_json(st, &g->a[k]);
    for (size_t c = 0; c < MAX_GROUP_CACHE && c < st->ngroup_cache; c++) {
        const struct group_cache *gc = &st->group_cache[c];
        int same = gc->n == n;
        for (int k = 0; k < n && same; k++)
            same = gc->members[k] == members[k];
        if (same) {
            for (int k = 0; k < n; k++)
                json_decref(members[k]);
            return json_incref(gc->arr);
        }
    }
    arr = json_array();
    for (int k = 0; k < n; k++)
        json_array_append_new(arr, members[k]);
    if (arr) {
        for (int k = 0; k < n; k++)
            if (!members[k])
                return arr; /* an allocation failed: nothing to share */
        struct group_cache *gc = &st->group_cache[st->ngroup_cache++ % MAX_GROUP_CACHE];
        gc->n = n;
        memcpy(gc->members, members, (size_t)n * sizeof(members[0]));
        gc->arr = arr;
    }
    return arr;
}

/* The confidence's JSON value, one per distinct value in a story. */
static json_t *conf_json(struct story_state *st, double v)
{
    for (size_t k = 0; k < st->nconf_cache; k++)
        if (st->conf_cache[k].v == v)
            return json_incref(st->conf_cache[k].obj);
    json_t *obj = json_real(v);
    if (obj && st->nconf_cache < MAX_CONF_CACHE) {
        st->conf_cache[st->nconf_cache].v = v;
        st->conf_cache[st->nconf_cache++].obj = json_incref(obj);
    }
    return obj;
}

static int same_group(const struct group_ref *a, const struct group_ref *b)
{
    if (a->n != b->n || !a->n)
        return 0;
    for (int k = 0; k < a->n; k++)
        if (strcmp(a->a[k].cc, b->a[k].cc) || a->a[k].b != b->a[k].b)
            return 0;
    return 1;
}

struct trigger {
    size_t b, e; /* token range */
    char code[6];
    int nominal;     /* 0 verb, 'o' or 'p' */
    int pattern;     /* words matched by a pattern (0: the verb's default code) */
    int dropped;     /* not emitted (negated, no actors) */
    int governed;    /* an infinitive coded by the verb before it */
    size_t pair_at;  /* "call ... between": the token after "between" */
    char emitted[6]; /* the code it was emitted with */
    /* a dictionary verb in a place a noun could be ("the talks"): coded only when the sentence
     * has no event otherwise (the relaxed pass of code_sentence) */
    const struct verb *weak;
    /* an appeal (CAMEO 02: "urged X to ...", "called on X to ..."): PLOVER drops appeals, so it
     * is no event itself; it rallies support (053) or opposition (113) when its complement is
     * support or action against someone, and its complement is never the subject's own act */
    int appeal;
    int appealed; /* the complement of an appeal: what someone else is asked to do */
};

/* Quoted segment [qb, qe) of tokens containing token i, if any. */
static int quote_around(const struct nd_evtok *toks, size_t s0, size_t s1, size_t i, size_t *qb,
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

/* The story's cache entry for code, made on first use; NULL when the cache is full or the code too
 * long to be a key (the caller then builds the values itself). */
static const struct code_cache *code_values(struct story_state *st, const char *code)
{
    struct code_cache *c;
    /* the code zero-padded to the key's size, so keys compare as fixed-size blocks */
    char key[sizeof(c->code)] = {0};
    size_t n = strlen(code);
    if (n >= sizeof(key))
        return NULL;
    memcpy(key, code, n);
    for (size_t k = 0; k < st->ncode_cache; k++)
        if (!memcmp(st->code_cache[k].code, key, sizeof(key)))
            return &st->code_cache[k];
    if (st->ncode_cache == MAX_CODE_CACHE)
        return NULL;
    c = &st->code_cache[st->ncode_cache++];
    memcpy(c->code, key, sizeof(key));
    c->pl = plover_of(st->events, code);
    /* codes are ASCII and PLOVER types model constants: no UTF-8 check needed */
    c->type = c->pl ? json_string_nocheck(c->pl->type) : NULL;
    c->cameo = c->pl ? json_string_nocheck(code) : NULL;
    c->intensity = c->pl ? json_real(c->pl->goldstein) : NULL;
    return c;
}

static void code_cache_free(struct story_state *st)
{
    for (size_t k = 0; k < st->ncode_cache; k++) {
        json_decref(st->code_cache[k].type);
        json_decref(st->code_cache[k].cameo);
        json_decref(st->code_cache[k].intensity);
    }
    json_decref(st->status[0]);
    json_decref(st->status[1]);
    for (size_t k = 0; k < st->nconf_cache; k++)
        json_decref(st->conf_cache[k].obj);
    for (size_t k = 0; k < st->nstr_cache; k++)
        json_decref(st->str_cache[k].obj);
}

/* doubt: 0 when the verb's own subject is the source; each fallback taken (source from the
 * speaker or the sentence, relaxed pass, implied target) adds one and lowers the confidence. */
static void emit(struct story_state *st, size_t s0, size_t s1, const struct trigger *tr,
                 const char *code, const struct group_ref *src, const struct group_ref *tgt,
                 int planned, int doubt, size_t qb, size_t qe)
{
    const struct code_cache *cv = code_values(st, code);
    const struct plover *pl = cv ? cv->pl : plover_of(st->events, code);
    json_t *ev;
    double conf;
    uint32_t tb = st->toks[tr->b].start, te = st->toks[tr->e - 1].end;
    int pk = planned != 0;
    if (!pl || st->nevents >= MAX_EVENTS)
        return;
    if (!st->status[pk])
        st->status[pk] = json_string_nocheck(pk ? "planned" : "reported");
    /* keys and codes are ASCII constants: the _nocheck calls skip UTF-8 validation; text taken from
     * the story is validated (json_stringn) */
    ev = json_object();
    JSON_SET_NEW(ev, "type", cv ? json_incref(cv->type) : json_string_nocheck(pl->type));
    JSON_SET_NEW(ev, "cameo", cv ? json_incref(cv->cameo) : json_string_nocheck(code));
    JSON_SET_NEW(ev, "source", group_json(st, src));
    JSON_SET_NEW(ev, "target", group_json(st, tgt));
    if (!st->sentence_obj) {
        /* every event of a sentence shares one {start, end} object */
        st->sentence_obj = json_object();
        JSON_SET_NEW(st->sentence_obj, "start", json_integer((json_int_t)st->cps[2 * s0]));
        JSON_SET_NEW(st->sentence_obj, "end", json_integer((json_int_t)st->cps[2 * (s1 - 1) + 1]));
        JSON_SET_NEW(ev, "sentence", st->sentence_obj);
    } else {
        JSON_SET(ev, "sentence", st->sentence_obj);
    }
    json_t *trig = json_object();
    JSON_SET_NEW(trig, "text", slice_json(st, tb, te));
    JSON_SET_NEW(trig, "start", json_integer((json_int_t)st->cps[2 * tr->b]));
    JSON_SET_NEW(trig, "end", json_integer((json_int_t)st->cps[2 * (tr->e - 1) + 1]));
    JSON_SET_NEW(ev, "trigger", trig);
    if (qe > qb) {
        uint32_t b = st->toks[qb].start, e = st->toks[qe - 1].end;
        JSON_SET_NEW(ev, "quote", slice_json(st, b, e));
    }
    JSON_SET_NEW(ev, "status", json_incref(st->status[pk]));
    JSON_SET_NEW(ev, "intensity", cv ? json_incref(cv->intensity) : json_real(pl->goldstein));
    /* a specific pattern, the verb's own subject and a target raise it; later events in a sentence
     * are more often inside subordinate clauses */
    conf = (src->n ? 0.7 : 0.35) - 0.1 * doubt + (tr->pattern ? 0.1 : 0.0) + (tgt->n ? 0.1 : 0.0) -
           0.12 * (double)st->sentence_events;
    conf = conf > 0.95 ? 0.95 : conf < 0.05 ? 0.05 : conf;
    JSON_SET_NEW(ev, "confidence", conf_json(st, conf));
    json_array_append_new(st->out, ev);
    st->nevents++;
    st->sentence_events++;
}

static int negated(const struct nd_evtok *toks, size_t s0, size_t i)
{
    for (size_t p = i, k = 0; p-- > s0 && k < 4; k++) {
        const char *key = toks[p].key;
        size_t len = toks[p].keylen;
        if (has_class(&toks[p], WL_NEGATORS) || (len > 3 && !strcmp(key + len - 3, "n't")))
            return 1;
        if ((key_is(&toks[p], "to") && p > s0 &&
             (!strncmp(toks[p - 1].key, "declin", 6) || !strncmp(toks[p - 1].key, "refus", 5) ||
              !strncmp(toks[p - 1].key, "fail", 4))))
            return 1;
        if (has_class(&toks[p], WL_CLAUSE_STOPS) || key_is(&toks[p], ","))
            break;
    }
    return 0;
}

static int is_planned(const struct nd_evtok *toks, size_t s0, size_t s1, size_t i, int nominal)
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

/* Past participles not ending in -ed or -en. */
static int irregular_participle(const char *k)
{
    static const char *const forms[] = {
        "met",     "held", "hit",    "shot",  "struck", "put",  "sent", "kept",   "caught",
        "brought", "told", "sought", "led",   "set",    "cut",  "hurt", "fought", "bought",
        "won",     "lost", "left",   "found", "made",   "paid", NULL};
    for (size_t i = 0; forms[i]; i++)
        if (k[0] == forms[i][0] && !strcmp(k, forms[i]))
            return 1;
    return 0;
}

static int is_passive(const struct nd_evtok *toks, size_t s0, size_t s1, size_t i)
{
    const char *k = toks[i].key;
    size_t len = toks[i].keylen;
    if (len < 3 ||
        !(!strcmp(k + len - 2, "ed") || !strcmp(k + len - 2, "en") || irregular_participle(k)))
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
    const struct nd_evtok *prev;
    size_t len = toks[i].keylen;
    if (i == s0)
        return 0;
    prev = &toks[i - 1];
    if (has_class(prev, WL_DETS) || (has_class(prev, WL_PREPS) && !key_is(prev, "to")))
        return 0;
    if (key_is(prev, "and")) {
        /* "urged X and denounced Y", not "ties and arms" */
        return (len > 3 && !strcmp(toks[i].key + len - 2, "ed")) ||
               (strcmp(toks[i].key, lemma) && toks[i].key[len - 1] != 's' &&
                !(len > 4 && !strcmp(toks[i].key + len - 3, "ing")));
    }
    int k = span_at(spans, nspans, i - 1);
    if (k >= 0 && spans[k].b > s0 && has_class(&toks[spans[k].b - 1], WL_DETS) &&
        !key_is(&toks[spans[k].b - 1], "the") && !spans[k].sector[0])
        return 0; /* "a key U.S. ally": a noun after a modifier (not after a head noun such as
                   * "a Syrian newspaper called") */
    /* "sanctions against Russia targeting firms": a participle after the object of a
     * preposition describes the noun phrase; it is no act of that object */
    if (k >= 0 && spans[k].prep && len > 4 && !strcmp(toks[i].key + len - 3, "ing"))
        return 0;
    if (k >= 0 || has_class(prev, WL_AUXILIARIES) || (cap_word(prev) && i - 1 > s0))
        return 1;
    if (prev->keylen > 3 && !strcmp(prev->key + prev->keylen - 2, "ly"))
        return 1;
    if (len > 3 && !strcmp(toks[i].key + len - 2, "ed"))
        return 1;
    /* "a declaration demanding that": a participle after a noun */
    if (len > 4 && !strcmp(toks[i].key + len - 3, "ing") && (prev->flags & ND_EVTOK_WORD) &&
        !cap_word(prev) &&
        !nd_evmap_get_hashed(events->verb_forms, prev->key, prev->keylen, prev->hash,
                             &(uint32_t){0}))
        return 1;
    /* "On Friday pressed", "this week said": a time phrase before the verb */
    if (cap_word(prev) &&
        (key_is(prev, "monday") || key_is(prev, "tuesday") || key_is(prev, "wednesday") ||
         key_is(prev, "thursday") || key_is(prev, "friday") || key_is(prev, "saturday") ||
         key_is(prev, "sunday")))
        return 1;
    return 0;
}

/* Resolve a pronoun subject: after a speech verb in this sentence it is the speaker, else the
 * previous sentence's subject. */
/* What a pronoun subject stands for: after a speech verb in this sentence the speaker, else the
 * previous sentence's subject. */
static const struct group_ref *pronoun_ref(const struct story_state *st,
                                           const struct group_ref *speaker)
{
    return speaker->n ? speaker : &st->last_subject;
}

/* Find the triggers of sentence [s0, s1); fills speaker/speech_at from speech verbs. */
/* Modal words that are events themselves: a promise or an offer is an agreement (CAMEO 03). */
static int is_commitment(const struct nd_evtok *tok)
{
    return key_is(tok, "offered") || key_is(tok, "pledged") || key_is(tok, "promised") ||
           key_is(tok, "vowed") || key_is(tok, "proposed");
}

static size_t find_triggers(struct story_state *st, size_t s0, size_t s1, const struct span *spans,
                            size_t nspans, struct trigger *trig, size_t max,
                            struct group_ref *speaker, size_t *speech_at)
{
    const struct nd_events *events = st->events;
    const struct nd_evtok *toks = st->toks;
    size_t ntrig = 0, sk = 0; /* spans are in text order: sk follows i */

    for (size_t i = s0; i < s1 && ntrig < max;) {
        uint32_t v;
        size_t len;
        while (sk < nspans && spans[sk].e <= i)
            sk++;
        if (!(toks[i].flags & ND_EVTOK_WORD) || (sk < nspans && spans[sk].b <= i)) {
            i++;
            continue;
        }
        if ((len = match_phrase(st, events->nominal_map, 'N', i, s1, &v))) {
            struct trigger *tr = &trig[ntrig++];
            memset(tr, 0, sizeof(*tr));
            tr->b = i;
            tr->e = i + len;
            copy_code(tr->code, events->nominals[v].code, sizeof(tr->code));
            tr->nominal = events->nominals[v].role;
            i += len;
            continue;
        }
        if (has_class(&toks[i], WL_MEETING_NOUNS)) {
            /* "a call was being planned soon between Xi and Biden": noun and "between" apart */
            char key[ND_EVTOK_KEYMAX + 16];
            for (size_t p = i + 1; p < s1 && p < i + 7; p++) {
                if (has_class(&toks[p], WL_CLAUSE_STOPS) || key_is(&toks[p], ","))
                    break;
                if (!key_is(&toks[p], "between"))
                    continue;
                size_t n = toks[i].keylen;
                memcpy(key, toks[i].key, n);
                memcpy(key + n, " between", 8);
                n += 8;
                if (nd_evmap_get(events->nominal_map, key, n, &v)) {
                    struct trigger *tr = &trig[ntrig++];
                    memset(tr, 0, sizeof(*tr));
                    tr->b = i;
                    tr->e = i + 1;
                    tr->pair_at = p + 1;
                    copy_code(tr->code, events->nominals[v].code, sizeof(tr->code));
                    tr->nominal = 'p';
                }
                break;
            }
            if (ntrig && trig[ntrig - 1].b == i) {
                i++;
                continue;
            }
        }
        if ((len = match_phrase(st, events->verb_forms, 'V', i, s1, &v))) {
            const struct verb *verb = &events->verbs[v];
            size_t nm = 0;
            const char *code;
            if (!verb_position(events, toks, spans, nspans, s0, i, verb->lemma)) {
                if (!verb->speech && strcmp(verb->lemma, "plan") &&
                    strcmp(verb->lemma, "schedule") && !has_class(&toks[i], WL_MODALS)) {
                    struct trigger *tr = &trig[ntrig++];
                    memset(tr, 0, sizeof(*tr));
                    tr->b = i;
                    tr->e = i + len;
                    tr->weak = verb;
                }
                i += len;
                continue;
            }
            code =
                match_patterns(events, verb->lemma, toks, i + len,
                               i + len + PATTERN_WINDOW < s1 ? i + len + PATTERN_WINDOW : s1, &nm);
            /* CAMEO 01/02 (comments, appeals) are not PLOVER events. A verb that is an event by
             * itself ("demand") keeps its own code for an appeal pattern; a verb of meeting or
             * intent ("call") read as an appeal ("called on", "called for") is the appeal; a
             * comment pattern ("issued a statement") is no event, whatever the verb's default */
            if (!code || (!strncmp(code, "02", 2) && strcmp(verb->code, "---") &&
                          strncmp(verb->code, "03", 2) && strncmp(verb->code, "04", 2))) {
                code = verb->code;
                nm = 0;
            }
            if (verb->speech) {
                /* a speech verb: its subject (or the name after it) is the sentence's speaker */
                int k = subject_before(spans, nspans, clause_start(toks, s0, i), i, 1);
                if (k < 0)
                    k = object_after(toks, spans, nspans, i + len,
                                     i + len + 4 < s1 ? i + len + 4 : s1, 0);
                if (k >= 0) {
                    struct group_ref g;
                    group_of(spans, nspans, (size_t)k, pronoun_ref(st, speaker), &g);
                    if (g.n) {
                        *speaker = g;
                        *speech_at = i;
                    }
                }
                i += len;
                continue;
            }
            /* "was being planned", "are expected to meet": markers of what follows, no events */
            if (!strcmp(verb->lemma, "plan") || !strcmp(verb->lemma, "schedule") ||
                (has_class(&toks[i], WL_MODALS) && !is_commitment(&toks[i]))) {
                i += len;
                continue;
            }
            if (strcmp(code, "---") && strncmp(code, "01", 2)) {
                struct trigger *tr = &trig[ntrig++];
                memset(tr, 0, sizeof(*tr));
                tr->b = i;
                tr->e = i + len;
                copy_code(tr->code, code, sizeof(tr->code));
                tr->pattern = (int)nm;
                tr->appeal = !strncmp(code, "02", 2);
            }
            i += len;
            continue;
        }
        i++;
    }
    return ntrig;
}

/* Peacekeepers named just before a verb, in its clause ("Bangladeshi peacekeeping troops
 * arrived"). */
static int peacekeepers_before(const struct nd_evtok *toks, size_t cb, size_t b)
{
    for (size_t p = b > cb + 6 ? b - 6 : cb; p < b; p++)
        if (toks[p].keylen >= 9 && !memcmp(toks[p].key, "peacekeep", 9))
            return 1;
    return 0;
}

/* A military exercise named after a verb, in its clause ("launched 10 days of war games"). */
static int exercise_near(const struct nd_evtok *toks, size_t from, size_t ce)
{
    for (size_t p = from; p < ce && p < from + 8; p++)
        if (key_is(&toks[p], "exercise") || key_is(&toks[p], "exercises") ||
            key_is(&toks[p], "drills") || key_is(&toks[p], "games") ||
            key_is(&toks[p], "maneuvers") || key_is(&toks[p], "manoeuvres"))
            return 1;
    return 0;
}

/* All actors of the group of one country ("Russian forces and Russian police"). */
static int same_country(const struct group_ref *g)
{
    for (int k = 1; k < g->n; k++)
        if (strcmp(g->a[k].cc, g->a[0].cc))
            return 0;
    return 1;
}

/* The threat code for the event of an infinitive right after trigger t ("sworn to fight"), when
 * that event is harm (CAMEO 15 to 20); NULL otherwise. */
static const char *harmful_complement(const struct nd_evtok *toks, const struct trigger *trig,
                                      size_t ntrig, size_t t, size_t ce)
{
    for (size_t u = t + 1; u < ntrig; u++) {
        const struct trigger *c = &trig[u];
        if (c->b >= ce || c->b > trig[t].e + 5)
            break;
        if (c->nominal || c->weak || !key_is(&toks[c->b - 1], "to"))
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

static void code_sentence(struct story_state *st, size_t s0, size_t s1)
{
    const struct nd_evtok *toks = st->toks;
    struct span spans[MAX_SPANS];
    struct trigger trig[64];
    struct group_ref srcs[64], tgts[64];
    size_t nspans, ntrig;
    struct group_ref speaker = {.n = 0}, subject = {.n = 0};
    size_t speech_at = SIZE_MAX;

    nspans = find_spans(st, s0, s1, spans);
    st->sentence_events = 0;
    st->sentence_obj = NULL;
    /* a title or body with no country ("President Bouteflicka", "the rebels") belongs, in wire
     * copy, to the country the sentence is about: the nearest country before it, else after it,
     * else the previous sentence's subject */
    for (size_t k = 0; k < nspans; k++) {
        struct span *sp = &spans[k];
        const char *cc = NULL;
        if (sp->cc[0] || sp->pron || sp->blocked || !sp->sector[0])
            continue;
        for (size_t q = k; q-- > 0 && !cc;)
            if (spans[q].cc[0] && !is_body_code(spans[q].cc))
                cc = spans[q].cc;
        for (size_t q = k + 1; q < nspans && !cc; q++)
            if (spans[q].cc[0] && !is_body_code(spans[q].cc))
                cc = spans[q].cc;
        if (!cc && st->last_subject.n)
            cc = st->last_subject.a[0].cc;
        if (cc)
            memcpy(sp->cc, cc, sizeof(sp->cc));
    }
    ntrig = find_triggers(st, s0, s1, spans, nspans, trig, 64, &speaker, &speech_at);

    /* the sentence's grammatical subject: first group outside a prepositional phrase */
    for (size_t k = 0; k < nspans && !subject.n; k++) {
        if (spans[k].blocked || spans[k].prep || spans[k].possessive)
            continue;
        group_of(spans, nspans, k, pronoun_ref(st, &speaker), &subject);
    }

    /* Pass 0 codes what the rules are sure of. A sentence left without an event gets a relaxed
     * pass at lower confidence: verbs in noun-like positions, a bare verb without a target, the
     * sentence's first actor as the source when the verb has none of its own (wire copy leads with
     * the actor). */
    for (int relaxed = 0; relaxed < 2; relaxed++) {
        if (relaxed && (st->sentence_events || !ntrig))
            break;
        for (size_t t = 0; t < ntrig; t++) {
            struct trigger *tr = &trig[t];
            struct group_ref *src = &srcs[t], tgt = {.n = 0};
            const char *code = tr->code;
            const char *harm;
            int planned, src_fallback = 0, k, passive = 0, tgt_implied = 0;

            tr->dropped = 1;
            tr->governed = 0;
            src->n = 0;
            tgts[t].n = 0;
            if (tr->weak) {
                size_t nm = 0;
                if (!relaxed)
                    continue;
                code =
                    match_patterns(st->events, tr->weak->lemma, toks, tr->e,
                                   tr->e + PATTERN_WINDOW < s1 ? tr->e + PATTERN_WINDOW : s1, &nm);
                if (!code || ((!strncmp(code, "01", 2) || !strncmp(code, "02", 2)) &&
                              strcmp(tr->weak->code, "---"))) {
                    code = tr->weak->code;
                    nm = 0;
                }
                if (!strcmp(code, "---") || !strncmp(code, "01", 2) || !strncmp(code, "02", 2))
                    continue;
                copy_code(tr->code, code, sizeof(tr->code));
                tr->pattern = (int)nm;
            }
            size_t cb = clause_start(toks, s0, tr->b), ce = clause_end(toks, tr->e, s1), qb = 0,
                   qe = 0;
            const struct group_ref *pron = pronoun_ref(st, &speaker);
            size_t tgt_from = tr->e;
            /* "will boycott the elections unless the president agrees to step down": what an "if"
             * or "unless" clause names is a condition, not something that happened */
            if (cb > s0 && (key_is(&toks[cb - 1], "if") || key_is(&toks[cb - 1], "unless")))
                continue;
            if (tr->appealed) {
                tr->governed = 1;
                continue;
            }
            if (tr->appeal) {
                /* "urged the EC to support the PLO": the complement is the first verb after "to"
                 * in the clause; CAMEO codes urging support for Y as rallying support on behalf
                 * of Y (053), urging action against Y as rallying opposition against Y (113) */
                int comp = -1;
                for (size_t u = t + 1; u < ntrig && comp < 0; u++) {
                    if (trig[u].b >= ce || trig[u].b > tr->e + 8)
                        break;
                    if (!trig[u].nominal && !trig[u].weak && trig[u].b > tr->e &&
                        key_is(&toks[trig[u].b - 1], "to"))
                        comp = (int)u;
                }
                if (comp < 0)
                    continue;
                trig[comp].appealed = 1;
                code = NULL;
                if (!strncmp(trig[comp].code, "05", 2) || !strncmp(trig[comp].code, "06", 2) ||
                    !strncmp(trig[comp].code, "07", 2)) {
                    code = "053";
                    tgt_from = trig[comp].e;
                } else {
                    for (size_t p = trig[comp].b; p + 1 < ce && !code; p++)
                        if (key_is(&toks[p], "against")) {
                            code = "113";
                            tgt_from = p + 1;
                        }
                }
                if (!code)
                    continue;
            }
            /* "peacekeeping troops arrived in Sierra Leone": troops do not visit, their arrival is
             * a deployment, and of peacekeepers, CAMEO's provision of peacekeeping (074) */
            if (!tr->nominal && !strncmp(code, "04", 2) && peacekeepers_before(toks, cb, tr->b))
                code = "074";
            int meeting = !strncmp(code, "03", 2) || !strncmp(code, "04", 2);

            int neg = negated(toks, s0, tr->b);
            /* "will not accept", "did not agree": refusing cooperation is a rejection (CAMEO 12);
             * "did not condemn" is no event */
            if (neg && (strncmp(code, "03", 2) < 0 || strncmp(code, "08", 2) > 0))
                continue;
            /* "agreed to set up", "urged the U.S. to remove": an infinitive after a verb of the
             * same clause is that verb's complement, coded by it */
            if (!tr->nominal && tr->b > s0 && key_is(&toks[tr->b - 1], "to")) {
                int governed = 0;
                for (size_t q = 0; q < t && !governed; q++)
                    governed = !trig[q].weak && trig[q].e <= tr->b && trig[q].b >= cb &&
                               trig[q].e + 5 >= tr->b;
                if (governed) {
                    tr->governed = 1;
                    continue;
                }
            }
            if (speech_at != SIZE_MAX && speech_at < tr->b && cb <= speech_at)
                cb = speech_at + 1;
            /* "X urged Y ... and denounced Z": Y is the first verb's object, not this one's subject
             */
            size_t barrier = cb;
            int prev_verb = -1;
            for (size_t q = 0; q < t; q++)
                if (!trig[q].nominal && trig[q].e <= tr->b && trig[q].e >= cb &&
                    (!trig[q].dropped || trig[q].governed)) {
                    barrier = trig[q].e;
                    if (!trig[q].dropped)
                        prev_verb = (int)q;
                }
            planned = is_planned(toks, s0, s1, tr->b,
                                 !tr->nominal              ? 0
                                 : !strncmp(code, "04", 2) ? 'm'
                                                           : 'n');

            if (tr->nominal == 'p') {
                /* "a call between Xi and Biden": the pair, first as source */
                k = object_after(toks, spans, nspans, tr->pair_at ? tr->pair_at : tr->e, ce, 1);
                if (k >= 0) {
                    struct group_ref g;
                    group_of(spans, nspans, (size_t)k, pron, &g);
                    if (g.n >= 2) {
                        src->n = 1;
                        src->a[0] = g.a[0];
                        tgt.n = g.n - 1;
                        memcpy(tgt.a, g.a + 1, sizeof(g.a[0]) * (size_t)(g.n - 1));
                    } else {
                        tgt = g;
                    }
                }
            } else if (!tr->nominal && is_passive(toks, s0, s1, tr->b)) {
                /* "the meeting chaired by Wang and Amorim": the agent after "by" is the source */
                passive = 1;
                for (size_t p = tr->e; p < ce && p < tr->e + 3; p++)
                    if (key_is(&toks[p], "by")) {
                        k = object_after(toks, spans, nspans, p + 1, ce, 0);
                        if (k >= 0)
                            group_of(spans, nspans, (size_t)k, pron, src);
                        break;
                    }
                k = subject_before(spans, nspans, barrier, tr->b, 0);
                if (k >= 0)
                    group_of(spans, nspans, (size_t)k, pron, &tgt);
                /* "was arrested in Lebanon", "has been put under investigation in Italy": with no
                 * agent named, the act is the authorities' of the place where it happens */
                for (size_t q = 0; q < nspans && !src->n; q++) {
                    const struct span *sp = &spans[q];
                    if (sp->b < tr->e || sp->b >= ce || sp->blocked || !sp->cc[0] || !sp->prep ||
                        strcmp(sp->prep, "in") || is_body_code(sp->cc))
                        continue;
                    group_of(spans, nspans, q, pron, src);
                    if (same_group(src, &tgt))
                        src->n = 0;
                }
            } else {
                /* possessor of a nominal trigger: "Zelenskiy's dismissal of" */
                if (tr->nominal && tr->b >= 2 && key_is(&toks[tr->b - 1], "'s")) {
                    k = span_at(spans, nspans, tr->b - 2);
                    if (k >= 0)
                        group_of(spans, nspans, (size_t)k, pron, src);
                }
                /* "will visit Germany for talks with Merz": the talks are the visitor's */
                if (!src->n && tr->nominal && prev_verb >= 0)
                    *src = srcs[prev_verb];
                if (!src->n) {
                    k = subject_before(spans, nspans, barrier, tr->b, 0);
                    if (k >= 0)
                        group_of(spans, nspans, (size_t)k, pron, src);
                }
                if (!src->n && prev_verb >= 0)
                    *src = srcs[prev_verb];
                size_t limit = tr->nominal ? tr->e + 4 : tgt_from + 12;
                k = object_after(toks, spans, nspans, tgt_from, ce < limit ? ce : limit, meeting);
                if (k < 0 && tr->nominal) {
                    /* past a news agency: "concerned by a Reuters report that Russia ..." */
                    for (size_t q = 0; q < nspans; q++)
                        if (spans[q].blocked && spans[q].b >= tr->e && spans[q].b < limit)
                            k = object_after(toks, spans, nspans, spans[q].e,
                                             ce < tr->e + 10 ? ce : tr->e + 10, meeting);
                }
                if (k >= 0)
                    group_of(spans, nspans, (size_t)k, pron, &tgt);
            }
            /* "Blinken said it would ...": the speaker, when the verb follows the speech verb
             * closely; a clause with a subject of its own ("said that this was helping") is not the
             * speaker's act */
            if (!src->n && speech_at != SIZE_MAX && speech_at < tr->b &&
                (tr->nominal || tr->b <= speech_at + 4)) {
                *src = speaker;
                src_fallback = 1;
            }
            if (!src->n && tr->nominal && subject.n && !same_group(&subject, &tgt)) {
                *src = subject;
                src_fallback = 1;
            }
            if (!src->n && quote_around(toks, s0, s1, tr->b, &qb, &qe) && st->last_speaker.n) {
                *src = st->last_speaker;
                src_fallback = 1;
            }
            if (!src->n && relaxed) {
                for (size_t q = 0; q < nspans && !src->n; q++) {
                    if (spans[q].blocked || spans[q].b >= tr->b ||
                        (q > 0 && spans[q - 1].group == spans[q].group))
                        continue;
                    group_of(spans, nspans, q, pron, src);
                    if (same_group(src, &tgt))
                        src->n = 0;
                }
                src_fallback = 1;
            }
            if (same_group(src, &tgt))
                tgt.n = 0;
            /* "he and Wang discussed": a consultation between the members of one compound subject
             */
            if (!tgt.n && !passive && src->n >= 2 && !strncmp(code, "04", 2)) {
                tgt.n = src->n - 1;
                memcpy(tgt.a, src->a + 1, sizeof(src->a[0]) * (size_t)(src->n - 1));
                src->n = 1;
            }
            /* "French and Egyptian warships launched war games": an exercise of two countries'
             * forces together is joint, military cooperation (CAMEO 062), not a show of force */
            if (!strncmp(code, "15", 2) && !passive && src->n >= 2 &&
                exercise_near(toks, tr->e, ce) && !same_country(src)) {
                code = "062";
                tgt.n = src->n - 1;
                memcpy(tgt.a, src->a + 1, sizeof(src->a[0]) * (size_t)(src->n - 1));
                src->n = 1;
            }
            /* an event needs an actor on one side at least; one with only a target ("Russian
             * positions were shelled") is kept, its confidence says the source is missing */
            if (!src->n && !tgt.n)
                continue;
            /* a verb's bare default code without anyone acted upon is mostly noise ("wants",
             * "established"); protests, force postures and violence need no target */
            if (!relaxed && !tr->nominal && !tr->pattern && !tgt.n && !passive && !planned &&
                !neg) {
                static const char *const intransitive[] = {"03", "10", "11", "12", "13", "14",
                                                           "15", "18", "19", "20", NULL};
                int ok = 0;
                for (size_t q = 0; intransitive[q] && !ok; q++)
                    ok = !strncmp(code, intransitive[q], 2);
                if (!ok)
                    continue;
            }
            if (!tgt.n && src->n && !is_body_code(src->a[0].cc)) {
                /* no one acted upon by name: a state's act lands where it happens ("lifted a state
                 * of emergency in West Darfur"), else at home ("the army holds civilians") */
                for (size_t q = 0; q < nspans && !tgt.n; q++) {
                    const struct span *sp = &spans[q];
                    if (sp->blocked || !sp->cc[0] || !sp->prep || !place_prep(sp->prep) ||
                        is_body_code(sp->cc) || (q > 0 && spans[q - 1].group == sp->group))
                        continue;
                    group_of(spans, nspans, q, pron, &tgt);
                    if (same_group(src, &tgt))
                        tgt.n = 0;
                }
                /* "India and Australia signed a pact": the act is between the sources, not at
                 * the first one's home; with no counterpart named the target stays empty */
                int between = 0;
                for (int q = 1; q < src->n; q++)
                    between |= memcmp(src->a[q].cc, src->a[0].cc, sizeof(src->a[0].cc)) != 0;
                if (!tgt.n && !between) {
                    memset(&tgt.a[0], 0, sizeof(tgt.a[0]));
                    memcpy(tgt.a[0].cc, src->a[0].cc, sizeof(tgt.a[0].cc));
                    tgt.a[0].implied = 1;
                    tgt.n = 1;
                }
                tgt_implied = tgt.n > 0;
            }
            int obliged = 0;
            for (size_t p = tr->b, n = 0; p-- > s0 && n < 3; n++)
                obliged |= key_is(&toks[p], "must") || key_is(&toks[p], "should") ||
                           (key_is(&toks[p], "to") && p > s0 &&
                            (key_is(&toks[p - 1], "has") || key_is(&toks[p - 1], "have")));
            if (obliged && speaker.n && speech_at < tr->b && !same_group(&speaker, src)) {
                /* "Russia said Sudan must return the helicopter": the speaker demands it of the
                 * subject
                 */
                tgt = *src;
                *src = speaker;
                code = "100";
                src_fallback = 0;
            } else if (neg) {
                code = "120";
            } else if (!tr->nominal && (!strncmp(code, "03", 2) || !strcmp(code, "110")) &&
                       (harm = harmful_complement(toks, trig, ntrig, t, ce))) {
                /* "vowed to fight", "has sworn to attack", "pledged to boycott": a commitment to
                 * harm is a threat (CAMEO 13); readying force to use it ("prepared to attack",
                 * CAMEO's PREPARE FOR FIGHT, READY INVASION) is a force posture (154) */
                code = harm;
                if (!strcmp(harm, "138") && (!strncmp(toks[tr->b].key, "prepar", 6) ||
                                             !strncmp(toks[tr->b].key, "read", 4)))
                    code = "154";
            } else if (planned) {
                /* intent to cooperate is CAMEO 03 (AGREE); announced harm or a condition ("will
                 * withdraw unless") is a threat, CAMEO 13 */
                const char *ic = intent_code(code);
                int conditional = 0;
                for (size_t p = s0; p < s1; p++)
                    conditional |= key_is(&toks[p], "unless") || key_is(&toks[p], "if");
                if (strncmp(code, "14", 2) >= 0 || (conditional && strncmp(code, "08", 2) >= 0))
                    code = !strncmp(code, "18", 2) || !strncmp(code, "19", 2) ||
                                   !strncmp(code, "20", 2)
                               ? "138"
                           : !strncmp(code, "16", 2) ? "131"
                           : !strncmp(code, "14", 2) ? "133"
                                                     : "130";
                else if (ic)
                    code = ic;
            }
            if (!(qe > qb) && !quote_around(toks, s0, s1, tr->b, &qb, &qe) && speaker.n &&
                same_group(&speaker, src)) {
                /* the speaker's own quoted words in this sentence */
                for (size_t p = s0; p < s1; p++)
                    if (toks[p].flags & ND_EVTOK_QUOTE &&
                        quote_around(toks, s0, s1, p + 1, &qb, &qe))
                        break;
            }
            tr->dropped = 0;
            /* "imposed sanctions on Iran": verb and noun name one event */
            int dup = 0;
            for (size_t q = 0; q < t && !dup; q++)
                dup = !trig[q].dropped && !strncmp(trig[q].emitted, code, 2) &&
                      same_group(&srcs[q], src) && same_group(&tgts[q], &tgt);
            tgts[t] = tgt;
            copy_code(tr->emitted, code, sizeof(tr->emitted));
            if (dup)
                continue;
            emit(st, s0, s1, tr, code, src, &tgt, planned, src_fallback + relaxed + tgt_implied, qb,
                 qe);
        }
    }

    if (subject.n)
        st->last_subject = subject;
    if (speaker.n)
        st->last_speaker = speaker;
    else if (!(toks[s0].flags & ND_EVTOK_QUOTE))
        st->last_speaker.n = 0;
}

/* Positions of the UTF-8 continuation bytes (10xxxxxx) in p[0..len) into pos; SIZE_MAX when there
 * are more than cap. Eight ASCII bytes are skipped at once. */
static size_t continuation_positions(const unsigned char *p, size_t len, uint32_t *pos, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint64_t w;
        if (len - i >= 8 && (memcpy(&w, p + i, 8), !(w & 0x8080808080808080ull))) {
            i += 8;
            continue;
        }
        if ((p[i] & 0xC0) == 0x80) {
            if (n == cap)
                return SIZE_MAX;
            pos[n++] = (uint32_t)i;
        }
        i++;
    }
    return n;
}

static int by_start(const void *a, const void *b)
{
    const struct nd_events_mention *x = *(const struct nd_events_mention *const *)a;
    const struct nd_events_mention *y = *(const struct nd_events_mention *const *)b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* by_start order, equal starts kept in their order (as the merge sort behind glibc's qsort keeps
 * them): a story's few dozen mentions by insertion, with no comparator call per step; a long list
 * by qsort. */
#define MENTION_INSERTION_MAX 128

static void sort_by_start(const struct nd_events_mention **m, size_t n)
{
    if (n > MENTION_INSERTION_MAX) {
        qsort(m, n, sizeof(*m), by_start);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        const struct nd_events_mention *x = m[i];
        size_t j = i;
        while (j > 0 && m[j - 1]->start > x->start) {
            m[j] = m[j - 1];
            j--;
        }
        m[j] = x;
    }
}

json_t *nd_events_code(const struct nd_events *events, const char *text, size_t len,
                       const struct nd_events_mention *mentions, size_t nmentions)
{
    struct nd_evtok *toks = NULL;
    size_t ntok;
    json_t *out;

    if (!events || !text || !len)
        return json_array();
    ntok = nd_evlex_tokenize_alloc(text, len, MAX_TOKENS, &toks);
    out = nd_events_code_tokens(events, text, toks, ntok, mentions, nmentions);
    free(toks);
    return out;
}

json_t *nd_events_code_tokens(const struct nd_events *events, const char *text,
                              struct nd_evtok *toks, size_t ntok,
                              const struct nd_events_mention *mentions, size_t nmentions)
{
    struct story_state *st = NULL;
    uint32_t *starts = NULL;
    size_t nsent;
    json_t *out = json_array();

    if (!events || !text || !toks || !ntok)
        return out;
    st = malloc(sizeof(*st));
    if (!st)
        goto out;
    memset(st, 0, offsetof(struct story_state, memo));
    st->toks = toks;
    st->ntok = ntok;
    st->events = events;
    st->text = text;
    /* every slice put in the JSON lies within the tokens: the last one ends the text we read */
    st->text_len = toks[ntok - 1].end;
    st->utf8_ok = utf8_valid((const unsigned char *)text, st->text_len);
    if (mentions && nmentions) {
        st->sorted = malloc(nmentions * sizeof(*st->sorted));
        if (!st->sorted)
            goto out;
        for (size_t k = 0; k < nmentions; k++)
            st->sorted[k] = &mentions[k];
        sort_by_start(st->sorted, nmentions);
        st->nmentions = nmentions;
    }
    st->out = out;
    /* one block per story for the per-token arrays: phrase masks, code points, sentence starts */
    st->firsts = malloc((st->ntok + 1) * 6 * sizeof(*st->firsts));
    if (!st->firsts)
        goto out;
    st->fidx = st->firsts + st->ntok + 1;
    st->cps = st->fidx + st->ntok + 1;
    starts = st->cps + 2 * (st->ntok + 1);
    st->mfirst = starts + st->ntok + 1;
    /* a code point offset is the byte offset less the UTF-8 continuation bytes before it; their
     * positions are listed once (in the sentence-starts array, free until the sentences are
     * split), or, in a text with more of them than tokens, counted byte by byte */
    size_t ncont =
        continuation_positions((const unsigned char *)text, st->text_len, starts, st->ntok + 1);
    size_t at = 0, cp = 0, q = 0, mk = 0;
    for (size_t i = 0; i < FIRST_AHEAD && i < st->ntok; i++)
        nd_evmap_prefetch(events->first_len, st->toks[i].hash);
    for (size_t i = 0; i < st->ntok; i++) {
        struct nd_evtok *tok = &st->toks[i];
        uint32_t idx;
        if (i + FIRST_AHEAD < st->ntok)
            nd_evmap_prefetch(events->first_len, st->toks[i + FIRST_AHEAD].hash);
        st->firsts[i] = 0;
        st->fidx[i] = 0;
        tok->cls = 0;
        /* tokens and sorted mentions both go by start: one merge finds each token's mentions */
        while (mk < st->nmentions && st->sorted[mk]->start < tok->start)
            mk++;
        st->mfirst[i] = mk < st->nmentions && st->sorted[mk]->start == tok->start ? (uint32_t)mk
                                                                                 : UINT32_MAX;
        if (nd_evmap_get_hashed(events->first_len, tok->key, tok->keylen, tok->hash, &idx)) {
            st->firsts[i] = events->finfo[idx].masks;
            st->fidx[i] = idx;
            tok->cls = events->finfo[idx].cls;
        }
        if (ncont != SIZE_MAX) {
            while (q < ncont && starts[q] < tok->start)
                q++;
            st->cps[2 * i] = tok->start - (uint32_t)q;
            while (q < ncont && starts[q] < tok->end)
                q++;
            st->cps[2 * i + 1] = tok->end - (uint32_t)q;
            continue;
        }
        for (; at < tok->start; at++)
            cp += ((unsigned char)text[at] & 0xC0) != 0x80;
        st->cps[2 * i] = (uint32_t)cp;
        for (; at < tok->end; at++)
            cp += ((unsigned char)text[at] & 0xC0) != 0x80;
        st->cps[2 * i + 1] = (uint32_t)cp;
    }
    nsent = nd_evlex_sentences(text, st->toks, st->ntok, starts, st->ntok + 1);
    for (size_t s = 0; s < nsent; s++) {
        size_t s0 = starts[s], s1 = s + 1 < nsent ? starts[s + 1] : st->ntok;
        if (s1 > s0)
            code_sentence(st, s0, s1);
    }
out:
    if (st) {
        code_cache_free(st);
        free(st->sorted);
        free(st->firsts);
    }
    free(st);
    return out;
}
