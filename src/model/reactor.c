/*
 * reactor.c - the event loop under the select, poll and epoll models.
 *
 * One loop per worker thread, each over its own poller backend (poller.h)
 * and its own listener. Connections are nonblocking, level-triggered, and
 * keep only what they must between events: input is read into a per-loop
 * scratch buffer and handed to the service from there; only bytes the
 * service leaves unconsumed are copied into the connection's `in`. Output
 * the service queues is written at once, and write interest is armed only
 * when the socket would block, so an echo costs one read and one write.
 *
 * Backpressure: a connection with more than lim.out_high queued (or a file
 * pending) loses read interest until it drains. Timers: one lazily updated
 * min-heap entry per connection (timer.h) covers the idle timeout and the
 * service deadline. Stop: the listener and stop descriptor leave the poller,
 * connections with nothing in flight close at once, the others get
 * lim.drain_ms, then everything is closed.
 *
 * This file is only the readiness backend of the loop core (evloop.h):
 * waiting and dispatching, reading, writing through, and interest; hub
 * wake-ups, timers, the stop and close bookkeeping are the core's.
 */
#include "reactor.h"

#include "evloop.h"

#include "sockit/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SCRATCH_SIZE (64 * 1024)
#define MAX_EVENTS 256

_Static_assert((int)SK_EV_WANT_READ == (int)SK_EV_IN && (int)SK_EV_WANT_WRITE == (int)SK_EV_OUT,
               "a connection's wants are the poller's interest bits");

struct rconn {
    struct sk__ev_conn base; /* base.armed: the SK_EV_* registered with the poller */
    /* The upstream's descriptors registered with the poller (-1: none):
     * [0] rfd (and wfd when it is the same), [1] a separate wfd. */
    int ufd[2];
    unsigned uint[2];
};

struct rloop {
    struct sk__ev_loop base;
    const struct sk_poller_ops *ops;
    void *poller;
    int watch_lfd, watch_stop, watch_stdin;
    struct rconn **fds; /* by descriptor */
    size_t nfds;
    char *scratch;
    size_t scratch_len;
};

static int fds_reserve(struct rloop *R, int fd)
{
    if ((size_t)fd < R->nfds)
        return 0;
    size_t n = R->nfds ? R->nfds : 1024;
    while (n <= (size_t)fd)
        n *= 2;
    struct rconn **v = realloc(R->fds, n * sizeof(*v));
    if (!v)
        return -ENOMEM;
    memset(v + R->nfds, 0, (n - R->nfds) * sizeof(*v));
    R->fds = v;
    R->nfds = n;
    return 0;
}

/* ---- the backend operations ---- */

static int r_admit(struct sk__ev_loop *L, int fd, char *why, size_t len)
{
    struct rloop *R = (struct rloop *)L;
    if (R->ops->fd_limit && fd >= R->ops->fd_limit) {
        snprintf(why, len, "%s cannot watch descriptors >= %d", R->ops->name, R->ops->fd_limit);
        return -ERANGE;
    }
    return fds_reserve(R, fd); /* why says "out of memory" already */
}

static int r_attach(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    struct rloop *R = (struct rloop *)L;
    struct rconn *rc = (struct rconn *)ec;
    rc->ufd[0] = rc->ufd[1] = -1;
    if (ec->c.fd < 0)
        return 0; /* a link: only its upstream is watched */
    int r = R->ops->add(R->poller, ec->c.fd, SK_EV_IN);
    if (r < 0)
        return r;
    ec->armed = SK_EV_IN;
    R->fds[ec->c.fd] = rc;
    return 0;
}

static void r_detach(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    struct rloop *R = (struct rloop *)L;
    if (ec->c.fd < 0)
        return; /* a link */
    R->ops->del(R->poller, ec->c.fd, ec->armed);
    R->fds[ec->c.fd] = NULL;
}

static void unwatch_up(struct rloop *R, struct rconn *rc, int slot)
{
    int fd = rc->ufd[slot];
    if (fd < 0)
        return;
    R->ops->del(R->poller, fd, rc->uint[slot]);
    R->fds[fd] = NULL;
    rc->ufd[slot] = -1;
}

/* Watch fd for in in the upstream's slot (nothing wanted: not at all, as a
 * hang-up would be reported for nothing). 0 or -errno. */
static int watch_up(struct rloop *R, struct rconn *rc, int slot, int fd, unsigned in)
{
    int r;
    if (rc->ufd[slot] != fd || !in)
        unwatch_up(R, rc, slot);
    if (fd < 0 || !in)
        return 0;
    if (rc->ufd[slot] == fd) {
        if (rc->uint[slot] != in && (r = R->ops->mod(R->poller, fd, rc->uint[slot], in)) < 0)
            return r;
        rc->uint[slot] = in;
        return 0;
    }
    if ((r = fds_reserve(R, fd)) < 0 || (r = R->ops->add(R->poller, fd, in)) < 0)
        return r;
    rc->ufd[slot] = fd;
    rc->uint[slot] = in;
    R->fds[fd] = rc;
    return 0;
}

