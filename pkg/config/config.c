#include "config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <yaml.h>

extern char **environ;

enum key_type {
    KT_STR,   /* string; min = minimum length */
    KT_INT,   /* int in [min, max] */
    KT_LONG,  /* long in [min, max] */
    KT_BOOL,  /* true/false, yes/no, on/off, 1/0 */
    KT_PROB,  /* double in [0, 1]: a probability or a confidence */
    KT_ENUM,  /* string, one of `choices` ("a|b|c") */
    KT_URL,   /* string, a URL whose scheme is one of `choices` */
    KT_ADDR,  /* string, a numeric IPv4 or IPv6 address */
    KT_MAP,   /* mapping of strings to strings, stored as struct nd_kv at offset, count at count_offset */
    KT_PROPS, /* like KT_MAP, nested mappings flattened with '.', each pair checked by librdkafka */
};

struct key_def {
    const char *name;
    enum key_type type;
    const char *def; /* NULL: required (in lists) or no default */
    size_t offset;
    long min, max;
    const char *choices;
    size_t count_offset;
    const char *doc;
};

#define C(field) offsetof(struct nd_config, field)
#define F(field) offsetof(struct nd_feed_conf, field)
#define STR(name, def, off, minlen, doc) {name, KT_STR, def, off, minlen, 0, NULL, 0, doc}
#define INT(name, def, off, lo, hi, doc) {name, KT_INT, def, off, lo, hi, NULL, 0, doc}
#define LONG(name, def, off, lo, hi, doc) {name, KT_LONG, def, off, lo, hi, NULL, 0, doc}
#define BOOL(name, def, off, doc) {name, KT_BOOL, def, off, 0, 0, NULL, 0, doc}
#define PROB(name, def, off, doc) {name, KT_PROB, def, off, 0, 1, NULL, 0, doc}
#define ENUM(name, def, off, choices, doc) {name, KT_ENUM, def, off, 0, 0, choices, 0, doc}
#define URL(name, def, off, schemes, doc) {name, KT_URL, def, off, 0, 0, schemes, 0, doc}
#define ADDR(name, def, off, doc) {name, KT_ADDR, def, off, 0, 0, NULL, 0, doc}
#define MAP(name, off, count, doc) {name, KT_MAP, NULL, off, 0, 0, NULL, count, doc}
#define PROPS(name, off, count, doc) {name, KT_PROPS, NULL, off, 0, 0, NULL, count, doc}

