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
 * This file is only the completion backend of the loop core (evloop.h):
 * backpressure, timers, the stop bound, hub wake-ups and close bookkeeping
 * are the core's, shared with the reactor. What a completion is about is
 * encoded in its user_data (uring_ud.h) and dispatched in one place.
 *
 * When the kernel refuses io_uring (sysctl kernel.io_uring_disabled, a
 * seccomp filter, an old kernel), available() says why and the model is
 * not used: never a silent fallback. The environment variable
 * SOCKIT_URING_REFUSE=1 makes available() refuse (a test hook).
 */
#include "evloop.h"
#include "uring_ud.h"

#include "sockit/error.h"
#include "sockit/model.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SK_HAVE_URING

#include <liburing.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define RING_ENTRIES 4096
#define NBUFS 256 /* provided receive buffers per loop (a power of two) */
#define BUF_SIZE (16 * 1024)
#define BGID 1
#define FILE_CHUNK (64 * 1024)
#define FIXED_MAX 16384 /* registered-file slots per loop (indexed by descriptor) */
#define FIXED_AFTER 8   /* receives before a connection's descriptor is registered */

/* A poll on an upstream descriptor: slot 0 waits for rfd to be readable,
 * slot 1 for wfd to be writable (two polls when they are one socket). Its
 * address is the completion's user_data. */
struct upoll {
    struct uconn *u;
    int fd; /* what it polls; -1 once forgotten (its completion is then no event) */
    char armed;
};

_Static_assert(_Alignof(struct upoll) >= SK_UD_OP_MASK + 1, "user_data keeps the op in low bits");

struct uconn {
    struct sk__ev_conn base;
    struct upoll up[2];
    struct sk_buf wbuf;  /* bytes of the send in flight (base.sending points here) */
    char fixed;          /* c.fd is also registered in the ring's file table, at index c.fd */
    unsigned char nrecv; /* receives with data, counted up to FIXED_AFTER */
};

_Static_assert(_Alignof(struct uconn) >= SK_UD_OP_MASK + 1, "user_data keeps the op in low bits");

struct uloop {
    struct sk__ev_loop base;
    struct io_uring ring;
    int ring_ok;
    unsigned nfixed; /* slots in the registered file table (0: none) */
    struct io_uring_buf_ring *br;
    char *bufs;
    size_t buf_size;
    int watch_lfd;
    int finishing;
    unsigned armed;    /* bit per loop poll in flight: 1 << SK_UD_* */
    unsigned inflight; /* operations the kernel holds (receives, sends, polls) */
};

/* The submission queue is full: submit what it holds to make room. */
__attribute__((noinline, cold)) static struct io_uring_sqe *get_sqe_full(struct uloop *U)
{
    struct io_uring_sqe *sqe;
    do {
        io_uring_submit(&U->ring);
    } while (!(sqe = io_uring_get_sqe(&U->ring)));
    return sqe;
}

/* A free submission entry. Inline, the full queue out of line: a send and
 * a receive take one each per request, and as a call of its own (GCC did
 * not inline it, for its loop) it cost about 10 instructions each in the
 * call, the register saves and the return. */
static inline struct io_uring_sqe *get_sqe(struct uloop *U)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&U->ring);
    return __builtin_expect(sqe != NULL, 1) ? sqe : get_sqe_full(U);
}

static void poll_fd(struct uloop *U, int fd, enum sk__ud_op op)
{
    struct io_uring_sqe *sqe = get_sqe(U);
    io_uring_prep_poll_add(sqe, fd, POLLIN);
    io_uring_sqe_set_data64(sqe, sk__ud_encode(NULL, op));
    U->armed |= 1u << op;
    U->inflight++;
}

/* Withdraw the loop's poll op (its completion, -ECANCELED, still arrives). */
static void unpoll(struct uloop *U, enum sk__ud_op op)
{
    if (!(U->armed & (1u << op)))
        return;
    struct io_uring_sqe *sqe = get_sqe(U);
    io_uring_prep_poll_remove(sqe, sk__ud_encode(NULL, op));
    io_uring_sqe_set_data64(sqe, sk__ud_encode(NULL, SK_UD_IGNORE));
}

static void cancel(struct uloop *U, struct uconn *u, enum sk__ud_op op)
{
    struct io_uring_sqe *sqe = get_sqe(U);
    io_uring_prep_cancel64(sqe, sk__ud_encode(u, op), 0);
    io_uring_sqe_set_data64(sqe, sk__ud_encode(NULL, SK_UD_IGNORE));
}

