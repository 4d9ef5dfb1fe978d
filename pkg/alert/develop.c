/* Developments: the stories and events about the same actors and kind of event within a window.
 *
 * A story's development key is the kind of its principal event ("talks", "force", "protest") and
 * the countries of that event's source and target, unordered: "talks|CHN|USA". A story joins the
 * open development with its key (one whose last story is within the window), or the development of
 * the story it is a near-duplicate of; otherwise it opens a new one. The development accumulates
 * actors, event types, the strongest intensity, whether heads of state or foreign ministers are
 * involved, and its sources (feeds). Each desk keeps a mark: the development as that desk last
 * heard of it; an escalation is the development having grown past the mark. */
#include "alert/alert_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STORIES_KEPT 50

struct nd_devs {
    struct nd_dev **v;
    size_t n, max;
    int64_t window_ms;
    json_t *by_key; /* key -> index of the newest development with that key */
    json_t *by_id;  /* id -> index */
};

struct nd_devs *nd_devs_new(size_t max, int64_t window_ms)
{
    struct nd_devs *devs = nd_xcalloc(1, sizeof(*devs));
    devs->max = max < 16 ? 16 : max;
    devs->v = nd_xcalloc(devs->max, sizeof(*devs->v));
    devs->window_ms = window_ms;
    devs->by_key = json_object();
    devs->by_id = json_object();
    return devs;
}

void nd_dev_state_free(struct nd_dev_state *st)
{
    nd_strs_free(&st->actors);
    nd_strs_free(&st->types);
    nd_strs_free(&st->sources);
}

void nd_dev_state_copy(struct nd_dev_state *dst, const struct nd_dev_state *src)
{
    nd_dev_state_free(dst);
    nd_strs_copy(&dst->actors, &src->actors);
    nd_strs_copy(&dst->types, &src->types);
    nd_strs_copy(&dst->sources, &src->sources);
    dst->max_mag = src->max_mag;
    dst->max_intensity = src->max_intensity;
    dst->heads_of_state = src->heads_of_state;
    dst->foreign_ministers = src->foreign_ministers;
}

static void dev_free(struct nd_dev *dev)
{
    if (!dev)
        return;
    free(dev->key);
    nd_dev_state_free(&dev->st);
    nd_strs_free(&dev->stories);
    for (size_t i = 0; i < dev->nmarks; i++) {
        free(dev->marks[i].desk);
        nd_dev_state_free(&dev->marks[i].at);
    }
    free(dev->marks);
    free(dev);
}

void nd_devs_destroy(struct nd_devs *devs)
{
    if (!devs)
        return;
    for (size_t i = 0; i < devs->n; i++)
        dev_free(devs->v[i]);
    free(devs->v);
    json_decref(devs->by_key);
    json_decref(devs->by_id);
    free(devs);
}

size_t nd_devs_count(const struct nd_devs *devs)
{
    return devs->n;
}

static struct nd_dev *lookup(struct nd_devs *devs, json_t *map, const char *name, int64_t now_ms)
{
    json_t *idx = json_object_get(map, name);
    struct nd_dev *dev;
    if (!idx)
        return NULL;
    dev = devs->v[json_integer_value(idx)];
    if (now_ms - dev->last_ms > devs->window_ms)
        return NULL; /* closed: a story now opens a new development */
    return dev;
}

struct nd_dev *nd_devs_find_key(struct nd_devs *devs, const char *key, int64_t now_ms)
{
    return key ? lookup(devs, devs->by_key, key, now_ms) : NULL;
}

struct nd_dev *nd_devs_find_id(struct nd_devs *devs, const char *id, int64_t now_ms)
{
    return id && *id ? lookup(devs, devs->by_id, id, now_ms) : NULL;
}

static int by_last_desc(const void *a, const void *b)
{
    const struct nd_dev *x = *(struct nd_dev *const *)a, *y = *(struct nd_dev *const *)b;
    return x->last_ms > y->last_ms ? -1 : x->last_ms < y->last_ms;
}

static void reindex(struct nd_devs *devs)
{
    json_object_clear(devs->by_key);
    json_object_clear(devs->by_id);
    /* oldest first, so the newest development of a key wins the key */
    for (size_t i = devs->n; i-- > 0;) {
        json_object_set_new(devs->by_key, devs->v[i]->key, json_integer((json_int_t)i));
        json_object_set_new(devs->by_id, devs->v[i]->id, json_integer((json_int_t)i));
    }
}

/* Full: forget the least recently active tenth at once, so eviction costs O(log n) a story. */
static void evict(struct nd_devs *devs)
{
    size_t keep = devs->max - devs->max / 10;
    qsort(devs->v, devs->n, sizeof(*devs->v), by_last_desc);
    for (size_t i = keep; i < devs->n; i++)
        dev_free(devs->v[i]);
    devs->n = keep;
    reindex(devs);
}

