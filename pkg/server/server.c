#include "server/server.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MOD "server"
/* A scrape of thousands of feeds is a few MB; anything far past that is a bug, not a bigger buffer. */
#define MAX_BODY (64u << 20)

struct nd_server {
    struct MHD_Daemon *mhd;
    struct nd_server_handlers handlers;
    int port;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, struct nd_buf *body,
                             const char *content_type)
{
    size_t len = body->len;
    char *data = nd_buf_steal(body, &len);
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(len, data ? data : "", data ? MHD_RESPMEM_MUST_FREE
                                                                      : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct nd_server *srv = cls;
    struct nd_buf body;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;

    nd_buf_init(&body, MAX_BODY);
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
        nd_buf_appendf(&body, "method not allowed\n");
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, &body, "text/plain; charset=utf-8");
    }
    if (!strcmp(url, "/healthz")) {
        nd_buf_appendf(&body, "ok\n");
        return reply(conn, MHD_HTTP_OK, &body, "text/plain; charset=utf-8");
    }
    if (!strcmp(url, "/readyz")) {
        int ready = srv->handlers.ready ? srv->handlers.ready(srv->handlers.opaque, &body) : 1;
        return reply(conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, &body,
                     "text/plain; charset=utf-8");
    }
    if (!strcmp(url, "/metrics")) {
        if (srv->handlers.metrics)
            srv->handlers.metrics(srv->handlers.opaque, &body);
        return reply(conn, MHD_HTTP_OK, &body, "text/plain; version=0.0.4; charset=utf-8");
    }
    nd_buf_appendf(&body, "not found: /healthz, /readyz and /metrics are served here\n");
    return reply(conn, MHD_HTTP_NOT_FOUND, &body, "text/plain; charset=utf-8");
}

struct nd_server *nd_server_new(const char *bind, int port, const struct nd_server_handlers *handlers,
                                char *errstr, size_t errsz)
{
    struct nd_server *srv = nd_xcalloc(1, sizeof(*srv));
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    const union MHD_DaemonInfo *info;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, bind, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, bind, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(errstr, errsz, "server.bind \"%s\" is not a numeric address", bind);
        free(srv);
        return NULL;
    }
    srv->handlers = *handlers;
    srv->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, srv,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                /* probes and a scraper: a few connections, never a crowd */
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!srv->mhd) {
        snprintf(errstr, errsz, "cannot listen on %s:%d for /healthz, /readyz, /metrics "
                 "(port in use? see server.port)", bind, port);
        free(srv);
        return NULL;
    }
    info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : port;
    nd_info(MOD, "serving /healthz /readyz /metrics on %s:%d", bind, srv->port);
    return srv;
}

int nd_server_port(const struct nd_server *srv)
{
    return srv->port;
}

void nd_server_destroy(struct nd_server *srv)
{
    if (!srv)
        return;
    MHD_stop_daemon(srv->mhd);
    free(srv);
}

/* The probe keeps the first bytes of the answer: /readyz says there which check fails. */
static size_t keep_head(char *data, size_t size, size_t nmemb, void *userp)
{
    struct nd_buf *body = userp;
    size_t n = size * nmemb, room = body->cap - body->len;
    nd_buf_append(body, data, n < room ? n : room);
    return n;
}

/* The answer's lines as one line: "kafka: failing\nstate: ok\n" -> "kafka: failing; state: ok". */
static void one_line(struct nd_buf *line, const char *text, size_t len)
{
    nd_buf_init(line, len * 2 + 1);
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\r')
            continue;
        if (text[i] != '\n')
            nd_buf_append(line, text + i, 1);
        else if (i + 1 < len)
            nd_buf_append(line, "; ", 2);
    }
}

enum nd_err nd_server_probe(const char *url, int timeout_ms, char *errstr, size_t errsz)
{
    CURL *easy = curl_easy_init();
    CURLcode code;
    long status = 0;
    enum nd_err err = ND_OK;
    struct nd_buf body;

    nd_buf_init(&body, 256);
    if (!easy) {
        snprintf(errstr, errsz, "cannot create a curl handle");
        return ND_ERR_NOMEM;
    }
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep_head);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
    if ((code = curl_easy_perform(easy)) != CURLE_OK) {
        snprintf(errstr, errsz, "%s: %s", url, curl_easy_strerror(code));
        err = ND_ERR_AGAIN;
        goto out;
    }
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        struct nd_buf line;
        one_line(&line, body.data, body.len);
        snprintf(errstr, errsz, "%s: HTTP status %ld%s%s", url, status, line.len ? ": " : "",
                 line.len ? line.data : "");
        nd_buf_free(&line);
        err = ND_ERR_AGAIN;
    }
out:
    nd_buf_free(&body);
    curl_easy_cleanup(easy);
    return err;
}
