/*
 * uring.c - the io_uring model: one ring per worker thread, driven by
 * completions rather than readiness.
 *
 * Each connection keeps one receive armed (IORING_OP_RECV with a buffer
 * picked by the kernel from a ring of provided buffers, so an idle
 * connection holds no receive buffer) and at most one send in flight. The
 * bytes of an in-flight send live in the connection's own `wbuf`, swapped
 * out of `out`, so the service may keep appending to `out` while the kernel
 * reads `wbuf` (io_uring's rule: a buffer lives until its completion).
 * Submissions are batched: one io_uring_submit_and_wait per loop iteration
 * carries every send and receive the previous completions produced.
 *
 * The listener, the stop eventfd, the hub wake-up eventfd and a terminal
 * stdin are watched with single-shot polls (re-armed after each use, so a
 * listener that sheds under EMFILE is looked at again, never spun on).
 * Files queued with sk_conn_sendfile() are read into `out` 64 KiB at a time.
 * Backpressure, timers, the stop bound and hub services work as in the
 * reactor (reactor.c), whose comments say more.
 *
 * When the kernel refuses io_uring (sysctl kernel.io_uring_disabled, a
 * seccomp filter, an old kernel), available() says why and the model is
 * not used: never a silent fallback. The environment variable
 * SOCKIT_URING_REFUSE=1 makes available() refuse (a test hook).
 */
#include "evloop.h"
#include "internal.h"
#include "timer.h"

#include "sockit/error.h"
#include "sockit/model.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#ifdef SK_HAVE_URING

#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define RING_ENTRIES 4096
#define NBUFS 256 /* provided receive buffers per loop (a power of two) */
#define BUF_SIZE (16 * 1024)
#define BGID 1
#define ACCEPT_BATCH 128
#define FILE_CHUNK (64 * 1024)
#define FIXED_MAX 16384 /* registered-file slots per loop (indexed by descriptor) */
#define FIXED_AFTER 8    /* receives before a connection's descriptor is registered */

enum { TAG_SPECIAL = 0, TAG_RECV = 1, TAG_SEND = 2, TAG_MASK = 3 };
enum { UD_IGNORE = 0, UD_LISTEN = 1 << 3, UD_STOP = 2 << 3, UD_WAKE = 3 << 3, UD_STDIN = 4 << 3 };

struct uloop;

struct uconn {
    struct sk_conn c;
    struct uloop *loop;
    struct sk_timer timer;
    struct sk_buf wbuf; /* bytes of the send in flight */
    char recv_armed, send_armed, want_read;
    char eof, held, closed, dead;
    char on_pending; /* owner thread only */
    char on_remote;  /* under hub_lock */
    char fat;        /* holds a buffer over SK_EV_KEEP_BUF: release it once quiet */
    char fixed;      /* c.fd is also registered in the ring's file table, at index c.fd */
    unsigned char nrecv; /* receives with data, counted up to FIXED_AFTER */
    size_t slot;     /* index in loop->conns while open */
    struct uconn *next_pending, *next_remote, *next_dead;
};

struct uloop {
    struct sk_server *srv;
    unsigned index, nloops;
    struct io_uring ring;
    int ring_ok;
    unsigned nfixed; /* slots in the registered file table (0: none) */
    struct io_uring_buf_ring *br;
    char *bufs;
    size_t buf_size;
    int lfd, own_lfd, watch_lfd;
    int wake_fd;
    int finishing;
    unsigned armed; /* bit per UD_* poll in flight: 1 << (ud >> 3) */
    int lock_hub;
    size_t nconns;
    unsigned inflight; /* receives and sends the kernel holds */
    struct sk_timer_heap timers;
    int64_t now, stop_at;
    int stopping, err;
    struct uconn *pending, *dead;
    struct uconn *remote; /* under hub_lock */
    int remote_signalled; /* under hub_lock */
    uint64_t bytes_in, bytes_out;
    struct uconn **conns; /* the open connections (for stop), dense */
    size_t nconns_cap;
};

static _Thread_local struct uloop *this_loop;

static void hub_enter(struct uloop *L)
{
    if (L->lock_hub)
        pthread_mutex_lock(&L->srv->hub_lock);
}