struct nd_dev *nd_devs_create_id(struct nd_devs *devs, const char *id, const char *key,
                                 int64_t now_ms)
{
    struct nd_dev *dev = nd_xcalloc(1, sizeof(*dev));
    json_t *old = json_object_get(devs->by_id, id);
    if (old) {
        /* the same id again (a restored development reopened): replace it in place */
        size_t i = (size_t)json_integer_value(old);
        dev_free(devs->v[i]);
        devs->v[i] = dev;
        json_object_set_new(devs->by_key, key, json_integer((json_int_t)i));
    } else {
        if (devs->n == devs->max)
            evict(devs);
        devs->v[devs->n] = dev;
        json_object_set_new(devs->by_key, key, json_integer((json_int_t)devs->n));
        json_object_set_new(devs->by_id, id, json_integer((json_int_t)devs->n));
        devs->n++;
    }
    snprintf(dev->id, sizeof(dev->id), "%s", id);
    dev->key = nd_strdup(key);
    dev->first_ms = dev->last_ms = now_ms;
    return dev;
}

struct nd_dev *nd_devs_create(struct nd_devs *devs, const char *key, const char *story_id,
                              int64_t now_ms)
{
    char id[24], hex[17];
    uint64_t h = nd_hash64(key, strlen(key), nd_hash64(story_id, strlen(story_id), 0xdef));
    nd_hash_hex(h, hex);
    snprintf(id, sizeof(id), "dev-%s", hex);
    return nd_devs_create_id(devs, id, key, now_ms);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The principal event: of the story's published events, or of those the desk matched when it
 * matched on events (their indexes in `matched`), one of the earliest sentence (wire copy states
 * its development first: "EU ministers agreed new sanctions on Russia ..." before "Hungary dropped
 * its objections"), the most confident of it (the most intense among equals). Every published event
 * is above events.min_confidence, so the lead's is as safe to state as a later one. */
const struct nd_event *nd_facts_principal(const struct nd_facts *facts, const json_t *matched)
{
    const struct nd_event *best = NULL;
    const json_t *idx = json_object_get(matched, "event_index");
    double best_score = -1;
    size_t i, n = idx ? json_array_size(idx) : facts->nevents;
    for (i = 0; i < n; i++) {
        size_t k = idx ? (size_t)json_integer_value(json_array_get(idx, i)) : i;
        const struct nd_event *e;
        double score;
        if (k >= facts->nevents)
            continue;
        e = facts->events[k];
        score = e->confidence * 100 + fabs(e->intensity);
        if (!best || e->sent_start < best->sent_start ||
            (e->sent_start == best->sent_start && score > best_score)) {
            best_score = score;
            best = e;
        }
    }
    return best;
}

char *nd_dev_key(const struct nd_facts *facts)
{
    const struct nd_event *best = nd_facts_principal(facts, NULL);
    char *codes[2] = {NULL, NULL}, buf[256];
    int ncodes = 0;

    if (!best)
        return NULL;
    for (int side = 0; side < 2 && ncodes < 2; side++) {
        const struct nd_event_actor *actors = side ? best->target : best->source;
        int n = side ? best->ntarget : best->nsource;
        for (int j = 0; j < n; j++) {
            const char *code = actors[j].code;
            if (strlen(code) < 3 || !nd_country_known(code))
                continue;
            if (ncodes == 1 && !strcmp(codes[0], code))
                continue;
            codes[ncodes++] = nd_strdup(code);
            break; /* the first actor of each side is the principal one */
        }
    }
    if (!ncodes)
        return NULL;
    if (ncodes == 2)
        qsort(codes, 2, sizeof(*codes), cmp_str);
    snprintf(buf, sizeof(buf), "%s|%s%s%s",
             nd_plover_kind(best->type), codes[0],
             ncodes == 2 ? "|" : "", ncodes == 2 ? codes[1] : "");
    free(codes[0]);
    free(codes[1]);
    return nd_strdup(buf);
}

void nd_dev_update(struct nd_dev *dev, const struct nd_facts *facts, const char *story_id,
                   int duplicate, int64_t now_ms)
{
    if (now_ms > dev->last_ms)
        dev->last_ms = now_ms;
    if (facts->feed)
        nd_strs_add_unique(&dev->st.sources, facts->feed);
    if (!nd_strs_has(&dev->stories, story_id)) {
        dev->nstories++;
        if (dev->stories.n < STORIES_KEPT)
            nd_strs_add(&dev->stories, story_id);
    }
    if (duplicate)
        return; /* a copy says nothing new; it only corroborates */
    for (size_t i = 0; i < facts->event_countries.n; i++)
        nd_strs_add_unique(&dev->st.actors, facts->event_countries.v[i]);
    for (size_t i = 0; i < facts->types.n; i++)
        nd_strs_add_unique(&dev->st.types, facts->types.v[i]);
    if (facts->max_mag > dev->st.max_mag) {
        dev->st.max_mag = facts->max_mag;
        dev->st.max_intensity = facts->max_intensity;
    }
    dev->st.heads_of_state |= facts->heads_of_state;
    dev->st.foreign_ministers |= facts->foreign_ministers;
}

struct nd_dev_mark *nd_dev_mark_get(struct nd_dev *dev, const char *desk)
{
    for (size_t i = 0; i < dev->nmarks; i++)
        if (!strcmp(dev->marks[i].desk, desk))
            return &dev->marks[i];
    return NULL;
}

void nd_dev_mark_set(struct nd_dev *dev, const char *desk)
{
    struct nd_dev_mark *mark = nd_dev_mark_get(dev, desk);
    if (!mark) {
        dev->marks = realloc(dev->marks, (dev->nmarks + 1) * sizeof(*dev->marks));
        if (!dev->marks)
            abort();
        mark = &dev->marks[dev->nmarks++];
        memset(mark, 0, sizeof(*mark));
        mark->desk = nd_strdup(desk);
    }
    nd_dev_state_copy(&mark->at, &dev->st);
}

static void phrase(json_t *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void phrase(json_t *why, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    json_array_append_new(why, json_string(buf));
}

json_t *nd_dev_escalation(const struct nd_dev *dev, const struct nd_dev_mark *mark,
                          int corroboration, double step)
{
    json_t *why = json_array();
    const struct nd_dev_state *st = &dev->st, *at = &mark->at;

    for (size_t i = 0; i < st->actors.n; i++)
        if (!nd_strs_has(&at->actors, st->actors.v[i]))
            phrase(why, "%s now involved", nd_country_name(st->actors.v[i]));
    for (size_t i = 0; i < st->types.n; i++)
        if (!nd_strs_has(&at->types, st->types.v[i]))
            phrase(why, "new event type %s", st->types.v[i]);
    if (st->max_mag >= at->max_mag + step && st->max_mag > 0)
        phrase(why, "intensity %.1f, was %.1f", st->max_intensity, at->max_intensity);
    if (st->heads_of_state && !at->heads_of_state)
        phrase(why, "heads of state now involved");
    if ((int)st->sources.n >= corroboration && (int)at->sources.n < corroboration)
        phrase(why, "corroborated by %zu sources", st->sources.n);
    return why;
}

json_t *nd_dev_json(const struct nd_dev *dev)
{
    char first[40], last[40];
    nd_time_rfc3339(dev->first_ms / 1000, first, sizeof(first));
    nd_time_rfc3339(dev->last_ms / 1000, last, sizeof(last));
    return json_pack("{s:s, s:s, s:o, s:o, s:f, s:b, s:b, s:o, s:I, s:s, s:s, s:I}", "id", dev->id,
                     "key", dev->key, "actors", nd_strs_json(&dev->st.actors), "event_types",
                     nd_strs_json(&dev->st.types), "max_intensity", dev->st.max_intensity,
                     "heads_of_state", dev->st.heads_of_state, "foreign_ministers",
                     dev->st.foreign_ministers, "sources", nd_strs_json(&dev->st.sources),
                     "stories", (json_int_t)dev->nstories, "first_seen", first, "last_seen", last,
                     "first_seen_ms", (json_int_t)dev->first_ms);
}

enum nd_priority nd_dev_priority(const struct nd_dev *dev, const struct nd_prio_rules *rules)
{
    const struct nd_dev_state *st = &dev->st;
    int nsources = (int)st->sources.n, flash_type = 0, urgent_type = 0;

    for (size_t i = 0; i < st->types.n; i++) {
        flash_type |= nd_strs_has(&rules->flash_types, st->types.v[i]);
        urgent_type |= nd_strs_has(&rules->urgent_types, st->types.v[i]);
    }
    /* FLASH: violence or extreme intensity, and either leaders in it or more than one source */
    if ((flash_type || st->max_mag >= rules->flash_intensity) &&
        (st->heads_of_state || nsources >= rules->flash_sources))
        return ND_PRIO_FLASH;
    if (flash_type || urgent_type || st->heads_of_state || st->foreign_ministers ||
        st->max_mag >= rules->urgent_intensity || nsources >= rules->urgent_sources)
        return ND_PRIO_URGENT;
    return ND_PRIO_ROUTINE;
}