/* Registered files: the kernel skips the descriptor lookup and the file
 * reference count on each receive and send (fget/fput: about 1.4% of the
 * server's CPU in a profile of 64-byte echo). Registering and unregistering
 * cost a system call each, about 5% of a one-request connection, so only a
 * connection that has received FIXED_AFTER times is registered. The
 * descriptor is the slot, so no allocator is needed; one beyond the table
 * simply stays unregistered. */
static void register_file(struct uloop *U, struct uconn *u)
{
    int fd = u->base.c.fd;
    if ((unsigned)fd < U->nfixed &&
        io_uring_register_files_update(&U->ring, (unsigned)fd, &fd, 1) == 1)
        u->fixed = 1;
}

/* ---- the backend operations ---- */

static int u_attach(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    struct uconn *u = (struct uconn *)ec;
    sk_buf_init(&u->wbuf, L->srv->lim.out_max);
    ec->sending = &u->wbuf;
    return 0;
}

/* Before the descriptor is closed: in-flight requests are cancelled (they
 * keep their own file reference until they complete), and the file table's
 * reference is dropped, which would otherwise keep the connection open. */
static void u_detach(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    struct uloop *U = (struct uloop *)L;
    struct uconn *u = (struct uconn *)ec;
    int none = -1;

    if (u->fixed)
        io_uring_register_files_update(&U->ring, (unsigned)ec->c.fd, &none, 1);
    u->fixed = 0;
    if (ec->armed & SK_EV_WANT_READ)
        cancel(U, u, SK_UD_RECV);
    if (ec->armed & SK_EV_WANT_WRITE)
        cancel(U, u, SK_UD_SEND);
}

static void arm_recv(struct uloop *U, struct uconn *u)
{
    /* At most what `in` can still take: a receive completes into a
     * provided buffer, and what the service leaves of it is appended to
     * `in`, which only this receive fills (one is armed at a time; the core
     * wants a read only while `in` has room). */
    const struct sk_buf *in = &u->base.c.in;
    size_t len = U->buf_size; /* <= in->max: room enough while in is empty */
    if (sk_buf_len(in))
        len = SK_MIN(len, in->max - sk_buf_len(in));
    struct io_uring_sqe *sqe = get_sqe(U);
    io_uring_prep_recv(sqe, u->base.c.fd, NULL, (unsigned)len, 0);
    /* A request/response peer has sent nothing new yet when we re-arm:
     * wait for readiness first rather than try and fail. */
    sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
    sqe->flags |= IOSQE_BUFFER_SELECT | (u->fixed ? IOSQE_FIXED_FILE : 0);
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, sk__ud_encode(u, SK_UD_RECV));
    u->base.armed |= SK_EV_WANT_READ; /* a receive in flight */
    u->base.inflight++;
    U->inflight++;
}

/* A single-shot poll on an upstream descriptor; the I/O itself is done
 * nonblocking by the core when it completes (upstream.c). */
static void arm_up(struct uloop *U, struct uconn *u, int slot, int fd)
{
    struct upoll *p = &u->up[slot];
    struct io_uring_sqe *sqe = get_sqe(U);
    io_uring_prep_poll_add(sqe, fd, slot ? POLLOUT : POLLIN);
    io_uring_sqe_set_data64(sqe, sk__ud_encode(p, SK_UD_UPPOLL));
    p->u = u;
    p->fd = fd;
    p->armed = 1;
    u->base.inflight++;
    U->inflight++;
}

static int u_apply(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    struct uconn *u = (struct uconn *)ec;
    const struct sk__upstream *up = ec->c.up;
    if ((ec->want & SK_EV_WANT_READ) && !(ec->armed & SK_EV_WANT_READ))
        arm_recv((struct uloop *)L, u);
    if (up) {
        /* A poll armed for what is no longer wanted completes and is then
         * ignored; one still in flight for a forgotten descriptor is
         * replaced once its cancellation completed. */
        if ((ec->up_want & SK_UP_R) && up->rfd >= 0 && !u->up[0].armed)
            arm_up((struct uloop *)L, u, 0, up->rfd);
        if ((ec->up_want & SK_UP_W) && up->wfd >= 0 && !u->up[1].armed)
            arm_up((struct uloop *)L, u, 1, up->wfd);
    }
    return 0;
}

