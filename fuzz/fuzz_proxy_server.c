/* fuzz_proxy_server.c - what `serve socks` and `serve http-proxy` read from
 * a client: the SOCKS5 greeting, the RFC 1929 request, the request
 * (net/proxy.c), and HTTP CONNECT's host:port. Properties: fed split at any
 * point, each decoder answers what it answers for the whole (a prefix is
 * incomplete until the answer, and a failure, once given, stays); a parsed
 * request encodes back to the same bytes; a parsed host:port, written out
 * again, parses to the same host and port. */
#include "sockit/proxy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int greeting(const uint8_t *p, size_t n)
{
    unsigned offers = 0;
    int r = sk_socks5_greeting_parse(p, n, &offers);
    if (r > 0 && (offers & ~3u))
        abort();
    return r > 0 ? r * 4 + (int)offers : r;
}

static int auth(const uint8_t *p, size_t n)
{
    struct sk_socks5_auth a;
    int r = sk_socks5_auth_parse(p, n, &a);
    if (r > 0 && (a.user + a.user_len > p + r || a.pass + a.pass_len > p + r))
        abort();
    return r;
}

static int msg(const uint8_t *p, size_t n)
{
    struct sk_socks5_msg m;
    int r = sk_socks5_msg_parse(p, n, &m);
    if (r > 0) {
        uint8_t out[SK_SOCKS5_MSG_MAX];
        char host[256];
        if ((size_t)r > n || sk_socks5_msg_encode(&m, out, sizeof(out)) != r ||
            memcmp(out, p, (size_t)r) != 0)
            abort();
        int h = sk_socks5_msg_host(&m, host, sizeof(host));
        if (h != -EINVAL && (h < 0 || strlen(host) != (size_t)h))
            abort();
    }
    return r;
}

/* A split feed gives the whole feed's answer. */
static void splits(int (*d)(const uint8_t *, size_t), const uint8_t *p, size_t n)
{
    int whole = d(p, n);
    if (whole == 0 || whole > (int)n * 4 + 3)
        abort();
    for (size_t k = 0; k <= n; k++) {
        int r = d(p, k);
        if (r == -EAGAIN)
            continue;
        if (r != whole)
            abort();
        if (r < 0 && d(p, k + (n - k) / 2) != whole)
            abort();
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the end. */
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    splits(greeting, p, size);
    splits(auth, p, size);
    splits(msg, p, size);

    char host[256], again[300], host2[256];
    uint16_t port, port2;
    if (sk_authority_parse((const char *)p, size, host, sizeof(host), &port) == 0) {
        int v6 = strchr(host, ':') != NULL;
        int k = snprintf(again, sizeof(again), v6 ? "[%s]:%u" : "%s:%u", host, port);
        if (k < 0 || (size_t)k >= sizeof(again) ||
            sk_authority_parse(again, (size_t)k, host2, sizeof(host2), &port2) != 0 ||
            strcmp(host, host2) != 0 || port != port2)
            abort();
    }
    free(p);
    return 0;
}
