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
 * Hub services (chat): their callbacks run under srv->hub_lock, and so does
 * all of this loop's work on a connection of such a service (reading,
 * feeding, flushing), because callbacks on other loops may write to it.
 * A write to a connection of the same loop puts it on the pending list; a
 * write to a connection of another loop puts it on that loop's remote list
 * (guarded by hub_lock) and signals the loop's eventfd.
 */
#include "reactor.h"

#include "evloop.h"
#include "internal.h"
#include "timer.h"

#include "sockit/error.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#define SCRATCH_SIZE (64 * 1024)
#define MAX_EVENTS 256
#define ACCEPT_BATCH 128

struct loop;

struct rconn {
    struct sk_conn c;
    struct loop *loop;
    struct sk_timer timer;
    unsigned interest; /* SK_EV_* registered with the poller */
    char eof;          /* the peer finished sending */
    char held;         /* input left unfed because of backpressure */
    char closed;
    char on_pending; /* owner thread only */
    char on_remote;  /* under hub_lock */
    char fat;        /* holds a buffer over SK_EV_KEEP_BUF: release it once quiet */
    struct rconn *next_pending, *next_remote, *next_dead;
};

struct loop {
    struct sk_server *srv;
    const struct sk_poller_ops *ops;
    void *poller;
    unsigned index, nloops;
    int lfd, own_lfd, watch_lfd, watch_stop, watch_stdin;
    int wake_fd; /* eventfd: another loop queued work for us (hub services) */
    int lock_hub;
    struct rconn **fds; /* by descriptor */
    size_t nfds, nconns;
    struct sk_timer_heap timers;
    char *scratch;
    size_t scratch_len;
    int64_t now, stop_at;
    int stopping, err;
    struct rconn *pending, *dead;
    struct rconn *remote; /* under hub_lock */
    int remote_signalled; /* under hub_lock */
    uint64_t bytes_in, bytes_out;
};

static _Thread_local struct loop *this_loop;

/* ---- helpers ---- */

static void hub_enter(struct loop *L)
{
    if (L->lock_hub)
        pthread_mutex_lock(&L->srv->hub_lock);
}

static void hub_leave(struct loop *L)
{
    if (L->lock_hub)
        pthread_mutex_unlock(&L->srv->hub_lock);
}

/* Lazy: only ever moved earlier here; a timer that fires early re-arms. */
static void arm_timer(struct loop *L, struct rconn *rc)
{
    int64_t due = sk__ev_due(&rc->c, rc->fat);
    if (due && (!sk__timer_armed(&rc->timer) || due < rc->timer.at))
        sk__timer_set(&L->timers, &rc->timer, due);
}

static void set_interest(struct loop *L, struct rconn *rc, unsigned want)
{
    if (want == rc->interest)
        return;
    int r = L->ops->mod(L->poller, rc->c.fd, rc->interest, want);
    if (r == 0)
        rc->interest = want;
}

static int fds_reserve(struct loop *L, int fd)
{
    if ((size_t)fd < L->nfds)
        return 0;
    size_t n = L->nfds ? L->nfds : 1024;
    while (n <= (size_t)fd)
        n *= 2;
    struct rconn **v = realloc(L->fds, n * sizeof(*v));
    if (!v)
        return -ENOMEM;
    memset(v + L->nfds, 0, (n - L->nfds) * sizeof(*v));
    L->fds = v;
    L->nfds = n;
    return 0;
}

static void wake(struct sk_conn *c)
{
    struct rconn *rc = c->model_data;
    struct loop *L = rc->loop;

    if (rc->closed)
        return;
    if (L == this_loop) {
        if (!rc->on_pending) {
            rc->on_pending = 1;
            rc->next_pending = L->pending;
            L->pending = rc;
        }
        return;
    }
    /* Another loop's connection; the caller holds hub_lock. */
    if (!rc->on_remote) {
        rc->on_remote = 1;
        rc->next_remote = L->remote;
        L->remote = rc;
    }
    sk__ev_signal(L->wake_fd, &L->remote_signalled);
}

static const struct sk_conn_ops hub_ops = {.wake = wake};

