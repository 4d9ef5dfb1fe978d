#include "story/story.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct nd_story *nd_story_new(void)
{
    struct nd_story *story = nd_xcalloc(1, sizeof(*story));
    story->version = 1;
    story->annotations = json_object();
    return story;
}

void nd_story_destroy(struct nd_story *story)
{
    if (!story)
        return;
    free(story->guid);
    free(story->url);
    free(story->headline);
    free(story->summary);
    free(story->body_text);
    free(story->byline);
    free(story->located);
    free(story->dateline);
    free(story->credit);
    free(story->language);
    free(story->date_note);
    free(story->feed_id);
    free(story->feed_url);
    json_decref(story->annotations);
    nd_event_list_clear(&story->events);
    nd_membudget_release(story->budget, story->mem_bytes);
    free(story);
}

/* glibc malloc: an 8-byte header, chunks in steps of 16, 32 bytes at least. */
static size_t chunk(size_t n)
{
    size_t c = (n + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

static size_t str_mem(const char *s)
{
    return s ? chunk(strlen(s) + 1) : 0;
}

/* jansson 2.14's layout: a value struct per node; an object's hashtable has a bucket array and a
 * pair (with its key inline) per member; an array a table of pointers of its capacity. */
size_t nd_story_json_mem(const json_t *v)
{
    const char *key;
    json_t *child;
    size_t n = 0, i;

    if (!v)
        return 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        n = chunk(64) + chunk(16 * (json_object_size(v) < 8 ? 8 : 2 * json_object_size(v)));
        json_object_foreach((json_t *)v, key, child)
            n += chunk(40 + strlen(key) + 1) + nd_story_json_mem(child);
        return n;
    case JSON_ARRAY:
        n = chunk(40) + chunk(8 * (json_array_size(v) < 8 ? 8 : json_array_size(v) * 3 / 2));
        json_array_foreach(v, i, child)
            n += nd_story_json_mem(child);
        return n;
    case JSON_STRING:
        return chunk(32) + chunk(json_string_length(v) + 1);
    case JSON_INTEGER:
    case JSON_REAL:
        return chunk(24);
    default:
        return 0; /* true, false and null are shared singletons */
    }
}

/* The typed events: the array at its capacity, and each event's strings. */
static size_t events_mem(const struct nd_event_list *list)
{
    size_t n = list->cap ? chunk(list->cap * sizeof(*list->v)) : 0;
    for (size_t i = 0; i < list->n; i++) {
        const struct nd_event *ev = &list->v[i];
        n += str_mem(ev->trigger) + str_mem(ev->quote);
        for (int k = 0; k < ev->nsource && k < ND_EVENT_ACTORS; k++)
            n += str_mem(ev->source[k].name) + str_mem(ev->source[k].text);
        for (int k = 0; k < ev->ntarget && k < ND_EVENT_ACTORS; k++)
            n += str_mem(ev->target[k].name) + str_mem(ev->target[k].text);
    }
    return n;
}

size_t nd_story_mem(const struct nd_story *story)
{
    size_t n = chunk(sizeof(*story));
    const char *const fields[] = {story->guid,     story->url,      story->headline, story->summary,
                                  story->body_text, story->byline,  story->located,  story->dateline,
                                  story->credit,   story->language, story->date_note, story->feed_id,
                                  story->feed_url};
    for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
        n += str_mem(fields[i]);
    if (story->annotations)
        n += nd_story_json_mem(story->annotations);
    return n + events_mem(&story->events);
}

/* Annotations an enriched story holds per byte of its text, as nd_story_mem counts them: 34 for
 * news articles when it was set; 20.9 since the event threshold and the typed events
 * (bench/bench_memory.c measures it on 2000 BBC stories), so the reservation ahead errs high. */
#define ENRICH_BYTES_PER_TEXT_BYTE 34

size_t nd_story_mem_enriched(const struct nd_story *story)
{
    size_t text = (story->headline ? strlen(story->headline) : 0) +
                  (story->body_text ? strlen(story->body_text) : 0);
    return nd_story_mem(story) + ENRICH_BYTES_PER_TEXT_BYTE * text;
}

static void account_to(struct nd_story *story, struct nd_membudget *budget, size_t now)
{
    if (budget != story->budget) {
        nd_membudget_release(story->budget, story->mem_bytes);
        story->mem_bytes = 0;
        story->budget = budget;
    }
    if (now > story->mem_bytes)
        nd_membudget_reserve(budget, now - story->mem_bytes);
    else
        nd_membudget_release(budget, story->mem_bytes - now);
    story->mem_bytes = now;
}

void nd_story_account(struct nd_story *story, struct nd_membudget *budget)
{
    account_to(story, budget, budget ? nd_story_mem(story) : 0);
}

void nd_story_account_ahead(struct nd_story *story, struct nd_membudget *budget)
{
    account_to(story, budget, budget ? nd_story_mem_enriched(story) : 0);
}

void nd_story_set(char **field, const char *value)
{
    char *copy = nd_strdup(value);
    free(*field);
    *field = copy;
}

static int is_tracking_param(const char *name, size_t len)
{
    static const char *exact[] = {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid",
                                  "igshid", "ref_src", "cmpid", "ocid", "smid", "_ga", NULL};
    if (len > 4 && strncmp(name, "utm_", 4) == 0)
        return 1;
    for (int i = 0; exact[i]; i++)
        if (strlen(exact[i]) == len && strncmp(name, exact[i], len) == 0)
            return 1;
    return 0;
}

char *nd_url_canonical(const char *url)
{
    struct nd_buf out;
    const char *q, *end, *p;
    int first = 1;

    if (!url)
        return NULL;
    end = strchr(url, '#');
    if (!end)
        end = url + strlen(url);
    q = memchr(url, '?', (size_t)(end - url));
    nd_buf_init(&out, (size_t)(end - url) + 1);
    if (!q) {
        nd_buf_append(&out, url, (size_t)(end - url));
        return nd_buf_steal(&out, NULL);
    }
    nd_buf_append(&out, url, (size_t)(q - url));
    for (p = q + 1; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        size_t nlen = (size_t)((eq ? eq : pe) - p);
        if (pe > p && !is_tracking_param(p, nlen)) {
            nd_buf_append(&out, first ? "?" : "&", 1);
            nd_buf_append(&out, p, (size_t)(pe - p));
            first = 0;
        }
        p = amp ? amp + 1 : end;
    }
    return nd_buf_steal(&out, NULL);
}

void nd_story_assign_id(struct nd_story *story)
{
    struct nd_buf key;
    char *canon = NULL;
    uint64_t h;

    nd_buf_init(&key, SIZE_MAX / 2);
    nd_buf_append(&key, story->feed_id ? story->feed_id : "", story->feed_id ? strlen(story->feed_id) : 0);
    nd_buf_append(&key, "\n", 1);
    if (story->guid && *story->guid) {
        nd_buf_append(&key, "g:", 2);
        nd_buf_append(&key, story->guid, strlen(story->guid));
    } else if (story->url && *story->url) {
        canon = nd_url_canonical(story->url);
        nd_buf_append(&key, "u:", 2);
        nd_buf_append(&key, canon, strlen(canon));
    } else {
        nd_buf_appendf(&key, "c:%016llx", (unsigned long long)nd_story_content_hash(story));
    }
    h = nd_hash64(key.data, key.len, 0);
    nd_hash_hex(h, story->id);
    free(canon);
    nd_buf_free(&key);
}

static uint64_t hash_field(uint64_t h, const char *s)
{
    return nd_hash64(s ? s : "", s ? strlen(s) : 0, h);
}

uint64_t nd_story_content_hash(const struct nd_story *story)
{
    uint64_t h = 0x6e657773u;
    h = hash_field(h, story->headline);
    h = hash_field(h, story->body_text);
    h = hash_field(h, story->summary);
    h = hash_field(h, story->url);
    h += (uint64_t)story->pubstatus;
    return h;
}

static const char *pubstatus_str(enum nd_pubstatus status)
{
    switch (status) {
    case ND_PUBSTATUS_WITHHELD: return "withheld";
    case ND_PUBSTATUS_CANCELED: return "canceled";
    default: return "usable";
    }
}

static void set_str(json_t *obj, const char *key, const char *value)
{
    json_t *v;
    if (!value)
        return;
    /* Fields are UTF-8 by contract (parse converts); a violation must not lose the story. */
    v = json_string(value);
    if (!v)
        v = json_string("\xEF\xBF\xBD");
    json_object_set_new(obj, key, v);
}

static void set_time(json_t *obj, const char *key, int64_t epoch_secs)
{
    char ts[40];
    if (epoch_secs <= 0)
        return;
    nd_time_rfc3339(epoch_secs, ts, sizeof(ts));
    json_object_set_new(obj, key, json_string(ts));
}

json_t *nd_story_to_json(const struct nd_story *story)
{
    json_t *obj = json_object();
    json_t *prov = json_object();
    char uri[64];
    int64_t created = story->published_at ? story->published_at : story->fetched_at_ms / 1000;
    int64_t versioned = story->updated_at ? story->updated_at : created;
    const char *key;
    json_t *value;

    snprintf(uri, sizeof(uri), "urn:newsd:story:%s", story->id);
    json_object_set_new(obj, "id", json_string(story->id));
    json_object_set_new(obj, "uri", json_string(uri));
    json_object_set_new(obj, "version", json_integer(story->version));
    set_time(obj, "firstcreated", created);
    set_time(obj, "versioncreated", versioned);
    json_object_set_new(obj, "pubstatus", json_string(pubstatus_str(story->pubstatus)));
    json_object_set_new(obj, "type", json_string("text"));
    set_str(obj, "headline", story->headline);
    set_str(obj, "byline", story->byline);
    set_str(obj, "located", story->located);
    set_str(obj, "dateline", story->dateline);
    set_str(obj, "creditline", story->credit);
    set_str(obj, "language", story->language ? story->language : "en");
    set_str(obj, "description_text", story->summary);
    set_str(obj, "body_text", story->body_text ? story->body_text : "");
    if (story->url) {
        json_t *links = json_array();
        json_t *link = json_object();
        set_str(link, "href", story->url);
        json_object_set_new(link, "rel", json_string("canonical"));
        json_array_append_new(links, link);
        json_object_set_new(obj, "links", links);
    }

    json_object_foreach(story->annotations, key, value) {
        json_object_set(obj, key, value);
    }
    if (story->events.set)
        json_object_set_new(obj, "events", nd_event_list_to_json(&story->events));

    set_str(prov, "feed", story->feed_id);
    set_str(prov, "feed_url", story->feed_url);
    set_str(prov, "url", story->url);
    set_str(prov, "guid", story->guid);
    if (story->fetched_at_ms) {
        char ts[40];
        nd_time_rfc3339(story->fetched_at_ms / 1000, ts, sizeof(ts));
        json_object_set_new(prov, "fetched_at", json_string(ts));
    }
    set_time(prov, "published_at", story->published_at);
    if (!story->published_at && story->date_note)
        set_str(prov, "published_at_missing", story->date_note);
    if (story->enriched_at_ms)
        set_time(prov, "enriched_at", story->enriched_at_ms / 1000);
    json_object_set_new(prov, "newsd_version", json_string(NEWSD_VERSION));
    json_object_set_new(obj, "provenance", prov);
    return obj;
}

void nd_story_keep_annotation(struct nd_story *story, const char *key, const json_t *value)
{
    if (!strcmp(key, "events")) {
        nd_event_list_from_json(&story->events, value);
        return;
    }
    if (!story->annotations)
        story->annotations = json_object();
    json_object_set_new(story->annotations, key, json_deep_copy(value));
}

static const char *get_str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t parse_rfc3339(const char *s)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) < 3)
        return 0;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return (int64_t)timegm(&tm);
}

