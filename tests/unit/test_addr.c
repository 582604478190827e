/* test_addr.c - address parsing and formatting, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/addr.h"
#include "sockit/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>

static void ip4_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int ok;
        uint32_t host_order;
    } t[] = {
        {"127.0.0.1", 1, 0x7f000001},
        {"192.168.0.1", 1, 0xc0a80001},
        {"0.0.0.0", 1, 0},
        {"255.255.255.255", 1, 0xffffffff},
        {"256.1.1.1", 0, 0},
        {"1.2.3", 0, 0},
        {"1.2.3.4.5", 0, 0},
        {"01.2.3.4", 0, 0},
        {"1..3.4", 0, 0},
        {"", 0, 0},
        {" 1.2.3.4", 0, 0},
        {"1.2.3.4 ", 0, 0},
        {"1.2.3.-4", 0, 0},
        {"0x7f.0.0.1", 0, 0},
        {"1.2.3.4:80", 0, 0},
        {"1234.1.1.1", 0, 0},
        {"1.2.3.", 0, 0},
        {"a.b.c.d", 0, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct in_addr a;
        const char *why = NULL;
        int r = sk_ip4_parse(t[i].in, &a, &why);
        if (t[i].ok) {
            assert_int_equal(r, 0);
            assert_int_equal(ntohl(a.s_addr), t[i].host_order);
        } else {
            assert_int_equal(r, -EINVAL);
            assert_non_null(why);
        }
    }
}

static void parse_and_format_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *out; /* NULL: must be rejected */
    } t[] = {
        {"127.0.0.1:80", "127.0.0.1:80"},
        {"127.0.0.1", "127.0.0.1:7"},
        {"[::1]:8080", "[::1]:8080"},
        {"::1", "[::1]:7"},
        {"[::1]", "[::1]:7"},
        {"[2001:db8::1]:65535", "[2001:db8::1]:65535"},
        {"/tmp/x.sock", "unix:/tmp/x.sock"},
        {"unix:/tmp/y", "unix:/tmp/y"},
        {"unix:@abstract", "unix:@abstract"},
        {"127.0.0.1:65536", NULL},
        {"127.0.0.1:", NULL},
        {"127.0.0.1:x", NULL},
        {"[::1", NULL},
        {"[::1]x", NULL},
        {"[1.2.3.4]:80", NULL},
        {"::g", NULL},
        {"", NULL},
        {"localhost:80", NULL},
        {"[]:80", NULL},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_addr a;
        const char *why = NULL;
        char buf[SK_ADDR_STRLEN];
        int r = sk_addr_parse(t[i].in, 7, &a, &why);
        if (!t[i].out) {
            assert_int_equal(r, -EINVAL);
            assert_non_null(why);
            continue;
        }
        assert_int_equal(r, 0);
        assert_true(sk_addr_format(&a, buf, sizeof(buf)) > 0);
        assert_string_equal(buf, t[i].out);
    }
}

static void unix_path_too_long_is_refused(void **state)
{
    (void)state;
    char path[200];
    struct sk_addr a;
    const char *why = NULL;
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    assert_int_equal(sk_addr_unix(path, &a, &why), -EINVAL);
    assert_string_equal(why, "Unix socket path too long");
}

static void ports(void **state)
{
    (void)state;
    uint16_t p;
    assert_int_equal(sk_port_parse("0", &p, NULL), 0);
    assert_int_equal(p, 0);
    assert_int_equal(sk_port_parse("65535", &p, NULL), 0);
    assert_int_equal(p, 65535);
    assert_int_equal(sk_port_parse("65536", &p, NULL), -EINVAL);
    assert_int_equal(sk_port_parse("-1", &p, NULL), -EINVAL);
    assert_int_equal(sk_port_parse("", &p, NULL), -EINVAL);
    assert_int_equal(sk_port_parse("99999999999999999999", &p, NULL), -EINVAL);
}

static void errors_have_messages(void **state)
{
    (void)state;
    assert_string_equal(sk_strerror(-ECONNREFUSED), "Connection refused");
    int e = sk_gai_error(EAI_NONAME);
    assert_true(sk_is_gai_error(e));
    assert_string_equal(sk_strerror(e), gai_strerror(EAI_NONAME));
    assert_false(sk_is_gai_error(-EINVAL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ip4_table),
        cmocka_unit_test(parse_and_format_table),
        cmocka_unit_test(unix_path_too_long_is_refused),
        cmocka_unit_test(ports),
        cmocka_unit_test(errors_have_messages),
    };
    return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
