/*
 * svc_conn.h - a hand-made connection for driving a service without a model:
 * what the unit tests (tests/unit/) and the fuzz targets (fuzz/) that play
 * the model for chat share. Header-only, static inline: each includer gets
 * its own copy and no library symbol is added for tests.
 */
#ifndef SOCKIT_TEST_SVC_CONN_H
#define SOCKIT_TEST_SVC_CONN_H

#include "sockit/server.h"
#include "sockit/service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Set c up as connection `id` of srv, with at most out_max bytes of output,
 * and run svc's open(). Returns open()'s result, or -ENOMEM. */
static inline int svc_conn_open(const struct sk_service *svc, struct sk_server *srv,
                                struct sk_conn *c, uint64_t id, size_t out_max)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->id = id;
    c->srv = srv;
    c->file.fd = -1;
    sk_buf_init(&c->in, srv->lim.in_max);
    sk_buf_init(&c->out, out_max);
    c->ctx = calloc(1, svc->conn_size);
    if (!c->ctx)
        return -ENOMEM;
    int r = svc->open(c);
    c->opened = 1;
    return r;
}

/* Run svc's close() and free what svc_conn_open() made. */
static inline void svc_conn_close(const struct sk_service *svc, struct sk_conn *c)
{
    svc->close(c);
    free(c->ctx);
    c->ctx = NULL;
    sk_buf_free(&c->in);
    sk_buf_free(&c->out);
    c->opened = 0;
}

/* Append p[0..n) to c's input and let svc consume it as a model would:
 * until it takes nothing more, the input is empty, or it asked to close. A
 * service answering more than it was given aborts (a fuzz finding); a full
 * input it does not take is dropped (the model would close it). */
static inline void svc_conn_feed(const struct sk_service *svc, struct sk_conn *c, const void *p,
                                 size_t n)
{
    if (sk_buf_append(&c->in, p, n) < 0)
        sk_buf_clear(&c->in);
    for (;;) {
        size_t have = sk_buf_len(&c->in);
        if (!have || (c->flags & (SK_CONN_END | SK_CONN_ABORT)))
            return;
        ssize_t r = svc->data(c, sk_buf_data(&c->in), have);
        if (r < 0 || (size_t)r > have)
            abort();
        if (r == 0) {
            if (have >= c->in.max)
                sk_buf_clear(&c->in);
            return;
        }
        sk_buf_consume(&c->in, (size_t)r);
    }
}

#endif
