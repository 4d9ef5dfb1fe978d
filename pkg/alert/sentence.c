/* What an alert says happened: one event as a sentence a desk can read as a statement of fact.
 *
 * The verb phrase is the event's own CAMEO code's (cameo_phrases.c: "expressed intent to meet or
 * negotiate", never a PLOVER bucket's "reached an agreement"); every source and every target actor
 * is named in its role ("Brazil and South Africa expressed intent to meet or negotiate with
 * Sudan"); the story's sentence the event was coded from follows as the evidence. */
#include "alert/alert_int.h"

#include <string.h>

#define QUOTE_MAX 320 /* bytes of the story's sentence quoted */

/* An actor as a desk knows it: its name, with its country when that says more ("Antony Blinken
 * (United States)"), else the country, else the words of the story. */
static void actor_label(char *buf, size_t sz, const struct nd_event_actor *a)
{
    const char *country = nd_country_known(a->code) ? nd_country_name(a->code) : NULL;
    if (a->name && country && strcmp(a->name, country))
        snprintf(buf, sz, "%s (%s)", a->name, country);
    else if (country)
        snprintf(buf, sz, "%s", country);
    else if (a->name)
        snprintf(buf, sz, "%s", a->name);
    else if (a->text)
        snprintf(buf, sz, "%s", a->text);
    else
        snprintf(buf, sz, "%s", a->code[0] ? a->code : "someone");
}

/* "A", "A and B", "A, B and C", each label once. */
static void actors_phrase(struct nd_buf *out, const struct nd_event_actor *actors, int n)
{
    char labels[ND_EVENT_ACTORS][256];
    int k = 0;
    for (int i = 0; i < n && i < ND_EVENT_ACTORS; i++) {
        int seen = 0;
        actor_label(labels[k], sizeof(labels[k]), &actors[i]);
        for (int j = 0; j < k && !seen; j++)
            seen = !strcmp(labels[j], labels[k]);
        k += !seen;
    }
    for (int i = 0; i < k; i++)
        nd_buf_appendf(out, "%s%s", i == 0 ? "" : i == k - 1 ? " and " : ", ", labels[i]);
}

/* text's code points [start, end) as bytes [*b, *e), cut to QUOTE_MAX on a character boundary.
 * Returns 0 for none, 1, or 2 when cut. */
static int sentence_bytes(const char *text, uint32_t start, uint32_t end, size_t *b, size_t *e)
{
    size_t cp = 0, i = 0;
    if (!text || end <= start)
        return 0;
    for (; text[i] && cp < start; i++)
        cp += ((unsigned char)text[i] & 0xC0) != 0x80;
    while (text[i] && ((unsigned char)text[i] & 0xC0) == 0x80)
        i++;
    *b = i;
    for (; text[i] && cp < end; i++)
        cp += ((unsigned char)text[i] & 0xC0) != 0x80;
    while (text[i] && ((unsigned char)text[i] & 0xC0) == 0x80)
        i++;
    *e = i;
    if (*e - *b > QUOTE_MAX) {
        *e = *b + QUOTE_MAX;
        while (*e > *b && ((unsigned char)text[*e] & 0xC0) == 0x80)
            (*e)--;
        return 2;
    }
    return *e > *b;
}

void nd_event_sentence(struct nd_buf *out, const struct nd_event *ev, const char *body)
{
    const struct nd_cameo_phrase *p = nd_cameo_phrase(ev->cameo);
    const char *phrase = p ? p->phrase : "took an action of CAMEO code";
    const char *slot = strstr(phrase, "{T}");
    struct nd_event_actor named[ND_EVENT_ACTORS];
    size_t b, e;
    int quoted, ntarget = 0;

    /* a target the story does not name (the source's own country, implied for a domestic act)
     * is not said: "Hungary yielded", not "Hungary yielded toward Hungary" */
    for (int i = 0; i < ev->ntarget && i < ND_EVENT_ACTORS; i++)
        if (!ev->target[i].implied)
            named[ntarget++] = ev->target[i];

    if (ev->nsource)
        actors_phrase(out, ev->source, ev->nsource);
    else
        nd_buf_appendf(out, "Someone not named");
    nd_buf_appendf(out, " ");
    if (slot) {
        /* "accused {T} of war crimes"; with no target named the slot and its space go */
        nd_buf_append(out, phrase, (size_t)(slot - phrase));
        if (ntarget)
            actors_phrase(out, named, ntarget);
        else if (slot > phrase && slot[3] == ' ')
            out->len--;
        nd_buf_appendf(out, "%s", slot + 3);
    } else {
        nd_buf_appendf(out, "%s", phrase);
        if (!p)
            nd_buf_appendf(out, " %s", ev->cameo);
        if (ntarget) {
            nd_buf_appendf(out, p && p->join[0] ? " %s " : " ", p ? p->join : "");
            actors_phrase(out, named, ntarget);
        }
    }
    if (ev->status == ND_EVENT_PLANNED && strncmp(ev->cameo, "03", 2) &&
        strncmp(ev->cameo, "13", 2))
        nd_buf_appendf(out, " (planned)");
    nd_buf_appendf(out, " (%s, CAMEO %s)", ev->type, ev->cameo);
    if ((quoted = sentence_bytes(body, ev->sent_start, ev->sent_end, &b, &e)))
        nd_buf_appendf(out, ": \"%.*s%s\"", (int)(e - b), body + b, quoted == 2 ? "…" : "");
}