static void close_conn(struct loop *L, struct rconn *rc, int err)
{
    if (rc->closed)
        return;
    rc->closed = 1;
    int fd = rc->c.fd;
    L->ops->del(L->poller, fd, rc->interest);
    L->fds[fd] = NULL;
    L->nconns--;
    sk__timer_del(&L->timers, &rc->timer);
    sk__conn_close(&rc->c, err); /* the service's close(): nobody wakes rc afterwards */
    if (L->nloops > 1 && L->lock_hub) {
        pthread_mutex_lock(&L->srv->hub_lock);
        if (rc->on_remote) {
            struct rconn **pp = &L->remote;
            while (*pp && *pp != rc)
                pp = &(*pp)->next_remote;
            if (*pp)
                *pp = rc->next_remote;
            rc->on_remote = 0;
        }
        pthread_mutex_unlock(&L->srv->hub_lock);
    }
    rc->next_dead = L->dead;
    L->dead = rc;
}

/* ---- I/O ---- */

/* Send what is queued until the socket would block. 0 or -errno. */
static int flush(struct loop *L, struct rconn *rc)
{
    struct sk_conn *c = &rc->c;

    while (sk_buf_len(&c->out) > 0) {
        size_t len = sk_buf_len(&c->out);
        ssize_t w = send(c->fd, sk_buf_data(&c->out), len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -errno;
        }
        sk_buf_consume(&c->out, (size_t)w);
        c->bytes_out += (size_t)w;
        c->last_ms = L->now;
        L->bytes_out += (size_t)w;
        if ((size_t)w < len)
            return 0; /* the socket buffer is full: wait for writability */
    }
    while (c->file.fd >= 0) {
        off_t off = c->file.off;
        ssize_t w = sendfile(c->fd, c->file.fd, &off, c->file.len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -errno;
        }
        if (w == 0)
            return -EIO; /* the file shrank under us */
        c->file.off += w;
        c->file.len -= (size_t)w;
        c->bytes_out += (size_t)w;
        c->last_ms = L->now;
        L->bytes_out += (size_t)w;
        if (c->file.len == 0) {
            close(c->file.fd);
            c->file.fd = -1;
        }
    }
    return 0;
}

/* One read: into the scratch buffer when nothing is held, else after the
 * held bytes. 0 (maybe eof) or -errno. */
static int do_read(struct loop *L, struct rconn *rc)
{
    struct sk_conn *c = &rc->c;
    size_t have = sk_buf_len(&c->in);
    char *dst = L->scratch;
    size_t room = L->scratch_len;
    ssize_t n;

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
    if (n == 0) {
        rc->eof = 1;
        sk__conn_eof(c, L->now);
        return 0;
    }
    c->bytes_in += (size_t)n;
    c->last_ms = L->now;
    L->bytes_in += (size_t)n;
    if (have) {
        sk_buf_commit(&c->in, (size_t)n);
        return sk__ev_feed(&rc->c, NULL, 0, NULL, &rc->held);
    }
    return sk__ev_feed(c, dst, (size_t)n, NULL, &rc->held);
}

/* Move rc forward as far as it goes without blocking: flush, close when
 * ended, feed held input once output drained, let a source queue more.
 * Called with the hub lock held (hub services). Returns 0 with the wanted
 * interest in *want, 1 to close normally, or -errno to close on an error. */
static int step(struct loop *L, struct rconn *rc, unsigned *want)
{
    struct sk_conn *c = &rc->c;
    const struct sk_service *svc = L->srv->svc;

    for (int round = 0; round < 16; round++) {
        if (c->flags & SK_CONN_ABORT)
            return 1;
        if (sk_conn_pending(c)) {
            int r = flush(L, rc);
            if (r < 0)
                return r;
            if (sk_conn_pending(c))
                break;
        }
        if (c->flags & SK_CONN_END)
            return 1;
        if (rc->held && sk_buf_len(&c->in)) {
            rc->held = 0;
            int r = sk__ev_feed(&rc->c, NULL, 0, NULL, &rc->held);
            if (r < 0)
                return r;
            if (sk_conn_pending(c) || (c->flags & (SK_CONN_END | SK_CONN_ABORT)))
                continue;
        }
        if (svc->drain && !rc->eof) {
            int r = svc->drain(c);
            if (r < 0)
                return r;
            if (sk_conn_pending(c) || (c->flags & (SK_CONN_END | SK_CONN_ABORT)))
                continue;
        }
        break;
    }
    size_t pend = sk_conn_pending(c);
    if (sk__ev_can_close(c, pend, rc->eof, rc->held, L->stopping))
        return 1;
    unsigned w = pend ? SK_EV_OUT : 0;
    if (!rc->eof && !sk__ev_backpressured(c, NULL) && sk_buf_len(&c->in) < c->in.max)
        w |= SK_EV_IN;
    *want = w;
    return 0;
}

