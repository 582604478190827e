/*
 * resolve.c - getaddrinfo()/getnameinfo() with libsockit's error convention.
 */
#include "sockit/resolve.h"

#include "sockit/error.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

int sk_resolve(const char *host, const char *service, const struct sk_resolve_opts *opts,
               struct sk_addrinfo **out, char *canon, size_t canon_size)
{
    struct addrinfo hints, *res = NULL;
    size_t n = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = opts ? opts->family : AF_UNSPEC;
    hints.ai_socktype = opts ? opts->socktype : 0;
    hints.ai_flags = (opts ? opts->flags : 0) | (canon ? AI_CANONNAME : 0);
    if (opts && opts->passive)
        hints.ai_flags |= AI_PASSIVE;
    errno = 0;
    int g = getaddrinfo(host, service, &hints, &res);
    if (g != 0)
        return sk_gai_error(g);
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        n++;
    struct sk_addrinfo *v = calloc(n ? n : 1, sizeof(*v));
    if (!v) {
        freeaddrinfo(res);
        return -ENOMEM;
    }
    size_t i = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(v[i].addr.u))
            continue;
        memcpy(&v[i].addr.u, ai->ai_addr, ai->ai_addrlen);
        v[i].addr.len = ai->ai_addrlen;
        v[i].family = ai->ai_family;
        v[i].socktype = ai->ai_socktype;
        v[i].protocol = ai->ai_protocol;
        i++;
    }
    if (canon && canon_size) {
        canon[0] = '\0';
        if (res && res->ai_canonname) {
            strncpy(canon, res->ai_canonname, canon_size - 1);
            canon[canon_size - 1] = '\0';
        }
    }
    freeaddrinfo(res);
    if (i == 0) {
        free(v);
        return sk_gai_error(EAI_NONAME);
    }
    *out = v;
    return (int)i;
}

int sk_resolve_one(const char *host, const char *port, int family, int socktype, int passive,
                   struct sk_addr *out)
{
    struct sk_resolve_opts o = {.family = family, .socktype = socktype, .passive = passive};
    struct sk_addrinfo *v;

    int n = sk_resolve(host, port, &o, &v, NULL, 0);
    if (n < 0)
        return n;
    *out = v[0].addr;
    free(v);
    return 0;
}

int sk_reverse(const struct sk_addr *a, char *host, size_t hostlen, char *serv, size_t servlen,
               int flags)
{
    errno = 0;
    int g =
        getnameinfo(&a->u.sa, a->len, host, (socklen_t)hostlen, serv, (socklen_t)servlen, flags);
    return g ? sk_gai_error(g) : 0;
}
