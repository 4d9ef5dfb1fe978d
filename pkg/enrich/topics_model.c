/* Loading models/topics.model (scripts/build_topics_model.py). Records, tab-separated, kind first:
 *   T code level parent name        an IPTC Media Topic
 *   L term code weight              a lexicon term (lowercase keys joined by spaces)
 *   C class...                      the classifier's classes: IPTC codes, or "world"
 *   P head lead lead_n body tail_n tail   word weights by position
 *   S temperature event_logit event_cap
 *   G bias...                       one per class
 *   X code weight...                one per class: of log(1 + the topic's lexicon points)
 *   W word weight...                one per class */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/core.h"
#include "enrich/events_lex.h"
#include "enrich/topics_int.h"

#define MAX_FIELDS (2 + ND_TOPICS_MAX_CLASS)

int nd_topics_index(const struct nd_topics *topics, const char *code)
{
    for (size_t i = 0; i < topics->ntopics; i++)
        if (!strcmp(topics->topics[i].code, code))
            return (int)i;
    return -1;
}

static enum nd_err load_topic(struct nd_topics *topics, char **f, int nf)
{
    if (nf < 5 || topics->ntopics >= ND_TOPICS_MAX)
        return ND_ERR_INVALID;
    struct nd_topic *t = &topics->topics[topics->ntopics++];
    snprintf(t->code, sizeof(t->code), "%s", f[1]);
    t->level = atoi(f[2]);
    t->parent = -1;
    t->parent_code = f[3];
    t->name = f[4];
    json_t *probe = json_string(t->name);
    t->name_ok = probe != NULL;
    json_decref(probe);
    return ND_OK;
}

/* The slot of a word, claimed when new; NULL for a key no token has (empty, or longer than a
 * token's key), which is then never looked up. The table has room for every line of the model
 * twice over, so it is never more than half full. */
static struct nd_topics_word *word_slot(struct nd_topics *topics, const char *key, size_t klen)
{
    uint64_t hash;
    size_t j;
    if (!klen || klen > ND_EVTOK_KEYMAX)
        return NULL;
    hash = nd_evmap_hash(key, klen);
    for (j = (size_t)hash & topics->word_mask; topics->words[j].klen;
         j = (j + 1) & topics->word_mask) {
        struct nd_topics_word *word = &topics->words[j];
        if (word->tag == (uint32_t)(hash >> 32) && word->klen == klen &&
            !memcmp(word->key, key, klen))
            return word;
    }
    /* the keys' room was sized for every line of the model at its longest */
    char *copy = topics->word_keys + topics->word_keys_used;
    memcpy(copy, key, klen);
    topics->word_keys_used += (klen + 7) / 8 * 8;
    topics->words[j] =
        (struct nd_topics_word){.key = copy, .tag = (uint32_t)(hash >> 32), .klen = (uint8_t)klen};
    return &topics->words[j];
}

/* The longest term a word starts (so a lookup knows how far to join). */
static void note_term_start(struct nd_topics *topics, const char *term)
{
    const char *sp = strchr(term, ' ');
    size_t flen = sp ? (size_t)(sp - term) : strlen(term);
    size_t nw = 1;
    struct nd_topics_word *word = word_slot(topics, term, flen);
    for (const char *q = term; *q; q++)
        nw += *q == ' ';
    if (word && nw > word->maxn)
        word->maxn = (uint8_t)(nw < 255 ? nw : 255);
}

static enum nd_err load_term(struct nd_topics *topics, char **f, int nf, size_t *cap)
{
    int ti = nf >= 4 ? nd_topics_index(topics, f[2]) : -1;
    uint32_t head = UINT32_MAX;
    if (ti < 0)
        return ND_ERR_INVALID;
    if (topics->nterms >= *cap) {
        size_t ncap = *cap ? *cap * 2 : 512;
        struct nd_topic_term *nt = realloc(topics->terms, ncap * sizeof(*nt));
        if (!nt)
            return ND_ERR_NOMEM;
        topics->terms = nt;
        uint32_t *nn = realloc(topics->term_next, ncap * sizeof(*nn));
        if (!nn)
            return ND_ERR_NOMEM;
        topics->term_next = nn;
        *cap = ncap;
    }
    nd_evmap_get(topics->term_map, f[1], strlen(f[1]), &head);
    note_term_start(topics, f[1]);
    topics->terms[topics->nterms] =
        (struct nd_topic_term){.topic = (uint16_t)ti, .weight = strtof(f[3], NULL)};
    topics->term_next[topics->nterms] = head;
    if (nd_evmap_put(topics->term_map, f[1], strlen(f[1]), (uint32_t)topics->nterms++))
        return ND_ERR_NOMEM;
    return ND_OK;
}

static enum nd_err load_classes(struct nd_topics *topics, char **f, int nf)
{
    if (nf < 2 || nf - 1 > ND_TOPICS_MAX_CLASS)
        return ND_ERR_INVALID;
    topics->nclass = nf - 1;
    topics->world = -1;
    for (int c = 0; c < topics->nclass; c++) {
        if (!strcmp(f[1 + c], "world")) {
            topics->cls_topic[c] = -1;
            topics->world = c;
        } else if ((topics->cls_topic[c] = nd_topics_index(topics, f[1 + c])) < 0) {
            return ND_ERR_INVALID;
        }
    }
    return ND_OK;
}

