#include "core/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

int64_t nd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t nd_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void nd_time_rfc3339(int64_t epoch_secs, char *out, size_t outsz)
{
    struct tm tm;
    time_t t = (time_t)epoch_secs;
    gmtime_r(&t, &tm);
    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

uint64_t nd_hash64(const void *data, size_t len, uint64_t seed)
{
    return XXH3_64bits_withSeed(data, len, seed);
}

void nd_hash_hex(uint64_t h, char *out)
{
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

void *nd_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

void *nd_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        abort();
    return p;
}

char *nd_strdup(const char *s)
{
    return s ? nd_strndup(s, strlen(s)) : NULL;
}

char *nd_strndup(const char *s, size_t n)
{
    char *p;
    if (!s)
        return NULL;
    p = nd_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

enum nd_err nd_file_read(const char *path, size_t cap, char **data, size_t *len)
{
    struct nd_buf buf;
    char chunk[65536];
    size_t n;
    FILE *fp;
    enum nd_err err = ND_OK;

    *data = NULL;
    *len = 0;
    if (strcmp(path, "-") == 0) {
        fp = stdin;
    } else if (!(fp = fopen(path, "rb"))) {
        return errno == ENOENT ? ND_ERR_NOTFOUND : ND_ERR_IO;
    }
    nd_buf_init(&buf, cap);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if ((err = nd_buf_append(&buf, chunk, n)) != ND_OK)
            goto out;
    }
    if (ferror(fp)) {
        err = ND_ERR_IO;
        goto out;
    }
    *data = nd_buf_steal(&buf, len);
out:
    if (fp != stdin)
        fclose(fp);
    nd_buf_free(&buf);
    return err;
}
