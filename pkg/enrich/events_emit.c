/* events_emit: an event's typed record (struct nd_event, story/event.h) from the coder's trigger,
 * code and actor groups, with its confidence. The JSON is made by the story's encoder. */
#include "enrich/events_int.h"
#include "enrich/doc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* text[b, e) as a new string (NULL when out of memory). */
static char *slice(const struct story_state *st, uint32_t b, uint32_t e)
{
    char *s = malloc((size_t)(e - b) + 1);
    if (!s)
        return NULL;
    memcpy(s, st->text + b, e - b);
    s[e - b] = '\0';
    return s;
}

/* Token range [b, e) of the story as a string. */
static char *tokens_text(const struct story_state *st, uint32_t b, uint32_t e)
{
    return slice(st, st->toks[b].start, st->toks[e - 1].end);
}

static void fill_actor(const struct story_state *st, struct nd_event_actor *out,
                       const struct actor_ref *a)
{
    memcpy(out->code, a->cc, sizeof(out->code));
    memcpy(out->sector, a->sector, sizeof(out->sector));
    if (a->name)
        out->name = nd_strdup(a->name);
    else if (a->name_e > a->name_b && a->name_e <= st->ntok)
        out->name = tokens_text(st, a->name_b, a->name_e);
    out->implied = a->implied;
    if (a->e > a->b) {
        out->text = tokens_text(st, a->b, a->e);
        out->start = tok_cstart(st, a->b);
        out->end = tok_cend(st, a->e - 1);
    }
}

static int fill_group(const struct story_state *st, struct nd_event_actor *out,
                      const struct group_ref *g)
{
    int n = g->n < ND_EVENT_ACTORS ? g->n : ND_EVENT_ACTORS;
    for (int k = 0; k < n; k++)
        fill_actor(st, &out[k], &g->a[k]);
    return n;
}

const char *const nd_ev_feature_names[EVF_COUNT] = {
    "bias",   "source",  "src_fallback", "relaxed", "tgt_implied",  "pattern", "target",
    "order",  "nominal", "planned",      "passive", "sent_events",  "default", "src_gov",
    "quoted", "parse",   "root",         "depth",   "thing_subject", "order_other"};

static void set_features(float *f, const struct ev_found *found, size_t order)
{
    const struct trigger *tr = found->tr;
    f[EVF_BIAS] = 1;
    f[EVF_SOURCE] = found->src->n > 0;
    f[EVF_SRC_FALLBACK] = found->src_fallback != 0;
    f[EVF_RELAXED] = found->relaxed != 0;
    f[EVF_TGT_IMPLIED] = found->tgt_implied != 0;
    f[EVF_PATTERN] = tr->pattern >= 3 ? 1.0f : (float)tr->pattern / 3.0f;
    f[EVF_TARGET] = found->tgt->n > 0;
    f[EVF_ORDER] = order >= 3 ? 3.0f : (float)order;
    f[EVF_NOMINAL] = tr->nominal != 0;
    f[EVF_PLANNED] = found->planned != 0;
    f[EVF_PASSIVE] = found->passive != 0;
    f[EVF_DEFAULT_CODE] = !tr->nominal && !tr->pattern;
    f[EVF_SRC_SECTOR] = found->src->n > 0 && found->src->a[0].sector[0];
    f[EVF_QUOTED] = found->qe > found->qb;
    f[EVF_PARSE] = found->parsed != 0;
    f[EVF_ROOT] = found->parsed && found->clause_depth == 0;
    f[EVF_THING] = found->thing_subject != 0;
    f[EVF_DEPTH] = found->parsed && found->clause_depth > 0 ? (float)found->clause_depth / 3.0f : 0;
}

