/* The alert stage: one story in, its dedup annotation filled and the alerts it causes out.
 *
 * Runs on the publish thread inside the story's transaction (nd_alert_publish_hook). Its state (the
 * near-duplicate index and the developments with each desk's mark) is rebuilt at start from the
 * committed alerts, which carry the development as it was when they were sent. */
#include "alert/alert_int.h"
#include "kafka/kafka.h"

#include <librdkafka/rdkafka.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MOD "alert"
#define LIST_MAX 10        /* events and entities quoted in one alert */
#define RESTORE_MAX 200000 /* alerts read back at start */

struct nd_alert {
    struct nd_alert_opts opts;
    pthread_mutex_t lock; /* guards desks: a reload swaps them from another thread */
    struct nd_desks *desks;
    struct nd_dedup *dedup;
    struct nd_devs *devs;
    pthread_mutex_t stats_lock; /* the metrics thread reads what the publish thread counts */
    struct nd_alert_stats stats;
    struct desk_count {
        char *desk;
        uint64_t alerts;
    } *per_desk;
    size_t ndesks;
};

const char *nd_priority_str(enum nd_priority prio)
{
    return prio == ND_PRIO_FLASH ? "FLASH" : prio == ND_PRIO_URGENT ? "URGENT" : "ROUTINE";
}

void nd_alert_opts_from_config(struct nd_alert_opts *opts, const struct nd_config *conf)
{
    opts->window_ms = (int64_t)conf->alerts_window_s * 1000;
    opts->dedup_distance = conf->alerts_dedup_distance;
    opts->dedup_capacity = (size_t)conf->alerts_dedup_capacity;
    opts->developments_max = (size_t)conf->alerts_developments_max;
    opts->corroboration = conf->alerts_corroboration;
    opts->escalate_intensity = conf->alerts_escalate_intensity;
}

struct nd_alert *nd_alert_new(const struct nd_alert_opts *opts)
{
    struct nd_alert *alert = nd_xcalloc(1, sizeof(*alert));
    alert->opts = *opts;
    pthread_mutex_init(&alert->lock, NULL);
    pthread_mutex_init(&alert->stats_lock, NULL);
    alert->dedup = nd_dedup_new(opts->dedup_capacity, opts->dedup_distance);
    alert->devs = nd_devs_new(opts->developments_max, opts->window_ms);
    return alert;
}

void nd_alert_destroy(struct nd_alert *alert)
{
    if (!alert)
        return;
    nd_desks_destroy(alert->desks);
    nd_dedup_destroy(alert->dedup);
    nd_devs_destroy(alert->devs);
    for (size_t i = 0; i < alert->ndesks; i++)
        free(alert->per_desk[i].desk);
    free(alert->per_desk);
    pthread_mutex_destroy(&alert->lock);
    pthread_mutex_destroy(&alert->stats_lock);
    free(alert);
}

void nd_alert_set_desks(struct nd_alert *alert, struct nd_desks *desks)
{
    struct nd_desks *old;
    pthread_mutex_lock(&alert->lock);
    old = alert->desks;
    alert->desks = desks;
    pthread_mutex_unlock(&alert->lock);
    nd_desks_destroy(old);
}

void nd_alert_get_stats(struct nd_alert *alert, struct nd_alert_stats *stats)
{
    pthread_mutex_lock(&alert->stats_lock);
    *stats = alert->stats;
    pthread_mutex_unlock(&alert->stats_lock);
}

void nd_alert_desk_counts(struct nd_alert *alert, nd_alert_count_fn fn, void *opaque)
{
    pthread_mutex_lock(&alert->stats_lock);
    for (size_t i = 0; i < alert->ndesks; i++)
        fn(opaque, alert->per_desk[i].desk, alert->per_desk[i].alerts);
    pthread_mutex_unlock(&alert->stats_lock);
}

/* Add one story's counts (and one alert per desk named) under the stats lock. A desk keeps its
 * counter after a reload drops it: Prometheus counters do not go back. */
