/*
 * lookup.c - the name lookups behind `sockit resolve`, `reverse`,
 * `addrinfo` and `hostname`: distinct addresses of a name, every
 * getaddrinfo() tuple, the name of an address, and this host's names.
 * They block on the system resolver.
 */
#include "sockit/tool.h"

#include "sockit/error.h"
#include "sockit/resolve.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Same family and address bytes (ports are not compared). */
static int same_host(const struct sk_addr *a, const struct sk_addr *b)
{
    if (a->u.sa.sa_family != b->u.sa.sa_family)
        return 0;
    if (a->u.sa.sa_family == AF_INET)
        return a->u.in4.sin_addr.s_addr == b->u.in4.sin_addr.s_addr;
    return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, sizeof(struct in6_addr)) == 0 &&
           a->u.in6.sin6_scope_id == b->u.in6.sin6_scope_id;
}

int sk_tool_resolve(const char *name, int family, struct sk_addr **out, char *canon,
                    size_t canon_size)
{
    struct sk_resolve_opts o = {.family = family};
    struct sk_addrinfo *ai;

    if (!name || !*name)
        return sk_gai_error(EAI_NONAME);
    int n = sk_resolve(name, NULL, &o, &ai, canon, canon_size);
    if (n < 0)
        return n;
    struct sk_addr *v = calloc((size_t)n, sizeof(*v));
    if (!v) {
        free(ai);
        return -ENOMEM;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (ai[i].family != AF_INET && ai[i].family != AF_INET6)
            continue;
        int dup = 0;
        for (int j = 0; j < k && !dup; j++)
            dup = same_host(&v[j], &ai[i].addr);
        if (!dup)
            v[k++] = ai[i].addr;
    }
    free(ai);
    if (k == 0) {
        free(v);
        return sk_gai_error(EAI_NODATA);
    }
    *out = v;
    return k;
}

int sk_tool_addrinfo(const char *host, const char *service, int family, int socktype,
                     struct sk_ai_row **out)
{
    struct addrinfo hints, *res = NULL;
    size_t n = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_flags = host ? AI_CANONNAME : AI_PASSIVE;
    errno = 0;
    int g = getaddrinfo(host, service, &hints, &res);
    if (g != 0)
        return sk_gai_error(g);
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        n++;
    struct sk_ai_row *v = calloc(n ? n : 1, sizeof(*v));
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
        if (ai->ai_canonname)
            snprintf(v[i].canon, sizeof(v[i].canon), "%s", ai->ai_canonname);
        i++;
    }
    freeaddrinfo(res);
    if (i == 0) {
        free(v);
        return sk_gai_error(EAI_NONAME);
    }
    *out = v;
    return (int)i;
}

int sk_tool_reverse(const char *addr, char *name, size_t size, const char **why)
{
    struct sk_addr a;

    if (!addr || !*addr) {
        if (why)
            *why = "empty address";
        return -EINVAL;
    }
    if (sk_addr_from_ip(addr, 0, &a, why) < 0)
        return -EINVAL;
    return sk_reverse(&a, name, size, NULL, 0, NI_NAMEREQD);
}

int sk_tool_hostname(char *name, size_t name_size, char *fqdn, size_t fqdn_size, int *fqdn_err)
{
    struct sk_resolve_opts o = {.flags = 0};
    struct sk_addrinfo *ai;

    if (name_size == 0)
        return -ENOSPC;
    if (gethostname(name, name_size) < 0)
        return -errno;
    name[name_size - 1] = '\0';
    fqdn[0] = '\0';
    int n = sk_resolve(name, NULL, &o, &ai, fqdn, fqdn_size);
    if (n < 0) {
        *fqdn_err = n;
        return 0;
    }
    free(ai);
    *fqdn_err = 0;
    if (!fqdn[0])
        snprintf(fqdn, fqdn_size, "%s", name);
    return 0;
}

const char *sk_family_name(int family)
{
    switch (family) {
    case AF_INET: return "inet";
    case AF_INET6: return "inet6";
    case AF_UNIX: return "unix";
    case AF_UNSPEC: return "unspec";
    }
    return "other";
}

const char *sk_socktype_name(int socktype)
{
    switch (socktype) {
    case SOCK_STREAM: return "stream";
    case SOCK_DGRAM: return "dgram";
    case SOCK_RAW: return "raw";
    case SOCK_SEQPACKET: return "seqpacket";
    case 0: return "any";
    }
    return "other";
}

const char *sk_protocol_name(int protocol, char *buf, size_t size)
{
    switch (protocol) {
    case 0: return "ip";
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_SCTP: return "sctp";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_ICMPV6: return "icmpv6";
    }
    snprintf(buf, size, "%d", protocol);
    return buf;
}
