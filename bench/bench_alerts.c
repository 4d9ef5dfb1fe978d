/* bench_alerts: time to alert, against a real broker.
 *
 *   bench_alerts [BOOTSTRAP]      (default: start a broker with tests/kafka/broker.sh)
 *   bench_alerts --stage-only     the alert stage's CPU cost alone, no Kafka
 *
 * Time to alert is measured from a story entering the alert stage (nd_publish_story: the publish
 * hook runs the alert stage on it) to its alert being readable by a read_committed consumer of the
 * alerts topic: the transaction that carries story and alert has committed and the consumer has
 * fetched it. Stories come at a paced 1,000 a second for 10 s; each is a new development for a
 * catch-all desk (plus whichever of the six example desks of deploy/desks.yaml match it).
 *
 * Baseline in the same run: the same stories with no alert stage, timed to the story record being
 * readable on the stories topic. Each figure is the median of RUNS runs. Also: the alert stage's
 * own CPU cost per story, without Kafka. */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_broker.h"
#include "alert/alert.h"
#include "publish/publish.h"
#include "bench_stats.h"

#define RATE 1000
#define SECONDS 10
#define N (RATE * SECONDS)
#define RUNS 3 /* figures are medians of this many runs: the machine may be shared */

static char brokers[256];
static int every = 1; /* 1 story in `every` is news for the desks; the others match none */
static _Atomic int64_t sent[N];
static double lat[N];
static struct nd_story *stories[N];
static atomic_int received;

static const char *const countries[][2] = {
    {"CHN", "China"},  {"USA", "United States"},  {"DEU", "Germany"}, {"FRA", "France"},
    {"JPN", "Japan"},  {"IRN", "Iran"},           {"BRA", "Brazil"},  {"IND", "India"},
    {"RUS", "Russia"}, {"GBR", "United Kingdom"}, {"ISR", "Israel"},  {"MEX", "Mexico"}};
/* Words are made of three syllables: 8,000 of them, so texts differ the way real stories do. */
static const char *const syllables[] = {"ka",  "to",  "mi",  "ran", "sel", "bor", "ve",
                                        "lin", "gra", "dos", "pe",  "nu",  "tar", "shi",
                                        "mo",  "cle", "fa",  "rix", "du",  "wen"};

static int alerting(int i)
{
    return i % every == 0;
}

static struct nd_story *make_story(int i)
{
    struct nd_story *story = nd_story_new();
    struct nd_buf body;
    char buf[128];
    uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 7);
    int a = i % 12, b = (i / 12 + 1 + i) % 12;
    if (a == b)
        b = (b + 1) % 12;
    snprintf(buf, sizeof(buf), "bench-%d", i);
    nd_story_set(&story->guid, buf);
    snprintf(buf, sizeof(buf), "feed-%d", i % 50);
    nd_story_set(&story->feed_id, buf);
    snprintf(buf, sizeof(buf), "Bench story %d: %s and %s", i, countries[a][1], countries[b][1]);
    nd_story_set(&story->headline, buf);
    /* distinct texts: no story is a near-copy of another */
    nd_buf_init(&body, 8192);
    for (int w = 0; w < 300; w++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        nd_buf_appendf(&body, "%s%s%s%s", w ? " " : "", syllables[x % 20], syllables[(x >> 8) % 20],
                       syllables[(x >> 16) % 20]);
    }
    story->body_text = nd_buf_steal(&body, NULL);
    story->fetched_at_ms = nd_now_ms();
    nd_story_assign_id(story);
    json_decref(story->annotations);
    if (!alerting(i)) {
        /* Antarctica, and a word the catch-all desk excludes: no desk wants this one */
        story->annotations = json_pack("{s:[{s:s, s:s, s:{s:s}}]}", "entities", "type", "LOC",
                                       "name", "Antarctica", "ids", "iso3166", "ATA");
        snprintf(buf, sizeof(buf), "Bench story %d quiet", i);
        nd_story_set(&story->headline, buf);
        return story;
    }
    story->annotations = json_pack(
        "{s:[{s:s, s:s, s:{s:s}, s:s, s:f}, {s:s, s:s, s:{s:s}, s:s, s:f}], s:[{s:s, s:s, s:f}]}",
        "entities", "type", "GPE", "name", countries[a][1], "ids", "iso3166", countries[a][0],
        "kind", "country", "salience", 0.8, "type", "GPE", "name", countries[b][1], "ids",
        "iso3166", countries[b][0], "kind", "country", "salience", 0.6, "subject", "uri",
        "http://cv.iptc.org/newscodes/mediatopic/11000000", "name", "politics", "confidence", 0.8);
    return story;
}

