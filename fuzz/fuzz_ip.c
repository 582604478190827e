/* fuzz_ip.c - the text parsers of the lookup tools (IP addresses strict and
 * inet_aton, numbers for byteorder, service queries, socket option values)
 * must accept or reject anything, never read past the input, and what they
 * accept must format without overflow. */
#include "sockit/tool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    const char *why;
    struct sk_ip ip;
    struct sk_ip_notation n;
    for (unsigned flags = 0; flags <= SK_IP_ATON; flags++)
        if (sk_ip_parse(s, flags, &ip, &why) == 0 && sk_ip_notation(&ip, &n) != 0)
            abort();
    struct in_addr a4;
    sk_ip4_aton_parse(s, &a4, &why);

    uint64_t v;
    if (sk_u64_parse(s, &v, &why) == 0) {
        struct sk_byteorder b;
        sk_byteorder(v, 16, &b);
        sk_byteorder(v, 32, &b);
        sk_byteorder(v, 64, &b);
    }

    struct sk_servq q;
    sk_servq_parse(s, &q, &why);

    /* "NAME=VALUE" as --set takes it */
    char *eq = strchr(s, '=');
    if (eq) {
        *eq = '\0';
        const struct sk_sockopt *o = sk_sockopt_find(s);
        struct sk_optval val;
        char out[40];
        if (o && sk_optval_parse(o, eq + 1, &val, &why) == 0 &&
            sk_optval_format(o, &val, out, sizeof(out)) < 0)
            abort();
    }
    free(s);
    return 0;
}
