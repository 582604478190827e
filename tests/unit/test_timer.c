/* test_timer.c - the event loops' deadline heap, against a brute-force model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/timer.h"

#include <stdlib.h>

#define N 500

static int64_t brute_min(const struct sk_timer *t, const int *armed, size_t n)
{
    int64_t m = -1;
    for (size_t i = 0; i < n; i++)
        if (armed[i] && (m < 0 || t[i].at < m))
            m = t[i].at;
    return m;
}

static void random_operations_keep_the_minimum(void **state)
{
    (void)state;
    static struct sk_timer t[N];
    static int armed[N];
    struct sk_timer_heap h;
    sk__timer_heap_init(&h);
    srand(7);
    for (int step = 0; step < 20000; step++) {
        size_t i = (size_t)rand() % N;
        int op = rand() % 4;
        if (op < 2) { /* arm or move (earlier or later) */
            assert_int_equal(sk__timer_set(&h, &t[i], rand() % 100000), 0);
            armed[i] = 1;
        } else if (op == 2) {
            sk__timer_del(&h, &t[i]);
            armed[i] = 0;
        } else if (h.n) { /* pop the top */
            struct sk_timer *top = sk__timer_top(&h);
            assert_int_equal(top->at, brute_min(t, armed, N));
            armed[top - t] = 0;
            sk__timer_del(&h, top);
        }
        size_t count = 0;
        for (size_t k = 0; k < N; k++) {
            count += armed[k] != 0;
            assert_int_equal(sk__timer_armed(&t[k]), armed[k] != 0);
        }
        assert_int_equal(h.n, count);
        struct sk_timer *top = sk__timer_top(&h);
        assert_int_equal(top ? top->at : -1, brute_min(t, armed, N));
    }
    sk__timer_heap_free(&h);
    for (size_t k = 0; k < N; k++)
        assert_false(sk__timer_armed(&t[k]));
}

static void pops_come_out_sorted(void **state)
{
    (void)state;
    static const int64_t at[] = {50, 10, 40, 10, 30, 20, 60, 0, 5};
    struct sk_timer t[sizeof(at) / sizeof(at[0])] = {{0}};
    struct sk_timer_heap h;
    sk__timer_heap_init(&h);
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
        assert_int_equal(sk__timer_set(&h, &t[i], at[i]), 0);
    int64_t last = -1;
    struct sk_timer *top;
    while ((top = sk__timer_top(&h)) != NULL) {
        assert_true(top->at >= last);
        last = top->at;
        sk__timer_del(&h, top);
    }
    assert_int_equal(last, 60);
    sk__timer_heap_free(&h);
}

static void wait_ms_table(void **state)
{
    (void)state;
    struct sk_timer t = {0};
    struct sk_timer_heap h;
    sk__timer_heap_init(&h);
    /* Nothing armed: the cap, or -1 (wait forever). */
    assert_int_equal(sk__timer_wait_ms(&h, 1000, -1), -1);
    assert_int_equal(sk__timer_wait_ms(&h, 1000, 250), 250);
    assert_int_equal(sk__timer_set(&h, &t, 1500), 0);
    static const struct {
        int64_t now;
        int cap, want;
    } cases[] = {
        {1000, -1, 500}, {1000, 100, 100}, {1500, -1, 0}, {2000, -1, 0}, {1400, 1000, 100},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(sk__timer_wait_ms(&h, cases[i].now, cases[i].cap), cases[i].want);
    sk__timer_heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_operations_keep_the_minimum),
        cmocka_unit_test(pops_come_out_sorted),
        cmocka_unit_test(wait_ms_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
