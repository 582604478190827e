/* test_buf.c - the growable buffer and its hard maximum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/buf.h"

#include <errno.h>
#include <string.h>

static void append_consume_roundtrip(void **state)
{
    (void)state;
    struct sk_buf b;
    sk_buf_init(&b, 1024);
    assert_int_equal(sk_buf_append(&b, "hello ", 6), 0);
    assert_int_equal(sk_buf_printf(&b, "%s %d", "world", 42), 0);
    assert_int_equal(sk_buf_len(&b), 14);
    assert_memory_equal(sk_buf_data(&b), "hello world 42", 14);
    sk_buf_consume(&b, 6);
    assert_memory_equal(sk_buf_data(&b), "world 42", 8);
    sk_buf_consume(&b, 8);
    assert_int_equal(sk_buf_len(&b), 0);
    assert_int_equal(b.off, 0);
    sk_buf_free(&b);
}

static void hard_maximum_is_never_passed(void **state)
{
    (void)state;
    struct sk_buf b;
    char chunk[100];
    memset(chunk, 'x', sizeof(chunk));
    sk_buf_init(&b, 250);
    assert_int_equal(sk_buf_append(&b, chunk, 100), 0);
    assert_int_equal(sk_buf_append(&b, chunk, 100), 0);
    assert_int_equal(sk_buf_append(&b, chunk, 100), -ENOBUFS);
    assert_int_equal(sk_buf_len(&b), 200);
    assert_true(b.cap <= 250);
    assert_int_equal(sk_buf_append(&b, chunk, 50), 0);
    assert_int_equal(sk_buf_append(&b, chunk, 1), -ENOBUFS);
    /* Consuming makes room again, by sliding rather than growing. */
    sk_buf_consume(&b, 100);
    assert_int_equal(sk_buf_append(&b, chunk, 100), 0);
    assert_true(b.cap <= 250);
    assert_int_equal(sk_buf_printf(&b, "%0300d", 1), -ENOBUFS);
    sk_buf_free(&b);
}

static void long_printf_grows(void **state)
{
    (void)state;
    struct sk_buf b;
    sk_buf_init(&b, 1 << 20);
    assert_int_equal(sk_buf_printf(&b, "%05000d", 7), 0);
    assert_int_equal(sk_buf_len(&b), 5000);
    assert_int_equal(sk_buf_data(&b)[4999], '7');
    sk_buf_shrink(&b, 0);
    assert_non_null(b.data); /* not empty: kept */
    sk_buf_consume(&b, 5000);
    sk_buf_shrink(&b, 0);
    assert_null(b.data);
    sk_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_consume_roundtrip),
        cmocka_unit_test(hard_maximum_is_never_passed),
        cmocka_unit_test(long_printf_grows),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