static void u_up_forget(struct sk__ev_loop *L, struct sk__ev_conn *ec, int fd)
{
    struct uconn *u = (struct uconn *)ec;
    for (int slot = 0; slot < 2; slot++) {
        struct upoll *p = &u->up[slot];
        if (!p->armed || p->fd != fd)
            continue;
        struct io_uring_sqe *sqe = get_sqe((struct uloop *)L);
        io_uring_prep_cancel64(sqe, sk__ud_encode(p, SK_UD_UPPOLL), 0);
        io_uring_sqe_set_data64(sqe, sk__ud_encode(NULL, SK_UD_IGNORE));
        p->fd = -1;
    }
}

static void on_up_poll(struct uloop *U, struct upoll *p, int res)
{
    struct uconn *u = p->u;
    struct sk__ev_loop *L = &U->base;
    const struct sk__upstream *up = u->base.c.up;
    int slot = p == &u->up[1], fd = p->fd;

    p->armed = 0;
    p->fd = -1;
    u->base.inflight--;
    U->inflight--;
    if (u->base.closed)
        return;
    unsigned ev = 0;
    if (res != -ECANCELED && res != 0 && up && fd >= 0 && fd == (slot ? up->wfd : up->rfd))
        ev = slot ? SK_UP_W : SK_UP_R;
    sk__ev_up_ready(L, &u->base, ev); /* without an event: the step, which re-arms */
}

/* Start a send of what is queued when none is in flight. At most one send
 * is in flight per connection: its bytes are swapped out of `out` into
 * `wbuf`, so the service may go on appending to `out` while the kernel
 * reads `wbuf`, and the bytes arrive in order. 0 or -errno. */
