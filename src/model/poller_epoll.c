/*
 * poller_epoll.c - the epoll backend: level-triggered, one epoll_ctl only
 * when a descriptor's interest changes.
 */
#include "poller.h"

#include "sockit/util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_EVENTS 256

struct ep {
    int fd;
    struct epoll_event ev[MAX_EVENTS];
};

static int ep_create(void **out)
{
    struct ep *p = malloc(sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->fd = epoll_create1(EPOLL_CLOEXEC);
    if (p->fd < 0) {
        int e = -errno;
        free(p);
        return e;
    }
    *out = p;
    return 0;
}

static void ep_destroy(void *vp)
{
    struct ep *p = vp;
    if (!p)
        return;
    close(p->fd);
    free(p);
}

static uint32_t mask(unsigned want)
{
    return (want & SK_EV_IN ? EPOLLIN : 0) | (want & SK_EV_OUT ? EPOLLOUT : 0);
}

static int ctl(struct ep *p, int op, int fd, unsigned want)
{
    struct epoll_event e = {.events = mask(want), .data.fd = fd};
    return epoll_ctl(p->fd, op, fd, &e) < 0 ? -errno : 0;
}

static int ep_add(void *p, int fd, unsigned want)
{
    return ctl(p, EPOLL_CTL_ADD, fd, want);
}

static int ep_mod(void *p, int fd, unsigned old, unsigned want)
{
    return old == want ? 0 : ctl(p, EPOLL_CTL_MOD, fd, want);
}

static int ep_del(void *p, int fd, unsigned old)
{
    (void)old;
    return ctl(p, EPOLL_CTL_DEL, fd, 0);
}

static int ep_wait(void *vp, struct sk_pevent *ev, int max, int timeout_ms)
{
    struct ep *p = vp;
    int n = epoll_wait(p->fd, p->ev, SK_MIN(max, MAX_EVENTS), timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        uint32_t e = p->ev[i].events;
        ev[i].fd = p->ev[i].data.fd;
        ev[i].ev = (e & EPOLLIN ? SK_EV_IN : 0) | (e & EPOLLOUT ? SK_EV_OUT : 0) |
                   (e & (EPOLLERR | EPOLLHUP) ? SK_EV_ERR : 0);
    }
    return n;
}

const struct sk_poller_ops sk__poller_epoll = {
    .name = "epoll",
    .create = ep_create,
    .destroy = ep_destroy,
    .add = ep_add,
    .mod = ep_mod,
    .del = ep_del,
    .wait = ep_wait,
};
