/*
 * link.c - the server-wide links of a hub service (conn.h: svc->link_open,
 * chat's connections to Redis) under the blocking models that carry hub
 * services (thread, pool). These models give every connection a thread of
 * their own; a link is run the same way: one more "connection" on a thread
 * of the model, which polls the link's upstream descriptors, an eventfd
 * (a member's callback wrote to the link) and the stop, and drives the
 * upstream through upstream.c's steps under the hub lock, exactly as the
 * event loops do (evloop.c). The service never owns a thread.
 */
#include "internal.h"

#include "sockit/error.h"
#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct link_drv {
    struct sk_conn c;
    struct sk_server *srv;
    int wake_fd;
    atomic_int quit;
    pthread_t tid;
    int started;
};

struct sk__links {
    unsigned n;
    struct link_drv d[];
};

/* Another connection's hub callback wrote to the link. Hub lock held. */
static void link_wake(struct sk_conn *c)
{
    struct link_drv *d = c->model_data;
    uint64_t one = 1;
    ssize_t w = write(d->wake_fd, &one, sizeof(one));
    (void)w;
}

static const struct sk_conn_ops link_ops = {.wake = link_wake};

/* The upstream failed: closed, and the service told (it may reconnect).
 * Hub lock held. */
static int lost(struct link_drv *d, int r)
{
    const struct sk_service *svc = d->srv->svc;
    for (int i = 0; i < 4 && r < 0; i++) {
        sk_conn_upstream_close(&d->c);
        r = svc->up_connected ? svc->up_connected(&d->c, r) : 0;
    }
    return r;
}

static void *link_main(void *arg)
{
    struct link_drv *d = arg;
    struct sk_server *srv = d->srv;
    struct sk_conn *c = &d->c;

    sk__block_signals();
    while (!srv->stop && !atomic_load(&d->quit)) {
        int64_t now = sk_now_ms();
        struct pollfd p[4] = {
            {.fd = srv->stop_fd, .events = POLLIN},
            {.fd = d->wake_fd, .events = POLLIN},
            {.fd = -1},
            {.fd = -1},
        };
        sk__hub_lock(srv);
        if (c->up)
            lost(d, sk__up_settle(c, 1, 0, now)); /* what was queued goes out */
        unsigned want = c->up ? sk__up_want(c, 0) : 0;
        if (want & SK_UP_R) {
            p[2].fd = c->up->rfd;
            p[2].events = POLLIN;
        }
        if (want & SK_UP_W) {
            int slot = c->up->wfd == c->up->rfd ? 2 : 3;
            p[slot].fd = c->up->wfd;
            p[slot].events |= POLLOUT;
        }
        sk__hub_unlock(srv);
        int ms = sk__conn_timeout_ms(c, now, 0, 0);
        int n = poll(p, 4, ms < 0 || ms > 1000 ? 1000 : ms);
        if (n < 0 && errno != EINTR)
            break;
        now = sk_now_ms();
        if (p[1].revents) {
            uint64_t v;
            ssize_t r = read(d->wake_fd, &v, sizeof(v));
            (void)r;
        }
        unsigned ev = 0;
        for (int i = 2; i < 4; i++) {
            if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
                ev |= SK_UP_R;
            if (p[i].revents & (POLLOUT | POLLERR))
                ev |= SK_UP_W;
        }
        if (ev) {
            sk__hub_lock(srv);
            lost(d, sk__up_io(c, ev & want, now));
            sk__hub_unlock(srv);
        }
        if (sk__conn_expired(c, now, 0)) {
            int r = sk__conn_expire(c, now, 0, 0); /* takes the hub lock itself */
            if (r < 0) {
                sk__hub_lock(srv);
                lost(d, r);
                sk__hub_unlock(srv);
            }
        }
    }
    return NULL;
}

int sk__links_start(struct sk_server *srv, struct sk__links **out)
{
    *out = NULL;
    if (!srv->links)
        return 0;
    struct sk__links *lk = calloc(1, sizeof(*lk) + srv->links * sizeof(lk->d[0]));
    if (!lk)
        return -ENOMEM;
    *out = lk;
    for (unsigned i = 0; i < srv->links; i++) {
        struct link_drv *d = &lk->d[i];
        d->srv = srv;
        d->c.ops = &link_ops;
        d->c.model_data = d;
        if ((d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
            return -errno;
        lk->n = i + 1;
        int r = sk__link_open(srv, &d->c, i);
        if (r < 0)
            return r;
        if ((r = pthread_create(&d->tid, NULL, link_main, d)) != 0) {
            sk__conn_close(&d->c, -r);
            return -r;
        }
        d->started = 1;
    }
    return 0;
}

void sk__links_stop(struct sk__links *lk)
{
    if (!lk)
        return;
    for (unsigned i = 0; i < lk->n; i++) {
        struct link_drv *d = &lk->d[i];
        atomic_store(&d->quit, 1);
        uint64_t one = 1;
        ssize_t w = write(d->wake_fd, &one, sizeof(one));
        (void)w;
        if (d->started) {
            pthread_join(d->tid, NULL);
            sk__conn_close(&d->c, 0);
        }
        close(d->wake_fd);
    }
    free(lk);
}
