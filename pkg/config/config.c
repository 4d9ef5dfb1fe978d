#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum key_type { KT_STR, KT_INT, KT_LONG, KT_BOOL };

struct key_def {
    const char *name;
    enum key_type type;
    const char *def;
    size_t offset;
    long min, max;      /* for numbers */
    const char *doc;
};

#define C(field) offsetof(struct nd_config, field)
#define F(field) offsetof(struct nd_feed_conf, field)

/* The table (Fluent Bit's config_map). Order is the order of the docs. */
static const struct key_def config_keys[] = {
    {"log_level", KT_STR, "info", C(log_level), 0, 0, "Log level: debug, info, warn, error."},
    {"kafka.brokers", KT_STR, "127.0.0.1:9092", C(kafka_brokers), 0, 0,
     "Bootstrap servers (librdkafka bootstrap.servers)."},
    {"kafka.client_id", KT_STR, "newsd", C(kafka_client_id), 0, 0, "Kafka client.id."},
    {"kafka.compression", KT_STR, "zstd", C(kafka_compression), 0, 0,
     "Record compression: none, gzip, snappy, lz4, zstd."},
    {"kafka.transactions", KT_BOOL, "true", C(kafka_transactions), 0, 0,
     "Write stories, events and feed state in Kafka transactions: exactly once for read_committed "
     "consumers. Off: idempotent producer, at-least-once (consumers drop duplicates by ce_id)."},
    {"kafka.transactional_id", KT_STR, "newsd-0", C(kafka_transactional_id), 0, 0,
     "Transactional id when kafka.transactions is on; unique per instance."},
    {"kafka.linger_ms", KT_INT, "5", C(kafka_linger_ms), 0, 60000, "Producer batching delay (ms)."},
    {"kafka.commit_records", KT_INT, "1000", C(kafka_commit_records), 1, 1000000,
     "Commit the open transaction once it holds this many records."},
    {"kafka.commit_interval_ms", KT_INT, "100", C(kafka_commit_interval_ms), 1, 600000,
     "Commit the open transaction at least this often (ms): the latency/throughput trade-off."},
    {"kafka.transaction_timeout_ms", KT_INT, "60000", C(kafka_transaction_timeout_ms), 1000, 900000,
     "librdkafka transaction.timeout.ms: how long a transaction may stay open, e.g. while the "
     "broker is away, before it is aborted and redone."},
    {"kafka.flush_timeout_ms", KT_INT, "10000", C(kafka_flush_timeout_ms), 0, 600000,
     "On shutdown, how long to wait for in-flight records to be delivered (ms)."},
    {"kafka.topics.stories", KT_STR, "news.stories.v1", C(topic_stories), 0, 0, "Enriched stories."},
    {"kafka.topics.events", KT_STR, "news.events.v1", C(topic_events), 0, 0, "Diplomatic events."},
    {"kafka.topics.alerts", KT_STR, "news.alerts.v1", C(topic_alerts), 0, 0, "Desk alerts."},
    {"kafka.topics.deadletter", KT_STR, "news.deadletter.v1", C(topic_deadletter), 0, 0,
     "Inputs that could not be processed."},
    {"kafka.topics.state", KT_STR, "newsd.state.v1", C(topic_state), 0, 0,
     "Feed state (compacted, keyed by feed id)."},
    {"fetch.timeout_ms", KT_INT, "30000", C(fetch_timeout_ms), 100, 600000,
     "Whole-request timeout (ms)."},
    {"fetch.connect_timeout_ms", KT_INT, "10000", C(fetch_connect_timeout_ms), 100, 120000,
     "Connect timeout (ms)."},
    {"fetch.max_body_bytes", KT_LONG, "10485760", C(fetch_max_body_bytes), 1024, 1L << 30,
     "Largest response body accepted, after decompression (bytes)."},
    {"fetch.max_redirects", KT_INT, "5", C(fetch_max_redirects), 0, 20, "Redirects followed."},
    {"fetch.max_parallel", KT_INT, "64", C(fetch_max_parallel), 1, 10000,
     "Requests in flight at once, all hosts."},
    {"fetch.per_host", KT_INT, "2", C(fetch_per_host), 1, 100, "Requests in flight at once per host."},
    {"fetch.default_interval_s", KT_INT, "300", C(fetch_default_interval_s), 1, 86400,
     "Poll interval of feeds that do not set one (s)."},
    {"fetch.min_interval_s", KT_INT, "1", C(fetch_min_interval_s), 1, 86400,
     "Lower bound on any poll interval, whatever the server hints (s)."},
    {"fetch.max_interval_s", KT_INT, "3600", C(fetch_max_interval_s), 1, 604800,
     "Upper bound on hinted intervals (s)."},
    {"fetch.backoff_max_s", KT_INT, "1800", C(fetch_backoff_max_s), 1, 86400,
     "Cap of the exponential backoff after errors (s)."},
    {"fetch.recent_ids", KT_INT, "2048", C(fetch_recent_ids), 16, 1000000,
     "Item ids remembered per feed to emit only new items."},
    {"fetch.user_agent", KT_STR, "newsd/" NEWSD_VERSION " (+https://github.com/newsd)",
     C(fetch_user_agent), 0, 0, "User-Agent header."},
    {"pipeline.queue_capacity", KT_INT, "1024", C(queue_capacity), 1, 1000000,
     "Stories held between two stages; a full queue pauses the stage before it."},
    {"pipeline.enrich_threads", KT_INT, "0", C(enrich_threads), 0, 256,
     "Enrichment worker threads; 0 means one per core."},
    {"alerts.window_s", KT_INT, "86400", C(alerts_window_s), 60, 2592000,
     "A development stays open this long after its last story (s)."},
    {"alerts.dedup_distance", KT_INT, "6", C(alerts_dedup_distance), 0, 15,
     "SimHash Hamming distance at which two stories are near-duplicates."},
    {"alerts.dedup_capacity", KT_INT, "100000", C(alerts_dedup_capacity), 16, 10000000,
     "Recent story fingerprints kept for near-duplicate detection."},
    {"alerts.developments_max", KT_INT, "100000", C(alerts_developments_max), 16, 10000000,
     "Developments kept; the least recently active are forgotten first."},
    {"alerts.corroboration", KT_INT, "3", C(alerts_corroboration), 2, 1000,
     "Sources (feeds) carrying a development at which it escalates once."},
    {"alerts.escalate_intensity", KT_INT, "2", C(alerts_escalate_intensity), 1, 20,
     "Rise of the strongest |intensity| (Goldstein scale) that counts as an escalation."},
    {"alerts.restore", KT_BOOL, "true", C(alerts_restore), 0, 0,
     "At start, rebuild developments from the alerts of the last alerts.window_s."},
    {"alerts.webhook_group", KT_STR, "newsd-webhooks", C(alerts_webhook_group), 0, 0,
     "Consumer group of the webhook dispatcher (its offsets record what was delivered)."},
    {"alerts.webhook_timeout_ms", KT_INT, "10000", C(alerts_webhook_timeout_ms), 100, 120000,
     "Timeout of one webhook POST (ms)."},
    {"alerts.webhook_retry_max_s", KT_INT, "60", C(alerts_webhook_retry_max_s), 1, 3600,
     "Cap of the exponential backoff between failed webhook POSTs (s)."},
    {"alerts.webhook_max_age_s", KT_INT, "3600", C(alerts_webhook_max_age_s), 60, 604800,
     "Alerts older than this are not sent to webhooks (a first start does not replay history)."},
    {"server.bind", KT_STR, "0.0.0.0", C(server_bind), 0, 0, "Address of the health/metrics server."},
    {"server.port", KT_INT, "8080", C(server_port), 0, 65535,
     "Port of /healthz, /readyz, /metrics; 0 turns the server off."},
};

