/* Word cluster table: open addressing on the FNV-1a hash of the word's bytes, 16 bytes a slot. */
#include "enrich/clusters.h"

#include <stdlib.h>
#include <string.h>

#define FNV_OFF 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define CL_MAX_BYTES (64u << 20)
#define CL_MAX_WORDS (4u << 20)

struct cslot {
    uint64_t key; /* 0: empty */
    uint16_t ids[ND_CL_LEVELS];
};

struct nd_clusters {
    struct cslot *slots;
    size_t mask, n;
};

/* FNV-1a of s, ASCII letters from byte `from` on lower-cased; never 0. */
static uint64_t hash_from(const char *s, size_t len, size_t from)
{
    uint64_t h = FNV_OFF;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= from && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        h = (h ^ c) * FNV_PRIME;
    }
    return h ? h : 1;
}

static struct nd_clusters *cl_new(size_t n)
{
    struct nd_clusters *cl = calloc(1, sizeof(*cl));
    size_t cap = 1024;
    if (!cl)
        return NULL;
    /* at most 3/4 full: a miss (the common case for rare words) ends at an empty slot soon */
    while (cap * 3 < n * 4)
        cap <<= 1;
    if (!(cl->slots = calloc(cap, sizeof(*cl->slots)))) {
        free(cl);
        return NULL;
    }
    cl->mask = cap - 1;
    return cl;
}

/* Adds key (the first of equal keys wins); 0 when the table is full. */
static int cl_put(struct nd_clusters *cl, uint64_t key, const uint16_t ids[ND_CL_LEVELS])
{
    size_t i;
    if ((cl->n + 1) * 4 > (cl->mask + 1) * 3)
        return 0;
    for (i = (size_t)(key ^ (key >> 29)) & cl->mask; cl->slots[i].key; i = (i + 1) & cl->mask)
        if (cl->slots[i].key == key)
            return 1;
    cl->slots[i].key = key;
    memcpy(cl->slots[i].ids, ids, sizeof(cl->slots[i].ids));
    cl->n++;
    return 1;
}

static const struct cslot *cl_find(const struct nd_clusters *cl, uint64_t key)
{
    for (size_t i = (size_t)(key ^ (key >> 29)) & cl->mask; cl->slots[i].key;
         i = (i + 1) & cl->mask)
        if (cl->slots[i].key == key)
            return &cl->slots[i];
    return NULL;
}

void nd_clusters_destroy(struct nd_clusters *cl)
{
    if (!cl)
        return;
    free(cl->slots);
    free(cl);
}

size_t nd_clusters_size(const struct nd_clusters *cl)
{
    return cl ? cl->n : 0;
}

int nd_clusters_get(const struct nd_clusters *cl, const char *s, size_t len,
                    uint16_t ids[ND_CL_LEVELS])
{
    const struct cslot *e;
    int upper_tail = 0;
    if (!cl || !len)
        return 0;
    if ((e = cl_find(cl, hash_from(s, len, len)))) {
        memcpy(ids, e->ids, sizeof(e->ids));
        return 1;
    }
    for (size_t i = 1; i < len && !upper_tail; i++)
        upper_tail = s[i] >= 'A' && s[i] <= 'Z';
    if (upper_tail && (e = cl_find(cl, hash_from(s, len, 1)))) {
        memcpy(ids, e->ids, sizeof(e->ids));
        return 1;
    }
    if ((upper_tail || (s[0] >= 'A' && s[0] <= 'Z')) && (e = cl_find(cl, hash_from(s, len, 0)))) {
        memcpy(ids, e->ids, sizeof(e->ids));
        return 1;
    }
    return 0;
}

/* One TSV line "word<TAB>id<TAB>id<TAB>id<TAB>id" into cl; 0 when malformed. */
static int parse_line(struct nd_clusters *cl, char *line)
{
    uint16_t ids[ND_CL_LEVELS];
    char *tab = strchr(line, '\t'), *p;
    if (!tab || tab == line)
        return 0;
    p = tab + 1;
    for (int k = 0; k < ND_CL_LEVELS; k++) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v > 0xfffe || (k + 1 < ND_CL_LEVELS ? *end != '\t' : *end != '\0'))
            return 0;
        ids[k] = (uint16_t)v;
        p = end + 1;
    }
    return cl_put(cl, hash_from(line, (size_t)(tab - line), (size_t)(tab - line)), ids);
}

struct nd_clusters *nd_clusters_load_tsv(const char *path, char *errstr, size_t errsz)
{
    char *data = NULL, *line, *end;
    size_t len, nlines = 0, lineno = 0;
    struct nd_clusters *cl = NULL, *ret = NULL;
    enum nd_err err;

    if ((err = nd_file_read(path, CL_MAX_BYTES, &data, &len)) != ND_OK) {
        snprintf(errstr, errsz, "%s: %s", path, nd_err_str(err));
        goto out;
    }
    for (size_t i = 0; i < len; i++)
        nlines += data[i] == '\n';
    if (nlines > CL_MAX_WORDS || !(cl = cl_new(nlines + 1))) {
        snprintf(errstr, errsz, "%s: too many words or out of memory", path);
        goto out;
    }
    for (line = data, end = data + len; line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *eol = nl ? nl : end;
        lineno++;
        *eol = '\0';
        if (*line && *line != '#' && !parse_line(cl, line)) {
            snprintf(errstr, errsz, "%s:%zu: expected word and %d cluster ids", path, lineno,
                     ND_CL_LEVELS);
            goto out;
        }
        line = eol + 1;
    }
    ret = cl;
    cl = NULL;
out:
    nd_clusters_destroy(cl);
    free(data);
    return ret;
}

#define REC_BYTES (8 + 2 * ND_CL_LEVELS)

struct nd_clusters *nd_clusters_read(const char *data, size_t len, size_t *used, char *errstr,
                                     size_t errsz)
{
    uint32_t n;
    struct nd_clusters *cl;
    if (len < 4 || (memcpy(&n, data, 4), n > CL_MAX_WORDS) || len - 4 < (size_t)n * REC_BYTES) {
        snprintf(errstr, errsz, "truncated cluster table");
        return NULL;
    }
    if (!(cl = cl_new(n))) {
        snprintf(errstr, errsz, "out of memory");
        return NULL;
    }
    for (uint32_t k = 0; k < n; k++) {
        const char *rec = data + 4 + (size_t)k * REC_BYTES;
        uint64_t key;
        uint16_t ids[ND_CL_LEVELS];
        memcpy(&key, rec, 8);
        memcpy(ids, rec + 8, sizeof(ids));
        if (!key || !cl_put(cl, key, ids)) {
            snprintf(errstr, errsz, "corrupt cluster table");
            nd_clusters_destroy(cl);
            return NULL;
        }
    }
    *used = 4 + (size_t)n * REC_BYTES;
    return cl;
}

void nd_clusters_write(const struct nd_clusters *cl, FILE *fp)
{
    uint32_t n = (uint32_t)nd_clusters_size(cl);
    fwrite(&n, 4, 1, fp);
    for (size_t i = 0; cl && i <= cl->mask; i++) {
        if (!cl->slots[i].key)
            continue;
        fwrite(&cl->slots[i].key, 8, 1, fp);
        fwrite(cl->slots[i].ids, 2, ND_CL_LEVELS, fp);
    }
}