/* The upstream's interest from ec->up_want: rfd (and a shared wfd) in slot
 * 0, a separate wfd in slot 1. */
static int apply_up(struct rloop *R, struct rconn *rc)
{
    const struct sk__upstream *up = rc->base.c.up;
    int fd0 = -1, fd1 = -1;
    unsigned in0 = 0, in1 = 0;

    if (up) {
        if ((rc->base.up_want & SK_UP_R) && up->rfd >= 0) {
            fd0 = up->rfd;
            in0 = SK_EV_IN;
        }
        if ((rc->base.up_want & SK_UP_W) && up->wfd >= 0) {
            if (up->wfd == up->rfd) {
                fd0 = up->wfd;
                in0 |= SK_EV_OUT;
            } else {
                fd1 = up->wfd;
                in1 = SK_EV_OUT;
            }
        }
    }
    int r = watch_up(R, rc, 0, fd0, in0);
    return r < 0 ? r : watch_up(R, rc, 1, fd1, in1);
}

/* 0, or -errno when the poller refuses (the core closes the connection:
 * it would wait for the wrong events). */
static int r_apply(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    struct rloop *R = (struct rloop *)L;
    struct rconn *rc = (struct rconn *)ec;
    if (ec->want != ec->armed) {
        int r = sk__fault(SK_FAULT_INTEREST)
                    ? -ENOMEM
                    : R->ops->mod(R->poller, ec->c.fd, ec->armed, ec->want);
        if (r < 0)
            return r;
        ec->armed = ec->want;
    }
    if (ec->c.up || rc->ufd[0] >= 0 || rc->ufd[1] >= 0)
        return apply_up(R, rc);
    return 0;
}

static void r_up_forget(struct sk__ev_loop *L, struct sk__ev_conn *ec, int fd)
{
    struct rloop *R = (struct rloop *)L;
    struct rconn *rc = (struct rconn *)ec;
    for (int slot = 0; slot < 2; slot++)
        if (rc->ufd[slot] == fd)
            unwatch_up(R, rc, slot);
}

/* An upstream descriptor of rc is ready. */
static void handle_up(struct rloop *R, struct rconn *rc, int fd, unsigned ev)
{
    const struct sk__upstream *up = rc->base.c.up;
    unsigned uev = 0;
    if (up && fd == up->rfd && (ev & (SK_EV_IN | SK_EV_ERR)))
        uev |= SK_UP_R;
    if (up && fd == up->wfd && (ev & (SK_EV_OUT | SK_EV_ERR)))
        uev |= SK_UP_W;
    sk__ev_up_ready(&R->base, &rc->base, uev);
}

static void r_unwatch(struct sk__ev_loop *L)
{
    struct rloop *R = (struct rloop *)L;
    if (R->watch_lfd)
        R->ops->del(R->poller, L->lfd, SK_EV_IN);
    if (R->watch_stop)
        R->ops->del(R->poller, L->srv->stop_fd, SK_EV_IN);
    if (R->watch_stdin)
        R->ops->del(R->poller, STDIN_FILENO, SK_EV_IN);
    R->watch_lfd = R->watch_stop = R->watch_stdin = 0;
}

/* One read: into the scratch buffer when nothing is held, else in place
 * after the held bytes. 0 (maybe eof) or -errno. */
