/* bench_publish: stories per second published with Kafka transactions, and the latency from a story
 * leaving enrich to its transaction committing, against a real broker.
 *
 *   bench_publish [BOOTSTRAP]      (default: start a broker with tests/kafka/broker.sh)
 *
 * Baseline in the same run: the same records produced without transactions (idempotent producer,
 * flushed at the end), so the ratio shows what exactly-once costs. Figures are medians of 3 runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_broker.h"
#include "publish/publish.h"
#include "bench_stats.h"

#define RUNS 3
#define UNIT_STORIES 50

static char brokers[256];

static struct nd_story *make_story(int i, int body_bytes)
{
    struct nd_story *story = nd_story_new();
    char buf[128];
    struct nd_buf body;
    snprintf(buf, sizeof(buf), "bench-%d", i);
    nd_story_set(&story->guid, buf);
    nd_story_set(&story->feed_id, "bench");
    nd_story_set(&story->headline, "Foreign ministers meet on the sidelines of the General Assembly");
    nd_buf_init(&body, (size_t)body_bytes + 256);
    while ((int)body.len < body_bytes)
        nd_buf_append(&body, "GENEVA - Ministers met on Friday and discussed trade, export controls "
                             "and the war, officials said. ", 100);
    story->body_text = nd_buf_steal(&body, NULL);
    story->published_at = 1795900000;
    story->fetched_at_ms = nd_now_ms();
    nd_story_assign_id(story);
    return story;
}

static int commit_records = 1000;

static struct nd_config *bench_config(int transactions, const char *tag)
{
    struct nd_config *conf = nd_config_new();
    conf->kafka_commit_records = commit_records;
    conf->kafka_commit_interval_ms = commit_records > 1000 ? 1000 : 100;
    char name[128];
    free(conf->kafka_brokers);
    conf->kafka_brokers = nd_strdup(brokers);
    conf->kafka_transactions = transactions;
    snprintf(name, sizeof(name), "bench-%s-%d-%lld", tag, getpid(), (long long)nd_now_ms());
    free(conf->kafka_transactional_id);
    conf->kafka_transactional_id = nd_strdup(name);
    snprintf(name, sizeof(name), "bench.%s.%lld.stories", tag, (long long)nd_now_ms());
    free(conf->topic_stories);
    conf->topic_stories = nd_strdup(name);
    snprintf(name, sizeof(name), "bench.%s.%lld.state", tag, (long long)nd_now_ms());
    free(conf->topic_state);
    conf->topic_state = nd_strdup(name);
    nd_log_set_level(ND_LOG_ERROR);
    return conf;
}

/* Throughput: n stories in units of UNIT_STORIES with a feed state each. */
static double throughput(int transactions, int n, int body_bytes)
{
    struct nd_config *conf = bench_config(transactions, transactions ? "txn" : "idem");
    char errstr[512];
    struct nd_publish *pub = nd_publish_new(conf, NULL, 0, errstr, sizeof(errstr));
    volatile sig_atomic_t never = 0;
    uint64_t seq = 0;
    int64_t t0, t1;

    if (!pub || nd_publish_start(pub, &never) != ND_OK) {
        fprintf(stderr, "bench_publish: %s\n", pub ? "start failed" : errstr);
        exit(1);
    }
    /* warm up: topic creation and the first transaction are not what we measure */
    nd_publish_unit_open(pub, ++seq, ND_UNIT_FEED, "bench", NULL, -1, -1);
    struct nd_story *warm = make_story(-1, body_bytes);
    warm->unit = seq;
    nd_publish_story(pub, warm);
    nd_publish_unit_close(pub, seq, 1, json_pack("{s:s}", "etag", "w"));
    while (nd_publish_backlog(pub))
        nd_publish_tick(pub, 1);

    /* the stories exist before the clock starts: building them is not publishing */
    struct nd_story **stories = nd_xcalloc((size_t)n, sizeof(*stories));
    for (int i = 0; i < n; i++)
        stories[i] = make_story(i, body_bytes);
    t0 = nd_mono_ms();
    for (int i = 0; i < n; i++) {
        struct nd_story *story = stories[i];
        if (i % UNIT_STORIES == 0)
            nd_publish_unit_open(pub, ++seq, ND_UNIT_FEED, "bench", NULL, -1, -1);
        story->unit = seq;
        nd_publish_story(pub, story);
        if (i % UNIT_STORIES == UNIT_STORIES - 1 || i == n - 1)
            nd_publish_unit_close(pub, seq, (size_t)(i % UNIT_STORIES) + 1,
                                  json_pack("{s:s, s:i}", "etag", "\"x\"", "n", i));
        if (i % 64 == 0)
            nd_publish_tick(pub, 0);
    }
    while (nd_publish_backlog(pub))
        nd_publish_tick(pub, 1);
    t1 = nd_mono_ms();
    free(stories);
    nd_publish_destroy(pub);
    nd_config_destroy(conf);
    return n * 1000.0 / (double)(t1 - t0 > 0 ? t1 - t0 : 1);
}