static void finish(struct loop *L, struct rconn *rc, int r, unsigned want)
{
    if (r != 0) {
        close_conn(L, rc, r > 0 ? 0 : r);
        return;
    }
    set_interest(L, rc, want);
    /* Large buffers are kept while the connection is busy (no malloc/free
     * per message) and released by the timer once it has been quiet. */
    if (rc->c.in.cap > SK_EV_KEEP_BUF || rc->c.out.cap > SK_EV_KEEP_BUF)
        rc->fat = 1;
    arm_timer(L, rc);
}

static void process(struct loop *L, struct rconn *rc)
{
    unsigned want = 0;
    hub_enter(L);
    int r = step(L, rc, &want);
    hub_leave(L);
    finish(L, rc, r, want);
}

static void handle(struct loop *L, struct rconn *rc, unsigned ev)
{
    unsigned want = 0;
    int r = 0;

    hub_enter(L);
    if ((ev & (SK_EV_IN | SK_EV_ERR)) && (rc->interest & SK_EV_IN))
        r = do_read(L, rc);
    else if ((ev & SK_EV_ERR) && !(rc->interest & SK_EV_OUT))
        r = -ECONNRESET; /* a hang-up while we wait for nothing from it */
    if (r == 0)
        r = step(L, rc, &want);
    hub_leave(L);
    finish(L, rc, r, want);
}

/* ---- accepting ---- */

static void refuse(struct loop *L, int fd, const struct sk_addr *peer, const char *why)
{
    static _Atomic int64_t last_log;
    if (sk__ev_rate_ok(&last_log, L->now)) {
        char a[SK_ADDR_STRLEN];
        sk_addr_format(peer, a, sizeof(a));
        sk_log(SK_LOG_WARN, "%s: closing connection from %s (descriptor %d)", why, a, fd);
    }
    close(fd);
    atomic_fetch_sub(&L->srv->st->active, 1);
    atomic_fetch_add(&L->srv->st->rejected, 1);
}

static void new_conn(struct loop *L, int fd, const struct sk_addr *peer)
{
    if (L->ops->fd_limit && fd >= L->ops->fd_limit) {
        char why[96];
        snprintf(why, sizeof(why), "%s cannot watch descriptors >= %d", L->ops->name,
                 L->ops->fd_limit);
        refuse(L, fd, peer, why);
        return;
    }
    struct rconn *rc = calloc(1, sizeof(*rc));
    if (!rc || fds_reserve(L, fd) < 0) {
        free(rc);
        refuse(L, fd, peer, "out of memory");
        return;
    }
    rc->loop = L;
    rc->c.ops = L->lock_hub ? &hub_ops : NULL;
    rc->c.model_data = rc;
    if (sk__conn_open(L->srv, &rc->c, fd, peer) < 0) {
        rc->closed = 1; /* released by sk__conn_open; may sit on the pending list */
        rc->next_dead = L->dead;
        L->dead = rc;
        return;
    }
    int r = L->ops->add(L->poller, fd, SK_EV_IN);
    if (r < 0) {
        sk__conn_close(&rc->c, r);
        rc->closed = 1;
        rc->next_dead = L->dead;
        L->dead = rc;
        return;
    }
    rc->interest = SK_EV_IN;
    L->fds[fd] = rc;
    L->nconns++;
    process(L, rc); /* a banner goes out now */
}

