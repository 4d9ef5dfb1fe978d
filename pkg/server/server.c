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

struct nd_server_req {
    struct MHD_Connection *conn;
};

const char *nd_server_req_header(const struct nd_server_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *nd_server_req_arg(const struct nd_server_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

int nd_server_req_fd(const struct nd_server_req *req)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? info->connect_fd : -1;
}

void nd_server_reply_header(struct nd_server_reply *reply, const char *name, const char *value)
{
    if (reply->nheaders == ND_SERVER_MAX_HEADERS)
        return;
    reply->header_name[reply->nheaders] = name;
    reply->header_value[reply->nheaders++] = nd_strdup(value);
}

static void reply_free(struct nd_server_reply *reply)
{
    for (size_t i = 0; i < reply->nheaders; i++)
        free(reply->header_value[i]);
    nd_buf_free(&reply->body);
}

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

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct nd_server_reply *stream = cls;
    long n = stream->read(stream->cls, buf, max);
    (void)pos;
    return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(void *cls)
{
    struct nd_server_reply *stream = cls;
    if (stream->done)
        stream->done(stream->cls);
    free(stream);
}

/* A route's reply on the wire. A stream's reply moves into the response (freed with it). */
static enum MHD_Result route_reply(struct MHD_Connection *conn, struct nd_server_reply *reply)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    struct nd_server_reply *stream = NULL;

    if (reply->read) {
        stream = nd_xmalloc(sizeof(*stream));
        *stream = *reply;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, stream,
                                                 stream_free);
        if (!resp)
            stream_free(stream);
    } else {
        size_t len = reply->body.len;
        char *data = nd_buf_steal(&reply->body, &len);
        resp = MHD_create_response_from_buffer(len, data ? data : "",
                                               data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!resp)
            free(data);
    }
    if (resp) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                reply->content_type ? reply->content_type : "text/plain; charset=utf-8");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        for (size_t i = 0; i < reply->nheaders; i++)
            MHD_add_response_header(resp, reply->header_name[i], reply->header_value[i]);
    }
    ret = resp ? MHD_queue_response(conn, reply->status ? reply->status : MHD_HTTP_OK, resp) : MHD_NO;
    if (resp)
        MHD_destroy_response(resp);
    if (stream) {
        /* the stream owns the header values now, which the response has copied */
        reply_free(reply);
        return ret;
    }
    reply_free(reply);
    return ret;
}

static int under_prefix(const char *url, const char *prefix)
{
    size_t n = strlen(prefix);
    return !strncmp(url, prefix, n) && (url[n] == '\0' || url[n] == '/');
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
    if (srv->handlers.route && under_prefix(url, srv->handlers.route_prefix)) {
        struct nd_server_req req = {conn};
        struct nd_server_reply reply = {0};
        nd_buf_free(&body);
        nd_buf_init(&reply.body, MAX_BODY);
        srv->handlers.route(srv->handlers.route_opaque, url, &req, &reply);
        return route_reply(conn, &reply);
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
    /* a thread per connection: a board stream blocks in its reader until it has an event */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
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
                                MHD_OPTION_CONNECTION_LIMIT,
                                (unsigned)32 + handlers->route_connections,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!srv->mhd) {
        snprintf(errstr, errsz, "cannot listen on %s:%d for /healthz, /readyz, /metrics "
                 "(port in use? see server.port)", bind, port);
        free(srv);
        return NULL;
    }
    info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : port;
    nd_info(MOD, "serving /healthz /readyz /metrics%s%s on %s:%d", handlers->route ? " " : "",
            handlers->route ? handlers->route_prefix : "", bind, srv->port);
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
