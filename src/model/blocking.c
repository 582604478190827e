/*
 * blocking.c - the driver the blocking models share (iterative, fork,
 * prefork, thread, pool): one connection on one thread, read -> service ->
 * write, with poll() only to bound waits (idle timeout, deadlines, stop).
 * On stop a connection with nothing in flight (no queued output, no input
 * unread or unconsumed) closes at once, even with a service deadline armed
 * (http's header clock runs from accept); the others get srv->lim.drain_ms,
 * as under the event models. Input left unconsumed while output is queued
 * is held: the service deadline waits (sk__conn_due) until the output
 * drained and the input was fed again.
 */
#include "internal.h"

#include "sockit/error.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <stdatomic.h>
#include <poll.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define READ_CHUNK 16384

/* Send what is queued; returns 0 (maybe partially sent) or -errno. */
static int flush_some(struct sk_conn *c)
{
    uint64_t sent = 0;
    int r = sk__conn_flush(c, sk_now_ms(), &sent);
    if (sent)
        atomic_fetch_add_explicit(&c->srv->st->bytes_out, sent, memory_order_relaxed);
    if (sk_buf_len(&c->out) == 0)
        sk_buf_shrink(&c->out, 64 * 1024);
    return r;
}

/* TLS: plaintext arrived; keep it in c->in (fed below) and count it. */
static int tls_keep(void *arg, const char *p, size_t n)
{
    struct sk_conn *c = arg;
    int r = sk_buf_append(&c->in, p, n);
    if (r < 0)
        return r == -ENOBUFS ? -EMSGSIZE : r;
    uint64_t got = 0;
    sk__conn_received(c, n, sk_now_ms(), &got);
    atomic_fetch_add_explicit(&c->srv->st->bytes_in, got, memory_order_relaxed);
    return 0;
}

static int tls_read_some(struct sk_conn *c, int *eof)
{
    char buf[READ_CHUNK];
    ssize_t n = sk_read(c->fd, buf, sizeof(buf));
    if (n == -EAGAIN)
        return 0;
    if (n < 0)
        return (int)n;
    if (n == 0) {
        *eof = 1;
        sk__conn_eof(c, sk_now_ms());
        return sk__tls_eof(c);
    }
    int r = sk__tls_recv(c, buf, (size_t)n, sizeof(buf), eof, tls_keep, c);
    if (r < 0)
        return r;
    if (*eof)
        sk__conn_eof(c, sk_now_ms());
    char held = 0;
    sk__hub_lock(c->srv);
    r = sk_buf_len(&c->in) ? sk__conn_feed(c, NULL, 0, NULL, &held) : 0;
    sk__hub_unlock(c->srv);
    return r;
}

static int read_some(struct sk_conn *c, int *eof)
{
    if (c->tls)
        return tls_read_some(c, eof);
    if (c->up) {
        /* Piped bulk goes by splice() straight on to the upstream. */
        uint64_t got = 0;
        int r = sk__up_splice_in(c, sk_now_ms(), eof, &got);
        if (got)
            atomic_fetch_add_explicit(&c->srv->st->bytes_in, got, memory_order_relaxed);
        if (r < 0)
            return r;
        if (r > 0) {
            if (*eof)
                sk__conn_eof(c, sk_now_ms());
            return 0;
        }
    }
    int r = sk_buf_reserve(&c->in, READ_CHUNK);
    if (r == -ENOBUFS)
        r = sk_buf_reserve(&c->in, sk_buf_room(&c->in) ? 0 : 1);
    if (r < 0)
        return r == -ENOBUFS ? -EMSGSIZE : r;
    ssize_t n = sk_read(c->fd, sk_buf_tail(&c->in), sk_buf_room(&c->in));
    if (n == -EAGAIN)
        return 0;
    if (n < 0)
        return (int)n;
    if (n == 0) {
        *eof = 1;
        sk__conn_eof(c, sk_now_ms());
        return 0;
    }
    sk_buf_commit(&c->in, (size_t)n);
    uint64_t got = 0;
    sk__conn_received(c, (size_t)n, sk_now_ms(), &got);
    atomic_fetch_add_explicit(&c->srv->st->bytes_in, got, memory_order_relaxed);
    /* The whole feed runs under the hub lock: it reads c->flags and c->out,
     * which other connections' callbacks may change for hub services. */
    char held = 0;
    sk__hub_lock(c->srv);
    r = sk__conn_feed(c, NULL, 0, NULL, &held);
    sk__hub_unlock(c->srv);
    return r;
}

/* Hub services: another thread queues output on this connection and calls
 * wake(), which makes the eventfd this connection's thread polls readable. */
struct blocking_wake {
    int fd;
};

static void blocking_wake(struct sk_conn *c)
{
    const struct blocking_wake *w = c->model_data;
    uint64_t one = 1;
    ssize_t r = write(w->fd, &one, sizeof(one));
    (void)r; /* a full counter is still readable: the wake-up is not lost */
}

