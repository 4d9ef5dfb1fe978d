#include "fetch/fetch.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fetch/seen.h"
#include "parse/parse.h"

#define MOD "fetch"

/* How the pieces fit:
 *  - An idle feed sits in a min-heap keyed by its due time, so finding due feeds costs O(log n) per
 *    poll whatever the number of feeds.
 *  - A due feed becomes a transfer (struct xfer) queued on its host. A host with queued transfers and
 *    fewer than fetch.per_host in flight is on the ready list; requests start from the ready list
 *    round-robin while fewer than fetch.max_parallel are in flight. Per-host counters make the
 *    politeness check O(1).
 *  - A finished poll's new stories wait in the feed's batch until every fulltext article of the batch
 *    is fetched and emit accepted them all; only then does the feed go back to the heap (and the state
 *    callback run), so a poll's stories and its state move downstream together.
 *  - Transfers are driven with libcurl's socket interface over our own epoll set: a wakeup touches
 *    only the sockets that are ready, where curl_multi_perform would visit every transfer in flight.
 * Everything a request needs (curl handle, headers, body buffer, new validators) lives in the xfer and
 * is freed when it ends, so an idle feed costs its struct, its validators and its seen set. */

struct host {
    char *name;               /* "host:port", lower case */
    struct host *hnext;       /* hash chain */
    struct xfer *qhead, *qtail;
    int inflight;
    int refs;                 /* feeds on this host + transfers queued or running */
    int on_ready;
    struct host *rnext;       /* ready list */
};

struct xfer {
    struct feed *feed;
    struct nd_story *story;   /* fulltext article: the story it completes; NULL for a feed poll */
    char *url;                /* with ${VAR} expanded: never logged */
    struct host *host;
    CURL *easy;
    struct curl_slist *headers;
    struct nd_buf body;
    struct nd_membudget *budget; /* the body's bytes are reserved here while it is read */
    size_t reserved;
    size_t ahead;             /* a poll: what it is expected to bring, reserved until it ends */
    size_t cost;              /* a poll: what its new stories hold (enriched size), once parsed */
    int64_t since_prev_ms;    /* a poll: time since the feed's previous poll started */
    int body_too_big;
    char *etag, *last_modified;
    int64_t retry_after_s, max_age_s, expires_s, date_s;
    struct xfer *qnext;       /* host queue */
    struct xfer *prev, *next; /* running list */
};

struct pair {
    uint64_t url, guid;
};

enum feed_state { FEED_IDLE, FEED_QUEUED, FEED_ACTIVE, FEED_BATCH };

struct feed {
    const struct nd_feed_conf *conf;
    struct host *host;
    char *etag, *last_modified;
    uint64_t body_hash;
    struct nd_seen *seen;
    int64_t due_ms;
    size_t heap_pos;
    enum feed_state state;
    int unstable_guids;
    int ttl_s; /* RSS <ttl> of the last parsed body: it holds while the body does not change */
    /* memory.limit_mb: what a poll of this feed is expected to bring, from what earlier ones did */
    double cost_per_ms;      /* enriched bytes of new stories per ms between polls (smoothed) */
    size_t last_body;        /* bytes held by the last body read */
    int64_t polled_mono_ms;  /* when the last poll started (monotonic), 0 never */
    /* (canonical URL, GUID) hashes of the last parsed poll, sorted by URL: GUID churn detection */
    struct pair *last;
    size_t nlast;
    /* the batch of the last poll: stories not yet accepted downstream */
    struct nd_story **pending;
    size_t npending, ipending, narticles, nbatch;
    struct feed *pnext; /* drain list */
    int on_drain;
    struct nd_fetch_stats stats;
};

struct nd_fetch {
    const struct nd_config *conf;
    nd_fetch_emit_fn emit;
    void *opaque;
    nd_fetch_state_fn state_fn;
    void *state_opaque;
    nd_fetch_extract_fn extract_fn;
    void *extract_opaque;
    CURLM *multi;
    int epfd, evfd;     /* epoll set of curl's sockets, and the eventfd nd_fetch_wakeup writes */
    int64_t curl_due;   /* when curl wants its timeout handled (monotonic ms); -1 none */
    struct feed *feeds;
    size_t nfeeds;
    struct feed **heap;
    size_t nheap;
    struct host **hosts; /* hash buckets */
    size_t nbuckets, nhosts;
    struct host *ready_head, *ready_tail;
    struct feed *drain_head, *drain_tail;
    struct xfer *running;
    size_t inflight, npending;
    long *ids;           /* feed index by id hash, open addressing; -1 empty */
    size_t nids;
    CURL **pool;         /* idle easy handles: reuse saves setup per request */
    size_t npool;
    atomic_int woken;
    int reloading;       /* nd_fetch_set_feeds waits for quiet: start no new polls */
    struct nd_membudget *budget; /* memory.limit_mb: bodies, polls, parsed stories */
    uint64_t rng;
    struct nd_fetch_stats totals;
};

static const char *const reason_names[ND_FETCH_NREASONS] = {
    "dns", "connect", "connect_timeout", "timeout", "tls", "redirects", "body_too_big", "encoding",
    "http_4xx", "http_5xx", "rate_limited", "not_a_feed", "parse", "transport", "config",
    "future_last_modified", "unstable_guids", "article",
};

const char *nd_fetch_reason_name(enum nd_fetch_reason reason)
{
    return (unsigned)reason < ND_FETCH_NREASONS ? reason_names[reason] : "unknown";
}

static uint64_t next_rand(struct nd_fetch *fetch)
{
    /* xorshift64*: jitter only, no need for more */
    fetch->rng ^= fetch->rng >> 12;
    fetch->rng ^= fetch->rng << 25;
    fetch->rng ^= fetch->rng >> 27;
    return fetch->rng * 0x2545F4914F6CDD1Dull;
}

static uint64_t hash_str(const char *s)
{
    return nd_hash64(s, strlen(s), 0);
}

/* --- heap of idle feeds by due time -------------------------------------------------------- */

#define NOT_IN_HEAP SIZE_MAX

static void heap_set(struct nd_fetch *fetch, size_t i, struct feed *feed)
{
    fetch->heap[i] = feed;
    feed->heap_pos = i;
}

static void heap_up(struct nd_fetch *fetch, size_t i)
{
    struct feed *feed = fetch->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (fetch->heap[parent]->due_ms <= feed->due_ms)
            break;
        heap_set(fetch, i, fetch->heap[parent]);
        i = parent;
    }
    heap_set(fetch, i, feed);
}

static void heap_down(struct nd_fetch *fetch, size_t i)
{
    struct feed *feed = fetch->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= fetch->nheap)
            break;
        if (c + 1 < fetch->nheap && fetch->heap[c + 1]->due_ms < fetch->heap[c]->due_ms)
            c++;
        if (fetch->heap[c]->due_ms >= feed->due_ms)
            break;
        heap_set(fetch, i, fetch->heap[c]);
        i = c;
    }
    heap_set(fetch, i, feed);
}

static void heap_push(struct nd_fetch *fetch, struct feed *feed)
{
    feed->state = FEED_IDLE;
    heap_set(fetch, fetch->nheap++, feed);
    heap_up(fetch, feed->heap_pos);
}

static struct feed *heap_pop(struct nd_fetch *fetch)
{
    struct feed *top = fetch->heap[0];
    if (--fetch->nheap > 0) {
        heap_set(fetch, 0, fetch->heap[fetch->nheap]);
        heap_down(fetch, 0);
    }
    top->heap_pos = NOT_IN_HEAP;
    return top;
}

