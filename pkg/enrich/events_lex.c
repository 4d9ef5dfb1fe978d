/* The topic and event coders' view of the doc's tokens, and their string map. The doc's keys must
 * equal the ones scripts/build_events_model.py writes, or dictionary phrases stop matching. */
#include "enrich/events_lex.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "enrich/doc.h"

/* xxHash3 compiled in: map keys are short, and the library call's dispatch costs as much as the
 * hash. Same algorithm and seed as nd_hash64. */
#define XXH_INLINE_ALL
#include <xxhash.h>

static uint64_t key_hash(const char *key, size_t klen)
{
    return XXH3_64bits_withSeed(key, klen, 0);
}

_Static_assert(ND_EVTOK_KEYMAX == ND_DOC_KEYMAX, "an nd_evtok key is its doc token's");

static int doc_word(const struct nd_doc_tok *t)
{
    return !(t->flags & ND_TOK_PUNCT) && t->key[0] != '\'';
}

/* ND_EVTOK_* of a doc token. A word is any token but punctuation and the clitics ("'s": the coder
 * reads that by key); a quote is a double one (straight or curly: the doc's key folds them to
 * '"'). */
static uint16_t evtok_flags(const struct nd_doc_tok *t)
{
    uint16_t f = 0;
    if (doc_word(t))
        f |= ND_EVTOK_WORD;
    if (t->flags & ND_TOK_UPPER)
        f |= ND_EVTOK_CAP;
    if (t->flags & ND_TOK_ALLCAPS)
        f |= ND_EVTOK_ALLCAP;
    if (t->flags & ND_TOK_NEWLINE)
        f |= ND_EVTOK_NL;
    if ((t->flags & ND_TOK_QUOTE) && t->keylen == 1 && t->key[0] == '"')
        f |= ND_EVTOK_QUOTE;
    return f;
}

/* Past the hyphenated compound starting at doc token d: words joined by single "-" with no space
 * between them, within a sentence ("free-trade", "12-year-old", "U.S.-led"); d + 1 when none. */
static size_t compound_end(const struct nd_doc *doc, size_t d)
{
    size_t e = d + 1;
    if (!doc_word(&doc->toks[d]))
        return e;
    while (e + 1 < doc->ntoks) {
        const struct nd_doc_tok *h = &doc->toks[e], *w = &doc->toks[e + 1];
        if (h->end - h->start != 1 || doc->text[h->start] != '-' ||
            h->start != doc->toks[e - 1].end || w->start != h->end || !doc_word(w) ||
            w->sent != h->sent || doc->toks[e - 1].sent != h->sent)
            break;
        e += 2;
    }
    return e;
}

/* The evtok of doc tokens [d, e): one token, or a compound with its joined key written to kbuf. */
static struct nd_evtok view_token(const struct nd_doc *doc, size_t d, size_t e, char *kbuf)
{
    const struct nd_doc_tok *t = &doc->toks[d];
    struct nd_evtok v = {.start = t->start,
                         .end = doc->toks[e - 1].end,
                         .flags = evtok_flags(t),
                         .keylen = t->keylen,
                         .dn = (uint8_t)(e - d),
                         .dtok = (uint32_t)d,
                         .key = t->key,
                         .hash = t->hash};
    size_t k = 0;
    if (e == d + 1)
        return v;
    /* the key as the dictionaries spell a compound: the pieces' keys joined by "-", cut to fit */
    for (size_t i = d; i < e; i++) {
        const struct nd_doc_tok *p = &doc->toks[i];
        size_t n = p->keylen < ND_EVTOK_KEYMAX - 1 - k ? p->keylen : ND_EVTOK_KEYMAX - 1 - k;
        memcpy(kbuf + k, p->key, n);
        k += n;
        if (doc_word(p) && !(p->flags & (ND_TOK_ALLCAPS | ND_TOK_NUMBER)))
            v.flags &= (uint16_t)~ND_EVTOK_ALLCAP; /* "US-led" is no all-capitals word */
    }
    memset(kbuf + k, 0, ND_EVTOK_KEYMAX - k);
    v.key = kbuf;
    v.keylen = (uint8_t)k;
    v.hash = nd_evmap_hash(kbuf, k);
    return v;
}

size_t nd_evlex_tokens(const struct nd_doc *doc, size_t max, struct nd_evtok **out)
{
    size_t n = 0, ncomp = 0, d, e, c = 0;
    struct nd_evtok *toks;
    char *keys;

    *out = NULL;
    for (d = 0; d < doc->ntoks && n < max; d = e, n++)
        ncomp += (e = compound_end(doc, d)) > d + 1;
    if (!n || !(toks = malloc(n * sizeof(*toks) + ncomp * ND_EVTOK_KEYMAX)))
        return 0;
    keys = (char *)(toks + n);
    for (size_t i = d = 0; i < n; i++, d = e) {
        e = compound_end(doc, d);
        toks[i] = view_token(doc, d, e, keys + c * ND_EVTOK_KEYMAX);
        c += e > d + 1;
    }
    *out = toks;
    return n;
}

size_t nd_evlex_join_prefixes(const struct nd_evtok *toks, size_t i, size_t n, char *buf,
                              size_t bufsz, size_t *lens)
{
    size_t len = 0, k;
    for (k = 0; k < n; k++) {
        const struct nd_evtok *tok = &toks[i + k];
        /* a phrase that does not fit makes every longer one not fit */
        if (len + tok->keylen + 2 > bufsz)
            break;
        if (k)
            buf[len++] = ' ';
        memcpy(buf + len, tok->key, tok->keylen);
        len += tok->keylen;
        lens[k] = len;
    }
    if (bufsz)
        buf[len] = '\0';
    return k;
}

