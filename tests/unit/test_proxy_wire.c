/* test_proxy_wire.c - the proxies' wire formats in the net core
 * (src/net/proxy.c): SOCKS5 greetings, RFC 1929 requests, requests and
 * replies, their encoder, the reply codes of connect failures, and HTTP
 * CONNECT's host:port (tables). Every decoder is also fed each message a
 * byte at a time and split at every point: the answer equals the whole's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/error.h"
#include "sockit/proxy.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>

typedef int (*decoder)(const uint8_t *p, size_t n);

static int greeting(const uint8_t *p, size_t n)
{
    unsigned offers = 0;
    int r = sk_socks5_greeting_parse(p, n, &offers);
    return r > 0 ? r * 16 + (int)offers : r;
}

static int auth(const uint8_t *p, size_t n)
{
    struct sk_socks5_auth a;
    return sk_socks5_auth_parse(p, n, &a);
}

static int msg(const uint8_t *p, size_t n)
{
    struct sk_socks5_msg m;
    return sk_socks5_msg_parse(p, n, &m);
}

/* The answer for p[0..n) as it would arrive, split anywhere: every prefix
 * is incomplete until the first answer, and that answer (a failure the
 * bytes so far already prove, or the message's length) is the whole's. */
static void check_splits(decoder d, const uint8_t *p, size_t n)
{
    int whole = d(p, n);
    for (size_t k = 0; k <= n; k++) {
        int r = d(p, k);
        if (r != -EAGAIN) {
            assert_int_equal(r, whole);
            for (size_t j = k; j <= n && r < 0; j++)
                assert_int_equal(d(p, j), whole);
            break;
        }
    }
}

static void greeting_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        int want;
        unsigned offers;
    } cases[] = {
        {"\x05\x01\x00", 3, 3, SK_SOCKS5_OFFERS_NONE},
        {"\x05\x02\x00\x02", 4, 4, SK_SOCKS5_OFFERS_NONE | SK_SOCKS5_OFFERS_USERPASS},
        {"\x05\x01\x02", 3, 3, SK_SOCKS5_OFFERS_USERPASS},
        {"\x05\x02\x01\x80", 4, 4, 0}, /* GSSAPI and a private method: neither we take */
        {"\x05\x03\x00\x01", 4, -EAGAIN, 0},
        {"\x05", 1, -EAGAIN, 0},
        {"", 0, -EAGAIN, 0},
        {"\x05\x00", 2, -EPROTO, 0},        /* no method */
        {"\x04\x01\x00", 3, -EPROTO, 0},    /* SOCKS4 */
        {"GET / HTTP/1.1", 14, -EPROTO, 0}, /* garbage */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned offers = 99;
        const uint8_t *p = (const uint8_t *)cases[i].in;
        print_message("greeting %zu\n", i);
        assert_int_equal(sk_socks5_greeting_parse(p, cases[i].n, &offers), cases[i].want);
        if (cases[i].want > 0)
            assert_int_equal(offers, cases[i].offers);
        check_splits(greeting, p, cases[i].n);
    }
}

static void auth_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        int want;
        const char *user, *pass;
    } cases[] = {
        {"\x01\x04user\x04pass", 11, 11, "user", "pass"},
        {"\x01\x01u\x00", 4, 4, "u", ""},
        {"\x01\x00\x00", 3, 3, "", ""},
        {"\x01\x04user\x04pas", 10, -EAGAIN, NULL, NULL},
        {"\x01\x04user", 6, -EAGAIN, NULL, NULL},
        {"\x01", 1, -EAGAIN, NULL, NULL},
        {"\x05\x04user\x04pass", 11, -EPROTO, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_socks5_auth a;
        const uint8_t *p = (const uint8_t *)cases[i].in;
        print_message("auth %zu\n", i);
        assert_int_equal(sk_socks5_auth_parse(p, cases[i].n, &a), cases[i].want);
        if (cases[i].want > 0) {
            assert_int_equal(a.user_len, strlen(cases[i].user));
            assert_memory_equal(a.user, cases[i].user, a.user_len);
            assert_int_equal(a.pass_len, strlen(cases[i].pass));
            assert_memory_equal(a.pass, cases[i].pass, a.pass_len);
        }
        check_splits(auth, p, cases[i].n);
    }
}

