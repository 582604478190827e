/*
 * evloop.h - the one loop core of the event models (select, poll, epoll
 * through reactor.c; io_uring through uring.c), in the shape of nginx's
 * ngx_process_events_and_timers and libuv's uv_run:
 *
 *   for (;;) {
 *       stop?            begin_stop once: unwatch, settle every connection
 *       done?            no connection left, or the drain bound passed
 *       backend poll     wait up to the nearest timer; dispatch I/O
 *       run_pending      connections woken by their own loop or by another
 *       run_timers       idle timeouts, service deadlines, buffer release
 *       run_pending      what the timers woke
 *       counters         the loop's byte counts into the server's totals
 *       bury             free closed connections the kernel no longer holds
 *   }
 *
 * A backend supplies only its I/O operations (struct sk__ev_backend): how
 * to wait and dispatch, how to send, how to watch or stop watching a
 * connection. Everything else exists once, here: the loop and connection
 * structures the backends embed (as their first member), accepting in
 * batches, the service steps (flush, held input, drain, the close
 * decision), hub wake-ups within and across loops, timers, the stop and its
 * drain bound, close bookkeeping, and starting N loops on threads.
 *
 * Hub services (chat): their callbacks run under srv->hub_lock, and so does
 * all of a loop's work on a connection of such a service (reading, feeding,
 * flushing), because callbacks on other loops may write to it. A write to a
 * connection of the same loop puts it on the pending list; a write to a
 * connection of another loop puts it on that loop's remote list (guarded by
 * hub_lock) and signals the loop's eventfd once until it takes the list.
 */
#ifndef SOCKIT_MODEL_EVLOOP_H
#define SOCKIT_MODEL_EVLOOP_H

#include "internal.h"
#include "list.h"
#include "timer.h"

#include "sockit/server.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* What a connection wants from its backend next (ec->want). */
enum { SK_EV_WANT_READ = 1u << 0, SK_EV_WANT_WRITE = 1u << 1 };

struct sk__ev_loop;

/* The base every backend's connection embeds as its first member. Fields
 * are the core's unless marked; the backend reads them freely on its own
 * loop's thread. */
struct sk__ev_conn {
    struct sk_conn c; /* what the service sees */
    struct sk__ev_loop *loop;
    struct sk_timer timer;
    struct sk__list link;    /* on loop->conns while open, then on loop->closing */
    struct sk__list pending; /* on loop->pending: the owner thread only */
    struct sk__list remote;  /* on loop->remote: under hub_lock */
    struct sk_buf *sending;  /* backend: bytes the kernel is sending, counted as
                              * queued output (completion backends), or NULL */
    unsigned inflight;       /* backend: operations the kernel still holds;
                              * a closed connection is freed only at 0 */
    unsigned char want;      /* SK_EV_WANT_*: set by the core's step */
    unsigned char armed;     /* backend: the SK_EV_WANT_* it acts on now (its poller
                              * interest; io_uring: a receive, a send in flight);
                              * apply() is called only when want differs */
    unsigned char up_want;   /* SK_UP_* for the upstream's descriptors: set by the step */
    char eof;                /* the peer finished sending */
    char held;               /* input left unfed because of backpressure: while
                              * in holds some, the service deadline waits */
    char closed;
    char fat;     /* holds a buffer over SK_EV_KEEP_BUF: release it once quiet */
    char is_link; /* a server-wide link (conn.h): no client socket, not in nconns */
};

/* The base every backend's loop embeds as its first member. */
struct sk__ev_loop {
    struct sk_server *srv;
    const struct sk__ev_backend *be;
    const char *name; /* for log lines ("epoll", "io_uring"): set by be->init */
    unsigned index, nloops;
    int lfd, own_lfd;
    int wake_fd;  /* eventfd: another loop queued work here (hub, several loops), else -1 */
    int lock_hub; /* the service is a hub: its work runs under srv->hub_lock */
    size_t nconns;
    struct sk__list conns, pending, closing;
    struct sk__list remote; /* under hub_lock */
    int remote_signalled;   /* under hub_lock */
    struct sk_timer_heap timers;
    int64_t now, stop_at;
    int stopping, err;
    uint64_t bytes_in, bytes_out; /* added to the server's totals once an iteration */
};

/* A backend: only its I/O operations. Every function runs on the loop's
 * own thread except init and free. */
struct sk__ev_backend {
    size_t loop_size, conn_size; /* bytes of its loop and connection structures */
    /* Set up the backend part of L (the core part is ready: srv, index,
     * nloops, lfd, wake_fd). arg is sk__ev_run()'s. 0 or -errno. */
    int (*init)(struct sk__ev_loop *L, const void *arg);
    /* On the loop's thread before the first poll (may be NULL): 0 or -errno
     * (logged, and the server stops). */
    int (*start)(struct sk__ev_loop *L);
    /* Wait up to ms (-1: no limit), set L->now, and dispatch what happened
     * through the sk__ev_* calls below. 0, or -errno when the loop cannot
     * go on (logged, and the server stops). */
    int (*poll)(struct sk__ev_loop *L, int ms);
    /* The stop began: stop watching the listener, stop eventfd and stdin. */
    void (*unwatch)(struct sk__ev_loop *L);
    /* May fd be served? 0, or -errno with the reason in why (the connection
     * is then refused: closed and logged). NULL: always. */
    int (*admit)(struct sk__ev_loop *L, int fd, char *why, size_t len);
    /* The service's open() ran: watch the connection (0 or -errno), and
     * forget it before its descriptor closes. */
    int (*attach)(struct sk__ev_loop *L, struct sk__ev_conn *ec);
    void (*detach)(struct sk__ev_loop *L, struct sk__ev_conn *ec);
    /* Send what is queued as far as it goes without blocking. 0 or -errno.
     * NULL: write through at once (sk__conn_flush), as readiness backends do. */
    int (*send)(struct sk__ev_loop *L, struct sk__ev_conn *ec);
    /* Act on ec->want (watch for input and/or writability), and on
     * ec->up_want for the upstream's descriptors (ec->c.up: rfd readable,
     * wfd writable; readiness reported through sk__ev_up_ready()); called
     * when want differs from ec->armed or the connection has an upstream.
     * 0, or -errno when it cannot (the core then closes ec with a log line). */
    int (*apply)(struct sk__ev_loop *L, struct sk__ev_conn *ec);
    /* The core is about to close fd, one of ec's upstream descriptors:
     * stop watching it. */
    void (*up_forget)(struct sk__ev_loop *L, struct sk__ev_conn *ec, int fd);
    /* After the last connection closed: let what is in flight complete
     * (may be NULL). */
    void (*drain)(struct sk__ev_loop *L);
    /* Release the backend part (also after a failed or partial init). */
    void (*free)(struct sk__ev_loop *L);
};