static void count(struct nd_alert *alert, const struct nd_alert_stats *d, const char **desks,
                  size_t n)
{
    pthread_mutex_lock(&alert->stats_lock);
    alert->stats.stories += d->stories;
    alert->stats.duplicates += d->duplicates;
    alert->stats.developments += d->developments;
    alert->stats.alerts += d->alerts;
    alert->stats.escalations += d->escalations;
    alert->stats.restored += d->restored;
    for (size_t k = 0; k < n; k++) {
        size_t i = 0;
        while (i < alert->ndesks && strcmp(alert->per_desk[i].desk, desks[k]))
            i++;
        if (i == alert->ndesks) {
            alert->per_desk = realloc(alert->per_desk, (i + 1) * sizeof(*alert->per_desk));
            if (!alert->per_desk)
                abort();
            alert->per_desk[i] = (struct desk_count){nd_strdup(desks[k]), 0};
            alert->ndesks++;
        }
        alert->per_desk[i].alerts++;
    }
    pthread_mutex_unlock(&alert->stats_lock);
}

/* --- the sentence ----------------------------------------------------------------------------- */

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static char *why_sentence(const char *title, const struct nd_dev *dev, const json_t *story,
                          const struct nd_event *event, const json_t *escalation,
                          const json_t *matched, const struct nd_facts *facts)
{
    struct nd_buf out;
    json_t *v;
    size_t i, nsources = dev->st.sources.n;
    int corroborated = 0;
    const char *sep = " Matched on ";

    nd_buf_init(&out, 4096);
    nd_buf_appendf(&out, "%s: %s — ", title, escalation ? "escalation" : "new development");
    if (event) {
        nd_event_sentence(&out, event, str(story, "body_text"));
    } else {
        const char *headline = str(story, "headline") ? str(story, "headline") : "untitled story";
        size_t n = strlen(headline);
        if (n > 200) {
            /* cut on a character boundary: the sentence must stay valid UTF-8 */
            n = 200;
            while (n > 0 && ((unsigned char)headline[n] & 0xc0) == 0x80)
                n--;
        }
        nd_buf_appendf(&out, "\"%.*s\"", (int)n, headline);
    }
    json_array_foreach(escalation, i, v)
    {
        nd_buf_appendf(&out, "; %s", json_string_value(v));
        corroborated |= !strncmp(json_string_value(v), "corroborated", 12);
    }
    if (!escalation || !dev->st.heads_of_state) {
        if (dev->st.heads_of_state)
            nd_buf_appendf(&out, "; heads of state involved");
        else if (dev->st.foreign_ministers)
            nd_buf_appendf(&out, "; foreign ministers involved");
    }
    if (!corroborated)
        nd_buf_appendf(&out, "; %zu source%s", nsources ? nsources : 1, nsources == 1 ? "" : "s");
    nd_buf_appendf(&out, ".");
    {
        json_array_foreach(json_object_get(matched, "countries"), i, v)
        {
            nd_buf_appendf(&out, "%s%s", sep, nd_country_name(json_string_value(v)));
            sep = ", ";
        }
        json_array_foreach(json_object_get(matched, "topics"), i, v)
        {
            nd_buf_appendf(&out, "%stopic %s", sep, json_string_value(v));
            sep = ", ";
        }
        json_array_foreach(json_object_get(matched, "keywords"), i, v)
        {
            nd_buf_appendf(&out, "%s\"%s\"", sep, json_string_value(v));
            sep = ", ";
        }
        json_array_foreach(json_object_get(matched, "event_index"), i, v)
        {
            size_t k = (size_t)json_integer_value(v);
            if (i >= 3)
                break;
            if (k >= facts->nevents)
                continue;
            nd_buf_appendf(&out, "%s%s %.1f", sep, facts->events[k]->type,
                           facts->events[k]->intensity);
            sep = ", ";
        }
        json_array_foreach(json_object_get(matched, "feeds"), i, v)
        {
            nd_buf_appendf(&out, "%sfeed %s", sep, json_string_value(v));
            sep = ", ";
        }
        json_array_foreach(json_object_get(matched, "entities"), i, v)
        {
            if (i >= 3)
                break;
            nd_buf_appendf(&out, "%s%s", sep, str(v, "name") ? str(v, "name") : "entity");
            sep = ", ";
        }
        if (strcmp(sep, " Matched on "))
            nd_buf_appendf(&out, ".");
    }
    return nd_buf_steal(&out, NULL);
}

