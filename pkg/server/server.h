/* server: the embedded HTTP server (libmicrohttpd) of /healthz, /readyz and /metrics, and of the
 * routes another module adds under a prefix (the desk board, pkg/board, under /board).
 *
 * The server knows nothing of the stages: the daemon hands it callbacks. Each connection has a
 * thread of its own (a route may stream: Server-Sent Events), so the callbacks must be thread-safe.
 *   /healthz  200 "ok" while the process serves requests (liveness)
 *   /readyz   200 when ready() says so, else 503; the body lists each check either way
 *   /metrics  Prometheus text format 0.0.4 from metrics() */
#ifndef ND_SERVER_H
#define ND_SERVER_H

#include "core/core.h"

/* A request as a route sees it: header and query values, NULL when absent. */
struct nd_server_req;
const char *nd_server_req_header(const struct nd_server_req *req, const char *name);
const char *nd_server_req_arg(const struct nd_server_req *req, const char *name);
/* The connection's socket, for a stream to notice a peer that hung up while it waits (poll it;
 * never read, write or close it). -1 when unknown. */
int nd_server_req_fd(const struct nd_server_req *req);

#define ND_SERVER_MAX_HEADERS 8

/* A route's answer: status, content type (a static string) and either the body or a stream. The
 * server fills body (capped), and frees it and the header values after sending. */
struct nd_server_reply {
    unsigned status;
    const char *content_type;
    struct nd_buf body;
    const char *header_name[ND_SERVER_MAX_HEADERS]; /* static names */
    char *header_value[ND_SERVER_MAX_HEADERS];      /* owned by the reply */
    size_t nheaders;
    /* A stream instead of the body: read() is called on the connection's thread and may block; it
     * returns the bytes it wrote into buf (> 0) or -1 to end the response. done() is called once
     * when the connection ends, and frees cls. */
    long (*read)(void *cls, char *buf, size_t max);
    void (*done)(void *cls);
    void *cls;
};
/* Add a header (value copied). At most ND_SERVER_MAX_HEADERS; more are dropped. */
void nd_server_reply_header(struct nd_server_reply *reply, const char *name, const char *value);

typedef void (*nd_server_route_fn)(void *opaque, const char *path, const struct nd_server_req *req,
                                   struct nd_server_reply *reply);

struct nd_server_handlers {
    /* Append the exposition to buf. */
    void (*metrics)(void *opaque, struct nd_buf *buf);
    /* Append one "check: ok|failing" line per check to buf; return 1 when every check passes. */
    int (*ready)(void *opaque, struct nd_buf *buf);
    void *opaque;
    /* GET and HEAD requests whose path is route_prefix or starts with route_prefix + "/" go to
     * route (NULL: none), with route_opaque. */
    const char *route_prefix;
    nd_server_route_fn route;
    void *route_opaque;
    /* Connections the route may hold open at once (its streams), on top of the server's own. */
    unsigned route_connections;
};

struct nd_server;

/* Listen on bind:port (numeric IPv4 or IPv6 address; port 0 picks a free port, see nd_server_port).
 * NULL with the reason in errstr when the address cannot be bound. */
struct nd_server *nd_server_new(const char *bind, int port, const struct nd_server_handlers *handlers,
                                char *errstr, size_t errsz);
/* The port actually bound. */
int nd_server_port(const struct nd_server *srv);
/* Stops serving (waits for requests in progress), then frees. */
void nd_server_destroy(struct nd_server *srv);

/* The container's health probe (`newsd healthcheck`): GET url with libcurl within timeout_ms.
 * ND_OK on a 2xx answer, else an error with the reason in errstr: the transfer's error, or the
 * HTTP status and the answer's first 256 bytes on one line (what /readyz says is failing). */
enum nd_err nd_server_probe(const char *url, int timeout_ms, char *errstr, size_t errsz);

#endif
