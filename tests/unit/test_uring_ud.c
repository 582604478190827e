/* test_uring_ud.c - what an io_uring completion is about (src/model/
 * uring_ud.h): every operation and connection address survives encoding,
 * the loop's own polls carry no connection, and the operations fit the
 * bits an aligned connection leaves free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/uring_ud.h"

#include "sockit/util.h"

#include <stdlib.h>

static void test_round_trip(void **unused)
{
    (void)unused;
    static const enum sk__ud_op ops[] = {SK_UD_IGNORE, SK_UD_RECV, SK_UD_SEND, SK_UD_LISTEN,
                                         SK_UD_STOP,   SK_UD_WAKE, SK_UD_STDIN};
    /* Connections as the loop allocates them (calloc), and the extremes an
     * aligned address can take. */
    void *heap = calloc(1, 200);
    assert_non_null(heap);
    static _Alignas(8) char stat[8];
    void *conns[] = {heap, stat, (void *)(uintptr_t)8, (void *)(uintptr_t)(UINTPTR_MAX & ~7u)};
    for (size_t i = 0; i < SK_ARRAY_LEN(conns); i++)
        for (size_t j = 0; j < SK_ARRAY_LEN(ops); j++) {
            uint64_t ud = sk__ud_encode(conns[i], ops[j]);
            assert_int_equal(sk__ud_op(ud), ops[j]);
            assert_ptr_equal(sk__ud_conn(ud), conns[i]);
        }
    free(heap);
}

static void test_loop_polls(void **unused)
{
    (void)unused;
    static const enum sk__ud_op ops[] = {SK_UD_IGNORE, SK_UD_LISTEN, SK_UD_STOP, SK_UD_WAKE,
                                         SK_UD_STDIN};
    for (size_t j = 0; j < SK_ARRAY_LEN(ops); j++) {
        uint64_t ud = sk__ud_encode(NULL, ops[j]);
        assert_null(sk__ud_conn(ud));
        assert_int_equal(sk__ud_op(ud), ops[j]);
    }
    /* A cancellation's own completion is 0: nothing at all. */
    assert_int_equal(sk__ud_encode(NULL, SK_UD_IGNORE), 0);
    /* Every operation, and a bit per operation for the armed polls. */
    assert_true(SK_UD_OPS <= SK_UD_OP_MASK + 1);
    assert_true(SK_UD_OPS <= 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_loop_polls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