static void hub_leave(struct uloop *L)
{
    if (L->lock_hub)
        pthread_mutex_unlock(&L->srv->hub_lock);
}

static struct io_uring_sqe *get_sqe(struct uloop *L)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&L->ring);
    while (!sqe) {
        io_uring_submit(&L->ring);
        sqe = io_uring_get_sqe(&L->ring);
    }
    return sqe;
}

static void poll_fd(struct uloop *L, int fd, uint64_t ud)
{
    struct io_uring_sqe *sqe = get_sqe(L);
    io_uring_prep_poll_add(sqe, fd, POLLIN);
    io_uring_sqe_set_data64(sqe, ud);
    L->armed |= 1u << (ud >> 3);
    L->inflight++;
}

/* Withdraw the poll ud (its completion, -ECANCELED, still arrives). */
static void unpoll(struct uloop *L, uint64_t ud)
{
    if (!(L->armed & (1u << (ud >> 3))))
        return;
    struct io_uring_sqe *sqe = get_sqe(L);
    io_uring_prep_poll_remove(sqe, ud);
    io_uring_sqe_set_data64(sqe, UD_IGNORE);
}

static void cancel(struct uloop *L, uint64_t ud)
{
    struct io_uring_sqe *sqe = get_sqe(L);
    io_uring_prep_cancel64(sqe, ud, 0);
    io_uring_sqe_set_data64(sqe, UD_IGNORE);
}

/* ---- per-connection bookkeeping ---- */

static void arm_timer(struct uloop *L, struct uconn *u)
{
    int64_t due = sk__ev_due(&u->c, u->fat);
    if (due && (!sk__timer_armed(&u->timer) || due < u->timer.at))
        sk__timer_set(&L->timers, &u->timer, due);
}

static size_t pending_out(const struct uconn *u)
{
    return sk_conn_pending(&u->c) + sk_buf_len(&u->wbuf);
}

static void wake(struct sk_conn *c)
{
    struct uconn *u = c->model_data;
    struct uloop *L = u->loop;

    if (u->closed)
        return;
    if (L == this_loop) {
        if (!u->on_pending) {
            u->on_pending = 1;
            u->next_pending = L->pending;
            L->pending = u;
        }
        return;
    }
    if (!u->on_remote) { /* the caller holds hub_lock */
        u->on_remote = 1;
        u->next_remote = L->remote;
        L->remote = u;
    }
    sk__ev_signal(L->wake_fd, &L->remote_signalled);
}

static const struct sk_conn_ops hub_ops = {.wake = wake};

static void maybe_bury(struct uloop *L, struct uconn *u)
{
    if (u->closed && !u->recv_armed && !u->send_armed && !u->dead) {
        u->dead = 1;
        u->next_dead = L->dead;
        L->dead = u;
    }
}

static void conns_remove(struct uloop *L, struct uconn *u);
static void unregister_file(struct uloop *L, struct uconn *u);

static void close_conn(struct uloop *L, struct uconn *u, int err)
{
    if (u->closed)
        return;
    u->closed = 1;
    L->nconns--;
    conns_remove(L, u);
    sk__timer_del(&L->timers, &u->timer);
    unregister_file(L, u);
    if (u->recv_armed)
        cancel(L, (uint64_t)(uintptr_t)u | TAG_RECV);
    if (u->send_armed)
        cancel(L, (uint64_t)(uintptr_t)u | TAG_SEND);
    sk__conn_close(&u->c, err); /* in-flight requests keep their own file reference */
    if (L->nloops > 1 && L->lock_hub) {
        pthread_mutex_lock(&L->srv->hub_lock);
        if (u->on_remote) {
            struct uconn **pp = &L->remote;
            while (*pp && *pp != u)
                pp = &(*pp)->next_remote;
            if (*pp)
                *pp = u->next_remote;
            u->on_remote = 0;
        }
        pthread_mutex_unlock(&L->srv->hub_lock);
    }
    maybe_bury(L, u);
}

/* Registered files: the kernel skips the descriptor lookup and the file
 * reference count on each receive and send (fget/fput: about 1.4% of the
 * server's CPU in a profile of 64-byte echo). Registering and unregistering
 * cost a system call each, about 5% of a one-request connection, so only a
 * connection that has received FIXED_AFTER times is registered. The descriptor is the slot, so
 * no allocator is needed; one beyond the table simply stays unregistered. */
