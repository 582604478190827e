/* test_bench_http.c - the HTTP response parsing of the load generator: the
 * head parser (status, Content-Length, chunked, keep-alive) and the chunked
 * body skipper, fed whole and one byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct head_case {
    const char *in;
    int ret; /* > 0: the head length is strlen(in) minus tail; 0 incomplete; < 0 error */
    size_t tail;
    int status, minor, chunked, close, no_body;
    int64_t cl;
};

static const struct head_case heads[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n", 1, 0, 200, 1, 0, 0, 0, 13},
    {"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!", 1, 13, 200, 1, 0, 0, 0, 13},
    {"HTTP/1.1 404 Not Found\r\ncontent-length:0\r\n\r\n", 1, 0, 404, 1, 0, 0, 0, 0},
    {"HTTP/1.1 200\r\nContent-Length: 5\r\n\r\n", 1, 0, 200, 1, 0, 0, 0, 5},
    {"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n", 1, 0, 200, 0, 0, 1, 0, 5},
    {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\n", 1, 0, 200, 0, 0, 0,
     0, 5},
    {"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 5\r\n\r\n", 1, 0, 200, 1, 0, 1, 0, 5},
    {"HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 5\r\n\r\n", 1, 0, 200, 1, 0,
     1, 0, 5},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 1, 0, 200, 1, 1, 0, 0, -1},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 9\r\n\r\n", 1, 0, 200,
     1, 1, 0, 0, -1},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 1, 0, 200, 1, 0, 1, 0, -1},
    {"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", 1, 0, 200, 1, 0, 1, 0, -1}, /* body until close */
    {"HTTP/1.1 204 No Content\r\n\r\n", 1, 0, 204, 1, 0, 0, 1, -1},
    {"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 1, 0, 304, 1, 0, 0, 1, 10},
    {"HTTP/1.1 100 Continue\r\n\r\n", 1, 0, 100, 1, 0, 0, 1, -1},
    {"HTTP/1.1 200 OK\nContent-Length: 2\n\n", 1, 0, 200, 1, 0, 0, 0, 2}, /* bare LFs */
    {"HTTP/1.1 200 OK\r\nContent-Length:  7 \r\n\r\n", 1, 0, 200, 1, 0, 0, 0, 7},
    {"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n", 1, 0, 200, 1, 0, 0, 0, 7},
    /* incomplete */
    {"", 0, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.", 0, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.1 200 OK\r\n", 0, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r", 0, 0, 0, 0, 0, 0, 0, 0},
    /* malformed */
    {"HTTP/2 200 OK\r\n\r\n", -EBADMSG, 0, 0, 0, 0, 0, 0, 0},
    {"GET / HTTP/1.1\r\n\r\n", -EBADMSG, 0, 0, 0, 0, 0, 0, 0},
    {"HTTX", -EBADMSG, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.1 2x0 OK\r\n\r\n", -EBADMSG, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.1 200OK\r\n\r\n", -EBADMSG, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.1 099 Low\r\n\r\n", -EBADMSG, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", -EBADMSG, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", -EBADMSG, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", -EBADMSG, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", -EBADMSG, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", -EBADMSG, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", -EBADMSG, 0, 0, 0, 0, 0,
     0, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", -EBADMSG, 0, 0, 0, 0, 0, 0,
     0},
};

static void head_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        const struct head_case *t = &heads[i];
        size_t n = strlen(t->in);
        /* An exact-size heap copy, so ASan catches a read past the end. */
        char *p = malloc(n ? n : 1);
        assert_non_null(p);
        memcpy(p, t->in, n);
        struct sk_http_resp r;
        int got = sk_http_resp_parse(p, n, &r);
        if (t->ret > 0) {
            if (got != (int)(n - t->tail))
                fail_msg("case %zu: returned %d, want %zu", i, got, n - t->tail);
            assert_int_equal(r.status, t->status);
            assert_int_equal(r.minor, t->minor);
            assert_int_equal(r.chunked, t->chunked);
            if (r.close != t->close)
                fail_msg("case %zu: close %d, want %d", i, r.close, t->close);
            assert_int_equal(r.no_body, t->no_body);
            assert_int_equal(r.content_length, t->cl);
        } else if (got != t->ret) {
            fail_msg("case %zu (%s): returned %d, want %d", i, t->in, got, t->ret);
        }
        free(p);
    }
}