static void accept_batch(struct loop *L)
{
    static _Atomic int64_t last_log;

    for (int i = 0; i < ACCEPT_BATCH && !L->stopping; i++) {
        struct sk_addr peer;
        if (!sk__server_accept_turn(L->srv, L->nconns))
            return; /* another loop takes it */
        int fd = sk__server_accept(L->srv, L->lfd, &peer, 1);
        if (fd == -EAGAIN || fd == -EINTR)
            return;
        if (fd < 0) {
            if (sk__ev_rate_ok(&last_log, L->now))
                sk_log(SK_LOG_WARN, "accept: %s", sk_strerror(fd));
            return;
        }
        new_conn(L, fd, &peer);
    }
}

/* ---- the loop ---- */

static void begin_stop(struct loop *L)
{
    if (L->stopping)
        return;
    L->stopping = 1;
    L->stop_at = L->now + L->srv->lim.drain_ms;
    if (L->watch_lfd)
        L->ops->del(L->poller, L->lfd, SK_EV_IN);
    if (L->watch_stop)
        L->ops->del(L->poller, L->srv->stop_fd, SK_EV_IN);
    if (L->watch_stdin)
        L->ops->del(L->poller, STDIN_FILENO, SK_EV_IN);
    L->watch_lfd = L->watch_stop = L->watch_stdin = 0;
    for (size_t fd = 0; fd < L->nfds; fd++)
        if (L->fds[fd])
            process(L, L->fds[fd]);
}

static void take_remote(struct loop *L)
{
    uint64_t v;
    ssize_t r = read(L->wake_fd, &v, sizeof(v));
    (void)r;
    pthread_mutex_lock(&L->srv->hub_lock);
    struct rconn *list = L->remote;
    L->remote = NULL;
    L->remote_signalled = 0;
    for (struct rconn *rc = list; rc; rc = rc->next_remote) {
        rc->on_remote = 0;
        if (!rc->on_pending) {
            rc->on_pending = 1;
            rc->next_pending = L->pending;
            L->pending = rc;
        }
    }
    pthread_mutex_unlock(&L->srv->hub_lock);
}

static void run_pending(struct loop *L)
{
    struct rconn *rc;
    while ((rc = L->pending) != NULL) {
        L->pending = rc->next_pending;
        rc->on_pending = 0;
        if (!rc->closed)
            process(L, rc);
    }
}

static void run_timers(struct loop *L)
{
    struct sk_timer *t;
    int guard = 0;

    while ((t = sk__timer_top(&L->timers)) != NULL && t->at <= L->now && guard++ < 4096) {
        struct rconn *rc = (struct rconn *)((char *)t - offsetof(struct rconn, timer));
        int64_t due = sk__ev_due(&rc->c, rc->fat);
        if (!due) {
            sk__timer_del(&L->timers, t);
            continue;
        }
        if (due > L->now) {
            sk__timer_set(&L->timers, t, due);
            continue;
        }
        sk__timer_del(&L->timers, t);
        if (rc->fat && L->now - rc->c.last_ms >= SK_EV_SHRINK_MS) {
            hub_enter(L);
            sk__ev_shrink(&rc->c);
            hub_leave(L);
            rc->fat = 0; /* finish() flags it again if still (or again) large */
        }
        if (!sk__ev_expired(&rc->c, L->now)) {
            arm_timer(L, rc);
            continue;
        }
        int r = sk__conn_expire(&rc->c, L->now, 0);
        if (r < 0)
            close_conn(L, rc, r);
        else
            process(L, rc);
    }
}

static void flush_counters(struct loop *L)
{
    sk__ev_flush_counters(L->srv, &L->bytes_in, &L->bytes_out);
}

static void bury(struct loop *L)
{
    struct rconn *rc;
    while ((rc = L->dead) != NULL) {
        L->dead = rc->next_dead;
        free(rc);
    }
}

