/* test_transport.c - the TLS transport every stream model shares
 * (src/model/transport.c), over a socketpair with a memory-kind TLS client
 * on the other end: output queued before the handshake waits for it (and
 * asks for no writability), plaintext reaches the model's input path byte
 * for byte, output is encrypted only while little ciphertext waits
 * (backpressure stays on out), a file goes through TLS, the end sends
 * close_notify, garbage and an EOF inside the handshake fail, and the
 * handshake bound is a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/internal.h"

#include "sockit/tls.h"
#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sk_server srv;
static struct sk_stats stats;
static struct sk_tls_ctx *client_ctx;

struct pair {
    struct sk_conn c; /* the server side, as a model holds it */
    int peer;         /* the client's end of the socketpair */
    struct sk_tls *cli;
    struct sk_buf got; /* what the server's input path received */
};

static int keep(void *arg, const char *p, size_t n)
{
    struct pair *P = arg;
    return sk_buf_append(&P->got, p, n);
}

static void pair_open(struct pair *P)
{
    int sv[2];
    memset(P, 0, sizeof(*P));
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    P->c.fd = sv[0];
    P->peer = sv[1];
    P->c.file.fd = -1;
    P->c.srv = &srv;
    P->c.open_ms = P->c.last_ms = sk_now_ms();
    sk_buf_init(&P->c.in, srv.lim.in_max);
    sk_buf_init(&P->c.out, srv.lim.out_max);
    sk_buf_init(&P->got, 8 << 20);
    assert_int_equal(sk__tls_open(&P->c), 0);
    assert_int_equal(sk_tls_client(client_ctx, -1, "127.0.0.1", NULL, &P->cli), 0);
}

static void pair_close(struct pair *P)
{
    sk__tls_close(&P->c);
    sk_tls_free(P->cli);
    close(P->c.fd);
    close(P->peer);
    sk_buf_free(&P->c.in);
    sk_buf_free(&P->c.out);
    sk_buf_free(&P->got);
    if (P->c.file.fd >= 0)
        close(P->c.file.fd);
}

/* Move bytes both ways until neither side has anything to say: the
 * client's ciphertext into the server's transport, the server's flush
 * into the client. Returns the server's first error, or 0. *plain gets
 * what the client decrypted (may be NULL). */
static int pump(struct pair *P, struct sk_buf *plain, int *eof)
{
    char buf[65536];
    uint64_t total = 0;
    int r;

    for (int round = 0; round < 10000; round++) {
        int moved = 0;
        ssize_t n;
        while ((n = sk_tls_drain(P->cli, buf, sizeof(buf))) > 0) {
            assert_int_equal(write(P->peer, buf, (size_t)n), n);
            moved = 1;
        }
        while ((n = read(P->c.fd, buf, sizeof(buf))) > 0) {
            int e = 0;
            if ((r = sk__tls_recv(&P->c, buf, (size_t)n, sizeof(buf), &e, keep, P)) < 0)
                return r;
            moved = 1;
        }
        if ((r = sk__conn_flush(&P->c, sk_now_ms(), &total)) < 0)
            return r;
        while ((n = read(P->peer, buf, sizeof(buf))) > 0) {
            assert_int_equal(sk_tls_feed(P->cli, buf, (size_t)n), n);
            moved = 1;
        }
        if (sk_tls_handshake_step(P->cli) == 0) {
            while ((n = sk_tls_read(P->cli, buf, sizeof(buf))) > 0) {
                if (plain)
                    assert_int_equal(sk_buf_append(plain, buf, (size_t)n), 0);
                moved = 1;
            }
            if (n == 0 && eof)
                *eof = 1;
        }
        if (!moved && sk_tls_drain_pending(P->cli) == 0)
            return 0;
    }
    return -ELOOP;
}