static void register_file(struct uloop *L, struct uconn *u)
{
    int fd = u->c.fd;
    if ((unsigned)fd < L->nfixed && io_uring_register_files_update(&L->ring, (unsigned)fd, &fd, 1) == 1)
        u->fixed = 1;
}

/* Before the descriptor is closed: the table holds its own reference to the
 * socket, which would otherwise keep the connection open. Operations still in
 * flight keep the file alive until they complete. */
static void unregister_file(struct uloop *L, struct uconn *u)
{
    int none = -1;
    if (u->fixed)
        io_uring_register_files_update(&L->ring, (unsigned)u->c.fd, &none, 1);
    u->fixed = 0;
}

/* The open connections as a dense array (O(1) insert and remove). */
static int conns_add(struct uloop *L, struct uconn *u)
{
    if (L->nconns == L->nconns_cap) {
        size_t cap = L->nconns_cap ? L->nconns_cap * 2 : 256;
        struct uconn **v = realloc(L->conns, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        L->conns = v;
        L->nconns_cap = cap;
    }
    L->conns[L->nconns] = u;
    u->slot = L->nconns++;
    return 0;
}

static void conns_remove(struct uloop *L, struct uconn *u)
{
    /* L->nconns was already decremented: the last one is at L->nconns. */
    struct uconn *last = L->conns[L->nconns];
    L->conns[u->slot] = last;
    last->slot = u->slot;
}

/* ---- I/O ---- */

static void arm_recv(struct uloop *L, struct uconn *u)
{
    struct io_uring_sqe *sqe = get_sqe(L);
    io_uring_prep_recv(sqe, u->c.fd, NULL, L->buf_size, 0);
    /* A request/response peer has sent nothing new yet when we re-arm:
     * wait for readiness first rather than try and fail. */
    sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
    sqe->flags |= IOSQE_BUFFER_SELECT | (u->fixed ? IOSQE_FIXED_FILE : 0);
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)u | TAG_RECV);
    u->recv_armed = 1;
    L->inflight++;
}

static void submit_send(struct uloop *L, struct uconn *u)
{
    struct io_uring_sqe *sqe = get_sqe(L);
    io_uring_prep_send(sqe, u->c.fd, sk_buf_data(&u->wbuf), sk_buf_len(&u->wbuf), MSG_NOSIGNAL);
    if (u->fixed)
        sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)u | TAG_SEND);
    u->send_armed = 1;
    L->inflight++;
}

/* Start a send of what is queued, when none is in flight. 0 or -errno. */
static int start_send(struct uloop *L, struct uconn *u)
{
    struct sk_conn *c = &u->c;

    if (u->send_armed)
        return 0;
    if (sk_buf_len(&u->wbuf) == 0 && sk_buf_len(&c->out) == 0 && c->file.fd >= 0) {
        size_t want = SK_MIN((size_t)FILE_CHUNK, SK_MIN(c->file.len, c->out.max));
        int r = sk_buf_reserve(&c->out, want);
        if (r < 0)
            return r;
        ssize_t n = pread(c->file.fd, sk_buf_tail(&c->out), want, c->file.off);
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO; /* the file shrank under us */
        sk_buf_commit(&c->out, (size_t)n);
        c->file.off += n;
        c->file.len -= (size_t)n;
        if (c->file.len == 0) {
            close(c->file.fd);
            c->file.fd = -1;
        }
    }
    if (sk_buf_len(&u->wbuf) == 0 && sk_buf_len(&c->out) > 0) {
        struct sk_buf t = u->wbuf; /* swap: the service goes on appending to out */
        u->wbuf = c->out;
        c->out = t;
    }
    if (sk_buf_len(&u->wbuf) > 0)
        submit_send(L, u);
    return 0;
}

/* As the reactor's step(): 0 (keep; u->want_read says whether to receive),
 * 1 to close, -errno to close on an error. Hub lock held. */
