/*
 * blocking.c - the driver the blocking models share (iterative, fork,
 * prefork, thread, pool): one connection on one thread, read -> service ->
 * write, with poll() only to bound waits (idle timeout, deadlines, stop).
 */
#include "internal.h"

#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
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
        srv->svc->timeout(c);
        sk__hub_unlock(srv);
        c->last_ms = now;
        return 0;
    }
    if (srv->lim.idle_timeout_ms > 0 && now - c->last_ms >= srv->lim.idle_timeout_ms)
        return -ETIMEDOUT;
    return 0;
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
        return 0;
    }
    sk__conn_received(c, (size_t)n);
    return sk__conn_feed(c);
}

int sk__serve_blocking(struct sk_server *srv, int fd, const struct sk_addr *peer)
{
    struct sk_conn c = {0};
    int64_t stop_at = 0;
    int eof = 0, err = 0;

    sk_sock_set_nonblock(fd, 1);
    if ((err = sk__conn_open(srv, &c, fd, peer)) < 0)
        return err;
    for (;;) {
        if (c.flags & SK_CONN_ABORT)
            break;
        if (sk_conn_pending(&c) == 0) {
            if (c.flags & SK_CONN_END)
                break;
            if (srv->svc->drain && !eof) {
                sk__hub_lock(srv);
                err = srv->svc->drain(&c);
                sk__hub_unlock(srv);
                if (err < 0)
                    break;
            }
            /* Input held back by backpressure can go on now. */
            if (sk_buf_len(&c.in) && (err = sk__conn_feed(&c)) < 0)
                break;
            if (eof && sk_conn_pending(&c) == 0 && !c.deadline_ms)
                break;
        }
        if (!stop_at && srv->stop)
            stop_at = sk_now_ms() + srv->lim.drain_ms;

        struct pollfd p[2] = {{.fd = fd}, {.fd = stop_at ? -1 : srv->stop_fd, .events = POLLIN}};
        if (sk_conn_pending(&c))
            p[0].events |= POLLOUT;
        if (!eof && c.file.fd < 0 && sk_buf_len(&c.out) <= srv->lim.out_high)
            p[0].events |= POLLIN;
        int64_t now = sk_now_ms();
        int n = poll(p, 2, sk__conn_timeout_ms(&c, now, stop_at));
        if (n < 0 && errno != EINTR) {
            err = -errno;
            break;
        }
        now = sk_now_ms();
        if (n <= 0) {
            if ((err = sk__conn_expire(&c, now, stop_at)) < 0)
                break;
            continue;
        }
        if (p[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
            if ((err = flush_some(&c)) < 0)
                break;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if ((err = read_some(&c, &eof)) < 0)
                break;
        }
    }
    if (err == 0 && c.flags & SK_CONN_END)
        flush_some(&c); /* best effort: what is left of the last reply */
    sk__conn_close(&c, err);
    return err;
}

int sk__wait_listener(struct sk_server *srv, int lfd)
{
    for (;;) {
        if (srv->stop)
            return 0;
        struct pollfd p[3] = {
            {.fd = lfd, .events = POLLIN},
            {.fd = srv->stop_fd, .events = POLLIN},
            {.fd = srv->stdin_stop ? STDIN_FILENO : -1, .events = POLLIN},
        };
        int n = poll(p, 3, 1000);
        if (n < 0 && errno != EINTR)
            return 0;
        if (n <= 0)
            continue;
        if (p[2].revents) {
            char line[256];
            ssize_t r = read(STDIN_FILENO, line, sizeof(line));
            (void)r;
            sk_log(SK_LOG_INFO, "a line on the terminal: stopping");
            sk_server_stop(srv);
            return 0;
        }
        if (p[1].revents)
            return 0;
        if (p[0].revents)
            return 1;
    }
}