/* --- building an alert ------------------------------------------------------------------------ */

static json_t *capped(const json_t *arr, size_t max)
{
    json_t *out = json_array(), *v;
    size_t i;
    json_array_foreach(arr, i, v)
    {
        if (i >= max)
            break;
        json_array_append(out, v);
    }
    return out;
}

/* The story's published events as JSON, at most max. */
static json_t *published_events(const struct nd_facts *facts, size_t max)
{
    json_t *out = json_array();
    for (size_t i = 0; i < facts->nevents && i < max; i++)
        json_array_append_new(out, nd_event_to_json(facts->events[i]));
    return out;
}

/* The entities worth quoting when no entity rule matched: leaders, foreign ministers and the
 * countries the desk matched on. */
static json_t *notable_entities(const struct nd_facts *facts, const json_t *matched)
{
    json_t *out = json_array(), *e, *c;
    size_t i, j;
    json_array_foreach(facts->entities, i, e)
    {
        int keep = nd_entity_is_leader(e) || nd_entity_is_foreign_minister(e);
        const char *iso = str(json_object_get(e, "ids"), "iso3166");
        json_array_foreach(json_object_get(matched, "countries"), j, c) keep |=
            iso && !strcmp(iso, json_string_value(c));
        if (keep && json_array_size(out) < LIST_MAX)
            json_array_append_new(out, nd_entity_brief(e));
    }
    return out;
}

static json_t *build_alert(const struct nd_desk *desk, const struct nd_dev *dev,
                           const struct nd_story *story, const struct nd_facts *facts,
                           json_t *matched, json_t *escalation, enum nd_priority prio, uint64_t fp,
                           int64_t now_ms)
{
    json_t *doc = json_object(), *events, *entities, *link;
    char id[40], hex[17], ts[40], *why;
    const struct nd_event *event;
    uint64_t h;

    h = nd_hash64(desk->name, strlen(desk->name), nd_hash64(dev->id, strlen(dev->id), 0));
    h = nd_hash64(story->id, strlen(story->id), h ^ (uint64_t)story->version);
    nd_hash_hex(h, hex);
    snprintf(id, sizeof(id), "alert-%s", hex);
    nd_time_rfc3339(now_ms / 1000, ts, sizeof(ts));

    events = json_object_get(matched, "events") ? capped(json_object_get(matched, "events"), LIST_MAX)
                                                : published_events(facts, LIST_MAX);
    entities = json_object_get(matched, "entities")
                   ? capped(json_object_get(matched, "entities"), LIST_MAX)
                   : notable_entities(facts, matched);
    event = nd_facts_principal(facts, matched);
    why = why_sentence(desk->title, dev, facts->doc, event, escalation, matched, facts);
    json_object_del(matched, "events");
    json_object_del(matched, "event_index");
    json_object_del(matched, "entities");

    json_object_set_new(doc, "id", json_string(id));
    json_object_set_new(doc, "desk", json_string(desk->name));
    json_object_set_new(doc, "desk_title", json_string(desk->title));
    json_object_set_new(doc, "priority", json_string(nd_priority_str(prio)));
    json_object_set_new(doc, "kind", json_string(escalation ? "escalation" : "new_development"));
    json_object_set_new(doc, "time", json_string(ts));
    json_object_set_new(doc, "time_ms", json_integer(now_ms));
    json_object_set_new(doc, "why", json_string(why));
    json_object_set_new(doc, "headline", json_string(story->headline ? story->headline : ""));
    json_object_set_new(doc, "story_id", json_string(story->id));
    json_object_set_new(doc, "story_version", json_integer(story->version));
    json_object_set_new(doc, "story_ids", nd_strs_json(&dev->stories));
    if ((link = json_object_get(json_object_get(facts->doc, "provenance"), "url")))
        json_object_set(doc, "url", link);
    if (facts->feed)
        json_object_set_new(doc, "feed", json_string(facts->feed));
    nd_hash_hex(fp, hex);
    json_object_set_new(doc, "fingerprint", json_string(hex));
    json_object_set_new(doc, "development", nd_dev_json(dev));
    if (escalation)
        json_object_set(doc, "escalation", escalation);
    json_object_set_new(doc, "events", events);
    json_object_set_new(doc, "entities", entities);
    json_object_set(doc, "matched", matched);
    free(why);
    return doc;
}

