/* test_tool_ip.c - IP parsing (strict and inet_aton forms) and notations,
 * table-driven, malformed input included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/tool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

/* inet_aton() legacy grammar: our parser against expected values. */
static void aton_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int ok;
        uint32_t host_order;
    } t[] = {
        {"1.2.3.4", 1, 0x01020304},
        {"1.2.3", 1, 0x01020003},
        {"1.2", 1, 0x01000002},
        {"2130706433", 1, 0x7f000001},
        {"0x7f.1", 1, 0x7f000001},
        {"0x7F000001", 1, 0x7f000001},
        {"017.0.0.1", 1, 0x0f000001},
        {"0", 1, 0},
        {"0xffffffff", 1, 0xffffffff},
        {"1.0xffffff", 1, 0x01ffffff},
        {"1.2.65535", 1, 0x0102ffff},
        {"1.2.65536", 0, 0},
        {"1.0x1000000", 0, 0},
        {"4294967296", 0, 0},
        {"256.1.1.1", 0, 0},
        {"1.2.3.256", 0, 0},
        {"08.1.1.1", 0, 0},
        {"0x", 0, 0},
        {"1..2", 0, 0},
        {"1.2.3.4.5", 0, 0},
        {"", 0, 0},
        {"1.2.3.4 ", 0, 0},
        {"1.2.3.4x", 0, 0},
        {".1.2.3", 0, 0},
        {"1.2.3.", 0, 0},
        {"-1", 0, 0},
        {"99999999999999999999", 0, 0},
        {"0x1.0x2.0x3.0x4", 1, 0x01020304},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct in_addr a;
        const char *why = NULL;
        int r = sk_ip4_aton_parse(t[i].in, &a, &why);
        if (t[i].ok) {
            if (r != 0)
                fail_msg("'%s' refused: %s", t[i].in, why);
            assert_int_equal(ntohl(a.s_addr), t[i].host_order);
        } else {
            if (r != -EINVAL)
                fail_msg("'%s' accepted", t[i].in);
            assert_non_null(why);
        }
    }
}

/* Our legacy parser agrees with glibc's inet_aton() wherever glibc does not
 * accept trailing text (which we refuse on purpose). */
static void aton_agrees_with_libc(void **state)
{
    (void)state;
    static const char *const in[] = {
        "1.2.3.4",
        "1.2.3",
        "1.2",
        "1",
        "0x7f.1",
        "017.0.0.1",
        "0377.0377.0377.0377",
        "0xff.0xff.0xff.0xff",
        "256.1.1.1",
        "08.1.1.1",
        "1.2.65535",
        "1.2.65536",
        "4294967295",
        "4294967296",
        "1..2",
        "0x",
        "00",
        "0.0.0.0",
        "1.2.3.4.5",
    };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        struct in_addr ours, libc;
        int a = sk_ip4_aton_parse(in[i], &ours, NULL) == 0;
        int b = inet_aton(in[i], &libc) != 0;
        if (a != b)
            fail_msg("'%s': ours %d, inet_aton %d", in[i], a, b);
        if (a)
            assert_int_equal(ours.s_addr, libc.s_addr);
    }
}

static void parse_strict_and_legacy(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        unsigned flags;
        int ok, family, legacy;
    } t[] = {
        {"127.0.0.1", 0, 1, AF_INET, 0},
        {"127.0.0.1", SK_IP_ATON, 1, AF_INET, 0},
        {"1.2.3", 0, 0, 0, 0},
        {"1.2.3", SK_IP_ATON, 1, AF_INET, 1},
        {"256.1.1.1", 0, 0, 0, 0},
        {"256.1.1.1", SK_IP_ATON, 0, 0, 0},
        {"01.2.3.4", 0, 0, 0, 0},
        {"01.2.3.4", SK_IP_ATON, 1, AF_INET, 1},
        {"::1", 0, 1, AF_INET6, 0},
        {"2001:db8::1", 0, 1, AF_INET6, 0},
        {"::ffff:1.2.3.4", 0, 1, AF_INET6, 0},
        {"fe80::1%lo", 0, 1, AF_INET6, 0},
        {"fe80::1%", 0, 0, 0, 0},
        {":::", 0, 0, 0, 0},
        {"1:2:3:4:5:6:7:8:9", 0, 0, 0, 0},
        {"::g", 0, 0, 0, 0},
        {"", 0, 0, 0, 0},
        {"localhost", SK_IP_ATON, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_ip ip;
        const char *why = NULL;
        int r = sk_ip_parse(t[i].in, t[i].flags, &ip, &why);
        if (!t[i].ok) {
            if (r != -EINVAL)
                fail_msg("'%s' accepted", t[i].in);
            assert_non_null(why);
            continue;
        }
        if (r != 0)
            fail_msg("'%s' refused: %s", t[i].in, why);
        assert_int_equal(ip.family, t[i].family);
        assert_int_equal(ip.legacy, t[i].legacy);
    }
}

