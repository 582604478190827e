/*
 * upstream.c - the upstream connection in the core (conn.h: sk_conn_upstream_*):
 * a second descriptor a connection owns, a socket connected without blocking
 * or a pair of descriptors handed over, driven by the model in the same loop
 * (evloop.c and its backends) or the same poll() (blocking.c) as the
 * connection. The model only says when a descriptor is ready (sk__up_io) and
 * runs one step after every event (sk__up_settle); this file does the rest
 * once for every model: the connect result, reading into the service
 * (up_data) or straight into the client's output (piped), writing what is
 * queued for the upstream, backpressure both ways, the half-close each way,
 * the end of a piped connection, and closing each descriptor exactly once
 * (the model is told first through c->ops->up_forget).
 */
#include "internal.h"

#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <unistd.h>

#define UP_READ_CHUNK (64 * 1024)
#define UP_CONNECT_MS 10000

/* ---- descriptors ---- */

static void forget_fd(struct sk_conn *c, int fd)
{
    if (fd >= 0 && c->ops && c->ops->up_forget)
        c->ops->up_forget(c, fd);
}

/* Close the write side: a descriptor of its own is closed, a shared one
 * (a socket) shut down for writing. */
static void shut_write(struct sk_conn *c, struct sk__upstream *up)
{
    if (up->wfd < 0)
        return;
    if (up->wfd == up->rfd) {
        shutdown(up->wfd, SHUT_WR);
    } else {
        forget_fd(c, up->wfd);
        close(up->wfd);
    }
    up->wfd = -1;
    up->wr_shut = 1;
}

static void close_fds(struct sk_conn *c, struct sk__upstream *up)
{
    if (up->rfd >= 0) {
        forget_fd(c, up->rfd);
        close(up->rfd);
    }
    if (up->wfd >= 0 && up->wfd != up->rfd) {
        forget_fd(c, up->wfd);
        close(up->wfd);
    }
    up->rfd = up->wfd = -1;
}

static int is_socket(int fd)
{
    struct stat sb;
    return fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode);
}

static struct sk__upstream *up_new(struct sk_conn *c)
{
    struct sk__upstream *up = c->up;
    if (up)
        return up; /* a failed one, kept for its queued bytes (failover) */
    if (!(up = calloc(1, sizeof(*up))))
        return NULL;
    up->rfd = up->wfd = -1;
    up->p2c[0] = up->p2c[1] = up->c2p[0] = up->c2p[1] = -1;
    sk_buf_init(&up->out, c->srv->lim.out_max);
    sk_buf_init(&up->in, c->srv->lim.in_max);
    c->up = up;
    return up;
}

/* Is a descriptor open (or a connect in flight)? A failed upstream keeps
 * its struct (queued bytes) but no descriptor. */
static int up_open(const struct sk__upstream *up)
{
    return up && (up->rfd >= 0 || up->wfd >= 0 || up->connecting || up->early);
}

/* ---- the service's calls (conn.h) ---- */

