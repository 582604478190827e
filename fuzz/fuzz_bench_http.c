/* fuzz_bench_http.c - the load generator's HTTP response parsing: any bytes
 * must give a head length within the input, "need more", or an error; the
 * chunked skipper must never consume more than it is given. Input is also
 * replayed as a stream of responses, the way the load generator reads it.
 * The resumable head parser fed in splits derived from the input (and one
 * byte at a time), from two copies of the buffer in turn, must answer as one
 * whole call does, and never earlier with another answer. */
#include "sockit/bench.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Feed p[0..n) (and its copy q) to the resumable parser in splits drawn
 * from seed, or a byte at a time; it must answer want and whole, what one
 * sk_http_resp_parse() of p[0..n) gave. */
static void resumed(const char *p, const char *q, size_t n, int want,
                    const struct sk_http_resp *whole, uint32_t seed, int bytewise)
{
    struct sk_http_resp r;
    memset(&r, 0, sizeof(r));
    struct sk_http_resp_state st;
    memset(&st, 0, sizeof(st));
    int got = 0, flip = 0;
    size_t k = 0;
    while (got == 0 && k < n) {
        if (bytewise) {
            k++;
        } else {
            seed = seed * 1103515245u + 12345u;
            k += 1 + (seed >> 16) % (n - k < 97 ? n - k : 97);
        }
        got = sk_http_resp_parse_resume(flip ? q : p, k, &r, &st);
        flip = !flip;
    }
    if (got != want || (got > 0 && memcmp(&r, whole, sizeof(r)) != 0))
        abort();
    if (got != 0) {
        static const struct sk_http_resp_state zero;
        if (memcmp(&st, &zero, sizeof(st)) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t n = size;
    struct sk_http_resp r;

    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    uint32_t seed = 2166136261u;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 16777619u;

    for (int responses = 0; responses < 64 && n > 0; responses++) {
        memset(&r, 0, sizeof(r)); /* compared whole, padding included */
        int h = sk_http_resp_parse(p, n, &r);
        resumed(p, copy + (p - (const char *)data), n, h, &r, seed + (uint32_t)responses, 0);
        resumed(p, copy + (p - (const char *)data), n, h, &r, 0, 1);
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
    free(copy);
    return 0;
}