static void notation_v4(void **state)
{
    (void)state;
    static const struct {
        const char *in, *hex, *binary, *kind;
        uint32_t host;
    } t[] = {
        {"127.0.0.1", "7f000001", "01111111.00000000.00000000.00000001", "loopback", 2130706433u},
        {"192.168.0.1", "c0a80001", "11000000.10101000.00000000.00000001", "private", 3232235521u},
        {"0.0.0.0", "00000000", "00000000.00000000.00000000.00000000", "unspecified", 0},
        {"255.255.255.255", "ffffffff", "11111111.11111111.11111111.11111111", "broadcast",
         4294967295u},
        {"8.8.8.8", "08080808", "00001000.00001000.00001000.00001000", "global", 0x08080808},
        {"10.1.2.3", "0a010203", "00001010.00000001.00000010.00000011", "private", 0x0a010203},
        {"172.31.255.255", "ac1fffff", "10101100.00011111.11111111.11111111", "private",
         0xac1fffff},
        {"172.32.0.1", "ac200001", "10101100.00100000.00000000.00000001", "global", 0xac200001},
        {"169.254.1.1", "a9fe0101", "10101001.11111110.00000001.00000001", "link-local",
         0xa9fe0101},
        {"224.0.0.1", "e0000001", "11100000.00000000.00000000.00000001", "multicast", 0xe0000001},
        {"192.0.2.7", "c0000207", "11000000.00000000.00000010.00000111", "documentation",
         0xc0000207},
        {"100.64.0.1", "64400001", "01100100.01000000.00000000.00000001", "shared (CGNAT)",
         0x64400001},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_ip ip;
        struct sk_ip_notation n;
        assert_int_equal(sk_ip_parse(t[i].in, 0, &ip, NULL), 0);
        assert_int_equal(sk_ip_notation(&ip, &n), 0);
        assert_string_equal(n.text, t[i].in);
        assert_string_equal(n.hex, t[i].hex);
        assert_string_equal(n.binary, t[i].binary);
        assert_string_equal(n.kind, t[i].kind);
        assert_int_equal(n.host_order, t[i].host);
        /* network order: the in-memory bytes (hex order) read as a host integer */
        uint32_t raw;
        memcpy(&raw, &ip.v4.s_addr, 4);
        assert_int_equal(n.net_order, raw);
        assert_int_equal(n.net_order, htonl(t[i].host));
    }
}

static void notation_v6(void **state)
{
    (void)state;
    static const struct {
        const char *in, *text, *full, *hex, *kind, *mapped;
    } t[] = {
        {"::1", "::1", "0000:0000:0000:0000:0000:0000:0000:0001",
         "00000000000000000000000000000001", "loopback", ""},
        {"2001:DB8:0:0:0:0:0:1", "2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001",
         "20010db8000000000000000000000001", "documentation", ""},
        {"::", "::", "0000:0000:0000:0000:0000:0000:0000:0000", "00000000000000000000000000000000",
         "unspecified", ""},
        {"::ffff:192.168.0.1", "::ffff:192.168.0.1", "0000:0000:0000:0000:0000:ffff:c0a8:0001",
         "00000000000000000000ffffc0a80001", "ipv4-mapped", "192.168.0.1"},
        {"fd00::2", "fd00::2", "fd00:0000:0000:0000:0000:0000:0000:0002",
         "fd000000000000000000000000000002", "unique-local", ""},
        {"ff02::1", "ff02::1", "ff02:0000:0000:0000:0000:0000:0000:0001",
         "ff020000000000000000000000000001", "multicast", ""},
        {"fe80::1%lo", "fe80::1%lo", "fe80:0000:0000:0000:0000:0000:0000:0001",
         "fe800000000000000000000000000001", "link-local", ""},
        {"2606:4700::1111", "2606:4700::1111", "2606:4700:0000:0000:0000:0000:0000:1111",
         "26064700000000000000000000001111", "global", ""},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_ip ip;
        struct sk_ip_notation n;
        assert_int_equal(sk_ip_parse(t[i].in, 0, &ip, NULL), 0);
        assert_int_equal(sk_ip_notation(&ip, &n), 0);
        assert_string_equal(n.text, t[i].text);
        assert_string_equal(n.full, t[i].full);
        assert_string_equal(n.hex, t[i].hex);
        assert_string_equal(n.kind, t[i].kind);
        assert_string_equal(n.mapped_v4, t[i].mapped);
        assert_int_equal(strlen(n.binary), 128 + 7);
    }
}

