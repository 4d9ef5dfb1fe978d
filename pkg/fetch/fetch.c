#include "fetch/fetch.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch/seen.h"
#include "parse/parse.h"

#define MOD "fetch"

struct feed {
    const struct nd_feed_conf *conf;
    char host[256];
    CURL *easy;                 /* non-NULL while a request is in flight */
    struct curl_slist *headers;
    struct nd_buf body;
    int body_too_big;
    /* validators the server gave, sent back only when it gave them */
    char *etag, *last_modified;
    char *new_etag, *new_last_modified;
    uint64_t body_hash;
    int retry_after_s, max_age_s;
    struct nd_seen *seen;
    int64_t due_ms;
    int failures;
    /* stories parsed but not yet accepted downstream */
    struct nd_story **pending;
    size_t npending, ipending;
    size_t poll_emitted;        /* stories of the current poll accepted by emit */
    struct nd_fetch_stats stats;
};

struct nd_fetch {
    const struct nd_config *conf;
    nd_fetch_emit_fn emit;
    nd_fetch_state_fn emit_state;
    void *opaque;
    CURLM *multi;
    struct feed *feeds;
    size_t nfeeds;
    size_t inflight;
    uint64_t rng;
};

static uint64_t next_rand(struct nd_fetch *fetch)
{
    /* xorshift64*: jitter only, no need for more */
    fetch->rng ^= fetch->rng >> 12;
    fetch->rng ^= fetch->rng << 25;
    fetch->rng ^= fetch->rng >> 27;
    return fetch->rng * 0x2545F4914F6CDD1Dull;
}

static int feed_interval_s(const struct nd_fetch *fetch, const struct feed *feed)
{
    return feed->conf->interval_s > 0 ? feed->conf->interval_s : fetch->conf->fetch_default_interval_s;
}