/* The table (Fluent Bit's config_map). Order is the order of the docs. */
static const struct key_def config_keys[] = {
    ENUM("log_level", "info", C(log_level), "debug|info|warn|error",
         "Log level of the JSON lines on stderr."),
    STR("kafka.brokers", "127.0.0.1:9092", C(kafka_brokers), 1,
        "Bootstrap servers (librdkafka bootstrap.servers)."),
    STR("kafka.client_id", "newsd", C(kafka_client_id), 1, "Kafka client.id."),
    ENUM("kafka.compression", "zstd", C(kafka_compression), "none|gzip|snappy|lz4|zstd",
         "Record compression."),
    BOOL("kafka.transactions", "true", C(kafka_transactions),
         "Write stories, events and feed state in Kafka transactions: exactly once for read_committed "
         "consumers. Off: idempotent producer, at-least-once (consumers drop duplicates by ce_id)."),
    STR("kafka.transactional_id", "newsd-0", C(kafka_transactional_id), 1,
        "Transactional id when kafka.transactions is on; unique per instance."),
    INT("kafka.linger_ms", "5", C(kafka_linger_ms), 0, 60000, "Producer batching delay (ms)."),
    INT("kafka.commit_records", "1000", C(kafka_commit_records), 1, 1000000,
        "Commit the open transaction once it holds this many records."),
    INT("kafka.commit_interval_ms", "100", C(kafka_commit_interval_ms), 1, 600000,
        "Commit the open transaction at least this often (ms): the latency/throughput trade-off."),
    INT("kafka.transaction_timeout_ms", "60000", C(kafka_transaction_timeout_ms), 1000, 900000,
        "librdkafka transaction.timeout.ms: how long a transaction may stay open, e.g. while the "
        "broker is away, before it is aborted and redone."),
    INT("kafka.flush_timeout_ms", "10000", C(kafka_flush_timeout_ms), 0, 600000,
        "On shutdown, how long to wait for in-flight records to be delivered (ms)."),
    STR("kafka.topics.stories", "news.stories.v1", C(topic_stories), 1, "Enriched stories."),
    STR("kafka.topics.events", "news.events.v1", C(topic_events), 1, "Diplomatic events."),
    STR("kafka.topics.alerts", "news.alerts.v1", C(topic_alerts), 1, "Desk alerts."),
    STR("kafka.topics.deadletter", "news.deadletter.v1", C(topic_deadletter), 1,
        "Inputs that could not be processed."),
    STR("kafka.topics.state", "newsd.state.v1", C(topic_state), 1,
        "Feed state (compacted, keyed by feed id)."),
    PROPS("kafka.properties", C(kafka_props), C(nkafka_props),
          "Any librdkafka property, passed through as is (`kafka: {properties: "
          "{socket.keepalive.enable: true}}`); checked by librdkafka when the file is loaded."),
    INT("fetch.timeout_ms", "30000", C(fetch_timeout_ms), 100, 600000, "Whole-request timeout (ms)."),
    INT("fetch.connect_timeout_ms", "10000", C(fetch_connect_timeout_ms), 100, 120000,
        "Connect timeout (ms)."),
    LONG("fetch.max_body_bytes", "10485760", C(fetch_max_body_bytes), 1024, 1L << 30,
         "Largest response body accepted, after decompression (bytes)."),
    INT("fetch.max_redirects", "5", C(fetch_max_redirects), 0, 20, "Redirects followed."),
    INT("fetch.max_parallel", "64", C(fetch_max_parallel), 1, 10000,
        "Requests in flight at once, all hosts."),
    INT("fetch.per_host", "2", C(fetch_per_host), 1, 100, "Requests in flight at once per host."),
    INT("fetch.default_interval_s", "300", C(fetch_default_interval_s), 1, 86400,
        "Poll interval of feeds that do not set one (s)."),
    INT("fetch.min_interval_s", "1", C(fetch_min_interval_s), 1, 86400,
        "Lower bound on any poll interval, whatever the server hints (s)."),
    INT("fetch.max_interval_s", "3600", C(fetch_max_interval_s), 1, 604800,
        "Upper bound on hinted intervals (s)."),
    INT("fetch.backoff_max_s", "1800", C(fetch_backoff_max_s), 1, 86400,
        "Cap of the exponential backoff after errors (s)."),
    INT("fetch.recent_ids", "2048", C(fetch_recent_ids), 16, 1000000,
        "Item ids remembered per feed to emit only new items."),
    STR("fetch.user_agent", "newsd/" NEWSD_VERSION " (+https://github.com/newsd)",
        C(fetch_user_agent), 1, "User-Agent header."),
    STR("fetch.ca_file", "", C(fetch_ca_file), 0,
        "PEM file of CA certificates trusted for https feeds; empty uses the system store. "
        "Verification is always on."),
    INT("fetch.stall_timeout_s", "15", C(fetch_stall_timeout_s), 1, 600,
        "A response that arrives slower than 64 bytes/s for this long is cut off (s)."),
    STR("consume.topics", "", C(consume_topics), 0,
        "Comma-separated Kafka topics of raw stories (ninjs or JSON story objects) to consume; "
        "empty turns the Kafka source off."),
    STR("consume.group_id", "newsd-consume", C(consume_group_id), 1,
        "Consumer group of the Kafka source; instances sharing it share the topics' partitions."),
    STR("cluster.feeds_topic", "", C(cluster_feeds_topic), 0,
        "Scale-out: a compacted Kafka topic of feed definitions (key: feed id, value: the feed as "
        "JSON; `newsd feeds publish` writes it) shared by every instance of cluster.group_id, each "
        "polling the feeds of the partitions the group assigns it. Empty: feeds come from this file "
        "(one instance)."),
    STR("cluster.group_id", "newsd-cluster", C(cluster_group_id), 1,
        "Consumer group of the instances sharing cluster.feeds_topic."),
    INT("cluster.session_timeout_ms", "10000", C(cluster_session_timeout_ms), 1000, 300000,
        "Consumer session timeout of the feeds group: an instance that stops answering loses its "
        "feeds after this long (the broker's group.min.session.timeout.ms bounds it from below)."),
    INT("cluster.transaction_timeout_ms", "10000", C(cluster_transaction_timeout_ms), 1000, 900000,
        "transaction.timeout.ms in cluster mode (instead of kafka.transaction_timeout_ms): a dead "
        "instance's open transaction holds up the reading of the feed state until the broker "
        "aborts it, so its feeds move within cluster.session_timeout_ms plus this."),
    INT("pipeline.queue_capacity", "1024", C(queue_capacity), 1, 1000000,
        "Stories held between two stages; a full queue pauses the stage before it."),
    INT("pipeline.enrich_threads", "0", C(enrich_threads), 0, 256,
        "Enrichment worker threads; 0 means one per core."),
    INT("memory.limit_mb", "64", C(memory_limit_mb), 8, 1048576,
        "Bytes newsd may buffer on their way to Kafka (MiB): response bodies being read, parsed and "
        "enriched stories in the stage queues, the records of the open transaction and librdkafka's "
        "copies of them. At the limit fetch starts no new poll and the Kafka source stops consuming "
        "until publish has drained below three quarters of it (backpressure: nothing is dropped). "
        "Also sizes librdkafka's queue (queue.buffering.max.kbytes and .messages) unless "
        "kafka.properties sets them. Resident memory is this plus the models and the feeds: "
        "docs/OPERATIONS.md, Memory sizing."),
    PROB("events.min_confidence", "0.5", C(events_min_confidence),
         "Calibrated confidence an event needs to be published to the events topic and alerted on "
         "(scripts/fit_event_confidence.py fits the calibration: 0.5 means an even chance the "
         "event is right). Events below it stay in the story with \"below_threshold\": true; a "
         "story whose events are all below it alerts no desk on events."),
    INT("alerts.window_s", "86400", C(alerts_window_s), 60, 2592000,
        "A development stays open this long after its last story (s)."),
    INT("alerts.dedup_distance", "6", C(alerts_dedup_distance), 0, 15,
        "SimHash Hamming distance at which two stories are near-duplicates."),
    INT("alerts.dedup_capacity", "100000", C(alerts_dedup_capacity), 16, 10000000,
        "Recent story fingerprints kept for near-duplicate detection."),
    INT("alerts.developments_max", "100000", C(alerts_developments_max), 16, 10000000,
        "Developments kept; the least recently active are forgotten first."),
    INT("alerts.corroboration", "3", C(alerts_corroboration), 2, 1000,
        "Sources (feeds) carrying a development at which it escalates once."),
    INT("alerts.escalate_intensity", "2", C(alerts_escalate_intensity), 1, 20,
        "Rise of the strongest |intensity| (Goldstein scale) that counts as an escalation."),
    BOOL("alerts.restore", "true", C(alerts_restore),
         "At start, rebuild developments from the alerts of the last alerts.window_s."),
    STR("alerts.webhook_group", "newsd-webhooks", C(alerts_webhook_group), 1,
        "Consumer group of the webhook dispatcher (its offsets record what was delivered)."),
    INT("alerts.webhook_timeout_ms", "10000", C(alerts_webhook_timeout_ms), 100, 120000,
        "Timeout of one webhook POST (ms)."),
    INT("alerts.webhook_retry_max_s", "60", C(alerts_webhook_retry_max_s), 1, 3600,
        "Cap of the exponential backoff between failed webhook POSTs (s)."),
    INT("alerts.webhook_max_age_s", "3600", C(alerts_webhook_max_age_s), 60, 604800,
        "Alerts older than this are not sent to webhooks (a first start does not replay history)."),
    ADDR("server.bind", "0.0.0.0", C(server_bind),
         "Numeric address the health/metrics/board server listens on (0.0.0.0, ::, 127.0.0.1)."),
    INT("server.port", "8080", C(server_port), 0, 65535,
        "Port of /healthz, /readyz, /metrics and the desk board (/board); 0 turns the server off."),
    BOOL("board.enabled", "true", C(board_enabled),
         "Serve the live desk board at /board and /board/events on server.port (read-only)."),
    STR("board.token", "", C(board_token), 0,
        "When set, the board wants `Authorization: Bearer TOKEN` (or /board?token=TOKEN once, which "
        "sets a cookie). Keep it out of the file: NEWSD_BOARD_TOKEN."),
    STR("board.password", "", C(board_password), 0,
        "When set, the board wants HTTP basic authentication with this password (any user name)."),
    INT("board.recent_per_desk", "200", C(board_recent_per_desk), 1, 10000,
        "Alerts per desk a newly opened board shows, read back from the alerts topic at start."),
    INT("board.max_clients", "32", C(board_max_clients), 1, 1024,
        "Board pages connected at once (live streams); one more is refused with 503."),
    INT("board.client_queue", "512", C(board_client_queue), 8, 100000,
        "Events waiting for one slow board page; past it the page is disconnected, and it "
        "reconnects and replays what it missed from Kafka."),
    INT("board.story_cache", "1000", C(board_story_cache), 16, 100000,
        "Enriched stories kept in memory for the board's story view (/board/story/ID)."),
    INT("board.replay_max", "5000", C(board_replay_max), 1, 1000000,
        "Alerts replayed from Kafka to one reconnecting page; a longer gap gets the recent alerts."),
    BOOL("reload.watch_file", "false", C(reload_watch_file),
         "Reload when the config file changes (an edit, or a Kubernetes ConfigMap update), as on "
         "SIGHUP."),
};

