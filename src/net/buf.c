/*
 * buf.c - growable byte buffer with a hard maximum (see buf.h).
 */
#include "sockit/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sk_buf_init(struct sk_buf *b, size_t max)
{
    b->data = NULL;
    b->off = b->len = b->cap = 0;
    b->max = max;
}

void sk_buf_free(struct sk_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

int sk_buf_reserve(struct sk_buf *b, size_t n)
{
    size_t used = b->len - b->off;

    if (n > b->max || used > b->max - n)
        return -ENOBUFS;
    if (b->cap - b->len >= n)
        return 0;
    /* Slide unread bytes to the front when that makes enough room. */
    if (b->off > 0 && b->cap - used >= n) {
        memmove(b->data, b->data + b->off, used);
        b->off = 0;
        b->len = used;
        return 0;
    }
    size_t want = b->cap ? b->cap : 256;
    while (want < used + n)
        want = want > b->max / 2 ? b->max : want * 2;
    if (want > b->max)
        want = b->max;
    char *p = malloc(want);
    if (!p)
        return -ENOMEM;
    if (used)
        memcpy(p, b->data + b->off, used);
    free(b->data);
    b->data = p;
    b->cap = want;
    b->off = 0;
    b->len = used;
    return 0;
}

void sk_buf_commit(struct sk_buf *b, size_t n)
{
    b->len += n;
}

int sk_buf_append(struct sk_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    /* Room at the tail within the maximum (every message of a busy
     * connection): sk_buf_reserve() would change nothing. */
    if (n > b->max || b->len - b->off > b->max - n || b->cap - b->len < n) {
        int r = sk_buf_reserve(b, n);
        if (r < 0)
            return r;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int sk_buf_vprintf(struct sk_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    char small[256];

    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < sizeof(small))
        return sk_buf_append(b, small, (size_t)n);
    int r = sk_buf_reserve(b, (size_t)n + 1);
    if (r < 0)
        return r;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int sk_buf_printf(struct sk_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = sk_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

void sk_buf_consume(struct sk_buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len)
        b->off = b->len = 0;
}

void sk_buf_shrink(struct sk_buf *b, size_t keep)
{
    if (b->len == b->off && b->cap > keep) {
        free(b->data);
        b->data = NULL;
        b->off = b->len = b->cap = 0;
    }
}
