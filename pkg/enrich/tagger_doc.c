/* Document-level vote over the tagger's spans (tagger_doc.h). Labels are IOB2 as nd_ner_labels:
 * 0 O, then B/I pairs of PER (1, 2), ORG (3, 4), LOC (5, 6), MISC (7, 8). */
#include "enrich/tagger_doc.h"

#include <string.h>

#define NTYPES 4
#define TYPE_PER 1

struct span {
    size_t start, len;
    uint64_t key; /* hash of the span's token hashes */
    int type;     /* 1..4 */
    int prose;    /* in a sentence of running text */
};

struct tally {
    uint64_t key; /* 0: empty slot */
    int64_t weight[NTYPES + 1];
    int first;       /* type of the first mention */
    size_t surname;  /* 1 + index of the first multi-word person span ending in this word, or 0 */
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 32;
    return h ? h : 1;
}

static struct tally *tally_slot(struct tally *t, size_t mask, uint64_t key)
{
    size_t i = (size_t)(key ^ (key >> 29)) & mask;
    while (t[i].key && t[i].key != key)
        i = (i + 1) & mask;
    t[i].key = key;
    return &t[i];
}

/* Whether sentence [b, e) is running text: at least three words in lower case. Headlines, tables
 * and results lines ("DETROIT 5 Toronto 3") are not, and a name there follows conventions of its
 * own (a city in a standings table is its team), so they neither vote nor are outvoted. */
static int is_prose(const struct nd_ner_tok *toks, size_t b, size_t e)
{
    size_t lower = 0;
    for (size_t i = b; i < e && lower < 3; i++)
        lower += toks[i].len > 1 && toks[i].s[0] >= 'a' && toks[i].s[0] <= 'z';
    return lower >= 3;
}

/* The document's spans in order; returns their count. */
static size_t collect_spans(const struct nd_ner_tok *toks, size_t n, const uint64_t *lw,
                            struct span *sp)
{
    size_t ns = 0, sent_end = 0;
    int prose = 0;
    for (size_t i = 0; i < n;) {
        int l = toks[i].label, type = (l + 1) / 2;
        size_t j = i + 1;
        uint64_t key = mix(0x1234567, lw[i]);
        if (i >= sent_end) {
            for (sent_end = i + 1; sent_end < n && !toks[sent_end].sent_start; sent_end++)
                ;
            prose = is_prose(toks, i, sent_end);
        }
        if (!l) {
            i++;
            continue;
        }
        while (j < n && toks[j].label == 2 * type && !toks[j].sent_start)
            key = mix(key, lw[j++]);
        sp[ns++] = (struct span){.start = i, .len = j - i, .key = key, .type = type, .prose = prose};
        i = j;
    }
    return ns;
}

static void relabel(struct nd_ner_tok *toks, const struct span *s, int type)
{
    toks[s->start].label = (uint8_t)(2 * type - 1);
    for (size_t k = 1; k < s->len; k++)
        toks[s->start + k].label = (uint8_t)(2 * type);
}

static int majority(const struct tally *t)
{
    int best = t->first;
    for (int ty = 1; ty <= NTYPES; ty++)
        if (t->weight[ty] > t->weight[best])
            best = ty;
    return best;
}

enum nd_err nd_tagger_doc_vote(struct nd_ner_tok *toks, size_t n, const uint64_t *lw,
                               const int32_t *margin)
{
    size_t mark = nd_scratch_mark(), ns, cap = 16, mask;
    struct span *sp;
    struct tally *tab;

    if (!n)
        return ND_OK;
    if (!(sp = nd_scratch_alloc(n * sizeof(*sp)))) {
        nd_scratch_release(mark);
        return ND_ERR_NOMEM;
    }
    ns = collect_spans(toks, n, lw, sp);
    /* at most two keys a span (its own, a person's surname): the table at most half full, sized
     * by the spans rather than the tokens (a story has a few names in hundreds of words, and
     * zeroing a table for every token cost more than the vote) */
    while (cap < ns * 4)
        cap <<= 1;
    mask = cap - 1;
    if (!(tab = nd_scratch_calloc(cap, sizeof(*tab)))) {
        nd_scratch_release(mark);
        return ND_ERR_NOMEM;
    }
    for (size_t k = 0; k < ns; k++) {
        struct tally *t;
        if (!sp[k].prose)
            continue;
        t = tally_slot(tab, mask, sp[k].key);
        if (!t->first)
            t->first = sp[k].type;
        t->weight[sp[k].type] += margin[sp[k].start];
        if (sp[k].type == TYPE_PER && sp[k].len > 1) {
            /* the surname is a one-word span's key */
            struct tally *s = tally_slot(tab, mask, mix(0x1234567, lw[sp[k].start + sp[k].len - 1]));
            if (!s->surname)
                s->surname = k + 1;
        }
    }
    for (size_t k = 0; k < ns; k++) {
        const struct tally *t;
        int type;
        if (!sp[k].prose)
            continue;
        t = tally_slot(tab, mask, sp[k].key);
        type = majority(t);
        if (sp[k].len == 1 && t->surname && t->surname - 1 < k)
            type = TYPE_PER;
        if (type != sp[k].type)
            relabel(toks, &sp[k], type);
    }
    nd_scratch_release(mark);
    return ND_OK;
}
