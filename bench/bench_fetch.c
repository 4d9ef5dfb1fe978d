/* bench_fetch: the fetch loop against 5,000 feeds on a loopback HTTP server.
 *
 *   1. all feeds unchanged (every poll a conditional GET answered 304): polls per second of wall time
 *      and per CPU-second of the fetch thread, and resident memory per idle feed; then the same with
 *      a new connection per poll, as with thousands of real hosts;
 *   2. one new item in every feed per round: items per second through fetch + parse.
 * Baseline in the same run: one curl easy handle doing the same conditional GETs back to back on one
 * keep-alive connection (the floor cost of a 304 in libcurl, no scheduling).
 *
 * The server (libmicrohttpd) runs in a child process so the parent's resident size is the fetcher's.
 * Feeds are spread over 16 loopback addresses (127.0.0.1-16), each its own host for politeness.
 *
 *   bench_fetch [feeds] [rounds]       defaults 5000 5 */
#include <curl/curl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "fetch/fetch.h"
#include "bench_rss.h"
#include "bench_stats.h"

#define NHOSTS 16
#define ITEMS 10

static volatile int *g_round; /* shared with the server child: the feeds' current round */
static volatile int *g_close; /* shared: 1 = every response closes its connection */

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_size, void **con_cls)
{
    char etag[32], body[8192];
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    struct MHD_Response *resp;
    enum MHD_Result ret;
    int round = *g_round, n = 0, len;
    static int marker;
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_size;

    /* Answer on the second call: a response queued on the first makes libmicrohttpd close the
     * connection (it cannot know yet that no body follows), and every poll would pay a new one. */
    if (!*con_cls) {
        *con_cls = &marker;
        return MHD_YES;
    }

    snprintf(etag, sizeof(etag), "\"r%d\"", round);
    if (inm && !strcmp(inm, etag)) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "ETag", etag);
        if (*g_close)
            MHD_add_response_header(resp, "Connection", "close");
        ret = MHD_queue_response(conn, MHD_HTTP_NOT_MODIFIED, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    sscanf(url, "/f/%d", &n);
    len = snprintf(body, sizeof(body),
                   "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Feed %d</title>"
                   "<link>http://example.org/%d</link><description>bench</description>",
                   n, n);
    /* ITEMS items, the newest one new each round */
    for (int k = 0; k < ITEMS; k++)
        len += snprintf(body + len, sizeof(body) - (size_t)len,
                        "<item><guid>f%d-r%d</guid><title>Story %d of round %d</title>"
                        "<link>http://example.org/%d/%d</link><pubDate>Sat, 28 Nov 2026 10:%02d:00 GMT"
                        "</pubDate><description>BERLIN (Wire) - Ministers met on round %d to discuss "
                        "trade and security.</description></item>",
                        n, round - k, n, round - k, n, round - k, k, round - k);
    len += snprintf(body + len, sizeof(body) - (size_t)len, "</channel></rss>");
    resp = MHD_create_response_from_buffer((size_t)len, body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "ETag", etag);
    MHD_add_response_header(resp, "Content-Type", "application/rss+xml");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

static pid_t start_server(int *port)
{
    int fds[2];
    pid_t pid;
    if (pipe(fds))
        exit(1);
    pid = fork();
    if (pid == 0) {
        struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD, 0, NULL, NULL, serve, NULL,
                                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
        const union MHD_DaemonInfo *info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
        int p = info ? (int)info->port : 0;
        if (write(fds[1], &p, sizeof(p)) != sizeof(p))
            _exit(1);
        for (;;)
            pause();
    }
    if (read(fds[0], port, sizeof(*port)) != sizeof(*port) || !*port) {
        fprintf(stderr, "bench_fetch: server did not start\n");
        exit(1);
    }
    close(fds[0]);
    close(fds[1]);
    return pid;
}

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t g_items;
static enum nd_err emit(void *opaque, struct nd_story *story)
{
    (void)opaque;
    g_items++;
    nd_story_destroy(story);
    return ND_OK;
}

static uint64_t total_polls(struct nd_fetch *fetch)
{
    struct nd_fetch_stats st;
    nd_fetch_totals(fetch, &st);
    return st.polls;
}

/* One round: every feed due now; returns when every feed was polled and its batch emitted. */
static void run_round(struct nd_fetch *fetch, size_t nfeeds, double *wall, double *cpu)
{
    uint64_t target = total_polls(fetch) + nfeeds;
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    nd_fetch_poll_all_now(fetch);
    while (total_polls(fetch) < target || nd_fetch_inflight(fetch) || nd_fetch_pending(fetch))
        nd_fetch_run(fetch, 10);
    *wall = now_s(CLOCK_MONOTONIC) - w0;
    *cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
}

static size_t ignore_body(char *p, size_t s, size_t n, void *u)
{
    (void)p, (void)u;
    return s * n;
}

/* The baseline: the same conditional GETs back to back on one easy handle. */
static double baseline_polls_per_cpu_s(int port, size_t n, int round)
{
    CURL *easy = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[128], inm[64];
    double c0, c;
    snprintf(inm, sizeof(inm), "If-None-Match: \"r%d\"", round);
    h = curl_slist_append(h, inm);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, ignore_body);
    c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    for (size_t i = 0; i < n; i++) {
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/f/%zu", port, i);
        curl_easy_setopt(easy, CURLOPT_URL, url);
        curl_easy_perform(easy);
    }
    c = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    curl_slist_free_all(h);
    curl_easy_cleanup(easy);
    return (double)n / c;
}

