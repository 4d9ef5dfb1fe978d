/* The syntax model file: four weight tables (XPOS, UPOS, moves, labels), gzip-compressed.
 *
 * Layout before compression (little-endian): "NDSYN4\0\0", u32 ntables, then per table u32 bits,
 * u32 k, f32 scale, u32 nent, and then either (k <= SYN_DENSE_K) i16 dense[2^bits * SYN_DENSE_K],
 * or u32 off[2^bits + 1], u8 cls[nent], i16 w[nent]: row r holds the entries off[r] .. off[r+1]-1,
 * an entry adding w * scale to class cls. The writer keeps only the entries whose averaged weight
 * survives int16 quantisation, which is what keeps the file small. Last, u32 nlex and u64
 * lex[nlex]: the lower-case lexicon (syntax_int.h), sorted; then u32 ndict and ndict of (u64
 * form, u8 xpos, u8 upos): the tag dictionary, sorted by form. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>

#include "enrich/syntax_int.h"

#define MAGIC "NDSYN4\0\0"
#define MAX_BITS 24
#define MAX_ENT (64u << 20)

static int gz_put(gzFile gz, const void *p, size_t n)
{
    return n == 0 || gzwrite(gz, p, (unsigned)n) == (int)n ? 0 : -1;
}

static int gz_get(gzFile gz, void *p, size_t n)
{
    return n == 0 || gzread(gz, p, (unsigned)n) == (int)n ? 0 : -1;
}

/* Quantise one dense table into entries and write it. */
static int write_table(gzFile gz, const struct syn_dense *d)
{
    size_t rows = (size_t)1 << d->bits, cells = rows * d->k, nent = 0;
    float maxabs = 0, scale;
    uint32_t *off = NULL, hdr[2] = {d->bits, d->k}, n32;
    uint8_t *cls = NULL;
    int16_t *w = NULL;
    int rc = -1;

    for (size_t i = 0; i < cells; i++)
        if (fabsf(d->w[i]) > maxabs)
            maxabs = fabsf(d->w[i]);
    scale = maxabs > 0 ? maxabs / 32767.0f : 1.0f;
    for (size_t i = 0; i < cells; i++)
        nent += lrintf(d->w[i] / scale) != 0;
    if (d->k <= SYN_DENSE_K) {
        int16_t *dense = calloc(rows * SYN_DENSE_K, sizeof(*dense));
        n32 = (uint32_t)nent;
        if (dense) {
            for (size_t r = 0; r < rows; r++)
                for (uint32_t c = 0; c < d->k; c++)
                    dense[r * SYN_DENSE_K + c] = (int16_t)lrintf(d->w[r * d->k + c] / scale);
            rc = gz_put(gz, hdr, sizeof(hdr)) || gz_put(gz, &scale, sizeof(scale)) ||
                         gz_put(gz, &n32, sizeof(n32)) ||
                         gz_put(gz, dense, rows * SYN_DENSE_K * sizeof(*dense))
                     ? -1
                     : 0;
        }
        free(dense);
        return rc;
    }
    off = malloc((rows + 1) * sizeof(*off));
    cls = malloc(nent ? nent : 1);
    w = malloc((nent ? nent : 1) * sizeof(*w));
    if (!off || !cls || !w)
        goto out;
    nent = 0;
    for (size_t r = 0; r < rows; r++) {
        off[r] = (uint32_t)nent;
        for (uint32_t c = 0; c < d->k; c++) {
            long q = lrintf(d->w[r * d->k + c] / scale);
            if (q) {
                cls[nent] = (uint8_t)c;
                w[nent++] = (int16_t)q;
            }
        }
    }
    off[rows] = (uint32_t)nent;
    n32 = (uint32_t)nent;
    if (gz_put(gz, hdr, sizeof(hdr)) || gz_put(gz, &scale, sizeof(scale)) ||
        gz_put(gz, &n32, sizeof(n32)) || gz_put(gz, off, (rows + 1) * sizeof(*off)) ||
        gz_put(gz, cls, nent) || gz_put(gz, w, nent * sizeof(*w)))
        goto out;
    rc = 0;
out:
    free(off);
    free(cls);
    free(w);
    return rc;
}

