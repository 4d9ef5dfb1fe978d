/* Knowledge base loader and phrase matcher. See kb.h; the file format is in scripts/build_kb.py. */
#include "enrich/kb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "enrich/tokenize.h"

#define KB_MAX_BYTES (64u << 20)
#define KB_MAX_PHRASE 8

/* Open-addressing map from a 64-bit hash to an int, key and value side by side so a probe touches
 * one cache line (these tables are probed for every token of every story). Key 0 marks an empty
 * slot (a real 0 hash is remapped to 1). */
struct hslot {
    uint64_t key;
    int32_t val;
};

struct hmap {
    struct hslot *s;
    size_t mask, n;
};

enum { V_PREFIX = -2 }; /* a phrase prefix, not itself an entry */
#define F_GIVEN 1
#define F_SURNAME 2
#define F_GEOHEAD 4

struct nd_kb {
    struct nd_kb_entry *entries;
    size_t nentries;
    char *text;               /* the file; entry strings point into it */
    struct hmap phrases;      /* phrase hash -> entry index or V_PREFIX */
    struct hmap names;        /* token hash -> F_GIVEN | F_SURNAME */
    struct hmap surname_ents; /* surname hash -> person entry, -3 when ambiguous */
    struct hmap countries;    /* hash of ISO code -> country entry */
    struct hmap gaz;          /* gazetteer phrase hash -> 1 + nd_ent_type, or V_PREFIX */
    struct hmap heads;        /* loading only: word hash -> LOC entries it heads, less others */
};

/* A word heads place names when at least this many LOC entries have it as head and more place
 * entries than others do: "Islands", "Sea", "Strait", "River" (kb.h). */
#define GEO_HEAD_MIN 3

static uint64_t fix0(uint64_t h)
{
    return h ? h : 1;
}

static int hmap_init(struct hmap *m, size_t expect)
{
    size_t cap = 64;
    while (cap < expect * 2)
        cap <<= 1;
    m->s = calloc(cap, sizeof(*m->s));
    m->mask = cap - 1;
    m->n = 0;
    return m->s ? 0 : -1;
}

static void hmap_free(struct hmap *m)
{
    free(m->s);
}

static int32_t *hmap_slot(struct hmap *m, uint64_t key, int create)
{
    size_t i;
    key = fix0(key);
    for (i = (size_t)(key ^ (key >> 29)) & m->mask;; i = (i + 1) & m->mask) {
        if (m->s[i].key == key)
            return &m->s[i].val;
        if (!m->s[i].key) {
            if (!create || m->n * 2 >= m->mask)
                return NULL;
            m->s[i].key = key;
            m->n++;
            return &m->s[i].val;
        }
    }
}

static int hmap_get(const struct hmap *m, uint64_t key, int32_t *val)
{
    size_t i;
    key = fix0(key);
    for (i = (size_t)(key ^ (key >> 29)) & m->mask;; i = (i + 1) & m->mask) {
        if (m->s[i].key == key) {
            *val = m->s[i].val;
            return 1;
        }
        if (!m->s[i].key)
            return 0;
    }
}

/* FNV-1a over the normalised bytes: cheap and inlined, which matters since every token is hashed.
 */
#define FNV_OFF 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

uint64_t nd_kb_tokhash(const char *s, size_t len)
{
    uint64_t h = FNV_OFF;
    const unsigned char *p = (const unsigned char *)s;
    size_t i;

    /* ASCII (nearly every token) in one pass; the first other byte restarts on the Unicode path */
    for (i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c >= 0x80)
            break;
        if (c == '.')
            continue;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        h = (h ^ c) * FNV_PRIME;
    }
    if (i == len)
        return fix0(h);
    h = FNV_OFF;
    {
        utf8proc_uint8_t *out = NULL;
        utf8proc_ssize_t n = utf8proc_map(p, (utf8proc_ssize_t)len, &out,
                                          UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK |
                                              UTF8PROC_CASEFOLD | UTF8PROC_COMPOSE);
        if (n < 0) {
            /* invalid UTF-8: hash the raw bytes, lower-cased where ASCII */
            for (i = 0; i < len; i++) {
                unsigned char c = p[i];
                if (c >= 'A' && c <= 'Z')
                    c = (unsigned char)(c + 32);
                h = (h ^ c) * FNV_PRIME;
            }
            return fix0(h);
        }
        for (utf8proc_ssize_t k = 0; k < n; k++) {
            unsigned char c = out[k];
            if (c == '.')
                continue;
            /* U+2019 right single quotation mark counts as an apostrophe */
            if (c == 0xE2 && k + 2 < n && out[k + 1] == 0x80 && out[k + 2] == 0x99) {
                c = '\'';
                k += 2;
            }
            h = (h ^ c) * FNV_PRIME;
        }
        free(out);
    }
    return fix0(h);
}

