/* Near-duplicates: SimHash fingerprints and a bounded index of recent ones.
 *
 * SimHash (Charikar; Manku et al., "Detecting near-duplicates for web crawling", 2007): each
 * feature of the lower-cased text (content words and pairs of them) is hashed to 64 bits, every bit
 * votes +1/-1, and the sign of each bit's sum is the fingerprint. Copies and rewrites of a story
 * differ in a few bits; stories that merely share a subject differ in many.
 *
 * The index finds any stored fingerprint within Hamming distance k without a scan: the 64 bits are
 * cut into k+1 blocks, and by pigeonhole two fingerprints within distance k agree exactly on at
 * least one block. So each block has a hash table of the entries with that block value, and a
 * lookup compares only the entries sharing one of its k+1 block values. The entries live in a ring:
 * when it is full the oldest is unlinked and forgotten, which bounds memory whatever the load. */
#include "alert/alert_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX (32u << 10) /* the lead of a story decides; long tails add cost, not signal */
#define MAX_BLOCKS 16
#define BUCKET_BITS 16

/* Words that carry no content: a rewrite changes them freely, so they do not vote. A word's hash,
 * computed anyway, is looked up among theirs. */
/* clang-format off */
#define W(s) {s, sizeof(s) - 1}
/* clang-format on */
static const struct stopword {
    const char *w;
    size_t n;
} stopwords[] = {
    W("the"),     W("and"),    W("for"),     W("was"),      W("are"),      W("has"),
    W("had"),     W("not"),    W("but"),     W("his"),      W("her"),      W("its"),
    W("who"),     W("can"),    W("may"),     W("our"),      W("out"),      W("one"),
    W("two"),     W("new"),    W("all"),     W("any"),      W("few"),      W("own"),
    W("did"),     W("why"),    W("how"),     W("you"),      W("she"),      W("him"),
    W("that"),    W("with"),   W("were"),    W("have"),     W("they"),     W("them"),
    W("this"),    W("from"),   W("will"),    W("said"),     W("says"),     W("say"),
    W("also"),    W("been"),   W("into"),    W("over"),     W("than"),     W("then"),
    W("when"),    W("what"),   W("more"),    W("most"),     W("some"),     W("such"),
    W("only"),    W("both"),   W("each"),    W("same"),     W("very"),     W("just"),
    W("does"),    W("upon"),   W("once"),    W("here"),     W("your"),     W("told"),
    W("news"),    W("their"),  W("these"),   W("those"),    W("which"),    W("would"),
    W("after"),   W("about"),  W("there"),   W("while"),    W("where"),    W("other"),
    W("could"),   W("might"),  W("being"),   W("under"),    W("again"),    W("friday"),
    W("monday"),  W("sunday"), W("should"),  W("during"),   W("before"),   W("further"),
    W("reuters"), W("agency"), W("tuesday"), W("thursday"), W("saturday"), W("wednesday"),
};
#undef W

#define NSTOP (sizeof(stopwords) / sizeof(*stopwords))
static uint64_t stop_hashes[NSTOP]; /* sorted: a word's hash, already needed, finds it */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t word_hash(const char *w, size_t n)
{
    return nd_hash64(w, n, 0x5eed);
}

static int is_stopword(uint64_t h, size_t n)
{
    return n < 3 || (n <= 9 && bsearch(&h, stop_hashes, NSTOP, sizeof(h), cmp_u64));
}

/* Votes are counted eight bit positions at a time: spread[v] holds the 8 bits of byte v in the 8
 * bytes of a word, so adding it counts 8 positions at once in 8-bit lanes, flushed to the 32-bit
 * totals before a lane can overflow. Most of the stage's time is here. */
static uint64_t spread[256];

static void tables_init(void)
{
    for (size_t i = 0; i < NSTOP; i++)
        stop_hashes[i] = word_hash(stopwords[i].w, stopwords[i].n);
    qsort(stop_hashes, NSTOP, sizeof(*stop_hashes), cmp_u64);
    for (int v = 0; v < 256; v++) {
        uint64_t x = 0;
        for (int b = 0; b < 8; b++)
            if (v & (1 << b))
                x |= (uint64_t)1 << (8 * b);
        spread[v] = x;
    }
}

struct votes {
    uint64_t lanes[8]; /* lanes[k] byte b: votes of bit 8k+b since the last flush */
    uint32_t ones[64];
    uint32_t pending, total;
};