enum nd_err syn_model_save(const struct syn_dense *tabs, const struct syn_lex *lex,
                           const struct syn_dict *dict, const char *path, char *errstr,
                           size_t errsz)
{
    /* written beside the target and renamed over it: a reader never sees half a model */
    char tmp[4096];
    gzFile gz;
    uint32_t n = SYN_NTABS;
    int bad;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (!(gz = gzopen(tmp, "wb9"))) {
        snprintf(errstr, errsz, "%s: cannot create", tmp);
        return ND_ERR_IO;
    }
    bad = gz_put(gz, MAGIC, 8) || gz_put(gz, &n, sizeof(n));
    for (int t = 0; t < SYN_NTABS && !bad; t++)
        bad = write_table(gz, &tabs[t]);
    if (!bad) {
        uint32_t nlex = (uint32_t)lex->n;
        bad = gz_put(gz, &nlex, sizeof(nlex)) || gz_put(gz, lex->h, lex->n * sizeof(*lex->h));
    }
    if (!bad) {
        uint32_t nd = (uint32_t)dict->n;
        bad = gz_put(gz, &nd, sizeof(nd));
        for (size_t i = 0; i < dict->n && !bad; i++)
            bad = gz_put(gz, &dict->e[i].form, 8) || gz_put(gz, &dict->e[i].xpos, 1) ||
                  gz_put(gz, &dict->e[i].upos, 1);
    }
    if (gzclose(gz) != Z_OK || bad || rename(tmp, path)) {
        snprintf(errstr, errsz, "%s: write failed", path);
        remove(tmp);
        return ND_ERR_IO;
    }
    return ND_OK;
}

/* A weight array of a table: the parser reads about a hundred rows at random per move, across
 * 16 MB for the moves, so with 4 KB pages nearly every read also misses the TLB. Arrays of 2 MB and
 * more are aligned to 2 MB and asked to be backed by huge pages (transparent huge pages in
 * "madvise" mode); where the kernel says no, they are ordinary memory. Freed with free(). */