/* --- hosts ----------------------------------------------------------------------------------- */

/* "host:port" of a URL, lower case; NULL when it has no host (file://). */
static char *host_key(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *key = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        size_t n = strlen(host) + strlen(port) + 2;
        key = nd_xmalloc(n);
        snprintf(key, n, "%s:%s", host, port);
        for (char *p = key; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    if (!key && strstr(url, "://") && strncmp(url, "file:", 5)) {
        /* not a URL curl accepts (a ${VAR} in it): the text between :// and the path */
        const char *p = strstr(url, "://") + 3;
        key = nd_strndup(p, strcspn(p, "/?#"));
    }
    return key;
}

static void hosts_grow(struct nd_fetch *fetch)
{
    size_t n = fetch->nbuckets ? fetch->nbuckets * 2 : 64;
    struct host **b = nd_xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < fetch->nbuckets; i++) {
        struct host *h = fetch->hosts[i], *next;
        for (; h; h = next) {
            size_t k = hash_str(h->name) & (n - 1);
            next = h->hnext;
            h->hnext = b[k];
            b[k] = h;
        }
    }
    free(fetch->hosts);
    fetch->hosts = b;
    fetch->nbuckets = n;
}

/* The host of a URL with one more reference, created on first use. */
static struct host *host_ref(struct nd_fetch *fetch, const char *url)
{
    char *key = host_key(url);
    struct host *h;
    size_t k;
    if (!key)
        key = nd_strdup("file");
    if (fetch->nhosts >= fetch->nbuckets)
        hosts_grow(fetch);
    k = hash_str(key) & (fetch->nbuckets - 1);
    for (h = fetch->hosts[k]; h; h = h->hnext)
        if (!strcmp(h->name, key))
            break;
    if (!h) {
        h = nd_xcalloc(1, sizeof(*h));
        h->name = key;
        key = NULL;
        h->hnext = fetch->hosts[k];
        fetch->hosts[k] = h;
        fetch->nhosts++;
    }
    free(key);
    h->refs++;
    return h;
}

static void host_unref(struct nd_fetch *fetch, struct host *h)
{
    struct host **p;
    if (--h->refs > 0)
        return;
    /* unreferenced: no feed on it and nothing queued or running, so it is on no list */
    for (p = &fetch->hosts[hash_str(h->name) & (fetch->nbuckets - 1)]; *p != h; p = &(*p)->hnext)
        ;
    *p = h->hnext;
    fetch->nhosts--;
    free(h->name);
    free(h);
}

static void host_make_ready(struct nd_fetch *fetch, struct host *h)
{
    if (h->on_ready || !h->qhead || h->inflight >= fetch->conf->fetch_per_host)
        return;
    h->on_ready = 1;
    h->rnext = NULL;
    if (fetch->ready_tail)
        fetch->ready_tail->rnext = h;
    else
        fetch->ready_head = h;
    fetch->ready_tail = h;
}

static void host_enqueue(struct nd_fetch *fetch, struct xfer *x)
{
    struct host *h = x->host;
    x->qnext = NULL;
    if (h->qtail)
        h->qtail->qnext = x;
    else
        h->qhead = x;
    h->qtail = x;
    host_make_ready(fetch, h);
}

/* --- lifecycle ------------------------------------------------------------------------------- */

static void ids_put(struct nd_fetch *fetch, size_t index)
{
    size_t mask = fetch->nids - 1, i = hash_str(fetch->feeds[index].conf->id) & mask;
    while (fetch->ids[i] >= 0)
        i = (i + 1) & mask;
    fetch->ids[i] = (long)index;
}

