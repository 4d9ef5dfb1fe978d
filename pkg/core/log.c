#include "core/core.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The level is read on every call from every thread and written rarely (config load): an atomic int. */
static _Atomic int log_level = ND_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *level_names[] = {"debug", "info", "warn", "error", "off"};

void nd_log_set_level(enum nd_log_level level)
{
    log_level = level;
}

enum nd_log_level nd_log_get_level(void)
{
    return (enum nd_log_level)log_level;
}

int nd_log_level_parse(const char *name, enum nd_log_level *level)
{
    for (int i = 0; i <= ND_LOG_OFF; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = (enum nd_log_level)i;
            return 0;
        }
    }
    if (strcmp(name, "warning") == 0) {
        *level = ND_LOG_WARN;
        return 0;
    }
    return -1;
}

static void log_emit(enum nd_log_level level, const char *module, const char *const *kv,
                     const char *fmt, va_list ap)
{
    char msg[2048];
    char ts[64];
    struct timespec now;
    struct tm tm;
    json_t *line;
    char *text;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", (tm.tm_year + 1900) % 10000,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(now.tv_nsec / 1000000) % 1000);

    line = json_object();
    json_object_set_new(line, "time", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "module", json_string(module));
    /* Messages may quote bad input: json_stringn_nocheck would pass invalid UTF-8 on, so replace. */
    json_t *jmsg = json_string(msg);
    json_object_set_new(line, "msg", jmsg ? jmsg : json_string("(message not valid UTF-8)"));
    for (; kv && kv[0] && kv[1]; kv += 2) {
        json_t *v = json_string(kv[1]);
        json_object_set_new(line, kv[0], v ? v : json_string("(not valid UTF-8)"));
    }
    text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (!text)
        return;
    pthread_mutex_lock(&log_lock);
    fputs(text, stderr);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
    free(text);
}

void nd_log(enum nd_log_level level, const char *module, const char *fmt, ...)
{
    va_list ap;
    if ((int)level < log_level)
        return;
    va_start(ap, fmt);
    log_emit(level, module, NULL, fmt, ap);
    va_end(ap);
}

void nd_log_kv(enum nd_log_level level, const char *module, const char *const *kv, const char *fmt,
               ...)
{
    va_list ap;
    if ((int)level < log_level)
        return;
    va_start(ap, fmt);
    log_emit(level, module, kv, fmt, ap);
    va_end(ap);
}