static enum nd_err load_scalars(struct nd_topics *topics, char kind, char **f, int nf)
{
    if (kind == 'P' && nf >= 7) {
        topics->pos = (struct nd_topics_position){.head = strtof(f[1], NULL),
                                                  .lead = strtof(f[2], NULL),
                                                  .lead_n = (uint32_t)strtoul(f[3], NULL, 10),
                                                  .body = strtof(f[4], NULL),
                                                  .tail_n = (uint32_t)strtoul(f[5], NULL, 10),
                                                  .tail = strtof(f[6], NULL)};
    } else if (kind == 'S' && nf >= 4) {
        topics->temperature = strtof(f[1], NULL);
        topics->event_logit = strtof(f[2], NULL);
        topics->event_cap = atoi(f[3]);
        if (!(topics->temperature > 0))
            return ND_ERR_INVALID;
    } else if (kind == 'G' && topics->nclass && nf >= 1 + topics->nclass) {
        for (int c = 0; c < topics->nclass; c++)
            topics->bias[c] = strtof(f[1 + c], NULL);
    } else if (kind == 'X' && topics->nclass && nf >= 2 + topics->nclass) {
        int t = nd_topics_index(topics, f[1]);
        if (t < 0)
            return ND_ERR_INVALID;
        for (int c = 0; c < topics->nclass; c++)
            topics->lexw[t][c] = strtof(f[2 + c], NULL);
    } else {
        return ND_ERR_INVALID;
    }
    return ND_OK;
}

static enum nd_err load_word(struct nd_topics *topics, char **f, int nf, size_t *cap)
{
    size_t k = (size_t)topics->nclass;
    float *row;
    if (!k || nf < 2 + topics->nclass)
        return ND_ERR_INVALID;
    if (topics->nwords >= *cap) {
        size_t ncap = *cap ? *cap * 2 : 4096;
        float *nw = realloc(topics->weight, ncap * ND_TOPICS_MAX_CLASS * sizeof(*nw));
        if (!nw)
            return ND_ERR_NOMEM;
        topics->weight = nw;
        *cap = ncap;
    }
    row = &topics->weight[topics->nwords * ND_TOPICS_MAX_CLASS];
    for (size_t c = 0; c < ND_TOPICS_MAX_CLASS; c++)
        row[c] = c < k ? strtof(f[2 + c], NULL) : 0.0f;
    struct nd_topics_word *word = word_slot(topics, f[1], strlen(f[1]));
    topics->nwords++;
    if (word)
        word->row = (uint32_t)topics->nwords;
    return ND_OK;
}

/* Each word's term of that one word, found once so that scoring needs no second lookup. */
static void one_word_terms(struct nd_topics *topics)
{
    for (size_t j = 0; j <= topics->word_mask; j++) {
        struct nd_topics_word *word = &topics->words[j];
        uint32_t v;
        if (word->klen && nd_evmap_get(topics->term_map, word->key, word->klen, &v))
            word->term = v + 1;
    }
}

/* Splits a line at tabs in place; returns the field count. */
static int split_fields(char *line, char **f)
{
    int nf = 0;
    f[nf++] = line;
    for (char *p = line; *p && nf < MAX_FIELDS; p++)
        if (*p == '\t') {
            *p = '\0';
            f[nf++] = p + 1;
        }
    return nf;
}

enum nd_err nd_topics_model_load(struct nd_topics *topics, char *errstr, size_t errsz)
{
    enum nd_err err = ND_OK;
    size_t tcap = 0, wcap = 0, lineno = 0;
    char *next;
    size_t nslot = 64, nlines = 1;
    topics->temperature = 1.0f;
    topics->pos = (struct nd_topics_position){1, 1, 1, 1, 0, 0};
    for (const char *p = topics->buf; (p = strchr(p, '\n')); p++)
        nlines++;
    while (nslot < 2 * nlines)
        nslot *= 2;
    /* a word per line at most, each key at most ND_EVTOK_KEYMAX bytes padded to eight */
    topics->words = calloc(nslot, sizeof(*topics->words));
    topics->word_keys = calloc(nlines, (ND_EVTOK_KEYMAX + 7) / 8 * 8);
    if (!topics->words || !topics->word_keys) {
        snprintf(errstr, errsz, "topics model: out of memory");
        return ND_ERR_NOMEM;
    }
    topics->word_mask = nslot - 1;
    for (char *line = topics->buf; line && *line && !err; line = next) {
        char *f[MAX_FIELDS];
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (line[0] == '#' || !line[0])
            continue;
        int nf = split_fields(line, f);
        switch (line[1] ? '?' : line[0]) {
        case 'T':
            err = load_topic(topics, f, nf);
            break;
        case 'L':
            err = load_term(topics, f, nf, &tcap);
            break;
        case 'C':
            err = load_classes(topics, f, nf);
            break;
        case 'P':
        case 'S':
        case 'G':
        case 'X':
            err = load_scalars(topics, line[0], f, nf);
            break;
        case 'W':
            err = load_word(topics, f, nf, &wcap);
            break;
        default:
            err = ND_ERR_INVALID;
        }
    }
    one_word_terms(topics);
    /* a parent may come after its subtopic in the table */
    for (size_t t = 0; t < topics->ntopics; t++)
        if (strcmp(topics->topics[t].parent_code, "-"))
            topics->topics[t].parent = nd_topics_index(topics, topics->topics[t].parent_code);
    if (err == ND_ERR_INVALID)
        snprintf(errstr, errsz, "topics model: line %zu: malformed record", lineno);
    else if (err)
        snprintf(errstr, errsz, "topics model: out of memory at line %zu", lineno);
    else if (!topics->ntopics) {
        snprintf(errstr, errsz, "topics model: no topics");
        err = ND_ERR_INVALID;
    } else if (topics->nwords && !topics->nclass) {
        snprintf(errstr, errsz, "topics model: word weights without classes");
        err = ND_ERR_INVALID;
    }
    return err;
}
