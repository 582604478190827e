/*
 * connect.c - connecting a client socket (every resolver result in turn).
 * The relay behind `sockit connect` is src/net/relay.c.
 */
#include "sockit/client.h"

#include "sockit/buf.h"
#include "sockit/error.h"
#include "sockit/resolve.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sk_client_connect(const char *host, const char *port, int family, int socktype, int timeout_ms,
                      struct sk_addr *peer)
{
    return sk_client_connect_from(host, port, family, socktype, timeout_ms, NULL, NULL, peer);
}

/* The source address for a target of family fam: src_host (numeric or a
 * name of that family) and src_port, or the wildcard with src_port. */
static int source_for(int fam, int socktype, const char *src_host, const char *src_port,
                      struct sk_addr *out)
{
    const char *any = fam == AF_INET6 ? "::" : "0.0.0.0";
    return sk_resolve_one(src_host ? src_host : any, src_port ? src_port : "0", fam, socktype, 1,
                          out);
}

int sk_client_connect_from(const char *host, const char *port, int family, int socktype,
                           int timeout_ms, const char *src_host, const char *src_port,
                           struct sk_addr *peer)
{
    struct sk_resolve_opts ro = {.family = family, .socktype = socktype};
    struct sk_addrinfo *ai = NULL;
    int n = sk_resolve(host, port, &ro, &ai, NULL, 0);
    if (n < 0)
        return n;
    int r = -EADDRNOTAVAIL;
    for (int i = 0; i < n; i++) {
        if (ai[i].socktype && ai[i].socktype != socktype)
            continue;
        struct sk_addr src;
        if (src_host || src_port) {
            int fam = sk_addr_family(&ai[i].addr);
            if ((r = source_for(fam, socktype, src_host, src_port, &src)) < 0)
                continue; /* no source address of this family */
        }
        r = sk_sock_connect_from(&ai[i].addr, src_host || src_port ? &src : NULL, socktype,
                                 timeout_ms, 0);
        if (r >= 0) {
            if (peer)
                *peer = ai[i].addr;
            break;
        }
    }
    free(ai);
    return r;
}

int sk_client_connect_unix(const char *path, int socktype, struct sk_addr *peer)
{
    struct sk_addr a;
    const char *why;
    int r = sk_addr_unix(path, &a, &why);
    if (r < 0)
        return r;
    if (socktype == SOCK_STREAM) {
        r = sk_sock_connect(&a, socktype, -1, 0);
    } else {
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        /* Binding just the family autobinds an abstract name, so the server
         * has somewhere to send its replies. */
        sa_family_t fam = AF_UNIX;
        if (bind(fd, (struct sockaddr *)&fam, sizeof(fam)) < 0 || connect(fd, &a.u.sa, a.len) < 0) {
            r = -errno;
            close(fd);
            return r;
        }
        r = fd;
    }
    if (r >= 0 && peer)
        *peer = a;
    return r;
}