static int step(struct uloop *L, struct uconn *u)
{
    struct sk_conn *c = &u->c;
    const struct sk_service *svc = L->srv->svc;

    for (int round = 0; round < 16; round++) {
        if (c->flags & SK_CONN_ABORT)
            return 1;
        int r = start_send(L, u);
        if (r < 0)
            return r;
        if (pending_out(u))
            break; /* a completion brings us back */
        if (c->flags & SK_CONN_END)
            return 1;
        if (u->held && sk_buf_len(&c->in)) {
            u->held = 0;
            if ((r = sk__ev_feed(&u->c, NULL, 0, &u->wbuf, &u->held)) < 0)
                return r;
            if (pending_out(u) || (c->flags & (SK_CONN_END | SK_CONN_ABORT)))
                continue;
        }
        if (svc->drain && !u->eof) {
            if ((r = svc->drain(c)) < 0)
                return r;
            if (pending_out(u) || (c->flags & (SK_CONN_END | SK_CONN_ABORT)))
                continue;
        }
        break;
    }
    size_t pend = pending_out(u);
    if (sk__ev_can_close(c, pend, u->eof, u->held, L->stopping))
        return 1;
    u->want_read = !u->eof && !sk__ev_backpressured(&u->c, &u->wbuf) && sk_buf_len(&c->in) < c->in.max;
    return 0;
}

static void finish(struct uloop *L, struct uconn *u, int r)
{
    if (r != 0) {
        close_conn(L, u, r > 0 ? 0 : r);
        return;
    }
    if (u->want_read && !u->recv_armed)
        arm_recv(L, u);
    /* Large buffers are kept while the connection is busy (no malloc/free
     * per message) and released by the timer once it has been quiet. */
    if (u->c.in.cap > SK_EV_KEEP_BUF || u->c.out.cap > SK_EV_KEEP_BUF || u->wbuf.cap > SK_EV_KEEP_BUF)
        u->fat = 1;
    arm_timer(L, u);
}

static void process(struct uloop *L, struct uconn *u)
{
    hub_enter(L);
    int r = step(L, u);
    hub_leave(L);
    finish(L, u, r);
}

static void give_back(struct uloop *L, unsigned bid)
{
    io_uring_buf_ring_add(L->br, L->bufs + (size_t)bid * L->buf_size, (unsigned)L->buf_size,
                          (unsigned short)bid, io_uring_buf_ring_mask(NBUFS), 0);
    io_uring_buf_ring_advance(L->br, 1);
}

static void on_recv(struct uloop *L, struct uconn *u, int res, unsigned flags)
{
    int has_buf = (flags & IORING_CQE_F_BUFFER) != 0;
    unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
    int r = 0;

    u->recv_armed = 0;
    L->inflight--;
    if (u->closed) {
        if (has_buf)
            give_back(L, bid);
        maybe_bury(L, u);
        return;
    }
    hub_enter(L);
    if (res > 0 && has_buf) {
        struct sk_conn *c = &u->c;
        const char *p = L->bufs + (size_t)bid * L->buf_size;
        c->bytes_in += (size_t)res;
        c->last_ms = L->now;
        L->bytes_in += (size_t)res;
        if (u->nrecv < FIXED_AFTER && ++u->nrecv == FIXED_AFTER)
            register_file(L, u);
        if (sk_buf_len(&c->in)) {
            r = sk_buf_append(&c->in, p, (size_t)res);
            if (r < 0)
                r = r == -ENOBUFS ? -EMSGSIZE : r;
            else
                r = sk__ev_feed(&u->c, NULL, 0, &u->wbuf, &u->held);
        } else {
            r = sk__ev_feed(&u->c, p, (size_t)res, &u->wbuf, &u->held);
        }
        give_back(L, bid);
    } else if (res == 0) {
        u->eof = 1;
        sk__conn_eof(&u->c, L->now);
    } else if (res == -ENOBUFS || res == -EINTR || res == -EAGAIN || res == -ECANCELED) {
        if (has_buf)
            give_back(L, bid); /* no data this time: receive again */
    } else if (res < 0) {
        r = res;
    }
    if (r == 0)
        r = step(L, u);
    hub_leave(L);
    finish(L, u, r);
}

