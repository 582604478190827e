/*
 * proxy.c - the proxies' wire formats, both sides: SOCKS5 greetings,
 * requests and replies (RFC 1928), the username/password request (RFC 1929)
 * and HTTP CONNECT's "host:port". Pure: no I/O, no allocation. `connect
 * --proxy` (src/client/proxy_proto.c) and the servers `serve socks` and
 * `serve http-proxy` (src/service/) build on these.
 */
#include "sockit/proxy.h"
#include "sockit/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

int sk_socks5_greeting_parse(const uint8_t *p, size_t n, unsigned *offers)
{
    if (n >= 1 && p[0] != 5)
        return -EPROTO;
    if (n >= 2 && p[1] == 0)
        return -EPROTO;
    if (n < 2 || n < 2 + (size_t)p[1])
        return -EAGAIN;
    unsigned o = 0;
    for (size_t i = 0; i < p[1]; i++) {
        if (p[2 + i] == SK_SOCKS5_METHOD_NONE)
            o |= SK_SOCKS5_OFFERS_NONE;
        else if (p[2 + i] == SK_SOCKS5_METHOD_USERPASS)
            o |= SK_SOCKS5_OFFERS_USERPASS;
    }
    *offers = o;
    return 2 + p[1];
}

int sk_socks5_auth_parse(const uint8_t *p, size_t n, struct sk_socks5_auth *out)
{
    if (n >= 1 && p[0] != 1)
        return -EPROTO;
    if (n < 2)
        return -EAGAIN;
    size_t ul = p[1];
    if (n < 2 + ul + 1)
        return -EAGAIN;
    size_t pl = p[2 + ul];
    if (n < 3 + ul + pl)
        return -EAGAIN;
    out->user = p + 2;
    out->user_len = ul;
    out->pass = p + 3 + ul;
    out->pass_len = pl;
    return (int)(3 + ul + pl);
}

int sk_socks5_msg_parse(const uint8_t *p, size_t n, struct sk_socks5_msg *out)
{
    if (n >= 1 && p[0] != 5)
        return -EPROTO;
    if (n >= 3 && p[2] != 0)
        return -EPROTO;
    if (n < 4)
        return -EAGAIN;
    size_t k = 4, alen;
    switch (p[3]) {
    case SK_SOCKS5_IP4: alen = 4; break;
    case SK_SOCKS5_IP6: alen = 16; break;
    case SK_SOCKS5_NAME:
        if (n < 5)
            return -EAGAIN;
        alen = p[4];
        k = 5;
        break;
    default: return -EAFNOSUPPORT;
    }
    if (n < k + alen + 2)
        return -EAGAIN;
    memset(out, 0, sizeof(*out));
    out->code = p[1];
    out->atyp = p[3];
    if (p[3] == SK_SOCKS5_NAME) {
        out->name = p + k;
        out->name_len = alen;
    } else {
        memcpy(out->addr, p + k, alen);
    }
    k += alen;
    out->port = (uint16_t)(p[k] << 8 | p[k + 1]);
    return (int)(k + 2);
}

ssize_t sk_socks5_msg_encode(const struct sk_socks5_msg *m, uint8_t *out, size_t n)
{
    size_t alen, k = 4;
    switch (m->atyp) {
    case SK_SOCKS5_IP4: alen = 4; break;
    case SK_SOCKS5_IP6: alen = 16; break;
    case SK_SOCKS5_NAME:
        if (m->name_len > 255)
            return -EINVAL;
        alen = m->name_len;
        k = 5;
        break;
    default: return -EINVAL;
    }
    if (n < k + alen + 2)
        return -ENOSPC;
    out[0] = 5;
    out[1] = m->code;
    out[2] = 0;
    out[3] = m->atyp;
    if (m->atyp == SK_SOCKS5_NAME) {
        out[4] = (uint8_t)alen;
        memcpy(out + k, m->name, alen);
    } else {
        memcpy(out + k, m->addr, alen);
    }
    k += alen;
    out[k++] = (uint8_t)(m->port >> 8);
    out[k++] = (uint8_t)m->port;
    return (ssize_t)k;
}