static struct nd_desks *bench_desks(void)
{
    char path[4096], *data, *yaml;
    size_t len;
    struct nd_config *conf = nd_config_new();
    struct nd_desks *desks;
    int nerr = 0;
    snprintf(path, sizeof(path), "%s/deploy/desks.yaml", NEWSD_SOURCE_DIR);
    if (nd_file_read(path, 1 << 20, &data, &len) != ND_OK)
        exit(1);
    yaml = malloc(len + 128);
    snprintf(yaml, len + 128,
             "%s  - name: all\n    title: Everything\n    match: {none: [{keywords: [quiet]}]}\n",
             data);
    nerr = nd_config_load_string(conf, yaml, strlen(yaml), path, stderr);
    desks = nd_desks_load(conf->desks, NULL, stderr, &nerr);
    if (nerr || !desks)
        exit(1);
    free(yaml);
    free(data);
    nd_config_destroy(conf);
    return desks;
}

static struct nd_config *bench_config(int interval_ms, const char *tag)
{
    struct nd_config *conf = nd_config_new();
    char name[128];
    long long now = (long long)nd_now_ms();
    conf->kafka_commit_interval_ms = interval_ms;
    free(conf->kafka_brokers);
    conf->kafka_brokers = nd_strdup(brokers);
    snprintf(name, sizeof(name), "bench-alerts-%s-%d-%lld", tag, getpid(), now);
    free(conf->kafka_transactional_id);
    conf->kafka_transactional_id = nd_strdup(name);
    snprintf(name, sizeof(name), "bench.alerts.%s.%lld.stories", tag, now);
    free(conf->topic_stories);
    conf->topic_stories = nd_strdup(name);
    snprintf(name, sizeof(name), "bench.alerts.%s.%lld.alerts", tag, now);
    free(conf->topic_alerts);
    conf->topic_alerts = nd_strdup(name);
    snprintf(name, sizeof(name), "bench.alerts.%s.%lld.state", tag, now);
    free(conf->topic_state);
    conf->topic_state = nd_strdup(name);
    nd_log_set_level(ND_LOG_ERROR);
    return conf;
}

struct reader {
    const char *topic;
    volatile int stop, ready;
    pthread_t thread;
};

/* Index of a bench story from a record: its headline says "Bench story N". */
static int story_index(const rd_kafka_message_t *msg)
{
    const char *p = memmem(msg->payload, msg->len, "Bench story ", 12);
    int i;
    if (!p || sscanf(p + 12, "%d", &i) != 1 || i < 0 || i >= N)
        return -1;
    return i;
}

/* A read_committed consumer that notes when each story's first record (its alert for the "all"
 * desk, or the story itself in the baseline) becomes readable. */