static void on_send(struct uloop *L, struct uconn *u, int res)
{
    int r = 0;

    u->send_armed = 0;
    L->inflight--;
    if (u->closed) {
        maybe_bury(L, u);
        return;
    }
    hub_enter(L);
    if (res >= 0) {
        sk_buf_consume(&u->wbuf, (size_t)res);
        u->c.bytes_out += (size_t)res;
        u->c.last_ms = L->now;
        L->bytes_out += (size_t)res;
    } else if (res != -EINTR && res != -EAGAIN && res != -ECANCELED) {
        r = res;
    }
    if (r == 0)
        r = step(L, u);
    hub_leave(L);
    finish(L, u, r);
}

/* ---- accepting, stopping, timers ---- */

static void refuse(struct uloop *L, int fd, const struct sk_addr *peer, const char *why)
{
    static _Atomic int64_t last_log;
    if (sk__ev_rate_ok(&last_log, L->now)) {
        char a[SK_ADDR_STRLEN];
        sk_addr_format(peer, a, sizeof(a));
        sk_log(SK_LOG_WARN, "%s: closing connection from %s", why, a);
    }
    close(fd);
    atomic_fetch_sub(&L->srv->st->active, 1);
    atomic_fetch_add(&L->srv->st->rejected, 1);
}

static void new_conn(struct uloop *L, int fd, const struct sk_addr *peer)
{
    struct uconn *u = calloc(1, sizeof(*u));
    if (!u) {
        refuse(L, fd, peer, "out of memory");
        return;
    }
    u->loop = L;
    u->c.ops = L->lock_hub ? &hub_ops : NULL;
    u->c.model_data = u;
    sk_buf_init(&u->wbuf, L->srv->lim.out_max);
    if (sk__conn_open(L->srv, &u->c, fd, peer) < 0) {
        u->closed = 1;
        maybe_bury(L, u);
        return;
    }
    if (conns_add(L, u) < 0) {
        sk__conn_close(&u->c, -ENOMEM);
        u->closed = 1;
        maybe_bury(L, u);
        return;
    }
    process(L, u); /* a banner goes out now; the first receive is armed */
}

static void accept_batch(struct uloop *L)
{
    static _Atomic int64_t last_log;

    for (int i = 0; i < ACCEPT_BATCH && !L->stopping; i++) {
        struct sk_addr peer;
        if (!sk__server_accept_turn(L->srv, L->nconns))
            break; /* another loop takes it */
        int fd = sk__server_accept(L->srv, L->lfd, &peer, 1);
        if (fd == -EAGAIN || fd == -EINTR)
            break;
        if (fd < 0) {
            if (sk__ev_rate_ok(&last_log, L->now))
                sk_log(SK_LOG_WARN, "accept: %s", sk_strerror(fd));
            break;
        }
        new_conn(L, fd, &peer);
    }
    if (!L->stopping)
        poll_fd(L, L->lfd, UD_LISTEN); /* level-triggered in effect */
}

static void begin_stop(struct uloop *L)
{
    if (L->stopping)
        return;
    L->stopping = 1;
    L->stop_at = L->now + L->srv->lim.drain_ms;
    /* The listening socket must not outlive us inside a pending poll. */
    unpoll(L, UD_LISTEN);
    unpoll(L, UD_STOP);
    unpoll(L, UD_STDIN);
    L->watch_lfd = 0;
    for (size_t i = L->nconns; i-- > 0;)
        if (i < L->nconns)
            process(L, L->conns[i]);
}

static void take_remote(struct uloop *L)
{
    uint64_t v;
    ssize_t r = read(L->wake_fd, &v, sizeof(v));
    (void)r;
    pthread_mutex_lock(&L->srv->hub_lock);
    struct uconn *list = L->remote;
    L->remote = NULL;
    L->remote_signalled = 0;
    for (struct uconn *u = list; u; u = u->next_remote) {
        u->on_remote = 0;
        if (!u->on_pending) {
            u->on_pending = 1;
            u->next_pending = L->pending;
            L->pending = u;
        }
    }
    pthread_mutex_unlock(&L->srv->hub_lock);
    if (!L->finishing)
        poll_fd(L, L->wake_fd, UD_WAKE);
}

static void run_pending(struct uloop *L)
{
    struct uconn *u;
    while ((u = L->pending) != NULL) {
        L->pending = u->next_pending;
        u->on_pending = 0;
        if (!u->closed)
            process(L, u);
    }
}