static uint64_t phrase_step(uint64_t acc, uint64_t tok)
{
    acc ^= tok + 0x9e3779b97f4a7c15ull + (acc << 6) + (acc >> 2);
    return fix0(acc * 0xff51afd7ed558ccdull);
}

/* Index one alias: tokenise it like running text so "people's" splits as text does. */
static void index_phrase(struct hmap *map, const char *alias, size_t len, int idx);
static void index_alias(struct nd_kb *kb, const char *alias, size_t len, int idx)
{
    index_phrase(&kb->phrases, alias, len, idx);
}

static void index_phrase(struct hmap *map, const char *alias, size_t len, int idx)
{
    struct nd_tokens toks;
    uint64_t acc = 0;
    if (nd_tokenize(alias, len, &toks) != ND_OK)
        return;
    if (toks.ntokens == 0 || toks.ntokens > KB_MAX_PHRASE)
        goto out;
    for (size_t i = 0; i < toks.ntokens; i++) {
        int32_t *slot;
        acc = phrase_step(acc, nd_kb_tokhash(alias + toks.tokens[i].start,
                                             toks.tokens[i].end - toks.tokens[i].start));
        if (!(slot = hmap_slot(map, acc, 1)))
            goto out;
        if (i + 1 == toks.ntokens) {
            /* the first writer wins: build_kb.py already resolved conflicts by precedence */
            if (*slot == V_PREFIX || *slot == 0)
                *slot = idx + 1;
        } else if (*slot == 0) {
            *slot = V_PREFIX;
        }
    }
out:
    nd_tokens_free(&toks);
}

/* Count the head words of an entry's aliases in kb->heads: an alias's last word, or its first
 * before "of" ("Gulf of Aden"). A LOC entry adds one per head, an organisation, person or
 * nationality takes one off; a GPE (a city, a country "Solomon Islands") counts for neither. */
static void count_heads(struct nd_kb *kb, const char *aliases, enum nd_ent_type type)
{
    uint64_t seen[16];
    size_t nseen = 0;
    for (const char *a = aliases; a && *a;) {
        const char *bar = strchr(a, '|'), *end = bar ? bar : a + strlen(a), *last = end, *sp1;
        while (last > a && last[-1] != ' ')
            last--;
        sp1 = memchr(a, ' ', (size_t)(end - a));
        for (int k = 0; k < 2 && last > a; k++) {
            uint64_t h = 0;
            int32_t *slot;
            size_t j;
            if (k == 0)
                h = nd_kb_tokhash(last, (size_t)(end - last));
            else if (sp1 && !strncmp(sp1, " of ", 4))
                h = nd_kb_tokhash(a, (size_t)(sp1 - a));
            for (j = 0; h && j < nseen && seen[j] != h; j++)
                ;
            if (!h || j < nseen || nseen == 16 || !(slot = hmap_slot(&kb->heads, h, 1)))
                continue;
            seen[nseen++] = h;
            *slot += type == ND_ENT_LOC ? 1 : type == ND_ENT_GPE ? 0 : -1;
        }
        a = bar ? bar + 1 : end;
    }
}

/* The counted heads become F_GEOHEAD flags of the names table, which the tagger reads for every
 * token anyway; the counts go. */
static void mark_heads(struct nd_kb *kb)
{
    for (size_t i = 0; i <= kb->heads.mask; i++) {
        int32_t *slot;
        if (kb->heads.s[i].key && kb->heads.s[i].val >= GEO_HEAD_MIN &&
            (slot = hmap_slot(&kb->names, kb->heads.s[i].key, 1)))
            *slot |= F_GEOHEAD;
    }
    hmap_free(&kb->heads);
    memset(&kb->heads, 0, sizeof(kb->heads));
}

int nd_kb_is_geo_head(const struct nd_kb *kb, uint64_t h)
{
    int32_t v;
    return kb && hmap_get(&kb->names, h, &v) && (v & F_GEOHEAD);
}

static enum nd_ent_type parse_type(const char *s)
{
    if (!strcmp(s, "PERSON"))
        return ND_ENT_PERSON;
    if (!strcmp(s, "ORG"))
        return ND_ENT_ORG;
    if (!strcmp(s, "LOC"))
        return ND_ENT_LOC;
    if (!strcmp(s, "NORP"))
        return ND_ENT_NORP;
    return ND_ENT_GPE;
}

