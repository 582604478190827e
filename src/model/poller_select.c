/*
 * poller_select.c - the select(2) backend. select() cannot watch a
 * descriptor >= FD_SETSIZE (writing past an fd_set corrupts memory), so
 * add() refuses those with -ERANGE and the reactor closes such connections
 * with a log line.
 */
#include "poller.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

struct sel {
    fd_set rd, wr, all; /* interest; `all` = watched (errors reported as readable) */
    int maxfd;          /* highest watched descriptor, -1 when none */
    fd_set rrd, rwr;    /* result sets of the last wait */
};

static int sel_create(void **out)
{
    struct sel *p = malloc(sizeof(*p));
    if (!p)
        return -ENOMEM;
    FD_ZERO(&p->rd);
    FD_ZERO(&p->wr);
    FD_ZERO(&p->all);
    p->maxfd = -1;
    *out = p;
    return 0;
}

static void sel_destroy(void *p)
{
    free(p);
}

static void apply(struct sel *p, int fd, unsigned want)
{
    if (want & SK_EV_IN)
        FD_SET(fd, &p->rd);
    else
        FD_CLR(fd, &p->rd);
    if (want & SK_EV_OUT)
        FD_SET(fd, &p->wr);
    else
        FD_CLR(fd, &p->wr);
}

static int sel_add(void *vp, int fd, unsigned want)
{
    struct sel *p = vp;
    if (fd < 0)
        return -EBADF;
    if (fd >= FD_SETSIZE)
        return -ERANGE;
    FD_SET(fd, &p->all);
    apply(p, fd, want);
    if (fd > p->maxfd)
        p->maxfd = fd;
    return 0;
}

static int sel_mod(void *vp, int fd, unsigned old, unsigned want)
{
    struct sel *p = vp;
    (void)old;
    if (fd < 0 || fd >= FD_SETSIZE || !FD_ISSET(fd, &p->all))
        return -ENOENT;
    apply(p, fd, want);
    return 0;
}

static int sel_del(void *vp, int fd, unsigned old)
{
    struct sel *p = vp;
    (void)old;
    if (fd < 0 || fd >= FD_SETSIZE || !FD_ISSET(fd, &p->all))
        return -ENOENT;
    apply(p, fd, 0);
    FD_CLR(fd, &p->all);
    while (p->maxfd >= 0 && !FD_ISSET(p->maxfd, &p->all))
        p->maxfd--;
    return 0;
}

static int sel_wait(void *vp, struct sk_pevent *ev, int max, int timeout_ms)
{
    struct sel *p = vp;
    struct timeval tv, *tvp = NULL;
    if (timeout_ms >= 0) {
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        tvp = &tv;
    }
    memcpy(&p->rrd, &p->rd, sizeof(fd_set));
    memcpy(&p->rwr, &p->wr, sizeof(fd_set));
    int n = select(p->maxfd + 1, &p->rrd, &p->rwr, NULL, tvp);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    int k = 0;
    for (int fd = 0; fd <= p->maxfd && k < n && k < max; fd++) {
        unsigned e =
            (FD_ISSET(fd, &p->rrd) ? SK_EV_IN : 0) | (FD_ISSET(fd, &p->rwr) ? SK_EV_OUT : 0);
        if (!e)
            continue;
        ev[k].fd = fd;
        ev[k].ev = e;
        k++;
    }
    return k;
}

const struct sk_poller_ops sk__poller_select = {
    .name = "select",
    .fd_limit = FD_SETSIZE,
    .create = sel_create,
    .destroy = sel_destroy,
    .add = sel_add,
    .mod = sel_mod,
    .del = sel_del,
    .wait = sel_wait,
};