static void run_timers(struct uloop *L)
{
    struct sk_timer *t;
    int guard = 0;

    while ((t = sk__timer_top(&L->timers)) != NULL && t->at <= L->now && guard++ < 4096) {
        struct uconn *u = (struct uconn *)((char *)t - offsetof(struct uconn, timer));
        int64_t due = sk__ev_due(&u->c, u->fat);
        if (!due) {
            sk__timer_del(&L->timers, t);
            continue;
        }
        if (due > L->now) {
            sk__timer_set(&L->timers, t, due);
            continue;
        }
        sk__timer_del(&L->timers, t);
        if (u->fat && L->now - u->c.last_ms >= SK_EV_SHRINK_MS) {
            hub_enter(L);
            sk__ev_shrink(&u->c);
            if (!u->send_armed)
                sk_buf_shrink(&u->wbuf, SK_EV_KEEP_BUF);
            hub_leave(L);
            u->fat = 0; /* finish() flags it again if still (or again) large */
        }
        if (!sk__ev_expired(&u->c, L->now)) {
            arm_timer(L, u);
            continue;
        }
        int r = sk__conn_expire(&u->c, L->now, 0);
        if (r < 0)
            close_conn(L, u, r);
        else
            process(L, u);
    }
}

static void flush_counters(struct uloop *L)
{
    sk__ev_flush_counters(L->srv, &L->bytes_in, &L->bytes_out);
}

static void bury(struct uloop *L)
{
    struct uconn *u;
    while ((u = L->dead) != NULL) {
        L->dead = u->next_dead;
        sk_buf_free(&u->wbuf);
        free(u);
    }
}

static void on_cqe(struct uloop *L, uint64_t ud, int res, unsigned flags)
{
    struct sk_server *srv = L->srv;

    switch (ud & TAG_MASK) {
    case TAG_RECV:
        on_recv(L, (struct uconn *)(uintptr_t)(ud & ~(uint64_t)TAG_MASK), res, flags);
        return;
    case TAG_SEND: on_send(L, (struct uconn *)(uintptr_t)(ud & ~(uint64_t)TAG_MASK), res); return;
    default: break;
    }
    if (ud == UD_IGNORE)
        return;
    L->armed &= ~(1u << (ud >> 3));
    L->inflight--;
    if (res == -ECANCELED)
        return;
    switch (ud) {
    case UD_LISTEN:
        if (L->watch_lfd && !L->stopping)
            accept_batch(L);
        break;
    case UD_STOP:
        if (!L->finishing)
            begin_stop(L);
        break;
    case UD_WAKE:
        take_remote(L); /* during the final drain too: it only moves lists */
        break;
    case UD_STDIN: {
        /* Only loop 0 watches the terminal: a plain counter will do. */
        static unsigned failed_polls;
        if (L->stopping)
            break;
        if (res > 0 && sk__ev_stdin_stop(srv)) {
            begin_stop(L);
            break;
        }
        /* A bare Enter, input for another job, or a poll the terminal
         * failed (EINVAL, around a job-control switch): watch on, unless it
         * keeps failing. */
        failed_polls = res < 0 ? failed_polls + 1 : 0;
        if (failed_polls < 100)
            poll_fd(L, STDIN_FILENO, UD_STDIN);
        break;
    }
    default: break;
    }
}

