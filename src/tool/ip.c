/*
 * ip.c - IPv4 and IPv6 addresses in every notation `sockit ip` shows:
 * dotted quad or compressed IPv6, the full IPv6 form, packed hex, the 32-bit
 * integer in host and network order, binary, and what kind of address it is.
 * Also inet_aton()'s legacy grammar, spelled out so that it can be accepted
 * on request and named as legacy.
 */
#include "sockit/tool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int fail(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return -EINVAL;
}

/* One part of an inet_aton() address: hex (0x), octal (0) or decimal. */
static int aton_part(const char **pp, uint32_t *out, const char **why)
{
    const char *p = *pp;
    uint64_t v = 0;
    unsigned base = 10;
    int digits = 0;

    if (*p == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (*p == '0') {
        base = 8;
    }
    for (;; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            break;
        if (d >= base)
            return fail(why, "digit 8 or 9 in an octal part (leading 0)");
        v = v * base + d;
        if (v > 0xffffffffu)
            return fail(why, "part out of range");
        digits++;
    }
    if (digits == 0)
        return fail(why, base == 16 ? "no hex digits after 0x" : "empty part in dotted address");
    *out = (uint32_t)v;
    *pp = p;
    return 0;
}

int sk_ip4_aton_parse(const char *s, struct in_addr *out, const char **why)
{
    uint32_t part[4];
    int n = 0;
    const char *p = s;

    if (!s || !*s)
        return fail(why, "empty address");
    for (;;) {
        if (n == 4)
            return fail(why, "more than four parts");
        if (aton_part(&p, &part[n], why) < 0)
            return -EINVAL;
        n++;
        if (*p == '\0')
            break;
        if (*p != '.')
            return fail(why, "not an IPv4 address");
        p++;
    }
    /* The last part fills what the others leave: 32, 24, 16 or 8 bits. */
    uint32_t v = 0;
    for (int i = 0; i < n - 1; i++) {
        if (part[i] > 255)
            return fail(why, "part out of range 0..255");
        v |= part[i] << (24 - 8 * i);
    }
    uint32_t last_max = n == 1 ? 0xffffffffu : (0xffffffffu >> (8 * (n - 1)));
    if (part[n - 1] > last_max)
        return fail(why, "last part too large for the bytes it fills");
    v |= part[n - 1];
    out->s_addr = htonl(v);
    return 0;
}

/* The address part of s before a '/N' suffix, and the prefix length. */
static int split_prefix(const char *s, char *addr, size_t size, int *prefix, const char **why)
{
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);

    *prefix = -1;
    if (n >= size)
        return fail(why, "address too long");
    memcpy(addr, s, n);
    addr[n] = '\0';
    if (!slash)
        return 0;
    const char *p = slash + 1;
    if (!*p)
        return fail(why, "empty prefix length after '/'");
    if (*p == '0' && p[1])
        return fail(why, "leading zero in the prefix length");
    int v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return fail(why, "prefix length is not a number");
        v = v * 10 + (*p - '0');
        if (v > 999)
            return fail(why, "prefix length out of range");
    }
    *prefix = v;
    return 0;
}

int sk_ip_parse(const char *in, unsigned flags, struct sk_ip *out, const char **why)
{
    char s[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    int prefix;

    memset(out, 0, sizeof(*out));
    out->prefix = -1;
    if (!in || !*in)
        return fail(why, "empty address");
    if (split_prefix(in, s, sizeof(s), &prefix, why) < 0)
        return -EINVAL;
    if (strchr(s, ':') ? prefix > 128 : prefix > 32)
        return fail(why, strchr(s, ':') ? "prefix length out of range 0..128"
                                        : "prefix length out of range 0..32");
    out->prefix = prefix;
    if (strchr(s, ':')) {
        if (sk_ip6_parse(s, &out->v6, &out->scope, why) < 0)
            return -EINVAL;
        out->family = AF_INET6;
        return 0;
    }
    out->family = AF_INET;
    const char *strict_why = NULL;
    if (sk_ip4_parse(s, &out->v4, &strict_why) == 0)
        return 0;
    if ((flags & SK_IP_ATON) && sk_ip4_aton_parse(s, &out->v4, NULL) == 0) {
        out->legacy = 1;
        return 0;
    }
    return fail(why, strict_why);
}

struct range4 {
    uint32_t net;
    int prefix;
    const char *kind;
};

/* Special-purpose IPv4 blocks (RFC 6890 and friends); first match wins. */
static const struct range4 ranges4[] = {
    {0x00000000, 32, "unspecified"},    {0x00000000, 8, "this-network"},
    {0x7f000000, 8, "loopback"},        {0x0a000000, 8, "private"},
    {0xac100000, 12, "private"},        {0xc0a80000, 16, "private"},
    {0x64400000, 10, "shared (CGNAT)"}, {0xa9fe0000, 16, "link-local"},
    {0xc0000200, 24, "documentation"},  {0xc6336400, 24, "documentation"},
    {0xcb007100, 24, "documentation"},  {0xc6120000, 15, "benchmarking"},
    {0xe0000000, 4, "multicast"},       {0xffffffff, 32, "broadcast"},
    {0xf0000000, 4, "reserved"},
};

static const char *kind4(uint32_t a)
{
    for (size_t i = 0; i < sizeof(ranges4) / sizeof(ranges4[0]); i++) {
        uint32_t mask = ranges4[i].prefix ? 0xffffffffu << (32 - ranges4[i].prefix) : 0;
        if ((a & mask) == ranges4[i].net)
            return ranges4[i].kind;
    }
    return "global";
}

static const char *kind6(const struct in6_addr *a)
{
    const uint8_t *b = a->s6_addr;
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};

    if (IN6_IS_ADDR_UNSPECIFIED(a))
        return "unspecified";
    if (IN6_IS_ADDR_LOOPBACK(a))
        return "loopback";
    if (IN6_IS_ADDR_V4MAPPED(a))
        return "ipv4-mapped";
    if (IN6_IS_ADDR_MULTICAST(a))
        return "multicast";
    if (IN6_IS_ADDR_LINKLOCAL(a))
        return "link-local";
    if ((b[0] & 0xfe) == 0xfc)
        return "unique-local";
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return "documentation";
    if (memcmp(b, nat64, sizeof(nat64)) == 0)
        return "nat64";
    if (IN6_IS_ADDR_SITELOCAL(a))
        return "site-local (deprecated)";
    return "global";
}