static void *reader_main(void *arg)
{
    struct reader *rd = arg;
    rd_kafka_conf_t *kconf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    char kerr[256];
    static unsigned char seen[N];

    memset(seen, 0, sizeof(seen));
    rd_kafka_conf_set(kconf, "bootstrap.servers", brokers, kerr, sizeof(kerr));
    rd_kafka_conf_set(kconf, "group.id", "bench-alerts", kerr, sizeof(kerr));
    rd_kafka_conf_set(kconf, "isolation.level", "read_committed", kerr, sizeof(kerr));
    rd_kafka_conf_set(kconf, "enable.auto.commit", "false", kerr, sizeof(kerr));
    rd_kafka_conf_set(kconf, "fetch.wait.max.ms", "5", kerr, sizeof(kerr));
    rd_kafka_conf_set(kconf, "log_level", "3", kerr, sizeof(kerr));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, kconf, kerr, sizeof(kerr));
    {
        /* every partition of the topic the warm-up created */
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, rd->topic, NULL);
        const rd_kafka_metadata_t *md = NULL;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1) {
            fprintf(stderr, "bench_alerts: no metadata for %s\n", rd->topic);
            exit(1);
        }
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, rd->topic, md->topics[0].partitions[p].id)
                ->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
    rd_kafka_assign(rk, parts);
    rd->ready = 1;
    while (!rd->stop) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 50);
        int i;
        if (!msg)
            continue;
        if (!msg->err && msg->payload && (i = story_index(msg)) >= 0 && alerting(i) && !seen[i]) {
            int64_t t = nd_mono_ms(), s = atomic_load(&sent[i]);
            seen[i] = 1;
            if (s > 0)
                lat[atomic_fetch_add(&received, 1)] = (double)(t - s);
        }
        rd_kafka_message_destroy(msg);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

/* One paced run: RATE stories/s for SECONDS; with_alerts: the alert stage on, timed to the alerts
 * topic; off: timed to the stories topic. */
static void run(int with_alerts, int interval_ms, double *p50, double *p99, double *alerts_per_s)
{
    struct nd_config *conf = bench_config(interval_ms, with_alerts ? "on" : "off");
    struct nd_alert_opts opts;
    struct nd_alert *alert = NULL;
    char errstr[512];
    struct nd_publish *pub = nd_publish_new(conf, NULL, 0, errstr, sizeof(errstr));
    volatile sig_atomic_t never = 0;
    struct reader rd = {.topic = with_alerts ? conf->topic_alerts : conf->topic_stories};
    struct nd_publish_stats st;
    int64_t start, deadline;

    if (!pub || nd_publish_start(pub, &never) != ND_OK) {
        fprintf(stderr, "bench_alerts: %s\n", pub ? "start failed" : errstr);
        exit(1);
    }
    if (with_alerts) {
        nd_alert_opts_from_config(&opts, conf);
        alert = nd_alert_new(&opts);
        nd_alert_set_desks(alert, bench_desks());
        nd_publish_set_story_hook(pub, nd_alert_publish_hook, alert);
    }
    for (int i = 0; i < N; i++)
        atomic_store(&sent[i], 0);
    atomic_store(&received, 0);
    /* warm up: creates the topics before the reader starts */
    {
        struct nd_story *warm = make_story(N); /* alerts (N % every == 0); the reader skips it */
        nd_publish_story(pub, warm);
        while (nd_publish_backlog(pub))
            nd_publish_tick(pub, 1);
    }
    pthread_create(&rd.thread, NULL, reader_main, &rd);
    while (!rd.ready)
        usleep(1000);
    usleep(500 * 1000); /* let the consumer reach the partition leader before timing starts */

    /* made beforehand: building them is not the pipeline's work */
    for (int i = 0; i < N; i++)
        stories[i] = make_story(i);
    start = nd_mono_ms();
    for (int i = 0; i < N;) {
        int64_t now = nd_mono_ms();
        while (i < N && start + (int64_t)i * 1000 / RATE <= now) {
            struct nd_story *story = stories[i];
            nd_publish_unit_open(pub, (uint64_t)i + 1, ND_UNIT_FEED, "bench", NULL, -1, -1);
            story->unit = (uint64_t)i + 1;
            atomic_store(&sent[i], nd_mono_ms());
            nd_publish_story(pub, story);
            nd_publish_unit_close(pub, (uint64_t)i + 1, 1, NULL);
            i++;
        }
        nd_publish_tick(pub, 0);
        usleep(200);
    }
    deadline = nd_mono_ms() + 30000;
    while (atomic_load(&received) < N / every && nd_mono_ms() < deadline) {
        nd_publish_tick(pub, 1);
        usleep(1000);
    }
    rd.stop = 1;
    pthread_join(rd.thread, NULL);
    nd_publish_get_stats(pub, &st);
    *alerts_per_s = (double)st.alerts / SECONDS;
    {
        int n = atomic_load(&received);
        if (n < N / every)
            fprintf(stderr, "bench_alerts: only %d of %d seen\n", n, N / every);
        qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
        *p50 = n ? lat[n / 2] : -1;
        *p99 = n ? lat[(int)(n * 0.99)] : -1;
    }
    nd_publish_destroy(pub);
    nd_alert_destroy(alert);
    nd_config_destroy(conf);
}

