/* test_util.c - the small shared helpers of util.h: sk_str_set and the size
 * and duration parsers, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Each row replaces the string left by the previous one. */
static void test_str_set(void **unused)
{
    (void)unused;
    static const char *const rows[] = {"first", "", "a longer replacement value", "x"};
    char *s = NULL;
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        assert_int_equal(sk_str_set(&s, rows[i]), 0);
        assert_non_null(s);
        assert_ptr_not_equal(s, rows[i]);
        assert_string_equal(s, rows[i]);
    }
    /* Setting a string to itself keeps it valid (copy before free). */
    assert_int_equal(sk_str_set(&s, s), 0);
    assert_string_equal(s, "x");
    free(s);
}

static void test_parse_size(void **unused)
{
    (void)unused;
    static const struct {
        const char *in;
        uint64_t max;
        int rc;
        uint64_t want;
    } rows[] = {
        {"4096", 1u << 20, 0, 4096},
        {"64k", 1u << 20, 0, 65536},
        {"16KiB", 1u << 20, 0, 16384},
        {"1M", 1u << 20, 0, 1u << 20},
        {"1.5k", 1u << 20, 0, 1536},
        {"1G", UINT64_MAX, 0, 1u << 30},
        {"2M", 1u << 20, -ERANGE, 0},
        {"1.5", 100, -EINVAL, 0},
        {"", 100, -EINVAL, 0},
        {"-1", 100, -EINVAL, 0},
        {"12q", 100, -EINVAL, 0},
        {"nan", 100, -EINVAL, 0},
        /* Out of uint64_t's range: found by fuzz_ip (fuzz/corpus/ip/sockopt_size_1e135),
         * a double converted before its range was checked. */
        {"1e100", UINT64_MAX, -ERANGE, 0},
        {"1e100k", UINT64_MAX, -ERANGE, 0},
        {"6.6e135k", 2147483647, -ERANGE, 0},
        {"18446744073709551616", UINT64_MAX, -ERANGE, 0},
        {"17179869184G", UINT64_MAX, -ERANGE, 0},
        {"17179869183G", UINT64_MAX, 0, 17179869183ULL << 30},
        {"inf", UINT64_MAX, -ERANGE, 0},
        {"1e19", 1000, -ERANGE, 0},
        {"1e18", UINT64_MAX, 0, 1000000000000000000ULL},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        uint64_t v = 7;
        int rc = sk_parse_size(rows[i].in, rows[i].max, &v);
        if (rc != rows[i].rc)
            fail_msg("row %zu (%s): rc %d, want %d", i, rows[i].in, rc, rows[i].rc);
        if (rc == 0)
            assert_int_equal(v, rows[i].want);
    }
}

static void test_parse_duration(void **unused)
{
    (void)unused;
    static const struct {
        const char *in;
        int rc;
        int64_t want;
    } rows[] = {
        {"1.5", 0, 1500},    {"250ms", 0, 250},     {"2s", 0, 2000},     {"1m", 0, 60000},
        {"1h", 0, 3600000},  {"1500us", 0, 2},      {"0", 0, 0},         {"x", -EINVAL, 0},
        {"-1s", -EINVAL, 0}, {"1e100", -ERANGE, 0}, {"inf", -ERANGE, 0}, {"1e13", -ERANGE, 0},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        int64_t v = 7;
        int rc = sk_parse_duration_ms(rows[i].in, &v);
        if (rc != rows[i].rc)
            fail_msg("row %zu (%s): rc %d, want %d", i, rows[i].in, rc, rows[i].rc);
        if (rc == 0)
            assert_int_equal(v, rows[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_set),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
