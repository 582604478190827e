/*
 * drive.c - what every model does to one connection the same way, written
 * once for the blocking driver (blocking.c), the event loop core (evloop.c)
 * and the datagram models (udp*.c): handing input to the service with
 * backpressure, flushing output and counting it, deadlines (idle timeout,
 * service deadline, stop bound), when a connection may close, the unread
 * check, and rate-limited logging (the terminal's stop line is
 * sk__server_terminal_line(), server.c).
 */
#include "internal.h"

#include "sockit/util.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>

int sk__conn_feed(struct sk_conn *c, const char *p, size_t n, const struct sk_buf *inflight,
                  char *held)
{
    const struct sk_service *svc = c->srv->svc;
    int from_in = p == NULL, err = 0;
    size_t used = 0;

    if (from_in) {
        p = sk_buf_data(&c->in);
        n = sk_buf_len(&c->in);
    }
    *held = 0;
    while (used < n) {
        if (c->flags & (SK_CONN_END | SK_CONN_ABORT)) {
            used = n; /* the service is done with this peer */
            break;
        }
        if (c->up && c->up->piped) {
            /* Piped: the bytes go to the upstream, not the service. */
            size_t took = 0;
            err = sk__up_take(c, p + used, n - used, c->last_ms, &took);
            used += took;
            if (!err && used < n)
                *held = 1; /* the upstream's queue is full: resume once it drains */
            break;
        }
        if (sk__conn_backpressured(c, inflight) || (c->flags & SK_CONN_HOLD)) {
            *held = 1; /* resume once output drains (or the service releases input) */
            break;
        }
        ssize_t r = svc->data(c, p + used, n - used);
        if (r < 0) {
            err = (int)r;
            break;
        }
        if (r == 0) {
            /* Input full and the service waits for no output to drain. */
            if (c->flags & SK_CONN_HOLD)
                *held = 1; /* the service waits: offered again once released */
            else if (n - used >= c->in.max && !sk__conn_pending(c) &&
                     !(inflight && sk_buf_len(inflight)))
                err = -EMSGSIZE;
            break;
        }
        used += (size_t)r < n - used ? (size_t)r : n - used;
    }
    if (from_in) {
        sk_buf_consume(&c->in, used);
    } else if (used < n && !err) {
        int r = sk_buf_append(&c->in, p + used, n - used);
        if (r < 0)
            err = r == -ENOBUFS ? -EMSGSIZE : r;
    }
    return err;
}

int sk__conn_expired(const struct sk_conn *c, int64_t now, int held)
{
    int idle = c->srv->lim.idle_timeout_ms;
    if (c->tls && c->tls->hs_due && c->tls->hs_due <= now)
        return 1;
    if (c->up && sk__up_due(c) && sk__up_due(c) <= now)
        return 1;
    return (sk__conn_service_armed(c, held) && c->deadline_ms <= now) ||
           (idle > 0 && now - c->last_ms >= idle);
}

int sk__conn_timeout_ms(const struct sk_conn *c, int64_t now, int64_t stop_at, int held)
{
    int64_t t = sk__conn_due(c, 0, held);

    if (stop_at && (!t || stop_at < t))
        t = stop_at;
    if (!t)
        return -1;
    return t <= now ? 0 : (int)SK_MIN(t - now, 60 * 60 * 1000);
}

int sk__conn_expire(struct sk_conn *c, int64_t now, int64_t stop_at, int held)
{
    struct sk_server *srv = c->srv;

    if (stop_at && now >= stop_at)
        return -ETIMEDOUT;
    if (c->tls && c->tls->hs_due && now >= c->tls->hs_due)
        return sk__tls_timeout(c);
    if (c->up && sk__up_due(c) && now >= sk__up_due(c)) {
        int r = sk__up_expire(c, now); /* the service hears -ETIMEDOUT */
        if (r < 0 || !sk__conn_expired(c, now, held))
            return r;
    }
    if (sk__conn_service_armed(c, held) && now >= c->deadline_ms) {
        c->deadline_ms = 0;
        if (!srv->svc->timeout)
            return -ETIMEDOUT;
        /* The service is handed the unread input and says what it took;
         * consuming it is the model's. */
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

int sk__conn_unread(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

int sk__rate_ok(struct sk__ratelimit *rl, uint64_t *skipped)
{
    int64_t now = sk_now_ms(), prev = atomic_load(&rl->last);
    if (now - prev >= 1000 && atomic_compare_exchange_strong(&rl->last, &prev, now)) {
        uint64_t was = atomic_exchange(&rl->skipped, 0);
        if (skipped)
            *skipped = was;
        return 1;
    }
    atomic_fetch_add(&rl->skipped, 1);
    return 0;
}
