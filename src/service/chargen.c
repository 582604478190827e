/*
 * chargen.c - the character generator (RFC 864): on connect, send lines of
 * 72 printable ASCII characters (the 95 from ' ' to '~'), each line starting
 * one character further along, CRLF-terminated, until the client closes
 * (the blocking models also stop once the client has shut down its side).
 * Input is thrown away. The drain callback queues the next batch whenever
 * the output has been sent, so a slow reader is never sent more than one
 * batch ahead. Over UDP each datagram is answered with a datagram of between
 * 1 and 512 characters of the same pattern (the RFC asks for a random
 * length), each answer starting at the next line; the length is also
 * bounded by the request's (or one line, 74 bytes, for a shorter one), so
 * chargen amplifies no forged request more than that.
 */
#include "sockit/service.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define LINE_CHARS 72
#define LINE_BYTES (LINE_CHARS + 2)
#define NPRINT 95       /* ' ' .. '~' */
#define BATCH_LINES 256 /* about 19 KB queued per drain */
#define DGRAM_MAX 512

struct chargen {
    atomic_uint_fast64_t dgrams; /* datagrams answered: picks start and length */
};

struct chargen_conn {
    unsigned line; /* the next line, 0 .. NPRINT-1 */
};

static int chargen_create(void **state)
{
    struct chargen *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    *state = g;
    return 0;
}

static void chargen_destroy(void *state)
{
    free(state);
}

/* Byte i (from 0) of the endless pattern that begins with line `line`. */
static char pattern_byte(unsigned line, size_t i)
{
    size_t l = line + i / LINE_BYTES, col = i % LINE_BYTES;
    if (col == LINE_CHARS)
        return '\r';
    if (col == LINE_CHARS + 1)
        return '\n';
    return (char)(' ' + (l + col) % NPRINT);
}

static int queue_batch(struct sk_conn *c)
{
    struct chargen_conn *cc = c->ctx;
    char buf[BATCH_LINES * LINE_BYTES];
    size_t room = c->out.max - sk_buf_len(&c->out);
    size_t lines = room / LINE_BYTES < BATCH_LINES ? room / LINE_BYTES : BATCH_LINES;

    for (size_t i = 0; i < lines * LINE_BYTES; i++)
        buf[i] = pattern_byte(cc->line, i);
    cc->line = (unsigned)((cc->line + lines) % NPRINT);
    return lines ? sk_conn_write(c, buf, lines * LINE_BYTES) : 0;
}

static int chargen_open(struct sk_conn *c)
{
    return queue_batch(c);
}

static int chargen_drain(struct sk_conn *c)
{
    return queue_batch(c);
}

static ssize_t chargen_data(struct sk_conn *c, const char *p, size_t n)
{
    (void)c;
    (void)p;
    return (ssize_t)n;
}

static ssize_t chargen_datagram(void *state, const struct sk_addr *from, const char *in, size_t n,
                                char *out, size_t outmax)
{
    struct chargen *g = state;
    (void)from;
    (void)in;
    uint64_t k = atomic_fetch_add(&g->dgrams, 1);
    /* A length that wanders over 1..512 (splitmix64 of the count), but never
     * past the request's own length or one line, whichever is more: a forged
     * small request cannot buy a reply many times its size. */
    size_t most = n > LINE_BYTES ? n : LINE_BYTES;
    if (most > DGRAM_MAX)
        most = DGRAM_MAX;
    uint64_t z = (k + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    size_t len = 1 + (size_t)(z % most);
    if (len > outmax)
        len = outmax;
    for (size_t i = 0; i < len; i++)
        out[i] = pattern_byte((unsigned)(k % NPRINT), i);
    return (ssize_t)len;
}

const struct sk_service sk_service_chargen = {
    .name = "chargen",
    .summary = "send the rotating 72-character lines until the client closes (RFC 864)",
    .flags = SK_SVC_STREAM | SK_SVC_DGRAM,
    .conn_size = sizeof(struct chargen_conn),
    .create = chargen_create,
    .destroy = chargen_destroy,
    .open = chargen_open,
    .data = chargen_data,
    .drain = chargen_drain,
    .datagram = chargen_datagram,
};
