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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