static void loop_run(struct uloop *L)
{
    struct sk_server *srv = L->srv;

    this_loop = L;
    L->now = sk_now_ms();
    for (;;) {
        if (!L->stopping && srv->stop)
            begin_stop(L);
        if (L->stopping && (L->nconns == 0 || L->now >= L->stop_at))
            break;
        int cap = L->stopping ? (int)SK_MAX(0, L->stop_at - L->now) : -1;
        int ms = sk__timer_wait_ms(&L->timers, L->now, cap);
        struct __kernel_timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        struct io_uring_cqe *cqe;
        int r = io_uring_submit_and_wait_timeout(&L->ring, &cqe, 1, ms >= 0 ? &ts : NULL, NULL);
        L->now = sk_now_ms();
        if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
            sk_log(SK_LOG_ERROR, "io_uring: %s", sk_strerror(r));
            L->err = r;
            sk_server_stop(srv);
            break;
        }
        unsigned head, n = 0;
        io_uring_for_each_cqe(&L->ring, head, cqe)
        {
            n++;
            on_cqe(L, cqe->user_data, cqe->res, cqe->flags);
        }
        io_uring_cq_advance(&L->ring, n);
        run_pending(L);
        run_timers(L);
        run_pending(L);
        flush_counters(L);
        bury(L);
    }
    while (L->nconns > 0)
        close_conn(L, L->conns[L->nconns - 1], -ETIMEDOUT);
    run_pending(L);
    flush_counters(L);
    L->finishing = 1;
    unpoll(L, UD_WAKE);
    unpoll(L, UD_LISTEN);
    unpoll(L, UD_STOP);
    unpoll(L, UD_STDIN);
    /* Let the cancellations complete before the memory they name goes. */
    int64_t until = sk_now_ms() + 1000;
    while (L->inflight > 0 && sk_now_ms() < until) {
        struct __kernel_timespec ts = {.tv_nsec = 50 * 1000000L};
        struct io_uring_cqe *cqe;
        io_uring_submit_and_wait_timeout(&L->ring, &cqe, 1, &ts, NULL);
        unsigned head, n = 0;
        io_uring_for_each_cqe(&L->ring, head, cqe)
        {
            n++;
            on_cqe(L, cqe->user_data, cqe->res, cqe->flags);
        }
        io_uring_cq_advance(&L->ring, n);
    }
    bury(L);
}

static int ring_init(struct uloop *L)
{
    struct io_uring_params p = {0};
    int r;

    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    r = io_uring_queue_init_params(RING_ENTRIES, &L->ring, &p);
    if (r == -EINVAL) { /* an older kernel: plain flags */
        memset(&p, 0, sizeof(p));
        r = io_uring_queue_init_params(RING_ENTRIES, &L->ring, &p);
    }
    if (r < 0)
        return r;
    L->ring_ok = 1;
    io_uring_register_ring_fd(&L->ring); /* saves a file lookup per enter; optional */
    struct rlimit rl;
    unsigned nfixed = FIXED_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < nfixed)
        nfixed = (unsigned)rl.rlim_cur;
    if (io_uring_register_files_sparse(&L->ring, nfixed) == 0) /* optional too */
        L->nfixed = nfixed;
    L->buf_size = SK_MIN((size_t)BUF_SIZE, L->srv->lim.in_max);
    size_t ring_bytes = NBUFS * sizeof(struct io_uring_buf);
    void *m = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -errno;
    L->br = m;
    if (!(L->bufs = malloc(NBUFS * L->buf_size)))
        return -ENOMEM;
    struct io_uring_buf_reg reg = {
        .ring_addr = (uint64_t)(uintptr_t)m, .ring_entries = NBUFS, .bgid = BGID};
    if ((r = io_uring_register_buf_ring(&L->ring, &reg, 0)) < 0)
        return r;
    io_uring_buf_ring_init(L->br);
    for (unsigned i = 0; i < NBUFS; i++)
        io_uring_buf_ring_add(L->br, L->bufs + (size_t)i * L->buf_size, (unsigned)L->buf_size,
                              (unsigned short)i, io_uring_buf_ring_mask(NBUFS), (int)i);
    io_uring_buf_ring_advance(L->br, NBUFS);
    return 0;
}

/* Everything that must happen on the loop's own thread (the ring is
 * single-issuer). */
static int loop_start(struct uloop *L)
{
    int r = ring_init(L);
    if (r < 0)
        return r;
    poll_fd(L, L->lfd, UD_LISTEN);
    L->watch_lfd = 1;
    if (L->srv->stop_fd >= 0)
        poll_fd(L, L->srv->stop_fd, UD_STOP);
    if (L->index == 0 && L->srv->stdin_stop)
        poll_fd(L, STDIN_FILENO, UD_STDIN);
    if (L->wake_fd >= 0)
        poll_fd(L, L->wake_fd, UD_WAKE);
    return 0;
}

static int loop_main(void *arg)
{
    struct uloop *L = arg;
    int r = loop_start(L);
    if (r < 0) {
        sk_log(SK_LOG_ERROR, "io_uring setup: %s", sk_strerror(r));
        L->err = r;
        sk_server_stop(L->srv);
        return r;
    }
    loop_run(L);
    return L->err;
}