static void host_of(const char *url, char *out, size_t outsz)
{
    const char *p = strstr(url, "://");
    size_t n;
    p = p ? p + 3 : url;
    n = strcspn(p, "/?#");
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

struct nd_fetch *nd_fetch_new(const struct nd_config *conf, nd_fetch_emit_fn emit, void *opaque)
{
    struct nd_fetch *fetch = nd_xcalloc(1, sizeof(*fetch));
    int64_t now = nd_mono_ms();

    curl_global_init(CURL_GLOBAL_DEFAULT);
    fetch->conf = conf;
    fetch->emit = emit;
    fetch->opaque = opaque;
    fetch->multi = curl_multi_init();
    curl_multi_setopt(fetch->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conf->fetch_max_parallel);
    curl_multi_setopt(fetch->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conf->fetch_per_host);
    fetch->rng = (uint64_t)nd_now_ms() | 1;
    fetch->nfeeds = conf->nfeeds;
    fetch->feeds = nd_xcalloc(conf->nfeeds ? conf->nfeeds : 1, sizeof(*fetch->feeds));
    for (size_t i = 0; i < conf->nfeeds; i++) {
        struct feed *feed = &fetch->feeds[i];
        feed->conf = &conf->feeds[i];
        host_of(feed->conf->url, feed->host, sizeof(feed->host));
        feed->seen = nd_seen_new((size_t)conf->fetch_recent_ids);
        nd_buf_init(&feed->body, (size_t)conf->fetch_max_body_bytes);
        /* First polls spread over a second so a thousand feeds do not start in one burst. */
        feed->due_ms = now + (int64_t)(next_rand(fetch) % (conf->nfeeds > 1 ? 1000 : 1));
    }
    return fetch;
}

static void feed_clear_pending(struct feed *feed)
{
    for (size_t i = feed->ipending; i < feed->npending; i++)
        nd_story_destroy(feed->pending[i]);
    free(feed->pending);
    feed->pending = NULL;
    feed->npending = feed->ipending = 0;
}

void nd_fetch_destroy(struct nd_fetch *fetch)
{
    if (!fetch)
        return;
    for (size_t i = 0; i < fetch->nfeeds; i++) {
        struct feed *feed = &fetch->feeds[i];
        if (feed->easy) {
            curl_multi_remove_handle(fetch->multi, feed->easy);
            curl_easy_cleanup(feed->easy);
        }
        curl_slist_free_all(feed->headers);
        nd_buf_free(&feed->body);
        free(feed->etag);
        free(feed->last_modified);
        free(feed->new_etag);
        free(feed->new_last_modified);
        nd_seen_destroy(feed->seen);
        feed_clear_pending(feed);
    }
    free(fetch->feeds);
    curl_multi_cleanup(fetch->multi);
    free(fetch);
}

/* --- curl callbacks -------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct feed *feed = userp;
    size_t n = size * nmemb;
    if (nd_buf_append(&feed->body, data, n) != ND_OK) {
        feed->body_too_big = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
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
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    return nd_strndup(v, (size_t)(end - v));
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userp)
{
    struct feed *feed = userp;
    size_t len = size * nmemb;
    char *v;

    /* A new response (after a redirect) starts over. */
    if (len > 5 && !strncmp(line, "HTTP/", 5)) {
        free(feed->new_etag);
        free(feed->new_last_modified);
        feed->new_etag = feed->new_last_modified = NULL;
        feed->retry_after_s = feed->max_age_s = 0;
        return len;
    }
    if ((v = header_value(line, len, "ETag"))) {
        free(feed->new_etag);
        feed->new_etag = v;
    } else if ((v = header_value(line, len, "Last-Modified"))) {
        free(feed->new_last_modified);
        feed->new_last_modified = v;
    } else if ((v = header_value(line, len, "Retry-After"))) {
        /* delta-seconds or an HTTP date */
        const char *why;
        int64_t when;
        if (v[0] >= '0' && v[0] <= '9')
            feed->retry_after_s = atoi(v);
        else if ((when = nd_parse_date(v, &why)) > 0 && when > nd_now_ms() / 1000)
            feed->retry_after_s = (int)(when - nd_now_ms() / 1000);
        free(v);
    } else if ((v = header_value(line, len, "Cache-Control"))) {
        const char *m = strcasestr(v, "max-age=");
        if (m)
            feed->max_age_s = atoi(m + 8);
        free(v);
    }
    return len;
}

/* --- scheduling ------------------------------------------------------------------------------ */

static size_t host_inflight(const struct nd_fetch *fetch, const char *host)
{
    size_t n = 0;
    for (size_t i = 0; i < fetch->nfeeds; i++)
        if (fetch->feeds[i].easy && !strcmp(fetch->feeds[i].host, host))
            n++;
    return n;
}

static void schedule_next(struct nd_fetch *fetch, struct feed *feed, int ok)
{
    const struct nd_config *conf = fetch->conf;
    int64_t interval = feed_interval_s(fetch, feed);
    int64_t jitter;

    if (ok) {
        feed->failures = 0;
        /* Server hints may lengthen the interval, within bounds; never shorten below ours. */
        if (feed->max_age_s > interval)
            interval = feed->max_age_s;
        if (interval > conf->fetch_max_interval_s && feed_interval_s(fetch, feed) <= conf->fetch_max_interval_s)
            interval = conf->fetch_max_interval_s;
    } else {
        int shift = feed->failures < 16 ? feed->failures : 16;
        feed->failures++;
        interval = (int64_t)feed_interval_s(fetch, feed) << shift;
        if (interval > conf->fetch_backoff_max_s)
            interval = conf->fetch_backoff_max_s;
    }
    if (feed->retry_after_s > 0) {
        int64_t ra = feed->retry_after_s < conf->fetch_backoff_max_s ? feed->retry_after_s
                                                                     : conf->fetch_backoff_max_s;
        if (ra > interval)
            interval = ra;
    }
    if (interval < conf->fetch_min_interval_s)
        interval = conf->fetch_min_interval_s;
    /* +-10% jitter so feeds with one interval drift apart */
    jitter = interval * 100 / 1000;
    jitter = jitter > 0 ? (int64_t)(next_rand(fetch) % (uint64_t)(2 * jitter + 1)) - jitter : 0;
    feed->due_ms = nd_mono_ms() + interval * 1000 + jitter * 1000;
}

