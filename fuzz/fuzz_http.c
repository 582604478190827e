/* fuzz_http.c - the HTTP request parser and the helpers that read request
 * fields (dates, ranges, media types) must accept or reject any input, never
 * read past it, and return slices that lie inside it. */
#include "sockit/http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void inside(const uint8_t *d, size_t n, struct sk_http_str s)
{
    if (s.p && ((const uint8_t *)s.p < d || (const uint8_t *)s.p + s.n > d + n))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct sk_http_limits lim = {.max_line = 512, .max_head = 2048, .max_headers = 32};
    struct sk_http_req r;
    size_t off = 0;

    /* Parse pipelined requests one after another, as the service does. */
    for (int i = 0; i < 64 && off < size; i++) {
        ssize_t n = sk_http_parse(p + off, size - off, &lim, &r);
        if (n > 0 && (size_t)n > size - off)
            abort();
        if (n == 0 && size - off >= lim.max_head)
            abort(); /* a full buffer must get an answer, not a wait */
        inside(data, size, r.line);
        inside(data, size, r.mtok);
        if (n <= 0)
            break;
        inside(data, size, r.target);
        inside(data, size, r.host);
        inside(data, size, r.range);
        inside(data, size, r.if_modified_since);
        if (r.minor != 0 && r.minor != 1)
            abort();
        char path[256];
        int dir;
        sk_http_path(r.target.p, r.target.n, 0, path, sizeof(path), &dir);
        int64_t t;
        if (r.if_modified_since.p &&
            sk_http_date_parse(r.if_modified_since.p, r.if_modified_since.n, &t) == 0) {
            char out[SK_HTTP_DATE_LEN + 1];
            sk_http_date_format(t, out);
        }
        uint64_t a, b;
        if (r.range.p && sk_http_range(r.range.p, r.range.n, 1000, &a, &b) == 1 &&
            (a > b || b >= 1000))
            abort();
        sk_http_mime(r.target.p, r.target.n);
        off += (size_t)n;
    }
    /* The helpers alone, on the raw bytes. */
    int64_t t;
    sk_http_date_parse(p, size, &t);
    uint64_t a, b;
    if (sk_http_range(p, size, 77, &a, &b) == 1 && (a > b || b >= 77))
        abort();
    return 0;
}
