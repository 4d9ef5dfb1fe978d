/* core: errors, logging, capped buffers and small helpers shared by every module. */
#ifndef ND_CORE_H
#define ND_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Errors. 0 is OK, failures negative. AGAIN is retriable (try later), INVALID is permanent (the input
 * will never be processed: dead-letter it). */
enum nd_err {
    ND_OK = 0,
    ND_ERR_AGAIN = -1,    /* transient: network, broker, queue full */
    ND_ERR_INVALID = -2,  /* bad input: malformed document, bad config value */
    ND_ERR_NOMEM = -3,    /* allocation failed */
    ND_ERR_TOOBIG = -4,   /* a cap was hit: body size, item count, nesting */
    ND_ERR_IO = -5,       /* file or socket error */
    ND_ERR_NOTFOUND = -6, /* missing file, key or entry */
    ND_ERR_FATAL = -7,    /* cannot continue this component; recreate it */
};
const char *nd_err_str(enum nd_err err);

/* Logging: one JSON object per line on stderr: time, level, module, msg, then key/value pairs.
 * Thread-safe. Keys and values given as a NULL-terminated list of const char * pairs via nd_log_kv. */
enum nd_log_level { ND_LOG_DEBUG = 0, ND_LOG_INFO, ND_LOG_WARN, ND_LOG_ERROR, ND_LOG_OFF };
void nd_log_set_level(enum nd_log_level level);
enum nd_log_level nd_log_get_level(void);
int nd_log_level_parse(const char *name, enum nd_log_level *level);
/* Log a formatted message. `module` is a short name ("fetch"); extra fields come as "k", "v", ...,
 * NULL after the format arguments are consumed: use nd_log_kv for those. */
void nd_log(enum nd_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same with explicit key/value string pairs (NULL-terminated), e.g. feed ids, before the message. */
void nd_log_kv(enum nd_log_level level, const char *module, const char *const *kv, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));
#define nd_debug(mod, ...) nd_log(ND_LOG_DEBUG, mod, __VA_ARGS__)
#define nd_info(mod, ...) nd_log(ND_LOG_INFO, mod, __VA_ARGS__)
#define nd_warn(mod, ...) nd_log(ND_LOG_WARN, mod, __VA_ARGS__)
#define nd_error(mod, ...) nd_log(ND_LOG_ERROR, mod, __VA_ARGS__)

/* Capped growable byte buffer (curl's dynbuf): every append fails with ND_ERR_TOOBIG rather than grow
 * past `cap`. The data is always NUL-terminated (the NUL is not counted in len). */
struct nd_buf {
    char *data;
    size_t len;
    size_t alloc;
    size_t cap;
};
void nd_buf_init(struct nd_buf *buf, size_t cap);
enum nd_err nd_buf_append(struct nd_buf *buf, const void *data, size_t len);
/* Make room for len more bytes now (within cap), so appends up to that size do not reallocate. */
enum nd_err nd_buf_reserve(struct nd_buf *buf, size_t len);
enum nd_err nd_buf_appendf(struct nd_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void nd_buf_reset(struct nd_buf *buf);
/* Hand the data over to the caller (who frees it with free()); the buffer is left empty. */
char *nd_buf_steal(struct nd_buf *buf, size_t *len);
void nd_buf_free(struct nd_buf *buf);

/* Time. */
int64_t nd_now_ms(void);      /* wall clock, milliseconds since the epoch */
int64_t nd_mono_ms(void);     /* monotonic clock, for intervals and deadlines */
/* RFC 3339 UTC with seconds ("2026-11-29T00:48:42Z") into out (>= 21 bytes). */
void nd_time_rfc3339(int64_t epoch_secs, char *out, size_t outsz);

/* Hashing: 64-bit xxHash3, and its 16-hex-digit text form (out >= 17 bytes). */
uint64_t nd_hash64(const void *data, size_t len, uint64_t seed);
void nd_hash_hex(uint64_t h, char *out);

/* Strings. */
char *nd_strdup(const char *s);                    /* NULL-safe; aborts on OOM */
char *nd_strndup(const char *s, size_t n);
void *nd_xmalloc(size_t n);                        /* abort on OOM: only for small fixed-size objects */
void *nd_xcalloc(size_t n, size_t size);
/* The process allocator tuned for the daemon (alloc.c): freed pages go back to the OS when freed.
 * Call once at start-up, before the threads start. */
void nd_alloc_tune(void);
/* Per-thread scratch memory for a call's temporary arrays (scratch.c): take a mark, allocate,
 * release back to the mark before returning; nothing allocated after a mark may be used after the
 * release. Blocks are 16-byte aligned; NULL when out of memory. Thread-safe by being per thread. */
size_t nd_scratch_mark(void);
void *nd_scratch_alloc(size_t n);
void *nd_scratch_calloc(size_t n, size_t size);
void nd_scratch_release(size_t mark);
/* Paths (path.c), built in capped buffers: a path longer than ND_PATH_MAX is ND_ERR_TOOBIG, never a
 * silently truncated name. Each fills a caller's struct nd_buf (initialised here; free it with
 * nd_buf_free, also after an error). */
#define ND_PATH_MAX 4096
/* dir + "/" + name. */
enum nd_err nd_path_join(struct nd_buf *path, const char *dir, const char *name);
/* newsd's data file or folder `name` ("models", "desks.yaml", "demo/feeds"), found beside the running
 * executable (/proc/self/exe), never through a compiled-in source folder: first the installed layout,
 * <bindir>/<ND_DATADIR_REL>/newsd/<name> (bin/../share/newsd under any prefix or DESTDIR), then a build
 * tree's <exe dir>/share/newsd/<name> (links CMake makes into the source tree). ND_ERR_NOTFOUND when
 * neither exists; path then holds the installed candidate, for the error message. */
enum nd_err nd_path_data(struct nd_buf *path, const char *name);
/* Read a whole file with a size cap. *data is malloc'd and NUL-terminated. "-" reads stdin. */
enum nd_err nd_file_read(const char *path, size_t cap, char **data, size_t *len);

#endif