long nd_fetch_feed_index(const struct nd_fetch *fetch, const char *feed_id)
{
    size_t mask = fetch->nids - 1, i = hash_str(feed_id) & mask;
    for (; fetch->ids[i] >= 0; i = (i + 1) & mask)
        if (!strcmp(fetch->feeds[fetch->ids[i]].conf->id, feed_id))
            return fetch->ids[i];
    return -1;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct nd_fetch *fetch = userp;
    struct epoll_event ev = {0};
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(fetch->epfd, EPOLL_CTL_DEL, fd, NULL);
        curl_multi_assign(fetch->multi, fd, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    ev.data.fd = fd;
    /* a socket curl reuses may or may not still be in the set: try both ways */
    if (epoll_ctl(fetch->epfd, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0)
        epoll_ctl(fetch->epfd, socketp ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
    if (!socketp)
        curl_multi_assign(fetch->multi, fd, fetch);
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct nd_fetch *fetch = userp;
    (void)multi;
    fetch->curl_due = timeout_ms < 0 ? -1 : nd_mono_ms() + timeout_ms;
    return 0;
}

struct nd_fetch *nd_fetch_new(const struct nd_config *conf, nd_fetch_emit_fn emit, void *opaque)
{
    struct nd_fetch *fetch = nd_xcalloc(1, sizeof(*fetch));
    int64_t now = nd_mono_ms();
    size_t n = conf->nfeeds;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    fetch->conf = conf;
    fetch->emit = emit;
    fetch->opaque = opaque;
    fetch->multi = curl_multi_init();
    fetch->epfd = epoll_create1(EPOLL_CLOEXEC);
    fetch->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fetch->epfd < 0 || fetch->evfd < 0)
        abort(); /* out of file descriptors at start: nothing sensible to do */
    {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fetch->evfd};
        epoll_ctl(fetch->epfd, EPOLL_CTL_ADD, fetch->evfd, &ev);
    }
    fetch->curl_due = -1;
    curl_multi_setopt(fetch->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(fetch->multi, CURLMOPT_SOCKETDATA, fetch);
    curl_multi_setopt(fetch->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(fetch->multi, CURLMOPT_TIMERDATA, fetch);
    curl_multi_setopt(fetch->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conf->fetch_max_parallel);
    curl_multi_setopt(fetch->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conf->fetch_per_host);
    /* Keep idle connections for reuse, but not one per feed: thousands of hosts would hold thousands
     * of sockets open that the servers close anyway. */
    curl_multi_setopt(fetch->multi, CURLMOPT_MAXCONNECTS, (long)conf->fetch_max_parallel * 2);
    fetch->rng = (uint64_t)nd_now_ms() | 1;
    fetch->nfeeds = n;
    fetch->feeds = nd_xcalloc(n ? n : 1, sizeof(*fetch->feeds));
    fetch->heap = nd_xcalloc(n ? n : 1, sizeof(*fetch->heap));
    fetch->pool = nd_xcalloc((size_t)conf->fetch_max_parallel, sizeof(*fetch->pool));
    for (fetch->nids = 16; fetch->nids < 2 * n; fetch->nids *= 2)
        ;
    fetch->ids = nd_xmalloc(fetch->nids * sizeof(*fetch->ids));
    for (size_t i = 0; i < fetch->nids; i++)
        fetch->ids[i] = -1;
    for (size_t i = 0; i < n; i++) {
        struct feed *feed = &fetch->feeds[i];
        feed->conf = &conf->feeds[i];
        feed->host = host_ref(fetch, feed->conf->url);
        feed->seen = nd_seen_new((size_t)conf->fetch_recent_ids);
        /* First polls spread over a second so a thousand feeds do not start in one burst. */
        feed->due_ms = now + (int64_t)(next_rand(fetch) % (n > 1 ? 1000 : 1));
        heap_push(fetch, feed);
        ids_put(fetch, i);
    }
    return fetch;
}

static void feed_clear_pending(struct nd_fetch *fetch, struct feed *feed)
{
    for (size_t i = feed->ipending; i < feed->npending; i++)
        nd_story_destroy(feed->pending[i]);
    fetch->npending -= feed->npending - feed->ipending;
    free(feed->pending);
    feed->pending = NULL;
    feed->npending = feed->ipending = feed->nbatch = 0;
}

/* Free a transfer; its host reference is the caller's business. */
static void xfer_release(struct xfer *x)
{
    nd_membudget_release(x->budget, x->reserved + x->ahead);
    curl_slist_free_all(x->headers);
    nd_buf_free(&x->body);
    free(x->etag);
    free(x->last_modified);
    free(x->url);
    free(x);
}

static void xfer_free(struct nd_fetch *fetch, struct xfer *x)
{
    struct host *host = x->host;
    xfer_release(x);
    host_unref(fetch, host);
}

void nd_fetch_destroy(struct nd_fetch *fetch)
{
    struct xfer *x, *next;
    if (!fetch)
        return;
    for (x = fetch->running; x; x = next) {
        next = x->next;
        curl_multi_remove_handle(fetch->multi, x->easy);
        curl_easy_cleanup(x->easy);
        xfer_free(fetch, x);
    }
    for (size_t b = 0; b < fetch->nbuckets; b++)
        for (struct host *h = fetch->hosts[b]; h; h = h->hnext)
            for (x = h->qhead; x; x = next) {
                next = x->qnext;
                xfer_release(x); /* hosts are all freed below */
            }
    for (size_t i = 0; i < fetch->nfeeds; i++) {
        struct feed *feed = &fetch->feeds[i];
        free(feed->etag);
        free(feed->last_modified);
        free(feed->last);
        nd_seen_destroy(feed->seen);
        feed_clear_pending(fetch, feed);
    }
    for (size_t b = 0; b < fetch->nbuckets; b++) {
        struct host *h, *hn;
        for (h = fetch->hosts[b]; h; h = hn) {
            hn = h->hnext;
            free(h->name);
            free(h);
        }
    }
    for (size_t i = 0; i < fetch->npool; i++)
        curl_easy_cleanup(fetch->pool[i]);
    free(fetch->pool);
    free(fetch->hosts);
    free(fetch->heap);
    free(fetch->ids);
    free(fetch->feeds);
    curl_multi_cleanup(fetch->multi);
    close(fetch->epfd);
    close(fetch->evfd);
    free(fetch);
}

void nd_fetch_set_state_cb(struct nd_fetch *fetch, nd_fetch_state_fn fn, void *opaque)
{
    fetch->state_fn = fn;
    fetch->state_opaque = opaque;
}

void nd_fetch_set_budget(struct nd_fetch *fetch, struct nd_membudget *budget)
{
    fetch->budget = budget;
}

void nd_fetch_set_extractor(struct nd_fetch *fetch, nd_fetch_extract_fn fn, void *opaque)
{
    fetch->extract_fn = fn;
    fetch->extract_opaque = opaque;
}

/* --- errors ---------------------------------------------------------------------------------- */

/* Count and log a reason for a feed. `fail` marks a failed poll (errors, last_error); warnings only
 * count. The log never carries expanded URLs or header values: secrets live there. */
static void feed_report(struct nd_fetch *fetch, struct feed *feed, enum nd_fetch_reason reason,
                        int fail, const char *detail)
{
    char count[24];
    const char *name = reason_names[reason];
    const char *kv[] = {"feed", feed->conf->id, "url", feed->conf->url, "reason", name,
                        "count", count, NULL};
    feed->stats.by_reason[reason]++;
    fetch->totals.by_reason[reason]++;
    snprintf(count, sizeof(count), "%" PRIu64, feed->stats.by_reason[reason]);
    if (fail) {
        feed->stats.errors++;
        fetch->totals.errors++;
        feed->stats.last_error = name;
    }
    nd_log_kv(ND_LOG_WARN, MOD, kv, "feed %s: %s%s%s", feed->conf->id, name, detail ? ": " : "",
              detail ? detail : "");
}

/* --- curl callbacks -------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct xfer *x = userp;
    size_t n = size * nmemb;
    if (nd_buf_append(&x->body, data, n) != ND_OK) {
        x->body_too_big = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (x->body.alloc > x->reserved) {
        nd_membudget_reserve(x->budget, x->body.alloc - x->reserved);
        x->reserved = x->body.alloc;
    }
    return n;
}

static char *header_value(const char *line, size_t len, const char *name)
{
    size_t nlen = strlen(name);
    const char *v, *end = line + len;
    if (len <= nlen || strncasecmp(line, name, nlen) || line[nlen] != ':')
        return NULL;
    v = line + nlen + 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    /* validators are echoed back in our own header lines: refuse control characters */
    for (const char *p = v; p < end; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return NULL;
    return nd_strndup(v, (size_t)(end - v));
}

static int64_t parse_seconds(const char *v)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (end == v || n < 0)
        return 0;
    return n > 100000000 ? 100000000 : (int64_t)n;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userp)
{
    struct xfer *x = userp;
    size_t len = size * nmemb;
    const char *why;
    char *v;

    /* A new response (after a redirect) starts over. */
    if (len > 5 && !strncmp(line, "HTTP/", 5)) {
        free(x->etag);
        free(x->last_modified);
        x->etag = x->last_modified = NULL;
        x->retry_after_s = x->max_age_s = x->expires_s = x->date_s = 0;
        return len;
    }
    if (x->story)
        return len; /* article pages: no validators, no hints */
    if ((v = header_value(line, len, "ETag"))) {
        free(x->etag);
        x->etag = *v && strlen(v) < 1024 ? v : (free(v), NULL);
    } else if ((v = header_value(line, len, "Last-Modified"))) {
        free(x->last_modified);
        x->last_modified = *v && strlen(v) < 128 ? v : (free(v), NULL);
    } else if ((v = header_value(line, len, "Retry-After"))) {
        /* delta-seconds, or an HTTP date taken relative to the server's Date when it sent one */
        if (v[0] >= '0' && v[0] <= '9')
            x->retry_after_s = parse_seconds(v);
        else
            x->retry_after_s = -nd_parse_date(v, &why); /* resolved against Date in complete() */
        free(v);
    } else if ((v = header_value(line, len, "Cache-Control"))) {
        const char *m = strcasestr(v, "max-age=");
        if (m)
            x->max_age_s = parse_seconds(m + 8);
        free(v);
    } else if ((v = header_value(line, len, "Expires"))) {
        x->expires_s = nd_parse_date(v, &why);
        free(v);
    } else if ((v = header_value(line, len, "Date"))) {
        x->date_s = nd_parse_date(v, &why);
        free(v);
    }
    return len;
}

/* --- scheduling ------------------------------------------------------------------------------ */

static int feed_interval_s(const struct nd_fetch *fetch, const struct feed *feed)
{
    return feed->conf->interval_s > 0 ? feed->conf->interval_s : fetch->conf->fetch_default_interval_s;
}

/* When the feed is next due. ok: the poll succeeded; hint_s: the server's freshness hint (max-age,
 * Expires, <ttl>), which may lengthen the interval up to fetch.max_interval_s but never shorten it;
 * retry_s: Retry-After, obeyed up to fetch.backoff_max_s even if that is longer than the backoff. */
static void schedule_next(struct nd_fetch *fetch, struct feed *feed, int ok, int64_t hint_s,
                          int64_t retry_s)
{
    const struct nd_config *conf = fetch->conf;
    int64_t base = feed_interval_s(fetch, feed), interval = base, floor_ms = 0, jitter;

    if (ok) {
        feed->stats.failures = 0;
        if (hint_s > interval)
            interval = hint_s < conf->fetch_max_interval_s ? hint_s : conf->fetch_max_interval_s;
        if (interval < base)
            interval = base;
    } else {
        /* 2x, 4x, 8x ... the interval after 1, 2, 3 ... consecutive failures, up to the cap */
        int shift = feed->stats.failures < 20 ? feed->stats.failures : 20;
        feed->stats.failures++;
        interval = base << (shift + 1);
        if (interval > conf->fetch_backoff_max_s)
            interval = conf->fetch_backoff_max_s > base ? conf->fetch_backoff_max_s : base;
    }
    if (retry_s > 0) {
        if (retry_s > conf->fetch_backoff_max_s)
            retry_s = conf->fetch_backoff_max_s;
        if (retry_s > interval)
            interval = retry_s;
        floor_ms = retry_s * 1000;
    }
    if (interval < conf->fetch_min_interval_s)
        interval = conf->fetch_min_interval_s;
    /* +-10% jitter so feeds with one interval drift apart, but never earlier than Retry-After */
    jitter = interval * 100; /* 10% in ms */
    jitter = jitter > 0 ? (int64_t)(next_rand(fetch) % (uint64_t)(2 * jitter + 1)) - jitter : 0;
    if (interval * 1000 + jitter < floor_ms)
        jitter = floor_ms - interval * 1000;
    feed->due_ms = nd_mono_ms() + interval * 1000 + jitter;
}

/* Copy `in` with every ${NAME} replaced by the environment's value. NULL when a variable is unset,
 * with its name (never a value) in missing. */
static char *expand_env(const char *in, char *missing, size_t missingsz)
{
    struct nd_buf out;
    const char *p = in;
    nd_buf_init(&out, 65536);
    while (*p) {
        const char *s = strstr(p, "${"), *e, *val;
        char name[128];
        if (!s || !(e = strchr(s + 2, '}'))) {
            nd_buf_append(&out, p, strlen(p));
            break;
        }
        nd_buf_append(&out, p, (size_t)(s - p));
        if ((size_t)(e - s - 2) >= sizeof(name)) {
            /* a cut name would look up another variable */
            snprintf(missing, missingsz, "environment variable name %.32s... is too long", s + 2);
            nd_buf_free(&out);
            return NULL;
        }
        snprintf(name, sizeof(name), "%.*s", (int)(e - s - 2), s + 2);
        if (!(val = getenv(name))) {
            snprintf(missing, missingsz, "environment variable %s is not set", name);
            nd_buf_free(&out);
            return NULL;
        }
        if (nd_buf_append(&out, val, strlen(val)) != ND_OK) {
            snprintf(missing, missingsz, "environment variable %s is too long", name);
            nd_buf_free(&out);
            return NULL;
        }
        p = e + 1;
    }
    if (!out.data)
        return nd_strdup("");
    return nd_buf_steal(&out, NULL);
}

static struct xfer *xfer_new(struct nd_fetch *fetch, struct feed *feed, struct nd_story *story,
                             const char *url, char *expanded)
{
    struct xfer *x = nd_xcalloc(1, sizeof(*x));
    x->feed = feed;
    x->story = story;
    x->url = expanded ? expanded : nd_strdup(url);
    x->budget = fetch->budget;
    if (story)
        x->host = host_ref(fetch, url);
    else {
        x->host = feed->host;
        x->host->refs++;
    }
    return x;
}

/* What a poll of the feed started now is expected to bring: its body, and the new stories (at their
 * enriched size) that its items have come at, for the time since its last poll. A feed that was
 * paused for a minute is expected to bring a minute's worth. A feed not polled yet may bring its
 * whole backlog: a sixteenth of the budget each, so that a start with many feeds takes them a few
 * at a time until their costs are known, instead of all at once. */
static size_t feed_expected(const struct nd_fetch *fetch, const struct feed *feed, int64_t now_ms)
{
    double stories;
    if (!feed->polled_mono_ms)
        return nd_membudget_limit(fetch->budget) / 16;
    stories = feed->cost_per_ms * (double)(now_ms - feed->polled_mono_ms);
    return feed->last_body + (size_t)stories;
}

/* A poll ended: learn how much its feed's items bring per ms, smoothed over some eight polls (a
 * feed polled every second whose items come every four gives one poll in four with stories). */
static void feed_learn(struct feed *feed, const struct xfer *x)
{
    double rate;
    if (x->body.alloc)
        feed->last_body = x->body.alloc;
    if (x->since_prev_ms <= 0)
        return;
    rate = (double)x->cost / (double)x->since_prev_ms;
    feed->cost_per_ms = feed->cost_per_ms > 0 ? feed->cost_per_ms * 7 / 8 + rate / 8 : rate;
}

/* A due feed: build its request and queue it on its host. */
static void feed_queue(struct nd_fetch *fetch, struct feed *feed)
{
    char missing[256];
    char *url = expand_env(feed->conf->url, missing, sizeof(missing));
    struct curl_slist *h = NULL;
    struct xfer *x;
    char line[2048];

    for (size_t i = 0; url && i < feed->conf->nheaders; i++) {
        char *value = expand_env(feed->conf->headers[i].value, missing, sizeof(missing));
        if (!value) {
            free(url);
            url = NULL;
            break;
        }
        snprintf(line, sizeof(line), "%s: %s", feed->conf->headers[i].key, value);
        free(value);
        h = curl_slist_append(h, line);
    }
    if (!url) {
        curl_slist_free_all(h);
        feed->stats.polls++;
        fetch->totals.polls++;
        feed_report(fetch, feed, ND_FETCH_CONFIG, 1, missing);
        schedule_next(fetch, feed, 0, 0, 0);
        heap_push(fetch, feed);
        return;
    }
    /* Validators only when the server gave them: a made-up date could hide changes. */
    if (feed->etag) {
        snprintf(line, sizeof(line), "If-None-Match: %s", feed->etag);
        h = curl_slist_append(h, line);
    }
    if (feed->last_modified) {
        snprintf(line, sizeof(line), "If-Modified-Since: %s", feed->last_modified);
        h = curl_slist_append(h, line);
    }
    h = curl_slist_append(h, "Accept: application/rss+xml, application/atom+xml, application/feed+json, "
                             "application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5");
    x = xfer_new(fetch, feed, NULL, NULL, url);
    x->headers = h;
    /* held until the poll ends, when its stories hold their own: the budget sees it coming */
    x->ahead = feed_expected(fetch, feed, nd_mono_ms());
    nd_membudget_reserve(x->budget, x->ahead);
    feed->state = FEED_QUEUED;
    host_enqueue(fetch, x);
}

static void start_xfer(struct nd_fetch *fetch, struct xfer *x)
{
    const struct nd_config *conf = fetch->conf;
    CURL *easy = fetch->npool ? fetch->pool[--fetch->npool] : curl_easy_init();

    nd_buf_init(&x->body, (size_t)conf->fetch_max_body_bytes);
    if (x->story)
        x->headers = curl_slist_append(NULL, "Accept: text/html, application/xhtml+xml;q=0.9, */*;q=0.5");
    curl_easy_setopt(easy, CURLOPT_URL, x->url);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, ""); /* every decoder curl has: gzip, deflate, ... */
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, (long)conf->fetch_max_redirects);
    /* file:// for local feeds, never as a redirect target: a server must not read our disk */
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, x->story ? "http,https" : "http,https,file");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)conf->fetch_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)conf->fetch_connect_timeout_ms);
    /* a server that trickles bytes is cut off long before the whole timeout */
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 64L);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, (long)conf->fetch_stall_timeout_s);
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)conf->fetch_max_body_bytes);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, conf->fetch_user_agent);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    /* Trust the CA bundle only, not also a CA directory: libcurl caches a parsed bundle in the multi
     * handle (CURLOPT_CA_CACHE_TIMEOUT) but not when a CA path is set, and OpenSSL 3 takes ~200 ms of
     * this thread to parse the system bundle: per TLS connection, every other feed would wait. */
    curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
    if (conf->fetch_ca_file && *conf->fetch_ca_file)
        curl_easy_setopt(easy, CURLOPT_CAINFO, conf->fetch_ca_file);
    x->easy = easy;
    x->host->inflight++;
    x->prev = NULL;
    x->next = fetch->running;
    if (fetch->running)
        fetch->running->prev = x;
    fetch->running = x;
    fetch->inflight++;
    if (!x->story) {
        x->feed->state = FEED_ACTIVE;
        x->feed->stats.polls++;
        x->feed->stats.last_poll_ms = nd_now_ms();
        x->since_prev_ms = x->feed->polled_mono_ms ? nd_mono_ms() - x->feed->polled_mono_ms : 0;
        x->feed->polled_mono_ms = nd_mono_ms();
        fetch->totals.polls++;
    }
    curl_multi_add_handle(fetch->multi, easy);
}