static void start_request(struct nd_fetch *fetch, struct feed *feed)
{
    const struct nd_config *conf = fetch->conf;
    CURL *easy = curl_easy_init();
    struct curl_slist *h = NULL;
    char line[2048];

    nd_buf_reset(&feed->body);
    feed->body_too_big = 0;
    feed->retry_after_s = feed->max_age_s = 0;
    if (feed->etag) {
        snprintf(line, sizeof(line), "If-None-Match: %s", feed->etag);
        h = curl_slist_append(h, line);
    }
    if (feed->last_modified) {
        snprintf(line, sizeof(line), "If-Modified-Since: %s", feed->last_modified);
        h = curl_slist_append(h, line);
    }
    for (size_t i = 0; i < feed->conf->nheaders; i++) {
        const char *value = feed->conf->headers[i].value;
        size_t vl = strlen(value);
        /* ${VAR}: the secret comes from the environment at request time and is never logged */
        if (vl > 3 && value[0] == '$' && value[1] == '{' && value[vl - 1] == '}') {
            char var[256];
            snprintf(var, sizeof(var), "%.*s", (int)(vl - 3), value + 2);
            value = getenv(var) ? getenv(var) : "";
        }
        snprintf(line, sizeof(line), "%s: %s", feed->conf->headers[i].key, value);
        h = curl_slist_append(h, line);
    }
    h = curl_slist_append(h, "Accept: application/rss+xml, application/atom+xml, application/feed+json, "
                             "application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5");
    feed->headers = h;

    curl_easy_setopt(easy, CURLOPT_URL, feed->conf->url);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, feed);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, feed);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, feed);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, (long)conf->fetch_max_redirects);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)conf->fetch_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)conf->fetch_connect_timeout_ms);
    /* a server that trickles bytes is cut off long before the whole timeout */
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 64L);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, 15L);
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)conf->fetch_max_body_bytes);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, conf->fetch_user_agent);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    feed->easy = easy;
    feed->stats.polls++;
    feed->stats.last_poll_ms = nd_now_ms();
    fetch->inflight++;
    curl_multi_add_handle(fetch->multi, easy);
}

static const char *const reason_names[ND_FETCH_NREASONS] = {
    "parse", "body_too_big", "timeout", "dns", "connect", "redirects", "tls", "transport",
    "rate_limited", "http_5xx", "http_4xx"};

const char *nd_fetch_reason_name(enum nd_fetch_reason reason)
{
    return (unsigned)reason < ND_FETCH_NREASONS ? reason_names[reason] : "unknown";
}

static void feed_error(struct feed *feed, const char *reason, const char *detail)
{
    const char *kv[] = {"feed", feed->conf->id, "url", feed->conf->url, "reason", reason, NULL};
    feed->stats.errors++;
    for (size_t i = 0; i < ND_FETCH_NREASONS; i++)
        if (!strcmp(reason_names[i], reason))
            feed->stats.by_reason[i]++;
    feed->stats.last_error = reason;
    nd_log_kv(ND_LOG_WARN, MOD, kv, "feed %s: %s%s%s", feed->conf->id, reason, detail ? ": " : "",
              detail ? detail : "");
}

/* Try to hand pending stories downstream; 1 when the feed has none left. After the last story of a
 * poll, the feed's state goes out so it can be committed with them. */
