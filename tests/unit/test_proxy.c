/* test_proxy.c - the pure parts of connect --proxy: the proxy URL, the
 * SOCKS5 greeting, request and replies, the HTTP CONNECT request and the
 * response head (tables), and the handshake over a socketpair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/client.h"
#include "sockit/sock.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void url_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int kind;
        const char *host, *port;
    } cases[] = {
        {"socks5://127.0.0.1:1080", SK_PROXY_SOCKS5, "127.0.0.1", "1080"},
        {"http://proxy.example:3128/", SK_PROXY_HTTP, "proxy.example", "3128"},
        {"socks5://[::1]:9050", SK_PROXY_SOCKS5, "::1", "9050"},
        {"http://[fe80::1%eth0]:8080", SK_PROXY_HTTP, "fe80::1%eth0", "8080"},
        {"socks5://h:1", SK_PROXY_SOCKS5, "h", "1"},
        {"socks4://h:1", 0, NULL, NULL},
        {"https://h:443", 0, NULL, NULL},
        {"socks5://h", 0, NULL, NULL},
        {"socks5://h:", 0, NULL, NULL},
        {"socks5://:80", 0, NULL, NULL},
        {"socks5://h:0", 0, NULL, NULL},
        {"socks5://h:65536", 0, NULL, NULL},
        {"socks5://h:8x", 0, NULL, NULL},
        {"http://u:p@h:80", 0, NULL, NULL},
        {"http://h/x:80", 0, NULL, NULL},
        {"socks5://[::1]", 0, NULL, NULL},
        {"socks5://[::1:80", 0, NULL, NULL},
        {"", 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_proxy px;
        const char *why = NULL;
        int r = sk_proxy_url_parse(cases[i].in, &px, &why);
        print_message("%s\n", cases[i].in);
        if (cases[i].kind) {
            assert_int_equal(r, 0);
            assert_int_equal(px.kind, cases[i].kind);
            assert_string_equal(px.host, cases[i].host);
            assert_string_equal(px.port, cases[i].port);
        } else {
            assert_int_equal(r, -EINVAL);
            assert_non_null(why);
        }
    }
}

static void socks5_request_table(void **state)
{
    (void)state;
    static const struct {
        const char *host;
        uint16_t port;
        const char *want;
        size_t n;
    } cases[] = {
        {"127.0.0.1", 80, "\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50", 10},
        {"::1", 0x1234,
         "\x05\x01\x00\x04"
         "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
         "\x12\x34",
         22},
        {"example.org", 443,
         "\x05\x01\x00\x03\x0b"
         "example.org"
         "\x01\xbb",
         18},
        {"1.2.3", 1,
         "\x05\x01\x00\x03\x05"
         "1.2.3"
         "\x00\x01",
         12}, /* not an address */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t out[300];
        ssize_t k = sk_socks5_request(cases[i].host, cases[i].port, out, sizeof(out));
        assert_int_equal(k, cases[i].n);
        assert_memory_equal(out, cases[i].want, cases[i].n);
    }
    char name[300];
    memset(name, 'a', 256);
    name[256] = '\0';
    uint8_t out[300];
    assert_int_equal(sk_socks5_request(name, 1, out, sizeof(out)), -EINVAL);
    name[255] = '\0';
    assert_int_equal(sk_socks5_request(name, 1, out, sizeof(out)), 4 + 1 + 255 + 2);
    assert_int_equal(sk_socks5_request("", 1, out, sizeof(out)), -EINVAL);
    assert_int_equal(sk_socks5_request("h", 1, out, 10), -ENOSPC);
    uint8_t g[3];
    assert_int_equal(sk_socks5_greeting(g), 3);
    assert_memory_equal(g, "\x05\x01\x00", 3);
}

static void socks5_replies_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        int want, rep;
    } replies[] = {
        {"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x50", 10, 10, 0},
        {"\x05\x05\x00\x01\0\0\0\0\0\0", 10, 10, 5},
        {"\x05\x00\x00\x04"
         "0123456789abcdef"
         "\x00\x01",
         22, 22, 0},
        {"\x05\x00\x00\x03\x03"
         "abc"
         "\x00\x01"
         "tunnel",
         16, 10, 0}, /* tunnel bytes after */
        {"\x05\x00\x00\x03\x03"
         "ab",
         7, -EAGAIN, 0},
        {"\x05\x00\x00\x01\x7f\x00", 6, -EAGAIN, 0},
        {"\x05\x00\x00", 3, -EAGAIN, 0},
        {"\x05\x00\x00\x03", 4, -EAGAIN, 0},
        {"\x04\x00\x00\x01\0\0\0\0\0\0", 10, -EPROTO, 0},
        {"\x05\x00\x01\x01\0\0\0\0\0\0", 10, -EPROTO, 0},
        {"\x05\x00\x00\x02\0\0\0\0\0\0", 10, -EPROTO, 0},
        {"", 0, -EAGAIN, 0},
    };
    for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
        int rep = -1;
        print_message("reply %zu\n", i);
        assert_int_equal(sk_socks5_reply((const uint8_t *)replies[i].in, replies[i].n, &rep),
                         replies[i].want);
        if (replies[i].want > 0)
            assert_int_equal(rep, replies[i].rep);
    }
    static const struct {
        const char *in;
        size_t n;
        int want;
    } methods[] = {
        {"\x05\x00", 2, 2},       {"\x05\xff", 2, -EACCES}, {"\x05\x02", 2, -EPROTO},
        {"\x04\x00", 2, -EPROTO}, {"\x05", 1, -EAGAIN},     {"", 0, -EAGAIN},
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        assert_int_equal(sk_socks5_method_reply((const uint8_t *)methods[i].in, methods[i].n),
                         methods[i].want);
    assert_int_equal(sk_socks5_error(0), 0);
    assert_int_equal(sk_socks5_error(2), -EACCES);
    assert_int_equal(sk_socks5_error(5), -ECONNREFUSED);
    assert_int_equal(sk_socks5_error(1), -ECONNABORTED);
    assert_int_equal(sk_socks5_error(200), -ECONNABORTED);
}

