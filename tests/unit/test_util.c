/* test_util.c - the small shared helpers of util.h: sk_str_set, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/util.h"

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

/* JSON string literals, as every --json output writes them. */
static void test_json_str(void **unused)
{
    (void)unused;
    static const struct {
        const char *in, *out;
    } rows[] = {
        {"", "\"\""},
        {"plain", "\"plain\""},
        {"a\"b\\c", "\"a\\\"b\\\\c\""},               /* quote and backslash escaped */
        {"tab\there\n", "\"tab\\u0009here\\u000a\""}, /* control bytes as \\u */
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},           /* UTF-8 passes through */
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        sk_json_str(f, rows[i].in);
        fclose(f);
        assert_string_equal(buf, rows[i].out);
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_set),
        cmocka_unit_test(test_json_str),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