static void head_too_long(void **state)
{
    (void)state;
    size_t n = SK_HTTP_HEAD_MAX + 100;
    char *p = malloc(n);
    assert_non_null(p);
    memcpy(p, "HTTP/1.1 200 OK\r\nX: ", 21);
    memset(p + 21, 'a', n - 21);
    struct sk_http_resp r;
    assert_int_equal(sk_http_resp_parse(p, n, &r), -EMSGSIZE);
    assert_int_equal(sk_http_resp_parse(p, 1000, &r), 0);
    free(p);
}

/* Parse in[0..n) resumed after a split at k (the rest from a moved copy)
 * and one byte at a time: the same answer as whole, and no earlier call
 * answers differently. */
static void split_one(size_t i, const char *in, size_t n)
{
    struct sk_http_resp whole, r;
    memset(&whole, 0, sizeof(whole));
    int want = sk_http_resp_parse(in, n, &whole);
    char *moved = malloc(n ? n : 1);
    assert_non_null(moved);
    memcpy(moved, in, n);
    for (size_t k = 0; k <= n + 1; k++) {
        struct sk_http_resp_state st;
        memset(&st, 0, sizeof(st));
        memset(&r, 0, sizeof(r));
        int got = 0;
        if (k <= n) /* k == n + 1: one byte at a time */
            got = sk_http_resp_parse_resume(in, k, &r, &st);
        for (size_t m = k <= n ? n : 1; got == 0 && m <= n; m++)
            got = sk_http_resp_parse_resume(moved, m, &r, &st);
        if (got != want)
            fail_msg("case %zu split %zu: returned %d, want %d", i, k, got, want);
        if (got > 0)
            assert_memory_equal(&r, &whole, sizeof(r));
    }
    free(moved);
}

static void head_split_points(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
        split_one(i, heads[i].in, strlen(heads[i].in));
    /* Pipelined: the first head ends where the whole says. */
    const char *two = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    split_one(99, two, strlen(two));
}

/* Feed a chunked body whole, then byte by byte; both must end at the same
 * place with the same verdict. */
static long feed_all(const char *body, size_t n, size_t step, int *done)
{
    struct sk_http_chunked c;
    memset(&c, 0, sizeof(c));
    size_t off = 0;
    *done = 0;
    while (off < n && !*done) {
        size_t k = n - off < step ? n - off : step;
        long r = sk_http_chunked_feed(&c, body + off, k, done);
        if (r < 0)
            return r;
        off += (size_t)r;
    }
    return (long)off;
}

struct chunk_case {
    const char *in;
    long want; /* bytes consumed when done, or an error; 0: not done */
};

static const struct chunk_case chunks[] = {
    {"5\r\nhello\r\n0\r\n\r\n", 15},
    {"5\r\nhello\r\n0\r\n\r\nHTTP/1.1", 15}, /* stops right at the end */
    {"a;ext=1\r\n0123456789\r\n0\r\n\r\n", 26},
    {"A\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n", 32},
    {"3\nabc\n0\n\n", 9},
    {"0\r\n\r\n", 5},
    {"5\r\nhel", 0},
    {"5\r\nhello\r\n0\r\n", 0},
    {"\r\n", -EBADMSG},
    {"g\r\n", -EBADMSG},
    {"5\r\nhelloX\r\n", -EBADMSG},
    {"5\r\nhello\rX", -EBADMSG},
    {"1234567890123456\r\n", -EBADMSG},
    {"0\r\n\rX", -EBADMSG},
};

static void chunked_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        const struct chunk_case *t = &chunks[i];
        size_t n = strlen(t->in);
        for (size_t step = 1; step <= n; step = step == 1 ? n : n + 1) {
            int done;
            long got = feed_all(t->in, n, step, &done);
            if (t->want < 0) {
                if (got != t->want)
                    fail_msg("case %zu step %zu: got %ld, want error", i, step, got);
            } else if (t->want == 0) {
                if (done || got != (long)n)
                    fail_msg("case %zu step %zu: done %d got %ld, want incomplete", i, step, done,
                             got);
            } else if (!done || got != t->want) {
                fail_msg("case %zu step %zu: done %d got %ld, want %ld", i, step, done, got,
                         t->want);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(head_table),
        cmocka_unit_test(head_split_points),
        cmocka_unit_test(head_too_long),
        cmocka_unit_test(chunked_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
