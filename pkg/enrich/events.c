/* Event coder, per story: the doc's tokens and sentences, each sentence coded (events_roles.c).
 * See events.h for the method and events_int.h for the files. */

#include "enrich/events_int.h"
#include "enrich/doc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    struct nd_doc doc;
    size_t ntok;

    out->set = 1;
    if (!events || !text || !len || nd_doc_build(&doc, text, len) != ND_OK)
        return;
    ntok = nd_evlex_tokens(&doc, MAX_TOKENS, &toks);
    nd_events_code_tokens(events, &doc, toks, ntok, mentions, nmentions, out);
    free(toks);
    nd_doc_free(&doc);
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

/* Each token's dictionary masks and word classes (one lookup), and its first entity mention. */
static void prepare_tokens(struct story_state *st)
{
    const struct nd_events *events = st->events;
    size_t mk = 0;
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
    }
}

/* Cap on tokens coded as one sentence: the coder's per-sentence work is quadratic in places, and a
 * "sentence" of thousands of tokens is a table or a broken page, not prose; a longer doc sentence
 * is coded in pieces of this many. */
#define SENTENCE_MAX_TOKENS 160

/* st->etok: each doc token's coder token. */
static void map_doc_tokens(struct story_state *st)
{
    for (size_t d = 0; d < st->doc->ntoks; d++)
        st->etok[d] = UINT32_MAX;
    for (size_t i = 0; i < st->ntok; i++)
        for (uint32_t k = 0; k < st->toks[i].dn; k++)
            st->etok[st->toks[i].dtok + k] = (uint32_t)i;
}

/* Each of the doc's sentences coded, over the coder tokens whose first doc token lies in it (in
 * pieces of at most SENTENCE_MAX_TOKENS). */
static void code_sentences(struct story_state *st)
{
    const struct nd_doc *doc = st->doc;
    for (size_t i = 0; i < st->ntok;) {
        size_t s = doc->toks[st->toks[i].dtok].sent, s0 = i;
        while (i < st->ntok && doc->toks[st->toks[i].dtok].sent == s &&
               i - s0 < SENTENCE_MAX_TOKENS)
            i++;
        nd_ev_code_sentence(st, s0, i);
    }
}

void nd_events_code_tokens(const struct nd_events *events, const struct nd_doc *doc,
                           struct nd_evtok *toks, size_t ntok,
                           const struct nd_events_mention *mentions, size_t nmentions,
                           struct nd_event_list *out)
{
    struct story_state *st = NULL;

    out->set = 1;
    if (!events || !doc || !toks || !ntok)
        return;
    st = malloc(sizeof(*st));
    if (!st)
        goto out;
    memset(st, 0, offsetof(struct story_state, memo));
    st->toks = toks;
    st->ntok = ntok;
    st->events = events;
    st->doc = doc;
    st->parse = (events->roles & ND_EVENTS_ROLES_PARSE) != 0;
    st->text = doc->text;
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
    /* one block per story for the per-token arrays: phrase masks, first_info, mentions */
    st->firsts = malloc((st->ntok + 1) * 3 * sizeof(*st->firsts));
    if (!st->firsts)
        goto out;
    st->fidx = st->firsts + st->ntok + 1;
    st->mfirst = st->fidx + st->ntok + 1;
    prepare_tokens(st);
    if (!(st->etok = malloc(doc->ntoks * sizeof(*st->etok))))
        goto out;
    map_doc_tokens(st);
    code_sentences(st);
    nd_ev_finish(st);
out:
    if (st) {
        free(st->sorted);
        free(st->firsts);
        free(st->etok);
    }
    free(st);
}
