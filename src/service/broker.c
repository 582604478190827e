/*
 * broker.c - ncat's broker (`sockit listen --broker`, also `serve broker`):
 * every byte a client sends goes to every other connected client, as it
 * came (no framing: bytes of two senders may interleave between reads).
 *
 * A hub service: the model runs every callback under the hub lock, so the
 * list of clients (one entry per connection, in its ctx) needs no lock of
 * its own, and a write to another client is queued on its connection and
 * flushed by its owner. Memory is bounded per client: a client whose
 * unsent output would pass --max-queue and that has taken nothing for
 * --stall (chat's stalled-reader rule), or whose output would pass the hard
 * --max-output, is disconnected with a log line; nobody else waits for it.
 */
#include "sockit/conn.h"
#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "stall.h"

#define DEFAULT_MAX_QUEUE (256 * 1024)
#define DEFAULT_STALL_MS 2000

struct member {
    struct sk_conn *c;
    struct member *prev, *next;
    int64_t over_since; /* when its queue went over max_queue (0: not over) */
    uint64_t seen_out;  /* bytes_sent then */
    int dropped;
};

struct broker {
    size_t max_queue;
    int stall_ms;
    struct member *head;
};

static const struct sk_service_opt broker_opts[] = {
    {"max-queue", SK_OPT_SIZE, offsetof(struct broker, max_queue), 1024, 64 << 20, "SIZE",
     "unsent output a client may have before it counts as stalled (256k)", NULL, NULL},
    {"stall", SK_OPT_DURATION, offsetof(struct broker, stall_ms), 10, 3600000, "SECS",
     "a client over --max-queue that takes nothing this long is disconnected (2)", NULL, NULL},
    {0},
};

static int broker_create(void **state)
{
    struct broker *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->max_queue = DEFAULT_MAX_QUEUE;
    b->stall_ms = DEFAULT_STALL_MS;
    *state = b;
    return 0;
}

static void broker_destroy(void *state)
{
    free(state);
}

static int broker_open(struct sk_conn *c)
{
    struct broker *b = sk_conn_service_state(c);
    struct member *m = c->ctx;

    m->c = c;
    m->next = b->head;
    if (b->head)
        b->head->prev = m;
    b->head = m;
    return 0;
}

static void broker_close(struct sk_conn *c)
{
    struct broker *b = sk_conn_service_state(c);
    struct member *m = c->ctx;

    if (m->prev)
        m->prev->next = m->next;
    else if (b->head == m)
        b->head = m->next;
    if (m->next)
        m->next->prev = m->prev;
}

static void drop(struct member *m, const char *why)
{
    char a[SK_ADDR_STRLEN];
    m->dropped = 1;
    sk_addr_format(sk_conn_peer(m->c), a, sizeof(a));
    sk_log(SK_LOG_WARN, "broker: %s dropped: %s", a, why);
    sk_conn_abort(m->c);
}

static ssize_t broker_data(struct sk_conn *c, const char *p, size_t n)
{
    struct broker *b = sk_conn_service_state(c);

    for (struct member *m = b->head; m; m = m->next) {
        if (m->c == c || m->dropped || sk_conn_closing(m->c))
            continue;
        if (sk__stalled(&m->over_since, &m->seen_out, sk_conn_bytes_sent(m->c),
                        sk_conn_pending(m->c) + n, b->max_queue, b->stall_ms))
            drop(m, "not reading (output queue full)");
        else if (sk_conn_write(m->c, p, n) < 0)
            drop(m, "output over --max-output");
    }
    return (ssize_t)n;
}

const struct sk_service sk_service_broker = {
    .name = "broker",
    .summary = "every client's bytes go to all the others (ncat's --broker)",
    .flags = SK_SVC_STREAM | SK_SVC_HUB,
    .opts = broker_opts,
    .conn_size = sizeof(struct member),
    .idle_timeout_ms = SK_SVC_NO_IDLE_TIMEOUT,
    .create = broker_create,
    .destroy = broker_destroy,
    .open = broker_open,
    .data = broker_data,
    .close = broker_close,
};
