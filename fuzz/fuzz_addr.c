/* fuzz_addr.c - the address parsers must accept or reject anything, never
 * read past the input. */
#include "sockit/addr.h"

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
    struct sk_addr a;
    struct in_addr v4;
    const char *why;
    char out[SK_ADDR_STRLEN];
    if (sk_addr_parse(s, 80, &a, &why) == 0)
        sk_addr_format(&a, out, sizeof(out));
    sk_ip4_parse(s, &v4, &why);
    uint16_t port;
    sk_port_parse(s, &port, &why);
    free(s);
    return 0;
}