static const struct key_def feed_keys[] = {
    {"id", KT_STR, NULL, F(id), 0, 0, "Feed id: stable, unique; keys its state and story ids."},
    {"url", KT_STR, NULL, F(url), 0, 0, "http(s):// or file:// URL of the feed."},
    {"interval_s", KT_INT, "0", F(interval_s), 0, 86400,
     "Poll interval (s); 0 takes fetch.default_interval_s."},
    {"fulltext", KT_BOOL, "false", F(fulltext), 0, 0,
     "Fetch the article page of items that carry only a summary."},
    {"format", KT_STR, "auto", F(format), 0, 0, "auto, rss, atom, jsonfeed or ninjs."},
};

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

/* --- setting values -------------------------------------------------------------------------- */

static int set_value(void *base, const struct key_def *k, const char *value, char *err, size_t errsz)
{
    char *end;
    void *field = (char *)base + k->offset;

    switch (k->type) {
    case KT_STR:
        free(*(char **)field);
        *(char **)field = nd_strdup(value);
        return 0;
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
        snprintf(err, errsz, "%s: expected a boolean (true/false), got \"%s\"", k->name, value);
        return -1;
    case KT_INT:
    case KT_LONG: {
        long v;
        errno = 0;
        v = strtol(value, &end, 10);
        if (errno || end == value || *end) {
            snprintf(err, errsz, "%s: expected an integer, got \"%s\"", k->name, value);
            return -1;
        }
        if (v < k->min || v > k->max) {
            snprintf(err, errsz, "%s: %ld is out of range [%ld, %ld]", k->name, v, k->min, k->max);
            return -1;
        }
        if (k->type == KT_INT)
            *(int *)field = (int)v;
        else
            *(long *)field = v;
        return 0;
    }
    }
    return -1;
}