static const struct key_def feed_keys[] = {
    STR("id", NULL, F(id), 1, "Feed id: stable, unique; keys its state and story ids."),
    URL("url", NULL, F(url), "http|https|file",
        "http(s):// or file:// URL of the feed. `${VAR}` in it is read from the environment at "
        "request time (an API key in the query); logs and stories show the URL as configured."),
    INT("interval_s", "0", F(interval_s), 0, 86400,
        "Poll interval (s); 0 takes fetch.default_interval_s."),
    BOOL("fulltext", "false", F(fulltext),
         "Fetch the article page of items that carry only a summary."),
    ENUM("format", "auto", F(format), "auto|rss|atom|jsonfeed|ninjs", "Feed format; auto detects it."),
    MAP("headers", F(headers), F(nheaders),
        "Extra request headers. `${VAR}` in a value (\"Bearer ${WIRE_TOKEN}\") is read from the "
        "environment at request time and never logged; a feed whose variable is unset is not "
        "polled and reports reason `config`."),
};

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

/* Lists of records. Each element is a struct of `elem_size` bytes whose fields the key table
 * describes; `id_offset` names the char * field that must be unique, `line_offset` the int that
 * records where the element starts. A section for desks is one more row (and its key table). */
struct list_def {
    const char *name;
    const struct key_def *keys;
    size_t nkeys;
    size_t elem_size, items_offset, count_offset, id_offset, line_offset;
    size_t max_items;
    int reloadable; /* applied by SIGHUP */
    const char *doc;
};

static const struct list_def config_lists[] = {
    {"feeds", feed_keys, NKEYS(feed_keys), sizeof(struct nd_feed_conf), C(feeds), C(nfeeds), F(id),
     F(line), 100000, 1, "The feeds to poll. Reloaded on SIGHUP."},
};

/* load_elem marks the keys it saw in a bit mask */
_Static_assert(NKEYS(feed_keys) <= sizeof(unsigned long) * CHAR_BIT, "feed key table too large");

/* Walking a document with aliases can revisit one node many times ("billion laughs"); the walk
 * counts visits and gives up past this. */
#define MAX_VISITS 1000000
/* A file that is wrong everywhere (or an alias expanding one wrong value many times) is reported up to
 * here; the rest would only bury the first errors. */
#define MAX_ERRORS 100
#define MAX_DEPTH 32

/* --- values ---------------------------------------------------------------------------------- */

static int in_choices(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        size_t len = strcspn(p, "|");
        if (len == n && !strncmp(p, v, n))
            return 1;
        p += len;
        if (*p == '|')
            p++;
    }
    return 0;
}

static int check_url(const char *value, const char *schemes, char *err, size_t errsz)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    CURLUcode rc;
    int ret = -1;

    if (!u) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    if ((rc = curl_url_set(u, CURLUPART_URL, value, 0)) != CURLUE_OK) {
        snprintf(err, errsz, "\"%s\" is not a valid URL: %s", value, curl_url_strerror(rc));
        goto out;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (!scheme || !in_choices(schemes, scheme)) {
        snprintf(err, errsz, "URL \"%s\": scheme must be one of %s", value, schemes);
        goto out;
    }
    if (strcmp(scheme, "file") && (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)) {
        snprintf(err, errsz, "URL \"%s\" has no host", value);
        goto out;
    }
    ret = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ret;
}

/* Parse `value` for key `k` into the struct at `base`. On error fills err (without the key name) and
 * leaves the field as it was. */
static int set_value(void *base, const struct key_def *k, const char *value, char *err, size_t errsz)
{
    char *end;
    void *field = (char *)base + k->offset;
    unsigned char addr[16];

    switch (k->type) {
    case KT_ENUM:
        if (!in_choices(k->choices, value)) {
            snprintf(err, errsz, "\"%s\" is not one of %s", value, k->choices);
            return -1;
        }
        break;
    case KT_URL:
        if (check_url(value, k->choices, err, errsz))
            return -1;
        break;
    case KT_ADDR:
        if (inet_pton(AF_INET, value, addr) != 1 && inet_pton(AF_INET6, value, addr) != 1) {
            snprintf(err, errsz, "\"%s\" is not a numeric IPv4 or IPv6 address", value);
            return -1;
        }
        break;
    case KT_STR:
        if ((long)strlen(value) < k->min) {
            snprintf(err, errsz, "must not be empty");
            return -1;
        }
        break;
    case KT_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "on") ||
            !strcmp(value, "1")) {
            *(int *)field = 1;
            return 0;
        }
        if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "off") ||
            !strcmp(value, "0")) {
            *(int *)field = 0;
            return 0;
        }
        snprintf(err, errsz, "expected a boolean (true/false), got \"%s\"", value);
        return -1;
    case KT_PROB: {
        double v;
        errno = 0;
        v = strtod(value, &end);
        if (errno == ERANGE || end == value || *end || !(v >= 0.0 && v <= 1.0)) {
            snprintf(err, errsz, "expected a number in [0, 1], got \"%s\"", value);
            return -1;
        }
        *(double *)field = v;
        return 0;
    }
    case KT_INT:
    case KT_LONG: {
        long v;
        errno = 0;
        v = strtol(value, &end, 10);
        if (errno == ERANGE || end == value || *end) {
            snprintf(err, errsz, "expected an integer, got \"%s\"", value);
            return -1;
        }
        if (v < k->min || v > k->max) {
            snprintf(err, errsz, "%ld is out of range [%ld, %ld]", v, k->min, k->max);
            return -1;
        }
        if (k->type == KT_INT)
            *(int *)field = (int)v;
        else
            *(long *)field = v;
        return 0;
    }
    case KT_MAP:
    case KT_PROPS:
        snprintf(err, errsz, "expected a mapping");
        return -1;
    }
    free(*(char **)field);
    *(char **)field = nd_strdup(value);
    return 0;
}

static int is_string_type(enum key_type t)
{
    return t == KT_STR || t == KT_ENUM || t == KT_URL || t == KT_ADDR;
}

static int is_map_type(enum key_type t)
{
    return t == KT_MAP || t == KT_PROPS;
}

static void kv_free(struct nd_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

static void kv_add(struct nd_kv **kv, size_t *n, const char *key, const char *value)
{
    for (size_t i = 0; i < *n; i++) {
        if (!strcmp((*kv)[i].key, key)) {
            free((*kv)[i].value);
            (*kv)[i].value = nd_strdup(value);
            return;
        }
    }
    *kv = realloc(*kv, (*n + 1) * sizeof(**kv));
    if (!*kv)
        abort();
    (*kv)[*n].key = nd_strdup(key);
    (*kv)[*n].value = nd_strdup(value);
    (*n)++;
}

static void apply_defaults(void *base, const struct key_def *keys, size_t n)
{
    char err[256];
    for (size_t i = 0; i < n; i++)
        if (keys[i].def)
            set_value(base, &keys[i], keys[i].def, err, sizeof(err));
}

static void free_fields(void *base, const struct key_def *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *field = (char *)base + keys[i].offset;
        if (is_string_type(keys[i].type)) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else if (is_map_type(keys[i].type)) {
            size_t *count = (size_t *)((char *)base + keys[i].count_offset);
            kv_free(*(struct nd_kv **)field, *count);
            *(struct nd_kv **)field = NULL;
            *count = 0;
        }
    }
}