/* Start queued requests, round-robin over hosts, within the global and per-host limits. */
static void start_ready(struct nd_fetch *fetch)
{
    while (fetch->ready_head && fetch->inflight < (size_t)fetch->conf->fetch_max_parallel) {
        struct host *h = fetch->ready_head;
        struct xfer *x = h->qhead;
        fetch->ready_head = h->rnext;
        if (!fetch->ready_head)
            fetch->ready_tail = NULL;
        h->on_ready = 0;
        h->qhead = x->qnext;
        if (!h->qhead)
            h->qtail = NULL;
        start_xfer(fetch, x);
        host_make_ready(fetch, h);
    }
}

/* --- batches: a poll's new stories on their way downstream ----------------------------------- */

static void drain_push(struct nd_fetch *fetch, struct feed *feed)
{
    if (feed->on_drain)
        return;
    feed->on_drain = 1;
    feed->pnext = NULL;
    if (fetch->drain_tail)
        fetch->drain_tail->pnext = feed;
    else
        fetch->drain_head = feed;
    fetch->drain_tail = feed;
}

/* Hand a finished batch downstream. 1 when it is all accepted (the feed is idle again). */
static int feed_drain(struct nd_fetch *fetch, struct feed *feed)
{
    size_t nbatch = feed->nbatch;
    while (feed->ipending < feed->npending) {
        if (fetch->emit(fetch->opaque, feed->pending[feed->ipending]) != ND_OK)
            return 0;
        feed->ipending++;
        fetch->npending--;
    }
    free(feed->pending);
    feed->pending = NULL;
    feed->npending = feed->ipending = feed->nbatch = 0;
    if (nbatch && fetch->state_fn)
        fetch->state_fn(fetch->state_opaque, feed->conf->id,
                        nd_fetch_state_export(fetch, (size_t)(feed - fetch->feeds)), nbatch);
    heap_push(fetch, feed);
    return 1;
}