static void votes_flush(struct votes *v)
{
    for (int k = 0; k < 8; k++) {
        for (int b = 0; b < 8; b++)
            v->ones[8 * k + b] += (uint32_t)((v->lanes[k] >> (8 * b)) & 0xff);
        v->lanes[k] = 0;
    }
    v->pending = 0;
}

static void vote(struct votes *v, uint64_t h)
{
    for (int k = 0; k < 8; k++)
        v->lanes[k] += spread[(h >> (8 * k)) & 0xff];
    v->total++;
    if (++v->pending == 255)
        votes_flush(v);
}

/* Features are the content words and the pairs of consecutive content words: words keep a
 * reworded story close to its original, pairs keep two stories on one subject apart. */
uint64_t nd_simhash(const char *text, size_t len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct votes votes;
    uint64_t prev = 0, fp = 0;
    size_t nwords = 0, i = 0;
    char word[64];

    pthread_once(&once, tables_init);
    memset(&votes, 0, sizeof(votes));

    if (len > TEXT_MAX)
        len = TEXT_MAX;
    while (i < len) {
        size_t n = 0;
        uint64_t h;
        while (i < len && !(isalnum((unsigned char)text[i]) || (unsigned char)text[i] >= 0x80))
            i++;
        while (i < len && (isalnum((unsigned char)text[i]) || (unsigned char)text[i] >= 0x80)) {
            if (n < sizeof(word))
                word[n++] = (char)tolower((unsigned char)text[i]);
            i++;
        }
        if (!n)
            continue;
        h = word_hash(word, n);
        if (is_stopword(h, n))
            continue;
        vote(&votes, h);
        if (nwords++) {
            uint64_t pair[2] = {prev, h};
            vote(&votes, nd_hash64(pair, sizeof(pair), 0x5d1));
        }
        prev = h;
    }
    votes_flush(&votes);
    for (int b = 0; b < 64; b++)
        if (2 * votes.ones[b] > votes.total)
            fp |= (uint64_t)1 << b;
    return fp;
}

int nd_hamming(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}

struct entry {
    uint64_t fp;
    int64_t time_ms;
    char story_id[17];
    char dev_id[24];
    int used;
};

/* A bucket: the fingerprints (and ring slots) of the entries with one block value, contiguous so a
 * lookup scans them without chasing pointers. Entries the ring has overwritten are dropped lazily
 * whenever the bucket is scanned or added to, so a bucket never holds more than its live entries
 * plus those evicted since it was last touched. */
struct cand {
    uint64_t fp;
    int32_t slot;
};

struct bucket {
    struct cand *v;
    uint32_t n, cap;
};

struct nd_dedup {
    struct entry *ring;
    size_t capacity, count, head; /* head: the slot written next */
    int distance, nblocks;
    int shift[MAX_BLOCKS], width[MAX_BLOCKS];
    uint32_t nbuckets[MAX_BLOCKS];
    struct bucket *buckets[MAX_BLOCKS];
};

struct nd_dedup *nd_dedup_new(size_t capacity, int distance)
{
    struct nd_dedup *dedup = nd_xcalloc(1, sizeof(*dedup));
    int start = 0;
    if (distance < 0)
        distance = 0;
    if (distance > MAX_BLOCKS - 1)
        distance = MAX_BLOCKS - 1;
    if (capacity < 16)
        capacity = 16;
    dedup->capacity = capacity;
    dedup->distance = distance;
    dedup->nblocks = distance + 1;
    dedup->ring = nd_xcalloc(capacity, sizeof(*dedup->ring));
    for (int b = 0; b < dedup->nblocks; b++) {
        /* blocks cover all 64 bits; the last one takes the remainder */
        int w = b == dedup->nblocks - 1 ? 64 - start : 64 / dedup->nblocks;
        dedup->shift[b] = start;
        dedup->width[b] = w;
        start += w;
        dedup->nbuckets[b] = w < BUCKET_BITS ? 1u << w : 1u << BUCKET_BITS;
        dedup->buckets[b] = nd_xcalloc(dedup->nbuckets[b], sizeof(struct bucket));
    }
    return dedup;
}