static int drain_pending(struct nd_fetch *fetch, struct feed *feed)
{
    while (feed->ipending < feed->npending) {
        struct nd_story *story = feed->pending[feed->ipending];
        if (fetch->emit(fetch->opaque, story) != ND_OK)
            return 0;
        feed->ipending++;
        feed->poll_emitted++;
    }
    free(feed->pending);
    feed->pending = NULL;
    feed->npending = feed->ipending = 0;
    if (feed->poll_emitted && fetch->emit_state)
        fetch->emit_state(fetch->opaque, feed->conf->id,
                          nd_fetch_state_export(fetch, (size_t)(feed - fetch->feeds)),
                          feed->poll_emitted);
    feed->poll_emitted = 0;
    return 1;
}

static void handle_body(struct nd_fetch *fetch, struct feed *feed)
{
    struct nd_parse_opts opts = {.base_url = feed->conf->url, .feed_id = feed->conf->id};
    struct nd_parse_result res;
    char errstr[512];
    uint64_t hash = nd_hash64(feed->body.data ? feed->body.data : "", feed->body.len, 0);
    int64_t now = nd_now_ms();
    char *ct = NULL;

    /* A server that ignores conditional GET: the same bytes are not parsed again. */
    if (feed->body_hash && hash == feed->body_hash) {
        feed->stats.unchanged++;
        return;
    }
    curl_easy_getinfo(feed->easy, CURLINFO_CONTENT_TYPE, &ct);
    opts.content_type = ct;
    if (nd_parse_feed(feed->body.data ? feed->body.data : "", feed->body.len, &opts, &res, errstr,
                      sizeof(errstr)) != ND_OK) {
        feed->stats.parse_errors++;
        feed_error(feed, "parse", errstr);
        nd_parse_result_free(&res);
        return;
    }
    feed->body_hash = hash;
    if (res.repairs) {
        const char *kv[] = {"feed", feed->conf->id, NULL};
        nd_log_kv(ND_LOG_INFO, MOD, kv, "feed %s: %d repairs while parsing%s%s", feed->conf->id,
                  res.repairs, res.notes ? ": " : "", res.notes ? res.notes : "");
    }
    if (res.ttl_s > 0 && res.ttl_s > feed->max_age_s)
        feed->max_age_s = res.ttl_s;
    feed->pending = nd_xcalloc(res.nstories ? res.nstories : 1, sizeof(*feed->pending));
    /* Oldest first, as a reader would see them: feeds list newest first. */
    for (size_t k = res.nstories; k-- > 0;) {
        struct nd_story *story = res.stories[k];
        uint64_t id = nd_hash64(story->id, strlen(story->id), 0);
        uint64_t content = nd_story_content_hash(story);
        int version = 0;
        int state = nd_seen_check(feed->seen, id, content, &version);
        if (state == 1)
            continue;
        story->version = state == 2 ? version + 1 : 1;
        nd_seen_put(feed->seen, id, content, story->version);
        story->fetched_at_ms = now;
        res.stories[k] = NULL;
        feed->pending[feed->npending++] = story;
        feed->stats.items++;
    }
    nd_parse_result_free(&res);
    drain_pending(fetch, feed);
}

