/* test_ws.c - the WebSocket functions (ws.h), table-driven: the frame header
 * parser (every prefix of a valid header is "incomplete", never an error or
 * a different answer), the encoder round trip, unmasking in pieces, UTF-8,
 * the accept key; then the chat service's browser face with hand-made
 * connections: an upgrade and frames fed a byte at a time reach a line
 * member as when fed whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/server.h"
#include "sockit/service.h"
#include "svc_conn.h"
#include "sockit/ws.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void parse_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        ssize_t ret;
        int fin, opcode, masked;
        uint64_t len;
    } t[] = {
        {"\x81\x85\x01\x02\x03\x04", 6, 6, 1, 1, 1, 5},     /* masked text, 5 bytes */
        {"\x81\x05", 2, 2, 1, 1, 0, 5},                     /* unmasked: reported */
        {"\x01\x80\0\0\0\0", 6, 6, 0, 1, 1, 0},             /* a first fragment */
        {"\x80\x80\0\0\0\0", 6, 6, 1, 0, 1, 0},             /* the last continuation */
        {"\x89\x80\0\0\0\0", 6, 6, 1, 9, 1, 0},             /* ping */
        {"\x8a\xfd\0\0\0\0", 6, 6, 1, 10, 1, 125},          /* pong, 125 bytes */
        {"\x81\xfe\x00\x7e\0\0\0\0", 8, 8, 1, 1, 1, 126},   /* 16-bit length */
        {"\x81\xfe\xff\xff\0\0\0\0", 8, 8, 1, 1, 1, 65535}, /* its largest */
        {"\x81\xff\0\0\0\0\0\x01\0\0\0\0\0\0", 14, 14, 1, 1, 1, 65536},
        {"\x81", 1, 0, 0, 0, 0, 0},                                 /* incomplete */
        {"\xc1\x80\0\0\0\0", 6, -SK_WS_PROTOCOL_ERROR, 0, 0, 0, 0}, /* RSV1 */
        {"\x83\x80\0\0\0\0", 6, -SK_WS_PROTOCOL_ERROR, 0, 0, 0, 0}, /* opcode 3 */
        {"\x8b\x80\0\0\0\0", 6, -SK_WS_PROTOCOL_ERROR, 0, 0, 0, 0}, /* opcode 0xb */
        {"\x09\x80\0\0\0\0", 6, -SK_WS_PROTOCOL_ERROR, 0, 0, 0, 0}, /* fragmented ping */
        {"\x88\xfe\x00\x7e", 4, -SK_WS_PROTOCOL_ERROR, 0, 0, 0, 0}, /* long close */
        {"\x81\xfe\x00\x05", 4, -SK_WS_PROTOCOL_ERROR, 0, 0, 0, 0}, /* not shortest */
        {"\x81\xff\0\0\0\0\0\0\xff\xff", 10, -SK_WS_PROTOCOL_ERROR, 0, 0, 0, 0},
        {"\x81\xff\x80\0\0\0\0\0\0\0", 10, -SK_WS_PROTOCOL_ERROR, 0, 0, 0, 0}, /* top bit */
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_ws_frame f;
        ssize_t r = sk_ws_frame_parse((const uint8_t *)t[i].in, t[i].n, &f);
        if (r != t[i].ret)
            fail_msg("row %zu: %zd, want %zd", i, r, t[i].ret);
        if (r > 0) {
            assert_int_equal(f.fin, t[i].fin);
            assert_int_equal(f.opcode, t[i].opcode);
            assert_int_equal(f.masked, t[i].masked);
            assert_int_equal(f.len, t[i].len);
            assert_int_equal(f.head, (size_t)r);
            /* Resumable: every prefix of a complete header is incomplete. */
            for (size_t k = 0; k < (size_t)r; k++)
                if (sk_ws_frame_parse((const uint8_t *)t[i].in, k, &f) != 0)
                    fail_msg("row %zu: prefix %zu is not 'incomplete'", i, k);
        }
    }
}

static void header_round_trip(void **state)
{
    (void)state;
    static const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 1ull << 32, 1ull << 62};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t h[SK_WS_HEAD_MAX];
        size_t n = sk_ws_frame_header(h, 1, SK_WS_TEXT, lens[i]);
        assert_int_equal(n, lens[i] < 126 ? 2 : lens[i] <= 0xffff ? 4 : 10);
        struct sk_ws_frame f;
        assert_int_equal(sk_ws_frame_parse(h, n, &f), (ssize_t)n);
        assert_int_equal(f.len, lens[i]);
        assert_int_equal(f.opcode, SK_WS_TEXT);
        assert_true(f.fin && !f.masked);
    }
}

