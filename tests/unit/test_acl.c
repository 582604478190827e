/* test_acl.c - CIDR prefixes (parse, format, match) and allow/deny lists,
 * table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/acl.h"

#include <errno.h>
#include <string.h>

static void parse_format_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *out; /* NULL: must be refused */
    } t[] = {
        {"127.0.0.1", "127.0.0.1/32"},
        {"10.0.0.0/8", "10.0.0.0/8"},
        {"0.0.0.0/0", "0.0.0.0/0"},
        {"192.168.1.128/25", "192.168.1.128/25"},
        {"::1", "::1/128"},
        {"::/0", "::/0"},
        {"2001:db8::/32", "2001:db8::/32"},
        {"2001:DB8:0:0::/48", "2001:db8::/48"},
        {"::ffff:127.0.0.0/104", "::ffff:127.0.0.0/104"},
        {"10.0.0.1/8", NULL},     /* host bits past the prefix */
        {"2001:db8::1/32", NULL}, /* the same in IPv6 */
        {"10.0.0.0/33", NULL},
        {"::/129", NULL},
        {"10.0.0.0/", NULL},
        {"/8", NULL},
        {"10.0.0.0/08", NULL},
        {"10.0.0.0/8x", NULL},
        {"10.0.0.0/-1", NULL},
        {"10.0.0/8", NULL},
        {"010.0.0.0/8", NULL},
        {"localhost", NULL},
        {"", NULL},
        {"fe80::1%1/64", NULL},
        {"1.2.3.4/32/1", NULL},
        {"[::1]/128", NULL},
        {"10.0.0.0/99999999999", NULL},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_cidr c;
        const char *why = NULL;
        char buf[SK_CIDR_STRLEN];
        int r = sk_cidr_parse(t[i].in, &c, &why);
        if (!t[i].out) {
            if (r != -EINVAL)
                fail_msg("'%s' was accepted", t[i].in);
            assert_non_null(why);
            continue;
        }
        if (r != 0)
            fail_msg("'%s' refused: %s", t[i].in, why);
        assert_true(sk_cidr_format(&c, buf, sizeof(buf)) > 0);
        assert_string_equal(buf, t[i].out);
    }
}

static struct sk_addr ip(const char *s)
{
    struct sk_addr a;
    assert_int_equal(sk_addr_parse(s, 1, &a, NULL), 0);
    return a;
}

static void match_table(void **state)
{
    (void)state;
    static const struct {
        const char *cidr, *addr;
        int match;
    } t[] = {
        {"127.0.0.1", "127.0.0.1", 1},
        {"127.0.0.1", "127.0.0.2", 0},
        {"127.0.0.0/8", "127.255.0.9", 1},
        {"127.0.0.0/8", "128.0.0.1", 0},
        {"192.168.1.128/25", "192.168.1.200", 1},
        {"192.168.1.128/25", "192.168.1.127", 0},
        {"0.0.0.0/0", "8.8.8.8", 1},
        {"0.0.0.0/0", "::1", 0}, /* IPv4 prefixes leave real IPv6 out */
        {"::/0", "::1", 1},
        {"::1", "::1", 1},
        {"::1", "::2", 0},
        {"2001:db8::/33", "2001:db8:7fff::1", 1},
        {"2001:db8::/33", "2001:db8:8000::1", 0},
        /* v4-mapped IPv6 peers (a dual-stack listener) are IPv4 ones */
        {"127.0.0.1", "::ffff:127.0.0.1", 1},
        {"127.0.0.0/8", "::ffff:10.0.0.1", 0},
        {"::ffff:127.0.0.0/104", "127.0.0.5", 1},
        {"::ffff:127.0.0.0/104", "::ffff:127.0.0.5", 1},
        {"::/0", "127.0.0.1", 1},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_cidr c;
        assert_int_equal(sk_cidr_parse(t[i].cidr, &c, NULL), 0);
        struct sk_addr a = ip(t[i].addr);
        if (sk_cidr_match(&c, &a) != t[i].match)
            fail_msg("%s in %s: expected %d", t[i].addr, t[i].cidr, t[i].match);
    }
}

static void acl_table(void **state)
{
    (void)state;
    static const struct {
        const char *allow[3], *deny[3], *addr;
        int ok;
    } t[] = {
        {{NULL}, {NULL}, "127.0.0.2", 1},                 /* no list: all pass */
        {{NULL}, {"127.0.0.2"}, "127.0.0.2", 0},          /* denied */
        {{NULL}, {"127.0.0.2"}, "127.0.0.1", 1},          /* others pass */
        {{"127.0.0.1"}, {NULL}, "127.0.0.2", 0},          /* not allowed */
        {{"127.0.0.1"}, {NULL}, "127.0.0.1", 1},          /* allowed */
        {{"127.0.0.0/8"}, {"127.0.0.2"}, "127.0.0.2", 0}, /* deny wins */
        {{"127.0.0.0/8"}, {"127.0.0.2"}, "127.0.0.3", 1},
        {{"127.0.0.1"}, {NULL}, "::1", 0}, /* v4 allow: v6 out */
        {{"127.0.0.1", "::1"}, {NULL}, "::1", 1},
        {{NULL}, {"::1"}, "::1", 0},
        {{NULL}, {"127.0.0.2"}, "::ffff:127.0.0.2", 0},    /* mapped denied */
        {{NULL}, {"0.0.0.0/0", "::/0"}, "unix:/tmp/x", 1}, /* Unix peers pass */
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_acl acl = {0};
        for (int k = 0; k < 3 && t[i].allow[k]; k++)
            assert_int_equal(sk_acl_add(&acl, 1, t[i].allow[k], NULL), 0);
        for (int k = 0; k < 3 && t[i].deny[k]; k++)
            assert_int_equal(sk_acl_add(&acl, 0, t[i].deny[k], NULL), 0);
        struct sk_addr a = ip(t[i].addr);
        if (sk_acl_permits(&acl, &a) != t[i].ok)
            fail_msg("row %zu (%s): expected %d", i, t[i].addr, t[i].ok);
        sk_acl_free(&acl);
    }
    struct sk_acl acl = {0};
    const char *why = NULL;
    assert_int_equal(sk_acl_add(&acl, 1, "10.0.0.1/8", &why), -EINVAL);
    assert_non_null(why);
    assert_false(sk_acl_active(&acl));
    sk_acl_free(&acl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_format_table),
        cmocka_unit_test(match_table),
        cmocka_unit_test(acl_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