int sk_conn_upstream_connect(struct sk_conn *c, const struct sk_addr *to, int timeout_ms)
{
    if (up_open(c->up))
        return -EBUSY;
    struct sk__upstream *up = up_new(c);
    if (!up)
        return -ENOMEM;
    int fd = socket(sk_addr_family(to), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (sk_addr_family(to) != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    up->rd_eof = up->wr_shut = up->wr_dead = up->cl_shut = 0;
    up->connecting = 1;
    up->wsock = 1;
    up->connect_due = sk_now_ms() + (timeout_ms > 0 ? timeout_ms : UP_CONNECT_MS);
    int r;
    do
        r = connect(fd, &to->u.sa, to->len);
    while (r < 0 && errno == EINTR);
    if (r == 0 || errno == EINPROGRESS || errno == EAGAIN) {
        /* In flight (EAGAIN: a Unix listener's backlog is full; its
         * writability says when to look again). Unix sockets usually
         * connect at once: the result still comes from the loop. */
        up->rfd = up->wfd = fd;
        if (r == 0) {
            up->connecting = 0;
            up->early = 1;
            up->early_err = 0;
        }
        return 0;
    }
    /* Refused at once (a Unix path nobody listens on): reported from the
     * loop like any other result. */
    up->early = 1;
    up->early_err = -errno;
    up->connecting = 0;
    close(fd);
    return 0;
}

int sk_conn_upstream_fds(struct sk_conn *c, int rfd, int wfd)
{
    struct sk__upstream *up = up_open(c->up) ? NULL : up_new(c);
    if (!up) {
        if (rfd >= 0)
            close(rfd);
        if (wfd >= 0 && wfd != rfd)
            close(wfd);
        return up_open(c->up) ? -EBUSY : -ENOMEM;
    }
    if (rfd >= 0)
        fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
    if (wfd >= 0 && wfd != rfd)
        fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
    up->rfd = rfd;
    up->wfd = wfd;
    up->connecting = up->early = 0;
    up->rd_eof = rfd < 0;
    up->wr_shut = wfd < 0;
    up->wr_dead = wfd < 0;
    up->wsock = wfd >= 0 && is_socket(wfd);
    return 0;
}

int sk_conn_upstream_write(struct sk_conn *c, const void *p, size_t n)
{
    struct sk__upstream *up = c->up;
    if (!up)
        return -ENOTCONN;
    if (up->wr_shut || up->shut_req || up->wr_dead)
        return -EPIPE;
    int r = sk_buf_append(&up->out, p, n);
    /* A link is written from other connections' hub callbacks: its loop
     * must flush it (a connection's own callbacks are followed by its step). */
    if (r == 0 && c->link && c->ops && c->ops->wake)
        c->ops->wake(c);
    return r;
}

size_t sk_conn_upstream_room(const struct sk_conn *c)
{
    return c->up ? c->up->out.max - sk_buf_len(&c->up->out) : 0;
}

int sk_conn_upstream_backpressured(const struct sk_conn *c)
{
    return c->up && sk_buf_len(&c->up->out) > c->srv->lim.out_high;
}

int sk_conn_upstream_pipe(struct sk_conn *c)
{
    if (!c->up)
        return -ENOTCONN;
    c->up->piped = 1;
    return 0;
}

int sk_conn_upstream_end_at_eof(struct sk_conn *c)
{
    if (!c->up)
        return -ENOTCONN;
    c->up->end_at_eof = 1;
    return 0;
}

void sk_conn_upstream_shutdown(struct sk_conn *c)
{
    if (c->up)
        c->up->shut_req = 1;
}

void sk_conn_upstream_close(struct sk_conn *c)
{
    struct sk__upstream *up = c->up;
    if (!up)
        return;
    close_fds(c, up);
    for (int i = 0; i < 2; i++) {
        if (up->p2c[i] >= 0)
            close(up->p2c[i]);
        if (up->c2p[i] >= 0)
            close(up->c2p[i]);
    }
    sk_buf_free(&up->out);
    sk_buf_free(&up->in);
    free(up);
    c->up = NULL;
}

/* ---- the model's side (internal.h) ---- */

void sk__up_close_fds(struct sk_conn *c)
{
    close_fds(c, c->up);
}

void sk__up_free(struct sk_conn *c)
{
    sk_conn_upstream_close(c);
}

unsigned sk__up_want(const struct sk_conn *c, size_t client_pend)
{
    const struct sk__upstream *up = c->up;
    unsigned want = 0;

    if (up->wfd >= 0 && (up->connecting || ((sk_buf_len(&up->out) || up->c2p_len) && !up->wr_shut)))
        want |= SK_UP_W;
    if (up->rfd >= 0 && !up->connecting && !up->rd_eof && !(c->flags & SK_CONN_ABORT)) {
        if (up->piped ? client_pend <= c->srv->lim.out_high
                      : sk_buf_len(&up->in) < up->in.max && !(c->flags & SK_CONN_HOLD))
            want |= SK_UP_R;
    }
    return want;
}

/* The connect ended with err (0: connected): tell the service. */
static int connected(struct sk_conn *c, struct sk__upstream *up, int err)
{
    const struct sk_service *svc = c->srv->svc;

    up->connecting = 0;
    if (err < 0)
        close_fds(c, up);
    if (svc->up_connected)
        return svc->up_connected(c, err);
    return err;
}

/* The upstream stopped taking input: after its EOF (a child that exited)
 * that direction is over, else it is an error. */
static int write_failed(struct sk_conn *c, struct sk__upstream *up, int err)
{
    if (err != EPIPE || !up->rd_eof)
        return -err;
    sk_buf_clear(&up->out);
    up->c2p_len = 0; /* what the pipe holds goes nowhere: closed with it */
    shut_write(c, up);
    up->wr_dead = 1;
    return 0;
}

/* Send what is queued for the upstream until done or it would block:
 * first what was spliced into the pipe, then up->out. */
static int flush_up(struct sk_conn *c, struct sk__upstream *up, int64_t now)
{
    while (up->c2p_len && up->wfd >= 0 && !up->connecting) {
        ssize_t w =
            splice(up->c2p[0], NULL, up->wfd, NULL, up->c2p_len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : write_failed(c, up, errno);
        }
        if (w == 0)
            return -EIO;
        up->c2p_len -= (size_t)w;
        up->sent += (uint64_t)w;
        c->last_ms = now;
    }
    if (up->c2p_len)
        return 0;
    while (sk_buf_len(&up->out) && up->wfd >= 0 && !up->connecting) {
        size_t len = sk_buf_len(&up->out);
        ssize_t w = up->wsock ? send(up->wfd, sk_buf_data(&up->out), len, MSG_NOSIGNAL)
                              : write(up->wfd, sk_buf_data(&up->out), len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return write_failed(c, up, errno);
        }
        sk_buf_consume(&up->out, (size_t)w);
        up->sent += (uint64_t)w;
        c->last_ms = now;
        if ((size_t)w < len)
            return 0;
    }
    if (!sk_buf_len(&up->out))
        sk_buf_shrink(&up->out, SK_EV_KEEP_BUF);
    return 0;
}

/* What up_data() left goes to the client once piped. */
static int pass_leftover(struct sk_conn *c, struct sk__upstream *up)
{
    if (!sk_buf_len(&up->in))
        return 0;
    int r = sk_buf_append(&c->out, sk_buf_data(&up->in), sk_buf_len(&up->in));
    if (r < 0)
        return r;
    sk_buf_clear(&up->in);
    return 0;
}

/* Hand up->in to the service's up_data(). */
static int feed_service(struct sk_conn *c, struct sk__upstream *up)
{
    const struct sk_service *svc = c->srv->svc;

    while (sk_buf_len(&up->in)) {
        if (!svc->up_data || (c->flags & (SK_CONN_END | SK_CONN_ABORT))) {
            sk_buf_clear(&up->in); /* nobody takes it */
            break;
        }
        if (up->piped)
            return pass_leftover(c, up);
        size_t n = sk_buf_len(&up->in);
        ssize_t r = svc->up_data(c, sk_buf_data(&up->in), n);
        if (r < 0)
            return (int)r;
        if (!c->up)
            return 0; /* the service closed it */
        if (r == 0) {
            if (n >= up->in.max && !up->piped)
                return -EMSGSIZE;
            if (!up->piped)
                break;
            continue;
        }
        sk_buf_consume(&up->in, (size_t)r < n ? (size_t)r : n);
    }
    return 0;
}

/* May this piped connection move bulk with splice()? Not under TLS (its
 * bytes pass through OpenSSL) nor where the model sends from its own
 * buffers (io_uring). */
static int can_splice(const struct sk_conn *c)
{
    return c->ops && c->ops->splice && !c->tls && c->up->piped;
}

static int new_pipe(int p[2])
{
    if (p[0] >= 0)
        return 0;
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
        p[0] = p[1] = -1;
        return -errno;
    }
    return 0;
}

/* The upstream ended. */
static int up_ended(struct sk_conn *c, struct sk__upstream *up)
{
    const struct sk_service *svc = c->srv->svc;
    int r;

    up->rd_eof = 1;
    if (up->rfd != up->wfd) {
        forget_fd(c, up->rfd);
        close(up->rfd);
        up->rfd = -1;
    }
    if (up->piped)
        return 0;
    if ((r = feed_service(c, up)) < 0 || !c->up)
        return r;
    if (svc->up_eof)
        return svc->up_eof(c);
    c->flags |= SK_CONN_END;
    return 0;
}

/* Bulk from the upstream into the pipe; the model's flush sends it on
 * (sk__up_flush_pipe, before out). 1 when it took the read, 0 to copy. */
static int splice_up(struct sk_conn *c, struct sk__upstream *up, int64_t now)
{
    if (new_pipe(up->p2c) < 0) {
        up->bulk_up = 0;
        return 0;
    }
    ssize_t n;
    do
        n = splice(up->rfd, NULL, up->p2c[1], NULL, UP_READ_CHUNK,
                   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? 1 : -errno;
    c->last_ms = now;
    if (n == 0) {
        int r = up_ended(c, up);
        return r < 0 ? r : 1;
    }
    up->p2c_len += (size_t)n;
    up->received += (uint64_t)n;
    return 1;
}

int sk__up_flush_pipe(struct sk_conn *c, int64_t now, uint64_t *total)
{
    struct sk__upstream *up = c->up;
    while (up->p2c_len) {
        ssize_t w =
            splice(up->p2c[0], NULL, c->fd, NULL, up->p2c_len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -errno;
        }
        if (w == 0)
            return -EIO;
        up->p2c_len -= (size_t)w;
        sk__conn_sent(c, (size_t)w, now, total);
    }
    return 0;
}

int sk__up_splice_in(struct sk_conn *c, int64_t now, int *eof, uint64_t *total)
{
    struct sk__upstream *up = c->up;

    if (!up->bulk_cl || !can_splice(c) || up->c2p_len || sk_buf_len(&up->out) ||
        sk_buf_len(&c->in) || up->connecting || up->wfd < 0 || up->wr_shut || up->wr_dead ||
        (c->flags & (SK_CONN_END | SK_CONN_ABORT)))
        return 0;
    if (new_pipe(up->c2p) < 0) {
        up->bulk_cl = 0;
        return 0;
    }
    ssize_t n;
    do
        n = splice(c->fd, NULL, up->c2p[1], NULL, UP_READ_CHUNK, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? 1 : -errno;
    if (n == 0) {
        *eof = 1;
        return 1;
    }
    sk__conn_received(c, (size_t)n, now, total);
    up->c2p_len += (size_t)n;
    int r = flush_up(c, up, now);
    return r < 0 ? r : 1;
}

static int read_up(struct sk_conn *c, struct sk__upstream *up, int64_t now)
{
    if (up->piped && up->bulk_up && !up->p2c_len && !sk_buf_len(&c->out) && c->file.fd < 0 &&
        can_splice(c)) {
        int r = splice_up(c, up, now);
        if (r != 0)
            return r < 0 ? r : 0;
    }
    struct sk_buf *dst = up->piped ? &c->out : &up->in;
    size_t room = dst->max - sk_buf_len(dst);
    if (room > UP_READ_CHUNK)
        room = UP_READ_CHUNK;
    if (room == 0)
        return up->piped ? 0 : -EMSGSIZE;
    int r = sk_buf_reserve(dst, room);
    if (r < 0)
        return r == -ENOBUFS ? 0 : r;
    ssize_t n;
    do
        n = read(up->rfd, sk_buf_tail(dst), room);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? 0 : -errno;
    c->last_ms = now;
    if (n == 0)
        return up_ended(c, up);
    sk_buf_commit(dst, (size_t)n);
    up->received += (uint64_t)n;
    if (n >= SK_UP_BULK)
        up->bulk_up = 1;
    return up->piped ? 0 : feed_service(c, up);
}

int sk__up_io(struct sk_conn *c, unsigned ev, int64_t now)
{
    struct sk__upstream *up = c->up;
    int r = 0;

    if (!up)
        return 0;
    if (up->connecting && (ev & (SK_UP_W | SK_UP_R))) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(up->wfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        c->last_ms = now;
        if ((r = connected(c, up, -err)) < 0 || err)
            return r;
        up = c->up;
        if (!up)
            return 0;
    }
    if ((ev & SK_UP_W) && up->wfd >= 0 && (r = flush_up(c, up, now)) < 0)
        return r;
    if ((ev & SK_UP_R) && up->rfd >= 0 && !up->rd_eof && !up->connecting)
        r = read_up(c, up, now);
    return r;
}

int sk__up_settle(struct sk_conn *c, int client_eof, size_t client_pend, int64_t now)
{
    struct sk__upstream *up = c->up;
    int r;

    for (int round = 0; up && up->early && round < 64; round++) {
        /* A result known at once (a Unix socket), reported from the loop. */
        up->early = 0;
        if ((r = connected(c, up, up->early_err)) < 0)
            return r;
        up = c->up;
    }
    if (!up || (c->flags & SK_CONN_ABORT))
        return 0;
    if (up->piped && (r = pass_leftover(c, up)) < 0)
        return r;
    if ((r = flush_up(c, up, now)) < 0)
        return r;
    if (!up->piped) {
        if (up->shut_req && !sk_buf_len(&up->out) && !up->connecting)
            shut_write(c, up);
        return 0;
    }
    /* Piped: the client's EOF goes on once everything it sent went. */
    if (client_eof && !up->wr_shut && !up->connecting && !sk_buf_len(&c->in) &&
        !sk_buf_len(&up->out) && !up->c2p_len)
        shut_write(c, up);
    /* The upstream's EOF goes on once everything it sent went. */
    if (up->rd_eof && !up->cl_shut && !client_pend && !sk_buf_len(&up->in)) {
        up->cl_shut = 1;
        /* No half-close under TLS (close_notify, then close), nor where the
         * service asked for the end (sk_conn_upstream_end_at_eof). */
        if (c->tls || up->end_at_eof)
            c->flags |= SK_CONN_END;
        else
            shutdown(c->fd, SHUT_WR);
    }
    /* Both directions done: the connection ends (lingering if the client
     * may still send, when the upstream stopped taking input). */
    if (up->cl_shut && (up->wr_dead || (up->wr_shut && client_eof)))
        c->flags |= SK_CONN_END;
    return 0;
}

int sk__up_take(struct sk_conn *c, const char *p, size_t n, int64_t now, size_t *used)
{
    struct sk__upstream *up = c->up;

    if (up->wr_shut || up->wr_dead) {
        *used = n; /* nobody reads it any more */
        return 0;
    }
    size_t direct = 0;
    if (n >= SK_UP_BULK)
        up->bulk_cl = 1;
    if (!sk_buf_len(&up->out) && !up->c2p_len && up->wfd >= 0 && !up->connecting) {
        /* Nothing queued: straight from the caller's buffer, no copy. */
        ssize_t w;
        do
            w = up->wsock ? send(up->wfd, p, n, MSG_NOSIGNAL) : write(up->wfd, p, n);
        while (w < 0 && errno == EINTR);
        /* An error comes again from flush_up() below, which knows what to
         * make of it (EPIPE after the upstream's EOF). */
        if (w > 0) {
            direct = (size_t)w;
            up->sent += (uint64_t)w;
            c->last_ms = now;
            p += direct;
            n -= direct;
        }
        if (n == 0) {
            *used = direct;
            return 0;
        }
    }
    size_t room = up->out.max - sk_buf_len(&up->out);
    size_t take = n < room ? n : room;
    if (take) {
        int r = sk_buf_append(&up->out, p, take);
        if (r < 0)
            return r;
    }
    *used = direct + take;
    return flush_up(c, up, now); /* write through: one write per read */
}

int sk__up_may_close(const struct sk_conn *c, int stopping)
{
    const struct sk__upstream *up = c->up;
    if (stopping)
        return !up->connecting && !sk_buf_len(&up->out) && !sk_buf_len(&up->in) && !up->c2p_len &&
               !up->p2c_len && !(up->rfd >= 0 && !up->rd_eof && sk__conn_unread(up->rfd));
    return !up->connecting && !up->early && !up->piped;
}

int64_t sk__up_due(const struct sk_conn *c)
{
    return c->up && c->up->connecting ? c->up->connect_due : 0;
}

int sk__up_expire(struct sk_conn *c, int64_t now)
{
    struct sk__upstream *up = c->up;
    if (!up || !up->connecting || now < up->connect_due)
        return 0;
    sk__hub_lock(c->srv);
    int r = connected(c, up, -ETIMEDOUT);
    sk__hub_unlock(c->srv);
    return r;
}
