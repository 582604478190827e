/* test_http_service.c - the http service driven without any socket: bytes in
 * through data(), responses read back from the connection's output buffer.
 * Checks that splitting the input anywhere changes nothing, the header
 * deadline, 408, 431 at a full input buffer, and body skipping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/server.h"
#include "sockit/service.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct rig {
    struct sk_server srv;
    struct sk_conn c;
};

static void rig_open(struct rig *r, size_t in_max, const char *const *opts)
{
    char err[256] = "";
    sk_server_init(&r->srv);
    r->srv.lim.in_max = in_max;
    r->srv.svc = sk_service_find("http");
    assert_non_null(r->srv.svc);
    assert_int_equal(r->srv.svc->create(&r->srv.svc_state), 0);
    assert_int_equal(r->srv.svc->option(r->srv.svc_state, "no-access-log", NULL, err, sizeof(err)),
                     0);
    for (; opts && opts[0]; opts += 2)
        assert_int_equal(r->srv.svc->option(r->srv.svc_state, opts[0], opts[1], err, sizeof(err)),
                         0);
    assert_int_equal(r->srv.svc->start(r->srv.svc_state, &r->srv, err, sizeof(err)), 0);
    memset(&r->c, 0, sizeof(r->c));
    r->c.srv = &r->srv;
    r->c.fd = -1;
    r->c.file.fd = -1;
    sk_buf_init(&r->c.in, in_max);
    sk_buf_init(&r->c.out, r->srv.lim.out_max);
    r->c.ctx = calloc(1, r->srv.svc->conn_size);
    assert_non_null(r->c.ctx);
}

static void rig_close(struct rig *r)
{
    r->srv.svc->close(&r->c);
    free(r->c.ctx);
    sk_buf_free(&r->c.in);
    sk_buf_free(&r->c.out);
    r->srv.lfd = -1;
    sk_server_close(&r->srv);
}

/* What a model does: append to the input, feed until nothing is consumed. */
static void feed(struct rig *r, const char *p, size_t n)
{
    assert_int_equal(sk_buf_append(&r->c.in, p, n), 0);
    while (sk_buf_len(&r->c.in) > 0 &&
           !(r->c.flags & (SK_CONN_END | SK_CONN_ABORT | SK_CONN_HOLD))) {
        ssize_t k = r->srv.svc->data(&r->c, sk_buf_data(&r->c.in), sk_buf_len(&r->c.in));
        assert_true(k >= 0);
        if (k == 0)
            break;
        sk_buf_consume(&r->c.in, (size_t)k);
    }
}

/* The output with every Date value blanked (it changes by the second). */
static char *output(struct rig *r)
{
    size_t n = sk_buf_len(&r->c.out);
    char *s = malloc(n + 1);
    memcpy(s, sk_buf_data(&r->c.out), n);
    s[n] = '\0';
    for (char *d = s; (d = strstr(d, "\r\nDate: ")) != NULL; d += 8)
        memset(d + 8, 'D', 29);
    return s;
}

static const char pipeline[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
                               "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n"
                               "GET /y HTTP/1.0\r\n\r\n";

static void split_anywhere_same_answer(void **state)
{
    (void)state;
    struct rig whole;
    rig_open(&whole, 65536, NULL);
    feed(&whole, pipeline, sizeof(pipeline) - 1);
    char *want = output(&whole);
    assert_true(whole.c.flags & SK_CONN_END); /* HTTP/1.0 without keep-alive */
    assert_int_equal(whole.c.deadline_ms, 0);
    /* Three answers, in order: GET with body, HEAD without, 1.0 closing. */
    const char *a = strstr(want, "Hello, World!HTTP/1.1 200 OK");
    assert_non_null(a);
    assert_non_null(strstr(a + 13, "Content-Length: 13\r\n\r\nHTTP/1.1 200 OK"));
    assert_non_null(strstr(want, "Connection: close\r\n\r\nHello, World!"));
    rig_close(&whole);

    for (size_t cut = 1; cut < sizeof(pipeline) - 1; cut += 3) {
        struct rig r;
        rig_open(&r, 65536, NULL);
        feed(&r, pipeline, cut);
        if (cut < 27) /* inside the first request: the deadline is armed */
            assert_true(r.c.deadline_ms > 0);
        feed(&r, pipeline + cut, sizeof(pipeline) - 1 - cut);
        char *got = output(&r);
        assert_string_equal(got, want);
        free(got);
        rig_close(&r);
    }
    free(want);
}

static void header_timeout_408(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, 65536, (const char *const[]){"header-timeout", "2", NULL});
    feed(&r, "GET / HTTP/1.1\r\nHo", 18);
    assert_true(r.c.deadline_ms > 0);
    /* More of the same head keeps its deadline ... */
    r.c.deadline_ms = 1;
    feed(&r, "st: a\r\n", 7);
    assert_int_equal(r.c.deadline_ms, 1);
    /* ... a complete head clears it, and the next head gets its own. */
    feed(&r, "\r\nGET /2 HTTP/1.1\r\n", 19);
    assert_true(r.c.deadline_ms > 1);
    feed(&r, "Host: a\r\n\r\n", 11);
    assert_int_equal(r.c.deadline_ms, 0);
    sk_buf_clear(&r.c.out);
    feed(&r, "GET /3 HTTP/1.1\r\n", 17);
    r.srv.svc->timeout(&r.c);
    char *got = output(&r);
    assert_true(strncmp(got, "HTTP/1.1 408 Request Timeout\r\n", 30) == 0);
    assert_non_null(strstr(got, "Connection: close\r\n"));
    assert_true(r.c.flags & SK_CONN_END);
    free(got);
    rig_close(&r);
}