static void *list_items(const struct nd_config *conf, const struct list_def *l)
{
    return *(void **)((char *)conf + l->items_offset);
}

static size_t *list_count(struct nd_config *conf, const struct list_def *l)
{
    return (size_t *)((char *)conf + l->count_offset);
}

static void *list_elem(const struct nd_config *conf, const struct list_def *l, size_t i)
{
    return (char *)list_items(conf, l) + i * l->elem_size;
}

/* Append a zeroed element with its defaults; returns it. */
static void *list_add(struct nd_config *conf, const struct list_def *l)
{
    void **items = (void **)((char *)conf + l->items_offset);
    size_t *n = list_count(conf, l);
    char *elem;
    *items = realloc(*items, (*n + 1) * l->elem_size);
    if (!*items)
        abort();
    elem = (char *)*items + *n * l->elem_size;
    (*n)++;
    memset(elem, 0, l->elem_size);
    apply_defaults(elem, l->keys, l->nkeys);
    return elem;
}

struct nd_config *nd_config_new(void)
{
    struct nd_config *conf = nd_xcalloc(1, sizeof(*conf));
    apply_defaults(conf, config_keys, NKEYS(config_keys));
    return conf;
}

void nd_config_destroy(struct nd_config *conf)
{
    if (!conf)
        return;
    free_fields(conf, config_keys, NKEYS(config_keys));
    for (size_t li = 0; li < NKEYS(config_lists); li++) {
        const struct list_def *l = &config_lists[li];
        for (size_t i = 0; i < *list_count(conf, l); i++)
            free_fields(list_elem(conf, l, i), l->keys, l->nkeys);
        free(list_items(conf, l));
    }
    json_decref(conf->desks);
    free(conf->path);
    free(conf);
}

struct nd_feed_conf *nd_config_add_feed(struct nd_config *conf, const char *id, const char *url,
                                        int interval_s)
{
    struct nd_feed_conf *feed = list_add(conf, &config_lists[0]);
    feed->id = nd_strdup(id);
    feed->url = nd_strdup(url);
    feed->interval_s = interval_s;
    return feed;
}

/* --- YAML ------------------------------------------------------------------------------------ */

struct loader {
    struct nd_config *conf;
    yaml_document_t doc;
    const char *name;
    FILE *errors;
    int nerr;
    long visits;
    int gave_up;
};

static void report(struct loader *ld, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(struct loader *ld, const yaml_node_t *node, const char *fmt, ...)
{
    va_list ap;
    unsigned long line = node ? (unsigned long)node->start_mark.line + 1 : 0UL;
    if (ld->gave_up)
        return;
    if (ld->nerr >= MAX_ERRORS) {
        ld->gave_up = 1;
        if (ld->errors)
            fprintf(ld->errors, "%s:%lu: more than %d errors; stopping here\n", ld->name, line,
                    MAX_ERRORS);
        return;
    }
    ld->nerr++;
    if (!ld->errors)
        return;
    fprintf(ld->errors, "%s:%lu: ", ld->name, line);
    va_start(ap, fmt);
    vfprintf(ld->errors, fmt, ap);
    va_end(ap);
    fputc('\n', ld->errors);
}

/* Count a visit; 0 once the walk has gone on too long (reported once). */
static int visit(struct loader *ld, const yaml_node_t *node)
{
    if (ld->gave_up)
        return 0;
    if (++ld->visits > MAX_VISITS) {
        report(ld, node, "document too large once aliases are expanded (over %d nodes)", MAX_VISITS);
        ld->gave_up = 1;
        return 0;
    }
    return 1;
}

static const char *scalar(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

static const char *node_kind(const yaml_node_t *node)
{
    if (!node)
        return "nothing";
    return node->type == YAML_MAPPING_NODE ? "a mapping"
           : node->type == YAML_SEQUENCE_NODE ? "a list"
                                              : "a scalar";
}

static const struct key_def *find_key(const struct key_def *keys, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(keys[i].name, name))
            return &keys[i];
    return NULL;
}

static const struct list_def *find_list(const char *name)
{
    for (size_t i = 0; i < NKEYS(config_lists); i++)
        if (!strcmp(config_lists[i].name, name))
            return &config_lists[i];
    return NULL;
}

/* Is `prefix` a section of the table ("kafka", "kafka.topics")? */
static int is_section(const char *prefix)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i < NKEYS(config_keys); i++)
        if (!strncmp(config_keys[i].name, prefix, n) && config_keys[i].name[n] == '.')
            return 1;
    return 0;
}

/* The same key twice in one mapping is almost always a mistake; libyaml accepts it silently. */
static int duplicate_key(struct loader *ld, yaml_node_t *map, yaml_node_pair_t *pair)
{
    const char *name = scalar(yaml_document_get_node(&ld->doc, pair->key));
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; name && p < pair; p++) {
        yaml_node_t *kn = yaml_document_get_node(&ld->doc, p->key);
        if (scalar(kn) && !strcmp(scalar(kn), name)) {
            report(ld, yaml_document_get_node(&ld->doc, pair->key),
                   "duplicate key \"%s\" (first at line %lu)", name,
                   (unsigned long)kn->start_mark.line + 1);
            return 1;
        }
    }
    return 0;
}

static void load_props(struct loader *ld, void *base, const struct key_def *k, yaml_node_t *node,
                       const char *prefix, int depth, rd_kafka_conf_t *kconf)
{
    struct nd_kv **kv = (struct nd_kv **)((char *)base + k->offset);
    size_t *n = (size_t *)((char *)base + k->count_offset);

    if (node->type != YAML_MAPPING_NODE) {
        report(ld, node, "%s: expected a mapping, got %s", k->name, node_kind(node));
        return;
    }
    if (depth > MAX_DEPTH) {
        report(ld, node, "%s: nested too deeply", k->name);
        return;
    }
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&ld->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(&ld->doc, p->value);
        char full[512], kerr[512];

        if (!visit(ld, kn))
            return;
        if (!scalar(kn)) {
            report(ld, kn, "%s: names must be strings", k->name);
            continue;
        }
        if (duplicate_key(ld, node, p))
            continue;
        snprintf(full, sizeof(full), "%s%s%s", prefix, *prefix ? "." : "", scalar(kn));
        if (k->type == KT_PROPS && vn && vn->type == YAML_MAPPING_NODE) {
            load_props(ld, base, k, vn, full, depth + 1, kconf);
            continue;
        }
        if (!scalar(vn)) {
            report(ld, vn ? vn : kn, "%s.%s: expected a scalar value, got %s", k->name, full,
                   node_kind(vn));
            continue;
        }
        if (kconf && rd_kafka_conf_set(kconf, full, scalar(vn), kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK) {
            report(ld, kn, "%s.%s: %s", k->name, full, kerr);
            continue;
        }
        kv_add(kv, n, full, scalar(vn));
    }
}

