/* test_bench_parts.c - the pure parts of the bench beyond the response
 * parser: the HTTP request head (-m, -H, --body, --no-keepalive), the --slo
 * goal parser, the verdict of one run against a goal, Jain's fairness index,
 * the --source address list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct slo_case {
    const char *in;
    int ok;
    unsigned n;
    double pct0;
    int64_t ns0;
    uint64_t errors;
};

static const struct slo_case slos[] = {
    {"p99=5ms", 1, 1, 99, 5000000, 0},
    {"p99=5ms,errors=0", 1, 1, 99, 5000000, 0},
    {"p99.9=250us,errors=3", 1, 1, 99.9, 250000, 3},
    {"p50=1.5ms,p99=10ms", 1, 2, 50, 1500000, 0},
    {"errors=0,p90=2s", 1, 1, 90, 2000000000, 0},
    {"", 0, 0, 0, 0, 0},
    {"errors=0", 0, 0, 0, 0, 0},     /* no latency goal */
    {"p99=5", 0, 0, 0, 0, 0},        /* no unit */
    {"p99=5min", 0, 0, 0, 0, 0},     /* unknown unit */
    {"p99=0ms", 0, 0, 0, 0, 0},      /* zero */
    {"p5=.000066us", 0, 0, 0, 0, 0}, /* under the histogram's 1 us (was 0 ns: fuzz_bench_slo) */
    {"p99=0.5us", 0, 0, 0, 0, 0},
    {"p99=1us", 1, 1, 99, 1000, 0},
    {"p99=61s", 0, 0, 0, 0, 0},  /* above 60 s */
    {"p100=5ms", 0, 0, 0, 0, 0}, /* not below 100 */
    {"p0=5ms", 0, 0, 0, 0, 0},
    {"p=5ms", 0, 0, 0, 0, 0},
    {"p99=5ms,p99=6ms", 0, 0, 0, 0, 0}, /* twice */
    {"p99=5ms,errors=1,errors=2", 0, 0, 0, 0, 0},
    {"p99=5ms,", 0, 0, 0, 0, 0}, /* empty part */
    {"p99", 0, 0, 0, 0, 0},
    {"p99=", 0, 0, 0, 0, 0},
    {"latency=5ms", 0, 0, 0, 0, 0},
    {"errors=-1,p99=5ms", 0, 0, 0, 0, 0},
    {"p1=1ms,p2=1ms,p3=1ms,p4=1ms,p5=1ms", 0, 0, 0, 0, 0}, /* more than 4 */
};

static void slo_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(slos) / sizeof(slos[0]); i++) {
        const struct slo_case *t = &slos[i];
        struct sk_bench_slo s;
        const char *why = NULL;
        int r = sk_bench_slo_parse(t->in, &s, &why);
        if (!t->ok) {
            if (r != -EINVAL)
                fail_msg("'%s' should be refused", t->in);
            assert_non_null(why);
            continue;
        }
        if (r != 0)
            fail_msg("'%s' refused: %s", t->in, why);
        assert_int_equal(s.n, t->n);
        assert_true(s.pct[0] == t->pct0);
        assert_int_equal(s.max_ns[0], t->ns0);
        assert_int_equal(s.max_errors, t->errors);
    }
}

/* A run meets the goal only with its latencies under the bounds, its errors
 * within the allowance and its achieved rate near the target. */
static void slo_verdict(void **state)
{
    (void)state;
    struct sk_bench_slo s;
    const char *why;
    assert_int_equal(sk_bench_slo_parse("p99=5ms", &s, &why), 0);
    struct sk_bench_result *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    sk_hist_init(&r->hist);
    for (int i = 0; i < 1000; i++)
        sk_hist_record(&r->hist, i < 995 ? 1000000 : 20000000); /* p99 1 ms */
    r->requests = 1000;
    r->elapsed_s = 1.0;
    assert_int_equal(sk_bench_slo_check(&s, 1000, r, &why), 1);
    assert_string_equal(why, "");
    assert_int_equal(sk_bench_slo_check(&s, 1200, r, &why), 0); /* 1000/s of 1200/s */
    assert_string_equal(why, "fell behind");
    r->errors[SK_BERR_TIMEOUT] = 1;
    assert_int_equal(sk_bench_slo_check(&s, 1000, r, &why), 0);
    assert_string_equal(why, "errors");
    r->errors[SK_BERR_TIMEOUT] = 0;
    for (int i = 0; i < 20; i++)
        sk_hist_record(&r->hist, 20000000); /* now p99 is 20 ms */
    assert_int_equal(sk_bench_slo_check(&s, 1000, r, &why), 0);
    assert_string_equal(why, "latency");
    r->requests = 0;
    assert_int_equal(sk_bench_slo_check(&s, 1000, r, &why), 0);
    free(r);
}