void nd_dedup_destroy(struct nd_dedup *dedup)
{
    if (!dedup)
        return;
    for (int b = 0; b < dedup->nblocks; b++) {
        for (uint32_t k = 0; k < dedup->nbuckets[b]; k++)
            free(dedup->buckets[b][k].v);
        free(dedup->buckets[b]);
    }
    free(dedup->ring);
    free(dedup);
}

static uint64_t block_of(const struct nd_dedup *dedup, int b, uint64_t fp)
{
    return dedup->width[b] == 64 ? fp : (fp >> dedup->shift[b]) & ((1ULL << dedup->width[b]) - 1);
}

static struct bucket *bucket_of(const struct nd_dedup *dedup, int b, uint64_t fp)
{
    uint64_t v = block_of(dedup, b, fp);
    if (dedup->width[b] > BUCKET_BITS) {
        /* wide blocks are mixed down to the table size */
        v ^= v >> 29;
        v *= 0xbf58476d1ce4e5b9ULL;
        v ^= v >> 32;
    }
    return &dedup->buckets[b][v & (dedup->nbuckets[b] - 1)];
}

static int live(const struct nd_dedup *dedup, const struct cand *c)
{
    const struct entry *e = &dedup->ring[c->slot];
    return e->used && e->fp == c->fp;
}

/* Drop candidates whose ring slot was overwritten. */
static void compact(const struct nd_dedup *dedup, struct bucket *bk)
{
    uint32_t keep = 0;
    for (uint32_t i = 0; i < bk->n; i++)
        if (live(dedup, &bk->v[i]))
            bk->v[keep++] = bk->v[i];
    bk->n = keep;
}

void nd_dedup_add(struct nd_dedup *dedup, uint64_t fp, const char *story_id, const char *dev_id,
                  int64_t time_ms)
{
    int32_t slot = (int32_t)dedup->head;
    struct entry *e = &dedup->ring[slot];
    if (e->used)
        dedup->count--; /* its candidates go stale and are dropped when their buckets are touched */
    memset(e, 0, sizeof(*e));
    e->fp = fp;
    e->time_ms = time_ms;
    snprintf(e->story_id, sizeof(e->story_id), "%s", story_id ? story_id : "");
    snprintf(e->dev_id, sizeof(e->dev_id), "%s", dev_id ? dev_id : "");
    e->used = 1;
    for (int b = 0; b < dedup->nblocks; b++) {
        struct bucket *bk = bucket_of(dedup, b, fp);
        /* before growing, drop what went stale: a bucket stays within twice its live entries */
        if (bk->n == bk->cap) {
            compact(dedup, bk);
            if (bk->n * 2 >= bk->cap) {
                bk->cap = bk->cap ? bk->cap * 2 : 8;
                bk->v = realloc(bk->v, bk->cap * sizeof(*bk->v));
                if (!bk->v)
                    abort();
            }
        }
        bk->v[bk->n++] = (struct cand){fp, slot};
    }
    dedup->count++;
    dedup->head = (dedup->head + 1) % dedup->capacity;
}

int nd_dedup_find(const struct nd_dedup *dedup, uint64_t fp, const char *story_id, int64_t min_ms,
                  struct nd_dedup_hit *hit)
{
    int best = dedup->distance + 1;
    const struct entry *found = NULL;
    for (int b = 0; b < dedup->nblocks; b++) {
        const struct bucket *bk = bucket_of(dedup, b, fp);
        uint64_t want = block_of(dedup, b, fp);
        for (uint32_t i = 0; i < bk->n; i++) {
            const struct cand *c = &bk->v[i];
            const struct entry *e;
            int d = nd_hamming(fp, c->fp);
            if (d > best || block_of(dedup, b, c->fp) != want || !live(dedup, c))
                continue;
            e = &dedup->ring[c->slot];
            if (e->time_ms < min_ms)
                continue;
            if (story_id && !strcmp(e->story_id, story_id))
                continue; /* a new version of the same story is not a copy of another */
            /* the nearest wins; among equals the oldest, the original */
            if (d < best || (found && e->time_ms < found->time_ms)) {
                best = d;
                found = e;
            }
        }
    }
    if (!found)
        return 0;
    memcpy(hit->story_id, found->story_id, sizeof(hit->story_id));
    memcpy(hit->dev_id, found->dev_id, sizeof(hit->dev_id));
    hit->distance = best;
    return 1;
}

size_t nd_dedup_count(const struct nd_dedup *dedup)
{
    return dedup->count;
}
