/*
 * buf.h - a growable byte buffer with a hard maximum.
 *
 * Bytes live in data[off .. len); appends go after len, consumption advances
 * off. The buffer grows on demand up to max bytes and never beyond: an append
 * that would pass the maximum fails with -ENOBUFS and changes nothing.
 * A buffer is owned by whoever embeds it; it is not thread-safe.
 */
#ifndef SOCKIT_BUF_H
#define SOCKIT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct sk_buf {
    char *data;
    size_t off; /* first unread byte */
    size_t len; /* one past the last byte */
    size_t cap; /* bytes allocated */
    size_t max; /* hard limit on cap */
};

/* Start an empty buffer that may hold at most max bytes. Allocates nothing. */
void sk_buf_init(struct sk_buf *b, size_t max);

/* Release the memory; the buffer is empty and may be reused afterwards. */
void sk_buf_free(struct sk_buf *b);

/* Pointer to, and count of, the unread bytes. */
static inline char *sk_buf_data(const struct sk_buf *b)
{
    /* A buffer nothing was written to has no memory yet (a chat member
     * whose banner waits): no offset is applied to a null pointer. */
    return b->data ? b->data + b->off : NULL;
}
static inline size_t sk_buf_len(const struct sk_buf *b)
{
    return b->len - b->off;
}

/* Make room for at least n more bytes after the end, moving the unread bytes
 * to the front or growing as needed. Returns 0, -ENOBUFS when the unread bytes
 * plus n would pass max, or -ENOMEM. */
int sk_buf_reserve(struct sk_buf *b, size_t n);

/* Free space after the end (valid until the next call that changes b), for
 * reading straight into the buffer; sk_buf_commit() then accounts n bytes. */
static inline char *sk_buf_tail(const struct sk_buf *b)
{
    return b->data + b->len;
}
static inline size_t sk_buf_room(const struct sk_buf *b)
{
    return b->cap - b->len;
}
void sk_buf_commit(struct sk_buf *b, size_t n);

/* Append n bytes. Returns 0, -ENOBUFS or -ENOMEM (nothing appended then). */
int sk_buf_append(struct sk_buf *b, const void *p, size_t n);

/* Append formatted text. Returns 0, -ENOBUFS, -ENOMEM or -EINVAL. */
int sk_buf_printf(struct sk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sk_buf_vprintf(struct sk_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Drop n unread bytes from the front (n must not exceed sk_buf_len()). When
 * the buffer becomes empty its positions reset, keeping the memory. */
void sk_buf_consume(struct sk_buf *b, size_t n);

/* Forget all bytes, keeping the memory. */
static inline void sk_buf_clear(struct sk_buf *b)
{
    b->off = b->len = 0;
}

/* Give back memory over keep bytes when the buffer is empty (idle
 * connections should not hold large buffers). */
void sk_buf_shrink(struct sk_buf *b, size_t keep);

#endif
