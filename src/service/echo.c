/*
 * echo.c - the echo service: byte-exact echo (RFC 862) by default, or the
 * seeds' line behaviour with --lines (--prefix TEXT, --quit WORD).
 *
 * In --lines mode a message is a line ending in LF (a CR before it is kept
 * in the echo but ignored when matching the quit word), or, for clients that
 * send a bare message without a line end and wait for the answer (the seeds'
 * own clients), the bytes received followed by a pause of 100 ms.
 */
#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BARE_MESSAGE_PAUSE_MS 100

struct echo {
    int lines;
    char *prefix;
    char *quit;
};

static int echo_create(void **state)
{
    struct echo *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    *state = e;
    return 0;
}

/* --prefix and --quit imply --lines. */
static void lines_on(void *state)
{
    ((struct echo *)state)->lines = 1;
}

static int quit_word_ok(const char *value, char *why, size_t len)
{
    if (!*value || strpbrk(value, "\r\n")) {
        snprintf(why, len, "the word must be non-empty and on one line");
        return -1;
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

/* One message (a line with its end, or a bare message). Returns 1 when the
 * message was the quit word and the connection ends. */
static int echo_message(struct sk_conn *c, const struct echo *e, const char *p, size_t n)
{
    size_t body = n;
    while (body > 0 && (p[body - 1] == '\n' || p[body - 1] == '\r'))
        body--;
    if (e->quit && body == strlen(e->quit) && strncasecmp(p, e->quit, body) == 0) {
        sk_conn_end(c);
        return 1;
    }
    if (e->prefix)
        sk_conn_write(c, e->prefix, strlen(e->prefix));
    sk_conn_write(c, p, n);
    return 0;
}

static ssize_t echo_data(struct sk_conn *c, const char *p, size_t n)
{
    const struct echo *e = sk_conn_service_state(c);

    if (!e->lines) {
        size_t room = sk_conn_room(c);
        size_t take = n < room ? n : room;
        if (take && sk_conn_write(c, p, take) < 0)
            return 0;
        return (ssize_t)take;
    }
    size_t used = 0;
    const char *nl;
    while (used < n && (nl = memchr(p + used, '\n', n - used)) != NULL) {
        size_t len = (size_t)(nl - (p + used)) + 1;
        if (len + 256 > sk_conn_room(c))
            break; /* let the output drain first */
        int quit = echo_message(c, e, p + used, len);
        used += len;
        if (quit)
            return (ssize_t)n; /* the rest is never read */
    }
    /* A partial line: a bare message if nothing more comes soon. */
    sk_conn_set_deadline(c, used < n ? BARE_MESSAGE_PAUSE_MS : 0);
    return (ssize_t)used;
}

/* The pause after a bare message passed: p[0..n) is that message. */
static ssize_t echo_timeout(struct sk_conn *c, const char *p, size_t n)
{
    if (n > 0)
        echo_message(c, sk_conn_service_state(c), p, n);
    return (ssize_t)n;
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
    {.name = "lines",
     .type = SK_OPT_FLAG,
     .offset = offsetof(struct echo, lines),
     .min = 1,
     .help = "echo line by line (a message is a line, or a bare message)"},
    {.name = "prefix",
     .type = SK_OPT_STRING,
     .offset = offsetof(struct echo, prefix),
     .arg = "TEXT",
     .help = "put TEXT before each echoed message (implies --lines)",
     .post = lines_on},
    {.name = "quit",
     .type = SK_OPT_STRING,
     .offset = offsetof(struct echo, quit),
     .arg = "WORD",
     .help = "a message equal to WORD (any case) closes the connection",
     .check = quit_word_ok,
     .post = lines_on},
    {0},
};

const struct sk_service sk_service_echo = {
    .name = "echo",
    .summary = "echo back every byte (RFC 862), or lines with --lines",
    .flags = SK_SVC_STREAM | SK_SVC_DGRAM,
    .opts = echo_opts,
    .create = echo_create,
    .destroy = echo_destroy,
    .data = echo_data,
    .timeout = echo_timeout,
    .datagram = echo_datagram,
};