static void set_from_node(struct loader *ld, void *base, const struct key_def *k, yaml_node_t *node,
                          const char *display)
{
    char err[512];
    const char *v = scalar(node);

    if (is_map_type(k->type)) {
        rd_kafka_conf_t *kconf = k->type == KT_PROPS ? rd_kafka_conf_new() : NULL;
        load_props(ld, base, k, node, "", 0, kconf);
        if (kconf)
            rd_kafka_conf_destroy(kconf);
        return;
    }
    if (!v) {
        report(ld, node, "%s: expected a scalar value, got %s", display, node_kind(node));
        return;
    }
    if (set_value(base, k, v, err, sizeof(err)) != 0)
        report(ld, node, "%s: %s", display, err);
}

static void load_elem(struct loader *ld, const struct list_def *l, yaml_node_t *node)
{
    char *elem;
    char **id;
    char display[256];
    unsigned long present = 0; /* bit i: key i was given (a bad value is reported once, not as missing) */

    if (node->type != YAML_MAPPING_NODE) {
        report(ld, node, "%s: each entry must be a mapping, got %s", l->name, node_kind(node));
        return;
    }
    if (*list_count(ld->conf, l) >= l->max_items) {
        report(ld, node, "%s: more than %zu entries", l->name, l->max_items);
        return;
    }
    elem = list_add(ld->conf, l);
    *(int *)(elem + l->line_offset) = (int)node->start_mark.line + 1;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&ld->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(&ld->doc, p->value);
        const char *name = scalar(kn);
        const struct key_def *k;

        if (!visit(ld, kn))
            return;
        if (!name) {
            report(ld, kn, "%s: keys must be strings", l->name);
            continue;
        }
        if (duplicate_key(ld, node, p))
            continue;
        if (!(k = find_key(l->keys, l->nkeys, name))) {
            report(ld, kn, "%s: unknown key \"%s\"", l->name, name);
            continue;
        }
        present |= 1UL << (k - l->keys);
        snprintf(display, sizeof(display), "%s: %s", l->name, name);
        set_from_node(ld, elem, k, vn, display);
    }
    for (size_t i = 0; i < l->nkeys; i++) {
        const struct key_def *k = &l->keys[i];
        if (!k->def && is_string_type(k->type) && !(present & (1UL << i)))
            report(ld, node, "%s: an entry needs \"%s\"", l->name, k->name);
    }
    id = (char **)(elem + l->id_offset);
    for (size_t i = 0; *id && i + 1 < *list_count(ld->conf, l); i++) {
        char *other = list_elem(ld->conf, l, i);
        if (*(char **)(other + l->id_offset) && !strcmp(*(char **)(other + l->id_offset), *id)) {
            report(ld, node, "%s: duplicate id \"%s\" (first at line %d)", l->name, *id,
                   *(int *)(other + l->line_offset));
            break;
        }
    }
}

/* Walk a mapping, building dotted key names. */
/* --- desks: kept as JSON for pkg/alert ------------------------------------------------------- */

#define DESKS_DEPTH_MAX 32
#define DESKS_FILE_MAX (4u << 20)

/* A YAML node as JSON: scalars as strings, and every mapping with "@file", "@line" and "@lines"
 * (the line of each key) so the alert module reports errors as FILE:LINE. */
static json_t *node_json(struct loader *ld, yaml_document_t *doc, yaml_node_t *node,
                         const char *file, int depth)
{
    json_t *out, *lines;
    if (!node)
        return json_null();
    if (depth > DESKS_DEPTH_MAX) {
        report(ld, node, "desks: nested too deeply");
        return json_null();
    }
    switch (node->type) {
    case YAML_SCALAR_NODE:
        return json_stringn((const char *)node->data.scalar.value, node->data.scalar.length);
    case YAML_SEQUENCE_NODE:
        out = json_array();
        for (yaml_node_item_t *it = node->data.sequence.items.start;
             it < node->data.sequence.items.top; it++)
            json_array_append_new(out, node_json(ld, doc, yaml_document_get_node(doc, *it), file,
                                                 depth + 1));
        return out;
    case YAML_MAPPING_NODE:
        out = json_object();
        lines = json_object();
        json_object_set_new(out, "@file", json_string(file));
        json_object_set_new(out, "@line", json_integer((json_int_t)node->start_mark.line + 1));
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
             p++) {
            yaml_node_t *kn = yaml_document_get_node(doc, p->key);
            const char *name = scalar(kn);
            if (!name) {
                report(ld, kn, "desks: keys must be strings");
                continue;
            }
            json_object_set_new(lines, name, json_integer((json_int_t)kn->start_mark.line + 1));
            json_object_set_new(out, name, node_json(ld, doc, yaml_document_get_node(doc, p->value),
                                                     file, depth + 1));
        }
        json_object_set_new(out, "@lines", lines);
        return out;
    default:
        return json_null();
    }
}

/* `desks: FILE`: the list (or a mapping with `desks:`) from another YAML file, relative to the
 * config file. Errors in it name that file. */
static void load_desks_file(struct loader *ld, yaml_node_t *node, const char *rel)
{
    struct nd_buf pathbuf;
    char *data = NULL;
    const char *slash = strrchr(ld->name, '/'), *path;
    size_t len;
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    struct loader sub = {.conf = ld->conf, .errors = ld->errors};
    enum nd_err err;

    nd_buf_init(&pathbuf, ND_PATH_MAX);
    if (rel[0] == '/' || !slash)
        err = nd_buf_append(&pathbuf, rel, strlen(rel));
    else
        err = nd_buf_appendf(&pathbuf, "%.*s/%s", (int)(slash - ld->name), ld->name, rel);
    path = sub.name = pathbuf.data;
    if (err == ND_OK)
        err = nd_file_read(path, DESKS_FILE_MAX, &data, &len);
    if (err != ND_OK) {
        report(ld, node, "desks: cannot read %s: %s", err == ND_ERR_TOOBIG ? rel : path,
               nd_err_str(err));
        nd_buf_free(&pathbuf);
        return;
    }
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &doc)) {
        ld->nerr++;
        if (ld->errors)
            fprintf(ld->errors, "%s:%lu:%lu: YAML error: %s\n", path,
                    (unsigned long)parser.problem_mark.line + 1,
                    (unsigned long)parser.problem_mark.column + 1,
                    parser.problem ? parser.problem : "malformed document");
        yaml_parser_delete(&parser);
        free(data);
        nd_buf_free(&pathbuf);
        return;
    }
    root = yaml_document_get_root_node(&doc);
    json_decref(ld->conf->desks);
    ld->conf->desks = NULL;
    if (root && root->type == YAML_MAPPING_NODE) {
        /* a mapping holding `desks:` */
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
             p++) {
            const char *name = scalar(yaml_document_get_node(&doc, p->key));
            if (name && !strcmp(name, "desks"))
                ld->conf->desks = node_json(&sub, &doc, yaml_document_get_node(&doc, p->value),
                                            path, 0);
            else
                report(&sub, yaml_document_get_node(&doc, p->key),
                       "unknown key \"%s\" (a desks file holds `desks:`)", name ? name : "?");
        }
    } else if (root) {
        ld->conf->desks = node_json(&sub, &doc, root, path, 0);
    }
    ld->nerr += sub.nerr;
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(data);
    nd_buf_free(&pathbuf);
}

