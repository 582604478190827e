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

#endif