static void request_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        int want;
        int code;
        const char *host; /* sk_socks5_msg_host(), NULL: -EINVAL */
        uint16_t port;
    } cases[] = {
        {"\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50", 10, 10, 1, "127.0.0.1", 80},
        {"\x05\x01\x00\x04"
         "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
         "\x12\x34",
         22, 22, 1, "::1", 0x1234},
        {"\x05\x01\x00\x03\x09localhost\x1f\x90", 16, 16, 1, "localhost", 8080},
        {"\x05\x02\x00\x01\0\0\0\0\0\0", 10, 10, 2, "0.0.0.0", 0}, /* BIND */
        {"\x05\x03\x00\x01\0\0\0\0\0\0", 10, 10, 3, "0.0.0.0", 0}, /* UDP ASSOCIATE */
        {"\x05\x01\x00\x03\x00\x00\x50", 7, 7, 1, NULL, 80},       /* an empty name */
        {"\x05\x01\x00\x03\x03"
         "a\0b\x00\x50",
         10, 10, 1, NULL, 80}, /* a NUL in the name */
        {"\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50tunnel", 16, 10, 1, "127.0.0.1", 80},
        {"\x05\x01\x00\x03\x09local", 10, -EAGAIN, 0, NULL, 0},
        {"\x05\x01\x00", 3, -EAGAIN, 0, NULL, 0},
        {"\x05\x01\x00\x02\0\0\0\0\0\0", 10, -EAFNOSUPPORT, 0, NULL, 0},
        {"\x05\x01\x01\x01\0\0\0\0\0\0", 10, -EPROTO, 0, NULL, 0},
        {"\x04\x01\x00\x50\x7f\x00\x00\x01\x00", 9, -EPROTO, 0, NULL, 0}, /* SOCKS4 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_socks5_msg m;
        const uint8_t *p = (const uint8_t *)cases[i].in;
        print_message("request %zu\n", i);
        assert_int_equal(sk_socks5_msg_parse(p, cases[i].n, &m), cases[i].want);
        check_splits(msg, p, cases[i].n);
        if (cases[i].want <= 0)
            continue;
        assert_int_equal(m.code, cases[i].code);
        assert_int_equal(m.port, cases[i].port);
        char host[256];
        int r = sk_socks5_msg_host(&m, host, sizeof(host));
        if (cases[i].host) {
            assert_int_equal(r, strlen(cases[i].host));
            assert_string_equal(host, cases[i].host);
        } else {
            assert_int_equal(r, -EINVAL);
        }
        /* Encoding what was parsed gives the same bytes back. */
        uint8_t out[SK_SOCKS5_MSG_MAX];
        assert_int_equal(sk_socks5_msg_encode(&m, out, sizeof(out)), cases[i].want);
        assert_memory_equal(out, p, (size_t)cases[i].want);
    }
}