static int loop_run(void *arg)
{
    struct loop *L = arg;
    struct sk_server *srv = L->srv;
    struct sk_pevent ev[MAX_EVENTS];

    this_loop = L;
    L->now = sk_now_ms();
    for (;;) {
        if (!L->stopping && srv->stop)
            begin_stop(L);
        if (L->stopping && (L->nconns == 0 || L->now >= L->stop_at))
            break;
        int cap = L->stopping ? (int)SK_MAX(0, L->stop_at - L->now) : -1;
        int n = L->ops->wait(L->poller, ev, MAX_EVENTS, sk__timer_wait_ms(&L->timers, L->now, cap));
        L->now = sk_now_ms();
        if (n < 0) {
            sk_log(SK_LOG_ERROR, "%s: %s", L->ops->name, sk_strerror(n));
            L->err = n;
            sk_server_stop(srv);
            break;
        }
        for (int i = 0; i < n; i++) {
            int fd = ev[i].fd;
            if (L->watch_lfd && fd == L->lfd) {
                accept_batch(L);
            } else if (L->watch_stop && fd == srv->stop_fd) {
                begin_stop(L);
            } else if (L->watch_stdin && fd == STDIN_FILENO) {
                if (sk__ev_stdin_stop(srv))
                    begin_stop(L);
            } else if (L->wake_fd >= 0 && fd == L->wake_fd) {
                take_remote(L);
            } else if ((size_t)fd < L->nfds && L->fds[fd]) {
                handle(L, L->fds[fd], ev[i].ev);
            }
        }
        run_pending(L);
        run_timers(L);
        run_pending(L);
        flush_counters(L);
        bury(L);
    }
    /* The bound passed (or an error): close what is left. */
    for (size_t fd = 0; fd < L->nfds; fd++)
        if (L->fds[fd])
            close_conn(L, L->fds[fd], -ETIMEDOUT);
    run_pending(L);
    flush_counters(L);
    bury(L);
    return L->err;
}

static void loop_clear(void *arg)
{
    struct loop *L = arg;
    L->lfd = -1;
    L->wake_fd = -1;
}

static void loop_free(void *arg)
{
    struct loop *L = arg;
    if (L->poller)
        L->ops->destroy(L->poller);
    if (L->own_lfd && L->lfd >= 0)
        close(L->lfd);
    if (L->wake_fd >= 0)
        close(L->wake_fd);
    free(L->scratch);
    free(L->fds);
    sk__timer_heap_free(&L->timers);
}

static int loop_init(void *arg, struct sk_server *srv, unsigned index, unsigned nloops,
                     const void *ops_arg)
{
    struct loop *L = arg;
    const struct sk_poller_ops *ops = ops_arg;
    int r;

    L->srv = srv;
    L->ops = ops;
    L->index = index;
    L->nloops = nloops;
    L->lfd = srv->lfd;
    L->wake_fd = -1;
    L->lock_hub = (srv->svc->flags & SK_SVC_HUB) != 0;
    sk__timer_heap_init(&L->timers);
    if (index > 0 && sk_addr_family(&srv->addr) != AF_UNIX) {
        /* Its own SO_REUSEPORT listener: the kernel spreads connections. */
        if ((L->lfd = sk_server_listener(srv)) < 0)
            return L->lfd;
        L->own_lfd = 1;
    }
    if ((r = sk_sock_set_nonblock(L->lfd, 1)) < 0)
        return r;
    L->scratch_len = SK_MIN((size_t)SCRATCH_SIZE, srv->lim.in_max);
    if (!(L->scratch = malloc(L->scratch_len)))
        return -ENOMEM;
    if ((r = ops->create(&L->poller)) < 0) {
        L->poller = NULL;
        return r;
    }
    if ((r = ops->add(L->poller, L->lfd, SK_EV_IN)) < 0)
        return r;
    L->watch_lfd = 1;
    if (srv->stop_fd >= 0) {
        if ((r = ops->add(L->poller, srv->stop_fd, SK_EV_IN)) < 0)
            return r;
        L->watch_stop = 1;
    }
    if (index == 0 && srv->stdin_stop && ops->add(L->poller, STDIN_FILENO, SK_EV_IN) == 0)
        L->watch_stdin = 1;
    if (nloops > 1 && L->lock_hub) {
        if ((L->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
            return -errno;
        if ((r = ops->add(L->poller, L->wake_fd, SK_EV_IN)) < 0)
            return r;
    }
    return 0;
}

static const struct sk__ev_driver reactor_driver = {
    .size = sizeof(struct loop),
    .clear = loop_clear,
    .init = loop_init,
    .run = loop_run,
    .free = loop_free,
};

int sk__reactor_run(struct sk_server *srv, const struct sk_poller_ops *ops)
{
    return sk__ev_run(srv, &reactor_driver, ops);
}