/* 1 when something is still refused downstream (backpressure: start nothing new). */
static int drain_all(struct nd_fetch *fetch)
{
    while (fetch->drain_head) {
        struct feed *feed = fetch->drain_head;
        if (!feed_drain(fetch, feed))
            return 1;
        fetch->drain_head = feed->pnext;
        if (!fetch->drain_head)
            fetch->drain_tail = NULL;
        feed->on_drain = 0;
    }
    return 0;
}

/* --- finished transfers ---------------------------------------------------------------------- */

static int pair_cmp(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    return x->url < y->url ? -1 : x->url > y->url;
}

static const struct pair *pair_find(const struct feed *feed, uint64_t url)
{
    struct pair key = {url, 0};
    return feed->nlast ? bsearch(&key, feed->last, feed->nlast, sizeof(key), pair_cmp) : NULL;
}

static uint64_t url_hash(const char *url)
{
    char *canon = nd_url_canonical(url);
    uint64_t h = hash_str(canon);
    free(canon);
    return h;
}

/* Identity by canonical URL, for feeds whose GUIDs do not hold still. */
static void reid_by_url(struct nd_story *story)
{
    char *guid = story->guid;
    story->guid = NULL;
    nd_story_assign_id(story);
    story->guid = guid;
}

/* An item worth a fulltext fetch: a link, and a body that is only the feed's summary. */
static int wants_fulltext(const struct nd_story *story)
{
    if (!story->url || strncmp(story->url, "http", 4))
        return 0;
    return !story->body_text || !*story->body_text ||
           (story->summary && !strcmp(story->body_text, story->summary));
}

/* GUID churn: items whose URL was in the last poll under another GUID. When most items changed
 * GUID, the feed's GUIDs are not identities: switch it to URL identity for good. */
static int detect_unstable(struct nd_fetch *fetch, struct feed *feed, struct nd_parse_result *res)
{
    size_t both = 0, changed = 0;
    for (size_t k = 0; k < res->nstories; k++) {
        const struct nd_story *story = res->stories[k];
        const struct pair *p;
        if (!story->guid || !story->url)
            continue;
        both++;
        if ((p = pair_find(feed, url_hash(story->url))) && p->guid != hash_str(story->guid))
            changed++;
    }
    if (changed < 2 || changed * 2 < both)
        return 0;
    feed->unstable_guids = 1;
    feed_report(fetch, feed, ND_FETCH_UNSTABLE_GUIDS, 0,
                "most items changed their GUID since the last poll; identifying items by URL");
    return 1;
}

/* The (URL, GUID) pairs of this poll, sorted by URL, at most the seen capacity of them. */
static struct pair *build_pairs(const struct feed *feed, const struct nd_parse_result *res, size_t *npairs)
{
    size_t n = 0, cap = res->nstories;
    struct pair *pairs;
    if (cap > nd_seen_capacity(feed->seen))
        cap = nd_seen_capacity(feed->seen);
    pairs = cap ? nd_xcalloc(cap, sizeof(*pairs)) : NULL;
    for (size_t k = 0; k < res->nstories && n < cap; k++) {
        const struct nd_story *story = res->stories[k];
        if (story->guid && story->url) {
            pairs[n].url = url_hash(story->url);
            pairs[n].guid = hash_str(story->guid);
            n++;
        }
    }
    if (n)
        qsort(pairs, n, sizeof(*pairs), pair_cmp);
    *npairs = n;
    if (!n) {
        free(pairs);
        pairs = NULL;
    }
    return pairs;
}