static const struct sk_conn_ops blocking_ops = {
    .wake = blocking_wake, .splice = 1, .own_thread = 1};
static const struct sk_conn_ops plain_ops = {.splice = 1, .own_thread = 1};

/* What the next poll should wait for (*events), whether input is held back
 * (*held: left unconsumed while output is queued; it is fed again once
 * nothing is queued, so service deadlines wait meanwhile), and whether the
 * connection is over (returns 1). For hub services the caller holds the hub
 * lock: c->out and c->flags may be changed by other connections' callbacks. */
static int blocking_step(struct sk_conn *c, int eof, int stopping, short *events, unsigned *upev,
                         int *held, int *err)
{
    struct sk_server *srv = c->srv;

    if (c->flags & SK_CONN_ABORT)
        return 1;
    if (c->up) {
        /* The upstream's step; piped input held back by its full queue
         * goes on once it drained. */
        char stalled = 0;
        if ((*err = sk__up_settle(c, eof, sk__conn_queued(c), sk_now_ms())) < 0)
            return 1;
        if (c->up && c->up->piped && sk_buf_len(&c->in) && !sk__up_blocks_client(c) &&
            (*err = sk__conn_feed(c, NULL, 0, NULL, &stalled)) < 0)
            return 1;
        if (c->flags & SK_CONN_ABORT)
            return 1;
    }
    if (sk__conn_queued(c) == 0) {
        if (c->flags & SK_CONN_END)
            return 1;
        if (srv->svc->drain && !eof && (*err = srv->svc->drain(c)) < 0)
            return 1;
        /* Input held back by backpressure can go on now. After EOF the
         * service may have armed its deadline again for what is left: it is
         * due at once all the same. */
        char stalled = 0; /* the events below stand for it */
        if (sk_buf_len(&c->in) && (*err = sk__conn_feed(c, NULL, 0, NULL, &stalled)) < 0)
            return 1;
        if (eof)
            sk__conn_eof(c, sk_now_ms());
        if (c->flags & SK_CONN_ABORT)
            return 1;
        if (sk__conn_can_close(c, sk__conn_queued(c), eof, 0, stopping))
            return 1;
    }
    *events = 0;
    *held = sk_buf_len(&c->in) > 0 && sk__conn_queued(c) > 0;
    if (sk__conn_wants_write(c, sk__conn_queued(c)))
        *events |= POLLOUT;
    if (!eof && !sk__conn_backpressured(c, NULL) && !(c->flags & SK_CONN_HOLD) &&
        sk_buf_len(&c->in) < c->in.max && !sk__up_blocks_client(c))
        *events |= POLLIN;
    *upev = c->up ? sk__up_want(c, sk__conn_queued(c)) : 0;
    return 0;
}

/* The upstream's descriptors in p[0] (rfd, and wfd when it is the same)
 * and p[1] (a separate wfd), watched as upev says; -1 where nothing is
 * wanted (a hang-up would be reported for nothing). */
static void up_pollfds(const struct sk_conn *c, unsigned upev, struct pollfd *p)
{
    p[0] = (struct pollfd){.fd = -1};
    p[1] = (struct pollfd){.fd = -1};
    if (!c->up)
        return;
    int rfd = c->up->rfd, wfd = c->up->wfd;
    if ((upev & SK_UP_R) && rfd >= 0)
        p[0] = (struct pollfd){.fd = rfd, .events = POLLIN};
    if ((upev & SK_UP_W) && wfd >= 0) {
        if (wfd == rfd) {
            p[0].fd = wfd;
            p[0].events |= POLLOUT;
        } else {
            p[1] = (struct pollfd){.fd = wfd, .events = POLLOUT};
        }
    }
}