void nd_ev_emit(struct story_state *st, size_t s0, size_t s1, const struct ev_found *found)
{
    const struct trigger *tr = found->tr;
    const struct group_ref *src = found->src, *tgt = found->tgt;
    const struct plover *pl = nd_ev_plover_of(st->events, found->code);
    struct nd_event *ev;
    double conf;
    /* the uncalibrated score: each fallback taken (source from the speaker or the sentence,
     * relaxed pass, implied target) lowers it */
    int doubt = found->src_fallback + found->relaxed + found->tgt_implied;
    if (!pl || st->nevents >= MAX_EVENTS || !(ev = nd_event_list_add(st->out)))
        return;
    copy_code(ev->type, pl->type, sizeof(ev->type));
    copy_code(ev->cameo, found->code, sizeof(ev->cameo));
    ev->nsource = fill_group(st, ev->source, src);
    ev->ntarget = fill_group(st, ev->target, tgt);
    ev->sent_start = tok_cstart(st, s0);
    ev->sent_end = tok_cend(st, s1 - 1);
    ev->trigger = tokens_text(st, (uint32_t)tr->b, (uint32_t)tr->e);
    ev->trig_start = tok_cstart(st, tr->b);
    ev->trig_end = tok_cend(st, tr->e - 1);
    if (found->qe > found->qb)
        ev->quote = tokens_text(st, (uint32_t)found->qb, (uint32_t)found->qe);
    ev->status = found->planned ? ND_EVENT_PLANNED : ND_EVENT_REPORTED;
    ev->intensity = pl->goldstein;
    set_features(ev->features, found, st->sentence_events);
    /* a specific pattern, the verb's own subject and a target raise it; later events in a sentence
     * are more often inside subordinate clauses */
    conf = (src->n ? 0.7 : 0.35) - 0.1 * doubt + (tr->pattern ? 0.1 : 0.0) + (tgt->n ? 0.1 : 0.0) -
           0.12 * (double)st->sentence_events;
    ev->confidence = conf > 0.95 ? 0.95 : conf < 0.05 ? 0.05 : conf;
    st->nevents++;
    st->sentence_events++;
}

/* Do two events share a source country? */
static int share_source(const struct nd_event *a, const struct nd_event *b)
{
    for (int p = 0; p < a->nsource; p++)
        for (int q = 0; q < b->nsource; q++)
            if (a->source[p].code[0] && !strcmp(a->source[p].code, b->source[q].code))
                return 1;
    return 0;
}

/* The events before ev in its sentence [first, ev): by a source of its own (a second act of one
 * actor is mostly a detail or purpose of the first: "met Xi ... to ease frictions") and by other
 * sources (another actor's act, a development of its own: "despite Zelenskiy's dismissal"). */
static void set_order(const struct nd_event *first, struct nd_event *ev)
{
    size_t same = 0, other = 0;
    for (const struct nd_event *q = first; q < ev; q++) {
        if (!q->nsource) /* no one's act: no development of its own either */
            continue;
        if (share_source(q, ev))
            same++;
        else
            other++;
    }
    ev->features[EVF_ORDER] = same >= 3 ? 3.0f : (float)same;
    ev->features[EVF_ORDER_OTHER] = other >= 3 ? 3.0f : (float)other;
}

void nd_ev_finish(struct story_state *st)
{
    struct nd_event_list *out = st->out;
    for (size_t i = st->first_event; i < out->n;) {
        size_t j = i;
        while (j < out->n && out->v[j].sent_start == out->v[i].sent_start)
            j++;
        for (size_t k = i; k < j; k++) {
            struct nd_event *ev = &out->v[k];
            double z = 0;
            ev->features[EVF_SENT_EVENTS] = j - i >= 4 ? 4.0f : (float)(j - i);
            set_order(&out->v[i], ev);
            if (!st->events->has_calib)
                continue;
            if (!ev->features[EVF_SOURCE]) {
                ev->confidence = st->events->calib_no_source;
                continue;
            }
            for (int f = 0; f < EVF_COUNT; f++)
                z += st->events->calib[f] * ev->features[f];
            /* rounded to three places: the JSON shows a probability, not float noise */
            ev->confidence = (double)(long)(1000.0 / (1.0 + exp(-z)) + 0.5) / 1000.0;
        }
        i = j;
    }
}