static void complete(struct nd_fetch *fetch, CURL *easy, CURLcode code)
{
    struct feed *feed = NULL;
    long status = 0;
    int ok = 0;

    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&feed);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    feed->stats.last_status = (int)status;
    feed->stats.last_error = NULL;

    if (code != CURLE_OK) {
        if (feed->body_too_big || code == CURLE_FILESIZE_EXCEEDED)
            feed_error(feed, "body_too_big", "response body over fetch.max_body_bytes");
        else if (code == CURLE_OPERATION_TIMEDOUT)
            feed_error(feed, "timeout", curl_easy_strerror(code));
        else if (code == CURLE_COULDNT_RESOLVE_HOST)
            feed_error(feed, "dns", curl_easy_strerror(code));
        else if (code == CURLE_COULDNT_CONNECT)
            feed_error(feed, "connect", curl_easy_strerror(code));
        else if (code == CURLE_TOO_MANY_REDIRECTS)
            feed_error(feed, "redirects", curl_easy_strerror(code));
        else if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CONNECT_ERROR)
            feed_error(feed, "tls", curl_easy_strerror(code));
        else
            feed_error(feed, "transport", curl_easy_strerror(code));
    } else if (status == 304) {
        feed->stats.not_modified++;
        ok = 1;
    } else if ((status >= 200 && status < 300) || status == 0 /* file:// */) {
        if (feed->new_etag) {
            free(feed->etag);
            feed->etag = feed->new_etag;
            feed->new_etag = NULL;
        }
        if (feed->new_last_modified) {
            free(feed->last_modified);
            feed->last_modified = feed->new_last_modified;
            feed->new_last_modified = NULL;
        }
        handle_body(fetch, feed);
        ok = 1;
    } else {
        char detail[64];
        snprintf(detail, sizeof(detail), "HTTP status %ld", status);
        feed_error(feed, status == 429 ? "rate_limited" : status >= 500 ? "http_5xx" : "http_4xx",
                   detail);
    }
    curl_multi_remove_handle(fetch->multi, easy);
    curl_easy_cleanup(easy);
    curl_slist_free_all(feed->headers);
    feed->headers = NULL;
    feed->easy = NULL;
    fetch->inflight--;
    schedule_next(fetch, feed, ok);
}

void nd_fetch_run(struct nd_fetch *fetch, int timeout_ms)
{
    int64_t start = nd_mono_ms(), now;
    int running = 0, blocked = 0;
    CURLMsg *msg;
    int left;

    /* Backpressure: stories parsed earlier go first; while any is still refused, start nothing. */
    for (size_t i = 0; i < fetch->nfeeds; i++)
        if (fetch->feeds[i].npending && !drain_pending(fetch, &fetch->feeds[i]))
            blocked = 1;

    now = nd_mono_ms();
    int64_t next_due = now + timeout_ms;
    for (size_t i = 0; i < fetch->nfeeds; i++) {
        struct feed *feed = &fetch->feeds[i];
        if (feed->easy || feed->npending)
            continue;
        if (feed->due_ms > now) {
            if (feed->due_ms < next_due)
                next_due = feed->due_ms;
            continue;
        }
        if (blocked || fetch->inflight >= (size_t)fetch->conf->fetch_max_parallel ||
            host_inflight(fetch, feed->host) >= (size_t)fetch->conf->fetch_per_host) {
            if (now + 50 < next_due)
                next_due = now + 50;
            continue;
        }
        start_request(fetch, feed);
    }

    curl_multi_perform(fetch->multi, &running);
    while ((msg = curl_multi_info_read(fetch->multi, &left)))
        if (msg->msg == CURLMSG_DONE)
            complete(fetch, msg->easy_handle, msg->data.result);

    now = nd_mono_ms();
    int wait = (int)(next_due - now);
    if (wait > timeout_ms - (int)(now - start))
        wait = timeout_ms - (int)(now - start);
    if (wait < 0)
        wait = 0;
    if (blocked && wait > 20)
        wait = 20;
    curl_multi_poll(fetch->multi, NULL, 0, wait, NULL);
    curl_multi_perform(fetch->multi, &running);
    while ((msg = curl_multi_info_read(fetch->multi, &left)))
        if (msg->msg == CURLMSG_DONE)
            complete(fetch, msg->easy_handle, msg->data.result);
}

void nd_fetch_set_state_cb(struct nd_fetch *fetch, nd_fetch_state_fn fn)
{
    fetch->emit_state = fn;
}

static json_t *hex(uint64_t v)
{
    char buf[17];
    nd_hash_hex(v, buf);
    return json_string(buf);
}

static int unhex(const json_t *j, uint64_t *v)
{
    const char *s = json_string_value(j);
    char *end;
    if (!s || strlen(s) != 16)
        return -1;
    *v = strtoull(s, &end, 16);
    return *end ? -1 : 0;
}