struct nd_story *nd_story_from_json(const json_t *obj, char *errstr, size_t errsz)
{
    struct nd_story *story;
    const char *body;
    json_t *v;

    if (!json_is_object(obj)) {
        snprintf(errstr, errsz, "story is not a JSON object");
        return NULL;
    }
    body = get_str(obj, "body_text");
    if (!body)
        body = get_str(obj, "body");
    if (!body) {
        snprintf(errstr, errsz, "story has no \"body_text\" string");
        return NULL;
    }
    story = nd_story_new();
    nd_story_set(&story->body_text, body);
    nd_story_set(&story->headline, get_str(obj, "headline"));
    nd_story_set(&story->byline, get_str(obj, "byline"));
    nd_story_set(&story->language, get_str(obj, "language"));
    nd_story_set(&story->summary, get_str(obj, "description_text"));
    nd_story_set(&story->guid, get_str(obj, "guid") ? get_str(obj, "guid") : get_str(obj, "uri"));
    nd_story_set(&story->url, get_str(obj, "url"));
    nd_story_set(&story->feed_id, get_str(obj, "source") ? get_str(obj, "source") : get_str(obj, "feed"));
    story->published_at = parse_rfc3339(get_str(obj, "firstcreated"));
    story->updated_at = parse_rfc3339(get_str(obj, "versioncreated"));
    v = json_object_get(obj, "version");
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 1000000)
        story->version = (int)json_integer_value(v);
    else if (json_is_string(v) && atoi(json_string_value(v)) > 0)
        story->version = atoi(json_string_value(v));
    if (get_str(obj, "pubstatus")) {
        const char *st = get_str(obj, "pubstatus");
        if (strcmp(st, "withheld") == 0)
            story->pubstatus = ND_PUBSTATUS_WITHHELD;
        else if (strcmp(st, "canceled") == 0)
            story->pubstatus = ND_PUBSTATUS_CANCELED;
    }
    if (get_str(obj, "id") && strlen(get_str(obj, "id")) == 16)
        memcpy(story->id, get_str(obj, "id"), 17);
    else
        nd_story_assign_id(story);
    return story;
}
