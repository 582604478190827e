/*
 * evloop.c - the helpers the two event loops share (see evloop.h): pure
 * decisions on one connection and the small bookkeeping around it, no
 * descriptor waiting (each loop keeps its own mechanism).
 */
#include "evloop.h"

#include "internal.h"

#include "sockit/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

int sk__ev_rate_ok(_Atomic int64_t *last, int64_t now)
{
    int64_t prev = atomic_load(last);
    return now - prev >= 1000 && atomic_compare_exchange_strong(last, &prev, now);
}

int64_t sk__ev_due(const struct sk_conn *c, int fat)
{
    int64_t due = 0;
    if (c->srv->lim.idle_timeout_ms > 0)
        due = c->last_ms + c->srv->lim.idle_timeout_ms;
    if (c->deadline_ms && (!due || c->deadline_ms < due))
        due = c->deadline_ms;
    if (fat && (!due || c->last_ms + SK_EV_SHRINK_MS < due))
        due = c->last_ms + SK_EV_SHRINK_MS;
    return due;
}

int sk__ev_expired(const struct sk_conn *c, int64_t now)
{
    int idle = c->srv->lim.idle_timeout_ms;
    return (c->deadline_ms && c->deadline_ms <= now) || (idle > 0 && now - c->last_ms >= idle);
}

void sk__ev_shrink(struct sk_conn *c)
{
    sk_buf_shrink(&c->in, SK_EV_KEEP_BUF); /* each only when empty */
    sk_buf_shrink(&c->out, SK_EV_KEEP_BUF);
}

int sk__ev_backpressured(const struct sk_conn *c, const struct sk_buf *inflight)
{
    return c->file.fd >= 0 ||
           sk_buf_len(&c->out) + (inflight ? sk_buf_len(inflight) : 0) > c->srv->lim.out_high;
}

int sk__ev_feed(struct sk_conn *c, const char *p, size_t n, const struct sk_buf *inflight,
                char *held)
{
    const struct sk_service *svc = c->srv->svc;
    int from_in = p == NULL, err = 0;
    size_t used = 0;

    if (from_in) {
        p = sk_buf_data(&c->in);
        n = sk_buf_len(&c->in);
    }
    while (used < n) {
        if (c->flags & (SK_CONN_END | SK_CONN_ABORT)) {
            used = n; /* the service is done with this peer */
            break;
        }
        if (sk__ev_backpressured(c, inflight)) {
            *held = 1;
            break;
        }
        ssize_t r = svc->data(c, p + used, n - used);
        if (r < 0) {
            err = (int)r;
            break;
        }
        if (r == 0) {
            if (n - used >= c->in.max)
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

int sk__ev_can_close(const struct sk_conn *c, size_t pend, int eof, int held, int stopping)
{
    if (eof && !pend && !c->deadline_ms && !held)
        return 1;
    /* Stopping with nothing in flight: no reason to wait for the bound. */
    return stopping && !pend && !sk_buf_len(&c->in) && !c->deadline_ms && !sk__ev_unread(c->fd);
}

int sk__ev_unread(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

void sk__ev_signal(int wake_fd, int *signalled)
{
    if (!*signalled) {
        *signalled = 1;
        uint64_t one = 1;
        ssize_t w = write(wake_fd, &one, sizeof(one));
        (void)w;
    }
}

void sk__ev_flush_counters(struct sk_server *srv, uint64_t *bytes_in, uint64_t *bytes_out)
{
    if (*bytes_in) {
        atomic_fetch_add_explicit(&srv->st->bytes_in, *bytes_in, memory_order_relaxed);
        *bytes_in = 0;
    }
    if (*bytes_out) {
        atomic_fetch_add_explicit(&srv->st->bytes_out, *bytes_out, memory_order_relaxed);
        *bytes_out = 0;
    }
}

int sk__ev_stdin_stop(struct sk_server *srv)
{
    return sk__server_terminal_line(srv);
}

struct ev_thread {
    const struct sk__ev_driver *d;
    void *loop;
    int err;
    pthread_t tid;
};

static void *ev_thread_main(void *arg)
{
    struct ev_thread *t = arg;
    sk__block_signals();
    t->err = t->d->run(t->loop);
    return NULL;
}

int sk__ev_run(struct sk_server *srv, const struct sk__ev_driver *d, const void *arg)
{
    unsigned n = srv->workers ? srv->workers : 1, started = 1;
    char *loops = calloc(n, d->size);
    struct ev_thread *th = calloc(n, sizeof(*th));
    int r = 0;

    if (!loops || !th) {
        free(loops);
        free(th);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        th[i].d = d;
        th[i].loop = loops + (size_t)i * d->size;
        d->clear(th[i].loop);
    }
    for (unsigned i = 0; i < n && r == 0; i++)
        r = d->init(th[i].loop, srv, i, n, arg);
    if (r < 0)
        goto out;
    for (; started < n; started++) {
        int e = pthread_create(&th[started].tid, NULL, ev_thread_main, &th[started]);
        if (e) {
            r = -e;
            sk_server_stop(srv);
            break;
        }
    }
    int e0 = d->run(th[0].loop);
    if (r == 0)
        r = e0;
    for (unsigned i = 1; i < started; i++) {
        pthread_join(th[i].tid, NULL);
        if (r == 0)
            r = th[i].err;
    }
out:
    for (unsigned i = 0; i < n; i++)
        d->free(th[i].loop);
    free(th);
    free(loops);
    return r;
}