static void load_mapping(struct loader *ld, yaml_node_t *node, const char *prefix, int depth)
{
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&ld->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(&ld->doc, p->value);
        const char *name = scalar(kn);
        char full[512];
        const struct key_def *k;
        const struct list_def *l;

        if (!visit(ld, kn))
            return;
        if (!name) {
            report(ld, kn, "keys must be strings");
            continue;
        }
        if (duplicate_key(ld, node, p))
            continue;
        snprintf(full, sizeof(full), "%s%s%s", prefix, *prefix ? "." : "", name);
        if (!strcmp(full, "desks")) {
            json_decref(ld->conf->desks);
            ld->conf->desks = NULL;
            if (scalar(vn) && *scalar(vn))
                load_desks_file(ld, vn, scalar(vn));
            else if (!scalar(vn))
                ld->conf->desks = node_json(ld, &ld->doc, vn, ld->name, 0);
            /* `desks:` with nothing: no desks */
            continue;
        }
        if (!*prefix && (l = find_list(full))) {
            if (vn->type == YAML_SCALAR_NODE && !*scalar(vn))
                continue; /* "feeds:" with nothing after it: an empty list */
            if (vn->type != YAML_SEQUENCE_NODE) {
                report(ld, vn, "%s: expected a list, got %s", full, node_kind(vn));
                continue;
            }
            for (yaml_node_item_t *it = vn->data.sequence.items.start;
                 it < vn->data.sequence.items.top && visit(ld, vn); it++)
                load_elem(ld, l, yaml_document_get_node(&ld->doc, *it));
            continue;
        }
        if ((k = find_key(config_keys, NKEYS(config_keys), full))) {
            set_from_node(ld, ld->conf, k, vn, full);
            continue;
        }
        if (is_section(full)) {
            if (vn->type != YAML_MAPPING_NODE)
                report(ld, vn, "%s: expected a mapping of keys, got %s", full, node_kind(vn));
            else if (depth >= MAX_DEPTH)
                report(ld, vn, "%s: nested too deeply", full);
            else
                load_mapping(ld, vn, full, depth + 1);
            continue;
        }
        report(ld, kn, "unknown key \"%s\"", full);
    }
}

int nd_config_load_string(struct nd_config *conf, const char *yaml, size_t len, const char *name,
                          FILE *errors)
{
    yaml_parser_t parser;
    yaml_document_t extra;
    struct loader ld = {.conf = conf, .name = name, .errors = errors};
    yaml_node_t *root;

    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &ld.doc)) {
        ld.nerr++;
        if (errors)
            fprintf(errors, "%s:%lu:%lu: YAML error: %s%s%s\n", name,
                    (unsigned long)parser.problem_mark.line + 1,
                    (unsigned long)parser.problem_mark.column + 1,
                    parser.problem ? parser.problem : "malformed document",
                    parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return ld.nerr;
    }
    root = yaml_document_get_root_node(&ld.doc);
    if (root && root->type == YAML_MAPPING_NODE)
        load_mapping(&ld, root, "", 0);
    else if (root && !(root->type == YAML_SCALAR_NODE && !*scalar(root)))
        report(&ld, root, "the configuration must be a mapping of keys, got %s", node_kind(root));
    /* A second document ("---") would be ignored silently: say so. */
    if (root && yaml_parser_load(&parser, &extra)) {
        yaml_node_t *r2 = yaml_document_get_root_node(&extra);
        if (r2)
            report(&ld, r2, "more than one YAML document; newsd reads one");
        yaml_document_delete(&extra);
    }
    yaml_document_delete(&ld.doc);
    yaml_parser_delete(&parser);
    return ld.nerr;
}

int nd_config_load(struct nd_config *conf, const char *path, FILE *errors)
{
    char *data;
    size_t len;
    enum nd_err err;
    int nerr;

    free(conf->path);
    conf->path = nd_strdup(path);
    if ((err = nd_file_read(path, 16 << 20, &data, &len)) != ND_OK) {
        if (errors)
            fprintf(errors, "%s:0: cannot read: %s\n", path, nd_err_str(err));
        return 1;
    }
    nerr = nd_config_load_string(conf, data, len, path, errors);
    free(data);
    nerr += nd_config_apply_env(conf, errors);
    /* fencing a zombie instance needs its writes in transactions with the group's metadata */
    if (*conf->cluster_feeds_topic && !conf->kafka_transactions) {
        if (errors)
            fprintf(errors, "%s:0: cluster.feeds_topic needs kafka.transactions: true (a stalled "
                            "instance is fenced through its transactions)\n", path);
        nerr++;
    }
    return nerr;
}

/* --- environment ----------------------------------------------------------------------------- */

static void env_name(const char *key, char *out, size_t outsz)
{
    size_t n = (size_t)snprintf(out, outsz, "NEWSD_");
    for (; *key && n + 1 < outsz; key++)
        out[n++] = *key == '.' ? '_' : (char)toupper((unsigned char)*key);
    out[n] = '\0';
}

