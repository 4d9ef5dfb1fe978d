/* config: the one table of configuration keys, YAML loading (libyaml), environment overrides and
 * validation. docs/CONFIG.md and `newsd check-config` are generated from the same table.
 *
 * Keys are dotted paths of the YAML file ("kafka.brokers"). Every scalar key can be overridden from
 * the environment as NEWSD_ + the key upper-cased with '.' as '_' (NEWSD_KAFKA_BROKERS). Keys under
 * `kafka.properties.` pass straight to librdkafka (validated by librdkafka at load time); from the
 * environment as NEWSD_KAFKA_PROPERTIES_<NAME> with '_' for '.' (NEWSD_KAFKA_PROPERTIES_SASL_PASSWORD).
 *
 * Lists of records (`feeds:`, and `desks:` when it comes) are described by a table of their own keys
 * plus one row in the table of lists, so adding a section is adding tables, not loader code.
 *
 * Not thread-safe: a config is built on one thread, then only read. */
#ifndef ND_CONFIG_H
#define ND_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "core/core.h"

struct nd_kv {
    char *key;
    char *value;
};

struct nd_feed_conf {
    char *id;
    char *url;
    int interval_s;      /* poll interval */
    int fulltext;        /* fetch the article page when an item has only a summary */
    char *format;        /* "auto" (detect) or a format name */
    struct nd_kv *headers; /* extra request headers; "${VAR}" values are read from the environment */
    size_t nheaders;
    int line;            /* where it was defined, for messages */
};

struct nd_config {
    char *log_level;
    /* kafka */
    char *kafka_brokers;
    char *kafka_client_id;
    char *kafka_compression;
    int kafka_transactions;
    char *kafka_transactional_id;
    int kafka_linger_ms;
    int kafka_commit_records;
    int kafka_commit_interval_ms;
    int kafka_transaction_timeout_ms;
    int kafka_flush_timeout_ms;
    char *topic_stories, *topic_events, *topic_alerts, *topic_deadletter, *topic_state;
    struct nd_kv *kafka_props; /* passthrough to librdkafka */
    size_t nkafka_props;
    /* fetch */
    int fetch_timeout_ms;
    int fetch_connect_timeout_ms;
    long fetch_max_body_bytes;
    int fetch_max_redirects;
    int fetch_max_parallel;
    int fetch_per_host;
    int fetch_default_interval_s;
    int fetch_min_interval_s;
    int fetch_max_interval_s;
    int fetch_backoff_max_s;
    int fetch_recent_ids;
    char *fetch_user_agent;
    char *fetch_ca_file;
    int fetch_stall_timeout_s;
    /* consume: raw stories from Kafka topics */
    char *consume_topics;
    char *consume_group_id;
    /* cluster: feeds from a Kafka topic shared by a consumer group (empty topic: from this file) */
    char *cluster_feeds_topic;
    char *cluster_group_id;
    int cluster_session_timeout_ms;
    int cluster_transaction_timeout_ms;
    /* pipeline */
    int queue_capacity;
    int enrich_threads;
    /* memory: the budget of buffered bytes (core/membudget.h) */
    int memory_limit_mb;
    /* server */
    char *server_bind;
    int server_port;
    /* board: the live desk board on the server (pkg/board) */
    int board_enabled;
    char *board_token;
    char *board_password;
    int board_recent_per_desk;
    int board_max_clients;
    int board_client_queue;
    int board_story_cache;
    int board_replay_max;
    /* reload */
    int reload_watch_file;
    /* events */
    double events_min_confidence;
    /* alerts */
    int alerts_window_s;
    int alerts_dedup_distance;
    int alerts_dedup_capacity;
    int alerts_developments_max;
    int alerts_corroboration;
    int alerts_escalate_intensity;
    int alerts_restore;
    char *alerts_webhook_group;
    int alerts_webhook_timeout_ms;
    int alerts_webhook_retry_max_s;
    int alerts_webhook_max_age_s;
    /* The `desks:` section as JSON, validated by pkg/alert (nd_desks_load); NULL when absent.
     * Every object carries "@file", "@line" and "@lines" (key -> line) for FILE:LINE errors.
     * `desks: FILE` loads the list from FILE (relative to the config file). */
    json_t *desks;
    /* feeds */
    struct nd_feed_conf *feeds;
    size_t nfeeds;
    char *path; /* the file it came from */
};

/* Defaults for every key. Caller owns the result: nd_config_destroy. */
struct nd_config *nd_config_new(void);
void nd_config_destroy(struct nd_config *conf);

/* Load a YAML file on top of the defaults, then the environment. Every error is reported, one line
 * each as "FILE:LINE: message", into `errors` (may be NULL); returns the number of errors. */
int nd_config_load(struct nd_config *conf, const char *path, FILE *errors);
/* Load from a YAML string (tests); `name` is used in messages. */
int nd_config_load_string(struct nd_config *conf, const char *yaml, size_t len, const char *name,
                          FILE *errors);
/* Apply NEWSD_* environment overrides. Returns the number of errors (bad values). */
int nd_config_apply_env(struct nd_config *conf, FILE *errors);

/* Print the reference documentation (Markdown) generated from the table. */
void nd_config_print_doc(FILE *out);

/* Does the reloadable part differ? Feeds (and later desks) are what SIGHUP applies; every other key
 * needs a restart. Writes the first differing non-reloadable key name into `key` (may be NULL) and
 * returns 1 when one differs. */
int nd_config_restart_needed(const struct nd_config *a, const struct nd_config *b, char *key,
                             size_t keysz);

/* Watch a config file for changes (inotify on its folder, so an editor's rename and a Kubernetes
 * ConfigMap update, which swaps a symlink, are both seen). */
struct nd_config_watch;
struct nd_config_watch *nd_config_watch_new(const char *path, char *errstr, size_t errsz);
/* Non-blocking: 1 when the file (or the folder's ..data link) changed since the last call. */
int nd_config_watch_changed(struct nd_config_watch *watch);
void nd_config_watch_destroy(struct nd_config_watch *watch);

/* Feed definitions as records of the cluster's feeds topic (cluster.feeds_topic): the record's key is
 * the feed id, its value a JSON object with the keys of a `feeds:` entry ("url", "interval_s",
 * "fulltext", "format", "headers"; "id", when present, must equal the key), checked by the same
 * table as the YAML file. Records come from outside: values are capped (ND_FEEDREC_MAX bytes, 64
 * headers). Fills *feed (caller frees its fields with nd_config_feed_clear) and returns ND_OK, or
 * ND_ERR_INVALID with the reason in errstr and *feed zeroed. */
#define ND_FEEDREC_MAX 65536
enum nd_err nd_config_feed_from_json(const char *key, size_t keylen, const char *value, size_t len,
                                     struct nd_feed_conf *feed, char *errstr, size_t errsz);
/* The record value of a feed (a new JSON object, caller owns it). */
json_t *nd_config_feed_to_json(const struct nd_feed_conf *feed);
/* Deep copy of *src into *dst (dst's previous fields are not freed). */
void nd_config_feed_copy(struct nd_feed_conf *dst, const struct nd_feed_conf *src);
/* Free the fields of *feed and zero it. NULL is a no-op. */
void nd_config_feed_clear(struct nd_feed_conf *feed);

/* Add a feed programmatically (the demo); copies the strings. */
struct nd_feed_conf *nd_config_add_feed(struct nd_config *conf, const char *id, const char *url,
                                        int interval_s);

#endif
