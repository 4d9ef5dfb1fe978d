/* daemon: wires the stages together and runs them until asked to stop.
 *
 *   fetch (this thread) -> queue -> enrich workers -> queue -> publish thread -> Kafka
 *
 * Bounded queues join the stages; a full queue makes the stage before it wait (backpressure), so
 * memory stays bounded and nothing is dropped. Shutdown is in order: stop fetching, drain the queues,
 * flush the producer within kafka.flush_timeout_ms, destroy in reverse.
 *
 * Reload: when *opts.reload becomes non-zero (SIGHUP) the fetch thread reads opts.config_path again;
 * a valid file's feeds replace the running ones (feeds that stay keep their state, stories already
 * parsed are handed on), an invalid one is logged and ignored. With server.port set, the daemon
 * serves /healthz, /readyz (Kafka reachable, state restored, stages running) and /metrics. */
#ifndef ND_DAEMON_H
#define ND_DAEMON_H

#include <signal.h>

#include "alert/alert.h"
#include "config/config.h"
#include "publish/publish.h"

struct nd_daemon;

struct nd_daemon_opts {
    const struct nd_config *conf; /* must outlive the daemon; reloads never change it */
    const char *config_path;      /* read again on reload; NULL: no reload */
    volatile sig_atomic_t *reload; /* set from a SIGHUP handler; the daemon clears it; may be NULL */
    const struct nd_kv *kafka_extra; /* extra librdkafka properties (the demo's mock cluster) */
    size_t nkafka_extra;
    const char *models_dir;
    struct nd_desks *desks; /* validated desks (alert.h) or NULL; the daemon takes the reference */
    int pick_port;          /* serve on a free port of conf->server_bind, whatever server.port says */
};

struct nd_daemon *nd_daemon_new(const struct nd_daemon_opts *opts, char *errstr, size_t errsz);
/* Runs until *stop becomes non-zero (set from a signal handler). Returns the process exit status. */
int nd_daemon_run(struct nd_daemon *daemon, volatile sig_atomic_t *stop);
void nd_daemon_destroy(struct nd_daemon *daemon);
/* The port /healthz, /metrics and /board are served on; 0 when the server is off. */
int nd_daemon_port(const struct nd_daemon *daemon);

/* Swap the desks (a reload): takes the reference. Stories already past the alert stage keep the
 * decision they got; the next one sees the new desks. Call from the thread running the daemon. */
void nd_daemon_set_desks(struct nd_daemon *daemon, struct nd_desks *desks);

/* `newsd demo`: mock Kafka cluster, bundled feeds and desks, a terminal view of each story and
 * alert, and the desk board on 127.0.0.1. Runs until *stop, or for `seconds` when > 0. */
struct nd_demo_opts {
    const char *feeds_dir;
    const char *desks_path; /* may be NULL (no desks) */
    const char *models_dir;
    int seconds;            /* > 0: stop after this long */
    int port;               /* of the board (and /metrics) on 127.0.0.1; 0: any free port */
    int interval_s;         /* poll interval of the sample feeds */
};
int nd_demo_main(const struct nd_demo_opts *opts, volatile sig_atomic_t *stop);

#endif
