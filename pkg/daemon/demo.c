/* `newsd demo`: the whole path on one machine with nothing installed but newsd. An in-process
 * Kafka-protocol broker (librdkafka's mock cluster; kcat can reach it on the printed address), the
 * bundled sample feeds, and a terminal view that reads each story back from the broker. */
#include "daemon/daemon.h"

#include "alert/alert.h"
#include "kafka/kafka.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MOD "demo"
#define DEMO_PARTITIONS 3

struct view {
    char brokers[256];
    const char *topic;
    const char *alerts_topic;
    unsigned long alerts;
    volatile sig_atomic_t *stop;
    volatile int done;
    int color;
    unsigned long shown;
};

static const char *str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* "USA+CHN" from an event's actor array; "-" when empty. */
static void actors(const json_t *arr, char *out, size_t outsz)
{
    size_t i, n = 0;
    const json_t *a;
    out[0] = '\0';
    json_array_foreach(arr, i, a) {
        const char *code = str(a, "code");
        if (code && n + strlen(code) + 2 < outsz)
            n += (size_t)snprintf(out + n, outsz - n, "%s%s", n ? "+" : "", code);
    }
    if (!n)
        snprintf(out, outsz, "-");
}

static void print_wrapped(const char *text, size_t max, const char *indent)
{
    size_t col = 0, n = 0;
    fputs(indent, stdout);
    for (const char *p = text; *p && n < max; p++, n++) {
        if (*p == '\n') {
            fputs("\n", stdout);
            fputs(indent, stdout);
            col = 0;
            continue;
        }
        if (*p == ' ' && col > 90) {
            fputs("\n", stdout);
            fputs(indent, stdout);
            col = 0;
            continue;
        }
        fputc(*p, stdout);
        /* count code points, not bytes, for the wrap column */
        if (((unsigned char)*p & 0xC0) != 0x80)
            col++;
    }
    if (n == max)
        fputs("...", stdout);
    fputs("\n", stdout);
}

static void show_story(struct view *view, const rd_kafka_message_t *msg)
{
    json_error_t jerr;
    json_t *doc = json_loadb(msg->payload, msg->len, 0, &jerr);
    const char *b = view->color ? "\033[1m" : "", *d = view->color ? "\033[2m" : "",
               *c = view->color ? "\033[36m" : "", *r = view->color ? "\033[0m" : "";
    const json_t *prov, *arr;
    size_t i;
    const json_t *it;

    if (!doc) {
        printf("(record at offset %lld is not JSON: %s)\n", (long long)msg->offset, jerr.text);
        return;
    }
    prov = json_object_get(doc, "provenance");
    view->shown++;
    printf("%s── %s  %s v%lld  [%s/%d@%lld]%s\n", c, str(doc, "id"),
           str(doc, "firstcreated") ? str(doc, "firstcreated") : "",
           (long long)json_integer_value(json_object_get(doc, "version")), rd_kafka_topic_name(msg->rkt),
           msg->partition, (long long)msg->offset, r);
    printf("   %s%s%s\n", b, str(doc, "headline") ? str(doc, "headline") : "(no headline)", r);
    printf("   %s", d);
    if (str(doc, "located"))
        printf("%s · ", str(doc, "located"));
    if (str(doc, "byline"))
        printf("By %s · ", str(doc, "byline"));
    printf("feed %s%s\n", str(prov, "feed") ? str(prov, "feed") : "?", r);
    if (str(doc, "body_text"))
        print_wrapped(str(doc, "body_text"), 300, "   ");
    if ((arr = json_object_get(doc, "entities")) && json_array_size(arr)) {
        printf("   %sentities:%s ", b, r);
        json_array_foreach(arr, i, it) {
            if (i >= 12)
                break;
            printf("%s%s[%s]", i ? ", " : "", str(it, "name") ? str(it, "name") : "?",
                   str(it, "type") ? str(it, "type") : "?");
        }
        printf("\n");
    }
    if ((arr = json_object_get(doc, "subject")) && json_array_size(arr)) {
        printf("   %stopics:%s ", b, r);
        json_array_foreach(arr, i, it) {
            if (i >= 5)
                break;
            printf("%s%s", i ? ", " : "", str(it, "name") ? str(it, "name") : "?");
        }
        printf("\n");
    }
    if ((arr = json_object_get(doc, "events")) && json_array_size(arr)) {
        json_array_foreach(arr, i, it) {
            char src[64], tgt[64];
            if (i >= 6) {
                printf("   %s(%zu more events)%s\n", d, json_array_size(arr) - i, r);
                break;
            }
            char conf[48] = "";
            const json_t *cf = json_object_get(it, "confidence");
            /* an event under events.min_confidence stays in the story but is neither published
             * nor alerted on: the view says so */
            int below = json_is_true(json_object_get(it, "below_threshold"));
            actors(json_object_get(it, "source"), src, sizeof(src));
            actors(json_object_get(it, "target"), tgt, sizeof(tgt));
            if (json_is_number(cf))
                snprintf(conf, sizeof(conf), below ? "  %.2f, below threshold: not published" : "  %.2f",
                         json_number_value(cf));
            printf("   %sevent:%s %s%-9s %s %s -> %s%s%s%s\n", b, r, below ? d : "",
                   str(it, "type") ? str(it, "type") : "?", str(it, "cameo") ? str(it, "cameo") : "",
                   src, tgt,
                   str(it, "status") && !strcmp(str(it, "status"), "planned") ? " (planned)" : "",
                   conf, below ? r : "");
        }
    }
    if (str(doc, "creditline"))
        printf("   %s%s%s\n", d, str(doc, "creditline"), r);
    printf("\n");
    fflush(stdout);
    json_decref(doc);
}

