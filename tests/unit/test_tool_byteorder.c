/* test_tool_byteorder.c - number parsing and byte-order conversions at 16,
 * 32 and 64 bits, table-driven, malformed input included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/tool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static void u64_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int ok;
        uint64_t v;
    } t[] = {
        {"0", 1, 0},
        {"1234", 1, 1234},
        {"0x4d2", 1, 1234},
        {"0X4D2", 1, 1234},
        {"00012", 1, 12},
        {"18446744073709551615", 1, UINT64_MAX},
        {"0xffffffffffffffff", 1, UINT64_MAX},
        {"18446744073709551616", 0, 0},
        {"0x10000000000000000", 0, 0},
        {"-1", 0, 0},
        {"+1", 0, 0},
        {"", 0, 0},
        {" 1", 0, 0},
        {"1 ", 0, 0},
        {"12a", 0, 0},
        {"0x", 0, 0},
        {"0xg", 0, 0},
        {"1.5", 0, 0},
        {"1e3", 0, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        uint64_t v = 0;
        const char *why = NULL;
        int r = sk_u64_parse(t[i].in, &v, &why);
        if (t[i].ok) {
            if (r != 0)
                fail_msg("'%s' refused: %s", t[i].in, why);
            assert_true(v == t[i].v);
        } else {
            if (r != -EINVAL)
                fail_msg("'%s' accepted", t[i].in);
            assert_non_null(why);
        }
    }
}

static void conversions(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        int bits, fits;
        unsigned char wire[8];
    } t[] = {
        {1234, 16, 1, {0x04, 0xd2}},
        {1234, 32, 1, {0, 0, 0x04, 0xd2}},
        {1234, 64, 1, {0, 0, 0, 0, 0, 0, 0x04, 0xd2}},
        {65535, 16, 1, {0xff, 0xff}},
        {65536, 16, 0, {0}},
        {65536, 32, 1, {0, 1, 0, 0}},
        {0x1ffffffffull, 32, 0, {0}},
        {0x0102030405060708ull, 64, 1, {1, 2, 3, 4, 5, 6, 7, 8}},
        {0, 16, 1, {0, 0}},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_byteorder b;
        assert_int_equal(sk_byteorder(t[i].v, t[i].bits, &b), 0);
        assert_int_equal(b.bits, t[i].bits);
        assert_int_equal(b.fits, t[i].fits);
        if (!b.fits)
            continue;
        size_t n = (size_t)t[i].bits / 8;
        assert_memory_equal(b.net_bytes, t[i].wire, n);
        /* host bytes are the value as this machine stores it */
        uint64_t back = 0;
        if (n == 2) {
            uint16_t x;
            memcpy(&x, b.host_bytes, 2);
            back = x;
            assert_true(b.net == htons((uint16_t)t[i].v));
        } else if (n == 4) {
            uint32_t x;
            memcpy(&x, b.host_bytes, 4);
            back = x;
            assert_true(b.net == htonl((uint32_t)t[i].v));
        } else {
            memcpy(&back, b.host_bytes, 8);
        }
        assert_true(back == t[i].v);
        /* net is the wire bytes read as a host integer */
        uint64_t net = 0;
        if (n == 2) {
            uint16_t x;
            memcpy(&x, t[i].wire, 2);
            net = x;
        } else if (n == 4) {
            uint32_t x;
            memcpy(&x, t[i].wire, 4);
            net = x;
        } else {
            memcpy(&net, t[i].wire, 8);
        }
        assert_true(b.net == net);
    }
}

static void bad_width(void **state)
{
    (void)state;
    struct sk_byteorder b;
    assert_int_equal(sk_byteorder(1, 8, &b), -EINVAL);
    assert_int_equal(sk_byteorder(1, 128, &b), -EINVAL);
}

static void endianness_matches_htons(void **state)
{
    (void)state;
    assert_int_equal(sk_host_big_endian(), htons(1) == 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(u64_table),
        cmocka_unit_test(conversions),
        cmocka_unit_test(bad_width),
        cmocka_unit_test(endianness_matches_htons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
