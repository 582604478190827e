/*
 * conn.c - what a service may do to its connection (see conn.h): the
 * model's side of the service contract. It lives with the models because it
 * reads the server's limits and state; the services see only conn.h.
 */
#include "sockit/conn.h"

#include "sockit/server.h"
#include "sockit/util.h"

#include "internal.h"

#include <errno.h>
#include <stdarg.h>
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
    return sk_buf_len(&c->out) + (c->file.fd >= 0 ? c->file.len : 0) +
           (c->up ? c->up->p2c_len : 0); /* spliced from a piped upstream, not sent yet */
}

void *sk_conn_service_state(const struct sk_conn *c)
{
    return c->srv->svc_state;
}

int sk_conn_backpressured(const struct sk_conn *c)
{
    return sk__conn_backpressured(c, NULL); /* the one test the models use */
}
