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

static void request_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        ssize_t want; /* >0: the head is that long (-1: all of in); 0: incomplete; <0: -status */
        int method, minor, keep;
        const char *target;
    } t[] = {
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
        {"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", 48, SK_HTTP_POST, 1, 1,
         "/f"},
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
        {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -400, 0, 0,
         0, NULL},
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
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_http_req r;
        size_t n = strlen(t[i].in);
        ssize_t want = t[i].want == -1 ? (ssize_t)n : t[i].want;
        ssize_t got = parse_guarded(t[i].in, n, &lim, &r);
        if (got != want)
            fail_msg("case %zu (%s): got %zd, want %zd", i, t[i].in, got, want);
        if (want > 0) {
            assert_int_equal(r.method, t[i].method);
            assert_int_equal(r.minor, t[i].minor);
            assert_int_equal(r.keep_alive, t[i].keep);
            assert_int_equal(r.target.n, strlen(t[i].target));
            assert_memory_equal(r.target.p, t[i].target, r.target.n);
            /* Every shorter prefix is incomplete, never an error. */
            for (size_t k = 0; k < (size_t)want; k++) {
                ssize_t p = parse_guarded(t[i].in, k, &lim, &r);
                if (p != 0)
                    fail_msg("case %zu prefix %zu: got %zd, want 0", i, k, p);
            }
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
        cmocka_unit_test(request_table), cmocka_unit_test(fields), cmocka_unit_test(pipelined),
        cmocka_unit_test(methods),       cmocka_unit_test(dates),  cmocka_unit_test(ranges),
        cmocka_unit_test(mime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
