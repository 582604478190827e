/* test_services.c - greet, discard, daytime, chargen and what the proxies
 * (socks, http-proxy) answer before any upstream, driven sans-I/O:
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
        assert_int_equal(
            sk_service_option(r->srv.svc, r->srv.svc_state, o[0], o[1], err, sizeof(err)), 0);
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

/* The deadline passes, as the models run it: timeout() is given the unread
 * input and the model consumes what it took. */
static void expire(struct rig *r)
{
    ssize_t k = r->srv.svc->timeout(&r->c, sk_buf_data(&r->c.in), sk_buf_len(&r->c.in));
    assert_true(k >= 0);
    sk_buf_consume(&r->c.in, (size_t)k);
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
            expire(&r);
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
                expire(&r);
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

/* --lines: a line is echoed at once; a bare message once its pause passes.
 * timeout() is handed the unread input and says what it took; the model
 * (here the rig) consumes it, so nothing is eaten behind its back. */
static void echo_lines_and_bare_messages(void **state)
{
    (void)state;
    static const struct {
        const char *opts[5];
        const char *input;
        int pause;
        const char *out;
        size_t left; /* unread input afterwards */
        int ends;
    } t[] = {
        {{"lines", NULL}, "a\nb", 0, "a\n", 1, 0},
        {{"lines", NULL}, "a\nb", 1, "a\nb", 0, 0},
        {{"prefix", "> ", NULL}, "hi\r\nyo", 1, "> hi\r\n> yo", 0, 0},
        {{"quit", "bye", NULL}, "x\nBYE\r\nignored", 0, "x\n", 0, 1},
        {{"quit", "bye", NULL}, "bye", 1, "", 0, 1},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) {
        struct rig r;
        rig_start(&r, "echo", t[i].opts);
        feed(&r, t[i].input, strlen(t[i].input));
        if (t[i].pause) {
            assert_true(r.c.deadline_ms > 0); /* waiting for the pause */
            expire(&r);
        }
        if (!out_is(&r, t[i].out) || sk_buf_len(&r.c.in) != t[i].left)
            fail_msg("row %zu: %zu bytes out, %zu left", i, sk_buf_len(&r.c.out),
                     sk_buf_len(&r.c.in));
        assert_int_equal(!!(r.c.flags & SK_CONN_END), t[i].ends);
        rig_stop(&r);
    }
}

/* The accessors a service reads its connection through. */
static void conn_accessors(void **state)
{
    (void)state;
    struct rig r;
    rig_start(&r, "discard", NULL);
    assert_int_equal(sk_conn_room(&r.c), r.srv.lim.out_max);
    assert_int_equal(sk_conn_input_max(&r.c), r.srv.lim.in_max);
    assert_ptr_equal(sk_conn_peer(&r.c), &r.c.peer);
    assert_false(sk_conn_backpressured(&r.c));
    char block[1024] = {0};
    for (size_t n = 0; n <= r.srv.lim.out_high; n += sizeof(block))
        assert_int_equal(sk_conn_write(&r.c, block, sizeof(block)), 0);
    assert_true(sk_conn_backpressured(&r.c)); /* over the high-water mark */
    assert_int_equal(sk_conn_room(&r.c), r.srv.lim.out_max - sk_buf_len(&r.c.out));
    sk_buf_clear(&r.c.out);
    assert_false(sk_conn_backpressured(&r.c));
    assert_false(sk_conn_has_deadline(&r.c));
    sk_conn_set_deadline(&r.c, 1000);
    assert_true(sk_conn_has_deadline(&r.c));
    assert_false(sk_conn_closing(&r.c));
    sk_conn_end(&r.c);
    assert_true(sk_conn_closing(&r.c));
    r.c.bytes_out = 42;
    assert_int_equal(sk_conn_bytes_sent(&r.c), 42);
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

/* ---- socks and http-proxy: the answers that need no upstream ---- */

/* What one connection got for input fed in two parts split at k (k == n:
 * whole): its output, and whether it ended or was aborted. */
static void proxy_run(const char *svc, const char *const *opts, const char *in, size_t n, size_t k,
                      char *out, size_t *outlen, unsigned *flags)
{
    struct rig r;
    struct sk_service_env env = {.in_max = 1024, .out_max = 64 * 1024};
    char err[200];
    rig_start(&r, svc, opts);
    assert_int_equal(r.srv.svc->start(r.srv.svc_state, &env, err, sizeof(err)), 0);
    feed(&r, in, k);
    if (!(r.c.flags & (SK_CONN_END | SK_CONN_ABORT)))
        feed(&r, in + k, n - k);
    *outlen = sk_buf_len(&r.c.out);
    assert_true(*outlen < 512);
    if (*outlen)
        memcpy(out, sk_buf_data(&r.c.out), *outlen);
    *flags = r.c.flags & (SK_CONN_END | SK_CONN_ABORT);
    rig_stop(&r);
}

static void proxy_answers_split_anywhere(void **state)
{
    (void)state;
#define GREET "\x05\x01\x00"
#define REPLY(code) "\x05" code "\x00\x01\0\0\0\0\0\0"
    static const struct {
        const char *svc, *opts[5];
        const char *in;
        size_t n;        /* 0: strlen(in) */
        const char *out; /* the output, or its start for HTTP */
        size_t outlen;
        unsigned flags;
    } t[] = {
        {"socks", {NULL}, GREET, 3, "\x05\x00", 2, 0},
        {"socks", {NULL}, "\x05\x01\x02", 3, "\x05\xff", 2, SK_CONN_END},
        {"socks", {"auth", "user:pass", NULL}, "\x05\x01\x00", 3, "\x05\xff", 2, SK_CONN_END},
        {"socks",
         {"auth", "user:pass", NULL},
         "\x05\x02\x00\x02\x01\x04user\x04pass",
         15,
         "\x05\x02\x01\x00",
         4,
         0},
        {"socks",
         {"auth", "user:pass", NULL},
         "\x05\x01\x02\x01\x04user\x04pasS",
         14,
         "\x05\x02\x01\x01",
         4,
         SK_CONN_END},
        {"socks",
         {NULL},
         GREET "\x05\x02\x00\x01\x7f\0\0\x01\0\x50",
         13,
         "\x05\x00" REPLY("\x07"),
         12,
         SK_CONN_END}, /* BIND */
        {"socks",
         {NULL},
         GREET "\x05\x03\x00\x01\x7f\0\0\x01\0\x50",
         13,
         "\x05\x00" REPLY("\x07"),
         12,
         SK_CONN_END}, /* UDP ASSOCIATE */
        {"socks",
         {NULL},
         GREET "\x05\x01\x00\x09\x7f\0\0\x01\0\x50",
         13,
         "\x05\x00" REPLY("\x08"),
         12,
         SK_CONN_END}, /* no such address type */
        {"socks",
         {"allow-dest", "10.0.0.0/8", NULL},
         GREET "\x05\x01\x00\x01\x7f\0\0\x01\0\x50",
         13,
         "\x05\x00" REPLY("\x02"),
         12,
         SK_CONN_END}, /* not allowed by ruleset */
        {"socks",
         {"allow-dest", "10.0.0.0/8", NULL},
         GREET "\x05\x01\x00\x04\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\0\x50",
         25,
         "\x05\x00" REPLY("\x02"),
         12,
         SK_CONN_END},
        {"socks", {NULL}, "GET / HTTP/1.1\r\n", 0, "", 0, SK_CONN_ABORT},
        {"socks", {NULL}, "\x04\x01\x00\x50\x7f\0\0\x01\0", 9, "", 0, SK_CONN_ABORT},
        {"http-proxy",
         {NULL},
         "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
         0,
         "HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\n",
         0,
         SK_CONN_END},
        {"http-proxy",
         {NULL},
         "CONNECT x HTTP/1.1\r\nHost: x\r\n\r\n",
         0,
         "HTTP/1.1 400 ",
         0,
         SK_CONN_END},
        {"http-proxy",
         {NULL},
         "CONNECT x:1 HTTP/1.1\r\n\r\n",
         0,
         "HTTP/1.1 400 ",
         0,
         SK_CONN_END}, /* HTTP/1.1 without Host */
        {"http-proxy",
         {"allow-dest", "10.0.0.0/8", NULL},
         "CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: x\r\n\r\n",
         0,
         "HTTP/1.1 403 Forbidden\r\n",
         0,
         SK_CONN_END},
        {"http-proxy",
         {"allow-dest", "10.0.0.0/8", NULL},
         "CONNECT [::1]:80 HTTP/1.0\r\n\r\n",
         0,
         "HTTP/1.1 403 Forbidden\r\n",
         0,
         SK_CONN_END},
    };
#undef GREET
#undef REPLY
    for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) {
        char whole[512], part[512];
        size_t wl, pl;
        unsigned wf, pf;
        size_t n = t[i].n ? t[i].n : strlen(t[i].in);
        print_message("case %zu\n", i);
        proxy_run(t[i].svc, t[i].opts, t[i].in, n, n, whole, &wl, &wf);
        assert_int_equal(wf, t[i].flags);
        if (t[i].outlen || !t[i].out[0]) {
            assert_int_equal(wl, t[i].outlen);
            assert_memory_equal(whole, t[i].out, wl);
        } else {
            assert_true(wl >= strlen(t[i].out));
            assert_memory_equal(whole, t[i].out, strlen(t[i].out));
        }
        /* Split anywhere: the same answer. */
        for (size_t k = 0; k < n; k++) {
            proxy_run(t[i].svc, t[i].opts, t[i].in, n, k, part, &pl, &pf);
            assert_int_equal(pf, wf);
            assert_int_equal(pl, wl);
            assert_memory_equal(part, whole, wl);
        }
    }
}

/* Every service in the registry with a stream side has data(); those with a
 * datagram flag have datagram(); every one can be created. */
/* serve relay -u: each new flow's upstream is the next --to, round-robin;
 * a Unix address and the relay itself are refused as usage errors. */
static void relay_routes_flows_round_robin(void **state)
{
    (void)state;
    const struct sk_service *svc = sk_service_find("relay");
    assert_non_null(svc);
    assert_non_null(svc->dgram_route);
    static const struct {
        const char *to[2];
        int rc; /* start() */
        const char *routes[3];
    } t[] = {
        {{"127.0.0.1:5001", "[::1]:5002"}, 0, {"127.0.0.1:5001", "[::1]:5002", "127.0.0.1:5001"}},
        {{"127.0.0.1:5001", NULL}, 0, {"127.0.0.1:5001", "127.0.0.1:5001", "127.0.0.1:5001"}},
        {{"127.0.0.1:5001", "unix:/tmp/x"}, -ERANGE, {NULL}},
        {{"127.0.0.1:7000", NULL}, -ERANGE, {NULL}}, /* itself */
    };
    struct sk_addr self, from;
    const char *why = NULL;
    assert_int_equal(sk_addr_parse("127.0.0.1:7000", 0, &self, &why), 0);
    assert_int_equal(sk_addr_parse("127.0.0.1:40000", 0, &from, &why), 0);
    for (size_t k = 0; k < SK_ARRAY_LEN(t); k++) {
        void *st = NULL;
        char err[256] = "";
        assert_int_equal(svc->create(&st), 0);
        for (size_t j = 0; j < 2 && t[k].to[j]; j++)
            assert_int_equal(sk_service_option(svc, st, "to", t[k].to[j], err, sizeof(err)), 0);
        struct sk_service_env env = {.addr = &self, .socktype = SOCK_DGRAM};
        assert_int_equal(svc->start(st, &env, err, sizeof(err)), t[k].rc);
        for (size_t j = 0; t[k].rc == 0 && j < 3; j++) {
            struct sk_addr to, want;
            assert_int_equal(sk_addr_parse(t[k].routes[j], 0, &want, &why), 0);
            assert_int_equal(svc->dgram_route(st, &from, &to), 0);
            assert_true(sk_addr_equal(&to, &want));
        }
        svc->destroy(st);
    }
}

static void registry_is_consistent(void **state)
{
    (void)state;
    for (const struct sk_service *const *s = sk_services; *s; s++) {
        if (!(*s)->flags)
            continue; /* not built in this version */
        assert_non_null((*s)->create);
        if ((*s)->flags & SK_SVC_STREAM)
            assert_non_null((*s)->data);
        if ((*s)->flags & SK_SVC_DGRAM) /* answers datagrams, or relays them (service.h) */
            assert_true((*s)->datagram || (*s)->dgram_route);
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
        cmocka_unit_test(echo_lines_and_bare_messages),
        cmocka_unit_test(conn_accessors),
        cmocka_unit_test(daytime_one_line_then_close),
        cmocka_unit_test(chargen_lines_and_drain),
        cmocka_unit_test(chargen_datagrams),
        cmocka_unit_test(proxy_answers_split_anywhere),
        cmocka_unit_test(relay_routes_flows_round_robin),
        cmocka_unit_test(registry_is_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
