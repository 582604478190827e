/*
 * addr.c - strict, pure parsing and formatting of socket addresses.
 */
#include "sockit/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

static int fail(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return -EINVAL;
}

int sk_ip4_parse(const char *s, struct in_addr *out, const char **why)
{
    uint32_t v = 0;
    int parts = 0;
    const char *p = s;

    if (!s || !*s)
        return fail(why, "empty address");
    for (;;) {
        if (*p < '0' || *p > '9')
            return fail(why, *p == '\0' || *p == '.' ? "empty part in dotted address"
                                                     : "not a dotted-quad IPv4 address");
        if (*p == '0' && p[1] >= '0' && p[1] <= '9')
            return fail(why, "leading zero in a part (ambiguous: octal to inet_aton)");
        unsigned part = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            part = part * 10 + (unsigned)(*p++ - '0');
            if (++digits > 3 || part > 255)
                return fail(why, "part out of range 0..255");
        }
        v = (v << 8) | part;
        parts++;
        if (*p == '\0')
            break;
        if (*p != '.' || parts == 4)
            return fail(why,
                        parts == 4 ? "more than four parts" : "not a dotted-quad IPv4 address");
        p++;
    }
    if (parts != 4)
        return fail(why, "fewer than four parts (strict form is a.b.c.d)");
    out->s_addr = htonl(v);
    return 0;
}

int sk_ip6_parse(const char *s, struct in6_addr *out, uint32_t *scope, const char **why)
{
    char tmp[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    const char *pct;
    size_t n;

    if (!s || !*s)
        return fail(why, "empty address");
    n = strlen(s);
    if (n >= sizeof(tmp))
        return fail(why, "IPv6 address too long");
    memcpy(tmp, s, n + 1);
    if (scope)
        *scope = 0;
    pct = strchr(tmp, '%');
    if (pct) {
        tmp[pct - tmp] = '\0';
        const char *zone = pct + 1;
        if (!*zone)
            return fail(why, "empty zone after '%'");
        unsigned idx = if_nametoindex(zone);
        if (!idx) {
            unsigned v = 0;
            for (const char *z = zone; *z; z++) {
                if (*z < '0' || *z > '9' || v > 100000000)
                    return fail(why, "unknown interface in zone");
                v = v * 10 + (unsigned)(*z - '0');
            }
            idx = v;
        }
        if (scope)
            *scope = idx;
    }
    if (inet_pton(AF_INET6, tmp, out) != 1)
        return fail(why, "not a valid IPv6 address");
    return 0;
}

int sk_port_parse(const char *s, uint16_t *out, const char **why)
{
    unsigned v = 0;

    if (!s || !*s)
        return fail(why, "empty port");
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return fail(why, "port is not a number");
        v = v * 10 + (unsigned)(*p - '0');
        if (v > 65535)
            return fail(why, "port out of range 0..65535");
    }
    *out = (uint16_t)v;
    return 0;
}

int sk_addr_unix(const char *path, struct sk_addr *out, const char **why)
{
    size_t n = strlen(path);

    memset(out, 0, sizeof(*out));
    if (n == 0)
        return fail(why, "empty Unix socket path");
    if (n >= sizeof(out->u.un.sun_path))
        return fail(why, "Unix socket path too long");
    out->u.un.sun_family = AF_UNIX;
    memcpy(out->u.un.sun_path, path, n);
    if (path[0] == '@')
        out->u.un.sun_path[0] = '\0'; /* abstract namespace */
    out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
    return 0;
}

int sk_addr_from_ip(const char *host, uint16_t port, struct sk_addr *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (strchr(host, ':')) {
        uint32_t scope;
        if (sk_ip6_parse(host, &out->u.in6.sin6_addr, &scope, why) < 0)
            return -EINVAL;
        out->u.in6.sin6_family = AF_INET6;
        out->u.in6.sin6_port = htons(port);
        out->u.in6.sin6_scope_id = scope;
        out->len = sizeof(out->u.in6);
        return 0;
    }
    if (sk_ip4_parse(host, &out->u.in4.sin_addr, why) < 0)
        return -EINVAL;
    out->u.in4.sin_family = AF_INET;
    out->u.in4.sin_port = htons(port);
    out->len = sizeof(out->u.in4);
    return 0;
}

