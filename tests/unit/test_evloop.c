/* test_evloop.c - the per-connection helpers every model shares (src/model/drive.c):
 * deadlines, expiry, the close decision, backpressure and feeding a
 * service, table-driven on a connection that has no socket; flushing and
 * its accounting over a socketpair; rate-limited logging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/evloop.h"

#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sk_server srv;

static void conn_init(struct sk_conn *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1; /* no socket: nothing unread */
    c->file.fd = -1;
    c->srv = &srv;
    sk_buf_init(&c->in, 16);
    sk_buf_init(&c->out, 64);
}

static void conn_free(struct sk_conn *c)
{
    sk_buf_free(&c->in);
    sk_buf_free(&c->out);
}

static void test_due_and_expired(void **unused)
{
    (void)unused;
    static const struct {
        int idle;
        int64_t last, deadline;
        int fat;
        int64_t due;
        int64_t now;
        int expired;
    } rows[] = {
        {0, 100, 0, 0, 0, 5000, 0},                        /* nothing can be due */
        {500, 100, 0, 0, 600, 599, 0},                     /* idle timeout */
        {500, 100, 0, 0, 600, 600, 1},                     /* ... reached */
        {500, 100, 300, 0, 300, 300, 1},                   /* service deadline first */
        {5000, 100, 0, 1, 100 + SK_EV_SHRINK_MS, 2000, 0}, /* buffer release first */
        {0, 100, 0, 1, 100 + SK_EV_SHRINK_MS, 99999, 0},   /* release is no expiry */
        {0, 100, 9000, 1, 100 + SK_EV_SHRINK_MS, 9000, 1}, /* deadline reached */
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        struct sk_conn c;
        conn_init(&c);
        srv.lim.idle_timeout_ms = rows[i].idle;
        c.last_ms = rows[i].last;
        c.deadline_ms = rows[i].deadline;
        assert_int_equal(sk__conn_due(&c, rows[i].fat, 0), rows[i].due);
        assert_int_equal(sk__conn_expired(&c, rows[i].now, 0), rows[i].expired);
        conn_free(&c);
    }
}

/* While the model holds input back, the service deadline waits (the input
 * it has not seen may complete what it waits for); the idle timeout does
 * not. */
static void test_deadline_waits_while_held(void **unused)
{
    (void)unused;
    static const struct {
        int held;
        const char *in;
        int64_t due, now;
        int expired;
    } rows[] = {
        {0, "ab", 300, 300, 1},  /* not held: the deadline is due */
        {1, "ab", 1100, 300, 0}, /* held with input: only the idle timeout */
        {1, "ab", 1100, 1100, 1},
        {1, "", 300, 300, 1}, /* the flag without input holds nothing */
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        struct sk_conn c;
        conn_init(&c);
        srv.lim.idle_timeout_ms = 1000;
        c.last_ms = 100;
        c.deadline_ms = 300;
        assert_int_equal(sk_buf_append(&c.in, rows[i].in, strlen(rows[i].in)), 0);
        int held = sk__conn_holding(&c, (char)rows[i].held);
        assert_int_equal(sk__conn_due(&c, 0, held), rows[i].due);
        assert_int_equal(sk__conn_expired(&c, rows[i].now, held), rows[i].expired);
        assert_int_equal(sk__conn_timeout_ms(&c, rows[i].now, 0, held),
                         rows[i].due - rows[i].now > 0 ? rows[i].due - rows[i].now : 0);
        conn_free(&c);
    }
}

static void test_can_close(void **unused)
{
    (void)unused;
    static const struct {
        size_t pend;
        int eof, held, stopping;
        int64_t deadline;
        const char *in;
        int close;
    } rows[] = {
        {0, 1, 0, 0, 0, "", 1},   /* the peer finished, nothing left */
        {5, 1, 0, 0, 0, "", 0},   /* output still pending */
        {0, 1, 1, 0, 0, "", 0},   /* held input still to feed */
        {0, 1, 0, 0, 50, "", 0},  /* the service awaits its deadline */
        {0, 0, 0, 0, 0, "", 0},   /* an open peer, not stopping */
        {0, 0, 0, 1, 0, "", 1},   /* stopping, nothing in flight */
        {0, 0, 0, 1, 50, "", 1},  /* ... even with a deadline armed (http from accept) */
        {0, 0, 0, 1, 0, "ab", 0}, /* stopping with input in hand */
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        struct sk_conn c;
        conn_init(&c);
        c.deadline_ms = rows[i].deadline;
        assert_int_equal(sk_buf_append(&c.in, rows[i].in, strlen(rows[i].in)), 0);
        assert_int_equal(
            sk__conn_can_close(&c, rows[i].pend, rows[i].eof, rows[i].held, rows[i].stopping),
            rows[i].close);
        conn_free(&c);
    }
}

/* A line service: consumes whole lines, echoing them. */
static ssize_t line_data(struct sk_conn *c, const char *p, size_t n)
{
    const char *nl = memchr(p, '\n', n);
    if (!nl)
        return 0;
    size_t k = (size_t)(nl - p) + 1;
    return sk_buf_append(&c->out, p, k) < 0 ? -ENOBUFS : (ssize_t)k;
}

static const struct sk_service line_svc = {.name = "line", .data = line_data};

