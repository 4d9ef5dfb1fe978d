/* The enriched records of recent stories, for the story view and for what an alert card shows of
 * its story (dateline, byline, the quoted sentence, whether it was withdrawn).
 *
 * At most `capacity` full records are kept, oldest dropped first. A story an alert on the board
 * names ("pinned") keeps its small summary after its record is dropped, so its card still shows its
 * dateline and a later withdrawal; unpinned stories go whole. */
#include "board/board_int.h"

#include <stdlib.h>
#include <string.h>

#define EVIDENCE_MAX 10   /* sentences quoted per story */
#define SENTENCE_MAX 1200 /* bytes of one quoted sentence */

struct story {
    char *id;
    struct story *hnext;         /* hash chain */
    struct story *older, *newer; /* the records kept, oldest first */
    char *record;                /* NULL once dropped */
    size_t len;
    json_t *summary;
    unsigned pins;
};

struct nd_board_stories {
    struct story **buckets;
    size_t nbuckets, n, nrecords, capacity;
    struct story *oldest, *newest;
};

struct nd_board_stories *nd_board_stories_new(size_t capacity)
{
    struct nd_board_stories *s = nd_xcalloc(1, sizeof(*s));
    s->capacity = capacity ? capacity : 1;
    s->nbuckets = 1024;
    s->buckets = nd_xcalloc(s->nbuckets, sizeof(*s->buckets));
    return s;
}

static size_t bucket(const struct nd_board_stories *s, const char *id)
{
    return (size_t)(nd_hash64(id, strlen(id), 0) & (s->nbuckets - 1));
}

static struct story **find(struct nd_board_stories *s, const char *id)
{
    struct story **p = &s->buckets[bucket(s, id)];
    while (*p && strcmp((*p)->id, id))
        p = &(*p)->hnext;
    return p;
}

static void grow(struct nd_board_stories *s)
{
    struct story **old = s->buckets;
    size_t n = s->nbuckets;
    s->nbuckets *= 2;
    s->buckets = nd_xcalloc(s->nbuckets, sizeof(*s->buckets));
    for (size_t i = 0; i < n; i++)
        for (struct story *st = old[i], *next; st; st = next) {
            size_t b = bucket(s, st->id);
            next = st->hnext;
            st->hnext = s->buckets[b];
            s->buckets[b] = st;
        }
    free(old);
}

static void unlink_record(struct nd_board_stories *s, struct story *st)
{
    if (!st->record)
        return;
    if (st->older)
        st->older->newer = st->newer;
    else
        s->oldest = st->newer;
    if (st->newer)
        st->newer->older = st->older;
    else
        s->newest = st->older;
    st->older = st->newer = NULL;
    free(st->record);
    st->record = NULL;
    s->nrecords--;
}

static void forget(struct nd_board_stories *s, struct story *st)
{
    struct story **p = find(s, st->id);
    unlink_record(s, st);
    *p = st->hnext;
    s->n--;
    json_decref(st->summary);
    free(st->id);
    free(st);
}

void nd_board_stories_destroy(struct nd_board_stories *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nbuckets; i++)
        for (struct story *st = s->buckets[i], *next; st; st = next) {
            next = st->hnext;
            json_decref(st->summary);
            free(st->record);
            free(st->id);
            free(st);
        }
    free(s->buckets);
    free(s);
}

static struct story *get_or_add(struct nd_board_stories *s, const char *id)
{
    struct story **p = find(s, id), *st = *p;
    if (st)
        return st;
    st = nd_xcalloc(1, sizeof(*st));
    st->id = nd_strdup(id);
    *p = st;
    if (++s->n > s->nbuckets)
        grow(s);
    return st;
}

const json_t *nd_board_stories_put(struct nd_board_stories *s, const char *json, size_t len,
                                   int *pinned)
{
    json_t *doc = json_loadb(json, len, 0, NULL);
    const char *id = json_string_value(json_object_get(doc, "id"));
    struct story *st;

    *pinned = 0;
    if (!id || !*id || strlen(id) > 32) {
        json_decref(doc);
        return NULL;
    }
    st = get_or_add(s, id);
    unlink_record(s, st);
    json_decref(st->summary);
    st->summary = nd_board_story_summary(doc);
    json_decref(doc);
    st->record = nd_strndup(json, len);
    st->len = len;
    st->older = s->newest;
    if (s->newest)
        s->newest->newer = st;
    else
        s->oldest = st;
    s->newest = st;
    s->nrecords++;
    *pinned = st->pins > 0;
    while (s->nrecords > s->capacity) {
        struct story *old = s->oldest;
        if (old == st)
            break;
        if (old->pins)
            unlink_record(s, old);
        else
            forget(s, old);
    }
    return st->summary;
}