static int do_read(struct rloop *R, struct rconn *rc)
{
    struct sk_conn *c = &rc->base.c;
    size_t have = sk_buf_len(&c->in);
    char *dst = R->scratch;
    size_t room = R->scratch_len;
    ssize_t n;

    if (c->up) {
        /* Piped bulk goes by splice() straight on to the upstream. */
        int eof = 0, r = sk__up_splice_in(c, R->base.now, &eof, &R->base.bytes_in);
        if (r != 0)
            return r < 0 ? r : eof ? sk__ev_eof(&R->base, &rc->base) : 0;
    }
    if (have) {
        room = SK_MIN(room, c->in.max - have);
        if (room == 0)
            return -EMSGSIZE;
        int r = sk_buf_reserve(&c->in, room);
        if (r < 0)
            return r == -ENOBUFS ? -EMSGSIZE : r;
        dst = sk_buf_tail(&c->in);
    }
    do
        n = recv(c->fd, dst, room, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? 0 : -errno;
    if (n == 0)
        return sk__ev_eof(&R->base, &rc->base);
    return sk__ev_input(&R->base, &rc->base, dst, (size_t)n);
}

/* The same under TLS: ciphertext into the scratch buffer, so little that its
 * plaintext and a record held from before fit in what in has left, then
 * its plaintext through the transport. */
static int tls_read(struct rloop *R, struct rconn *rc)
{
    struct sk_conn *c = &rc->base.c;
    size_t left = c->in.max - sk_buf_len(&c->in), rec = 17 * 1024;
    size_t room = SK_MIN(R->scratch_len, left > 2 * rec ? left - rec : 4096);
    ssize_t n;

    do
        n = recv(c->fd, R->scratch, room, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? 0 : -errno;
    if (n == 0)
        return sk__ev_eof(&R->base, &rc->base);
    return sk__ev_tls_input(&R->base, &rc->base, R->scratch, (size_t)n, room);
}

static void handle(struct rloop *R, struct rconn *rc, unsigned ev)
{
    int r = 0;

    sk__ev_hub_enter(&R->base);
    if ((ev & (SK_EV_IN | SK_EV_ERR)) && (rc->base.armed & SK_EV_IN))
        r = rc->base.c.tls ? tls_read(R, rc) : do_read(R, rc);
    else if ((ev & SK_EV_ERR) && !(rc->base.armed & SK_EV_OUT))
        r = -ECONNRESET; /* a hang-up while we wait for nothing from it */
    sk__ev_settle(&R->base, &rc->base, r);
}

static int r_poll(struct sk__ev_loop *L, int ms)
{
    struct rloop *R = (struct rloop *)L;
    struct sk_pevent ev[MAX_EVENTS];

    int n = R->ops->wait(R->poller, ev, MAX_EVENTS, ms);
    L->now = sk_now_ms();
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++) {
        int fd = ev[i].fd;
        /* Connections (and their upstreams) first: the listener and the
         * loop's own descriptors are never in fds. */
        if ((size_t)fd < R->nfds && R->fds[fd]) {
            if (fd == R->fds[fd]->base.c.fd)
                handle(R, R->fds[fd], ev[i].ev);
            else
                handle_up(R, R->fds[fd], fd, ev[i].ev);
        } else if (R->watch_lfd && fd == L->lfd)
            sk__ev_accept(L);
        else if (R->watch_stop && fd == L->srv->stop_fd)
            sk__ev_begin_stop(L);
        else if (R->watch_stdin && fd == STDIN_FILENO)
            sk__ev_stdin(L);
        else if (L->wake_fd >= 0 && fd == L->wake_fd)
            sk__ev_take_remote(L);
    }
    return 0;
}

static void r_free(struct sk__ev_loop *L)
{
    struct rloop *R = (struct rloop *)L;
    if (R->poller)
        R->ops->destroy(R->poller);
    free(R->scratch);
    free(R->fds);
}

static int r_init(struct sk__ev_loop *L, const void *arg)
{
    struct rloop *R = (struct rloop *)L;
    const struct sk_poller_ops *ops = arg;
    struct sk_server *srv = L->srv;
    int r;

    R->ops = ops;
    L->name = ops->name;
    R->scratch_len = SK_MIN((size_t)SCRATCH_SIZE, srv->lim.in_max);
    if (!(R->scratch = malloc(R->scratch_len)))
        return -ENOMEM;
    if ((r = ops->create(&R->poller)) < 0) {
        R->poller = NULL;
        return r;
    }
    if ((r = ops->add(R->poller, L->lfd, SK_EV_IN)) < 0)
        return r;
    R->watch_lfd = 1;
    if (srv->stop_fd >= 0) {
        if ((r = ops->add(R->poller, srv->stop_fd, SK_EV_IN)) < 0)
            return r;
        R->watch_stop = 1;
    }
    if (L->index == 0 && srv->stdin_stop && ops->add(R->poller, STDIN_FILENO, SK_EV_IN) == 0)
        R->watch_stdin = 1;
    if (L->wake_fd >= 0 && (r = ops->add(R->poller, L->wake_fd, SK_EV_IN)) < 0)
        return r;
    return 0;
}

static const struct sk__ev_backend reactor_backend = {
    .loop_size = sizeof(struct rloop),
    .conn_size = sizeof(struct rconn),
    .init = r_init,
    .poll = r_poll,
    .unwatch = r_unwatch,
    .admit = r_admit,
    .attach = r_attach,
    .detach = r_detach,
    .apply = r_apply,
    .up_forget = r_up_forget,
    .free = r_free,
};

int sk__reactor_run(struct sk_server *srv, const struct sk_poller_ops *ops)
{
    return sk__ev_run(srv, &reactor_backend, ops);
}