int sk_addr_parse(const char *s, uint16_t default_port, struct sk_addr *out, const char **why)
{
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    uint16_t port = default_port;
    const char *colon;
    size_t hl;

    if (!s || !*s)
        return fail(why, "empty address");
    if (s[0] == '/')
        return sk_addr_unix(s, out, why);
    if (strncmp(s, "unix:", 5) == 0)
        return sk_addr_unix(s + 5, out, why);
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close)
            return fail(why, "missing ']' after IPv6 address");
        hl = (size_t)(close - s - 1);
        if (hl == 0 || hl >= sizeof(host))
            return fail(why, hl ? "IPv6 address too long" : "empty IPv6 address");
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        if (close[1] == ':') {
            if (sk_port_parse(close + 2, &port, why) < 0)
                return -EINVAL;
        } else if (close[1] != '\0') {
            return fail(why, "unexpected text after ']'");
        }
        if (!strchr(host, ':'))
            return fail(why, "brackets hold an IPv6 address");
        return sk_addr_from_ip(host, port, out, why);
    }
    colon = strchr(s, ':');
    if (colon && strchr(colon + 1, ':'))
        return sk_addr_from_ip(s, port, out, why); /* bare IPv6, no port */
    hl = colon ? (size_t)(colon - s) : strlen(s);
    if (hl == 0 || hl >= sizeof(host))
        return fail(why, hl ? "address too long" : "empty host");
    memcpy(host, s, hl);
    host[hl] = '\0';
    if (colon && sk_port_parse(colon + 1, &port, why) < 0)
        return -EINVAL;
    return sk_addr_from_ip(host, port, out, why);
}

int sk_addr_format_host(const struct sk_addr *a, char *buf, size_t size)
{
    char tmp[SK_ADDR_STRLEN];
    int n;

    switch (a->u.sa.sa_family) {
    case AF_INET: inet_ntop(AF_INET, &a->u.in4.sin_addr, tmp, sizeof(tmp)); break;
    case AF_INET6: inet_ntop(AF_INET6, &a->u.in6.sin6_addr, tmp, sizeof(tmp)); break;
    case AF_UNIX: {
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t len = a->len > off ? a->len - off : 0;
        if (len == 0) {
            snprintf(tmp, sizeof(tmp), "(unnamed)");
        } else if (a->u.un.sun_path[0] == '\0') {
            snprintf(tmp, sizeof(tmp), "@%.*s", (int)(len - 1), a->u.un.sun_path + 1);
        } else {
            snprintf(tmp, sizeof(tmp), "%.*s", (int)strnlen(a->u.un.sun_path, len),
                     a->u.un.sun_path);
        }
        break;
    }
    default: snprintf(tmp, sizeof(tmp), "(family %d)", a->u.sa.sa_family);
    }
    n = snprintf(buf, size, "%s", tmp);
    return (size_t)n >= size ? -ENOSPC : n;
}

int sk_addr_format(const struct sk_addr *a, char *buf, size_t size)
{
    char host[SK_ADDR_STRLEN];
    int n;

    sk_addr_format_host(a, host, sizeof(host));
    switch (a->u.sa.sa_family) {
    case AF_INET: n = snprintf(buf, size, "%s:%u", host, sk_addr_port(a)); break;
    case AF_INET6: n = snprintf(buf, size, "[%s]:%u", host, sk_addr_port(a)); break;
    case AF_UNIX: n = snprintf(buf, size, "unix:%s", host); break;
    default: n = snprintf(buf, size, "%s", host);
    }
    return (size_t)n >= size ? -ENOSPC : n;
}

uint16_t sk_addr_port(const struct sk_addr *a)
{
    if (a->u.sa.sa_family == AF_INET)
        return ntohs(a->u.in4.sin_port);
    if (a->u.sa.sa_family == AF_INET6)
        return ntohs(a->u.in6.sin6_port);
    return 0;
}

void sk_addr_set_port(struct sk_addr *a, uint16_t port)
{
    if (a->u.sa.sa_family == AF_INET)
        a->u.in4.sin_port = htons(port);
    else if (a->u.sa.sa_family == AF_INET6)
        a->u.in6.sin6_port = htons(port);
}

int sk_addr_equal(const struct sk_addr *a, const struct sk_addr *b)
{
    if (a->u.sa.sa_family != b->u.sa.sa_family)
        return 0;
    switch (a->u.sa.sa_family) {
    case AF_INET:
        return a->u.in4.sin_port == b->u.in4.sin_port &&
               a->u.in4.sin_addr.s_addr == b->u.in4.sin_addr.s_addr;
    case AF_INET6:
        return a->u.in6.sin6_port == b->u.in6.sin6_port &&
               memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
    default: return a->len == b->len && memcmp(&a->u, &b->u, a->len) == 0;
    }
}