/* What matching reads of a story, without encoding all of it: the text, its provenance, and the
 * annotations by reference. */
static json_t *story_view(const struct nd_story *story)
{
    json_t *doc = json_object(), *prov = json_object(), *value;
    const char *key;
    if (story->headline)
        json_object_set_new(doc, "headline", json_string(story->headline));
    if (story->body_text)
        json_object_set_new(doc, "body_text", json_string(story->body_text));
    if (story->feed_id)
        json_object_set_new(prov, "feed", json_string(story->feed_id));
    if (story->url)
        json_object_set_new(prov, "url", json_string(story->url));
    json_object_set_new(doc, "provenance", prov);
    json_object_foreach(story->annotations, key, value) json_object_set(doc, key, value);
    return doc;
}

json_t *nd_alert_story(struct nd_alert *alert, struct nd_story *story, int64_t now_ms)
{
    json_t *alerts = json_array(), *doc = story_view(story), *dedup;
    struct nd_facts facts;
    struct nd_dedup_hit hit;
    struct nd_dev *dev = NULL;
    struct nd_desks *desks = NULL;
    struct nd_buf text;
    uint64_t fp;
    int dup, created = 0;
    char hex[17], *key = NULL;
    struct nd_alert_stats d = {.stories = 1};
    const char **named = NULL;
    size_t nnamed = 0;

    nd_facts_init(&facts, doc, &story->events);
    nd_buf_init(&text, 64u << 10);
    if (story->headline)
        nd_buf_append(&text, story->headline, strnlen(story->headline, 4096));
    nd_buf_append(&text, "\n", 1);
    /* past the cap the rest of the body is left out: the lead decides */
    if (story->body_text)
        nd_buf_append(&text, story->body_text,
                      strnlen(story->body_text, (64u << 10) - text.len - 1));
    fp = nd_simhash(text.data ? text.data : "", text.len);
    nd_buf_free(&text);

    dup = nd_dedup_find(alert->dedup, fp, story->id, now_ms - alert->opts.window_ms, &hit);
    if (dup)
        dev = nd_devs_find_id(alert->devs, hit.dev_id, now_ms);
    if (!dev) {
        key = nd_dev_key(&facts);
        if (!key) {
            /* no coded event: the story (with its copies) is a development of its own */
            char buf[64];
            snprintf(buf, sizeof(buf), "story|%s", dup ? hit.story_id : story->id);
            key = nd_strdup(buf);
        }
        dev = nd_devs_find_key(alert->devs, key, now_ms);
    }
    if (!dev) {
        dev = nd_devs_create(alert->devs, key, story->id, now_ms);
        created = 1;
        d.developments++;
    }
    nd_dev_update(dev, &facts, story->id, dup, now_ms);
    /* a copy is filed under its original, so copies of copies still point at the first one */
    nd_dedup_add(alert->dedup, fp, dup ? hit.story_id : story->id, dev->id, now_ms);

    nd_hash_hex(fp, hex);
    dedup = json_pack("{s:s, s:o, s:s, s:b}", "fingerprint", hex, "duplicate_of",
                      dup ? json_string(hit.story_id) : json_null(), "development_id", dev->id,
                      "is_new_development", created);
    if (dup)
        json_object_set_new(dedup, "distance", json_integer(hit.distance));
    if (!story->annotations)
        story->annotations = json_object();
    json_object_set_new(story->annotations, "dedup", dedup);

    if (dup) {
        d.duplicates++;
        goto out; /* a desk never hears of a copy */
    }
    if (story->pubstatus != ND_PUBSTATUS_USABLE)
        goto out;

    pthread_mutex_lock(&alert->lock);
    desks = nd_desks_ref(alert->desks);
    pthread_mutex_unlock(&alert->lock);
    if (desks)
        named = nd_xcalloc(desks->n ? desks->n : 1, sizeof(*named));
    for (size_t i = 0; desks && i < desks->n; i++) {
        const struct nd_desk *desk = &desks->desks[i];
        struct nd_dev_mark *mark;
        json_t *matched = NULL, *escalation = NULL;
        enum nd_priority prio;

        if (!nd_desk_match(desk, &facts, &matched))
            continue;
        if ((mark = nd_dev_mark_get(dev, desk->name))) {
            escalation = nd_dev_escalation(dev, mark, alert->opts.corroboration,
                                           alert->opts.escalate_intensity);
            if (!json_array_size(escalation)) {
                json_decref(escalation);
                json_decref(matched);
                continue;
            }
        }
        prio = nd_dev_priority(dev, &desk->prio);
        if (prio >= desk->prio.min) {
            /* below the desk's minimum no mark is set: reaching it later is news to the desk */
            json_array_append_new(alerts, build_alert(desk, dev, story, &facts, matched, escalation,
                                                      prio, fp, now_ms));
            nd_dev_mark_set(dev, desk->name);
            named[nnamed++] = desk->name;
            d.alerts++;
            if (escalation)
                d.escalations++;
        }
        json_decref(escalation);
        json_decref(matched);
    }
out:
    count(alert, &d, named, nnamed);
    free(named);
    nd_desks_destroy(desks);
    free(key);
    nd_facts_free(&facts);
    json_decref(doc);
    return alerts;
}