/* ---- string map: open addressing, linear probing, keys in chunked arenas ---- */

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    char data[];
};

struct slot {
    const char *key;
    uint32_t klen;
    uint32_t value;
    uint64_t hash;
};

/* A map holds a one-bit-per-hash filter beside its slots, four bits per slot (eight or more per
 * key): most lookups of the coder are misses (a phrase tried against a dictionary), and a miss
 * answered by the filter, 1/48 the size of the slots and so mostly in cache, does not wait on a
 * slot from memory. */
struct nd_evmap {
    struct slot *slots;
    size_t cap, count;
    uint64_t *filter; /* cap * 4 bits */
    struct arena_chunk *arena;
};

static size_t filter_bit(const struct nd_evmap *map, uint64_t h)
{
    /* the high half of the hash: the slot index uses the low bits */
    return (size_t)(h >> 32) & (map->cap * 4 - 1);
}

static int filter_has(const struct nd_evmap *map, uint64_t h)
{
    size_t b = filter_bit(map, h);
    return (int)((map->filter[b >> 6] >> (b & 63)) & 1);
}

static void filter_add(struct nd_evmap *map, uint64_t h)
{
    size_t b = filter_bit(map, h);
    map->filter[b >> 6] |= 1ull << (b & 63);
}

#define ARENA_CHUNK (256 * 1024)

static char *arena_copy(struct nd_evmap *map, const char *key, size_t klen)
{
    struct arena_chunk *c = map->arena;
    if (!c || c->used + klen + 1 > c->size) {
        size_t size = klen + 1 > ARENA_CHUNK ? klen + 1 : ARENA_CHUNK;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->next = map->arena;
        c->used = 0;
        c->size = size;
        map->arena = c;
    }
    char *dst = c->data + c->used;
    memcpy(dst, key, klen);
    dst[klen] = '\0';
    c->used += klen + 1;
    return dst;
}

struct nd_evmap *nd_evmap_new(size_t expected)
{
    struct nd_evmap *map = calloc(1, sizeof(*map));
    if (!map)
        return NULL;
    map->cap = 64;
    while (map->cap < expected * 2)
        map->cap <<= 1;
    map->slots = calloc(map->cap, sizeof(*map->slots));
    map->filter = calloc(map->cap / 16, sizeof(*map->filter));
    if (!map->slots || !map->filter) {
        free(map->slots);
        free(map->filter);
        free(map);
        return NULL;
    }
    return map;
}

void nd_evmap_destroy(struct nd_evmap *map)
{
    if (!map)
        return;
    while (map->arena) {
        struct arena_chunk *next = map->arena->next;
        free(map->arena);
        map->arena = next;
    }
    free(map->slots);
    free(map->filter);
    free(map);
}

static int grow(struct nd_evmap *map)
{
    size_t ncap = map->cap * 2;
    struct slot *ns = calloc(ncap, sizeof(*ns));
    uint64_t *nf = calloc(ncap / 16, sizeof(*nf));
    if (!ns || !nf) {
        free(ns);
        free(nf);
        return -1;
    }
    for (size_t i = 0; i < map->cap; i++) {
        struct slot *s = &map->slots[i];
        if (!s->key)
            continue;
        size_t j = s->hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(map->slots);
    free(map->filter);
    map->slots = ns;
    map->filter = nf;
    map->cap = ncap;
    for (size_t i = 0; i < ncap; i++)
        if (ns[i].key)
            filter_add(map, ns[i].hash);
    return 0;
}

int nd_evmap_put(struct nd_evmap *map, const char *key, size_t klen, uint32_t value)
{
    uint64_t h;
    size_t j;
    if ((map->count + 1) * 2 > map->cap && grow(map))
        return -1;
    h = key_hash(key, klen);
    j = h & (map->cap - 1);
    while (map->slots[j].key) {
        struct slot *s = &map->slots[j];
        if (s->hash == h && s->klen == klen && !memcmp(s->key, key, klen)) {
            s->value = value;
            return 0;
        }
        j = (j + 1) & (map->cap - 1);
    }
    char *copy = arena_copy(map, key, klen);
    if (!copy)
        return -1;
    map->slots[j] = (struct slot){.key = copy, .klen = (uint32_t)klen, .value = value, .hash = h};
    filter_add(map, h);
    map->count++;
    return 0;
}

uint64_t nd_evmap_hash(const char *key, size_t klen)
{
    return key_hash(key, klen);
}

void nd_evmap_prefetch(const struct nd_evmap *map, uint64_t hash)
{
    size_t b = filter_bit(map, hash);
    __builtin_prefetch(&map->filter[b >> 6]);
    __builtin_prefetch(&map->slots[hash & (map->cap - 1)]);
}

static inline int lookup(const struct nd_evmap *map, const char *key, size_t klen, uint64_t h,
                         uint32_t *value)
{
    size_t j = h & (map->cap - 1);
    if (!filter_has(map, h))
        return 0;
    while (map->slots[j].key) {
        const struct slot *s = &map->slots[j];
        if (s->hash == h && s->klen == klen && !memcmp(s->key, key, klen)) {
            *value = s->value;
            return 1;
        }
        j = (j + 1) & (map->cap - 1);
    }
    return 0;
}

int nd_evmap_get(const struct nd_evmap *map, const char *key, size_t klen, uint32_t *value)
{
    return lookup(map, key, klen, key_hash(key, klen), value);
}

int nd_evmap_get_hashed(const struct nd_evmap *map, const char *key, size_t klen, uint64_t h,
                        uint32_t *value)
{
    return lookup(map, key, klen, h, value);
}

size_t nd_evmap_count(const struct nd_evmap *map)
{
    return map->count;
}