#define HUGE_PAGE ((size_t)2 << 20)
static void *table_alloc(size_t n)
{
    void *p = NULL;
    if (n < HUGE_PAGE)
        return malloc(n ? n : 1);
    n = (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (posix_memalign(&p, HUGE_PAGE, n))
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

static void table_free(struct syn_table *t)
{
    free(t->off);
    free(t->ent);
    free(t->dense);
    memset(t, 0, sizeof(*t));
}

/* The rows of t with at least t->heavy entries rewritten in place as kpad int16 weights (see
 * syn_table): 4 bytes an entry, 2 a weight, so a row of kpad / 2 entries or more has the room. A
 * row whose classes repeat (no writer makes one) fails the load: its weights would not add up the
 * same way. */
static int densify_heavy_rows(struct syn_table *t, size_t rows)
{
    int16_t dense[64];
    t->kpad = (t->k + 7) & ~7u;
    t->heavy = t->kpad <= 64 ? t->kpad / 2 : UINT32_MAX;
    for (size_t r = 0; r < rows && t->heavy != UINT32_MAX; r++) {
        uint32_t lo = t->off[r], n = t->off[r + 1] - lo;
        uint64_t seen = 0;
        if (n < t->heavy)
            continue;
        memset(dense, 0, sizeof(dense));
        for (uint32_t j = lo; j < lo + n; j++) {
            if (seen >> t->ent[j].cls & 1)
                return -1;
            seen |= 1ull << t->ent[j].cls;
            dense[t->ent[j].cls] = t->ent[j].w;
        }
        memcpy(&t->ent[lo], dense, t->kpad * sizeof(*dense));
    }
    return 0;
}

/* Read one table; checks sizes and that the offsets rise and classes are in range. */
static int read_table(gzFile gz, struct syn_table *t, uint32_t want_k)
{
    uint32_t hdr[2];
    size_t rows;
    uint8_t *cls = NULL;
    int16_t *w = NULL;
    int rc = -1;
    if (gz_get(gz, hdr, sizeof(hdr)) || gz_get(gz, &t->scale, sizeof(t->scale)) ||
        gz_get(gz, &t->nent, sizeof(t->nent)))
        return -1;
    t->bits = hdr[0];
    t->k = hdr[1];
    if (t->bits < 1 || t->bits > MAX_BITS || t->k != want_k || t->nent > MAX_ENT ||
        !isfinite(t->scale))
        return -1;
    rows = (size_t)1 << t->bits;
    if (t->k <= SYN_DENSE_K) {
        t->dense = table_alloc(rows * SYN_DENSE_K * sizeof(*t->dense));
        return t->dense && !gz_get(gz, t->dense, rows * SYN_DENSE_K * sizeof(*t->dense)) ? 0 : -1;
    }
    t->off = table_alloc((rows + 1) * sizeof(*t->off));
    t->ent = table_alloc(t->nent * sizeof(*t->ent));
    cls = malloc(t->nent ? t->nent : 1);
    w = malloc((t->nent ? t->nent : 1) * sizeof(*w));
    if (!t->off || !t->ent || !cls || !w || gz_get(gz, t->off, (rows + 1) * sizeof(*t->off)) ||
        gz_get(gz, cls, t->nent) || gz_get(gz, w, t->nent * sizeof(*w)))
        goto out;
    if (t->off[0] != 0 || t->off[rows] != t->nent)
        goto out;
    for (size_t r = 0; r < rows; r++)
        if (t->off[r] > t->off[r + 1])
            goto out;
    for (size_t i = 0; i < t->nent; i++) {
        if (cls[i] >= t->k)
            goto out;
        t->ent[i] = (struct syn_ent){w[i], cls[i], 0};
    }
    rc = densify_heavy_rows(t, rows);
out:
    free(cls);
    free(w);
    return rc;
}

static int read_dict(gzFile gz, struct syn_dict *dict)
{
    uint32_t n;
    if (gz_get(gz, &n, sizeof(n)) || n > MAX_ENT ||
        !(dict->e = calloc(n ? n : 1, sizeof(*dict->e))))
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        struct syn_dict_ent *e = &dict->e[i];
        if (gz_get(gz, &e->form, 8) || gz_get(gz, &e->xpos, 1) || gz_get(gz, &e->upos, 1) ||
            e->xpos >= ND_XPOS_COUNT || e->upos >= ND_UPOS_COUNT ||
            (i && dict->e[i - 1].form >= e->form))
            return -1;
        dict->n = i + 1;
    }
    return 0;
}

struct nd_syntax *nd_syntax_load(const char *path, char *errstr, size_t errsz)
{
    static const uint32_t ks[SYN_NTABS] = {ND_XPOS_COUNT, ND_UPOS_COUNT, SYN_NMOVES,
                                           ND_DEP_COUNT};
    struct nd_syntax *syntax = NULL, *ret = NULL;
    gzFile gz = gzopen(path, "rb");
    char magic[8];
    uint32_t n, nlex;

    if (!gz) {
        snprintf(errstr, errsz, "%s: cannot open", path);
        return NULL;
    }
    syntax = calloc(1, sizeof(*syntax));
    if (!syntax || gz_get(gz, magic, 8) || memcmp(magic, MAGIC, 8) || gz_get(gz, &n, sizeof(n)) ||
        n != SYN_NTABS)
        goto out;
    for (int t = 0; t < SYN_NTABS; t++)
        if (read_table(gz, &syntax->tabs[t], ks[t]))
            goto out;
    if (gz_get(gz, &nlex, sizeof(nlex)) || nlex > MAX_ENT ||
        !(syntax->lex.h = malloc((nlex ? nlex : 1) * sizeof(*syntax->lex.h))) ||
        gz_get(gz, syntax->lex.h, nlex * sizeof(*syntax->lex.h)))
        goto out;
    syntax->lex.n = nlex;
    for (size_t i = 1; i < nlex; i++)
        if (syntax->lex.h[i - 1] >= syntax->lex.h[i])
            goto out;
    if (read_dict(gz, &syntax->dict))
        goto out;
    ret = syntax;
    syntax = NULL;
out:
    if (!ret)
        snprintf(errstr, errsz, "%s: not a syntax model (or truncated)", path);
    gzclose(gz);
    nd_syntax_destroy(syntax);
    return ret;
}

void nd_syntax_destroy(struct nd_syntax *syntax)
{
    if (!syntax)
        return;
    for (int t = 0; t < SYN_NTABS; t++)
        table_free(&syntax->tabs[t]);
    free(syntax->lex.h);
    free(syntax->dict.e);
    free(syntax);
}