/* Latency at a paced rate: from nd_publish_story to the end of the commit that includes it. */
static void latency(int rate, int seconds, int body_bytes, double *p50, double *p99)
{
    struct nd_config *conf = bench_config(1, "lat");
    char errstr[512];
    struct nd_publish *pub = nd_publish_new(conf, NULL, 0, errstr, sizeof(errstr));
    volatile sig_atomic_t never = 0;
    int n = rate * seconds, done = 0, pending_from = 0;
    int64_t *sent = calloc((size_t)n, sizeof(*sent));
    double *lat = calloc((size_t)n, sizeof(*lat));
    struct nd_publish_stats st;
    uint64_t commits;
    int64_t start;

    if (!pub || nd_publish_start(pub, &never) != ND_OK) {
        fprintf(stderr, "bench_publish: %s\n", pub ? "start failed" : errstr);
        exit(1);
    }
    /* warm up: topic creation is not what we measure */
    nd_publish_unit_open(pub, (uint64_t)n + 1, ND_UNIT_FEED, "lat", NULL, -1, -1);
    nd_publish_unit_close(pub, (uint64_t)n + 1, 0, json_pack("{s:s}", "etag", "w"));
    while (nd_publish_backlog(pub))
        nd_publish_tick(pub, 1);
    {
        struct nd_story *warm = make_story(-1, body_bytes);
        warm->unit = 0;
        nd_publish_story(pub, warm);
        while (nd_publish_backlog(pub))
            nd_publish_tick(pub, 1);
    }
    nd_publish_get_stats(pub, &st);
    commits = st.commits;
    start = nd_mono_ms();
    for (int i = 0; i < n || done < n;) {
        int64_t now = nd_mono_ms();
        /* send what the pace allows by now */
        while (i < n && start + (int64_t)i * 1000 / rate <= now) {
            struct nd_story *story = make_story(i, body_bytes);
            nd_publish_unit_open(pub, (uint64_t)i + 1, ND_UNIT_FEED, "lat", NULL, -1, -1);
            story->unit = (uint64_t)i + 1;
            sent[i] = nd_mono_ms();
            nd_publish_story(pub, story);
            nd_publish_unit_close(pub, (uint64_t)i + 1, 1, NULL);
            i++;
        }
        int before = i;
        nd_publish_tick(pub, i == n);
        nd_publish_get_stats(pub, &st);
        if (st.commits != commits) {
            /* everything sent before this tick was in the transaction that just committed */
            int64_t t = nd_mono_ms();
            for (int k = pending_from; k < before; k++)
                lat[done++] = (double)(t - sent[k]);
            pending_from = before;
            commits = st.commits;
        }
        usleep(200);
    }
    *p50 = median(lat, n);
    qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
    *p99 = lat[(int)(n * 0.99)];
    free(sent);
    free(lat);
    nd_publish_destroy(pub);
    nd_config_destroy(conf);
}

int main(int argc, char **argv)
{
    char dir[64];
    int own_broker = argc < 2;
    double txn[RUNS], idem[RUNS], txn1k[RUNS], big[RUNS], p50, p99;
    const int n = 20000;

    if (own_broker) {
        if (bench_broker_start(dir, sizeof(dir), brokers, sizeof(brokers)) != 0)
            return 1;
    } else {
        snprintf(brokers, sizeof(brokers), "%s", argv[1]);
    }
    printf("bench_publish: broker %s, %d stories per run, median of %d runs, units of %d stories,\n"
           "               commit every 1,000 records or 100 ms unless said\n",
           brokers, n, RUNS, UNIT_STORIES);
    for (int r = 0; r < RUNS; r++) {
        idem[r] = throughput(0, n, 4000);
        txn[r] = throughput(1, n, 4000);
        txn1k[r] = throughput(1, n, 1000);
        commit_records = 10000;
        big[r] = throughput(1, n, 4000);
        commit_records = 1000;
    }
    double m_idem = median(idem, RUNS), m_txn = median(txn, RUNS);
    printf("  4 KB stories, idempotent, no transactions (baseline): %8.0f stories/s\n", m_idem);
    printf("  4 KB stories, transactions (stories + feed state):      %8.0f stories/s  (%.2fx baseline)\n",
           m_txn, m_txn / m_idem);
    printf("  1 KB stories, transactions:                             %8.0f stories/s\n",
           median(txn1k, RUNS));
    printf("  4 KB stories, transactions of up to 10,000 records / 1 s: %6.0f stories/s\n",
           median(big, RUNS));
    latency(1000, 10, 4000, &p50, &p99);
    printf("  latency story -> committed at 1,000 stories/s (commit every 100 ms or 1000 records): "
           "p50 %.0f ms, p99 %.0f ms\n", p50, p99);
    if (own_broker && bench_broker_stop(dir) != 0)
        return 1;
    return 0;
}
