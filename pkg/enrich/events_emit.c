/* events_emit: an event's typed record (struct nd_event, story/event.h) from the coder's trigger,
 * code and actor groups, with its confidence. The JSON is made by the story's encoder. */
#include "enrich/events_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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
        out->start = st->cps[2 * a->b];
        out->end = st->cps[2 * (a->e - 1) + 1];
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

/* doubt: 0 when the verb's own subject is the source; each fallback taken (source from the
 * speaker or the sentence, relaxed pass, implied target) adds one and lowers the confidence. */
void nd_ev_emit(struct story_state *st, size_t s0, size_t s1, const struct trigger *tr,
                const char *code, const struct group_ref *src, const struct group_ref *tgt,
                int planned, int doubt, size_t qb, size_t qe)
{
    const struct plover *pl = nd_ev_plover_of(st->events, code);
    struct nd_event *ev;
    double conf;
    if (!pl || st->nevents >= MAX_EVENTS || !(ev = nd_event_list_add(st->out)))
        return;
    copy_code(ev->type, pl->type, sizeof(ev->type));
    copy_code(ev->cameo, code, sizeof(ev->cameo));
    ev->nsource = fill_group(st, ev->source, src);
    ev->ntarget = fill_group(st, ev->target, tgt);
    ev->sent_start = st->cps[2 * s0];
    ev->sent_end = st->cps[2 * (s1 - 1) + 1];
    ev->trigger = tokens_text(st, (uint32_t)tr->b, (uint32_t)tr->e);
    ev->trig_start = st->cps[2 * tr->b];
    ev->trig_end = st->cps[2 * (tr->e - 1) + 1];
    if (qe > qb)
        ev->quote = tokens_text(st, (uint32_t)qb, (uint32_t)qe);
    ev->status = planned ? ND_EVENT_PLANNED : ND_EVENT_REPORTED;
    ev->intensity = pl->goldstein;
    /* a specific pattern, the verb's own subject and a target raise it; later events in a sentence
     * are more often inside subordinate clauses */
    conf = (src->n ? 0.7 : 0.35) - 0.1 * doubt + (tr->pattern ? 0.1 : 0.0) + (tgt->n ? 0.1 : 0.0) -
           0.12 * (double)st->sentence_events;
    ev->confidence = conf > 0.95 ? 0.95 : conf < 0.05 ? 0.05 : conf;
    st->nevents++;
    st->sentence_events++;
}
