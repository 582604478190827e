/*
 * poller_poll.c - the poll(2) backend: a dense pollfd array plus a map from
 * descriptor to slot, so changes are O(1) and a wait scans only the watched
 * descriptors.
 */
#include "poller.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

struct pl {
    struct pollfd *v; /* watched descriptors, dense */
    size_t n, cap;
    int *slot; /* slot[fd]: index in v, or -1 */
    size_t nslot;
};

static int pl_create(void **out)
{
    struct pl *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    *out = p;
    return 0;
}

static void pl_destroy(void *vp)
{
    struct pl *p = vp;
    if (!p)
        return;
    free(p->v);
    free(p->slot);
    free(p);
}

static short mask(unsigned want)
{
    return (short)((want & SK_EV_IN ? POLLIN : 0) | (want & SK_EV_OUT ? POLLOUT : 0));
}

static int pl_add(void *vp, int fd, unsigned want)
{
    struct pl *p = vp;
    if (fd < 0)
        return -EBADF;
    if ((size_t)fd >= p->nslot) {
        size_t n = p->nslot ? p->nslot : 64;
        while (n <= (size_t)fd)
            n *= 2;
        int *s = realloc(p->slot, n * sizeof(*s));
        if (!s)
            return -ENOMEM;
        memset(s + p->nslot, 0xff, (n - p->nslot) * sizeof(*s)); /* -1 */
        p->slot = s;
        p->nslot = n;
    }
    if (p->slot[fd] >= 0)
        return -EEXIST;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct pollfd *v = realloc(p->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n] = (struct pollfd){.fd = fd, .events = mask(want)};
    p->slot[fd] = (int)p->n++;
    return 0;
}

static int lookup(const struct pl *p, int fd)
{
    return fd >= 0 && (size_t)fd < p->nslot ? p->slot[fd] : -1;
}

static int pl_mod(void *vp, int fd, unsigned old, unsigned want)
{
    struct pl *p = vp;
    (void)old;
    int i = lookup(p, fd);
    if (i < 0)
        return -ENOENT;
    p->v[i].events = mask(want);
    return 0;
}

static int pl_del(void *vp, int fd, unsigned old)
{
    struct pl *p = vp;
    (void)old;
    int i = lookup(p, fd);
    if (i < 0)
        return -ENOENT;
    p->v[i] = p->v[--p->n];
    if ((size_t)i < p->n)
        p->slot[p->v[i].fd] = i;
    p->slot[fd] = -1;
    return 0;
}

static int pl_wait(void *vp, struct sk_pevent *ev, int max, int timeout_ms)
{
    struct pl *p = vp;
    int n = poll(p->v, p->n, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    int k = 0;
    for (size_t i = 0; i < p->n && k < n && k < max; i++) {
        short r = p->v[i].revents;
        if (!r)
            continue;
        ev[k].fd = p->v[i].fd;
        ev[k].ev = (r & POLLIN ? SK_EV_IN : 0) | (r & POLLOUT ? SK_EV_OUT : 0) |
                   (r & (POLLERR | POLLHUP | POLLNVAL) ? SK_EV_ERR : 0);
        k++;
    }
    return k;
}

const struct sk_poller_ops sk__poller_poll = {
    .name = "poll",
    .create = pl_create,
    .destroy = pl_destroy,
    .add = pl_add,
    .mod = pl_mod,
    .del = pl_del,
    .wait = pl_wait,
};
