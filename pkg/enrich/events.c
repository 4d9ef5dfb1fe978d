/* Event coder, per story: tokens, code point offsets and sentences, then each sentence coded
 * (events_roles.c). See events.h for the method and events_int.h for the files. */

#include "enrich/events_int.h"
#include "enrich/doc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void nd_events_code_list(const struct nd_events *events, const char *text, size_t len,
                         const struct nd_events_mention *mentions, size_t nmentions,
                         struct nd_event_list *out)
{
    struct nd_evtok *toks = NULL;
    size_t ntok;

    out->set = 1;
    if (!events || !text || !len)
        return;
    ntok = nd_evlex_tokenize_alloc(text, len, MAX_TOKENS, &toks);
    nd_events_code_tokens(events, text, toks, ntok, NULL, mentions, nmentions, out);
    free(toks);
}

void nd_events_set_roles(struct nd_events *events, unsigned roles)
{
    events->roles = roles;
}

json_t *nd_events_code(const struct nd_events *events, const char *text, size_t len,
                       const struct nd_events_mention *mentions, size_t nmentions)
{
    struct nd_event_list list = {0};
    json_t *arr;
    nd_events_code_list(events, text, len, mentions, nmentions, &list);
    arr = nd_event_list_to_json(&list);
    nd_event_list_clear(&list);
    return arr;
}

/* Each token's dictionary masks and word classes (one lookup), its first entity mention, and its
 * code point offsets. starts (ntok + 1 entries) is scratch here: it holds the positions of the
 * UTF-8 continuation bytes. */
static void prepare_tokens(struct story_state *st, uint32_t *starts)
{
    const struct nd_events *events = st->events;
    const char *text = st->text;
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
        st->mfirst[i] =
            mk < st->nmentions && st->sorted[mk]->start == tok->start ? (uint32_t)mk : UINT32_MAX;
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
}

void nd_events_code_tokens(const struct nd_events *events, const char *text, struct nd_evtok *toks,
                           size_t ntok, const struct nd_doc *doc,
                           const struct nd_events_mention *mentions, size_t nmentions,
                           struct nd_event_list *out)
{
    struct story_state *st = NULL;
    uint32_t *starts = NULL;
    size_t nsent;

    out->set = 1;
    if (!events || !text || !toks || !ntok)
        return;
    st = malloc(sizeof(*st));
    if (!st)
        goto out;
    memset(st, 0, offsetof(struct story_state, memo));
    st->toks = toks;
    st->ntok = ntok;
    st->events = events;
    st->text = text;
    /* every slice an event keeps lies within the tokens: the last one ends the text we read */
    st->text_len = toks[ntok - 1].end;
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
    st->first_event = out->n;
    /* one block per story for the per-token arrays: phrase masks, code points, sentence starts */
    st->firsts = malloc((st->ntok + 1) * 6 * sizeof(*st->firsts));
    if (!st->firsts)
        goto out;
    st->fidx = st->firsts + st->ntok + 1;
    st->cps = st->fidx + st->ntok + 1;
    starts = st->cps + 2 * (st->ntok + 1);
    st->mfirst = starts + st->ntok + 1;
    prepare_tokens(st, starts);
    if (doc && doc->ntoks && (events->roles & ND_EVENTS_ROLES_PARSE)) {
        st->dtok = malloc(st->ntok * sizeof(*st->dtok) + doc->ntoks * sizeof(*st->etok));
        if (st->dtok) {
            st->doc = doc;
            st->etok = (uint32_t *)(st->dtok + st->ntok);
            nd_ev_align(st);
        }
    }
    nsent = nd_evlex_sentences(text, st->toks, st->ntok, starts, st->ntok + 1);
    for (size_t s = 0; s < nsent; s++) {
        size_t s0 = starts[s], s1 = s + 1 < nsent ? starts[s + 1] : st->ntok;
        if (s1 > s0)
            nd_ev_code_sentence(st, s0, s1);
    }
    nd_ev_finish(st);
out:
    if (st) {
        free(st->sorted);
        free(st->firsts);
        free(st->dtok);
    }
    free(st);
}