static void head(struct sk_bench_cfg *c, const char *path, const char *want)
{
    char buf[1024];
    long n = sk_bench_http_head(c, path, buf, sizeof(buf));
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void http_head_table(void **state)
{
    (void)state;
    struct sk_bench_cfg c;
    sk_bench_cfg_init(&c);
    c.http_host = "h:8080";
    head(&c, "/",
         "GET / HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: sockit-bench/1\r\n"
         "Accept: */*\r\n\r\n");
    c.http_method = "DELETE";
    head(&c, "/x?y=1",
         "DELETE /x?y=1 HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: sockit-bench/1\r\n"
         "Accept: */*\r\n\r\n");
    /* A body: POST unless told, with its length; user headers replace defaults. */
    c.http_method = NULL;
    c.http_body = "hello";
    c.http_body_len = 5;
    const char *hs[] = {"host: other", "X-Trace: a b"};
    c.http_headers = hs;
    c.http_nheaders = 2;
    head(&c, "/p",
         "POST /p HTTP/1.1\r\nUser-Agent: sockit-bench/1\r\nAccept: */*\r\n"
         "host: other\r\nX-Trace: a b\r\nContent-Length: 5\r\n\r\n");
    c.http_close = 1;
    head(&c, "/p",
         "POST /p HTTP/1.1\r\nUser-Agent: sockit-bench/1\r\nAccept: */*\r\n"
         "host: other\r\nX-Trace: a b\r\nContent-Length: 5\r\nConnection: close\r\n\r\n");

    /* Refused: a method that is no token, headers without a name or with a
     * line break, a path with a space; too small a buffer. */
    char buf[64];
    sk_bench_cfg_init(&c);
    c.http_method = "GE T";
    assert_int_equal(sk_bench_http_head(&c, "/", buf, sizeof(buf)), -EINVAL);
    c.http_method = "";
    assert_int_equal(sk_bench_http_head(&c, "/", buf, sizeof(buf)), -EINVAL);
    c.http_method = NULL;
    const char *bad[][1] = {{"NoColon"}, {": v"}, {"A B: v"}, {"X: a\r\nY: b"}};
    for (size_t i = 0; i < 4; i++) {
        c.http_headers = bad[i];
        c.http_nheaders = 1;
        assert_int_equal(sk_bench_http_head(&c, "/", buf, sizeof(buf)), -EINVAL);
    }
    c.http_nheaders = 0;
    assert_int_equal(sk_bench_http_head(&c, "/a b", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(sk_bench_http_head(&c, "/", buf, 20), -EMSGSIZE);
}

/* Jain's index: 1 when all equal, 1/n when one stream has everything, and
 * (sum)^2 / (n * sum of squares) in between. */
static void jain_table(void **state)
{
    (void)state;
    const double eq[] = {5, 5, 5, 5}, one[] = {0, 0, 9, 0}, two[] = {1, 3};
    assert_true(fabs(sk_jain_index(eq, 4) - 1.0) < 1e-12);
    assert_true(fabs(sk_jain_index(one, 4) - 0.25) < 1e-12);
    assert_true(fabs(sk_jain_index(two, 2) - 16.0 / 20.0) < 1e-12);
    assert_true(sk_jain_index(NULL, 0) == 1.0);
    const double zeros[] = {0, 0};
    assert_true(sk_jain_index(zeros, 2) == 1.0);
}

/* --source: single addresses and ranges, in order; refused: IPv6, reversed
 * ranges, junk, empty parts, more than the room given. */
static void source_table(void **state)
{
    (void)state;
    struct sk_addr a[40];
    const char *why = NULL;
    assert_int_equal(sk_bench_source_parse("127.0.0.1-127.0.0.16", a, 40, &why), 16);
    assert_int_equal(a[0].u.in4.sin_family, AF_INET);
    assert_int_equal(ntohl(a[0].u.in4.sin_addr.s_addr), 0x7f000001u);
    assert_int_equal(ntohl(a[15].u.in4.sin_addr.s_addr), 0x7f000010u);
    assert_int_equal(a[15].u.in4.sin_port, 0);
    assert_int_equal(a[15].len, sizeof(struct sockaddr_in));
    assert_int_equal(sk_bench_source_parse("10.0.0.1", a, 40, &why), 1);
    /* Across an octet boundary, then a single address after a comma. */
    assert_int_equal(sk_bench_source_parse("127.0.0.254-127.0.1.1,192.168.1.9", a, 40, &why), 5);
    assert_int_equal(ntohl(a[2].u.in4.sin_addr.s_addr), 0x7f000100u);
    assert_int_equal(ntohl(a[4].u.in4.sin_addr.s_addr), 0xc0a80109u);
    const char *bad[] = {"",           "::1",        "127.0.0.2-127.0.0.1",
                         "127.0.0.1-", "-127.0.0.1", "127.0.0.1,,127.0.0.2",
                         "127.0.0.1,", "1.2.3",      "127.0.0.1-127.0.1.0",
                         "localhost"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (sk_bench_source_parse(bad[i], a, 40, &why) != -EINVAL)
            fail_msg("'%s' should be refused", bad[i]);
        assert_non_null(why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slo_table),       cmocka_unit_test(slo_verdict),
        cmocka_unit_test(http_head_table), cmocka_unit_test(jain_table),
        cmocka_unit_test(source_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
