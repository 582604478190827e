/* fuzz_nc_args.c - `sockit nc`'s argument mapping (sk_nc_parse()) takes any
 * argument vector: the input split at NUL bytes into words. It must answer
 * without reading outside them, and what it accepts points into argv and
 * has the operand count its mode needs. */
#include "sockit/client.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    char *argv[80];
    int argc = 0;
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    argv[argc++] = "nc";
    for (size_t i = 0; i <= size && argc < 79;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;

    struct sk_nc_opts o;
    char bad[8];
    int r = sk_nc_parse(argc, argv, &o, bad, sizeof(bad));
    if (r == 0 && !o.help) {
        if (o.noperands < 0 || o.noperands > SK_NC_MAX_OPERANDS)
            abort();
        for (int i = 0; i < o.noperands; i++)
            if (o.operands[i] < buf || o.operands[i] > buf + size)
                abort();
        if (o.listen && o.zero)
            abort();
        if (!o.listen && !o.unix_sock && o.noperands < 2)
            abort();
        if (o.wait_ms < -1 || (o.proxy && !o.proxy_kind))
            abort();
    } else if (r != 0 && r != -EINVAL && r != -ENOTSUP && r != -E2BIG) {
        abort();
    } else if (r == -ENOTSUP && (bad[0] != '-' || !bad[1])) {
        abort();
    }
    free(buf);
    return 0;
}
