/*
 * poller.h - the readiness backends under the reactor (select, poll, epoll).
 *
 * One small interface, one file per mechanism, chosen at run time through a
 * table of function pointers (the shape of redis' ae_*.c and nginx's event
 * modules). Interest is level-triggered everywhere: a descriptor is reported
 * while it is readable/writable and its interest asks for it. Errors and
 * hang-ups are reported as SK_EV_ERR whatever the interest (select reports
 * them as readability instead).
 * A poller belongs to one event loop; it is not thread-safe.
 */
#ifndef SOCKIT_MODEL_POLLER_H
#define SOCKIT_MODEL_POLLER_H

enum {
    SK_EV_IN = 1u << 0,
    SK_EV_OUT = 1u << 1,
    SK_EV_ERR = 1u << 2,
};

struct sk_pevent {
    int fd;
    unsigned ev; /* SK_EV_* */
};

struct sk_poller_ops {
    const char *name;
    /* Descriptors >= fd_limit cannot be watched (select: FD_SETSIZE); 0 = no
     * limit. add() refuses them with -ERANGE. */
    int fd_limit;
    /* A new poller in *out. Returns 0 or a negative errno. */
    int (*create)(void **out);
    void (*destroy)(void *p);
    /* Start watching fd with interest want (SK_EV_IN|SK_EV_OUT, may be 0:
     * errors only), change it from old to want, or stop watching it (before
     * it is closed). Return 0 or a negative errno. */
    int (*add)(void *p, int fd, unsigned want);
    int (*mod)(void *p, int fd, unsigned old, unsigned want);
    int (*del)(void *p, int fd, unsigned old);
    /* Wait up to timeout_ms (-1: no limit) and store at most max events.
     * Returns the count (0 on timeout or EINTR) or a negative errno. */
    int (*wait)(void *p, struct sk_pevent *ev, int max, int timeout_ms);
};

extern const struct sk_poller_ops sk__poller_select, sk__poller_poll, sk__poller_epoll;

#endif