static void full_input_gets_431(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, 256, NULL);
    char big[256];
    memcpy(big, "GET / HTTP/1.1\r\nHost: a\r\nX: ", 28);
    memset(big + 28, 'x', sizeof(big) - 28);
    feed(&r, big, 200);
    assert_int_equal(sk_buf_len(&r.c.out), 0); /* not yet: there is room */
    feed(&r, big + 200, 56);
    char *got = output(&r);
    assert_true(strncmp(got, "HTTP/1.1 431 ", 13) == 0);
    assert_true(r.c.flags & SK_CONN_END);
    free(got);
    rig_close(&r);

    /* The request line alone filling the buffer is 414. */
    rig_open(&r, 256, NULL);
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    feed(&r, big, sizeof(big));
    got = output(&r);
    assert_true(strncmp(got, "HTTP/1.1 414 ", 13) == 0);
    free(got);
    rig_close(&r);
}

static void body_is_skipped_across_calls(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, 65536, (const char *const[]){"body", "ok", NULL});
    const char *a = "GET /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234";
    feed(&r, a, strlen(a));
    feed(&r, "56789GET /2 HTTP/1.1\r\nHost: a\r\n\r\n", 33);
    char *got = output(&r);
    const char *second = strstr(got, "\r\n\r\nok");
    assert_non_null(second);
    assert_non_null(strstr(second + 6, "\r\n\r\nok"));
    assert_false(r.c.flags & SK_CONN_END);
    free(got);
    rig_close(&r);
}

static void methods_and_versions(void **state)
{
    (void)state;
    static const struct {
        const char *req;
        const char *status;
        int closes;
    } t[] = {
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", "405", 1},
        {"BREW / HTTP/1.1\r\nHost: a\r\n\r\n", "501", 1},
        {"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", "501", 1},
        {"GET / HTTP/3.0\r\nHost: a\r\n\r\n", "505", 1},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "200", 0},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "200", 1},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rig r;
        rig_open(&r, 65536, NULL);
        feed(&r, t[i].req, strlen(t[i].req));
        char *got = output(&r);
        if (strncmp(got + 9, t[i].status, 3) != 0)
            fail_msg("case %zu: %s", i, got);
        assert_int_equal(!!(r.c.flags & SK_CONN_END), t[i].closes);
        free(got);
        rig_close(&r);
    }
}

/* A listing of a big directory is made in slices: data() consumes the
 * request, holds the input and arms a deadline; each timeout() is one
 * slice; the last queues the whole response and releases the input, and
 * the request held behind it is answered after it. */
static void listing_in_slices(void **state)
{
    (void)state;
    char dir[] = "/tmp/sockit-listing-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(mkdir(strcat(strcpy(path, dir), "/big"), 0755), 0);
    for (int i = 0; i < 20000; i++) {
        char f[96];
        snprintf(f, sizeof(f), "%s/big/file-%05d", dir, i);
        int fd = open(f, O_CREAT | O_WRONLY, 0644);
        assert_true(fd >= 0);
        close(fd);
    }
    const char *opts[] = {"root", dir, "listing-max", "100000", NULL};
    struct rig r;
    rig_open(&r, 65536, opts);
    r.srv.lim.out_max = 16u << 20;
    sk_buf_init(&r.c.out, r.srv.lim.out_max);
    static const char req[] = "GET /big/ HTTP/1.1\r\nHost: a\r\n\r\n"
                              "HEAD /nothing HTTP/1.1\r\nHost: a\r\n\r\n";
    feed(&r, req, sizeof(req) - 1);
    assert_true(r.c.flags & SK_CONN_HOLD);
    assert_true(r.c.deadline_ms > 0);
    assert_int_equal(sk_buf_len(&r.c.out), 0);
    assert_int_equal(sk_buf_len(&r.c.in), sizeof(req) - 1 - 31); /* the HEAD waits */
    int slices = 0;
    while (r.c.flags & SK_CONN_HOLD) {
        r.srv.svc->timeout(&r.c);
        slices++;
        assert_true(slices < 100000);
    }
    assert_true(slices > 2); /* never one long stall */
    assert_int_equal(r.c.deadline_ms, 0);
    assert_true(r.c.file.fd >= 0 || sk_buf_len(&r.c.out) > 20000 * 40);
    char *out = output(&r);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    free(out);
    /* Sorted across the runs that were merged in slices: every name once,
     * in order (readdir gives them in no particular order). */
    assert_true(r.c.file.fd >= 0);
    char *body = malloc(r.c.file.len + 1);
    assert_int_equal(pread(r.c.file.fd, body, r.c.file.len, r.c.file.off), (ssize_t)r.c.file.len);
    body[r.c.file.len] = '\0';
    const char *at = body;
    for (int i = 0; i < 20000; i++) {
        char want[32];
        snprintf(want, sizeof(want), ">file-%05d</a>", i);
        const char *hit = strstr(at, want);
        if (!hit)
            fail_msg("file-%05d missing or out of order", i);
        at = hit;
    }
    free(body);
    if (r.c.file.fd >= 0) { /* the body as a memory file: as if sent */
        close(r.c.file.fd);
        r.c.file.fd = -1;
    }
    sk_buf_clear(&r.c.out);
    feed(&r, "", 0); /* what the model does once the input is released */
    out = output(&r);
    assert_non_null(strstr(out, "HTTP/1.1 404 Not Found\r\n"));
    free(out);
    rig_close(&r);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_anywhere_same_answer),
        cmocka_unit_test(header_timeout_408),
        cmocka_unit_test(full_input_gets_431),
        cmocka_unit_test(body_is_skipped_across_calls),
        cmocka_unit_test(methods_and_versions),
        cmocka_unit_test(listing_in_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
