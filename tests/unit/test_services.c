/* test_services.c - greet, discard, daytime and chargen driven sans-I/O:
 * hand-made connections, input fed to the callbacks, output read from the
 * connection's buffer, table-driven where the cases are alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/server.h"
#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A service instance with options, and one connection on it. */
struct rig {
    struct sk_server srv;
    struct sk_conn c;
};

static void rig_start(struct rig *r, const char *name, const char *const *opts)
{
    char err[256] = "";

    memset(r, 0, sizeof(*r));
    r->srv.svc = sk_service_find(name);
    assert_non_null(r->srv.svc);
    r->srv.lim.in_max = 1024;
    r->srv.lim.out_max = 64 * 1024;
    r->srv.lim.out_high = 16 * 1024;
    assert_int_equal(r->srv.svc->create(&r->srv.svc_state), 0);
    for (const char *const *o = opts; o && *o; o += 2)
        assert_int_equal(r->srv.svc->option(r->srv.svc_state, o[0], o[1], err, sizeof(err)), 0);
    r->c.srv = &r->srv;
    r->c.fd = -1;
    r->c.file.fd = -1;
    sk_buf_init(&r->c.in, r->srv.lim.in_max);
    sk_buf_init(&r->c.out, r->srv.lim.out_max);
    if (r->srv.svc->conn_size)
        assert_non_null(r->c.ctx = calloc(1, r->srv.svc->conn_size));
    if (r->srv.svc->open)
        assert_int_equal(r->srv.svc->open(&r->c), 0);
}

static void rig_stop(struct rig *r)
{
    if (r->srv.svc->close)
        r->srv.svc->close(&r->c);
    free(r->c.ctx);
    sk_buf_free(&r->c.in);
    sk_buf_free(&r->c.out);
    if (r->srv.svc->destroy && r->srv.svc_state)
        r->srv.svc->destroy(r->srv.svc_state);
}

/* Feed bytes the way the models do: append to `in`, give the service every
 * unread byte until it consumes nothing more. */
static void feed(struct rig *r, const char *p, size_t n)
{
    assert_int_equal(sk_buf_append(&r->c.in, p, n), 0);
    while (sk_buf_len(&r->c.in) > 0 && !(r->c.flags & (SK_CONN_END | SK_CONN_ABORT))) {
        ssize_t k = r->srv.svc->data(&r->c, sk_buf_data(&r->c.in), sk_buf_len(&r->c.in));
        assert_true(k >= 0);
        if (k == 0)
            break;
        sk_buf_consume(&r->c.in, (size_t)k);
    }
}

static int out_is(const struct rig *r, const char *s)
{
    size_t n = strlen(s);
    return sk_buf_len(&r->c.out) == n && (n == 0 || memcmp(sk_buf_data(&r->c.out), s, n) == 0);
}

/* ---- greet ---- */

static void greet_table(void **state)
{
    (void)state;
    static const struct {
        const char *opts[5];
        const char *input; /* NULL: none */
        int pause;         /* the bare-message pause passes (timeout callback) */
        const char *out;
        int ends;
    } t[] = {
        {{NULL}, NULL, 0, "Thank you for connecting\n", 1},
        {{"banner", "Hello", NULL}, NULL, 0, "Hello\n", 1},
        {{"banner", "", NULL}, NULL, 0, "\n", 1},
        /* --reply: nothing before the message */
        {{"reply", "Message received", NULL}, NULL, 0, "", 0},
        {{"reply", "Message received", NULL}, "hi\n", 0, "Message received\n", 1},
        {{"reply", "OK", NULL}, "hi\r\nmore\n", 0, "OK\n", 1},
        /* a bare message counts once the pause passes */
        {{"reply", "OK", NULL}, "bare", 0, "", 0},
        {{"reply", "OK", NULL}, "bare", 1, "OK\n", 1},
        /* --banner and --reply: both */
        {{"banner", "Hi", "reply", "Bye", NULL}, "x\n", 0, "Hi\nBye\n", 1},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) {
        struct rig r;
        rig_start(&r, "greet", t[i].opts);
        if (t[i].input)
            feed(&r, t[i].input, strlen(t[i].input));
        if (t[i].input && !t[i].ends && !t[i].pause)
            assert_true(r.c.deadline_ms > 0); /* waiting for the pause */
        if (t[i].pause)
            r.srv.svc->timeout(&r.c);
        assert_true(out_is(&r, t[i].out));
        assert_int_equal(!!(r.c.flags & SK_CONN_END), t[i].ends);
        if (t[i].ends)
            assert_int_equal(r.c.deadline_ms, 0);
        rig_stop(&r);
    }
}