static void test_banner_waits_for_the_handshake(void **unused)
{
    (void)unused;
    struct pair P;
    pair_open(&P);
    assert_int_equal(sk_conn_write(&P.c, "hello\n", 6), 0);
    /* Queued, so the connection does not close; but nothing can go yet. */
    assert_true(sk__conn_queued(&P.c) >= 6);
    assert_false(sk__conn_wants_write(&P.c, sk__conn_queued(&P.c)));
    uint64_t total = 0;
    assert_int_equal(sk__conn_flush(&P.c, sk_now_ms(), &total), 0);
    assert_int_equal(total, 0);
    assert_int_equal(sk_buf_len(&P.c.out), 6);

    struct sk_buf plain;
    sk_buf_init(&plain, 1 << 20);
    assert_int_equal(pump(&P, &plain, NULL), 0);
    assert_int_equal(sk_buf_len(&plain), 6);
    assert_memory_equal(sk_buf_data(&plain), "hello\n", 6);
    assert_int_equal(sk__conn_queued(&P.c), 0);
    assert_int_equal(P.c.tls->hs_due, 0);
    sk_buf_free(&plain);
    pair_close(&P);
}

static void test_bytes_both_ways(void **unused)
{
    (void)unused;
    static const size_t sizes[] = {1, 1000, 16384, 16385, 200000, 3 * 1024 * 1024 + 7};
    for (size_t i = 0; i < SK_ARRAY_LEN(sizes); i++) {
        struct pair P;
        pair_open(&P);
        assert_int_equal(pump(&P, NULL, NULL), 0); /* the handshake */
        char *data = malloc(sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++)
            data[k] = (char)(k * 131 + i);
        /* client -> server */
        for (size_t off = 0; off < sizes[i];) { /* partial writes: a record each */
            ssize_t w = sk_tls_write(P.cli, data + off, SK_MIN(sizes[i] - off, (size_t)32768));
            assert_true(w > 0);
            off += (size_t)w;
            assert_int_equal(pump(&P, NULL, NULL), 0); /* what the socket holds */
        }
        assert_int_equal(sk_buf_len(&P.got), sizes[i]);
        assert_memory_equal(sk_buf_data(&P.got), data, sizes[i]);
        /* server -> client, in out-sized pieces */
        struct sk_buf plain;
        sk_buf_init(&plain, 8 << 20);
        for (size_t off = 0; off < sizes[i];) {
            size_t n = SK_MIN(sizes[i] - off, (size_t)256 * 1024);
            assert_int_equal(sk_conn_write(&P.c, data + off, n), 0);
            off += n;
            assert_int_equal(pump(&P, &plain, NULL), 0);
        }
        assert_int_equal(sk_buf_len(&plain), sizes[i]);
        assert_memory_equal(sk_buf_data(&plain), data, sizes[i]);
        sk_buf_free(&plain);
        free(data);
        pair_close(&P);
    }
}

static void test_fill_is_bounded(void **unused)
{
    (void)unused;
    struct pair P;
    pair_open(&P);
    assert_int_equal(pump(&P, NULL, NULL), 0);
    static char big[1000 * 1000];
    memset(big, 'x', sizeof(big));
    assert_int_equal(sk_conn_write(&P.c, big, sizeof(big)), 0);
    struct sk_buf wire;
    sk_buf_init(&wire, 1 << 20);
    uint64_t total = 0;
    assert_int_equal(sk__tls_fill(&P.c, &wire, SK_TLS_WIRE, sk_now_ms(), &total), 0);
    /* At most the bound plus one record; the rest stays in out, where the
     * backpressure test sees it. */
    assert_true(sk_buf_len(&wire) >= SK_TLS_WIRE);
    assert_true(sk_buf_len(&wire) < SK_TLS_WIRE + 17 * 1024 + 512);
    assert_int_equal(sk_buf_len(&P.c.out) + total, sizeof(big));
    assert_true(sk__conn_backpressured(&P.c, NULL));
    sk_buf_free(&wire);
    pair_close(&P);
}

