/*
 * blocking.c - the driver the blocking models share (iterative, fork,
 * prefork, thread, pool): one connection on one thread, read -> service ->
 * write, with poll() only to bound waits (idle timeout, deadlines, stop).
 * On stop a connection with nothing in flight (no queued output, no input
 * unread or unconsumed, no service deadline) closes at once; the others get
 * srv->lim.drain_ms, as under the event models.
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
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#define READ_CHUNK 16384

int sk__conn_timeout_ms(const struct sk_conn *c, int64_t now, int64_t stop_at)
{
    int64_t t = -1;
    const struct sk_limits *lim = &c->srv->lim;

    if (lim->idle_timeout_ms > 0)
        t = c->last_ms + lim->idle_timeout_ms;
    if (c->deadline_ms && (t < 0 || c->deadline_ms < t))
        t = c->deadline_ms;
    if (stop_at && (t < 0 || stop_at < t))
        t = stop_at;
    if (t < 0)
        return -1;
    return t <= now ? 0 : (int)SK_MIN(t - now, 60 * 60 * 1000);
}

int sk__conn_expire(struct sk_conn *c, int64_t now, int64_t stop_at)
{
    struct sk_server *srv = c->srv;

    if (stop_at && now >= stop_at)
        return -ETIMEDOUT;
    if (c->deadline_ms && now >= c->deadline_ms) {
        c->deadline_ms = 0;
        if (!srv->svc->timeout)
            return -ETIMEDOUT;
        sk__hub_lock(srv);
        ssize_t used = srv->svc->timeout(c, sk_buf_data(&c->in), sk_buf_len(&c->in));
        if (used > 0)
            sk_buf_consume(&c->in, (size_t)used);
        sk__hub_unlock(srv);
        c->last_ms = now;
        return used < 0 ? (int)used : 0;
    }
    if (srv->lim.idle_timeout_ms > 0 && now - c->last_ms >= srv->lim.idle_timeout_ms)
        return -ETIMEDOUT;
    return 0;
}

void sk__conn_eof(struct sk_conn *c, int64_t now)
{
    if (c->deadline_ms && c->deadline_ms > now)
        c->deadline_ms = now;
}

/* Send what is queued; returns 0 (maybe partially sent) or -errno. */
static int flush_some(struct sk_conn *c)
{
    while (sk_buf_len(&c->out) > 0) {
        ssize_t w = sk_send(c->fd, sk_buf_data(&c->out), sk_buf_len(&c->out));
        if (w == -EAGAIN)
            return 0;
        if (w < 0)
            return (int)w;
        sk__conn_sent(c, (size_t)w);
    }
    sk_buf_shrink(&c->out, 64 * 1024);
    while (c->file.fd >= 0) {
        ssize_t w = sendfile(c->fd, c->file.fd, &(off_t){c->file.off}, c->file.len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == EAGAIN ? 0 : -errno;
        if (w == 0)
            return -EIO; /* the file shrank under us */
        sk__conn_file_sent(c, (size_t)w);
    }
    return 0;
}

static int read_some(struct sk_conn *c, int *eof)
{
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
    sk__conn_received(c, (size_t)n);
    return sk__conn_feed(c);
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

static const struct sk_conn_ops blocking_ops = {.wake = blocking_wake};

/* What the next poll should wait for, and whether the connection is over.
 * For hub services the caller holds the hub lock: c->out and c->flags may be
 * changed by other connections' callbacks. */
/* Bytes the kernel holds for us that we have not read yet (closing with
 * unread input would reset the connection and lose what we sent). */
static int unread(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

static int blocking_step(struct sk_conn *c, int eof, int stopping, short *events, int *err)
{
    struct sk_server *srv = c->srv;

    if (c->flags & SK_CONN_ABORT)
        return 1;
    if (sk_conn_pending(c) == 0) {
        if (c->flags & SK_CONN_END)
            return 1;
        if (srv->svc->drain && !eof && (*err = srv->svc->drain(c)) < 0)
            return 1;
        /* Input held back by backpressure can go on now. After EOF the
         * service may have armed its deadline again for what is left: it is
         * due at once all the same. */
        if (sk_buf_len(&c->in) && (*err = sk__conn_feed_locked(c)) < 0)
            return 1;
        if (eof)
            sk__conn_eof(c, sk_now_ms());
        if (c->flags & SK_CONN_ABORT)
            return 1;
        if (eof && sk_conn_pending(c) == 0 && !c->deadline_ms)
            return 1;
        /* Stopping with nothing in flight: no reason to wait for the bound. */
        if (stopping && sk_conn_pending(c) == 0 && !sk_buf_len(&c->in) && !c->deadline_ms &&
            !unread(c->fd))
            return 1;
    }
    *events = 0;
    if (sk_conn_pending(c))
        *events |= POLLOUT;
    if (!eof && c->file.fd < 0 && sk_buf_len(&c->out) <= srv->lim.out_high)
        *events |= POLLIN;
    return 0;
}

int sk__serve_blocking(struct sk_server *srv, int fd, const struct sk_addr *peer)
{
    struct sk_conn c = {0};
    struct blocking_wake w = {.fd = -1};
    int64_t stop_at = 0;
    int eof = 0, err = 0;
    int hub = (srv->svc->flags & SK_SVC_HUB) != 0;

    sk_sock_set_nonblock(fd, 1);
    if (hub) {
        w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w.fd < 0) {
            err = -errno;
            sk_log(SK_LOG_WARN, "no eventfd for a new connection: %s", sk_strerror(err));
            close(fd);
            atomic_fetch_add(&srv->st->errors, 1);
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
        sk__hub_lock(srv);
        int done = blocking_step(&c, eof, stop_at != 0, &events, &err);
        sk__hub_unlock(srv);
        if (done)
            break;
        /* The stop eventfd stays readable once written: polling it (rather
         * than reading srv->stop) also orders this thread after the stop. */
        struct pollfd p[3] = {
            {.fd = fd, .events = events},
            {.fd = stop_at ? -1 : srv->stop_fd, .events = POLLIN},
            {.fd = w.fd, .events = POLLIN},
        };
        int64_t now = sk_now_ms();
        int n = poll(p, 3, sk__conn_timeout_ms(&c, now, stop_at));
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
        if (n <= 0 || sk__conn_timeout_ms(&c, now, stop_at) == 0) {
            if ((err = sk__conn_expire(&c, now, stop_at)) < 0)
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
        if (n <= 0 && mask && (n == 0 || errno == EINTR))
            return -EINTR; /* a signal, or a quiet second: the caller looks around */
        if (n < 0 && errno != EINTR)
            return 0;
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