/* What poll() said of the upstream's descriptors, as SK_UP_* bits. */
static unsigned up_ready(const struct sk_conn *c, const struct pollfd *p)
{
    unsigned ev = 0;
    if (!c->up)
        return 0;
    if (p[0].fd >= 0 && p[0].revents) {
        if ((p[0].events & POLLIN) && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            ev |= SK_UP_R;
        if ((p[0].events & POLLOUT) && (p[0].revents & (POLLOUT | POLLHUP | POLLERR)))
            ev |= SK_UP_W;
    }
    if (p[1].fd >= 0 && (p[1].revents & (POLLOUT | POLLHUP | POLLERR)))
        ev |= SK_UP_W;
    return ev;
}

int sk__serve_blocking(struct sk_server *srv, int fd, const struct sk_addr *peer)
{
    struct sk_conn c = {0};
    struct blocking_wake w = {.fd = -1};
    int64_t stop_at = 0;
    int eof = 0, err = 0;
    int hub = (srv->svc->flags & SK_SVC_HUB) != 0;

    sk_sock_set_nonblock(fd, 1);
    c.ops = &plain_ops;
    if (hub) {
        w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w.fd < 0) {
            err = -errno;
            sk_log(SK_LOG_WARN, "no eventfd for a new connection: %s", sk_strerror(err));
            close(fd);
            atomic_fetch_add(&srv->st->errors, 1);
            sk__perip_release(srv, peer);
            if (!srv->active_by_parent)
                atomic_fetch_sub(&srv->st->active, 1);
            return err;
        }
        c.ops = &blocking_ops;
        c.model_data = &w;
    }
    if ((err = sk__conn_open(srv, &c, fd, peer)) < 0) {
        if (w.fd >= 0)
            close(w.fd);
        return err;
    }
    for (;;) {
        short events = 0;
        unsigned upev = 0;
        int held = 0;
        sk__hub_lock(srv);
        int done = blocking_step(&c, eof, stop_at != 0, &events, &upev, &held, &err);
        sk__hub_unlock(srv);
        if (done)
            break;
        /* The stop eventfd stays readable once written: polling it (rather
         * than reading srv->stop) also orders this thread after the stop. */
        struct pollfd p[5] = {
            /* After the client's EOF, with nothing for it, only the upstream
             * keeps the connection open: a hang-up would spin. */
            {.fd = events || !eof || !c.up ? fd : -1, .events = events},
            {.fd = stop_at ? -1 : srv->stop_fd, .events = POLLIN},
            {.fd = w.fd, .events = POLLIN},
        };
        up_pollfds(&c, upev, p + 3);
        int64_t now = sk_now_ms();
        int n = poll(p, 5, sk__conn_timeout_ms(&c, now, stop_at, held));
        if (n < 0 && errno != EINTR) {
            err = -errno;
            break;
        }
        now = sk_now_ms();
        if (!stop_at && (p[1].revents || srv->stop))
            stop_at = now + srv->lim.drain_ms;
        if (n > 0 && p[2].revents) {
            uint64_t v;
            ssize_t r = read(w.fd, &v, sizeof(v));
            (void)r; /* the next step sees what was queued */
        }
        /* Deadlines are due whether or not poll() also reported events: a
         * socket that keeps reporting POLLHUP (the peer reset it after its
         * EOF) must not keep a due deadline from firing (that was a spin). */
        if (n <= 0 || sk__conn_timeout_ms(&c, now, stop_at, held) == 0) {
            if ((err = sk__conn_expire(&c, now, stop_at, held)) < 0)
                break;
            if (n <= 0)
                continue;
        }
        if (p[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
            sk__hub_lock(srv);
            err = flush_some(&c);
            sk__hub_unlock(srv);
            if (err < 0)
                break;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if ((err = read_some(&c, &eof)) < 0)
                break;
        }
        unsigned ready = up_ready(&c, p + 3);
        if (ready) {
            sk__hub_lock(srv);
            err = sk__up_io(&c, ready, now);
            if (err == 0 && sk__conn_queued(&c))
                err = flush_some(&c); /* what it sent goes on at once */
            sk__hub_unlock(srv);
            if (err < 0)
                break;
        }
    }
    sk__hub_lock(srv);
    if (err == 0 && c.flags & SK_CONN_END && !(c.flags & SK_CONN_ABORT))
        flush_some(&c); /* best effort: what is left of the last reply */
    sk__hub_unlock(srv);
    sk__conn_close(&c, err);
    if (w.fd >= 0)
        close(w.fd); /* after close(): nobody can wake this connection now */
    return err;
}

int sk__wait_listener_ex(struct sk_server *srv, int lfd, unsigned flags, const sigset_t *mask)
{
    for (;;) {
        if (srv->stop)
            return 0;
        int watch_stdin = srv->stdin_stop && (flags & SK_WAIT_STDIN);
        struct pollfd p[3] = {
            {.fd = lfd, .events = POLLIN},
            {.fd = srv->stop_fd, .events = POLLIN},
            {.fd = watch_stdin ? STDIN_FILENO : -1, .events = POLLIN},
        };
        int n = mask ? ppoll(p, 3, &(struct timespec){.tv_sec = 1}, mask) : poll(p, 3, 1000);
        if (sk__fault(SK_FAULT_WAIT_POLL)) {
            n = -1;
            errno = ENOMEM;
        }
        if (n <= 0 && mask && (n == 0 || errno == EINTR))
            return -EINTR; /* a signal, or a quiet second: the caller looks around */
        if (n < 0 && errno != EINTR) {
            /* The wait is broken: stop the whole server, so that a model
             * joining its workers finds them told to stop (not hung). */
            sk_log(SK_LOG_ERROR, "waiting for connections: %s: stopping", sk_strerror(-errno));
            sk_server_stop(srv);
            return 0;
        }
        if (n <= 0)
            continue;
        if (p[2].revents && sk__server_terminal_line(srv))
            return 0;
        if (p[1].revents)
            return 0;
        if (p[0].revents)
            return 1;
    }
}

int sk__wait_listener(struct sk_server *srv, int lfd)
{
    return sk__wait_listener_ex(srv, lfd, SK_WAIT_STDIN, NULL);
}