/* Parse a 2xx body and put its new and changed items in the feed's batch. 1 on success. */
static int handle_body(struct nd_fetch *fetch, struct feed *feed, struct xfer *x)
{
    /* the configured URL, not the expanded one: it becomes the stories' provenance and must not
     * carry a ${VAR} secret */
    struct nd_parse_opts opts = {.base_url = feed->conf->url, .feed_id = feed->conf->id};
    struct pair *pairs;
    size_t npairs;
    struct nd_parse_result res;
    const char *data = x->body.data ? x->body.data : "";
    char errstr[512];
    uint64_t hash = nd_hash64(data, x->body.len, 0);
    int64_t now = nd_now_ms();
    int switched = 0;
    char *ct = NULL;

    /* A server that ignores conditional GET: the same bytes are not parsed again. */
    if (feed->body_hash && hash == feed->body_hash) {
        feed->stats.unchanged++;
        fetch->totals.unchanged++;
        return 1;
    }
    curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
    opts.content_type = ct;
    if (nd_parse_feed(data, x->body.len, &opts, &res, errstr, sizeof(errstr)) != ND_OK) {
        feed->stats.parse_errors++;
        fetch->totals.parse_errors++;
        feed_report(fetch, feed,
                    nd_parse_probe(data, x->body.len) == ND_FORMAT_HTML ? ND_FETCH_NOT_A_FEED
                                                                        : ND_FETCH_PARSE,
                    1, errstr);
        nd_parse_result_free(&res);
        return 0;
    }
    feed->body_hash = hash;
    if (res.repairs) {
        const char *kv[] = {"feed", feed->conf->id, NULL};
        nd_log_kv(ND_LOG_INFO, MOD, kv, "feed %s: %d repairs while parsing%s%s", feed->conf->id,
                  res.repairs, res.notes ? ": " : "", res.notes ? res.notes : "");
    }
    feed->ttl_s = res.ttl_s;
    if (!feed->unstable_guids && feed->nlast)
        switched = detect_unstable(fetch, feed, &res);
    pairs = build_pairs(feed, &res, &npairs);
    feed->pending = nd_xcalloc(res.nstories ? res.nstories : 1, sizeof(*feed->pending));
    /* Oldest first, as a reader would see them: feeds list newest first. */
    for (size_t k = res.nstories; k-- > 0;) {
        struct nd_story *story = res.stories[k];
        uint64_t id, content = nd_story_content_hash(story);
        int version = 0, state;
        if (feed->unstable_guids && story->url)
            reid_by_url(story);
        id = hash_str(story->id);
        state = nd_seen_check(feed->seen, id, content, &version);
        if (state == 1)
            continue;
        /* On the poll that revealed the churn, items already emitted under their old GUID are
         * remembered by URL without being emitted again. */
        if (switched && state == 0 && story->url && pair_find(feed, url_hash(story->url))) {
            nd_seen_put(feed->seen, id, content, 1);
            continue;
        }
        story->version = state == 2 ? version + 1 : 1;
        nd_seen_put(feed->seen, id, content, story->version);
        story->fetched_at_ms = now;
        res.stories[k] = NULL;
        nd_story_account_ahead(story, fetch->budget);
        x->cost += story->mem_bytes;
        if (feed->conf->fulltext && wants_fulltext(story)) {
            host_enqueue(fetch, xfer_new(fetch, feed, story, story->url, NULL));
            feed->narticles++;
        }
        feed->pending[feed->npending++] = story;
        fetch->npending++;
        feed->stats.items++;
        fetch->totals.items++;
    }
    free(feed->last);
    feed->last = pairs;
    feed->nlast = npairs;
    feed->nbatch = feed->npending;
    nd_parse_result_free(&res);
    return 1;
}

/* Built-in extractor: the text of the page's <body> (or all of it). pkg/parse's article extractor
 * replaces it through nd_fetch_set_extractor. */
static char *default_extract(const char *html, size_t len)
{
    const char *b = NULL;
    for (size_t i = 0; i + 5 < len && !b; i++)
        if (html[i] == '<' && !strncasecmp(html + i, "<body", 5))
            b = html + i;
    if (!b)
        b = html;
    return nd_html_to_text(b, len - (size_t)(b - html));
}

static void article_done(struct nd_fetch *fetch, struct xfer *x, CURLcode code, long status)
{
    struct feed *feed = x->feed;
    struct nd_story *story = x->story;
    char detail[300];
    char *text = NULL;

    if (code == CURLE_OK && status >= 200 && status < 300 && x->body.len) {
        text = fetch->extract_fn ? fetch->extract_fn(fetch->extract_opaque, x->body.data, x->body.len,
                                                     story->url)
                                 : default_extract(x->body.data, x->body.len);
        feed->stats.articles++;
        fetch->totals.articles++;
    } else {
        /* the summary still goes downstream: an unreachable page never loses the item */
        snprintf(detail, sizeof(detail), "article %.200s: %s", story->url,
                 code != CURLE_OK ? curl_easy_strerror(code) : "HTTP error status");
        feed_report(fetch, feed, ND_FETCH_ARTICLE, 0, detail);
    }
    if (text && *text) {
        free(story->body_text);
        story->body_text = text;
        text = NULL;
        nd_story_account_ahead(story, fetch->budget);
    }
    free(text);
    if (--feed->narticles == 0)
        drain_push(fetch, feed);
}

static enum nd_fetch_reason transport_reason(CURL *easy, CURLcode code)
{
    curl_off_t connected = 0;
    switch (code) {
    case CURLE_FILESIZE_EXCEEDED:
        return ND_FETCH_BODY_TOO_BIG;
    case CURLE_OPERATION_TIMEDOUT:
        curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connected);
        return connected ? ND_FETCH_TIMEOUT : ND_FETCH_CONNECT_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return ND_FETCH_DNS;
    case CURLE_COULDNT_CONNECT:
        return ND_FETCH_CONNECT;
    case CURLE_TOO_MANY_REDIRECTS:
        return ND_FETCH_REDIRECTS;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return ND_FETCH_TLS;
    case CURLE_BAD_CONTENT_ENCODING:
        return ND_FETCH_ENCODING;
    default:
        return ND_FETCH_TRANSPORT;
    }
}

/* Last-Modified more than this far ahead of the server's clock is not believed. */
#define FUTURE_SLACK_S 300

