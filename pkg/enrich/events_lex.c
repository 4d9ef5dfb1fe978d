/* Tokenizer, sentence splitter and string map for the topic and event coders. The tokenizer's keys
 * must equal the ones scripts/build_events_model.py writes, or dictionary phrases stop matching. */
#include "enrich/events_lex.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* xxHash3 compiled in: map keys are short, and the library call's dispatch costs as much as the
 * hash. Same algorithm and seed as nd_hash64. */
#define XXH_INLINE_ALL
#include <xxhash.h>

static uint64_t key_hash(const char *key, size_t klen)
{
    return XXH3_64bits_withSeed(key, klen, 0);
}

static int is_ascii_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Length of a UTF-8 punctuation sequence at p (quotes, dashes, ellipsis, no-break space), else 0.
 * Other non-ASCII bytes count as letters, so names like "Zelenskiy" in any script stay whole. */
static size_t utf8_punct(const unsigned char *p, const unsigned char *end)
{
    if (end - p >= 3 && p[0] == 0xE2 && p[1] == 0x80 &&
        ((p[2] >= 0x90 && p[2] <= 0x9F) || p[2] == 0xA6 || p[2] == 0xB9 || p[2] == 0xBA))
        return 3;
    if (end - p >= 2 && p[0] == 0xC2 && (p[1] == 0xA0 || p[1] == 0xAB || p[1] == 0xBB))
        return 2;
    return 0;
}

static int is_word_byte(const unsigned char *p, const unsigned char *end)
{
    if (p >= end)
        return 0;
    if (*p < 0x80)
        return is_ascii_alnum(*p);
    return utf8_punct(p, end) == 0;
}

/* An apostrophe at p: "'" or "’". Returns its length or 0. */
static size_t apostrophe(const unsigned char *p, const unsigned char *end)
{
    if (p < end && *p == '\'')
        return 1;
    if (end - p >= 3 && p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0x99)
        return 3;
    return 0;
}