int nd_config_apply_env(struct nd_config *conf, FILE *errors)
{
    int nerr = 0;
    char name[256], err[512];

    for (size_t i = 0; i < NKEYS(config_keys); i++) {
        const struct key_def *k = &config_keys[i];
        const char *v;
        env_name(k->name, name, sizeof(name));
        if (is_map_type(k->type)) {
            /* NEWSD_KAFKA_PROPERTIES_SASL_PASSWORD -> sasl.password: librdkafka names use dots only */
            size_t plen = strlen(name);
            rd_kafka_conf_t *kconf = k->type == KT_PROPS ? rd_kafka_conf_new() : NULL;
            for (char **e = environ; e && *e; e++) {
                char prop[256];
                const char *eq = strchr(*e, '=');
                size_t n = 0;
                if (!eq || strncmp(*e, name, plen) || (*e)[plen] != '_' || eq == *e + plen + 1)
                    continue;
                for (const char *c = *e + plen + 1; c < eq && n + 1 < sizeof(prop); c++)
                    prop[n++] = *c == '_' ? '.' : (char)tolower((unsigned char)*c);
                prop[n] = '\0';
                if (kconf && rd_kafka_conf_set(kconf, prop, eq + 1, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
                    nerr++;
                    if (errors)
                        fprintf(errors, "environment %.*s: %s\n", (int)(eq - *e), *e, err);
                    continue;
                }
                kv_add((struct nd_kv **)((char *)conf + k->offset),
                       (size_t *)((char *)conf + k->count_offset), prop, eq + 1);
            }
            if (kconf)
                rd_kafka_conf_destroy(kconf);
            continue;
        }
        if (!(v = getenv(name)))
            continue;
        if (set_value(conf, k, v, err, sizeof(err)) != 0) {
            nerr++;
            if (errors)
                fprintf(errors, "environment %s: %s: %s\n", name, k->name, err);
        }
    }
    return nerr;
}

/* --- feed records (cluster.feeds_topic) ------------------------------------------------------ */

#define FEEDREC_MAX_HEADERS 64

void nd_config_feed_clear(struct nd_feed_conf *feed)
{
    if (!feed)
        return;
    free_fields(feed, feed_keys, NKEYS(feed_keys));
    memset(feed, 0, sizeof(*feed));
}

void nd_config_feed_copy(struct nd_feed_conf *dst, const struct nd_feed_conf *src)
{
    *dst = *src;
    dst->id = src->id ? nd_strdup(src->id) : NULL;
    dst->url = src->url ? nd_strdup(src->url) : NULL;
    dst->format = src->format ? nd_strdup(src->format) : NULL;
    dst->headers = NULL;
    dst->nheaders = 0;
    for (size_t i = 0; i < src->nheaders; i++)
        kv_add(&dst->headers, &dst->nheaders, src->headers[i].key, src->headers[i].value);
}

json_t *nd_config_feed_to_json(const struct nd_feed_conf *feed)
{
    json_t *doc = json_pack("{s:s, s:s, s:i, s:b, s:s}", "id", feed->id ? feed->id : "", "url",
                            feed->url ? feed->url : "", "interval_s", feed->interval_s, "fulltext",
                            feed->fulltext, "format", feed->format ? feed->format : "auto");
    if (feed->nheaders) {
        json_t *hdrs = json_object();
        for (size_t i = 0; i < feed->nheaders; i++)
            json_object_set_new(hdrs, feed->headers[i].key, json_string(feed->headers[i].value));
        json_object_set_new(doc, "headers", hdrs);
    }
    return doc;
}

/* One JSON value as the string the YAML loader would have seen; NULL for arrays and objects. */
static const char *json_scalar(const json_t *v, char *buf, size_t bufsz)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, bufsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return NULL;
}

/* A feed id from a record key: it goes into logs, metrics labels and JSON, so UTF-8 (which Jansson
 * checks) and no control characters. */
static int printable_utf8(const char *s, size_t len)
{
    json_t *str;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    if (!(str = json_stringn(s, len)))
        return 0;
    json_decref(str);
    return 1;
}

enum nd_err nd_config_feed_from_json(const char *key, size_t keylen, const char *value, size_t len,
                                     struct nd_feed_conf *feed, char *errstr, size_t errsz)
{
    json_t *doc = NULL, *v;
    json_error_t jerr;
    const char *name;
    char err[512], num[32];
    enum nd_err ret = ND_ERR_INVALID;
    int have_url = 0;

    memset(feed, 0, sizeof(*feed));
    apply_defaults(feed, feed_keys, NKEYS(feed_keys));
    if (!key || !keylen || keylen > 256 || !printable_utf8(key, keylen)) {
        snprintf(errstr, errsz,
                 "the record key (the feed id) must be 1 to 256 bytes of UTF-8 text without "
                 "control characters");
        goto out;
    }
    feed->id = nd_xmalloc(keylen + 1);
    memcpy(feed->id, key, keylen);
    feed->id[keylen] = '\0';
    if (len > ND_FEEDREC_MAX) {
        snprintf(errstr, errsz, "feed %s: record of %zu bytes, over %d", feed->id, len,
                 ND_FEEDREC_MAX);
        goto out;
    }
    /* the cap above bounds jansson's work; its own depth limit bounds the nesting */
    if (!(doc = json_loadb(value ? value : "", len, JSON_REJECT_DUPLICATES, &jerr))) {
        snprintf(errstr, errsz, "feed %s: not JSON: %s (byte %d)", feed->id, jerr.text,
                 jerr.position);
        goto out;
    }
    if (!json_is_object(doc)) {
        snprintf(errstr, errsz, "feed %s: the record must be a JSON object", feed->id);
        goto out;
    }
    json_object_foreach(doc, name, v)
    {
        const struct key_def *k = find_key(feed_keys, NKEYS(feed_keys), name);
        const char *s;
        if (!k) {
            snprintf(errstr, errsz, "feed %s: unknown key \"%s\"", feed->id, name);
            goto out;
        }
        if (k->offset == F(id)) {
            if (!json_is_string(v) || strcmp(json_string_value(v), feed->id)) {
                snprintf(errstr, errsz, "feed %s: \"id\" differs from the record key", feed->id);
                goto out;
            }
            continue;
        }
        if (k->type == KT_MAP) {
            const char *hk;
            json_t *hv;
            if (!json_is_object(v) || json_object_size(v) > FEEDREC_MAX_HEADERS) {
                snprintf(errstr, errsz, "feed %s: \"%s\" must be an object of at most %d strings",
                         feed->id, name, FEEDREC_MAX_HEADERS);
                goto out;
            }
            json_object_foreach(v, hk, hv)
            {
                if (!json_is_string(hv) || !*hk) {
                    snprintf(errstr, errsz, "feed %s: %s.%s must be a string", feed->id, name, hk);
                    goto out;
                }
                kv_add(&feed->headers, &feed->nheaders, hk, json_string_value(hv));
            }
            continue;
        }
        if (!(s = json_scalar(v, num, sizeof(num)))) {
            snprintf(errstr, errsz, "feed %s: \"%s\" must be a scalar", feed->id, name);
            goto out;
        }
        if (set_value(feed, k, s, err, sizeof(err))) {
            snprintf(errstr, errsz, "feed %s: %s: %s", feed->id, name, err);
            goto out;
        }
        if (k->offset == F(url))
            have_url = 1;
    }
    if (!have_url) {
        snprintf(errstr, errsz, "feed %s: the record needs \"url\"", feed->id);
        goto out;
    }
    ret = ND_OK;
out:
    json_decref(doc);
    if (ret != ND_OK)
        nd_config_feed_clear(feed);
    return ret;
}

/* --- reload ---------------------------------------------------------------------------------- */

static int field_differs(const void *a, const void *b, const struct key_def *k)
{
    const char *fa = (const char *)a + k->offset, *fb = (const char *)b + k->offset;
    if (is_string_type(k->type)) {
        const char *sa = *(char *const *)fa, *sb = *(char *const *)fb;
        return (sa == NULL) != (sb == NULL) || (sa && strcmp(sa, sb));
    }
    if (is_map_type(k->type)) {
        const struct nd_kv *ka = *(struct nd_kv *const *)fa, *kb = *(struct nd_kv *const *)fb;
        size_t na = *(const size_t *)((const char *)a + k->count_offset);
        size_t nb = *(const size_t *)((const char *)b + k->count_offset);
        if (na != nb)
            return 1;
        for (size_t i = 0; i < na; i++)
            if (strcmp(ka[i].key, kb[i].key) || strcmp(ka[i].value, kb[i].value))
                return 1;
        return 0;
    }
    if (k->type == KT_LONG)
        return *(const long *)fa != *(const long *)fb;
    if (k->type == KT_PROB)
        return *(const double *)fa != *(const double *)fb;
    return *(const int *)fa != *(const int *)fb;
}