static void complete(struct nd_fetch *fetch, CURL *easy, CURLcode code)
{
    struct xfer *x = NULL;
    struct feed *feed;
    long status = 0;
    int ok = 0;
    int64_t hint = 0, retry = 0, server_now;

    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    feed = x->feed;
    server_now = x->date_s > 0 ? x->date_s : nd_now_ms() / 1000;

    if (x->story) {
        article_done(fetch, x, x->body_too_big ? CURLE_FILESIZE_EXCEEDED : code, status);
    } else {
        feed->stats.last_status = (int)status;
        if (code != CURLE_OK) {
            enum nd_fetch_reason r = x->body_too_big ? ND_FETCH_BODY_TOO_BIG : transport_reason(easy, code);
            feed_report(fetch, feed, r, 1,
                        r == ND_FETCH_BODY_TOO_BIG ? "response body over fetch.max_body_bytes"
                                                   : curl_easy_strerror(code));
        } else if (status == 304) {
            feed_learn(feed, x);
            feed->stats.not_modified++;
            fetch->totals.not_modified++;
            if (x->etag) {
                free(feed->etag);
                feed->etag = x->etag;
                x->etag = NULL;
            }
            ok = 1;
        } else if ((status >= 200 && status < 300) || status == 0 /* file:// */) {
            /* The validators of this representation replace the old ones, including by none. */
            free(feed->etag);
            feed->etag = x->etag;
            x->etag = NULL;
            free(feed->last_modified);
            feed->last_modified = NULL;
            if (x->last_modified) {
                const char *why = NULL;
                int64_t lm = nd_parse_date(x->last_modified, &why);
                /* the date parser itself refuses dates far ahead (0 with a reason) */
                if (lm > server_now + FUTURE_SLACK_S || (!lm && why && strstr(why, "future"))) {
                    char detail[200];
                    snprintf(detail, sizeof(detail), "Last-Modified %.60s is in the future; not sent back",
                             x->last_modified);
                    feed_report(fetch, feed, ND_FETCH_FUTURE_LAST_MODIFIED, 0, detail);
                } else {
                    feed->last_modified = x->last_modified;
                    x->last_modified = NULL;
                }
            }
            ok = handle_body(fetch, feed, x);
            feed_learn(feed, x);
        } else {
            char detail[64];
            snprintf(detail, sizeof(detail), "HTTP status %ld", status);
            feed_report(fetch, feed,
                        status == 429 ? ND_FETCH_RATE_LIMITED
                                      : status >= 500 ? ND_FETCH_HTTP_5XX : ND_FETCH_HTTP_4XX,
                        1, detail);
        }
        if (ok)
            feed->stats.last_error = NULL;
        hint = x->max_age_s > feed->ttl_s ? x->max_age_s : feed->ttl_s;
        if (x->expires_s > 0 && x->date_s > 0 && x->expires_s - x->date_s > hint)
            hint = x->expires_s - x->date_s;
        retry = x->retry_after_s < 0 ? -x->retry_after_s - server_now : x->retry_after_s;
        if (status != 429 && status != 503)
            retry = 0; /* Retry-After means "come back later" only on these */
    }

    curl_multi_remove_handle(fetch->multi, easy);
    x->host->inflight--;
    host_make_ready(fetch, x->host);
    if (x->prev)
        x->prev->next = x->next;
    else
        fetch->running = x->next;
    if (x->next)
        x->next->prev = x->prev;
    fetch->inflight--;
    if (fetch->npool < (size_t)fetch->conf->fetch_max_parallel) {
        curl_easy_reset(easy);
        fetch->pool[fetch->npool++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }

    if (!x->story) {
        schedule_next(fetch, feed, ok, hint, retry);
        feed->state = FEED_BATCH;
        if (feed->narticles == 0)
            drain_push(fetch, feed);
    }
    xfer_free(fetch, x);
}

static void read_done(struct nd_fetch *fetch)
{
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(fetch->multi, &left)))
        if (msg->msg == CURLMSG_DONE)
            complete(fetch, msg->easy_handle, msg->data.result);
}

/* Let curl handle its timeouts (new transfers start this way too) when they are due. */
static void drive_timers(struct nd_fetch *fetch)
{
    int running;
    while (fetch->curl_due >= 0 && fetch->curl_due <= nd_mono_ms()) {
        fetch->curl_due = -1;
        curl_multi_socket_action(fetch->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        read_done(fetch);
    }
}

/* Wait up to wait_ms for sockets and hand what is ready to curl. */
static void drive_sockets(struct nd_fetch *fetch, int wait_ms)
{
    struct epoll_event evs[64];
    int n = epoll_wait(fetch->epfd, evs, 64, wait_ms), running;
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd, mask = 0;
        if (fd == fetch->evfd) {
            uint64_t v;
            ssize_t r = read(fd, &v, sizeof(v)); /* EAGAIN: drained already; either way awake */
            (void)r;
            continue;
        }
        if (evs[i].events & EPOLLIN)
            mask |= CURL_CSELECT_IN;
        if (evs[i].events & EPOLLOUT)
            mask |= CURL_CSELECT_OUT;
        if (evs[i].events & (EPOLLERR | EPOLLHUP))
            mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(fetch->multi, fd, mask, &running);
    }
    read_done(fetch);
}

void nd_fetch_run(struct nd_fetch *fetch, int timeout_ms)
{
    int64_t deadline = nd_mono_ms() + timeout_ms;

    atomic_store(&fetch->woken, 0);
    for (;;) {
        /* Backpressure: stories parsed earlier go first; while any is refused, start nothing. */
        int blocked = drain_all(fetch);
        int64_t now = nd_mono_ms(), wake;
        /* Over memory.limit_mb no new poll is queued until publish has drained, and a due feed
         * waits while what it is expected to bring does not fit. Requests already queued hold
         * their reservation and start (as do the article pages of a poll's batch): their stories
         * go on, as they must for their units to close and the budget to drain. */
        int paused = !nd_membudget_admit(fetch->budget, ND_MEM_FETCH, 0);
        if (!blocked) {
            while (!paused && !fetch->reloading && fetch->nheap && fetch->heap[0]->due_ms <= now &&
                   !(paused = !nd_membudget_admit(fetch->budget, ND_MEM_FETCH,
                                                  feed_expected(fetch, fetch->heap[0], now))))
                feed_queue(fetch, heap_pop(fetch));
            start_ready(fetch);
        }
        drive_timers(fetch);
        now = nd_mono_ms();
        if (now >= deadline || atomic_load(&fetch->woken))
            break;
        wake = deadline;
        if (blocked || paused)
            wake = now + 20 < wake ? now + 20 : wake;
        else if (fetch->drain_head || (fetch->ready_head && fetch->inflight < (size_t)fetch->conf->fetch_max_parallel))
            wake = now;
        else if (fetch->nheap && fetch->heap[0]->due_ms < wake)
            wake = fetch->heap[0]->due_ms;
        if (fetch->curl_due >= 0 && fetch->curl_due < wake)
            wake = fetch->curl_due;
        drive_sockets(fetch, wake > now ? (int)(wake - now) : 0);
        if (atomic_load(&fetch->woken))
            break;
    }
}

void nd_fetch_wakeup(struct nd_fetch *fetch)
{
    uint64_t one = 1;
    ssize_t r;
    atomic_store(&fetch->woken, 1);
    r = write(fetch->evfd, &one, sizeof(one)); /* EAGAIN: a wakeup is pending anyway */
    (void)r;
}

void nd_fetch_poll_all_now(struct nd_fetch *fetch)
{
    int64_t now = nd_mono_ms();
    for (size_t i = 0; i < fetch->nheap; i++)
        fetch->heap[i]->due_ms = now;
    for (size_t i = 0; i < fetch->nfeeds; i++)
        if (fetch->feeds[i].state != FEED_IDLE)
            fetch->feeds[i].due_ms = now;
}

size_t nd_fetch_feed_count(const struct nd_fetch *fetch)
{
    return fetch->nfeeds;
}

const char *nd_fetch_feed_id(const struct nd_fetch *fetch, size_t i)
{
    return fetch->feeds[i].conf->id;
}

void nd_fetch_feed_stats(const struct nd_fetch *fetch, size_t i, struct nd_fetch_stats *stats)
{
    *stats = fetch->feeds[i].stats;
}

void nd_fetch_totals(const struct nd_fetch *fetch, struct nd_fetch_stats *stats)
{
    *stats = fetch->totals;
}

size_t nd_fetch_inflight(const struct nd_fetch *fetch)
{
    return fetch->inflight;
}

size_t nd_fetch_pending(const struct nd_fetch *fetch)
{
    return fetch->npending;
}

size_t nd_fetch_memory(const struct nd_fetch *fetch)
{
    size_t n = sizeof(*fetch) + fetch->nfeeds * (sizeof(struct feed) + sizeof(struct feed *)) +
               fetch->nids * sizeof(long) + fetch->nbuckets * sizeof(struct host *);
    for (size_t i = 0; i < fetch->nfeeds; i++) {
        const struct feed *feed = &fetch->feeds[i];
        n += nd_seen_bytes(feed->seen) + feed->nlast * sizeof(struct pair);
        n += feed->etag ? strlen(feed->etag) + 1 : 0;
        n += feed->last_modified ? strlen(feed->last_modified) + 1 : 0;
    }
    for (size_t b = 0; b < fetch->nbuckets; b++)
        for (const struct host *h = fetch->hosts[b]; h; h = h->hnext)
            n += sizeof(*h) + strlen(h->name) + 1;
    return n;
}