static void apply_defaults(void *base, const struct key_def *keys, size_t n)
{
    char err[256];
    for (size_t i = 0; i < n; i++)
        if (keys[i].def)
            set_value(base, &keys[i], keys[i].def, err, sizeof(err));
}

static void free_strings(void *base, const struct key_def *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (keys[i].type == KT_STR) {
            char **p = (char **)((char *)base + keys[i].offset);
            free(*p);
            *p = NULL;
        }
    }
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

struct nd_config *nd_config_new(void)
{
    struct nd_config *conf = nd_xcalloc(1, sizeof(*conf));
    apply_defaults(conf, config_keys, NKEYS(config_keys));
    return conf;
}

static void feed_free(struct nd_feed_conf *feed)
{
    free_strings(feed, feed_keys, NKEYS(feed_keys));
    kv_free(feed->headers, feed->nheaders);
}

void nd_config_destroy(struct nd_config *conf)
{
    if (!conf)
        return;
    free_strings(conf, config_keys, NKEYS(config_keys));
    kv_free(conf->kafka_props, conf->nkafka_props);
    for (size_t i = 0; i < conf->nfeeds; i++)
        feed_free(&conf->feeds[i]);
    free(conf->feeds);
    json_decref(conf->desks);
    free(conf->path);
    free(conf);
}

struct nd_feed_conf *nd_config_add_feed(struct nd_config *conf, const char *id, const char *url,
                                        int interval_s)
{
    struct nd_feed_conf *feed;
    conf->feeds = realloc(conf->feeds, (conf->nfeeds + 1) * sizeof(*conf->feeds));
    if (!conf->feeds)
        abort();
    feed = &conf->feeds[conf->nfeeds++];
    memset(feed, 0, sizeof(*feed));
    apply_defaults(feed, feed_keys, NKEYS(feed_keys));
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
};

static void report(struct loader *ld, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(struct loader *ld, const yaml_node_t *node, const char *fmt, ...)
{
    va_list ap;
    ld->nerr++;
    if (!ld->errors)
        return;
    fprintf(ld->errors, "%s:%lu: ", ld->name, node ? (unsigned long)node->start_mark.line + 1 : 0UL);
    va_start(ap, fmt);
    vfprintf(ld->errors, fmt, ap);
    va_end(ap);
    fputc('\n', ld->errors);
}

static const char *scalar(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

static const struct key_def *find_key(const struct key_def *keys, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(keys[i].name, name))
            return &keys[i];
    return NULL;
}

static void set_from_node(struct loader *ld, void *base, const struct key_def *k, yaml_node_t *node)
{
    char err[512];
    const char *v = scalar(node);
    if (!v) {
        report(ld, node, "%s: expected a scalar value", k->name);
        return;
    }
    if (set_value(base, k, v, err, sizeof(err)) != 0)
        report(ld, node, "%s", err);
}

static void load_headers(struct loader *ld, struct nd_feed_conf *feed, yaml_node_t *node)
{
    if (node->type != YAML_MAPPING_NODE) {
        report(ld, node, "headers: expected a mapping of header names to values");
        return;
    }
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&ld->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(&ld->doc, p->value);
        if (!scalar(kn) || !scalar(vn)) {
            report(ld, kn, "headers: names and values must be strings");
            continue;
        }
        kv_add(&feed->headers, &feed->nheaders, scalar(kn), scalar(vn));
    }
}

