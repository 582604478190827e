/*
 * conn.c - what a service may do to its connection (see conn.h): the
 * model's side of the service contract. It lives with the models because it
 * reads the server's limits and state; the services see only conn.h.
 */
#include "sockit/conn.h"

#include "sockit/server.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include "internal.h"

#include <errno.h>
#include <linux/tcp.h> /* struct tcp_info with the byte counts */
#include <netinet/in.h>
#include <stdarg.h>
#include <linux/sockios.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void wake(struct sk_conn *c)
{
    if (c->ops && c->ops->wake)
        c->ops->wake(c);
}

int sk_conn_write(struct sk_conn *c, const void *p, size_t n)
{
    if (c->flags & SK_CONN_ABORT)
        return 0; /* about to be dropped: output goes nowhere */
    int r = sk_buf_append(&c->out, p, n);
    if (r == 0)
        wake(c);
    return r;
}

int sk_conn_printf(struct sk_conn *c, const char *fmt, ...)
{
    va_list ap;

    if (c->flags & SK_CONN_ABORT)
        return 0;
    va_start(ap, fmt);
    int r = sk_buf_vprintf(&c->out, fmt, ap);
    va_end(ap);
    if (r == 0)
        wake(c);
    return r;
}

int sk_conn_sendfile(struct sk_conn *c, int fd, off_t off, size_t len)
{
    if (c->file.fd >= 0)
        return -EBUSY;
    if (len == 0) {
        close(fd);
        return 0;
    }
    c->file.fd = fd;
    c->file.off = off;
    c->file.len = len;
    wake(c);
    return 0;
}

void sk_conn_end(struct sk_conn *c)
{
    c->flags |= SK_CONN_END;
    wake(c);
}

void sk_conn_abort(struct sk_conn *c)
{
    c->flags |= SK_CONN_ABORT;
    wake(c);
}

void sk_conn_hold(struct sk_conn *c, int on)
{
    if (on)
        c->flags |= SK_CONN_HOLD;
    else
        c->flags &= ~SK_CONN_HOLD;
}

void sk_conn_set_deadline(struct sk_conn *c, int64_t ms)
{
    c->deadline_ms = ms > 0 ? sk_now_ms() + ms : 0;
}

size_t sk_conn_pending(const struct sk_conn *c)
{
    return sk__conn_pending(c); /* with what was spliced from a piped upstream */
}

void *sk_conn_service_state(const struct sk_conn *c)
{
    return c->srv->svc_state;
}

int sk_conn_backpressured(const struct sk_conn *c)
{
    return sk__conn_backpressured(c, NULL); /* the one test the models use */
}

char **sk_conn_spawn_env(const struct sk_conn *c)
{
    return sk_spawn_env(&c->peer, NULL, c->fd);
}

int sk_conn_exec(struct sk_conn *c, struct sk_spawn *sp)
{
    struct sk_server *srv = c->srv;

    if (!c->ops || !c->ops->own_thread || c->tls || c->fd < 0 || sk_conn_pending(c) > 0)
        return -EOPNOTSUPP;
    sp->fd[0] = sp->fd[1] = c->fd;
    if (sp->fd[2] == SK_SPAWN_STDOUT)
        sp->fd[2] = c->fd;
    int fd = c->fd;
    c->fd = -1;                  /* the program's now: closed below, never shut down by us */
    sk_sock_set_nonblock(fd, 0); /* programs expect blocking standard I/O */
    /* Our copy stays open while the program runs (its exit still closes
     * the connection: ours is closed right after), so the kernel's counts
     * of what went each way can be taken for the log and the totals. */
    int r = sk_spawn_run(sp, c->id, -1, srv->stop_fd, srv->lim.drain_ms);
    struct tcp_info ti;
    socklen_t tl = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    if (r >= 0 && sk_addr_family(&c->peer) != AF_UNIX &&
        getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 &&
        tl >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received)) {
        /* The peer's FIN counts as a byte received; what is sent but not
         * yet acknowledged is in the send queue. */
        enum { TIME_WAIT = 6, CLOSE_WAIT = 8, LAST_ACK = 9, CLOSING = 11 }; /* tcp_states.h */
        int st = ti.tcpi_state;
        int fin = st == CLOSE_WAIT || st == LAST_ACK || st == CLOSING || st == TIME_WAIT;
        int queued = 0;
        if (ioctl(fd, SIOCOUTQ, &queued) < 0 || queued < 0)
            queued = 0;
        c->bytes_in = ti.tcpi_bytes_received - (fin && ti.tcpi_bytes_received ? 1 : 0);
        c->bytes_out = ti.tcpi_bytes_acked + (uint64_t)queued;
        atomic_fetch_add(&srv->st->bytes_in, c->bytes_in);
        atomic_fetch_add(&srv->st->bytes_out, c->bytes_out);
    }
    close(fd);
    c->flags |= SK_CONN_END;
    return r;
}
