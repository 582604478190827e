/* fuzz_cidr.c - the CIDR parser must accept or reject anything, never read
 * past the input, and what it accepts must survive a round trip: parse ->
 * format -> parse gives the same prefix, the formatted string is a fixed
 * point, and the prefix matches its own network address. */
#include "sockit/acl.h"

#include <arpa/inet.h>
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
    struct sk_cidr a, b;
    const char *why;
    char out[SK_CIDR_STRLEN], again[SK_CIDR_STRLEN];
    if (sk_cidr_parse(s, &a, &why) == 0) {
        int n = sk_cidr_format(&a, out, sizeof(out));
        if (n < 0 || (size_t)n != strlen(out))
            abort(); /* SK_CIDR_STRLEN is enough for any parsed prefix */
        if (sk_cidr_parse(out, &b, &why) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
            abort();
        if (sk_cidr_format(&b, again, sizeof(again)) != n || strcmp(out, again) != 0)
            abort();
        struct sk_addr net = {0};
        if (a.family == AF_INET) {
            net.u.in4.sin_family = AF_INET;
            memcpy(&net.u.in4.sin_addr, a.addr, 4);
        } else {
            net.u.in6.sin6_family = AF_INET6;
            memcpy(&net.u.in6.sin6_addr, a.addr, 16);
        }
        if (!sk_cidr_match(&a, &net))
            abort();
    } else if (!why) {
        abort(); /* every refusal says why */
    }
    free(s);
    return 0;
}