static void load_feed(struct loader *ld, yaml_node_t *node)
{
    struct nd_feed_conf *feed;
    if (node->type != YAML_MAPPING_NODE) {
        report(ld, node, "feeds: each feed must be a mapping with at least id and url");
        return;
    }
    feed = nd_config_add_feed(ld->conf, NULL, NULL, 0);
    feed->line = (int)node->start_mark.line + 1;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&ld->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(&ld->doc, p->value);
        const char *name = scalar(kn);
        const struct key_def *k;
        if (!name) {
            report(ld, kn, "feeds: keys must be strings");
            continue;
        }
        if (!strcmp(name, "headers")) {
            load_headers(ld, feed, vn);
            continue;
        }
        if (!(k = find_key(feed_keys, NKEYS(feed_keys), name))) {
            report(ld, kn, "feeds: unknown key \"%s\"", name);
            continue;
        }
        set_from_node(ld, feed, k, vn);
    }
    if (!feed->id || !*feed->id)
        report(ld, node, "feeds: a feed needs an id");
    if (!feed->url || !*feed->url)
        report(ld, node, "feeds: feed \"%s\" needs a url", feed->id ? feed->id : "?");
    else if (strncmp(feed->url, "http://", 7) && strncmp(feed->url, "https://", 8) &&
             strncmp(feed->url, "file://", 7))
        report(ld, node, "feeds: feed \"%s\": url \"%s\" is not http(s):// or file://",
               feed->id ? feed->id : "?", feed->url);
    for (size_t i = 0; feed->id && i + 1 < ld->conf->nfeeds; i++)
        if (ld->conf->feeds[i].id && !strcmp(ld->conf->feeds[i].id, feed->id))
            report(ld, node, "feeds: duplicate feed id \"%s\" (first at line %d)", feed->id,
                   ld->conf->feeds[i].line);
}

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
    char path[4096], *data = NULL;
    const char *slash = strrchr(ld->name, '/');
    size_t len;
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    struct loader sub = {.conf = ld->conf, .name = path, .errors = ld->errors};
    enum nd_err err;

    if (rel[0] == '/' || !slash)
        snprintf(path, sizeof(path), "%s", rel);
    else
        snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - ld->name), ld->name, rel);
    if ((err = nd_file_read(path, DESKS_FILE_MAX, &data, &len)) != ND_OK) {
        report(ld, node, "desks: cannot read %s: %s", path, nd_err_str(err));
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
}

/* Walk a mapping, building dotted key names. */
static void load_mapping(struct loader *ld, yaml_node_t *node, const char *prefix)
{
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&ld->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(&ld->doc, p->value);
        const char *name = scalar(kn);
        char full[512];
        const struct key_def *k;

        if (!name) {
            report(ld, kn, "keys must be strings");
            continue;
        }
        snprintf(full, sizeof(full), "%s%s%s", prefix, *prefix ? "." : "", name);
        if (!strcmp(full, "feeds")) {
            if (vn->type != YAML_SEQUENCE_NODE) {
                report(ld, vn, "feeds: expected a list of feeds");
                continue;
            }
            for (yaml_node_item_t *it = vn->data.sequence.items.start;
                 it < vn->data.sequence.items.top; it++)
                load_feed(ld, yaml_document_get_node(&ld->doc, *it));
            continue;
        }
        if (!strcmp(full, "desks")) {
            if (scalar(vn) && !*scalar(vn)) {
                json_decref(ld->conf->desks); /* `desks:` with nothing: no desks */
                ld->conf->desks = NULL;
            } else if (scalar(vn)) {
                load_desks_file(ld, vn, scalar(vn));
            } else {
                json_decref(ld->conf->desks);
                ld->conf->desks = node_json(ld, &ld->doc, vn, ld->name, 0);
            }
            continue;
        }
        if (!strncmp(full, "kafka.properties.", 17)) {
            if (!scalar(vn))
                report(ld, vn, "%s: expected a scalar value", full);
            else
                kv_add(&ld->conf->kafka_props, &ld->conf->nkafka_props, full + 17, scalar(vn));
            continue;
        }
        if ((k = find_key(config_keys, NKEYS(config_keys), full))) {
            set_from_node(ld, ld->conf, k, vn);
            continue;
        }
        if (vn->type == YAML_MAPPING_NODE) {
            load_mapping(ld, vn, full);
            continue;
        }
        report(ld, kn, "unknown key \"%s\"", full);
    }
}

