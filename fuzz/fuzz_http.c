/* fuzz_http.c - the HTTP request parser and the helpers that read request
 * fields (dates, ranges, media types) must accept or reject any input, never
 * read past it, and return slices that lie inside it. The resumable parser
 * fed in splits derived from the input (and one byte at a time), from two
 * copies of the buffer in turn, must answer exactly as one whole call does,
 * and never earlier with another answer. The same bytes then go through the
 * whole http service (Hello, World! mode, no sockets), cut into pieces the
 * way a model might deliver them. */
#include "sockit/http.h"
#include "sockit/server.h"
#include "sockit/service.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void inside(const uint8_t *d, size_t n, struct sk_http_str s)
{
    if (s.p && ((const uint8_t *)s.p < d || (const uint8_t *)s.p + s.n > d + n))
        abort();
}

/* Two parses of the same head, a at base pa and b at base pb, must agree. */
static void same(ssize_t ra, const struct sk_http_req *a, const char *pa, ssize_t rb,
                 const struct sk_http_req *b, const char *pb)
{
    if (ra != rb)
        abort();
    if (ra <= 0)
        return;
    const struct sk_http_str *x[] = {
        &a->mtok, &a->target, &a->line, &a->host, &a->range, &a->if_range, &a->if_modified_since};
    const struct sk_http_str *y[] = {
        &b->mtok, &b->target, &b->line, &b->host, &b->range, &b->if_range, &b->if_modified_since};
    for (size_t i = 0; i < sizeof(x) / sizeof(x[0]); i++)
        if (!x[i]->p != !y[i]->p ||
            (x[i]->p && (x[i]->p - pa != y[i]->p - pb || x[i]->n != y[i]->n)))
            abort();
    if (a->method != b->method || a->minor != b->minor || a->keep_alive != b->keep_alive ||
        a->content_length != b->content_length || a->transfer_encoding != b->transfer_encoding ||
        a->nheaders != b->nheaders)
        abort();
}

/* Feed p[0..n) (and its copy q) to the resumable parser: prefixes ending at
 * split points drawn from seed, or every length when bytewise; it must
 * answer want and whole, what one sk_http_parse() of p[0..n) gave. */
static void resumed(const char *p, const char *q, size_t n, const struct sk_http_limits *lim,
                    ssize_t want, const struct sk_http_req *whole, uint32_t seed, int bytewise)
{
    struct sk_http_req r;
    struct sk_http_parse_state st = {0};
    ssize_t got = 0;
    size_t k = 0;
    int flip = 0;
    const char *base = p;
    while (got == 0 && k < n) {
        if (bytewise) {
            k++;
        } else {
            seed = seed * 1103515245u + 12345u;
            k += 1 + (seed >> 16) % (n - k < 97 ? n - k : 97);
        }
        base = flip ? q : p; /* the buffer may move between calls */
        flip = !flip;
        got = sk_http_parse_resume(base, k, lim, &r, &st);
    }
    same(want, whole, p, got, &r, base);
    if (got != 0) {
        static const struct sk_http_parse_state zero;
        if (memcmp(&st, &zero, sizeof(st)) != 0)
            abort(); /* ready for the next head */
    }
}

/* One server for the whole run; a fresh connection per input. */
static struct sk_server srv;

static void drive_service(const uint8_t *data, size_t size)
{
    if (!srv.svc) {
        char err[128];
        sk_server_init(&srv);
        srv.lim.in_max = 1024;
        srv.lim.out_max = 64 * 1024;
        srv.lim.out_high = 16 * 1024;
        srv.svc = sk_service_find("http");
        if (!srv.svc || srv.svc->create(&srv.svc_state) < 0 ||
            sk_service_option(srv.svc, srv.svc_state, "no-access-log", NULL, err, sizeof(err)) <
                0 ||
            sk_server_start_service(&srv, err, sizeof(err)) < 0)
            abort();
    }
    struct sk_conn c;
    memset(&c, 0, sizeof(c));
    c.srv = &srv;
    c.fd = c.file.fd = -1;
    sk_buf_init(&c.in, srv.lim.in_max);
    sk_buf_init(&c.out, srv.lim.out_max);
    c.ctx = calloc(1, srv.svc->conn_size);
    if (!c.ctx)
        abort();
    /* The first byte picks the piece size. */
    size_t step = size ? (size_t)data[0] % 64 + 1 : 1, off = size ? 1 : 0;
    while (off < size && !(c.flags & (SK_CONN_END | SK_CONN_ABORT))) {
        size_t n = size - off < step ? size - off : step;
        if (sk_buf_len(&c.in) + n > c.in.max)
            break; /* a model would have closed with the input full */
        if (sk_buf_append(&c.in, data + off, n) < 0)
            abort();
        off += n;
        while (sk_buf_len(&c.in) > 0 && !(c.flags & (SK_CONN_END | SK_CONN_ABORT))) {
            ssize_t k = srv.svc->data(&c, sk_buf_data(&c.in), sk_buf_len(&c.in));
            if (k < 0 || (size_t)k > sk_buf_len(&c.in))
                abort();
            if (k == 0)
                break;
            sk_buf_consume(&c.in, (size_t)k);
        }
        /* A full input buffer must have been answered (431/414), or the
         * model would drop the peer without a word. */
        if (sk_buf_len(&c.in) >= c.in.max && !(c.flags & (SK_CONN_END | SK_CONN_ABORT)))
            abort();
        sk_buf_clear(&c.out); /* as if sent */
    }
    if (c.deadline_ms && !(c.flags & (SK_CONN_END | SK_CONN_ABORT))) {
        ssize_t used = srv.svc->timeout(&c, sk_buf_data(&c.in), sk_buf_len(&c.in));
        if (used > 0)
            sk_buf_consume(&c.in, (size_t)used);
    }
    srv.svc->close(&c);
    free(c.ctx);
    sk_buf_free(&c.in);
    sk_buf_free(&c.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct sk_http_limits lim = {.max_line = 512, .max_head = 2048, .max_headers = 32};
    struct sk_http_req r;
    size_t off = 0;

    /* Resumed in random splits and byte by byte, from every head start. */
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    uint32_t seed = 2166136261u;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 16777619u;
    /* Parse pipelined requests one after another, as the service does;
     * each head (and what follows an incomplete or refused one) is also
     * resumed, from the same whole parse. */
    for (int i = 0; i < 64 && off <= size; i++) {
        ssize_t n = sk_http_parse(p + off, size - off, &lim, &r);
        resumed(p + off, copy + off, size - off, &lim, n, &r, seed + (uint32_t)i, 0);
        resumed(p + off, copy + off, size - off, &lim, n, &r, 0, 1);
        if (off == size)
            break; /* the empty rest: resumed only, as before */
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
    free(copy);
    drive_service(data, size);
    /* The helpers alone, on the raw bytes. */
    int64_t t;
    sk_http_date_parse(p, size, &t);
    uint64_t a, b;
    if (sk_http_range(p, size, 77, &a, &b) == 1 && (a > b || b >= 77))
        abort();
    return 0;
}
