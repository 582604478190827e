/*
 * byteorder.c - host and network byte order at 16, 32 and 64 bits, for
 * `sockit byteorder`: what htons/htonl/htobe64 make of a value, and the
 * bytes in memory on this host and on the wire.
 */
#include "sockit/tool.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

static int fail(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return -EINVAL;
}

int sk_u64_parse(const char *s, uint64_t *out, const char **why)
{
    uint64_t v = 0;
    unsigned base = 10;
    const char *p = s;

    if (!s || !*s)
        return fail(why, "empty number");
    if (*p == '-')
        return fail(why, "negative numbers have no byte order here (unsigned only)");
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
        if (!*p)
            return fail(why, "no hex digits after 0x");
    }
    for (; *p; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            return fail(why,
                        base == 16 ? "not a hex number" : "not a number (decimal, or hex with 0x)");
        if (v > (UINT64_MAX - d) / base)
            return fail(why, "does not fit in 64 bits");
        v = v * base + d;
    }
    *out = v;
    return 0;
}

int sk_host_big_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 0;
}

int sk_byteorder(uint64_t v, int bits, struct sk_byteorder *out)
{
    memset(out, 0, sizeof(*out));
    out->bits = bits;
    out->host = v;
    switch (bits) {
    case 16: {
        out->fits = v <= UINT16_MAX;
        uint16_t h = (uint16_t)v, n = htobe16(h);
        out->net = n;
        memcpy(out->host_bytes, &h, 2);
        memcpy(out->net_bytes, &n, 2);
        break;
    }
    case 32: {
        out->fits = v <= UINT32_MAX;
        uint32_t h = (uint32_t)v, n = htobe32(h);
        out->net = n;
        memcpy(out->host_bytes, &h, 4);
        memcpy(out->net_bytes, &n, 4);
        break;
    }
    case 64: {
        out->fits = 1;
        uint64_t n = htobe64(v);
        out->net = n;
        memcpy(out->host_bytes, &v, 8);
        memcpy(out->net_bytes, &n, 8);
        break;
    }
    default: return -EINVAL;
    }
    return 0;
}