static void encode_table(void **state)
{
    (void)state;
    struct sk_socks5_msg m = {.code = SK_SOCKS5_OK};
    struct sk_addr a;
    uint8_t out[SK_SOCKS5_MSG_MAX];

    assert_int_equal(sk_addr_parse("[::1]:4660", 0, &a, NULL), 0);
    sk_socks5_msg_set_addr(&m, &a);
    assert_int_equal(sk_socks5_msg_encode(&m, out, sizeof(out)), 22);
    assert_memory_equal(out,
                        "\x05\x00\x00\x04"
                        "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
                        "\x12\x34",
                        22);
    assert_int_equal(sk_addr_parse("10.1.2.3:80", 0, &a, NULL), 0);
    m.code = SK_SOCKS5_REFUSED;
    sk_socks5_msg_set_addr(&m, &a);
    assert_int_equal(sk_socks5_msg_encode(&m, out, sizeof(out)), 10);
    assert_memory_equal(out, "\x05\x05\x00\x01\x0a\x01\x02\x03\x00\x50", 10);
    assert_int_equal(sk_socks5_msg_encode(&m, out, 9), -ENOSPC);
    assert_int_equal(sk_addr_unix("/tmp/x", &a, NULL), 0);
    sk_socks5_msg_set_addr(&m, &a);
    assert_int_equal(sk_socks5_msg_encode(&m, out, sizeof(out)), 10);
    assert_memory_equal(out, "\x05\x05\x00\x01\0\0\0\0\0\0", 10);

    assert_int_equal(sk_socks5_msg_set_host(&m, "example.org", 443), 0);
    assert_int_equal(m.atyp, SK_SOCKS5_NAME);
    assert_int_equal(sk_socks5_msg_set_host(&m, "", 443), -EINVAL);
    m.atyp = 9;
    assert_int_equal(sk_socks5_msg_encode(&m, out, sizeof(out)), -EINVAL);

    static const struct {
        int err, rep;
    } reps[] = {
        {0, SK_SOCKS5_OK},
        {-ECONNREFUSED, SK_SOCKS5_REFUSED},
        {-ENETUNREACH, SK_SOCKS5_NET_UNREACHABLE},
        {-EHOSTUNREACH, SK_SOCKS5_HOST_UNREACHABLE},
        {-ETIMEDOUT, SK_SOCKS5_HOST_UNREACHABLE},
        {-EACCES, SK_SOCKS5_NOT_ALLOWED},
        {-EAFNOSUPPORT, SK_SOCKS5_BAD_ADDRESS_TYPE},
        {-EIO, SK_SOCKS5_FAILURE},
    };
    for (size_t i = 0; i < sizeof(reps) / sizeof(reps[0]); i++)
        assert_int_equal(sk_socks5_rep_of(reps[i].err), reps[i].rep);
    assert_int_equal(sk_socks5_rep_of(sk_gai_error(EAI_NONAME)), SK_SOCKS5_HOST_UNREACHABLE);
}

static void authority_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int want;
        const char *host;
        uint16_t port;
    } cases[] = {
        {"example.org:443", 0, "example.org", 443},
        {"127.0.0.1:1", 0, "127.0.0.1", 1},
        {"[::1]:65535", 0, "::1", 65535},
        {"my_host-1.local:80", 0, "my_host-1.local", 80},
        {"example.org", -EINVAL, NULL, 0},
        {"example.org:", -EINVAL, NULL, 0},
        {"example.org:0", -EINVAL, NULL, 0},
        {"example.org:65536", -EINVAL, NULL, 0},
        {"example.org:080x", -EINVAL, NULL, 0},
        {":80", -EINVAL, NULL, 0},
        {"::1:80", -EINVAL, NULL, 0},
        {"[::1]", -EINVAL, NULL, 0},
        {"[::1:80", -EINVAL, NULL, 0},
        {"[fe80::1%eth0]:80", -EINVAL, NULL, 0},
        {"[nothex]:80", -EINVAL, NULL, 0},
        {"/path:80", -EINVAL, NULL, 0},
        {"user@host:80", -EINVAL, NULL, 0},
        {"", -EINVAL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char host[256];
        uint16_t port = 0;
        print_message("%s\n", cases[i].in);
        assert_int_equal(
            sk_authority_parse(cases[i].in, strlen(cases[i].in), host, sizeof(host), &port),
            cases[i].want);
        if (cases[i].want == 0) {
            assert_string_equal(host, cases[i].host);
            assert_int_equal(port, cases[i].port);
        }
    }
    char host[4];
    uint16_t port;
    assert_int_equal(sk_authority_parse("example.org:1", 13, host, sizeof(host), &port), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(greeting_table),  cmocka_unit_test(auth_table),
        cmocka_unit_test(request_table),   cmocka_unit_test(encode_table),
        cmocka_unit_test(authority_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