static void http_connect_table(void **state)
{
    (void)state;
    char out[300];
    ssize_t k = sk_http_connect_request("example.org", 443, out, sizeof(out));
    assert_string_equal(out, "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n");
    assert_int_equal(k, strlen(out));
    sk_http_connect_request("::1", 25, out, sizeof(out));
    assert_string_equal(out, "CONNECT [::1]:25 HTTP/1.1\r\nHost: [::1]:25\r\n\r\n");
    assert_int_equal(sk_http_connect_request("example.org", 443, out, 20), -ENOSPC);

    static const struct {
        const char *in;
        int want, status;
    } cases[] = {
        {"HTTP/1.1 200 Connection established\r\n\r\n", 39, 200},
        {"HTTP/1.0 200 OK\r\nProxy-agent: x\r\n\r\ntunnel", 35, 200},
        {"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", 45, 403},
        {"HTTP/1.1 200\r\n\r\n", 16, 200},
        {"HTTP/1.1 200 OK\n\n", 17, 200},
        {"HTTP/1.1 200 OK\r\n", -EAGAIN, 0},
        {"HTTP/1.", -EAGAIN, 0},
        {"HTT", -EAGAIN, 0},
        {"", -EAGAIN, 0},
        {"HTTP/2 200 OK\r\n\r\n", -EPROTO, 0},
        {"SSH-2.0-OpenSSH\r\n", -EPROTO, 0},
        {"HTTP/1.1 2x0 OK\r\n\r\n", -EPROTO, 0},
        {"HTTP/1.1 2000 OK\r\n\r\n", -EPROTO, 0},
        {"HTTP/1.1 20\r\n\r\n", -EPROTO, 0},
        {"HTTP/1.9 200 OK\r\n\r\n", -EPROTO, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int status = -1;
        print_message("%s\n", cases[i].in);
        assert_int_equal(sk_http_connect_response(cases[i].in, strlen(cases[i].in), &status),
                         cases[i].want);
        if (cases[i].want > 0)
            assert_int_equal(status, cases[i].status);
    }
    static char big[SK_HTTP_CONNECT_HEAD_MAX + 10];
    memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
    memset(big + 17, 'x', sizeof(big) - 17);
    int st;
    assert_int_equal(sk_http_connect_response(big, sizeof(big), &st), -E2BIG);
}

/* A SOCKS5 proxy in a thread that answers byte by byte and puts tunnel
 * bytes right behind its reply: the handshake takes none of them. */
static void *slow_socks(void *arg)
{
    int fd = *(int *)arg;
    uint8_t b[300];
    sk_read(fd, b, 3);
    static const char ans[] = "\x05\x00";
    for (int i = 0; i < 2; i++)
        sk_write_all(fd, ans + i, 1);
    sk_read(fd, b, 10);
    static const char rep[] = "\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x50"
                              "after";
    for (size_t i = 0; i < sizeof(rep) - 1; i++)
        sk_write_all(fd, rep + i, 1);
    return NULL;
}

static void socks5_handshake_leaves_the_tunnel_bytes(void **state)
{
    (void)state;
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    pthread_t t;
    pthread_create(&t, NULL, slow_socks, &sp[1]);
    struct sk_proxy px = {.kind = SK_PROXY_SOCKS5};
    char why[200];
    assert_int_equal(sk_proxy_connect(sp[0], &px, "127.0.0.1", 80, 5000, why, sizeof(why)), 0);
    pthread_join(t, NULL);
    char got[16];
    assert_int_equal(sk_read(sp[0], got, sizeof(got)), 5);
    assert_memory_equal(got, "after", 5);
    close(sp[0]);
    close(sp[1]);
}

static void handshake_times_out_and_refusals_are_named(void **state)
{
    (void)state;
    int sp[2];
    char why[200];
    struct sk_proxy px = {.kind = SK_PROXY_HTTP};
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    assert_int_equal(sk_proxy_connect(sp[0], &px, "h", 1, 100, why, sizeof(why)), -ETIMEDOUT);
    close(sp[0]);
    close(sp[1]);

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    const char *ans = "HTTP/1.1 502 Bad Gateway\r\n\r\n";
    sk_write_all(sp[1], ans, strlen(ans));
    assert_int_equal(sk_proxy_connect(sp[0], &px, "h", 1, 1000, why, sizeof(why)), -ECONNREFUSED);
    assert_non_null(strstr(why, "status 502"));
    close(sp[0]);
    close(sp[1]);

    px.kind = SK_PROXY_SOCKS5;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    sk_write_all(sp[1], "\x05\xff", 2);
    assert_int_equal(sk_proxy_connect(sp[0], &px, "h", 1, 1000, why, sizeof(why)), -EACCES);
    assert_non_null(strstr(why, "authentication"));
    close(sp[0]);
    close(sp[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url_table),
        cmocka_unit_test(socks5_request_table),
        cmocka_unit_test(socks5_replies_table),
        cmocka_unit_test(http_connect_table),
        cmocka_unit_test(socks5_handshake_leaves_the_tunnel_bytes),
        cmocka_unit_test(handshake_times_out_and_refusals_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