static int64_t cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The alert stage alone: CPU microseconds per story (the machine may be shared), no Kafka. */
static double stage_cost(void)
{
    struct nd_config *conf = nd_config_new();
    struct nd_alert_opts opts;
    struct nd_alert *alert;
    int64_t t0, t1;
    size_t nalerts = 0;
    nd_alert_opts_from_config(&opts, conf);
    alert = nd_alert_new(&opts);
    nd_alert_set_desks(alert, bench_desks());
    for (int i = 0; i < N; i++)
        stories[i] = make_story(i);
    t0 = cpu_us();
    for (int i = 0; i < N; i++) {
        json_t *alerts = nd_alert_story(alert, stories[i], 1795900000000LL + i);
        nalerts += json_array_size(alerts);
        json_decref(alerts);
    }
    t1 = cpu_us();
    for (int i = 0; i < N; i++)
        nd_story_destroy(stories[i]);
    nd_alert_destroy(alert);
    nd_config_destroy(conf);
    printf("  alert stage alone: %.1f us CPU/story (%zu alerts for %d stories, 7 desks)\n",
           (double)(t1 - t0) / N, nalerts, N);
    return (double)(t1 - t0) / N;
}

int main(int argc, char **argv)
{
    char dir[64];
    int own_broker = argc < 2;

    if (argc > 1 && !strcmp(argv[1], "--stage-only")) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        for (int r = 0; r < 3; r++)
            stage_cost();
        return 0;
    }
    static const int intervals[] = {100, 50, 20};
    double p50, p99, b50, b99, rate;

    if (own_broker) {
        if (bench_broker_start(dir, sizeof(dir), brokers, sizeof(brokers)) != 0)
            return 1;
    } else {
        snprintf(brokers, sizeof(brokers), "%s", argv[1]);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf(
        "bench_alerts: broker %s, %d stories/s for %d s; desks: deploy/desks.yaml + a catch-all\n",
        brokers, RATE, SECONDS);
    stage_cost();
    for (every = 1; every <= 10; every += 9) {
        printf("  %s\n", every == 1
                             ? "every story is a new development (about 2.8 alerts each):"
                             : "1 story in 10 is a new development, the others match no desk:");
        for (size_t k = 0; k < sizeof(intervals) / sizeof(*intervals); k++) {
            double v50[RUNS], v99[RUNS], w50[RUNS], w99[RUNS];
            for (int r = 0; r < RUNS; r++) {
                run(0, intervals[k], &w50[r], &w99[r], &rate);
                run(1, intervals[k], &v50[r], &v99[r], &rate);
            }
            p50 = median(v50, RUNS), p99 = median(v99, RUNS);
            b50 = median(w50, RUNS), b99 = median(w99, RUNS);
            printf("    commit_interval_ms=%-3d story->alert readable p50 %3.0f ms p99 %3.0f ms "
                   "(%4.0f alerts/s) | baseline, no alert stage, story readable p50 %3.0f ms p99 "
                   "%3.0f ms | p99 %.2fx\n",
                   intervals[k], p50, p99, rate, b50, b99, b99 > 0 ? p99 / b99 : 0);
        }
    }
    if (own_broker && bench_broker_stop(dir) != 0)
        return 1;
    return 0;
}