/* Split a line in place on tabs into at most max fields. */
static size_t split_tabs(char *line, char **f, size_t max)
{
    size_t n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

struct nd_kb *nd_kb_load(const char *path, char *errstr, size_t errsz)
{
    struct nd_kb *kb = NULL, *ret = NULL;
    char *data = NULL, *line, *next;
    size_t len, nlines = 0, ecap = 0, lineno = 0, nphrase = 0, ngaz = 0;
    enum nd_err err;

    if ((err = nd_file_read(path, KB_MAX_BYTES, &data, &len)) != ND_OK) {
        snprintf(errstr, errsz, "%s: %s", path, nd_err_str(err));
        goto out;
    }
    /* Size the phrase tables from the file: one slot per phrase word (a phrase adds a key per
     * prefix), counted as spaces and bars plus one per line; tables stay at most half full. */
    {
        size_t words = 0;
        int gazline = 0, bol = 1;
        for (size_t i = 0; i < len; i++) {
            char c = data[i];
            if (bol)
                gazline = (c == 'P' || c == 'O' || c == 'L');
            bol = c == '\n';
            if (c == '\n') {
                nlines++;
                if (gazline)
                    ngaz++;
                else
                    words++;
            } else if (c == ' ' || c == '|' || c == '\t') {
                if (gazline)
                    ngaz++;
                else
                    words++;
            }
        }
        nphrase = words;
    }
    kb = nd_xcalloc(1, sizeof(*kb));
    kb->text = data;
    data = NULL;
    if (hmap_init(&kb->phrases, nphrase + 1024) || hmap_init(&kb->names, nlines + 64) ||
        hmap_init(&kb->surname_ents, nlines + 64) || hmap_init(&kb->countries, 1024) ||
        hmap_init(&kb->gaz, ngaz + 1024) || hmap_init(&kb->heads, nlines + 64)) {
        snprintf(errstr, errsz, "%s: out of memory", path);
        goto out;
    }
    for (line = kb->text; line && *line; line = next) {
        char *f[9];
        size_t nf;
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (*line == '#' || *line == '\0')
            continue;
        nf = split_tabs(line, f, 9);
        if ((f[0][0] == 'P' || f[0][0] == 'O' || f[0][0] == 'L') && f[0][1] == '\0' && nf == 2) {
            enum nd_ent_type t = f[0][0] == 'P'   ? ND_ENT_PERSON
                                 : f[0][0] == 'O' ? ND_ENT_ORG
                                                  : ND_ENT_GPE;
            index_phrase(&kb->gaz, f[1], strlen(f[1]), (int)t);
            continue;
        }
        if ((f[0][0] == 'G' || f[0][0] == 'S') && nf == 2) {
            int32_t *slot = hmap_slot(&kb->names, nd_kb_tokhash(f[1], strlen(f[1])), 1);
            if (slot)
                *slot |= f[0][0] == 'G' ? F_GIVEN : F_SURNAME;
            continue;
        }
        if (f[0][0] != 'E' || nf != 9) {
            snprintf(errstr, errsz, "%s:%zu: malformed record", path, lineno);
            goto out;
        }
        if (kb->nentries == ecap) {
            ecap = ecap ? ecap * 2 : 1024;
            kb->entries = realloc(kb->entries, ecap * sizeof(*kb->entries));
            if (!kb->entries) {
                snprintf(errstr, errsz, "%s: out of memory", path);
                goto out;
            }
        }
        {
            struct nd_kb_entry *e = &kb->entries[kb->nentries];
            int idx = (int)kb->nentries++;
            memset(e, 0, sizeof(*e));
            e->key = f[1];
            e->type = parse_type(f[2]);
            e->kind = f[3];
            snprintf(e->country, sizeof(e->country), "%.3s", f[4]);
            e->wikidata = *f[5] ? f[5] : NULL;
            e->role = *f[6] ? f[6] : NULL;
            e->canonical = f[7];
            count_heads(kb, f[8], e->type);
            for (char *a = f[8], *bar; a && *a; a = bar) {
                bar = strchr(a, '|');
                index_alias(kb, a, bar ? (size_t)(bar - a) : strlen(a), idx);
                if (bar)
                    bar++;
            }
            if (!strcmp(e->kind, "country")) {
                int32_t *slot = hmap_slot(&kb->countries, nd_kb_tokhash(e->key, strlen(e->key)), 1);
                if (slot)
                    *slot = idx + 1;
            }
            if (e->type == ND_ENT_PERSON) {
                const char *sp = strrchr(e->canonical, ' ');
                if (sp) {
                    int32_t *slot =
                        hmap_slot(&kb->surname_ents, nd_kb_tokhash(sp + 1, strlen(sp + 1)), 1);
                    if (slot)
                        *slot = *slot ? -3 : idx + 1;
                }
            }
        }
    }
    mark_heads(kb);
    ret = kb;
    kb = NULL;
out:
    free(data);
    nd_kb_destroy(kb);
    return ret;
}

void nd_kb_destroy(struct nd_kb *kb)
{
    if (!kb)
        return;
    hmap_free(&kb->phrases);
    hmap_free(&kb->names);
    hmap_free(&kb->surname_ents);
    hmap_free(&kb->countries);
    hmap_free(&kb->gaz);
    hmap_free(&kb->heads);
    free(kb->entries);
    free(kb->text);
    free(kb);
}

size_t nd_kb_size(const struct nd_kb *kb)
{
    return kb ? kb->nentries : 0;
}

const struct nd_kb_entry *nd_kb_get(const struct nd_kb *kb, int idx)
{
    if (!kb || idx < 0 || (size_t)idx >= kb->nentries)
        return NULL;
    return &kb->entries[idx];
}

int nd_kb_country(const struct nd_kb *kb, const char *iso3)
{
    int32_t v;
    if (!kb || !iso3 || !*iso3 || !hmap_get(&kb->countries, nd_kb_tokhash(iso3, strlen(iso3)), &v))
        return -1;
    return v - 1;
}

int nd_kb_match(const struct nd_kb *kb, const uint64_t *h, size_t n, size_t i, size_t *len)
{
    uint64_t acc = 0;
    int best = -1;
    if (!kb)
        return -1;
    for (size_t k = i; k < n && k - i < KB_MAX_PHRASE; k++) {
        int32_t v;
        acc = phrase_step(acc, h[k]);
        if (!hmap_get(&kb->phrases, acc, &v))
            break;
        if (v > 0) {
            best = v - 1;
            *len = k - i + 1;
        }
    }
    return best;
}

static void hmap_prefetch(const struct hmap *m, uint64_t key)
{
    key = fix0(key);
    __builtin_prefetch(&m->s[(size_t)(key ^ (key >> 29)) & m->mask]);
}

void nd_kb_prefetch(const struct nd_kb *kb, uint64_t h)
{
    uint64_t first;
    if (!kb)
        return;
    first = phrase_step(0, h);
    hmap_prefetch(&kb->names, h);
    hmap_prefetch(&kb->phrases, first);
    hmap_prefetch(&kb->gaz, first);
}

int nd_kb_gaz_match(const struct nd_kb *kb, const uint64_t *h, size_t n, size_t i, size_t *len)
{
    uint64_t acc = 0;
    int best = -1;
    if (!kb)
        return -1;
    for (size_t k = i; k < n && k - i < KB_MAX_PHRASE; k++) {
        int32_t v;
        acc = phrase_step(acc, h[k]);
        if (!hmap_get(&kb->gaz, acc, &v))
            break;
        if (v > 0) {
            best = v - 1;
            *len = k - i + 1;
        }
    }
    return best;
}

int nd_kb_lookup(const struct nd_kb *kb, const uint64_t *h, size_t n)
{
    uint64_t acc = 0;
    int32_t v = 0;
    if (!kb || n == 0 || n > KB_MAX_PHRASE)
        return -1;
    for (size_t k = 0; k < n; k++) {
        acc = phrase_step(acc, h[k]);
        if (!hmap_get(&kb->phrases, acc, &v))
            return -1;
    }
    return v > 0 ? v - 1 : -1;
}

int nd_kb_surname_entry(const struct nd_kb *kb, uint64_t h)
{
    int32_t v;
    if (!kb || !hmap_get(&kb->surname_ents, h, &v) || v <= 0)
        return -1;
    return v - 1;
}

unsigned nd_kb_name_flags(const struct nd_kb *kb, uint64_t h)
{
    int32_t v;
    if (!kb || !hmap_get(&kb->names, h, &v))
        return 0;
    return (unsigned)v & (F_GIVEN | F_SURNAME | F_GEOHEAD);
}

int nd_kb_is_given(const struct nd_kb *kb, uint64_t h)
{
    int32_t v;
    return kb && hmap_get(&kb->names, h, &v) && (v & F_GIVEN);
}

int nd_kb_is_surname(const struct nd_kb *kb, uint64_t h)
{
    int32_t v;
    return kb && hmap_get(&kb->names, h, &v) && (v & F_SURNAME);
}