static void prefix_blocks(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int prefix;
        const char *mask, *network, *last, *size, *first_host, *last_host, *hosts;
    } t[] = {
        {"192.168.1.77/24", 24, "255.255.255.0", "192.168.1.0", "192.168.1.255", "256",
         "192.168.1.1", "192.168.1.254", "254"},
        {"10.0.0.1/31", 31, "255.255.255.254", "10.0.0.0", "10.0.0.1", "2", "10.0.0.0", "10.0.0.1",
         "2"},
        {"1.2.3.4/32", 32, "255.255.255.255", "1.2.3.4", "1.2.3.4", "1", "1.2.3.4", "1.2.3.4", "1"},
        {"0.0.0.0/0", 0, "0.0.0.0", "0.0.0.0", "255.255.255.255", "4294967296", "0.0.0.1",
         "255.255.255.254", "4294967294"},
        {"172.20.5.5/12", 12, "255.240.0.0", "172.16.0.0", "172.31.255.255", "1048576",
         "172.16.0.1", "172.31.255.254", "1048574"},
        {"2001:db8::1/64", 64, "ffff:ffff:ffff:ffff::", "2001:db8::",
         "2001:db8::ffff:ffff:ffff:ffff", "2^64", "", "", ""},
        {"2001:db8:1:2::/63", 63, "ffff:ffff:ffff:fffe::", "2001:db8:1:2::",
         "2001:db8:1:3:ffff:ffff:ffff:ffff", "2^65", "", "", ""},
        {"::1/128", 128, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::1", "::1", "1", "", "", ""},
        {"fe80::1%lo/10", 10, "ffc0::", "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
         "2^118", "", "", ""},
        {"2001:db8::/120", 120, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00",
         "2001:db8::", "2001:db8::ff", "256", "", "", ""},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_ip ip;
        struct sk_ip_notation n;
        const char *why = NULL;
        if (sk_ip_parse(t[i].in, 0, &ip, &why) != 0)
            fail_msg("'%s' refused: %s", t[i].in, why);
        assert_int_equal(ip.prefix, t[i].prefix);
        assert_int_equal(sk_ip_notation(&ip, &n), 0);
        assert_string_equal(n.netmask, t[i].mask);
        assert_string_equal(n.network, t[i].network);
        assert_string_equal(n.last, t[i].last);
        assert_string_equal(n.size, t[i].size);
        assert_string_equal(n.first_host, t[i].first_host);
        assert_string_equal(n.last_host, t[i].last_host);
        assert_string_equal(n.hosts, t[i].hosts);
    }
    static const char *const bad[] = {"1.2.3.4/33", "1.2.3.4/", "1.2.3.4/024", "1.2.3.4/x",
                                      "::1/129",    "/24",      "1.2.3.4/-1",  "1.2.3.4/24/8",
                                      "1.2.3/8",    "::1/1000", "1.2.3.4/ 8"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sk_ip ip;
        const char *why = NULL;
        if (sk_ip_parse(bad[i], 0, &ip, &why) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(why);
    }
    struct sk_ip ip;
    assert_int_equal(sk_ip_parse("1.2.3/8", SK_IP_ATON, &ip, NULL), 0);
    assert_int_equal(ip.prefix, 8);
    assert_int_equal(ip.legacy, 1);
    assert_int_equal(sk_ip_parse("1.2.3.4", 0, &ip, NULL), 0);
    assert_int_equal(ip.prefix, -1);
}

static void notation_rejects_other_family(void **state)
{
    (void)state;
    struct sk_ip ip;
    struct sk_ip_notation n;
    memset(&ip, 0, sizeof(ip));
    ip.family = AF_UNIX;
    assert_int_equal(sk_ip_notation(&ip, &n), -EAFNOSUPPORT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aton_table),
        cmocka_unit_test(aton_agrees_with_libc),
        cmocka_unit_test(parse_strict_and_legacy),
        cmocka_unit_test(notation_v4),
        cmocka_unit_test(notation_v6),
        cmocka_unit_test(prefix_blocks),
        cmocka_unit_test(notation_rejects_other_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