void nd_alert_publish_hook(void *opaque, struct nd_publish *pub, struct nd_story *story)
{
    struct nd_alert *alert = opaque;
    json_t *alerts = nd_alert_story(alert, story, nd_now_ms()), *doc;
    size_t i;
    json_array_foreach(alerts, i, doc) nd_publish_alert(pub, story->unit, str(doc, "desk"), doc);
    json_decref(alerts);
}

/* --- restore ---------------------------------------------------------------------------------- */

static void strs_from(struct nd_strs *s, const json_t *arr)
{
    json_t *v;
    size_t i;
    nd_strs_free(s);
    json_array_foreach(arr, i, v) if (json_is_string(v))
        nd_strs_add_unique(s, json_string_value(v));
}

void nd_alert_restore_record(struct nd_alert *alert, const json_t *doc, int64_t now_ms)
{
    const json_t *d = json_object_get(doc, "development");
    const char *id = str(d, "id"), *key = str(d, "key"), *desk = str(doc, "desk"),
               *fp = str(doc, "fingerprint"), *story_id = str(doc, "story_id");
    int64_t t = json_integer_value(json_object_get(doc, "time_ms"));
    int64_t first = json_integer_value(json_object_get(d, "first_seen_ms"));
    struct nd_dev *dev;

    if (!id || !key || !desk || !story_id || t <= 0 || now_ms - t > alert->opts.window_ms)
        return;
    if (!(dev = nd_devs_find_id(alert->devs, id, t)))
        dev = nd_devs_create_id(alert->devs, id, key, first > 0 ? first : t);
    /* later alerts carry a development that has only grown: take it whole */
    strs_from(&dev->st.actors, json_object_get(d, "actors"));
    strs_from(&dev->st.types, json_object_get(d, "event_types"));
    strs_from(&dev->st.sources, json_object_get(d, "sources"));
    dev->st.max_intensity = json_number_value(json_object_get(d, "max_intensity"));
    dev->st.max_mag = fabs(dev->st.max_intensity);
    dev->st.heads_of_state = json_is_true(json_object_get(d, "heads_of_state"));
    dev->st.foreign_ministers = json_is_true(json_object_get(d, "foreign_ministers"));
    if (json_integer_value(json_object_get(d, "stories")) > (json_int_t)dev->nstories)
        dev->nstories = (size_t)json_integer_value(json_object_get(d, "stories"));
    strs_from(&dev->stories, json_object_get(doc, "story_ids"));
    if (t > dev->last_ms)
        dev->last_ms = t;
    nd_dev_mark_set(dev, desk);
    if (fp && strlen(fp) == 16)
        nd_dedup_add(alert->dedup, strtoull(fp, NULL, 16), story_id, id, t);
    count(alert, &(struct nd_alert_stats){.restored = 1}, NULL, 0);
}

