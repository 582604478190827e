/* fuzz_bench_http.c - the load generator's HTTP response parsing: any bytes
 * must give a head length within the input, "need more", or an error; the
 * chunked skipper must never consume more than it is given. Input is also
 * replayed as a stream of responses, the way the load generator reads it. */
#include "sockit/bench.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t n = size;
    struct sk_http_resp r;

    for (int responses = 0; responses < 64 && n > 0; responses++) {
        int h = sk_http_resp_parse(p, n, &r);
        if (h <= 0)
            break;
        if ((size_t)h > n)
            abort();
        p += h;
        n -= (size_t)h;
        if (r.status < 100 || r.status > 999)
            abort();
        if (r.no_body)
            continue;
        if (r.chunked) {
            struct sk_http_chunked c = {0};
            int done = 0;
            long k = sk_http_chunked_feed(&c, p, n, &done);
            if (k < 0)
                break;
            if ((size_t)k > n)
                abort();
            p += k;
            n -= (size_t)k;
            if (!done)
                break;
        } else if (r.content_length >= 0) {
            if ((uint64_t)r.content_length > n)
                break;
            p += r.content_length;
            n -= (size_t)r.content_length;
        } else {
            break; /* body until close */
        }
    }
    /* Byte-at-a-time chunked feeding over the whole input. */
    struct sk_http_chunked c = {0};
    int done = 0;
    for (size_t i = 0; i < size && !done; i++)
        if (sk_http_chunked_feed(&c, (const char *)data + i, 1, &done) < 0)
            break;
    return 0;
}
