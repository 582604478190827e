/*
 * echo.c - the echo service: byte-exact echo (RFC 862) by default, or the
 * seeds' line behaviour with --lines (--prefix TEXT, --quit WORD).
 *
 * In --lines mode a message is a line ending in LF (a CR before it is kept
 * in the echo but ignored when matching the quit word), or, for clients that
 * send a bare message without a line end and wait for the answer (the seeds'
 * own clients), the bytes received followed by a pause of 100 ms.
 *
 * No write result is dropped: a message goes out with its prefix only when
 * the output has room for both; otherwise the input waits (the model feeds
 * it again once the output drained, and holds the pause meanwhile). Only a
 * message larger than the whole output queue is split, its prefix once.
 */
#include "sockit/server.h"
#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BARE_MESSAGE_PAUSE_MS 100

struct echo {
    int lines;
    char *prefix;
    size_t prefix_len;
    char *quit;
};

/* Per connection (--lines): the message in progress was split. */
struct echo_conn {
    int mid; /* its prefix went out, the rest of it follows */
};

static int echo_create(void **state)
{
    struct echo *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    *state = e;
    return 0;
}

static int echo_option(void *state, const char *name, const char *value, char *err, size_t len)
{
    struct echo *e = state;

    if (strcmp(name, "lines") == 0) {
        e->lines = 1;
        return 0;
    }
    if (strcmp(name, "prefix") == 0) {
        e->lines = 1;
        e->prefix_len = strlen(value);
        return sk_str_set(&e->prefix, value);
    }
    if (strcmp(name, "quit") == 0) {
        if (!*value || strpbrk(value, "\r\n")) {
            snprintf(err, len, "--quit: the word must be non-empty and on one line");
            return -EINVAL;
        }
        e->lines = 1;
        return sk_str_set(&e->quit, value);
    }
    snprintf(err, len, "unknown option --%s", name);
    return -EINVAL;
}

static int echo_start(void *state, struct sk_server *srv, char *err, size_t len)
{
    const struct echo *e = state;
    size_t out_max = srv->lim.out_max;

    if (e->prefix_len >= out_max) {
        snprintf(err, len, "--prefix of %zu bytes needs a larger --max-output (now %zu)",
                 e->prefix_len, out_max);
        return -ERANGE;
    }
    return 0;
}

static void echo_destroy(void *state)
{
    struct echo *e = state;
    free(e->prefix);
    free(e->quit);
    free(e);
}

/* Is p[0..n) (a whole message) the quit word? */
static int is_quit(const struct echo *e, const char *p, size_t n)
{
    size_t body = n;
    while (body > 0 && (p[body - 1] == '\n' || p[body - 1] == '\r'))
        body--;
    return e->quit && body == strlen(e->quit) && strncasecmp(p, e->quit, body) == 0;
}

/* Queue the rest of a message, p[0..n), with the prefix unless it is
 * already out. Returns how many bytes of p were queued: all of them, none
 * while the output lacks room (it drains first), or, with nothing queued
 * and a message larger than the queue, as many as fit (the rest follows
 * without a prefix). */
static size_t emit(struct sk_conn *c, const struct echo *e, struct echo_conn *ec, const char *p,
                   size_t n)
{
    size_t plen = ec->mid ? 0 : e->prefix_len;
    size_t room = c->out.max - sk_buf_len(&c->out);
    size_t take = n;

    if (room < plen + n) {
        if (sk_buf_len(&c->out) > 0 || room <= plen)
            return 0;
        take = room - plen;
    }
    if (plen && sk_conn_write(c, e->prefix, plen) < 0)
        return 0;
    ec->mid = 1;
    if (sk_conn_write(c, p, take) < 0)
        return 0;
    ec->mid = take < n;
    return take;
}

/* The complete lines at the start of p[0..n): how many bytes were queued
 * (or all of n after the quit word). */
static size_t echo_lines(struct sk_conn *c, const struct echo *e, struct echo_conn *ec,
                         const char *p, size_t n)
{
    size_t used = 0;
    const char *nl;

    while (used < n && (nl = memchr(p + used, '\n', n - used)) != NULL) {
        size_t len = (size_t)(nl - (p + used)) + 1;
        if (!ec->mid && is_quit(e, p + used, len)) {
            sk_conn_end(c);
            return n; /* the rest is never read */
        }
        size_t k = emit(c, e, ec, p + used, len);
        used += k;
        if (k < len)
            break; /* the output drains first */
    }
    return used;
}

static ssize_t echo_data(struct sk_conn *c, const char *p, size_t n)
{
    const struct echo *e = sk_conn_service_state(c);

    if (!e->lines) {
        size_t room = c->out.max - sk_buf_len(&c->out);
        size_t take = n < room ? n : room;
        if (take && sk_conn_write(c, p, take) < 0)
            return 0;
        return (ssize_t)take;
    }
    size_t used = echo_lines(c, e, c->ctx, p, n);
    if (c->flags & SK_CONN_END)
        return (ssize_t)used;
    /* A partial line: a bare message if nothing more comes soon. */
    sk_conn_set_deadline(c, used < n ? BARE_MESSAGE_PAUSE_MS : 0);
    return (ssize_t)used;
}

/* The pause passed: what is left is a bare message (after any whole lines
 * that waited for room). What cannot be queued yet stays for later. */
static void echo_timeout(struct sk_conn *c)
{
    const struct echo *e = sk_conn_service_state(c);
    struct echo_conn *ec = c->ctx;
    const char *p = sk_buf_data(&c->in);
    size_t n = sk_buf_len(&c->in);

    if (n == 0)
        return;
    size_t used = echo_lines(c, e, ec, p, n);
    if (c->flags & SK_CONN_END) {
        sk_buf_consume(&c->in, n);
        return;
    }
    if (used < n && !memchr(p + used, '\n', n - used)) {
        if (!ec->mid && is_quit(e, p + used, n - used)) {
            sk_conn_end(c);
            sk_buf_consume(&c->in, n);
            return;
        }
        size_t k = emit(c, e, ec, p + used, n - used);
        if (k == n - used)
            ec->mid = 0; /* the pause ended the message */
        used += k;
    }
    sk_buf_consume(&c->in, used);
    if (used < n)
        sk_conn_set_deadline(c, BARE_MESSAGE_PAUSE_MS); /* the rest, once there is room */
}

static ssize_t echo_datagram(void *state, const struct sk_addr *from, const char *in, size_t n,
                             char *out, size_t outmax)
{
    (void)state;
    (void)from;
    if (n > outmax)
        return -EMSGSIZE;
    memcpy(out, in, n);
    return (ssize_t)n;
}

static const struct sk_service_opt echo_opts[] = {
    {"lines", 0, NULL, "echo line by line (a message is a line, or a bare message)"},
    {"prefix", 1, "TEXT", "put TEXT before each echoed message (implies --lines)"},
    {"quit", 1, "WORD", "a message equal to WORD (any case) closes the connection"},
    {0},
};

const struct sk_service sk_service_echo = {
    .name = "echo",
    .summary = "echo back every byte (RFC 862), or lines with --lines",
    .flags = SK_SVC_STREAM | SK_SVC_DGRAM,
    .opts = echo_opts,
    .conn_size = sizeof(struct echo_conn),
    .create = echo_create,
    .option = echo_option,
    .start = echo_start,
    .destroy = echo_destroy,
    .data = echo_data,
    .timeout = echo_timeout,
    .datagram = echo_datagram,
};