size_t nd_evlex_tokenize(const char *text, size_t len, struct nd_evtok *toks, size_t max)
{
    const unsigned char *base = (const unsigned char *)text, *p = base, *end = base + len;
    size_t n = 0;
    int nl = 0;

    while (p < end && n < max) {
        struct nd_evtok *tok;
        size_t pl;
        /* one test for the usual byte (a letter), the six spaces only below it */
        if (*p <= ' ' &&
            (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\f' || *p == '\v')) {
            if (*p == '\n')
                nl = 1;
            p++;
            continue;
        }
        if (end - p >= 2 && p[0] == 0xC2 && p[1] == 0xA0) {
            p += 2;
            continue;
        }
        tok = &toks[n];
        memset(tok, 0, sizeof(*tok));
        tok->start = (uint32_t)(p - base);
        if (nl)
            tok->flags |= ND_EVTOK_NL;
        nl = 0;
        if (*p < 0x80 ? is_ascii_alnum(*p) : is_word_byte(p, end)) {
            int internal_dot = 0, letters = 0, uppers = 0;
            /* the key is written as the word is read (capitals lowered, periods dropped, apostrophes
             * folded to "'", at most ND_EVTOK_KEYMAX - 1 bytes), not by a second pass over it */
            size_t kn = 0;
            tok->flags |= ND_EVTOK_WORD;
            if (*p >= 'A' && *p <= 'Z')
                tok->flags |= ND_EVTOK_CAP;
            for (;;) {
                /* the run of word bytes (is_word_byte, with ASCII decided inline: this loop reads
                 * every byte of the story) */
                while (p < end) {
                    unsigned char c = *p;
                    if (c >= 'a' && c <= 'z')
                        letters++;
                    else if (c >= 'A' && c <= 'Z')
                        uppers++, letters++, c += 32;
                    else if (c < 0x80 ? !is_ascii_alnum(c) : utf8_punct(p, end) != 0)
                        break;
                    if (kn < ND_EVTOK_KEYMAX - 1)
                        tok->key[kn++] = (char)c;
                    p++;
                }
                if (p < end && (*p == '.' || *p == '-') && is_word_byte(p + 1, end)) {
                    if (*p == '.')
                        internal_dot = 1;
                    else if (kn < ND_EVTOK_KEYMAX - 1)
                        tok->key[kn++] = '-';
                    p++;
                    continue;
                }
                size_t a = apostrophe(p, end);
                if (a && is_word_byte(p + a, end)) {
                    /* possessive 's ends the word; "doesn't", "O'Brien" go on */
                    if ((p[a] == 's' || p[a] == 'S') && !is_word_byte(p + a + 1, end))
                        break;
                    if (kn < ND_EVTOK_KEYMAX - 1)
                        tok->key[kn++] = '\'';
                    p += a;
                    continue;
                }
                break;
            }
            if (p < end && *p == '.' &&
                (internal_dot || (p - base - tok->start == 1 && uppers == 1)))
                p++; /* "U.S." and initials keep their period */
            tok->end = (uint32_t)(p - base);
            if (letters >= 2 && letters == uppers)
                tok->flags |= ND_EVTOK_ALLCAP;
            tok->key[kn] = '\0';
            tok->keylen = (uint8_t)kn;
            tok->hash = key_hash(tok->key, tok->keylen);
            n++;
            continue;
        }
        pl = apostrophe(p, end);
        if (pl && p + pl < end && (p[pl] == 's' || p[pl] == 'S') &&
            !is_word_byte(p + pl + 1, end) && n > 0 && toks[n - 1].end == tok->start) {
            tok->end = (uint32_t)(p + pl + 1 - base);
            memcpy(tok->key, "'s", 3);
            tok->keylen = 2;
            tok->hash = key_hash(tok->key, tok->keylen);
            p += pl + 1;
            n++;
            continue;
        }
        pl = utf8_punct(p, end);
        if (!pl)
            pl = 1;
        if (*p == '"' || (pl == 3 && (p[2] == 0x9C || p[2] == 0x9D))) {
            tok->flags |= ND_EVTOK_QUOTE;
            memcpy(tok->key, "\"", 2);
            tok->keylen = 1;
        } else if (pl == 3 && (p[2] == 0x98 || p[2] == 0x99)) {
            memcpy(tok->key, "'", 2);
            tok->keylen = 1;
        } else if (pl == 3 && p[2] >= 0x90 && p[2] <= 0x95) {
            memcpy(tok->key, "-", 2);
            tok->keylen = 1;
        } else if (pl == 3 && p[2] == 0xA6) {
            memcpy(tok->key, "...", 4);
            tok->keylen = 3;
        } else {
            tok->key[0] = (char)(pl == 1 ? *p : '?');
            tok->key[1] = '\0';
            tok->keylen = 1;
        }
        p += pl;
        tok->end = (uint32_t)(p - base);
        tok->hash = key_hash(tok->key, tok->keylen);
        n++;
    }
    return n;
}

size_t nd_evlex_tokenize_alloc(const char *text, size_t len, size_t max, struct nd_evtok **out)
{
    size_t cap = len / 4 + 64 < max ? len / 4 + 64 : max, n;
    struct nd_evtok *toks = malloc(cap * sizeof(*toks));

    *out = NULL;
    if (!toks)
        return 0;
    n = nd_evlex_tokenize(text, len, toks, cap);
    if (n == cap && cap < max) {
        size_t ncap = len + 16 < max ? len + 16 : max;
        struct nd_evtok *nt = realloc(toks, ncap * sizeof(*nt));
        if (!nt) {
            free(toks);
            return 0;
        }
        toks = nt;
        n = nd_evlex_tokenize(text, len, toks, ncap);
    }
    *out = toks;
    return n;
}

static const char *const abbrevs[] = {
    "mr",   "mrs", "ms",  "dr",   "gen", "sen", "rep",  "gov", "lt",  "col",  "st",  "prof", "sgt",
    "capt", "maj", "adm", "jr",   "sr",  "inc", "corp", "co",  "ltd", "no",   "vs",  "jan",  "feb",
    "mar",  "apr", "aug", "sept", "sep", "oct", "nov",  "dec", "rev", "pres", "amb", "cmdr", NULL,
};

static int is_abbrev(const struct nd_evtok *tok)
{
    for (size_t i = 0; abbrevs[i]; i++)
        if (!strcmp(tok->key, abbrevs[i]))
            return 1;
    return 0;
}

/* Cap on tokens per sentence: the coder's per-sentence work is quadratic in places, and a
 * "sentence" of thousands of tokens is a table or a broken page, not prose. */
#define SENTENCE_MAX_TOKENS 160

size_t nd_evlex_sentences(const char *text, const struct nd_evtok *toks, size_t ntok,
                          uint32_t *starts, size_t max)
{
    size_t n = 0, begin = 0;
    (void)text;
    if (!ntok || !max)
        return 0;
    starts[n++] = 0;
    for (size_t i = 1; i < ntok && n < max; i++) {
        const struct nd_evtok *prev = &toks[i - 1], *cur = &toks[i];
        int split = 0;
        if (cur->flags & ND_EVTOK_NL)
            split = 1;
        else if (i - begin >= SENTENCE_MAX_TOKENS)
            split = 1;
        else if (!(prev->flags & ND_EVTOK_WORD) &&
                 (prev->key[0] == '.' || prev->key[0] == '!' || prev->key[0] == '?')) {
            int abbrev = prev->key[0] == '.' && i >= 2 && toks[i - 2].end == prev->start &&
                         is_abbrev(&toks[i - 2]);
            if (!abbrev && (cur->flags & (ND_EVTOK_CAP | ND_EVTOK_QUOTE) ||
                            (cur->key[0] >= '0' && cur->key[0] <= '9')))
                split = 1;
            /* a closing quote right after the stop belongs to this sentence */
            if (split && (cur->flags & ND_EVTOK_QUOTE) && cur->start == prev->end)
                split = 0;
        } else if ((prev->flags & ND_EVTOK_QUOTE) && i >= 2 &&
                   !(toks[i - 2].flags & ND_EVTOK_WORD) &&
                   (toks[i - 2].key[0] == '.' || toks[i - 2].key[0] == '!' ||
                    toks[i - 2].key[0] == '?') &&
                   prev->start == toks[i - 2].end && (cur->flags & ND_EVTOK_CAP))
            split = 1;
        if (split) {
            starts[n++] = (uint32_t)i;
            begin = i;
        }
    }
    return n;
}

size_t nd_evlex_cp_offset(const char *text, size_t byte_off)
{
    size_t cp = 0;
    for (size_t i = 0; i < byte_off; i++)
        if (((unsigned char)text[i] & 0xC0) != 0x80)
            cp++;
    return cp;
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