void nd_board_stories_pin(struct nd_board_stories *s, const char *id)
{
    if (id && *id)
        get_or_add(s, id)->pins++;
}

void nd_board_stories_unpin(struct nd_board_stories *s, const char *id)
{
    struct story *st = id && *id ? *find(s, id) : NULL;
    if (!st || !st->pins)
        return;
    if (!--st->pins && !st->record)
        forget(s, st);
}

const json_t *nd_board_stories_summary(struct nd_board_stories *s, const char *id)
{
    struct story *st = id && *id ? *find(s, id) : NULL;
    return st ? st->summary : NULL;
}

enum nd_err nd_board_stories_record(struct nd_board_stories *s, const char *id, struct nd_buf *buf)
{
    struct story *st = id && *id ? *find(s, id) : NULL;
    if (!st || !st->record)
        return ND_ERR_NOTFOUND;
    return nd_buf_append(buf, st->record, st->len);
}

json_t *nd_board_stories_withdrawn(struct nd_board_stories *s)
{
    json_t *out = json_array();
    for (size_t i = 0; i < s->nbuckets; i++)
        for (struct story *st = s->buckets[i]; st; st = st->hnext) {
            const char *status = json_string_value(json_object_get(st->summary, "pubstatus"));
            if (st->pins && status && strcmp(status, "usable"))
                json_array_append_new(out, json_string(st->id));
        }
    return out;
}

/* --- the summary ------------------------------------------------------------------------------ */

/* Byte offset of code point `cp` in text (len bytes); len when past the end. */
static size_t cp_offset(const char *text, size_t len, json_int_t cp)
{
    size_t i = 0;
    for (json_int_t n = 0; i < len && n < cp; n++) {
        i++;
        while (i < len && ((unsigned char)text[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

/* A sentence by code point span; cut to SENTENCE_MAX bytes on a character boundary. */
static json_t *sentence(const char *body, size_t len, json_int_t start, json_int_t end)
{
    size_t a = cp_offset(body, len, start), b = cp_offset(body, len, end);
    if (b <= a)
        return NULL;
    if (b - a > SENTENCE_MAX) {
        b = a + SENTENCE_MAX;
        while (b > a && ((unsigned char)body[b] & 0xC0) == 0x80)
            b--;
    }
    return json_pack("{s:I, s:I, s:s%}", "start", start, "end", end, "text", body + a, b - a);
}

static json_t *evidence(const json_t *story)
{
    const char *body = json_string_value(json_object_get(story, "body_text"));
    size_t len = body ? strlen(body) : 0, i;
    json_t *out = json_array(), *event;

    json_array_foreach(json_object_get(story, "events"), i, event)
    {
        const json_t *span = json_object_get(event, "sentence");
        json_int_t a = json_integer_value(json_object_get(span, "start")),
                   b = json_integer_value(json_object_get(span, "end"));
        size_t j;
        json_t *seen, *s;
        int dup = 0;
        if (!body || json_array_size(out) >= EVIDENCE_MAX || a < 0 || b <= a)
            continue;
        json_array_foreach(out, j, seen) dup |=
            json_integer_value(json_object_get(seen, "start")) == a;
        if (!dup && (s = sentence(body, len, a, b)))
            json_array_append_new(out, s);
    }
    return out;
}

json_t *nd_board_story_summary(const json_t *story)
{
    static const char *const fields[] = {
        "id",     "version",    "pubstatus",    "headline",       "located", "dateline",
        "byline", "creditline", "firstcreated", "versioncreated", NULL};
    json_t *out = json_object();
    const json_t *prov = json_object_get(story, "provenance");

    for (const char *const *f = fields; *f; f++) {
        json_t *v = json_object_get(story, *f);
        if (v && (json_is_string(v) || json_is_integer(v)))
            json_object_set(out, *f, v);
    }
    if (json_is_string(json_object_get(prov, "feed")))
        json_object_set(out, "feed", json_object_get(prov, "feed"));
    if (json_is_string(json_object_get(prov, "url")))
        json_object_set(out, "url", json_object_get(prov, "url"));
    json_object_set_new(out, "evidence", evidence(story));
    return out;
}