static int u_send(struct sk__ev_loop *L, struct sk__ev_conn *ec)
{
    struct uloop *U = (struct uloop *)L;
    struct uconn *u = (struct uconn *)ec;
    struct sk_conn *c = &ec->c;

    if (ec->armed & SK_EV_WANT_WRITE)
        return 0;
    if (sk_buf_len(&u->wbuf) == 0) {
        /* TLS: the ciphertext goes, made from out and the file (read
         * through TLS) into wbuf. */
        if (c->tls) {
            int r = sk__tls_fill(c, &u->wbuf, SK_TLS_WIRE, L->now, &L->bytes_out);
            if (r < 0)
                return r;
        } else {
            if (sk_buf_len(&c->out) == 0 && c->file.fd >= 0) {
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
            if (sk_buf_len(&c->out) > 0) {
                struct sk_buf t = u->wbuf; /* swap: the service goes on appending to out */
                u->wbuf = c->out;
                c->out = t;
            }
        }
    }
    if (sk_buf_len(&u->wbuf) > 0) {
        struct io_uring_sqe *sqe = get_sqe(U);
        io_uring_prep_send(sqe, c->fd, sk_buf_data(&u->wbuf), sk_buf_len(&u->wbuf), MSG_NOSIGNAL);
        if (u->fixed)
            sqe->flags |= IOSQE_FIXED_FILE;
        io_uring_sqe_set_data64(sqe, sk__ud_encode(u, SK_UD_SEND));
        ec->armed |= SK_EV_WANT_WRITE; /* a send in flight */
        ec->inflight++;
        U->inflight++;
    }
    return 0;
}

static void u_unwatch(struct sk__ev_loop *L)
{
    struct uloop *U = (struct uloop *)L;
    /* The listening socket must not outlive us inside a pending poll. */
    unpoll(U, SK_UD_LISTEN);
    unpoll(U, SK_UD_STOP);
    unpoll(U, SK_UD_STDIN);
    U->watch_lfd = 0;
}

/* ---- completions ---- */

static void give_back(struct uloop *U, unsigned bid)
{
    io_uring_buf_ring_add(U->br, U->bufs + (size_t)bid * U->buf_size, (unsigned)U->buf_size,
                          (unsigned short)bid, io_uring_buf_ring_mask(NBUFS), 0);
    io_uring_buf_ring_advance(U->br, 1);
}

static void on_recv(struct uloop *U, struct uconn *u, int res, unsigned flags)
{
    struct sk__ev_loop *L = &U->base;
    int has_buf = (flags & IORING_CQE_F_BUFFER) != 0;
    unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
    int r = 0;

    u->base.armed &= (unsigned char)~SK_EV_WANT_READ;
    u->base.inflight--;
    U->inflight--;
    if (u->base.closed) {
        if (has_buf)
            give_back(U, bid);
        return; /* the core frees it once nothing is in flight */
    }
    sk__ev_hub_enter(L);
    if (res > 0 && has_buf) {
        if (u->nrecv < FIXED_AFTER && ++u->nrecv == FIXED_AFTER)
            register_file(U, u);
        r = sk__ev_recv(L, &u->base, U->bufs + (size_t)bid * U->buf_size, (size_t)res, U->buf_size);
        give_back(U, bid);
    } else if (res == 0) {
        r = sk__ev_eof(L, &u->base);
    } else if (res == -ENOBUFS || res == -EINTR || res == -EAGAIN || res == -ECANCELED) {
        if (has_buf)
            give_back(U, bid); /* no data this time: receive again */
    } else if (res < 0) {
        r = res;
    }
    sk__ev_settle(L, &u->base, r);
}

static void on_send(struct uloop *U, struct uconn *u, int res)
{
    struct sk__ev_loop *L = &U->base;
    int r = 0;

    u->base.armed &= (unsigned char)~SK_EV_WANT_WRITE;
    u->base.inflight--;
    U->inflight--;
    if (u->base.closed)
        return;
    sk__ev_hub_enter(L);
    if (res >= 0) {
        sk_buf_consume(&u->wbuf, (size_t)res);
        if (u->base.c.tls)
            u->base.c.last_ms = L->now; /* plaintext was counted when encrypted */
        else
            sk__conn_sent(&u->base.c, (size_t)res, L->now, &L->bytes_out);
    } else if (res != -EINTR && res != -EAGAIN && res != -ECANCELED) {
        r = res;
    }
    sk__ev_settle(L, &u->base, r);
}

/* The one dispatch: what the completion is about is in its user_data. */
static void on_cqe(struct uloop *U, const struct io_uring_cqe *cqe)
{
    struct sk__ev_loop *L = &U->base;
    enum sk__ud_op op = sk__ud_op(cqe->user_data);

    switch (op) {
    case SK_UD_RECV: on_recv(U, sk__ud_conn(cqe->user_data), cqe->res, cqe->flags); return;
    case SK_UD_SEND: on_send(U, sk__ud_conn(cqe->user_data), cqe->res); return;
    case SK_UD_UPPOLL: on_up_poll(U, sk__ud_conn(cqe->user_data), cqe->res); return;
    case SK_UD_IGNORE:
    case SK_UD_OPS: return;
    default: break;
    }
    U->armed &= ~(1u << op);
    U->inflight--;
    if (cqe->res == -ECANCELED)
        return;
    switch (op) {
    case SK_UD_LISTEN:
        if (U->watch_lfd && !L->stopping) {
            sk__ev_accept(L);
            if (!L->stopping)
                poll_fd(U, L->lfd, SK_UD_LISTEN); /* level-triggered in effect */
        }
        break;
    case SK_UD_STOP:
        if (!U->finishing)
            sk__ev_begin_stop(L);
        break;
    case SK_UD_WAKE:
        sk__ev_take_remote(L); /* during the final drain too: it only moves lists */
        if (!U->finishing)
            poll_fd(U, L->wake_fd, SK_UD_WAKE);
        break;
    case SK_UD_STDIN: {
        /* Only loop 0 watches the terminal: a plain counter will do. */
        static unsigned failed_polls;
        if (L->stopping)
            break;
        if (cqe->res > 0 && sk__ev_stdin(L))
            break;
        /* A bare Enter, input for another job, or a poll the terminal
         * failed (EINVAL, around a job-control switch): watch on, unless it
         * keeps failing. */
        failed_polls = cqe->res < 0 ? failed_polls + 1 : 0;
        if (failed_polls < 100)
            poll_fd(U, STDIN_FILENO, SK_UD_STDIN);
        break;
    }
    default: break;
    }
}

static void reap(struct uloop *U)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&U->ring, head, cqe)
    {
        n++;
        on_cqe(U, cqe);
    }
    io_uring_cq_advance(&U->ring, n);
}

/* One submit_and_wait carries every send and receive the previous
 * completions produced. */
static int u_poll(struct sk__ev_loop *L, int ms)
{
    struct uloop *U = (struct uloop *)L;
    struct __kernel_timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    struct io_uring_cqe *cqe;

    int r = io_uring_submit_and_wait_timeout(&U->ring, &cqe, 1, ms >= 0 ? &ts : NULL, NULL);
    L->now = sk_now_ms();
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
        return r;
    reap(U);
    return 0;
}

/* Let the cancellations complete before the memory they name goes. */
static void u_drain(struct sk__ev_loop *L)
{
    struct uloop *U = (struct uloop *)L;

    U->finishing = 1;
    unpoll(U, SK_UD_WAKE);
    unpoll(U, SK_UD_LISTEN);
    unpoll(U, SK_UD_STOP);
    unpoll(U, SK_UD_STDIN);
    int64_t until = sk_now_ms() + 1000;
    while (U->inflight > 0 && sk_now_ms() < until) {
        struct __kernel_timespec ts = {.tv_nsec = 50 * 1000000L};
        struct io_uring_cqe *cqe;
        io_uring_submit_and_wait_timeout(&U->ring, &cqe, 1, &ts, NULL);
        reap(U);
    }
}

