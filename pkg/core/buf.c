#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nd_buf_init(struct nd_buf *buf, size_t cap)
{
    buf->data = NULL;
    buf->len = 0;
    buf->alloc = 0;
    buf->cap = cap;
}

static enum nd_err buf_grow(struct nd_buf *buf, size_t need)
{
    size_t want;
    char *p;

    if (need > buf->cap)
        return ND_ERR_TOOBIG;
    if (need + 1 <= buf->alloc)
        return ND_OK;
    want = buf->alloc ? buf->alloc : 256;
    while (want < need + 1)
        want *= 2;
    if (want > buf->cap + 1)
        want = buf->cap + 1;
    p = realloc(buf->data, want);
    if (!p)
        return ND_ERR_NOMEM;
    buf->data = p;
    buf->alloc = want;
    return ND_OK;
}

enum nd_err nd_buf_reserve(struct nd_buf *buf, size_t len)
{
    enum nd_err err;
    if (len > buf->cap - buf->len)
        return ND_ERR_TOOBIG;
    if ((err = buf_grow(buf, buf->len + len)) != ND_OK)
        return err;
    buf->data[buf->len] = '\0'; /* the data stays a string, appended to or not */
    return ND_OK;
}

enum nd_err nd_buf_append(struct nd_buf *buf, const void *data, size_t len)
{
    enum nd_err err;

    if (len > buf->cap - buf->len)
        return ND_ERR_TOOBIG;
    if ((err = buf_grow(buf, buf->len + len)) != ND_OK)
        return err;
    if (len)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return ND_OK;
}

enum nd_err nd_buf_appendf(struct nd_buf *buf, const char *fmt, ...)
{
    va_list ap;
    int n;
    enum nd_err err;
    char small[256];

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return ND_ERR_INVALID;
    if ((size_t)n < sizeof(small))
        return nd_buf_append(buf, small, (size_t)n);
    if ((size_t)n > buf->cap - buf->len)
        return ND_ERR_TOOBIG;
    if ((err = buf_grow(buf, buf->len + (size_t)n)) != ND_OK)
        return err;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return ND_OK;
}

void nd_buf_reset(struct nd_buf *buf)
{
    buf->len = 0;
    if (buf->data)
        buf->data[0] = '\0';
}

char *nd_buf_steal(struct nd_buf *buf, size_t *len)
{
    char *p = buf->data;
    if (!p)
        p = nd_strdup("");
    if (len)
        *len = buf->len;
    buf->data = NULL;
    buf->len = buf->alloc = 0;
    return p;
}

void nd_buf_free(struct nd_buf *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->alloc = 0;
}
