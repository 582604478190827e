/*
 * sock.c - creating, binding, connecting and tuning sockets.
 */
#include "sockit/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int set_int(int fd, int level, int name, int v)
{
    return setsockopt(fd, level, name, &v, sizeof(v)) < 0 ? -errno : 0;
}

int sk_sock_set_nonblock(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
    return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

int sk_sock_set_nodelay(int fd, int on)
{
    return set_int(fd, IPPROTO_TCP, TCP_NODELAY, on);
}

/* A Unix socket file nobody listens on is left over from a dead server. */
static void remove_stale_unix(const struct sk_addr *a, int type)
{
    struct stat st;
    const char *path = a->u.un.sun_path;

    if (path[0] == '\0' || stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return;
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (connect(fd, &a->u.sa, a->len) < 0 && errno == ECONNREFUSED)
        unlink(path);
    close(fd);
}

int sk_sock_listen(const struct sk_addr *a, int type, int backlog, unsigned flags)
{
    int family = a->u.sa.sa_family;
    int fd, r;

    if (family == AF_UNIX)
        remove_stale_unix(a, type);
    fd = socket(family, type | SOCK_CLOEXEC | ((flags & SK_SOCK_NONBLOCK) ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -errno;
    if (family != AF_UNIX) {
        if (type == SOCK_STREAM && (r = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1)) < 0)
            goto err;
        if ((flags & SK_SOCK_REUSEPORT) && (r = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1)) < 0)
            goto err;
        if (family == AF_INET6 &&
            (r = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, (flags & SK_SOCK_V6ONLY) ? 1 : 0)) < 0)
            goto err;
    }
    if (bind(fd, &a->u.sa, a->len) < 0) {
        r = -errno;
        goto err;
    }
    if (type == SOCK_STREAM && listen(fd, backlog) < 0) {
        r = -errno;
        goto err;
    }
    return fd;
err:
    close(fd);
    return r;
}

int sk_sock_connect(const struct sk_addr *a, int type, int timeout_ms, unsigned flags)
{
    return sk_sock_connect_from(a, NULL, type, timeout_ms, flags);
}

int sk_sock_connect_from(const struct sk_addr *a, const struct sk_addr *src, int type,
                         int timeout_ms, unsigned flags)
{
    int fd = socket(a->u.sa.sa_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int r, one = 1;

    if (fd < 0)
        return -errno;
    if (src) {
        /* A fixed source port may still be in TIME_WAIT from the last run. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, &src->u.sa, src->len) < 0) {
            r = -errno;
            goto err;
        }
    }
    if (connect(fd, &a->u.sa, a->len) < 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            r = -errno;
            goto err;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int64_t left = timeout_ms;
        do {
            r = poll(&pfd, 1, timeout_ms < 0 ? -1 : (int)left);
        } while (r < 0 && errno == EINTR);
        if (r == 0) {
            r = -ETIMEDOUT;
            goto err;
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            soerr = errno;
        if (soerr) {
            r = -soerr;
            goto err;
        }
    }
    if (!(flags & SK_SOCK_NONBLOCK) && (r = sk_sock_set_nonblock(fd, 0)) < 0)
        goto err;
    if ((flags & SK_SOCK_NODELAY) && a->u.sa.sa_family != AF_UNIX && type == SOCK_STREAM)
        sk_sock_set_nodelay(fd, 1);
    return fd;
err:
    close(fd);
    return r;
}

int sk_sock_local(int fd, struct sk_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->len = sizeof(out->u);
    return getsockname(fd, &out->u.sa, &out->len) < 0 ? -errno : 0;
}

int sk_sock_peer(int fd, struct sk_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->len = sizeof(out->u);
    return getpeername(fd, &out->u.sa, &out->len) < 0 ? -errno : 0;
}

ssize_t sk_send(int fd, const void *p, size_t n)
{
    for (;;) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w >= 0)
            return w;
        if (errno == ENOTSOCK)
            w = write(fd, p, n);
        if (w >= 0)
            return w;
        if (errno != EINTR)
            return -errno;
    }
}

int sk_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = sk_send(fd, c, n);
        if (w < 0) {
            if (w == -EAGAIN) {
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
                    return -errno;
                continue;
            }
            return (int)w;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

ssize_t sk_read(int fd, void *p, size_t n)
{
    for (;;) {
        ssize_t r = read(fd, p, n);
        if (r >= 0)
            return r;
        if (errno != EINTR)
            return -errno;
    }
}
