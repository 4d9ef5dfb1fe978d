/* Alerts for people: one line of text, a Slack-compatible message, and `newsd alerts`, the
 * terminal view tailing a desk's alerts from Kafka. */
#include "alert/alert_int.h"

#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka/kafka.h"

#define DIGEST_LINES 20 /* a Slack digest lists this many alerts, then counts the rest */

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

char *nd_alert_text(const json_t *alert)
{
    struct nd_buf out;
    nd_buf_init(&out, 8192);
    nd_buf_appendf(&out, "%s %s", str(alert, "priority"), str(alert, "why"));
    return nd_buf_steal(&out, NULL);
}

/* Slack mrkdwn needs &, < and > escaped. */
static void slack_escape(struct nd_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            nd_buf_append(out, "&amp;", 5);
        else if (*s == '<')
            nd_buf_append(out, "&lt;", 4);
        else if (*s == '>')
            nd_buf_append(out, "&gt;", 4);
        else
            nd_buf_append(out, s, 1);
    }
}

static void slack_line(struct nd_buf *out, const json_t *alert)
{
    const char *url = str(alert, "url");
    nd_buf_appendf(out, "*%s* ", str(alert, "priority"));
    if (*url) {
        nd_buf_appendf(out, "<%s|", url);
        slack_escape(out, str(alert, "headline"));
        nd_buf_appendf(out, ">");
    } else {
        slack_escape(out, str(alert, "headline"));
    }
    nd_buf_appendf(out, "\n");
    slack_escape(out, str(alert, "why"));
}

json_t *nd_alert_slack(json_t *const *alerts, size_t n)
{
    struct nd_buf text;
    json_t *msg;
    nd_buf_init(&text, 64u << 10);
    if (n == 1) {
        slack_line(&text, alerts[0]);
    } else {
        nd_buf_appendf(&text, "*%s: %zu alerts* (rate limit reached; digest)\n",
                       n ? str(alerts[0], "desk_title") : "", n);
        for (size_t i = 0; i < n && i < DIGEST_LINES; i++) {
            nd_buf_appendf(&text, "• ");
            slack_line(&text, alerts[i]);
            nd_buf_appendf(&text, "\n");
        }
        if (n > DIGEST_LINES)
            nd_buf_appendf(&text, "… and %zu more\n", n - DIGEST_LINES);
    }
    msg =
        json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}]}", "text", text.data ? text.data : "", "blocks",
                  "type", "section", "text", "type", "mrkdwn", "text", text.data ? text.data : "");
    nd_buf_free(&text);
    return msg;
}

/* --- newsd alerts ----------------------------------------------------------------------------- */

static void print_alert(const json_t *alert, int color)
{
    const char *prio = str(alert, "priority");
    const char *on = "", *off = color ? "\033[0m" : "";
    json_int_t t = json_integer_value(json_object_get(alert, "time_ms"));
    char ts[40];
    if (color)
        on = !strcmp(prio, "FLASH")    ? "\033[1;41;97m"
             : !strcmp(prio, "URGENT") ? "\033[1;33m"
                                       : "\033[2m";
    char today[40], when[40];
    nd_time_rfc3339(t / 1000, ts, sizeof(ts));
    nd_time_rfc3339(nd_now_ms() / 1000, today, sizeof(today));
    /* 2026-11-29T01:23:45Z: the time of day, with the date only when it is not today */
    if (!strncmp(ts, today, 10))
        snprintf(when, sizeof(when), "%s", ts + 11);
    else
        snprintf(when, sizeof(when), "%.10s %s", ts, ts + 11);
    printf("%s%-7s%s %s  %s%s%s\n        %s\n", on, prio, off, when, color ? "\033[1m" : "",
           str(alert, "headline"), off, str(alert, "why"));
    fflush(stdout);
}