static int ring_init(struct uloop *U)
{
    struct io_uring_params p = {0};
    int r;

    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    r = io_uring_queue_init_params(RING_ENTRIES, &U->ring, &p);
    if (r == -EINVAL) { /* an older kernel: plain flags */
        memset(&p, 0, sizeof(p));
        r = io_uring_queue_init_params(RING_ENTRIES, &U->ring, &p);
    }
    if (r < 0)
        return r;
    U->ring_ok = 1;
    io_uring_register_ring_fd(&U->ring); /* saves a file lookup per enter; optional */
    struct rlimit rl;
    unsigned nfixed = FIXED_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < nfixed)
        nfixed = (unsigned)rl.rlim_cur;
    if (io_uring_register_files_sparse(&U->ring, nfixed) == 0) /* optional too */
        U->nfixed = nfixed;
    U->buf_size = SK_MIN((size_t)BUF_SIZE, U->base.srv->lim.in_max);
    size_t ring_bytes = NBUFS * sizeof(struct io_uring_buf);
    void *m = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -errno;
    U->br = m;
    if (!(U->bufs = malloc(NBUFS * U->buf_size)))
        return -ENOMEM;
    struct io_uring_buf_reg reg = {
        .ring_addr = (uint64_t)(uintptr_t)m, .ring_entries = NBUFS, .bgid = BGID};
    if ((r = io_uring_register_buf_ring(&U->ring, &reg, 0)) < 0)
        return r;
    io_uring_buf_ring_init(U->br);
    for (unsigned i = 0; i < NBUFS; i++)
        io_uring_buf_ring_add(U->br, U->bufs + (size_t)i * U->buf_size, (unsigned)U->buf_size,
                              (unsigned short)i, io_uring_buf_ring_mask(NBUFS), (int)i);
    io_uring_buf_ring_advance(U->br, NBUFS);
    return 0;
}

/* On the loop's own thread (the ring is single-issuer). */
static int u_start(struct sk__ev_loop *L)
{
    struct uloop *U = (struct uloop *)L;
    int r = ring_init(U);
    if (r < 0)
        return r;
    poll_fd(U, L->lfd, SK_UD_LISTEN);
    U->watch_lfd = 1;
    if (L->srv->stop_fd >= 0)
        poll_fd(U, L->srv->stop_fd, SK_UD_STOP);
    if (L->index == 0 && L->srv->stdin_stop)
        poll_fd(U, STDIN_FILENO, SK_UD_STDIN);
    if (L->wake_fd >= 0)
        poll_fd(U, L->wake_fd, SK_UD_WAKE);
    return 0;
}

static int u_init(struct sk__ev_loop *L, const void *unused)
{
    (void)unused;
    L->name = "io_uring";
    return 0;
}

static void u_free(struct sk__ev_loop *L)
{
    struct uloop *U = (struct uloop *)L;
    if (U->ring_ok)
        io_uring_queue_exit(&U->ring);
    if (U->br)
        munmap(U->br, NBUFS * sizeof(struct io_uring_buf));
    free(U->bufs);
}

static const struct sk__ev_backend uring_backend = {
    .loop_size = sizeof(struct uloop),
    .conn_size = sizeof(struct uconn),
    .init = u_init,
    .start = u_start,
    .poll = u_poll,
    .unwatch = u_unwatch,
    .attach = u_attach,
    .detach = u_detach,
    .send = u_send,
    .apply = u_apply,
    .up_forget = u_up_forget,
    .drain = u_drain,
    .free = u_free,
};

static int uring_run(struct sk_server *srv)
{
    return sk__ev_run(srv, &uring_backend, NULL);
}

static int uring_available(char *why, size_t len)
{
    static const int ops[] = {IORING_OP_RECV, IORING_OP_SEND, IORING_OP_ASYNC_CANCEL};
    return sk__uring_probe(ops, sizeof(ops) / sizeof(ops[0]), 1,
                           "send/recv or provided buffer rings (Linux 5.19 or later needed)", why,
                           len);
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
    .caps = SK_MODEL_STREAM | SK_MODEL_HUB | SK_MODEL_WORKERS | SK_MODEL_LINKS,
    .rank = 70,
    .available = uring_available,
    .run = uring_run,
};
