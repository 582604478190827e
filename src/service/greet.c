/*
 * greet.c - the seeds' first servers: send a banner on connect and close
 * ("Thank you for connecting"), or with --reply TEXT read one message, log
 * it, answer TEXT and close (the one-message "Message received" server).
 *
 * Each text goes out followed by a newline. With --reply the banner is sent
 * first only when --banner was given. A message is a line ending in LF, or,
 * for clients that send a bare message and wait (the seeds' clients), what
 * arrived before a pause of 100 ms or before the client shut down its side;
 * a message that fills the input buffer is taken as it is.
 */
#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BARE_MESSAGE_PAUSE_MS 100
#define LOG_MAX 200 /* characters of a message shown in the log */

struct greet {
    char *banner;
    char *reply; /* NULL: banner only */
    int banner_set;
};

struct greet_conn {
    int answered;
};

static int greet_create(void **state)
{
    struct greet *g = calloc(1, sizeof(*g));
    if (!g || !(g->banner = strdup("Thank you for connecting"))) {
        free(g);
        return -ENOMEM;
    }
    *state = g;
    return 0;
}

/* An explicit --banner is sent also with --reply. */
static void banner_set(void *state)
{
    ((struct greet *)state)->banner_set = 1;
}

static void greet_destroy(void *state)
{
    struct greet *g = state;
    free(g->banner);
    free(g->reply);
    free(g);
}

static int greet_open(struct sk_conn *c)
{
    const struct greet *g = sk_conn_service_state(c);

    if (!g->reply || g->banner_set) {
        int r = sk_conn_printf(c, "%s\n", g->banner);
        if (r < 0)
            return r;
    }
    if (!g->reply)
        sk_conn_end(c);
    return 0;
}

/* The message as one log line: control bytes escaped, long ones cut. */
static void log_message(struct sk_conn *c, const char *p, size_t n)
{
    char text[LOG_MAX * 4 + 8], who[SK_ADDR_STRLEN];
    size_t o = 0;

    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    for (size_t i = 0; i < n && i < LOG_MAX; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            text[o++] = (char)ch;
        else
            o += (size_t)snprintf(text + o, sizeof(text) - o, "\\x%02x", ch);
    }
    if (n > LOG_MAX)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "...");
    text[o] = '\0';
    sk_addr_format(sk_conn_peer(c), who, sizeof(who));
    sk_log(SK_LOG_INFO, "message from %s (%zu byte%s): %s", who, n, n == 1 ? "" : "s", text);
}

static void answer(struct sk_conn *c, const char *p, size_t n)
{
    const struct greet *g = sk_conn_service_state(c);
    struct greet_conn *gc = c->ctx;

    gc->answered = 1;
    sk_conn_set_deadline(c, 0);
    log_message(c, p, n);
    sk_conn_printf(c, "%s\n", g->reply);
    sk_conn_end(c);
}

static ssize_t greet_data(struct sk_conn *c, const char *p, size_t n)
{
    const struct greet *g = sk_conn_service_state(c);
    struct greet_conn *gc = c->ctx;

    if (!g->reply || gc->answered)
        return (ssize_t)n; /* nothing more is read from this client */
    const char *nl = memchr(p, '\n', n);
    if (nl || n >= sk_conn_input_max(c)) {
        answer(c, p, nl ? (size_t)(nl - p) + 1 : n);
        return (ssize_t)n;
    }
    sk_conn_set_deadline(c, BARE_MESSAGE_PAUSE_MS);
    return 0;
}

/* The pause after a bare message passed: p[0..n) is that message. */
static ssize_t greet_timeout(struct sk_conn *c, const char *p, size_t n)
{
    const struct greet *g = sk_conn_service_state(c);
    struct greet_conn *gc = c->ctx;

    if (g->reply && !gc->answered && n > 0)
        answer(c, p, n);
    return (ssize_t)n;
}

static const struct sk_service_opt greet_opts[] = {
    {.name = "banner",
     .type = SK_OPT_STRING,
     .offset = offsetof(struct greet, banner),
     .arg = "TEXT",
     .help = "sent on connect (default \"Thank you for connecting\")",
     .post = banner_set},
    {.name = "reply",
     .type = SK_OPT_STRING,
     .offset = offsetof(struct greet, reply),
     .arg = "TEXT",
     .help = "read one message (a line, or a bare message and a pause), log it, "
             "answer TEXT, close"},
    {0},
};

const struct sk_service sk_service_greet = {
    .name = "greet",
    .summary = "send a banner and close; with --reply, read one message and answer",
    .flags = SK_SVC_STREAM,
    .opts = greet_opts,
    .conn_size = sizeof(struct greet_conn),
    .create = greet_create,
    .destroy = greet_destroy,
    .open = greet_open,
    .data = greet_data,
    .timeout = greet_timeout,
};