static void loop_clear(void *arg)
{
    struct uloop *L = arg;
    L->lfd = -1;
    L->wake_fd = -1;
}

static void loop_free(void *arg)
{
    struct uloop *L = arg;
    if (L->ring_ok)
        io_uring_queue_exit(&L->ring);
    if (L->br)
        munmap(L->br, NBUFS * sizeof(struct io_uring_buf));
    free(L->bufs);
    if (L->own_lfd && L->lfd >= 0)
        close(L->lfd);
    if (L->wake_fd >= 0)
        close(L->wake_fd);
    free(L->conns);
    sk__timer_heap_free(&L->timers);
}

static int loop_init(void *arg, struct sk_server *srv, unsigned index, unsigned nloops,
                     const void *unused)
{
    struct uloop *L = arg;
    (void)unused;
    L->srv = srv;
    L->index = index;
    L->nloops = nloops;
    L->lfd = srv->lfd;
    L->wake_fd = -1;
    L->lock_hub = (srv->svc->flags & SK_SVC_HUB) != 0;
    sk__timer_heap_init(&L->timers);
    if (index > 0 && sk_addr_family(&srv->addr) != AF_UNIX) {
        if ((L->lfd = sk_server_listener(srv)) < 0)
            return L->lfd;
        L->own_lfd = 1;
    }
    int r = sk_sock_set_nonblock(L->lfd, 1);
    if (r < 0)
        return r;
    if (nloops > 1 && L->lock_hub && (L->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        return -errno;
    return 0;
}

static const struct sk__ev_driver uring_driver = {
    .size = sizeof(struct uloop),
    .clear = loop_clear,
    .init = loop_init,
    .run = loop_main,
    .free = loop_free,
};

static int uring_run(struct sk_server *srv)
{
    return sk__ev_run(srv, &uring_driver, NULL);
}

static int uring_available(char *why, size_t len)
{
    const char *hook = getenv("SOCKIT_URING_REFUSE");
    if (hook && *hook && strcmp(hook, "0") != 0) {
        snprintf(why, len, "io_uring refused (SOCKIT_URING_REFUSE is set)");
        return -EPERM;
    }
    struct io_uring ring;
    int r = io_uring_queue_init(2, &ring, 0);
    if (r < 0) {
        int disabled = 0;
        FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
        if (f) {
            if (fscanf(f, "%d", &disabled) != 1)
                disabled = 0;
            fclose(f);
        }
        snprintf(why, len, "the kernel refuses io_uring: %s%s", sk_strerror(r),
                 disabled ? " (sysctl kernel.io_uring_disabled is set)" : "");
        return r;
    }
    struct io_uring_probe *probe = io_uring_get_probe_ring(&ring);
    int ok = probe && io_uring_opcode_supported(probe, IORING_OP_RECV) &&
             io_uring_opcode_supported(probe, IORING_OP_SEND) &&
             io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL);
    if (probe)
        io_uring_free_probe(probe);
    /* Provided buffer rings arrived in Linux 5.19. */
    if (ok) {
        void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            ok = 0;
        } else {
            struct io_uring_buf_reg reg = {
                .ring_addr = (uint64_t)(uintptr_t)m, .ring_entries = 1, .bgid = BGID};
            ok = io_uring_register_buf_ring(&ring, &reg, 0) == 0;
            munmap(m, 4096);
        }
    }
    io_uring_queue_exit(&ring);
    if (!ok) {
        snprintf(why, len,
                 "this kernel's io_uring lacks send/recv or provided buffer rings "
                 "(Linux 5.19 or later needed)");
        return -ENOSYS;
    }
    return 0;
}

#else /* !SK_HAVE_URING */

static int uring_available(char *why, size_t len)
{
    snprintf(why, len, "not built with liburing");
    return -ENOSYS;
}

static int uring_run(struct sk_server *srv)
{
    (void)srv;
    return -ENOSYS;
}

#endif

const struct sk_model sk_model_uring = {
    .name = "uring",
    .summary = "one io_uring loop per worker, driven by completions",
    .caps = SK_MODEL_STREAM | SK_MODEL_HUB | SK_MODEL_WORKERS,
    .rank = 70,
    .available = uring_available,
    .run = uring_run,
};
