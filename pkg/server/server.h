/* server: the embedded HTTP server (libmicrohttpd) of /healthz, /readyz and /metrics.
 *
 * The server knows nothing of the stages: the daemon hands it two callbacks. Requests are served on
 * libmicrohttpd's own thread, so the callbacks must be thread-safe.
 *   /healthz  200 "ok" while the process serves requests (liveness)
 *   /readyz   200 when ready() says so, else 503; the body lists each check either way
 *   /metrics  Prometheus text format 0.0.4 from metrics() */
#ifndef ND_SERVER_H
#define ND_SERVER_H

#include "core/core.h"

struct nd_server_handlers {
    /* Append the exposition to buf. */
    void (*metrics)(void *opaque, struct nd_buf *buf);
    /* Append one "check: ok|failing" line per check to buf; return 1 when every check passes. */
    int (*ready)(void *opaque, struct nd_buf *buf);
    void *opaque;
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