int nd_config_load_string(struct nd_config *conf, const char *yaml, size_t len, const char *name,
                          FILE *errors)
{
    yaml_parser_t parser;
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
        load_mapping(&ld, root, "");
    else if (root)
        report(&ld, root, "the configuration must be a mapping of keys");
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
    return nerr;
}

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
        const char *v;
        env_name(config_keys[i].name, name, sizeof(name));
        if (!(v = getenv(name)))
            continue;
        if (set_value(conf, &config_keys[i], v, err, sizeof(err)) != 0) {
            nerr++;
            if (errors)
                fprintf(errors, "environment %s: %s\n", name, err);
        }
    }
    return nerr;
}

static const char *type_name(enum key_type t)
{
    switch (t) {
    case KT_STR: return "string";
    case KT_INT:
    case KT_LONG: return "integer";
    case KT_BOOL: return "boolean";
    }
    return "?";
}

static void doc_table(FILE *out, const struct key_def *keys, size_t n, int with_env)
{
    char env[256];
    fprintf(out, "| key | type | default |%s description |\n| --- | --- | --- |%s --- |\n",
            with_env ? " environment |" : "", with_env ? " --- |" : "");
    for (size_t i = 0; i < n; i++) {
        env_name(keys[i].name, env, sizeof(env));
        fprintf(out, "| `%s` | %s | %s%s%s |", keys[i].name, type_name(keys[i].type),
                keys[i].def && *keys[i].def ? "`" : "", keys[i].def ? keys[i].def : "(required)",
                keys[i].def && *keys[i].def ? "`" : "");
        if (with_env)
            fprintf(out, " `%s` |", env);
        fprintf(out, " %s", keys[i].doc);
        if (keys[i].type == KT_INT || keys[i].type == KT_LONG)
            fprintf(out, " Range %ld..%ld.", keys[i].min, keys[i].max);
        fprintf(out, " |\n");
    }
}

void nd_config_print_doc(FILE *out)
{
    fprintf(out, "# newsd configuration reference\n\n"
                 "Generated by `newsd config-doc` from the table in pkg/config/config.c; do not edit.\n\n"
                 "One YAML file (`newsd run -c FILE`). Nested mappings make dotted keys: `kafka: "
                 "{brokers: ...}` is `kafka.brokers`. Every key below can be overridden from the "
                 "environment by the name in its row. Unknown keys are errors, reported with file and "
                 "line by `newsd check-config FILE`.\n\n## Keys\n\n");
    doc_table(out, config_keys, NKEYS(config_keys), 1);
    fprintf(out, "\n`kafka.properties.*`: any librdkafka configuration property, passed through as "
                 "is (`kafka: {properties: {socket.keepalive.enable: true}}`). A property librdkafka "
                 "rejects stops startup with the property named.\n\n"
                 "## Feeds\n\n`feeds:` is a list; each feed is a mapping of:\n\n");
    doc_table(out, feed_keys, NKEYS(feed_keys), 0);
    fprintf(out, "| `headers` | mapping | | Extra request headers. A value `${VAR}` is read from the "
                 "environment at request time and never logged. |\n");
    fprintf(out, "\n## Desks\n\n`desks:` is a list of desks, or the name of a YAML file holding "
                 "it (relative to the config file). Their rules, priorities and webhooks are "
                 "described in docs/ALERTS.md; `newsd check-config` validates them too.\n");
}