int nd_config_restart_needed(const struct nd_config *a, const struct nd_config *b, char *key,
                             size_t keysz)
{
    for (size_t i = 0; i < NKEYS(config_keys); i++) {
        /* the log level is applied on reload too */
        if (!strcmp(config_keys[i].name, "log_level"))
            continue;
        if (field_differs(a, b, &config_keys[i])) {
            if (key)
                snprintf(key, keysz, "%s", config_keys[i].name);
            return 1;
        }
    }
    return 0;
}

/* --- watching the file ----------------------------------------------------------------------- */

struct nd_config_watch {
    int fd;
    char *base; /* the file's name in its folder */
};

struct nd_config_watch *nd_config_watch_new(const char *path, char *errstr, size_t errsz)
{
    struct nd_config_watch *watch = nd_xcalloc(1, sizeof(*watch));
    const char *slash = strrchr(path, '/');
    char *dir = slash ? nd_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : nd_strdup(".");

    watch->base = nd_strdup(slash ? slash + 1 : path);
    watch->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (watch->fd < 0 || inotify_add_watch(watch->fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0) {
        snprintf(errstr, errsz, "cannot watch %s: %s", dir, strerror(errno));
        free(dir);
        nd_config_watch_destroy(watch);
        return NULL;
    }
    free(dir);
    return watch;
}

int nd_config_watch_changed(struct nd_config_watch *watch)
{
    /* aligned as inotify_event requires */
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    int changed = 0;

    while ((n = read(watch->fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            /* ConfigMap volumes swap the "..data" symlink to publish a new version */
            if (ev->len && (!strcmp(ev->name, watch->base) || !strcmp(ev->name, "..data")))
                changed = 1;
            p += sizeof(*ev) + ev->len;
        }
    }
    return changed;
}

void nd_config_watch_destroy(struct nd_config_watch *watch)
{
    if (!watch)
        return;
    if (watch->fd >= 0)
        close(watch->fd);
    free(watch->base);
    free(watch);
}

/* --- documentation --------------------------------------------------------------------------- */

static const char *type_name(const struct key_def *k)
{
    switch (k->type) {
    case KT_STR: return "string";
    case KT_INT:
    case KT_LONG: return "integer";
    case KT_BOOL: return "boolean";
    case KT_PROB: return "number";
    case KT_ENUM: return "enum";
    case KT_URL: return "URL";
    case KT_ADDR: return "address";
    case KT_MAP:
    case KT_PROPS: return "mapping";
    }
    return "?";
}

static void doc_table(FILE *out, const struct key_def *keys, size_t n, int with_env)
{
    char env[256];
    fprintf(out, "| key | type | default |%s description |\n| --- | --- | --- |%s --- |\n",
            with_env ? " environment |" : "", with_env ? " --- |" : "");
    for (size_t i = 0; i < n; i++) {
        const struct key_def *k = &keys[i];
        env_name(k->name, env, sizeof(env));
        fprintf(out, "| `%s` | %s | ", k->name, type_name(k));
        if (k->def)
            fprintf(out, "`%s`", k->def);
        else if (is_map_type(k->type))
            fprintf(out, "(empty)");
        else
            fprintf(out, "(required)");
        if (with_env)
            fprintf(out, is_map_type(k->type) ? " | `%s_<NAME>` |" : " | `%s` |", env);
        else
            fprintf(out, " |");
        fprintf(out, " %s", k->doc);
        if (k->type == KT_INT || k->type == KT_LONG)
            fprintf(out, " Range %ld..%ld.", k->min, k->max);
        if (k->type == KT_PROB)
            fprintf(out, " Range 0..1.");
        if (k->type == KT_ENUM || k->type == KT_URL) {
            /* '|' would end the Markdown table cell */
            fprintf(out, k->type == KT_ENUM ? " One of: " : " Schemes: ");
            for (const char *p = k->choices; *p;) {
                size_t len = strcspn(p, "|");
                fprintf(out, "%s`%.*s`", p == k->choices ? "" : ", ", (int)len, p);
                p += len + (p[len] == '|');
            }
            fputc('.', out);
        }
        fprintf(out, " |\n");
    }
}

void nd_config_print_doc(FILE *out)
{
    fprintf(out,
            "# newsd configuration reference\n\n"
            "Generated by `newsd config-doc` from the tables in pkg/config/config.c; do not edit "
            "(a unit test fails when this file and the tables disagree).\n\n"
            "One YAML file (`newsd run -c FILE`). Nested mappings make dotted keys: `kafka: "
            "{brokers: ...}` is `kafka.brokers`. `newsd check-config FILE` reports every error as "
            "`FILE:LINE: message`: unknown keys, duplicate keys, values of the wrong type or out of "
            "range, bad URLs, duplicate ids, librdkafka properties librdkafka rejects. The exit "
            "status is 0 when the file is valid, 1 when it is not.\n\n"
            "## Environment\n\n"
            "Every key of the table below can be overridden from the environment by the name in its "
            "row (`NEWSD_` + the key upper-cased, `.` as `_`); the environment wins over the file. "
            "librdkafka properties come as `NEWSD_KAFKA_PROPERTIES_<NAME>` with `_` for `.` "
            "(`NEWSD_KAFKA_PROPERTIES_SASL_PASSWORD` sets `sasl.password`). Lists (`feeds`) come "
            "only from the file.\n\n"
            "## Keys\n\n");
    doc_table(out, config_keys, NKEYS(config_keys), 1);
    for (size_t i = 0; i < NKEYS(config_lists); i++) {
        const struct list_def *l = &config_lists[i];
        fprintf(out, "\n## %s\n\n`%s:` is a list of mappings (at most %zu). %s Each entry has:\n\n",
                l->name, l->name, l->max_items, l->doc);
        doc_table(out, l->keys, l->nkeys, 0);
    }
    fprintf(out, "\n## Desks\n\n`desks:` is a list of desks, or the name of a YAML file holding "
                 "it (relative to the config file). Their rules, priorities and webhooks are "
                 "described in docs/ALERTS.md; `newsd check-config` validates them too.\n");
    fprintf(out, "\n## Reload\n\nOn SIGHUP (and, with `reload.watch_file`, when the file changes) "
                 "newsd reads the file again. When it is valid the lists "
                 "above are applied (`feeds`: new feeds start, removed feeds stop, feeds that stay "
                 "keep their state) and `log_level` takes effect; other keys need a restart and a "
                 "change to them is logged as ignored. When it is not valid every error is logged "
                 "and the running configuration stays.\n");
}
