/*
 * scan.c - `sockit connect -z`: which ports of one address accept a TCP
 * connection. Nonblocking connects, a bounded number in flight, each bounded
 * by its own timeout; and the pure parser of a port or port range.
 */
#include "sockit/client.h"

#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sk_port_range_parse(const char *s, uint16_t *lo, uint16_t *hi, const char **why)
{
    const char *dash = strchr(s, '-');
    char first[8];
    size_t n = dash ? (size_t)(dash - s) : strlen(s);

    if (n == 0 || n >= sizeof(first)) {
        *why = "not a port or a range of ports (e.g. 80 or 20-25)";
        return -EINVAL;
    }
    memcpy(first, s, n);
    first[n] = '\0';
    if (sk_port_parse(first, lo, why) < 0 || (dash && sk_port_parse(dash + 1, hi, why) < 0))
        return -EINVAL;
    if (!dash)
        *hi = *lo;
    if (*lo == 0) {
        *why = "port 0 cannot be connected to";
        return -EINVAL;
    }
    if (*hi < *lo) {
        *why = "the range ends before it starts";
        return -EINVAL;
    }
    return 0;
}

/* Start a nonblocking connect; returns the descriptor, or a negative error
 * when it already failed. fd < 0 with *done set means finished at once. */
static int start(const struct sk_addr *a, uint16_t port, int *done)
{
    struct sk_addr t = *a;
    sk_addr_set_port(&t, port);
    *done = 0;
    int fd = socket(sk_addr_family(&t), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, &t.u.sa, t.len) == 0) {
        *done = 1;
        return fd;
    }
    if (errno != EINPROGRESS) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

int sk_scan(const struct sk_addr *target, const uint16_t *ports, size_t n, int timeout_ms,
            unsigned parallel, volatile sig_atomic_t *stop, int *result)
{
    struct slot {
        int fd;
        size_t i;
        int64_t deadline;
    } * slots;
    struct pollfd *p;
    size_t next = 0, finished = 0;

    if (parallel == 0)
        parallel = 1;
    if (parallel > n)
        parallel = n ? (unsigned)n : 1;
    slots = calloc(parallel, sizeof(*slots));
    p = calloc(parallel, sizeof(*p));
    if (!slots || !p) {
        free(slots);
        free(p);
        return -ENOMEM;
    }
    for (unsigned k = 0; k < parallel; k++)
        slots[k].fd = -1;
    while (finished < n) {
        if (stop && *stop)
            break;
        int64_t now = sk_now_ms(), wait = -1;
        for (unsigned k = 0; k < parallel; k++) {
            while (slots[k].fd < 0 && next < n) {
                int done, fd = start(target, ports[next], &done);
                if (fd < 0 || done) {
                    result[next++] = fd < 0 ? fd : 0;
                    finished++;
                    if (fd >= 0)
                        close(fd);
                    continue;
                }
                slots[k] = (struct slot){.fd = fd, .i = next++, .deadline = now + timeout_ms};
            }
            p[k] = (struct pollfd){.fd = slots[k].fd, .events = POLLOUT};
            if (slots[k].fd >= 0 && (wait < 0 || slots[k].deadline - now < wait))
                wait = slots[k].deadline > now ? slots[k].deadline - now : 0;
        }
        if (finished == n)
            break;
        int r = poll(p, parallel, (int)SK_MIN(wait, (int64_t)200));
        if (r < 0 && errno != EINTR)
            break;
        now = sk_now_ms();
        for (unsigned k = 0; k < parallel; k++) {
            struct slot *s = &slots[k];
            if (s->fd < 0)
                continue;
            int res;
            if (p[k].revents) {
                int err = 0;
                socklen_t len = sizeof(err);
                if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                    err = errno;
                res = -err;
            } else if (now >= s->deadline) {
                res = -ETIMEDOUT;
            } else {
                continue;
            }
            result[s->i] = res;
            close(s->fd);
            s->fd = -1;
            finished++;
        }
    }
    for (unsigned k = 0; k < parallel; k++)
        if (slots[k].fd >= 0)
            close(slots[k].fd);
    free(slots);
    free(p);
    return (int)finished;
}