/* A message as long as the input buffer is taken without waiting. */
static void greet_full_buffer_is_a_message(void **state)
{
    (void)state;
    const char *opts[] = {"reply", "OK", NULL};
    struct rig r;
    rig_start(&r, "greet", opts);
    char big[1024];
    memset(big, 'a', sizeof(big));
    feed(&r, big, sizeof(big));
    assert_true(out_is(&r, "OK\n"));
    assert_true(r.c.flags & SK_CONN_END);
    rig_stop(&r);
}

/* ---- discard ---- */

static void discard_swallows_everything(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, "discard", NULL);
    char data[700];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)i;
    for (int k = 0; k < 10; k++)
        feed(&r, data, sizeof(data));
    assert_int_equal(sk_buf_len(&r.c.in), 0);
    assert_int_equal(sk_buf_len(&r.c.out), 0);
    assert_int_equal(r.c.flags, 0);
    char out[16];
    assert_int_equal(r.srv.svc->datagram(r.srv.svc_state, NULL, "x", 1, out, sizeof(out)),
                     SK_NO_REPLY);
    rig_stop(&r);
}

/* ---- echo --lines: no write result is dropped ---- */

/* An output queue of 16 bytes: what does not fit waits in the input (the
 * model feeds it again once the output drained); a message larger than the
 * whole queue is split, its prefix once; a bare message waits likewise. */
static void echo_lines_wait_for_room(void **state)
{
    (void)state;
    static const struct {
        const char *input;
        int pause;             /* the bare-message pause passes after each round */
        const char *rounds[4]; /* the output after each round; the queue is sent between */
    } t[] = {
        {"abc\ndef\nghi\n", 0, {"> abc\n> def\n", "> ghi\n", ""}},
        {"0123456789abcdefXYZ\n", 0, {"> 0123456789abcd", "efXYZ\n", ""}},
        {"abcdef\nhello", 1, {"> abcdef\n> hello", ""}},
        {"abcdefghij\nhello", 1, {"> abcdefghij\n", "> hello", ""}},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) {
        const char *opts[] = {"prefix", "> ", NULL};
        struct rig r;
        rig_start(&r, "echo", opts);
        sk_buf_free(&r.c.out);
        sk_buf_init(&r.c.out, 16);
        feed(&r, t[i].input, strlen(t[i].input));
        for (int k = 0; t[i].rounds[k]; k++) {
            if (t[i].pause && sk_buf_len(&r.c.in))
                r.srv.svc->timeout(&r.c);
            assert_true(out_is(&r, t[i].rounds[k]));
            sk_buf_clear(&r.c.out); /* sent */
            feed(&r, "", 0);
        }
        assert_int_equal(sk_buf_len(&r.c.in), 0);
        rig_stop(&r);
    }
}

/* ---- echo over UDP ---- */

static void echo_datagrams(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, "echo", NULL);
    char out[8];
    struct {
        const char *in;
        size_t n;
        ssize_t want;
    } table[] = {
        {"abc", 3, 3},
        {"", 0, 0}, /* an empty datagram is answered by an empty one (RFC 862) */
        {"\0\xff\n", 3, 3},
        {"123456789", 9, -EMSGSIZE}, /* does not fit out: an error, no reply */
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        ssize_t n =
            r.srv.svc->datagram(r.srv.svc_state, NULL, table[i].in, table[i].n, out, sizeof(out));
        assert_int_equal(n, table[i].want);
        if (n > 0)
            assert_memory_equal(out, table[i].in, (size_t)n);
    }
    rig_stop(&r);
}

/* ---- daytime ---- */

static void check_daytime_line(const char *p, size_t n, int utc)
{
    char line[128];
    struct tm tm;

    assert_true(n > 2 && n < sizeof(line));
    memcpy(line, p, n);
    line[n] = '\0';
    assert_string_equal(line + n - 2, "\r\n");
    /* "Saturday, November 21, 2026 06:07:39-UTC" parses back. */
    memset(&tm, 0, sizeof(tm));
    const char *rest = strptime(line, "%A, %B %d, %Y %H:%M:%S-", &tm);
    assert_non_null(rest);
    if (utc)
        assert_string_equal(rest, "UTC\r\n");
    time_t now = time(NULL);
    struct tm ref;
    if (utc)
        gmtime_r(&now, &ref);
    else
        localtime_r(&now, &ref);
    assert_int_equal(tm.tm_year, ref.tm_year);
}

