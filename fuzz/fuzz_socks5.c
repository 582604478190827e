/* fuzz_socks5.c - the SOCKS5 decoders (method choice and CONNECT reply) and
 * the proxy URL parser must accept or reject anything without reading past
 * the input; a complete reply's length never exceeds the input, and every
 * shorter prefix of it is "incomplete" (the decoder resumes as bytes come).
 * The request encoder takes any host string without overflowing. */
#include "sockit/client.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);

    int rep = -1;
    int r = sk_socks5_reply(p, size, &rep);
    if (r > 0) {
        if ((size_t)r > size || rep < 0 || rep > 255)
            abort();
        for (size_t k = 0; k < (size_t)r; k++)
            if (sk_socks5_reply(p, k, &rep) != -EAGAIN)
                abort();
        if (sk_socks5_error(rep) > 0)
            abort();
    } else if (r != -EAGAIN && r != -EPROTO) {
        abort();
    }
    r = sk_socks5_method_reply(p, size);
    if (r != 2 && r != -EAGAIN && r != -EPROTO && r != -EACCES)
        abort();

    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
        uint8_t req[300];
        ssize_t k = sk_socks5_request(s, 1080, req, sizeof(req));
        if (k > (ssize_t)sizeof(req) || (k < 0 && k != -EINVAL))
            abort();
        struct sk_proxy px;
        const char *why = NULL;
        if (sk_proxy_url_parse(s, &px, &why) == 0) {
            if (!px.host[0] || !px.port[0] ||
                (px.kind != SK_PROXY_SOCKS5 && px.kind != SK_PROXY_HTTP))
                abort();
        } else if (!why) {
            abort();
        }
        free(s);
    }
    free(p);
    return 0;
}