json_t *nd_fetch_state_export(const struct nd_fetch *fetch, size_t feed_index)
{
    const struct feed *feed = &fetch->feeds[feed_index];
    json_t *state = json_object(), *ids = json_array();
    size_t n = nd_seen_count(feed->seen);

    if (feed->etag)
        json_object_set_new(state, "etag", json_string(feed->etag));
    if (feed->last_modified)
        json_object_set_new(state, "last_modified", json_string(feed->last_modified));
    json_object_set_new(state, "body_hash", hex(feed->body_hash));
    for (size_t i = 0; i < n; i++) {
        uint64_t id, content;
        int version;
        nd_seen_get(feed->seen, i, &id, &content, &version);
        json_array_append_new(ids, json_pack("[o,o,i]", hex(id), hex(content), version));
    }
    json_object_set_new(state, "ids", ids);
    return state;
}

enum nd_err nd_fetch_state_import(struct nd_fetch *fetch, const char *feed_id, const json_t *state)
{
    struct feed *feed = NULL;
    const json_t *ids, *entry;
    size_t i;

    for (size_t k = 0; k < fetch->nfeeds; k++)
        if (!strcmp(fetch->feeds[k].conf->id, feed_id))
            feed = &fetch->feeds[k];
    if (!feed)
        return ND_ERR_NOTFOUND;
    if (!json_is_object(state) || !json_is_array(ids = json_object_get(state, "ids")))
        return ND_ERR_INVALID;
    json_array_foreach(ids, i, entry) {
        uint64_t id, content;
        if (unhex(json_array_get(entry, 0), &id) || unhex(json_array_get(entry, 1), &content) ||
            !json_is_integer(json_array_get(entry, 2)))
            return ND_ERR_INVALID;
        nd_seen_put(feed->seen, id, content, (int)json_integer_value(json_array_get(entry, 2)));
    }
    free(feed->etag);
    free(feed->last_modified);
    feed->etag = nd_strdup(json_string_value(json_object_get(state, "etag")));
    feed->last_modified = nd_strdup(json_string_value(json_object_get(state, "last_modified")));
    unhex(json_object_get(state, "body_hash"), &feed->body_hash);
    return ND_OK;
}

void nd_fetch_wakeup(struct nd_fetch *fetch)
{
    curl_multi_wakeup(fetch->multi);
}

