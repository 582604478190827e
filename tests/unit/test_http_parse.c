/* test_http_parse.c - the HTTP request parser, dates, ranges and media
 * types, table-driven. Every request is also parsed right before a
 * PROT_NONE page, and at every shorter length, so any read past the input
 * faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const struct sk_http_limits lim = {.max_line = 64, .max_head = 256, .max_headers = 8};

/* Parse s placed so that its last byte touches a guard page. */
static ssize_t parse_guarded(const char *s, size_t n, const struct sk_http_limits *l,
                             struct sk_http_req *r)
{
    static char *page;
    static size_t psz;
    if (!page) {
        psz = (size_t)sysconf(_SC_PAGESIZE);
        page = mmap(NULL, 2 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_true(page != MAP_FAILED);
        assert_int_equal(mprotect(page + psz, psz, PROT_NONE), 0);
    }
    assert_true(n <= psz);
    char *at = page + psz - n;
    memcpy(at, s, n);
    return sk_http_parse(at, n, l, r);
}

static const struct req_case {
    const char *in;
    ssize_t want; /* >0: the head is that long (-1: all of in); 0: incomplete; <0: -status */
    int method, minor, keep;
    const char *target;
} reqs[] = {
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", -1, SK_HTTP_GET, 1, 1, "/"},
    {"GET / HTTP/1.1\nHost: a\n\n", -1, SK_HTTP_GET, 1, 1, "/"},
    {"HEAD /x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n", -1, SK_HTTP_HEAD, 1, 1, "/x?y=1"},
    {"GET / HTTP/1.0\r\n\r\n", -1, SK_HTTP_GET, 0, 0, "/"},
    {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", -1, SK_HTTP_GET, 0, 1, "/"},
    {"GET / HTTP/1.0\r\nConnection: Keep-Alive, foo\r\n\r\n", -1, SK_HTTP_GET, 0, 1, "/"},
    {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", -1, SK_HTTP_GET, 1, 0, "/"},
    {"GET / HTTP/1.1\r\nHost: a\r\nconnection:  upgrade ,CLOSE \r\n\r\n", -1, SK_HTTP_GET, 1, 0,
     "/"},
    {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", -1, SK_HTTP_GET, 1, 1, "/"},
    {"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", -1, SK_HTTP_GET, 1, 1, "/"},
    {"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", 48, SK_HTTP_POST, 1, 1, "/f"},
    {"BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", -1, SK_HTTP_OTHER, 1, 1, "/pot"},
    {"GET http://h/p HTTP/1.1\r\nHost: h\r\n\r\n", -1, SK_HTTP_GET, 1, 1, "http://h/p"},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: \x80\xff obs-text\r\n\r\n", -1, SK_HTTP_GET, 1, 1, "/"},
    /* incomplete */
    {"", 0, 0, 0, 0, NULL},
    {"\r\n", 0, 0, 0, 0, NULL},
    {"GET / HTTP/1.1", 0, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\n", 0, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r", 0, 0, 0, 0, NULL},
    /* malformed: 400 */
    {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET /\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / http/1.1\r\nHost: a\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / HTTP/1\r\nHost: a\r\n\r\n", -400, 0, 0, 0, NULL},
    {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", -400, 0, 0, 0, NULL},
    {" GET / HTTP/1.1\r\nHost: a\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\rX\r\nHost: a\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\r\n: v\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\rz\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\r\n\r\n", -400, 0, 0, 0, NULL}, /* 1.1 without Host */
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", -400, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -400, 0, 0, 0,
     NULL},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", -400, 0, 0, 0,
     NULL},
    /* versions */
    {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", -505, 0, 0, 0, NULL},
    {"GET / HTTP/0.9\r\n\r\n", -505, 0, 0, 0, NULL},
    /* limits: a 65-byte request line, a head over 256 bytes, nine fields */
    {"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n", -414, 0, 0, 0,
     NULL},
    {"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -414, 0, 0, 0,
     NULL},
    {"GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\nH: 1\r\nI: "
     "1\r\n\r\n",
     -431, 0, 0, 0, NULL},
    {"GET / HTTP/1.1\r\nA: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "\r\n\r\n",
     -431, 0, 0, 0, NULL},
};

static void request_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        struct sk_http_req r;
        size_t n = strlen(reqs[i].in);
        ssize_t want = reqs[i].want == -1 ? (ssize_t)n : reqs[i].want;
        ssize_t got = parse_guarded(reqs[i].in, n, &lim, &r);
        if (got != want)
            fail_msg("case %zu (%s): got %zd, want %zd", i, reqs[i].in, got, want);
        if (want > 0) {
            assert_int_equal(r.method, reqs[i].method);
            assert_int_equal(r.minor, reqs[i].minor);
            assert_int_equal(r.keep_alive, reqs[i].keep);
            assert_int_equal(r.target.n, strlen(reqs[i].target));
            assert_memory_equal(r.target.p, reqs[i].target, r.target.n);
            /* Every shorter prefix is incomplete, never an error. */
            for (size_t k = 0; k < (size_t)want; k++) {
                ssize_t p = parse_guarded(reqs[i].in, k, &lim, &r);
                if (p != 0)
                    fail_msg("case %zu prefix %zu: got %zd, want 0", i, k, p);
            }
        }
    }
}

/* The same head parsed whole and resumed: equal results, with every slice
 * at the same offset. */
static void same_req(const char *what, size_t k, const char *a, ssize_t ra,
                     const struct sk_http_req *x, const char *b, ssize_t rb,
                     const struct sk_http_req *y)
{
    if (ra != rb)
        fail_msg("%s split %zu: got %zd, want %zd", what, k, rb, ra);
    if (ra <= 0)
        return;
    const struct sk_http_str *sx[] = {
        &x->mtok, &x->target, &x->line, &x->host, &x->if_modified_since, &x->range, &x->if_range};
    const struct sk_http_str *sy[] = {
        &y->mtok, &y->target, &y->line, &y->host, &y->if_modified_since, &y->range, &y->if_range};
    for (size_t i = 0; i < sizeof(sx) / sizeof(sx[0]); i++) {
        assert_int_equal(!sx[i]->p, !sy[i]->p);
        if (sx[i]->p) {
            assert_int_equal(sx[i]->p - a, sy[i]->p - b);
            assert_int_equal(sx[i]->n, sy[i]->n);
        }
    }
    assert_int_equal(x->method, y->method);
    assert_int_equal(x->minor, y->minor);
    assert_int_equal(x->keep_alive, y->keep_alive);
    assert_int_equal(x->content_length, y->content_length);
    assert_int_equal(x->transfer_encoding, y->transfer_encoding);
    assert_int_equal(x->nheaders, y->nheaders);
}

/* Feed in[0..n) as two calls split at k, the second from a moved copy of
 * the buffer (the state holds offsets only); then one byte at a time. Each
 * must end as the whole does, and no earlier call may answer differently. */
static void split_one(const char *what, const char *in, size_t n, const struct sk_http_limits *l)
{
    struct sk_http_req whole, r;
    ssize_t want = sk_http_parse(in, n, l, &whole);
    char *moved = malloc(n ? n : 1);
    assert_non_null(moved);
    memcpy(moved, in, n);
    for (size_t k = 0; k <= n; k++) {
        struct sk_http_parse_state st = {0};
        const char *base = in;
        ssize_t got = sk_http_parse_resume(in, k, l, &r, &st);
        if (got == 0) {
            base = moved;
            got = sk_http_parse_resume(moved, n, l, &r, &st);
        }
        same_req(what, k, in, want, &whole, base, got, &r);
        if (got != 0) {
            struct sk_http_parse_state zero = {0};
            assert_memory_equal(&st, &zero, sizeof(st)); /* ready for the next head */
        }
    }
    struct sk_http_parse_state st = {0};
    ssize_t got = 0;
    size_t k;
    for (k = 1; k <= n && got == 0; k++)
        got = sk_http_parse_resume(moved, k, l, &r, &st);
    same_req(what, k - 1, in, want, &whole, moved, got, &r);
    free(moved);
}

static void split_points(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
        split_one(reqs[i].in, reqs[i].in, strlen(reqs[i].in), &lim);
    /* Limits met exactly, and passed by one, with empty lines first. */
    static const char *more[] = {
        "\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\nRange: bytes=1-\r\nIf-Range: x\r\n\r\n",
        "\r\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "\n\rGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\r\nHost: a\r\n\r\n",
        "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: "
        "a\r\n\r\n",
        "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: "
        "a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: "
        "1\r\nG: "
        "1\r\nH: 1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
        split_one(more[i], more[i], strlen(more[i]), &lim);
    /* Empty lines up to max_head (256), then a CR that may or may not start
     * one more: a prefix ending in that CR must not answer otherwise than
     * the whole does. */
    for (size_t lead = 250; lead <= 257; lead++) {
        static const char req[] = "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n";
        char blank[300];
        size_t n = lead + sizeof(req) - 1;
        memset(blank, '\n', lead);
        memcpy(blank + lead, req, sizeof(req) - 1);
        split_one("blank, CR", blank, n, &lim);
        blank[lead + 1] = '\n'; /* the CR starts a CRLF after all */
        split_one("blank, CRLF", blank, n, &lim);
    }
    /* Heads right at max_head (256) and one byte over, with leading CRLFs. */
    char big[300];
    for (size_t pad = 0; pad < 4; pad++) {
        for (size_t total = 250; total <= 260; total++) {
            size_t n = 0;
            for (size_t j = 0; j < pad; j++)
                n += (size_t)sprintf(big + n, "\r\n");
            n += (size_t)sprintf(big + n, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
            while (n < total - 4)
                big[n++] = 'x';
            memcpy(big + n, "\r\n\r\n", 4);
            split_one("big", big, total, &lim);
            split_one("big, all but its end", big, total - 1, &lim);
        }
    }
}

static void fields(void **state)
{
    (void)state;
    const char *in = "GET /f HTTP/1.1\r\nhOsT: example.org:8080 \r\nRange: bytes=1-2\r\n"
                     "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nIf-Range: x\r\n"
                     "Content-Length: 10\r\nTransfer-Encoding: chunked\r\nX-Other: 1\r\n\r\n";
    struct sk_http_req r;
    ssize_t n = sk_http_parse(in, strlen(in), &(struct sk_http_limits){1024, 4096, 100}, &r);
    assert_int_equal(n, (ssize_t)strlen(in));
    assert_int_equal(r.host.n, 16);
    assert_memory_equal(r.host.p, "example.org:8080", 16);
    assert_memory_equal(r.range.p, "bytes=1-2", r.range.n);
    assert_int_equal(r.if_modified_since.n, SK_HTTP_DATE_LEN);
    assert_int_equal(r.if_range.n, 1);
    assert_int_equal(r.content_length, 10);
    assert_int_equal(r.transfer_encoding, 1);
    assert_int_equal(r.nheaders, 7);
    assert_int_equal(r.line.n, strlen("GET /f HTTP/1.1"));
    assert_memory_equal(r.mtok.p, "GET", 3);
}

static void pipelined(void **state)
{
    (void)state;
    const char *in = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3";
    struct sk_http_limits l = {1024, 4096, 100};
    struct sk_http_req r;
    size_t off = 0, n = strlen(in);
    ssize_t a = sk_http_parse(in, n, &l, &r);
    assert_true(a > 0);
    assert_memory_equal(r.target.p, "/1", 2);
    off += (size_t)a;
    ssize_t b = sk_http_parse(in + off, n - off, &l, &r);
    assert_true(b > 0);
    assert_memory_equal(r.target.p, "/2", 2);
    off += (size_t)b;
    assert_int_equal(sk_http_parse(in + off, n - off, &l, &r), 0);
}

static void methods(void **state)
{
    (void)state;
    assert_int_equal(sk_http_method_of("GET", 3), SK_HTTP_GET);
    assert_int_equal(sk_http_method_of("HEAD", 4), SK_HTTP_HEAD);
    assert_int_equal(sk_http_method_of("DELETE", 6), SK_HTTP_DELETE);
    assert_int_equal(sk_http_method_of("get", 3), SK_HTTP_OTHER);
    assert_int_equal(sk_http_method_of("GETX", 4), SK_HTTP_OTHER);
    assert_int_equal(sk_http_method_of("", 0), SK_HTTP_OTHER);
}

static void dates(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int ok;
        int64_t t;
    } t[] = {
        {"Sun, 06 Nov 1994 08:49:37 GMT", 1, 784111777},
        {"Sunday, 06-Nov-94 08:49:37 GMT", 1, 784111777},
        {"Sun Nov  6 08:49:37 1994", 1, 784111777},
        {"Thu, 01 Jan 1970 00:00:00 GMT", 1, 0},
        {"Tue, 29 Feb 2028 23:59:59 GMT", 1, 1835481599},
        {"Sun, 06 Nov 1994 08:49:37 UTC", 0, 0},
        {"Sun, 06 Xyz 1994 08:49:37 GMT", 0, 0},
        {"Sun, 06 Nov 1994 25:49:37 GMT", 0, 0},
        {"Sun, 6 Nov 1994 08:49:37 GMT", 0, 0},
        {"Sun, 00 Nov 1994 08:49:37 GMT", 0, 0},
        {"yesterday", 0, 0},
        {"", 0, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int64_t v = -1;
        int r = sk_http_date_parse(t[i].in, strlen(t[i].in), &v);
        if (t[i].ok) {
            assert_int_equal(r, 0);
            assert_int_equal(v, t[i].t);
        } else {
            assert_int_equal(r, -EINVAL);
        }
    }
    char out[SK_HTTP_DATE_LEN + 1];
    assert_int_equal(sk_http_date_format(784111777, out), SK_HTTP_DATE_LEN);
    assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    sk_http_date_format(0, out);
    assert_string_equal(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    sk_http_date_format(1835481599, out);
    assert_string_equal(out, "Tue, 29 Feb 2028 23:59:59 GMT");
    /* Round trip over a spread of times. */
    for (int64_t s = 0; s < 4102444800LL; s += 86399 * 37) {
        int64_t back;
        sk_http_date_format(s, out);
        assert_int_equal(sk_http_date_parse(out, SK_HTTP_DATE_LEN, &back), 0);
        assert_int_equal(back, s);
    }
}

static void ranges(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint64_t size;
        int want;
        uint64_t first, last;
    } t[] = {
        {"bytes=0-0", 10, 1, 0, 0},
        {"bytes=2-5", 10, 1, 2, 5},
        {"bytes=2-", 10, 1, 2, 9},
        {"bytes=-3", 10, 1, 7, 9},
        {"bytes=-30", 10, 1, 0, 9},
        {"bytes=5-100", 10, 1, 5, 9},
        {"Bytes=1-1", 10, 1, 1, 1},
        {"bytes=9-9", 10, 1, 9, 9},
        {"bytes=10-", 10, -1, 0, 0},
        {"bytes=10-20", 10, -1, 0, 0},
        {"bytes=-0", 10, -1, 0, 0},
        {"bytes=0-", 0, -1, 0, 0},
        {"bytes=-5", 0, -1, 0, 0},
        {"bytes=5-2", 10, 0, 0, 0},
        {"bytes=1-2,4-5", 10, 0, 0, 0},
        {"bytes=-", 10, 0, 0, 0},
        {"bytes=a-b", 10, 0, 0, 0},
        {"bytes=1-2x", 10, 0, 0, 0},
        {"items=1-2", 10, 0, 0, 0},
        {"bytes=99999999999999999999999-", 10, 0, 0, 0},
        {"", 10, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        uint64_t a = 77, b = 77;
        int r = sk_http_range(t[i].in, strlen(t[i].in), t[i].size, &a, &b);
        if (r != t[i].want)
            fail_msg("case %zu (%s): got %d, want %d", i, t[i].in, r, t[i].want);
        if (r == 1) {
            assert_int_equal(a, t[i].first);
            assert_int_equal(b, t[i].last);
        }
    }
}

static void mime(void **state)
{
    (void)state;
    static const struct {
        const char *name, *type;
    } t[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"A.HTM", "text/html; charset=utf-8"},
        {"dir/pic.JPEG", "image/jpeg"},
        {"x.tar.gz", "application/gzip"},
        {"font.woff2", "font/woff2"},
        {"Makefile", "application/octet-stream"},
        {"trailing.", "application/octet-stream"},
        {"a.b/noext", "application/octet-stream"},
        {"x.unknownext", "application/octet-stream"},
        {".bashrc", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_string_equal(sk_http_mime(t[i].name, strlen(t[i].name)), t[i].type);
    assert_string_equal(sk_http_reason(404), "Not Found");
    assert_string_equal(sk_http_reason(431), "Request Header Fields Too Large");
    assert_string_equal(sk_http_reason(299), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_table), cmocka_unit_test(split_points), cmocka_unit_test(fields),
        cmocka_unit_test(pipelined),     cmocka_unit_test(methods),      cmocka_unit_test(dates),
        cmocka_unit_test(ranges),        cmocka_unit_test(mime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
