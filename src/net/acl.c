/*
 * acl.c - CIDR prefixes (parse, format, match) and the allow/deny list a
 * server checks each source address against. Pure: no I/O.
 */
#include "sockit/acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return -EINVAL;
}

/* Do the first bits of a and b agree? */
static int prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole) != 0)
        return 0;
    if (!rest)
        return 1;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return ((a[whole] ^ b[whole]) & mask) == 0;
}

/* Any bit set past the first bits of a (len bytes)? */
static int host_bits(const uint8_t *a, size_t len, unsigned bits)
{
    for (size_t i = bits / 8; i < len; i++) {
        uint8_t keep = i == bits / 8 ? (uint8_t)(0xff00u >> (bits % 8)) : 0;
        if (a[i] & (uint8_t)~keep)
            return 1;
    }
    return 0;
}

int sk_cidr_parse(const char *s, struct sk_cidr *out, const char **why)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *slash;
    size_t n;

    if (!s || !*s)
        return fail(why, "empty address prefix");
    slash = strchr(s, '/');
    n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0)
        return fail(why, "no address before '/'");
    if (n >= sizeof(host))
        return fail(why, "address too long");
    memcpy(host, s, n);
    host[n] = '\0';
    memset(out, 0, sizeof(*out));
    struct in_addr v4;
    struct in6_addr v6;
    uint32_t scope = 0;
    unsigned max;
    if (sk_ip4_parse(host, &v4, NULL) == 0) {
        out->family = AF_INET;
        memcpy(out->addr, &v4, 4);
        max = 32;
    } else if (strchr(host, ':') && sk_ip6_parse(host, &v6, &scope, NULL) == 0) {
        if (scope)
            return fail(why, "a zone (%) has no place in an address prefix");
        out->family = AF_INET6;
        memcpy(out->addr, &v6, 16);
        max = 128;
    } else {
        return fail(why, "not an IPv4 or IPv6 address (a.b.c.d[/N] or v6[/N])");
    }
    out->prefix = max;
    if (slash) {
        const char *p = slash + 1;
        unsigned v = 0;
        if (!*p)
            return fail(why, "empty prefix length after '/'");
        if (*p == '0' && p[1])
            return fail(why, "leading zero in the prefix length");
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return fail(why, "prefix length is not a number");
            v = v * 10 + (unsigned)(*p - '0');
            if (v > max)
                return fail(why, max == 32 ? "prefix length out of range 0..32"
                                           : "prefix length out of range 0..128");
        }
        out->prefix = v;
    }
    if (host_bits(out->addr, max / 8, out->prefix))
        return fail(why, "address has bits set past the prefix length (give the network)");
    return 0;
}

int sk_cidr_format(const struct sk_cidr *c, char *buf, size_t size)
{
    char a[INET6_ADDRSTRLEN];
    if (!inet_ntop(c->family, c->addr, a, sizeof(a)))
        return -EINVAL;
    int n = snprintf(buf, size, "%s/%u", a, c->prefix);
    return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int sk_cidr_match(const struct sk_cidr *c, const struct sk_addr *a)
{
    uint8_t v4[4], v6[16];
    int has4 = 0, has6 = 0;

    if (sk_addr_family(a) == AF_INET) {
        memcpy(v4, &a->u.in4.sin_addr, 4);
        memcpy(v6, mapped_prefix, 12);
        memcpy(v6 + 12, v4, 4);
        has4 = has6 = 1;
    } else if (sk_addr_family(a) == AF_INET6) {
        memcpy(v6, &a->u.in6.sin6_addr, 16);
        has6 = 1;
        if (memcmp(v6, mapped_prefix, 12) == 0) {
            memcpy(v4, v6 + 12, 4);
            has4 = 1;
        }
    }
    if (c->family == AF_INET)
        return has4 && prefix_equal(c->addr, v4, c->prefix);
    if (c->family == AF_INET6)
        return has6 && prefix_equal(c->addr, v6, c->prefix);
    return 0;
}

int sk_acl_add(struct sk_acl *acl, int allow, const char *s, const char **why)
{
    struct sk_cidr c;
    int r = sk_cidr_parse(s, &c, why);
    if (r < 0)
        return r;
    struct sk_cidr **list = allow ? &acl->allow : &acl->deny;
    unsigned *n = allow ? &acl->nallow : &acl->ndeny;
    struct sk_cidr *grown = realloc(*list, (*n + 1) * sizeof(**list));
    if (!grown)
        return -ENOMEM;
    grown[(*n)++] = c;
    *list = grown;
    return 0;
}

int sk_acl_permits(const struct sk_acl *acl, const struct sk_addr *a)
{
    int fam = sk_addr_family(a);
    if (fam != AF_INET && fam != AF_INET6)
        return 1;
    for (unsigned i = 0; i < acl->ndeny; i++)
        if (sk_cidr_match(&acl->deny[i], a))
            return 0;
    if (!acl->nallow)
        return 1;
    for (unsigned i = 0; i < acl->nallow; i++)
        if (sk_cidr_match(&acl->allow[i], a))
            return 1;
    return 0;
}

void sk_acl_free(struct sk_acl *acl)
{
    free(acl->allow);
    free(acl->deny);
    memset(acl, 0, sizeof(*acl));
}