void nd_fetch_poll_all_now(struct nd_fetch *fetch)
{
    int64_t now = nd_mono_ms();
    for (size_t i = 0; i < fetch->nfeeds; i++)
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

size_t nd_fetch_inflight(const struct nd_fetch *fetch)
{
    return fetch->inflight;
}

size_t nd_fetch_pending(const struct nd_fetch *fetch)
{
    size_t n = 0;
    for (size_t i = 0; i < fetch->nfeeds; i++)
        n += fetch->feeds[i].npending - fetch->feeds[i].ipending;
    return n;
}

/* --- reload: nd_fetch_set_feeds ------------------------------------------------------------------
 * Kept in one block, apart from the loop above, so it merges cleanly with work on the loop; its
 * feed setup and teardown mirror nd_fetch_new and nd_fetch_destroy. */

struct id_index {
    const char *id;
    size_t i;
};

static int id_index_cmp(const void *a, const void *b)
{
    return strcmp(((const struct id_index *)a)->id, ((const struct id_index *)b)->id);
}

static void reload_feed_release(struct nd_fetch *fetch, struct feed *feed)
{
    if (feed->easy) {
        curl_multi_remove_handle(fetch->multi, feed->easy);
        curl_easy_cleanup(feed->easy);
        fetch->inflight--;
    }
    curl_slist_free_all(feed->headers);
    nd_buf_free(&feed->body);
    free(feed->etag);
    free(feed->last_modified);
    free(feed->new_etag);
    free(feed->new_last_modified);
    nd_seen_destroy(feed->seen);
    feed_clear_pending(feed);
}

enum nd_err nd_fetch_set_feeds(struct nd_fetch *fetch, const struct nd_feed_conf *feeds, size_t nfeeds)
{
    const struct nd_config *conf = fetch->conf;
    struct id_index *idx = nd_xcalloc(fetch->nfeeds ? fetch->nfeeds : 1, sizeof(*idx));
    size_t *match = nd_xcalloc(nfeeds ? nfeeds : 1, sizeof(*match));
    char *kept = nd_xcalloc(fetch->nfeeds ? fetch->nfeeds : 1, 1);
    struct feed *next = NULL;
    int64_t now = nd_mono_ms();
    enum nd_err err = ND_OK;

    /* Thousands of feeds: match ids through a sorted index, not pairwise. */
    for (size_t i = 0; i < fetch->nfeeds; i++)
        idx[i] = (struct id_index){fetch->feeds[i].conf->id, i};
    qsort(idx, fetch->nfeeds, sizeof(*idx), id_index_cmp);
    for (size_t j = 0; j < nfeeds; j++) {
        struct id_index key = {feeds[j].id, 0}, *hit;
        hit = fetch->nfeeds ? bsearch(&key, idx, fetch->nfeeds, sizeof(*idx), id_index_cmp) : NULL;
        match[j] = hit && !kept[hit->i] ? hit->i : SIZE_MAX;
        if (hit)
            kept[hit->i] = 1;
    }
    for (size_t i = 0; i < fetch->nfeeds; i++) {
        if (!kept[i] && fetch->feeds[i].ipending < fetch->feeds[i].npending) {
            err = ND_ERR_AGAIN;
            goto out;
        }
    }

    next = nd_xcalloc(nfeeds ? nfeeds : 1, sizeof(*next));
    for (size_t j = 0; j < nfeeds; j++) {
        struct feed *feed = &next[j];
        if (match[j] != SIZE_MAX) {
            struct feed *old = &fetch->feeds[match[j]];
            int64_t interval_ms;
            *feed = *old;
            if (strcmp(old->conf->url, feeds[j].url)) {
                /* validators and the body hash belong to the old URL; the item ids stay, since
                 * story ids come from the feed id and the items' GUIDs */
                free(feed->etag);
                free(feed->last_modified);
                feed->etag = feed->last_modified = NULL;
                feed->body_hash = 0;
                feed->failures = 0;
                host_of(feeds[j].url, feed->host, sizeof(feed->host));
                feed->due_ms = now;
            }
            feed->conf = &feeds[j];
            interval_ms = (int64_t)feed_interval_s(fetch, feed) * 1000;
            if (!feed->failures && feed->due_ms > now + interval_ms)
                feed->due_ms = now + interval_ms;
            /* the transfer in flight keeps running; its callbacks must find the feed's new home */
            if (feed->easy) {
                curl_easy_setopt(feed->easy, CURLOPT_PRIVATE, feed);
                curl_easy_setopt(feed->easy, CURLOPT_WRITEDATA, feed);
                curl_easy_setopt(feed->easy, CURLOPT_HEADERDATA, feed);
            }
        } else {
            feed->conf = &feeds[j];
            host_of(feed->conf->url, feed->host, sizeof(feed->host));
            feed->seen = nd_seen_new((size_t)conf->fetch_recent_ids);
            nd_buf_init(&feed->body, (size_t)conf->fetch_max_body_bytes);
            feed->due_ms = now + (int64_t)(next_rand(fetch) % 1000);
        }
    }
    for (size_t i = 0; i < fetch->nfeeds; i++)
        if (!kept[i])
            reload_feed_release(fetch, &fetch->feeds[i]);
    free(fetch->feeds);
    fetch->feeds = next;
    fetch->nfeeds = nfeeds;
out:
    free(idx);
    free(match);
    free(kept);
    return err;
}