/* --- feed state ------------------------------------------------------------------------------ */

json_t *nd_fetch_state_export(const struct nd_fetch *fetch, size_t feed_index)
{
    const struct feed *feed = &fetch->feeds[feed_index];
    json_t *state = json_object(), *ids = json_array();
    char hex[17], hex2[17];
    size_t n = nd_seen_count(feed->seen);

    json_object_set_new(state, "etag", feed->etag ? json_string(feed->etag) : json_null());
    json_object_set_new(state, "last_modified",
                        feed->last_modified ? json_string(feed->last_modified) : json_null());
    nd_hash_hex(feed->body_hash, hex);
    json_object_set_new(state, "body_hash", json_string(hex));
    json_object_set_new(state, "unstable_guids", json_boolean(feed->unstable_guids));
    for (size_t i = 0; i < n; i++) {
        uint64_t id, content;
        int version;
        nd_seen_get(feed->seen, i, &id, &content, &version);
        nd_hash_hex(id, hex);
        nd_hash_hex(content, hex2);
        json_array_append_new(ids, json_pack("[ssi]", hex, hex2, version));
    }
    json_object_set_new(state, "ids", ids);
    return state;
}

static int hex64(const json_t *v, uint64_t *out)
{
    const char *s = json_string_value(v);
    char *end;
    if (!s || strlen(s) != 16)
        return -1;
    *out = strtoull(s, &end, 16);
    return *end ? -1 : 0;
}

static int opt_string(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) < 1024 &&
                                     !strpbrk(json_string_value(v), "\r\n"));
}

enum nd_err nd_fetch_state_import(struct nd_fetch *fetch, const char *feed_id, const json_t *state)
{
    long index = nd_fetch_feed_index(fetch, feed_id);
    const json_t *ids, *item, *etag, *lm;
    struct feed *feed;
    struct nd_seen *seen;
    uint64_t body_hash = 0;
    size_t i;

    if (index < 0)
        return ND_ERR_NOTFOUND;
    feed = &fetch->feeds[index];
    etag = json_object_get(state, "etag");
    lm = json_object_get(state, "last_modified");
    ids = json_object_get(state, "ids");
    if (!json_is_object(state) || !opt_string(etag) || !opt_string(lm) ||
        (json_object_get(state, "body_hash") && hex64(json_object_get(state, "body_hash"), &body_hash)) ||
        (ids && !json_is_array(ids)))
        return ND_ERR_INVALID;
    seen = nd_seen_new((size_t)fetch->conf->fetch_recent_ids);
    json_array_foreach(ids, i, item) {
        uint64_t id, content;
        json_int_t version = json_integer_value(json_array_get(item, 2));
        if (!json_is_array(item) || hex64(json_array_get(item, 0), &id) ||
            hex64(json_array_get(item, 1), &content) || version < 1 || version > INT32_MAX) {
            nd_seen_destroy(seen);
            return ND_ERR_INVALID;
        }
        nd_seen_put(seen, id, content, (int)version);
    }
    nd_seen_destroy(feed->seen);
    feed->seen = seen;
    free(feed->etag);
    free(feed->last_modified);
    feed->etag = json_is_string(etag) ? nd_strdup(json_string_value(etag)) : NULL;
    feed->last_modified = json_is_string(lm) ? nd_strdup(json_string_value(lm)) : NULL;
    feed->body_hash = body_hash;
    feed->unstable_guids = json_is_true(json_object_get(state, "unstable_guids"));
    return ND_OK;
}

/* --- reload: nd_fetch_set_feeds ---------------------------------------------------------------
 * Feeds live in one array that transfers, the heap and the drain list point into, so the list is
 * swapped only when the fetcher is quiet: no transfer running or queued and no batch waiting
 * downstream. Until then new polls are held back (as under backpressure) and the caller retries. */

enum nd_err nd_fetch_set_feeds(struct nd_fetch *fetch, const struct nd_feed_conf *feeds, size_t nfeeds)
{
    const struct nd_config *conf = fetch->conf;
    struct feed *next;
    char *kept;
    int64_t now = nd_mono_ms();

    if (fetch->running || fetch->inflight || fetch->npending || fetch->drain_head ||
        fetch->nheap != fetch->nfeeds) {
        fetch->reloading = 1;
        return ND_ERR_AGAIN;
    }
    next = nd_xcalloc(nfeeds ? nfeeds : 1, sizeof(*next));
    kept = nd_xcalloc(fetch->nfeeds ? fetch->nfeeds : 1, 1);
    for (size_t j = 0; j < nfeeds; j++) {
        struct feed *feed = &next[j];
        long i = nd_fetch_feed_index(fetch, feeds[j].id);
        if (i >= 0 && !kept[i]) {
            struct feed *old = &fetch->feeds[i];
            kept[i] = 1;
            *feed = *old;
            if (strcmp(old->conf->url, feeds[j].url)) {
                /* validators and the body hash belong to the old URL; the item ids stay, since
                 * story ids come from the feed id and the items' GUIDs */
                free(feed->etag);
                free(feed->last_modified);
                feed->etag = feed->last_modified = NULL;
                feed->body_hash = 0;
                feed->stats.failures = 0;
                host_unref(fetch, feed->host);
                feed->host = host_ref(fetch, feeds[j].url);
                feed->due_ms = now;
            }
            feed->conf = &feeds[j];
            /* a shorter interval applies from now, not after the old one ran out */
            if (feed->due_ms > now + (int64_t)feed_interval_s(fetch, feed) * 1000 &&
                !feed->stats.failures)
                feed->due_ms = now + (int64_t)feed_interval_s(fetch, feed) * 1000;
        } else {
            feed->conf = &feeds[j];
            feed->host = host_ref(fetch, feeds[j].url);
            feed->seen = nd_seen_new((size_t)conf->fetch_recent_ids);
            feed->due_ms = now + (int64_t)(next_rand(fetch) % 1000);
        }
    }
    for (size_t i = 0; i < fetch->nfeeds; i++) {
        struct feed *old = &fetch->feeds[i];
        if (kept[i])
            continue;
        free(old->etag);
        free(old->last_modified);
        free(old->last);
        nd_seen_destroy(old->seen);
        host_unref(fetch, old->host);
    }
    free(kept);
    free(fetch->feeds);
    fetch->feeds = next;
    fetch->nfeeds = nfeeds;
    /* rebuild the heap and the id index over the new array */
    free(fetch->heap);
    fetch->heap = nd_xcalloc(nfeeds ? nfeeds : 1, sizeof(*fetch->heap));
    fetch->nheap = 0;
    for (size_t j = 0; j < nfeeds; j++)
        heap_push(fetch, &fetch->feeds[j]);
    free(fetch->ids);
    for (fetch->nids = 16; fetch->nids < 2 * nfeeds; fetch->nids *= 2)
        ;
    fetch->ids = nd_xmalloc(fetch->nids * sizeof(*fetch->ids));
    for (size_t i = 0; i < fetch->nids; i++)
        fetch->ids[i] = -1;
    for (size_t j = 0; j < nfeeds; j++)
        ids_put(fetch, j);
    fetch->reloading = 0;
    return ND_OK;
}