static void daytime_one_line_then_close(void **state)
{
    (void)state;
    static const char *const utc_opts[] = {"utc", NULL, NULL};
    for (int utc = 0; utc < 2; utc++) {
        struct rig r;
        rig_start(&r, "daytime", utc ? utc_opts : NULL);
        assert_true(r.c.flags & SK_CONN_END);
        check_daytime_line(sk_buf_data(&r.c.out), sk_buf_len(&r.c.out), utc);
        char out[128];
        ssize_t n = r.srv.svc->datagram(r.srv.svc_state, NULL, "", 0, out, sizeof(out));
        assert_true(n > 0);
        check_daytime_line(out, (size_t)n, utc);
        assert_true(r.srv.svc->datagram(r.srv.svc_state, NULL, "", 0, out, 5) < 0);
        rig_stop(&r);
    }
}

/* ---- chargen ---- */

/* RFC 864's pattern: line k (from 0) holds the 72 characters from
 * ' ' + k (mod 95), then CRLF. */
static void check_chargen(const char *p, size_t n, unsigned first_line)
{
    for (size_t i = 0; i < n; i++) {
        size_t line = first_line + i / 74, col = i % 74;
        char want = col == 72 ? '\r' : col == 73 ? '\n' : (char)(' ' + (line + col) % 95);
        if (p[i] != want)
            fail_msg("byte %zu: got %d, want %d", i, p[i], want);
    }
}

static void chargen_lines_and_drain(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, "chargen", NULL);
    size_t first = sk_buf_len(&r.c.out);
    assert_true(first > 0 && first % 74 == 0);
    assert_true(first <= r.srv.lim.out_max);
    /* Input is ignored; the client's bytes leave no trace. */
    feed(&r, "ignored\n", 8);
    assert_int_equal(sk_buf_len(&r.c.out), first);
    /* Drain after the output was sent: the pattern continues where it was. */
    char *all = malloc(first * 40);
    assert_non_null(all);
    size_t have = 0;
    for (int k = 0; k < 20; k++) {
        size_t n = sk_buf_len(&r.c.out);
        memcpy(all + have, sk_buf_data(&r.c.out), n);
        have += n;
        sk_buf_consume(&r.c.out, n);
        assert_int_equal(r.srv.svc->drain(&r.c), 0);
    }
    check_chargen(all, have, 0);
    assert_true(have >= 95 * 74 * 2); /* wrapped round the 95 characters */
    /* Drain never passes the output maximum. */
    sk_buf_clear(&r.c.out);
    for (int k = 0; k < 100; k++)
        assert_int_equal(r.srv.svc->drain(&r.c), 0);
    assert_true(sk_buf_len(&r.c.out) <= r.srv.lim.out_max);
    assert_true(sk_buf_len(&r.c.out) > r.srv.lim.out_max - 74 - 1);
    free(all);
    rig_stop(&r);
}

static void chargen_datagrams(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, "chargen", NULL);
    size_t lens[64];
    int varied = 0;
    for (unsigned k = 0; k < SK_ARRAY_LEN(lens); k++) {
        char out[2048];
        ssize_t n = r.srv.svc->datagram(r.srv.svc_state, NULL, "", 0, out, sizeof(out));
        assert_true(n >= 1 && n <= 512);
        check_chargen(out, (size_t)n, k % 95);
        lens[k] = (size_t)n;
        varied |= k > 0 && lens[k] != lens[k - 1];
    }
    assert_true(varied);
    char small[10];
    ssize_t n = r.srv.svc->datagram(r.srv.svc_state, NULL, "", 0, small, sizeof(small));
    assert_true(n >= 1 && n <= 10);
    check_chargen(small, (size_t)n, SK_ARRAY_LEN(lens) % 95);
    rig_stop(&r);
}

/* Every service in the registry with a stream side has data(); those with a
 * datagram flag have datagram(); every one can be created. */
static void registry_is_consistent(void **state)
{
    (void)state;
    for (const struct sk_service *const *s = sk_services; *s; s++) {
        if (!(*s)->flags)
            continue; /* not built in this version */
        assert_non_null((*s)->create);
        if ((*s)->flags & SK_SVC_STREAM)
            assert_non_null((*s)->data);
        if ((*s)->flags & SK_SVC_DGRAM)
            assert_non_null((*s)->datagram);
    }
    static const char *const ours[] = {"greet", "discard", "daytime", "chargen"};
    for (size_t i = 0; i < SK_ARRAY_LEN(ours); i++)
        assert_non_null(sk_service_find(ours[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(greet_table),
        cmocka_unit_test(greet_full_buffer_is_a_message),
        cmocka_unit_test(discard_swallows_everything),
        cmocka_unit_test(echo_lines_wait_for_room),
        cmocka_unit_test(echo_datagrams),
        cmocka_unit_test(daytime_one_line_then_close),
        cmocka_unit_test(chargen_lines_and_drain),
        cmocka_unit_test(chargen_datagrams),
        cmocka_unit_test(registry_is_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