static int by_time(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "time_ms"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "time_ms"));
    return x < y ? -1 : x > y;
}

int nd_alert_restore(struct nd_alert *alert, const struct nd_config *conf,
                     volatile sig_atomic_t *stop, char *errstr, size_t errsz)
{
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    json_t **docs = NULL;
    size_t ndocs = 0, cap = 0;
    int64_t now = nd_now_ms(), since = now - alert->opts.window_ms;
    int nparts, eofs = 0, applied = -1;
    rd_kafka_resp_err_t err;

    if (!(rk = nd_kafka_consumer_new(
              conf,
              (const char *const[]){"group.id", "newsd-alert-restore", "enable.auto.commit",
                                    "false", "enable.partition.eof", "true", "isolation.level",
                                    "read_committed", NULL},
              "alert restore", errstr, errsz)))
        goto out;
    switch (nd_kafka_topic_partitions(rk, conf->topic_alerts, MOD, stop, &parts, errstr, errsz)) {
    case 0:
        applied = 0; /* never written: nothing to restore */
        goto out;
    case -1:
        goto out;
    }
    nparts = parts->cnt;
    for (int p = 0; p < nparts; p++)
        parts->elems[p].offset =
            since; /* a timestamp, which offsets_for_times turns into offsets */
    if ((err = rd_kafka_offsets_for_times(rk, parts, 10000))) {
        snprintf(errstr, errsz, "alert restore: offsets_for_times on %s: %s", conf->topic_alerts,
                 rd_kafka_err2str(err));
        goto out;
    }
    for (int p = 0; p < parts->cnt; p++) {
        /* no record since then: the partition has nothing to give */
        if (parts->elems[p].offset < 0) {
            parts->elems[p].offset = RD_KAFKA_OFFSET_END;
        }
    }
    rd_kafka_assign(rk, parts);
    while (eofs < nparts) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 500);
        if (stop && *stop) {
            if (msg)
                rd_kafka_message_destroy(msg);
            break;
        }
        if (!msg)
            continue;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (msg->err) {
            nd_warn(MOD, "reading %s: %s", conf->topic_alerts, rd_kafka_message_errstr(msg));
        } else if (msg->payload && ndocs < RESTORE_MAX) {
            json_error_t jerr;
            json_t *doc = json_loadb(msg->payload, msg->len, 0, &jerr);
            if (json_is_object(doc)) {
                if (ndocs == cap) {
                    cap = cap ? cap * 2 : 256;
                    docs = realloc(docs, cap * sizeof(*docs));
                    if (!docs)
                        abort();
                }
                docs[ndocs++] = doc;
            } else {
                json_decref(doc);
            }
        }
        rd_kafka_message_destroy(msg);
    }
    /* partitions interleave: apply oldest first so each development ends as it was last sent */
    if (ndocs)
        qsort(docs, ndocs, sizeof(*docs), by_time);
    for (size_t i = 0; i < ndocs; i++)
        nd_alert_restore_record(alert, docs[i], now);
    applied = (int)ndocs;
out:
    for (size_t i = 0; i < ndocs; i++)
        json_decref(docs[i]);
    free(docs);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    return applied;
}