int main(int argc, char **argv)
{
    size_t nfeeds = argc > 1 ? (size_t)atol(argv[1]) : 5000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5, port;
    double wall[64], cpu[64], rate_wall[64], rate_cpu[64], base[64];
    struct nd_config *conf;
    struct nd_fetch *fetch;
    long rss0, rss1;
    pid_t server;

    if (rounds > 64)
        rounds = 64;
    g_round = mmap(NULL, 2 * sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    g_close = g_round + 1;
    *g_round = 1000;
    *g_close = 0;
    server = start_server(&port);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    nd_log_set_level(ND_LOG_ERROR);

    conf = nd_config_new();
    conf->fetch_max_parallel = 64;
    conf->fetch_per_host = 4;
    conf->fetch_recent_ids = 64;
    for (size_t i = 0; i < nfeeds; i++) {
        char id[32], url[128];
        snprintf(id, sizeof(id), "feed-%zu", i);
        snprintf(url, sizeof(url), "http://127.0.0.%zu:%d/f/%zu", 1 + i % NHOSTS, port, i);
        nd_config_add_feed(conf, id, url, 3600);
    }
    rss0 = rss_kb();
    fetch = nd_fetch_new(conf, emit, NULL);
    /* warm-up: every feed fetched and parsed once, its ETag and ids remembered */
    run_round(fetch, nfeeds, &wall[0], &cpu[0]);
    printf("bench_fetch: %zu feeds on %d loopback hosts, max_parallel %d, per_host %d\n", nfeeds, NHOSTS,
           conf->fetch_max_parallel, conf->fetch_per_host);
    printf("  first poll (200, %d items each, all new): %.2f s wall, %zu items\n", ITEMS, wall[0], g_items);

    for (int r = 0; r < rounds; r++) {
        run_round(fetch, nfeeds, &wall[r], &cpu[r]);
        rate_wall[r] = (double)nfeeds / wall[r];
        rate_cpu[r] = (double)nfeeds / cpu[r];
        base[r] = baseline_polls_per_cpu_s(port, nfeeds < 2000 ? nfeeds : 2000, *g_round);
    }
    rss1 = rss_kb();
    {
        struct nd_fetch_stats st;
        nd_fetch_totals(fetch, &st);
        double mc = median(rate_cpu, rounds), mb = median(base, rounds);
        printf("  304 path (%d rounds, %" PRIu64 " not-modified so far):\n", rounds, st.not_modified);
        printf("    polls/s wall (2 cores shared with the server): median %.0f\n", median(rate_wall, rounds));
        printf("    polls per CPU-second of the fetch thread:       median %.0f\n", mc);
        printf("    baseline, one curl handle back to back:         median %.0f per CPU-second\n", mb);
        printf("    ratio fetch/baseline: %.2f\n", mc / mb);
        printf("    resident memory: %.2f KiB per feed (RSS %ld -> %ld KiB); fetcher heap %.2f KiB per feed\n",
               (double)(rss1 - rss0) / (double)nfeeds, rss0, rss1,
               (double)nd_fetch_memory(fetch) / 1024.0 / (double)nfeeds);
    }

    /* Thousands of real hosts rarely keep a connection open between polls: the same 304s with a new
     * TCP connection each. */
    *g_close = 1;
    for (int r = 0; r < rounds; r++) {
        run_round(fetch, nfeeds, &wall[r], &cpu[r]);
        rate_cpu[r] = (double)nfeeds / cpu[r];
    }
    *g_close = 0;
    printf("    with a new connection per poll (Connection: close): median %.0f polls per CPU-second\n",
           median(rate_cpu, rounds));

    for (int r = 0; r < rounds; r++) {
        size_t before = g_items;
        (*g_round)++;
        run_round(fetch, nfeeds, &wall[r], &cpu[r]);
        if (g_items - before != nfeeds)
            printf("    round %d: %zu items, expected %zu\n", r, g_items - before, nfeeds);
        rate_wall[r] = (double)(g_items - before) / wall[r];
        rate_cpu[r] = (double)(g_items - before) / cpu[r];
    }
    printf("  one new item per feed per round (200, %d items parsed per feed, 1 emitted):\n", ITEMS);
    printf("    items/s wall: median %.0f\n", median(rate_wall, rounds));
    printf("    items per CPU-second of the fetch thread: median %.0f\n", median(rate_cpu, rounds));

    nd_fetch_destroy(fetch);
    nd_config_destroy(conf);
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    curl_global_cleanup();
    return 0;
}