int nd_alert_view_main(int argc, char **argv, volatile sig_atomic_t *stop)
{
    const char *desk = NULL, *brokers = NULL, *topic = NULL, *config = NULL;
    int from_beginning = 0, count = -1, shown = 0, opt, status = 1, color = isatty(1);
    struct nd_config *conf = nd_config_new();
    rd_kafka_conf_t *kconf = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = NULL;
    char kerr[512], group[128];

    static const struct option longopts[] = {{"desk", required_argument, NULL, 'd'},
                                             {"brokers", required_argument, NULL, 'b'},
                                             {"topic", required_argument, NULL, 't'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"from-beginning", no_argument, NULL, 'f'},
                                             {"count", required_argument, NULL, 'n'},
                                             {0}};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "d:b:t:c:fn:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            desk = optarg;
            break;
        case 'b':
            brokers = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'f':
            from_beginning = 1;
            break;
        case 'n':
            count = atoi(optarg);
            break;
        default:
            goto usage;
        }
    }
    if (!desk)
        goto usage;
    if (config && nd_config_load(conf, config, stderr) != 0) {
        fprintf(stderr, "newsd alerts: %s has errors\n", config);
        goto out;
    }
    if (!brokers)
        brokers = conf->kafka_brokers;
    if (!topic)
        topic = conf->topic_alerts;

    kconf = rd_kafka_conf_new();
    snprintf(group, sizeof(group), "newsd-alerts-view-%d", (int)getpid());
    if (rd_kafka_conf_set(kconf, "bootstrap.servers", brokers, kerr, sizeof(kerr)) ||
        rd_kafka_conf_set(kconf, "group.id", group, kerr, sizeof(kerr)) ||
        rd_kafka_conf_set(kconf, "enable.auto.commit", "false", kerr, sizeof(kerr)) ||
        rd_kafka_conf_set(kconf, "isolation.level", "read_committed", kerr, sizeof(kerr)) ||
        rd_kafka_conf_set(kconf, "log_level", "3", kerr, sizeof(kerr))) {
        fprintf(stderr, "newsd alerts: %s\n", kerr);
        goto out;
    }
    nd_kafka_conf_set_logger(kconf);
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, kconf, kerr, sizeof(kerr)))) {
        fprintf(stderr, "newsd alerts: %s\n", kerr);
        goto out;
    }
    kconf = NULL;
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    /* the topic may not exist yet: wait for it, it appears with the first alert */
    while (!*stop) {
        if (!rd_kafka_metadata(rk, 0, rkt, &md, 5000) && md->topic_cnt == 1 && !md->topics[0].err &&
            md->topics[0].partition_cnt > 0)
            break;
        if (md)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        usleep(500 * 1000);
    }
    if (!md) {
        status = 0;
        goto out;
    }
    parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int p = 0; p < md->topics[0].partition_cnt; p++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[p].id)->offset =
            from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    rd_kafka_assign(rk, parts);
    fprintf(stderr, "newsd alerts: desk %s on %s at %s%s\n", desk, topic, brokers,
            from_beginning ? " (from the beginning)" : "; waiting for alerts");
    while (!*stop && (count < 0 || shown < count)) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
        if (!msg)
            continue;
        /* alerts are keyed by desk: the key filters without decoding the others */
        if (!msg->err && msg->key && msg->key_len == strlen(desk) &&
            !memcmp(msg->key, desk, msg->key_len) && msg->payload) {
            json_error_t jerr;
            json_t *doc = json_loadb(msg->payload, msg->len, 0, &jerr);
            if (doc) {
                print_alert(doc, color);
                shown++;
            }
            json_decref(doc);
        }
        rd_kafka_message_destroy(msg);
    }
    status = 0;
    goto out;
usage:
    fprintf(stderr, "usage: newsd alerts --desk NAME [--brokers B] [--topic T] [-c CONFIG] "
                    "[--from-beginning] [--count N]\n");
    status = 2;
out:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    if (kconf)
        rd_kafka_conf_destroy(kconf);
    nd_config_destroy(conf);
    return status;
}
