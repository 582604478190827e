/* fuzz_addr.c - the address parsers must accept or reject anything, never
 * read past the input, and what they accept must survive a round trip:
 * parse -> format -> parse gives the same address (and the formatted string
 * is a fixed point), for host:port addresses, IPv4, IPv6, ports, and the
 * port ranges of `sockit connect -z` (LO-HI written out parses back to the
 * same range). */
#include "sockit/addr.h"
#include "sockit/client.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void addr_round_trip(const char *s)
{
    struct sk_addr a, b;
    const char *why;
    char out[SK_ADDR_STRLEN], again[SK_ADDR_STRLEN];
    if (sk_addr_parse(s, 80, &a, &why) != 0)
        return;
    int n = sk_addr_format(&a, out, sizeof(out));
    if (n < 0 || (size_t)n != strlen(out))
        abort(); /* SK_ADDR_STRLEN is enough for any parsed address */
    /* Another default port: the formatted string must carry its own. */
    if (sk_addr_family(&a) != AF_UNIX) {
        if (sk_addr_parse(out, 81, &b, &why) != 0 || !sk_addr_equal(&a, &b))
            abort();
    } else if (sk_addr_parse(out, 80, &b, &why) != 0 || !sk_addr_equal(&a, &b)) {
        abort();
    }
    if (sk_addr_format(&b, again, sizeof(again)) != n || strcmp(out, again) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    const char *why;

    addr_round_trip(s);

    struct in_addr v4, v4b;
    char txt[INET6_ADDRSTRLEN + 16];
    if (sk_ip4_parse(s, &v4, &why) == 0) {
        if (!inet_ntop(AF_INET, &v4, txt, sizeof(txt)) || sk_ip4_parse(txt, &v4b, &why) != 0 ||
            v4.s_addr != v4b.s_addr || strcmp(txt, s) != 0)
            abort(); /* strict: the canonical dotted quad is the only spelling */
    }
    struct in6_addr v6, v6b;
    uint32_t scope, scope_b;
    if (sk_ip6_parse(s, &v6, &scope, &why) == 0) {
        if (!inet_ntop(AF_INET6, &v6, txt, sizeof(txt)))
            abort();
        if (scope)
            snprintf(txt + strlen(txt), sizeof(txt) - strlen(txt), "%%%" PRIu32, scope);
        if (sk_ip6_parse(txt, &v6b, &scope_b, &why) != 0 || memcmp(&v6, &v6b, sizeof(v6)) != 0 ||
            scope != scope_b)
            abort();
    }
    uint16_t port, port_b;
    if (sk_port_parse(s, &port, &why) == 0) {
        snprintf(txt, sizeof(txt), "%u", port);
        if (sk_port_parse(txt, &port_b, &why) != 0 || port != port_b)
            abort();
    }
    uint16_t lo, hi, lo_b, hi_b;
    why = NULL;
    if (sk_port_range_parse(s, &lo, &hi, &why) == 0) {
        snprintf(txt, sizeof(txt), "%u-%u", lo, hi);
        if (lo == 0 || hi < lo || sk_port_range_parse(txt, &lo_b, &hi_b, &why) != 0 || lo != lo_b ||
            hi != hi_b)
            abort();
    } else if (!why) {
        abort(); /* a refusal says why */
    }
    free(s);
    return 0;
}