/* Run srv->workers loops (at least one) of backend be: loop 0 on the
 * calling thread, the others on threads with signals blocked, loops after
 * the first on their own duplicates of the listener (sk_server_listener()).
 * A loop that cannot be set
 * up or a thread that cannot start stops the server. Returns 0 or the first
 * error. */
int sk__ev_run(struct sk_server *srv, const struct sk__ev_backend *be, const void *arg);

/* ---- what a backend's poll() dispatches to ---- */

/* The listener is readable: accept a batch. */
void sk__ev_accept(struct sk__ev_loop *L);

/* Stop watching new work and settle every connection (once). */
void sk__ev_begin_stop(struct sk__ev_loop *L);

/* The terminal stdin is readable: sk__server_terminal_line(), and when
 * that stops the server, begin the stop. Returns 1 then, else 0. */
int sk__ev_stdin(struct sk__ev_loop *L);

/* The wake eventfd is readable: move the remote list to the pending list. */
void sk__ev_take_remote(struct sk__ev_loop *L);

/* An I/O handler on ec runs as: sk__ev_hub_enter(L); its I/O, feeding what
 * arrived through sk__ev_input() / sk__ev_eof(); then sk__ev_settle(L, ec,
 * r) with its result r (0, or -errno to close), which steps the connection
 * on, leaves the hub, and applies what it wants next or closes it. */
static inline void sk__ev_hub_enter(struct sk__ev_loop *L)
{
    if (L->lock_hub)
        pthread_mutex_lock(&L->srv->hub_lock);
}

static inline void sk__ev_hub_leave(struct sk__ev_loop *L)
{
    if (L->lock_hub)
        pthread_mutex_unlock(&L->srv->hub_lock);
}

void sk__ev_settle(struct sk__ev_loop *L, struct sk__ev_conn *ec, int r);

/* n bytes arrived at p for ec: account them and hand them to the service.
 * p may be the tail of ec->c.in (read in place after held bytes), other
 * memory (fed directly; only what the service leaves is copied into in).
 * 0 or -errno (-EMSGSIZE when input outgrows lim.in_max). */
static inline int sk__ev_input(struct sk__ev_loop *L, struct sk__ev_conn *ec, const char *p,
                               size_t n)
{
    struct sk_conn *c = &ec->c;

    sk__conn_received(c, n, L->now, &L->bytes_in);
    if (sk_buf_len(&c->in) && p == sk_buf_tail(&c->in)) {
        sk_buf_commit(&c->in, n); /* read in place after the held bytes */
    } else if (sk_buf_len(&c->in)) {
        int r = sk_buf_append(&c->in, p, n);
        if (r < 0)
            return r == -ENOBUFS ? -EMSGSIZE : r;
    } else {
        return sk__conn_feed(c, p, n, ec->sending, &ec->held);
    }
    return sk__conn_feed(c, NULL, 0, ec->sending, &ec->held);
}

/* ev (SK_UP_*) is ready on ec's upstream: its I/O, then the step (the
 * whole of an upstream handler; only what ec->up_want still asks for is
 * acted on). */
void sk__ev_up_ready(struct sk__ev_loop *L, struct sk__ev_conn *ec, unsigned ev);

/* The peer finished sending: 0, or an error to close with (the stream
 * ended inside a TLS handshake). */
int sk__ev_eof(struct sk__ev_loop *L, struct sk__ev_conn *ec);

/* n bytes arrived in buf (cap bytes) for ec: sk__ev_input(), or under TLS
 * the ciphertext's plaintext through it (buf is reused for it). */
int sk__ev_tls_input(struct sk__ev_loop *L, struct sk__ev_conn *ec, char *buf, size_t n,
                     size_t cap);

static inline int sk__ev_recv(struct sk__ev_loop *L, struct sk__ev_conn *ec, char *buf, size_t n,
                              size_t cap)
{
    if (ec->c.tls)
        return sk__ev_tls_input(L, ec, buf, n, cap);
    return sk__ev_input(L, ec, buf, n);
}

/* Output queued on ec, including what the kernel is sending; with tls (a
 * constant where it is called, so a plain connection pays nothing) also
 * the transport's ciphertext, with up (likewise) the upstream's spliced
 * bytes. */
static inline size_t sk__ev_pending_as(const struct sk__ev_conn *ec, const int tls, const int up)
{
    return sk__conn_pending_as(&ec->c, up) + (ec->sending ? sk_buf_len(ec->sending) : 0) +
           (tls ? sk__tls_queued(&ec->c) : 0);
}

static inline size_t sk__ev_pending(const struct sk__ev_conn *ec)
{
    return sk__ev_pending_as(ec, ec->c.tls != NULL, 1);
}

#endif
