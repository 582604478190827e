/* fuzz_connect_resp.c - the HTTP CONNECT response head parser of
 * `connect --proxy http://` must accept or reject anything without reading
 * past the input; a complete head ends with its empty line inside the input,
 * and the status is a three-digit code. */
#include "sockit/client.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    int status = -1;
    int r = sk_http_connect_response(p, size, &status);
    if (r > 0) {
        if ((size_t)r > size || r > SK_HTTP_CONNECT_HEAD_MAX || p[r - 1] != '\n')
            abort();
        if (status < 0 || status > 999)
            abort();
    } else if (r != -EAGAIN && r != -EPROTO && r != -E2BIG) {
        abort();
    }
    free(p);
    return 0;
}
