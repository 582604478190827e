/*
 * evloop.h - what the two event loops share (reactor.c for select/poll/epoll,
 * uring.c for io_uring): deadlines and buffer shrinking, backpressure,
 * handing input to the service, the hub wake-up signal, counters and rate
 * limited logging. Each loop keeps its own I/O mechanism and its own
 * connection and loop structures; these helpers work on the sk_conn inside.
 */
#ifndef SOCKIT_MODEL_EVLOOP_H
#define SOCKIT_MODEL_EVLOOP_H

#include "sockit/server.h"

#include <stddef.h>
#include <stdint.h>

#define SK_EV_KEEP_BUF 4096  /* buffers up to this size stay allocated when empty */
#define SK_EV_SHRINK_MS 1000 /* larger ones are released after this long without I/O */

/* 1 at most once a second per *last (atomically claimed), else 0. */
int sk__ev_rate_ok(_Atomic int64_t *last, int64_t now);

/* The earliest moment something may be due on c (idle timeout, service
 * deadline, and with fat the buffer release), 0 when nothing is. */
int64_t sk__ev_due(const struct sk_conn *c, int fat);

/* Is c's idle timeout or service deadline due at now? */
int sk__ev_expired(const struct sk_conn *c, int64_t now);

/* Release c's empty in/out buffers above SK_EV_KEEP_BUF (hub lock held for
 * hub services). */
void sk__ev_shrink(struct sk_conn *c);

/* Too much output waiting: a file pending, or out (plus the bytes of a send
 * in flight, inflight, may be NULL) over lim.out_high. */
int sk__ev_backpressured(const struct sk_conn *c, const struct sk_buf *inflight);

/* Hand input to the service: p/n, or c->in when p is NULL; what it leaves
 * is kept in c->in. Stops (setting *held) under backpressure (inflight as
 * for sk__ev_backpressured). Returns 0 or -errno (-EMSGSIZE when input
 * outgrows lim.in_max). */
int sk__ev_feed(struct sk_conn *c, const char *p, size_t n, const struct sk_buf *inflight,
                char *held);

/* After a connection's step, with pend bytes still to send: 1 when it may
 * close now (the peer finished and nothing is pending or awaited, or the
 * loop is stopping and nothing is in flight), else 0. */
int sk__ev_can_close(const struct sk_conn *c, size_t pend, int eof, int held, int stopping);

/* Bytes the kernel holds for fd that were not read yet (closing with unread
 * input would reset the connection and lose what was sent). */
int sk__ev_unread(int fd);

/* Signal another loop's eventfd once until it takes its remote list
 * (*signalled is guarded by hub_lock, held by the caller). */
void sk__ev_signal(int wake_fd, int *signalled);

/* Add a loop's byte counts to the server's totals and zero them. */
void sk__ev_flush_counters(struct sk_server *srv, uint64_t *bytes_in, uint64_t *bytes_out);

/* The terminal stdin is readable: sk__server_terminal_line(). Returns 1
 * when the server is now stopping. */
int sk__ev_stdin_stop(struct sk_server *srv);

/* How sk__ev_run() drives one kind of loop. */
struct sk__ev_driver {
    size_t size; /* bytes of one loop structure */
    /* Make a zeroed loop safe to free (descriptors -1). */
    void (*clear)(void *loop);
    /* Set up loop index of n (arg is sk__ev_run()'s); 0 or -errno. */
    int (*init)(void *loop, struct sk_server *srv, unsigned index, unsigned n, const void *arg);
    /* Run until the stop, on any thread; returns the loop's error. */
    int (*run)(void *loop);
    void (*free)(void *loop);
};

/* Run srv->workers loops (at least one): loop 0 on the calling thread, the
 * others on threads with signals blocked. A loop that cannot be set up or a
 * thread that cannot start stops the server. Returns 0 or the first error. */
int sk__ev_run(struct sk_server *srv, const struct sk__ev_driver *d, const void *arg);

#endif
