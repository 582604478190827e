/*
 * proxy_proto.c - the pure parts of `connect --proxy`: the proxy URL, the
 * SOCKS5 (RFC 1928) greeting, CONNECT request and their replies, and the
 * HTTP CONNECT request and response head. No I/O, no allocation; each
 * decoder says complete (how many bytes it used), incomplete (-EAGAIN) or
 * malformed (-EPROTO). The SOCKS5 messages themselves are the net core's
 * (src/net/proxy.c), shared with `serve socks`.
 */
#include "sockit/client.h"
#include "sockit/proxy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int sk_proxy_url_parse(const char *url, struct sk_proxy *out, const char **why)
{
    const char *rest;
    memset(out, 0, sizeof(*out));
    if (strncmp(url, "socks5://", 9) == 0) {
        out->kind = SK_PROXY_SOCKS5;
        rest = url + 9;
    } else if (strncmp(url, "http://", 7) == 0) {
        out->kind = SK_PROXY_HTTP;
        rest = url + 7;
    } else {
        *why = "give socks5://HOST:PORT or http://HOST:PORT";
        return -EINVAL;
    }
    size_t len = strlen(rest);
    if (len && rest[len - 1] == '/')
        len--;
    const char *host = rest, *colon;
    size_t hl;
    if (rest[0] == '[') {
        const char *close = memchr(rest, ']', len);
        if (!close || close + 1 >= rest + len || close[1] != ':') {
            *why = "an IPv6 proxy is written [ADDR]:PORT";
            return -EINVAL;
        }
        host = rest + 1;
        hl = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = NULL;
        for (size_t i = 0; i < len; i++)
            if (rest[i] == ':')
                colon = rest + i;
        if (!colon) {
            *why = "the proxy needs a port (HOST:PORT)";
            return -EINVAL;
        }
        hl = (size_t)(colon - rest);
    }
    size_t pl = (size_t)(rest + len - colon - 1);
    if (hl == 0 || hl >= sizeof(out->host) || memchr(host, '@', hl) || memchr(host, '/', hl)) {
        *why = "not a proxy host (no user:password@, no path)";
        return -EINVAL;
    }
    if (pl == 0 || pl >= sizeof(out->port) || strspn(colon + 1, "0123456789") < pl) {
        *why = "not a proxy port";
        return -EINVAL;
    }
    memcpy(out->host, host, hl);
    memcpy(out->port, colon + 1, pl);
    uint16_t p;
    if (sk_port_parse(out->port, &p, why) < 0)
        return -EINVAL;
    if (p == 0) {
        *why = "port 0 cannot be connected to";
        return -EINVAL;
    }
    return 0;
}

size_t sk_socks5_greeting(uint8_t out[3])
{
    out[0] = 5; /* version */
    out[1] = 1; /* one method: */
    out[2] = 0; /* no authentication */
    return 3;
}

int sk_socks5_method_reply(const uint8_t *p, size_t n)
{
    if (n < 2)
        return -EAGAIN;
    if (p[0] != 5)
        return -EPROTO;
    if (p[1] == 0xff)
        return -EACCES; /* no acceptable method: it wants authentication */
    return p[1] == 0 ? 2 : -EPROTO;
}

ssize_t sk_socks5_request(const char *host, uint16_t port, uint8_t *out, size_t n)
{
    struct sk_socks5_msg m = {.code = SK_SOCKS5_CONNECT};

    if (n < SK_SOCKS5_MSG_MAX)
        return -ENOSPC;
    if (sk_socks5_msg_set_host(&m, host, port) < 0)
        return -EINVAL;
    return sk_socks5_msg_encode(&m, out, n);
}

int sk_socks5_reply(const uint8_t *p, size_t n, int *rep)
{
    struct sk_socks5_msg m;
    int r = sk_socks5_msg_parse(p, n, &m);
    if (r == -EAFNOSUPPORT)
        return -EPROTO;
    if (r > 0)
        *rep = m.code;
    return r;
}

int sk_socks5_error(int rep)
{
    switch (rep) {
    case 0: return 0;
    case 2: return -EACCES;
    case 3: return -ENETUNREACH;
    case 4: return -EHOSTUNREACH;
    case 5: return -ECONNREFUSED;
    case 6: return -ETIMEDOUT;
    case 7: return -EOPNOTSUPP;
    case 8: return -EAFNOSUPPORT;
    default: return -ECONNABORTED; /* 1: general failure, and the unassigned */
    }
}

ssize_t sk_http_connect_request(const char *host, uint16_t port, char *out, size_t n)
{
    int v6 = strchr(host, ':') != NULL;
    int k = snprintf(out, n, "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n\r\n", v6 ? "[" : "",
                     host, v6 ? "]" : "", port, v6 ? "[" : "", host, v6 ? "]" : "", port);
    if (k < 0 || (size_t)k >= n)
        return -ENOSPC;
    return k;
}

int sk_http_connect_response(const char *p, size_t n, int *status)
{
    /* The head ends at an empty line (CRLF CRLF, or bare LFs). */
    size_t end = 0;
    for (size_t i = 0; i < n && !end; i++) {
        if (p[i] != '\n')
            continue;
        if (i + 1 < n && p[i + 1] == '\n')
            end = i + 2;
        else if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
            end = i + 3;
    }
    /* The status line can be judged before the head is complete. */
    static const char v[] = "HTTP/1.";
    size_t m = n < 7 ? n : 7;
    if (memcmp(p, v, m) != 0)
        return -EPROTO;
    if (n >= 13) {
        if ((p[7] != '0' && p[7] != '1') || p[8] != ' ')
            return -EPROTO;
        for (int i = 9; i < 12; i++)
            if (p[i] < '0' || p[i] > '9')
                return -EPROTO;
        if (p[12] != ' ' && p[12] != '\r' && p[12] != '\n')
            return -EPROTO;
    }
    if (!end)
        return n >= SK_HTTP_CONNECT_HEAD_MAX ? -E2BIG : -EAGAIN;
    if (n < 13 || end < 13)
        return -EPROTO;
    if (end > SK_HTTP_CONNECT_HEAD_MAX)
        return -E2BIG;
    *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    return (int)end;
}