static void unmask_in_pieces(void **state)
{
    (void)state;
    const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t whole[11], split[11];
    memcpy(whole, "\x7f\x9f\x4d\x51\x58\x17\x8d\x52\x45\x96\x55", 11);
    memcpy(split, whole, 11);
    sk_ws_unmask(whole, 11, mask, 0);
    assert_memory_equal(whole, "Hello", 5); /* RFC 6455 5.7's masked "Hello" */
    sk_ws_unmask(split, 3, mask, 0);
    sk_ws_unmask(split + 3, 8, mask, 3);
    assert_memory_equal(split, whole, 11);
    /* Word-at-a-time and byte-at-a-time agree at every length and phase. */
    for (size_t n = 0; n <= 40; n++)
        for (uint64_t off = 0; off < 4; off++) {
            uint8_t a[40], b[40];
            for (size_t i = 0; i < n; i++)
                a[i] = b[i] = (uint8_t)(i * 37 + 11);
            sk_ws_unmask(a, n, mask, off);
            for (size_t i = 0; i < n; i++)
                b[i] ^= mask[(off + i) & 3];
            assert_memory_equal(a, b, n);
        }
}

static void utf8_table(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int ok;
    } t[] = {
        {"", 1},
        {"plain ascii", 1},
        {"caf\xc3\xa9", 1},
        {"\xe2\x82\xac", 1},     /* U+20AC */
        {"\xf0\x9f\x98\x80", 1}, /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", 1}, /* U+10FFFF */
        {"\xc3", 0},             /* truncated */
        {"\xe2\x82", 0},         /* truncated */
        {"\x80", 0},             /* stray continuation */
        {"\xc0\xaf", 0},         /* overlong '/' */
        {"\xe0\x80\xaf", 0},     /* overlong */
        {"\xed\xa0\x80", 0},     /* a surrogate */
        {"\xf4\x90\x80\x80", 0}, /* past U+10FFFF */
        {"\xf5\x80\x80\x80", 0},
        {"\xff", 0},
        {"ok \xe2\x82\xac then \xfe", 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (sk_ws_utf8_valid((const uint8_t *)t[i].s, strlen(t[i].s)) != t[i].ok)
            fail_msg("row %zu: '%s'", i, t[i].s);
}

static void accept_key(void **state)
{
    (void)state;
    char out[SK_WS_ACCEPT_LEN + 1];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ=="; /* RFC 6455 1.3 */
    assert_int_equal(sk_ws_accept(key, strlen(key), out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(sk_ws_accept("short", 5, out), -EINVAL);
    assert_int_equal(sk_ws_accept("dGhlIHNhbXBsZSBub25jZQ=x", 24, out), -EINVAL);
    assert_int_equal(sk_ws_accept("dGhlIHNhbXBsZS*ub25jZQ==", 24, out), -EINVAL);
}

/* ---- the chat's browser face, with hand-made connections ---- */

extern const struct sk_service sk_service_chat;

struct room {
    struct sk_server srv;
    struct sk_conn c[2];
};

static void conn_init(struct room *r, int i)
{
    assert_int_equal(
        svc_conn_open(&sk_service_chat, &r->srv, &r->c[i], (uint64_t)i + 1, r->srv.lim.out_max), 0);
}

/* Append p[0..n) to c's input in pieces of `step` bytes, calling data() as
 * a model would after each. */
static void feed(struct sk_conn *c, const char *p, size_t n, size_t step)
{
    for (size_t at = 0; at < n; at += step) {
        size_t k = n - at < step ? n - at : step;
        assert_int_equal(sk_buf_append(&c->in, p + at, k), 0);
        while (sk_buf_len(&c->in) && !(c->flags & (SK_CONN_END | SK_CONN_ABORT))) {
            ssize_t used = sk_service_chat.data(c, sk_buf_data(&c->in), sk_buf_len(&c->in));
            assert_true(used >= 0);
            if (used == 0)
                break;
            sk_buf_consume(&c->in, (size_t)used);
        }
    }
}

static size_t masked(char *out, int opcode, const char *text)
{
    static const uint8_t key[4] = {1, 2, 3, 4};
    size_t n = strlen(text);
    out[0] = (char)(0x80 | opcode);
    out[1] = (char)(0x80 | n);
    memcpy(out + 2, key, 4);
    for (size_t i = 0; i < n; i++)
        out[6 + i] = (char)(text[i] ^ key[i & 3]);
    return 6 + n;
}

/* The raw member's output after the browser's upgrade, nick and message
 * were fed in pieces of `step` bytes; the browser's output in *ws_out. */
static char *browser_says(size_t step, char **ws_out)
{
    struct room *r = calloc(1, sizeof(*r));
    char err[256];
    assert_non_null(r);
    sk_server_init(&r->srv);
    r->srv.svc = &sk_service_chat;
    assert_int_equal(sk_service_chat.create(&r->srv.svc_state), 0);
    assert_int_equal(sk_server_start_service(&r->srv, err, sizeof(err)), 0);
    conn_init(r, 0);
    conn_init(r, 1);
    feed(&r->c[1], "bob\n", 4, 4);

    char in[1024];
    size_t n = (size_t)snprintf(in, sizeof(in),
                                "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                "Connection: keep-alive, Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\n\r\n");
    n += masked(in + n, SK_WS_TEXT, "alice");
    n += masked(in + n, SK_WS_PING, "hi");
    n += masked(in + n, SK_WS_TEXT, "hello, bob");
    feed(&r->c[0], in, n, step);

    char *ws = strndup(sk_buf_data(&r->c[0].out), sk_buf_len(&r->c[0].out));
    char *raw = strndup(sk_buf_data(&r->c[1].out), sk_buf_len(&r->c[1].out));
    *ws_out = ws;
    for (int i = 0; i < 2; i++)
        svc_conn_close(&sk_service_chat, &r->c[i]);
    sk_server_close(&r->srv);
    free(r);
    return raw;
}

static void browser_fed_any_way(void **state)
{
    (void)state;
    char *ws_whole, *ws_byte;
    char *whole = browser_says(4096, &ws_whole);
    char *bytes = browser_says(1, &ws_byte);
    assert_non_null(strstr(whole, "*** alice joined\n"));
    assert_non_null(strstr(whole, "<alice> hello, bob\n"));
    assert_string_equal(whole, bytes);
    assert_string_equal(ws_whole, ws_byte);
    assert_true(strncmp(ws_whole, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0);
    assert_non_null(strstr(ws_whole, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    /* After the head: the banner as a text frame, and the pong in order. */
    const char *body = strstr(ws_whole, "\r\n\r\n") + 4;
    assert_int_equal((unsigned char)body[0], 0x81);
    assert_true(strncmp(body + 2, "*** Welcome to sockit chat", 26) == 0);
    assert_non_null(memmem(ws_whole, strlen(ws_whole), "\x8a\x02hi", 4));
    free(whole);
    free(bytes);
    free(ws_whole);
    free(ws_byte);
}

/* A line member: nothing at open; the banner comes with its first line, or
 * when the delay passes in silence (the model calls timeout()). */
static void banner_waits_for_first_bytes(void **state)
{
    (void)state;
    struct room *r = calloc(1, sizeof(*r));
    char err[256];
    assert_non_null(r);
    sk_server_init(&r->srv);
    r->srv.svc = &sk_service_chat;
    assert_int_equal(sk_service_chat.create(&r->srv.svc_state), 0);
    assert_int_equal(sk_server_start_service(&r->srv, err, sizeof(err)), 0);
    conn_init(r, 0);
    assert_int_equal(sk_buf_len(&r->c[0].out), 0);
    assert_true(sk_conn_has_deadline(&r->c[0]));
    feed(&r->c[0], "GE", 2, 2); /* could still be "GET ": wait */
    assert_int_equal(sk_buf_len(&r->c[0].out), 0);
    feed(&r->c[0], "T\n", 2, 2); /* a nickname attempt after all */
    char *out = strndup(sk_buf_data(&r->c[0].out), sk_buf_len(&r->c[0].out));
    char *banner = strstr(out, "Type your nickname"), *welcome = strstr(out, "*** Welcome, GET!");
    assert_true(banner && welcome && banner < welcome);
    free(out);
    conn_init(r, 1);
    assert_int_equal(sk_service_chat.timeout(&r->c[1], "", 0), 0);
    assert_true(sk_buf_len(&r->c[1].out) > 0);
    assert_non_null(
        memmem(sk_buf_data(&r->c[1].out), sk_buf_len(&r->c[1].out), "Type your nickname", 18));
    for (int i = 0; i < 2; i++)
        svc_conn_close(&sk_service_chat, &r->c[i]);
    sk_server_close(&r->srv);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_table),
        cmocka_unit_test(header_round_trip),
        cmocka_unit_test(unmask_in_pieces),
        cmocka_unit_test(utf8_table),
        cmocka_unit_test(accept_key),
        cmocka_unit_test(browser_fed_any_way),
        cmocka_unit_test(banner_waits_for_first_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