static void test_feed(void **unused)
{
    (void)unused;
    static const struct {
        const char *input;
        size_t out_high, inflight;
        const char *out, *left;
        int held, err;
    } rows[] = {
        {"ab\ncd\nef", 64, 0, "ab\ncd\n", "ef", 0, 0},        /* the rest is kept */
        {"ab\ncd\n", 2, 0, "ab\n", "cd\n", 1, 0},             /* backpressure after one line */
        {"ab\ncd\n", 0, 1, "", "ab\ncd\n", 1, 0},             /* a send in flight counts */
        {"0123456789abcdefXYZ", 64, 0, "", "", 0, -EMSGSIZE}, /* no line within in_max */
    };
    srv.svc = &line_svc;
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        struct sk_conn c;
        struct sk_buf fly;
        char held = 0;
        conn_init(&c);
        sk_buf_init(&fly, 16);
        assert_int_equal(sk_buf_append(&fly, "x", rows[i].inflight), 0);
        srv.lim.out_high = rows[i].out_high;
        int r = sk__conn_feed(&c, rows[i].input, strlen(rows[i].input), &fly, &held);
        assert_int_equal(r, rows[i].err);
        assert_int_equal(held, rows[i].held);
        assert_int_equal(sk_buf_len(&c.out), strlen(rows[i].out));
        assert_memory_equal(sk_buf_data(&c.out), rows[i].out, strlen(rows[i].out));
        if (!r) {
            assert_int_equal(sk_buf_len(&c.in), strlen(rows[i].left));
            assert_memory_equal(sk_buf_data(&c.in), rows[i].left, strlen(rows[i].left));
            /* Feeding from c->in (p == NULL) once the output drained. */
            sk_buf_consume(&c.out, sk_buf_len(&c.out));
            srv.lim.out_high = 64;
            sk_buf_consume(&fly, sk_buf_len(&fly));
            assert_int_equal(sk__conn_feed(&c, NULL, 0, &fly, &held), 0);
            assert_null(memchr(sk_buf_data(&c.in), '\n', sk_buf_len(&c.in)));
        }
        sk_buf_free(&fly);
        conn_free(&c);
    }
}

/* A full input buffer the service cannot take yet is too big only when no
 * output is waiting to drain (the service may wait for room to answer). */
static void test_full_input_waits_for_output(void **unused)
{
    (void)unused;
    static const struct {
        size_t queued, inflight;
        int err;
    } rows[] = {
        {0, 0, -EMSGSIZE},
        {3, 0, 0},
        {0, 2, 0},
    };
    srv.svc = &line_svc;
    srv.lim.out_high = 64;
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        struct sk_conn c;
        struct sk_buf fly;
        char held = 1;
        conn_init(&c);
        sk_buf_init(&fly, 16);
        assert_int_equal(sk_buf_append(&fly, "xx", rows[i].inflight), 0);
        assert_int_equal(sk_buf_append(&c.out, "abc", rows[i].queued), 0);
        assert_int_equal(sk_buf_append(&c.in, "0123456789abcdef", 16), 0);
        assert_int_equal(sk__conn_feed(&c, NULL, 0, &fly, &held), rows[i].err);
        assert_int_equal(held, 0);
        assert_int_equal(sk_buf_len(&c.in), 16);
        sk_buf_free(&fly);
        conn_free(&c);
    }
}

/* At most one line a second per condition, however many threads ask; the
 * refused ones are counted for the next line. */
static void test_rate_limit(void **unused)
{
    (void)unused;
    struct sk__ratelimit rl = {0};
    uint64_t skipped = 99;

    assert_int_equal(sk__rate_ok(&rl, &skipped), 1); /* the first line goes out */
    assert_int_equal(skipped, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(sk__rate_ok(&rl, &skipped), 0);  /* within the second */
    atomic_store(&rl.last, atomic_load(&rl.last) - 1000); /* a second later */
    assert_int_equal(sk__rate_ok(&rl, &skipped), 1);
    assert_int_equal(skipped, 5);
    assert_int_equal(sk__rate_ok(&rl, NULL), 0);
}

/* Flushing: out, then the file, to the socket; every byte counted once in
 * the connection and in the caller's total, with the time of the send. */
static void test_flush(void **unused)
{
    (void)unused;
    static const struct {
        const char *out, *file;
    } rows[] = {
        {"hello", ""},
        {"", "from a file"},
        {"head ", "and body"},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        struct sk_conn c;
        int sv[2];
        char got[64] = "";
        uint64_t total = 7;
        conn_init(&c);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        c.fd = sv[0];
        assert_int_equal(sk_buf_append(&c.out, rows[i].out, strlen(rows[i].out)), 0);
        size_t flen = strlen(rows[i].file);
        if (flen) {
            FILE *f = tmpfile();
            assert_non_null(f);
            assert_int_equal(fwrite(rows[i].file, 1, flen, f), flen);
            fflush(f);
            c.file.fd = dup(fileno(f));
            c.file.off = 0;
            c.file.len = flen;
            fclose(f);
        }
        assert_int_equal(sk__conn_flush(&c, 1234, &total), 0);
        size_t want = strlen(rows[i].out) + flen;
        assert_int_equal(read(sv[1], got, sizeof(got) - 1), (ssize_t)want);
        assert_int_equal(strncmp(got, rows[i].out, strlen(rows[i].out)), 0);
        assert_string_equal(got + strlen(rows[i].out), rows[i].file);
        assert_int_equal(c.bytes_out, want);
        assert_int_equal(total, 7 + want);
        assert_int_equal(c.last_ms, 1234);
        assert_int_equal(sk_buf_len(&c.out), 0);
        assert_int_equal(c.file.fd, -1); /* the file is closed once sent */
        close(sv[0]);
        close(sv[1]);
        conn_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due_and_expired),
        cmocka_unit_test(test_deadline_waits_while_held),
        cmocka_unit_test(test_can_close),
        cmocka_unit_test(test_feed),
        cmocka_unit_test(test_full_input_waits_for_output),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