int sk_socks5_msg_set_host(struct sk_socks5_msg *m, const char *host, uint16_t port)
{
    size_t hl = strlen(host);
    uint8_t code = m->code;
    memset(m, 0, sizeof(*m));
    m->code = code;
    m->port = port;
    if (inet_pton(AF_INET, host, m->addr) == 1) {
        m->atyp = SK_SOCKS5_IP4;
    } else if (inet_pton(AF_INET6, host, m->addr) == 1) {
        m->atyp = SK_SOCKS5_IP6;
    } else {
        if (hl == 0 || hl > 255)
            return -EINVAL;
        m->atyp = SK_SOCKS5_NAME;
        m->name = (const uint8_t *)host;
        m->name_len = hl;
    }
    return 0;
}

void sk_socks5_msg_set_addr(struct sk_socks5_msg *m, const struct sk_addr *a)
{
    uint8_t code = m->code;
    memset(m, 0, sizeof(*m));
    m->code = code;
    m->atyp = SK_SOCKS5_IP4;
    if (sk_addr_family(a) == AF_INET) {
        memcpy(m->addr, &a->u.in4.sin_addr, 4);
        m->port = sk_addr_port(a);
    } else if (sk_addr_family(a) == AF_INET6) {
        m->atyp = SK_SOCKS5_IP6;
        memcpy(m->addr, &a->u.in6.sin6_addr, 16);
        m->port = sk_addr_port(a);
    }
}

int sk_socks5_msg_host(const struct sk_socks5_msg *m, char *out, size_t n)
{
    switch (m->atyp) {
    case SK_SOCKS5_IP4:
    case SK_SOCKS5_IP6:
        if (!inet_ntop(m->atyp == SK_SOCKS5_IP4 ? AF_INET : AF_INET6, m->addr, out, (socklen_t)n))
            return -ENOSPC;
        return (int)strlen(out);
    case SK_SOCKS5_NAME:
        if (m->name_len == 0 || memchr(m->name, '\0', m->name_len))
            return -EINVAL;
        if (m->name_len >= n)
            return -ENOSPC;
        memcpy(out, m->name, m->name_len);
        out[m->name_len] = '\0';
        return (int)m->name_len;
    default: return -EINVAL;
    }
}

int sk_socks5_rep_of(int err)
{
    if (sk_is_gai_error(err))
        return SK_SOCKS5_HOST_UNREACHABLE;
    switch (err) {
    case 0: return SK_SOCKS5_OK;
    case -EACCES:
    case -EPERM: return SK_SOCKS5_NOT_ALLOWED;
    case -ENETUNREACH:
    case -ENETDOWN: return SK_SOCKS5_NET_UNREACHABLE;
    case -EHOSTUNREACH:
    case -EHOSTDOWN:
    case -ETIMEDOUT: return SK_SOCKS5_HOST_UNREACHABLE;
    case -ECONNREFUSED: return SK_SOCKS5_REFUSED;
    case -EAFNOSUPPORT: return SK_SOCKS5_BAD_ADDRESS_TYPE;
    default: return SK_SOCKS5_FAILURE;
    }
}

static int name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_';
}

int sk_authority_parse(const char *p, size_t n, char *host, size_t hostlen, uint16_t *port)
{
    const char *h = p, *colon;
    size_t hl;
    int v6 = 0;

    if (n > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', n);
        if (!close || close + 1 >= p + n || close[1] != ':')
            return -EINVAL;
        h = p + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
        v6 = 1;
    } else {
        colon = memchr(p, ':', n);
        if (!colon)
            return -EINVAL;
        hl = (size_t)(colon - p);
        for (size_t i = 0; i < hl; i++)
            if (!name_char(p[i]))
                return -EINVAL;
    }
    if (hl == 0 || hl > 255)
        return -EINVAL;
    /* The port: 1..5 digits, 1..65535. */
    const char *d = colon + 1;
    size_t dl = (size_t)(p + n - d);
    if (dl == 0 || dl > 5)
        return -EINVAL;
    unsigned v = 0;
    for (size_t i = 0; i < dl; i++) {
        if (d[i] < '0' || d[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(d[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -EINVAL;
    if (v6) {
        char tmp[64];
        struct in6_addr a6;
        if (hl >= sizeof(tmp))
            return -EINVAL;
        memcpy(tmp, h, hl);
        tmp[hl] = '\0';
        if (inet_pton(AF_INET6, tmp, &a6) != 1)
            return -EINVAL;
    }
    if (hl >= hostlen)
        return -ENOSPC;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)v;
    return 0;
}