static void hex_bytes(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Bits of n bytes, a separator every `group` bytes. */
static void binary_bytes(const uint8_t *b, size_t n, size_t group, char sep, char *out)
{
    char *o = out;
    for (size_t i = 0; i < n; i++) {
        if (i && i % group == 0)
            *o++ = sep;
        for (int bit = 7; bit >= 0; bit--)
            *o++ = (char)('0' + ((b[i] >> bit) & 1));
    }
    *o = '\0';
}

/* The block of a prefix: netmask, first and last address, size. */
static void block(const struct sk_ip *ip, struct sk_ip_notation *out)
{
    int fam = ip->family, bytes = fam == AF_INET ? 4 : 16, bits = bytes * 8;
    uint8_t addr[16], mask[16], first[16], last[16];

    memcpy(addr, fam == AF_INET ? (const void *)&ip->v4 : (const void *)&ip->v6, (size_t)bytes);
    for (int i = 0; i < bytes; i++) {
        int left = ip->prefix - 8 * i;
        mask[i] = left >= 8 ? 0xff : left <= 0 ? 0 : (uint8_t)(0xff << (8 - left));
        first[i] = addr[i] & mask[i];
        last[i] = first[i] | (uint8_t)~mask[i];
    }
    inet_ntop(fam, mask, out->netmask, sizeof(out->netmask));
    inet_ntop(fam, first, out->network, sizeof(out->network));
    inet_ntop(fam, last, out->last, sizeof(out->last));
    int hostbits = bits - ip->prefix;
    if (hostbits < 64)
        snprintf(out->size, sizeof(out->size), "%llu", 1ull << hostbits);
    else
        snprintf(out->size, sizeof(out->size), "2^%d", hostbits);
    if (fam != AF_INET)
        return;
    /* IPv4: the network and broadcast addresses are not hosts, except in
     * a /31 (RFC 3021, point-to-point) and a /32 (one host). */
    uint32_t f, l;
    memcpy(&f, first, 4);
    memcpy(&l, last, 4);
    f = ntohl(f);
    l = ntohl(l);
    if (hostbits >= 2) {
        f++;
        l--;
    }
    snprintf(out->hosts, sizeof(out->hosts), "%llu", (unsigned long long)(l - f) + 1);
    struct in_addr a = {.s_addr = htonl(f)};
    inet_ntop(AF_INET, &a, out->first_host, sizeof(out->first_host));
    a.s_addr = htonl(l);
    inet_ntop(AF_INET, &a, out->last_host, sizeof(out->last_host));
}

int sk_ip_notation(const struct sk_ip *ip, struct sk_ip_notation *out)
{
    memset(out, 0, sizeof(*out));
    if (ip->family == AF_INET) {
        const uint8_t *b = (const uint8_t *)&ip->v4.s_addr;
        inet_ntop(AF_INET, &ip->v4, out->text, sizeof(out->text));
        memcpy(out->full, out->text, strlen(out->text) + 1);
        hex_bytes(b, 4, out->hex);
        binary_bytes(b, 4, 1, '.', out->binary);
        out->host_order = ntohl(ip->v4.s_addr);
        out->net_order = ip->v4.s_addr;
        out->kind = kind4(out->host_order);
        if (ip->prefix >= 0)
            block(ip, out);
        return 0;
    }
    if (ip->family != AF_INET6)
        return -EAFNOSUPPORT;
    const uint8_t *b = ip->v6.s6_addr;
    inet_ntop(AF_INET6, &ip->v6, out->text, sizeof(out->text));
    if (ip->scope) {
        size_t n = strlen(out->text);
        char zone[IF_NAMESIZE];
        if (if_indextoname(ip->scope, zone))
            snprintf(out->text + n, sizeof(out->text) - n, "%%%s", zone);
        else
            snprintf(out->text + n, sizeof(out->text) - n, "%%%u", (unsigned)ip->scope);
    }
    char *o = out->full;
    for (int g = 0; g < 8; g++)
        o += snprintf(o, sizeof(out->full) - (size_t)(o - out->full), g ? ":%02x%02x" : "%02x%02x",
                      b[2 * g], b[2 * g + 1]);
    hex_bytes(b, 16, out->hex);
    binary_bytes(b, 16, 2, ':', out->binary);
    out->kind = kind6(&ip->v6);
    if (IN6_IS_ADDR_V4MAPPED(&ip->v6))
        inet_ntop(AF_INET, b + 12, out->mapped_v4, sizeof(out->mapped_v4));
    if (ip->prefix >= 0)
        block(ip, out);
    return 0;
}