/* What a desk would see: priority, desk, why. */
static void show_alert(struct view *view, const rd_kafka_message_t *msg)
{
    json_t *doc = json_loadb(msg->payload, msg->len, 0, NULL);
    const char *pri = str(doc, "priority") ? str(doc, "priority") : "?";
    const char *color = !view->color               ? ""
                        : !strcmp(pri, "FLASH")    ? "\033[1;31m"
                        : !strcmp(pri, "URGENT")   ? "\033[1;33m"
                                                   : "\033[1;32m";
    if (!doc)
        return;
    view->alerts++;
    printf("%s▶ ALERT %-7s%s desk %s%s%s: %s\n\n", color, pri, view->color ? "\033[0m" : "",
           view->color ? "\033[1m" : "",
           str(doc, "desk_title") ? str(doc, "desk_title") : str(doc, "desk") ? str(doc, "desk") : "?",
           view->color ? "\033[0m" : "", str(doc, "why") ? str(doc, "why") : "");
    fflush(stdout);
    json_decref(doc);
}

static void *view_main(void *arg)
{
    struct view *view = arg;
    char errstr[512];
    rd_kafka_conf_t *kconf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *parts;

    rd_kafka_conf_set(kconf, "bootstrap.servers", view->brokers, errstr, sizeof(errstr));
    rd_kafka_conf_set(kconf, "group.id", "newsd-demo-view", errstr, sizeof(errstr));
    rd_kafka_conf_set(kconf, "enable.auto.commit", "false", errstr, sizeof(errstr));
    rd_kafka_conf_set(kconf, "log_level", "3", errstr, sizeof(errstr));
    nd_kafka_conf_set_logger(kconf);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, kconf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(kconf);
        nd_error(MOD, "view consumer: %s", errstr);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    /* assign, not subscribe: no group rebalance to wait for before the first story shows */
    parts = rd_kafka_topic_partition_list_new(2 * DEMO_PARTITIONS);
    for (int p = 0; p < DEMO_PARTITIONS; p++) {
        rd_kafka_topic_partition_list_add(parts, view->topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_topic_partition_list_add(parts, view->alerts_topic, p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    while (!view->done) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
        if (!msg)
            continue;
        if (!msg->err && !strcmp(rd_kafka_topic_name(msg->rkt), view->alerts_topic))
            show_alert(view, msg);
        else if (!msg->err)
            show_story(view, msg);
        rd_kafka_message_destroy(msg);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

/* --seconds N: a bounded run (tests, scripted demos) ends as Ctrl-C would. */
struct timer {
    volatile sig_atomic_t *stop;
    int64_t deadline_ms;
    volatile int done;
};

static void *timer_main(void *arg)
{
    struct timer *timer = arg;
    while (!timer->done && !*timer->stop && nd_mono_ms() < timer->deadline_ms)
        usleep(50 * 1000);
    *timer->stop = 1;
    return NULL;
}

/* 1 when port is free on 127.0.0.1 now (the board's default port may be another program's). */
static int port_free(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* The desks file through the config loader (FILE:LINE errors), then validated by pkg/alert. */
static int load_desks(struct nd_config *conf, const char *path, const char *models_dir,
                      struct nd_desks **desks)
{
    struct nd_buf yaml;
    int nerr = 1;
    nd_buf_init(&yaml, ND_PATH_MAX + 16);
    if (nd_buf_appendf(&yaml, "desks: \"%s\"\n", path) == ND_OK)
        nerr = nd_config_load_string(conf, yaml.data, yaml.len, "demo", stderr);
    nd_buf_free(&yaml);
    if (!nerr)
        *desks = nd_desks_load(conf->desks, models_dir, stderr, &nerr);
    if (nerr)
        fprintf(stderr, "newsd demo: %s has errors\n", path);
    return nerr;
}

static int add_feeds(struct nd_config *conf, const char *dir, int interval_s)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort), added = 0;
    char url[8192], id[256];

    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(name);
        if (len > 4 && (!strcmp(name + len - 4, ".xml") || !strcmp(name + len - 5, ".json"))) {
            snprintf(url, sizeof(url), "file://%s/%s", dir, name);
            snprintf(id, sizeof(id), "%.*s", (int)(strrchr(name, '.') - name), name);
            nd_config_add_feed(conf, id, url, interval_s);
            added++;
        }
        free(names[i]);
    }
    free(names);
    return added;
}

int nd_demo_main(const struct nd_demo_opts *demo, volatile sig_atomic_t *stop)
{
    const char *feeds_dir = demo->feeds_dir, *desks_path = demo->desks_path,
               *models_dir = demo->models_dir;
    int seconds = demo->seconds;
    char errstr[512], abs_dir[4096];
    rd_kafka_conf_t *kconf = rd_kafka_conf_new();
    rd_kafka_t *host = NULL;
    rd_kafka_mock_cluster_t *mock = NULL;
    struct nd_config *conf = nd_config_new();
    struct nd_daemon *daemon = NULL;
    struct view view = {.stop = stop, .color = isatty(STDOUT_FILENO)};
    pthread_t view_thread;
    struct timer timer = {0};
    pthread_t timer_thread;
    int status = 1, nfeeds, view_started = 0, timer_started = 0;

    if (!realpath(feeds_dir, abs_dir)) {
        fprintf(stderr, "newsd demo: feeds folder %s not found\n", feeds_dir);
        goto out;
    }
    /* The mock cluster lives inside a client handle; this one does nothing else. */
    rd_kafka_conf_set(kconf, "log_level", "3", errstr, sizeof(errstr));
    nd_kafka_conf_set_logger(kconf);
    host = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, errstr, sizeof(errstr));
    if (!host) {
        rd_kafka_conf_destroy(kconf);
        fprintf(stderr, "newsd demo: %s\n", errstr);
        goto out;
    }
    mock = rd_kafka_mock_cluster_new(host, 1);
    if (!mock) {
        fprintf(stderr, "newsd demo: cannot start the embedded Kafka-protocol broker\n");
        goto out;
    }
    rd_kafka_mock_topic_create(mock, conf->topic_stories, DEMO_PARTITIONS, 1);
    rd_kafka_mock_topic_create(mock, conf->topic_events, DEMO_PARTITIONS, 1);
    rd_kafka_mock_topic_create(mock, conf->topic_alerts, DEMO_PARTITIONS, 1);
    rd_kafka_mock_topic_create(mock, conf->topic_deadletter, 1, 1);
    rd_kafka_mock_topic_create(mock, conf->topic_state, 1, 1);
    snprintf(view.brokers, sizeof(view.brokers), "%s", rd_kafka_mock_cluster_bootstraps(mock));

    nd_log_set_level(ND_LOG_WARN);
    free(conf->kafka_brokers);
    conf->kafka_brokers = nd_strdup(view.brokers);
    conf->kafka_linger_ms = 5;
    conf->kafka_flush_timeout_ms = 3000;
    /* the board (and /metrics) on loopback only, on a port of its own: never a real newsd's */
    free(conf->server_bind);
    conf->server_bind = nd_strdup("127.0.0.1");
    conf->server_port = demo->port;
    if (demo->port && !port_free(demo->port)) {
        printf("newsd demo: port %d is taken; the board gets a free one (--port N to choose)\n",
               demo->port);
        conf->server_port = 0;
    }
    if ((nfeeds = add_feeds(conf, abs_dir, demo->interval_s > 0 ? demo->interval_s : 5)) <= 0) {
        fprintf(stderr, "newsd demo: no feeds (*.xml, *.json) in %s\n", abs_dir);
        goto out;
    }
    printf("newsd demo: embedded Kafka-protocol broker at %s\n"
           "            watch it from another terminal: kcat -b %s -C -t %s\n"
           "            %d sample feeds from %s, polled every %d s; Ctrl-C stops\n",
           view.brokers, view.brokers, conf->topic_stories, nfeeds, abs_dir,
           demo->interval_s > 0 ? demo->interval_s : 5);
    fflush(stdout);

    struct nd_daemon_opts opts = {.conf = conf, .models_dir = models_dir,
                                  .pick_port = !conf->server_port};
    if (desks_path && load_desks(conf, desks_path, models_dir, &opts.desks) != 0)
        goto out;
    if (!(daemon = nd_daemon_new(&opts, errstr, sizeof(errstr)))) {
        fprintf(stderr, "newsd demo: %s\n", errstr);
        goto out;
    }
    printf("            desk board: http://127.0.0.1:%d/board\n\n", nd_daemon_port(daemon));
    fflush(stdout);
    view.topic = conf->topic_stories;
    view.alerts_topic = conf->topic_alerts;
    if (pthread_create(&view_thread, NULL, view_main, &view) == 0)
        view_started = 1;

    if (seconds > 0) {
        timer.stop = stop;
        timer.deadline_ms = nd_mono_ms() + seconds * 1000LL;
        if (pthread_create(&timer_thread, NULL, timer_main, &timer) == 0)
            timer_started = 1;
    }
    status = nd_daemon_run(daemon, stop);
    /* give the view a moment to print the last records */
    usleep(500 * 1000);
    printf("newsd demo: stopped after showing %lu stories and %lu alerts\n", view.shown,
           view.alerts);
out:
    if (timer_started) {
        timer.done = 1;
        pthread_join(timer_thread, NULL);
    }
    if (view_started) {
        view.done = 1;
        pthread_join(view_thread, NULL);
    }
    nd_daemon_destroy(daemon);
    if (mock)
        rd_kafka_mock_cluster_destroy(mock);
    if (host)
        rd_kafka_destroy(host);
    nd_config_destroy(conf);
    return status;
}