static void test_file_through_tls_and_close_notify(void **unused)
{
    (void)unused;
    char path[] = "/tmp/sockit-test-transport-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    static char data[100000];
    for (size_t k = 0; k < sizeof(data); k++)
        data[k] = (char)(k % 251);
    assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));

    struct pair P;
    pair_open(&P);
    assert_int_equal(pump(&P, NULL, NULL), 0);
    assert_int_equal(sk_conn_write(&P.c, "head:", 5), 0);
    assert_int_equal(sk_conn_sendfile(&P.c, fd, 10, sizeof(data) - 10), 0);
    sk_conn_end(&P.c);
    struct sk_buf plain;
    sk_buf_init(&plain, 1 << 20);
    int eof = 0;
    assert_int_equal(pump(&P, &plain, &eof), 0);
    assert_int_equal(sk_buf_len(&plain), 5 + sizeof(data) - 10);
    assert_memory_equal(sk_buf_data(&plain), "head:", 5);
    assert_memory_equal(sk_buf_data(&plain) + 5, data + 10, sizeof(data) - 10);
    assert_int_equal(P.c.file.fd, -1); /* closed once sent */
    assert_true(eof);                  /* close_notify, not a bare end */
    assert_false(sk_tls_truncated(P.cli));
    assert_int_equal(sk__conn_queued(&P.c), 0);
    sk_buf_free(&plain);
    pair_close(&P);
}

static void test_failures(void **unused)
{
    (void)unused;
    static const struct {
        const char *in;
        size_t n;
    } garbage[] = {
        {"GET / HTTP/1.0\r\n\r\n", 18},
        {"\x16\x03\x01\x00\x05hello", 10},
        {"\x15\x03\x03\x00\x02\x02\x28", 7}, /* an alert instead of a ClientHello */
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(garbage); i++) {
        struct pair P;
        pair_open(&P);
        char buf[256];
        memcpy(buf, garbage[i].in, garbage[i].n);
        int eof = 0;
        assert_true(sk__tls_recv(&P.c, buf, garbage[i].n, sizeof(buf), &eof, keep, &P) < 0);
        assert_int_equal(sk_buf_len(&P.got), 0);
        pair_close(&P);
    }
    /* The stream ends inside the handshake: a failure; after it: an end. */
    struct pair P;
    pair_open(&P);
    assert_int_equal(sk__tls_eof(&P.c), SK_ETLS_CLOSED);
    assert_int_equal(pump(&P, NULL, NULL), 0);
    assert_int_equal(sk__tls_eof(&P.c), 0);
    pair_close(&P);
}

static void test_handshake_deadline(void **unused)
{
    (void)unused;
    srv.handshake_ms = 500;
    srv.lim.idle_timeout_ms = 0;
    struct pair P;
    pair_open(&P);
    int64_t due = P.c.open_ms + 500;
    assert_int_equal(sk__conn_due(&P.c, 0, 0), due);
    assert_false(sk__conn_expired(&P.c, due - 1, 0));
    assert_true(sk__conn_expired(&P.c, due, 0));
    assert_int_equal(sk__conn_expire(&P.c, due - 1, 0, 0), 0);
    assert_int_equal(sk__conn_expire(&P.c, due, 0, 0), -ETIMEDOUT);
    /* Done: no handshake deadline any more. */
    assert_int_equal(pump(&P, NULL, NULL), 0);
    assert_int_equal(sk__conn_due(&P.c, 0, 0), 0);
    assert_int_equal(sk__conn_expire(&P.c, due + 10000, 0, 0), 0);
    pair_close(&P);
    srv.handshake_ms = 0;
}

int main(void)
{
    char why[256] = "";
    const char *names[] = {"127.0.0.1"};
    struct sk_tls_server_opts so = {.names = names, .nnames = 1};
    struct sk_tls_client_opts co = {.insecure = 1};

    sk_log_level = SK_LOG_ERROR; /* the failures' log lines */
    srv.st = &stats;
    srv.lim.in_max = 64 * 1024;
    srv.lim.out_max = 4 << 20;
    srv.lim.out_high = 256 * 1024;
    if (sk_tls_server_ctx(&so, &srv.tls, why, sizeof(why)) < 0 ||
        sk_tls_client_ctx(&co, &client_ctx, why, sizeof(why)) < 0) {
        fprintf(stderr, "TLS contexts: %s\n", why);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_banner_waits_for_the_handshake),
        cmocka_unit_test(test_bytes_both_ways),
        cmocka_unit_test(test_fill_is_bounded),
        cmocka_unit_test(test_file_through_tls_and_close_notify),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_handshake_deadline),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    sk_tls_ctx_free(srv.tls);
    sk_tls_ctx_free(client_ctx);
    return r;
}
