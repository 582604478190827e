/* test_udp_flow.c - the UDP relay's client table (src/model/udp_flow.c),
 * table-driven: one flow per client address (family, address, port and
 * IPv6 scope tell clients apart), the order from least to most recently
 * active that expiry and eviction follow, the capacity bound, stale
 * references after removal, and growth that keeps indices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "addr_of.h"
#include "model/udp.h"

#include <stdio.h>
#include <string.h>

/* Each pair: are they the same client? */
static void keys_table(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        int same;
    } t[] = {
        {"127.0.0.1:4000", "127.0.0.1:4000", 1},
        {"127.0.0.1:4000", "127.0.0.1:4001", 0}, /* another port: another client */
        {"127.0.0.1:4000", "127.0.0.2:4000", 0},
        {"[::1]:4000", "[::1]:4000", 1},
        {"[::1]:4000", "[::2]:4000", 0},
        {"[::ffff:127.0.0.1]:4000", "127.0.0.1:4000", 0}, /* another family, another socket */
        {"[fe80::1%1]:4000", "[fe80::1%1]:4000", 1},
        {"[fe80::1%1]:4000", "[fe80::1%2]:4000", 0}, /* the scope counts */
    };
    for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
        struct sk__flowtab tab;
        assert_int_equal(sk__flows_init(&tab, 8), 0);
        struct sk_addr a = addr(t[k].a), b = addr(t[k].b);
        int32_t i = sk__flows_add(&tab, &a, 0);
        assert_true(i >= 0);
        tab.f[i].fd = 100;
        int32_t j = sk__flows_find(&tab, &b);
        if (t[k].same)
            assert_int_equal(j, i);
        else
            assert_int_equal(j, -1);
        sk__flows_fini(&tab);
    }
}

static void lru_order_and_removal(void **state)
{
    (void)state;
    struct sk__flowtab tab;
    struct sk_addr a = addr("127.0.0.1:5001"), b = addr("127.0.0.1:5002"),
                   c = addr("127.0.0.1:5003");
    assert_int_equal(sk__flows_init(&tab, 8), 0);
    assert_int_equal(sk__flows_oldest(&tab), -1);
    int32_t ia = sk__flows_add(&tab, &a, 10), ib = sk__flows_add(&tab, &b, 20),
            ic = sk__flows_add(&tab, &c, 30);
    assert_int_equal(tab.count, 3);
    assert_int_equal(sk__flows_oldest(&tab), ia);
    sk__flows_touch(&tab, ia, 40); /* a was active: b is the oldest now */
    assert_int_equal(sk__flows_oldest(&tab), ib);
    assert_int_equal(tab.f[ia].last_ms, 40);
    sk__flows_del(&tab, ib);
    assert_int_equal(sk__flows_oldest(&tab), ic);
    assert_int_equal(sk__flows_find(&tab, &b), -1);
    assert_int_equal(sk__flows_find(&tab, &a), ia);
    sk__flows_del(&tab, ic);
    sk__flows_del(&tab, ia);
    assert_int_equal(tab.count, 0);
    assert_int_equal(sk__flows_oldest(&tab), -1);
    sk__flows_fini(&tab);
}

static void capacity_bound_and_stale_refs(void **state)
{
    (void)state;
    struct sk__flowtab tab;
    assert_int_equal(sk__flows_init(&tab, 3), 0);
    struct sk_addr p[4] = {addr("10.0.0.1:1"), addr("10.0.0.2:1"), addr("10.0.0.3:1"),
                           addr("10.0.0.4:1")};
    int32_t i0 = sk__flows_add(&tab, &p[0], 0);
    assert_true(sk__flows_add(&tab, &p[1], 0) >= 0);
    assert_true(sk__flows_add(&tab, &p[2], 0) >= 0);
    assert_int_equal(sk__flows_add(&tab, &p[3], 0), -ENOSPC);
    tab.f[i0].fd = 7;
    uint64_t ref = sk__flows_mkref(&tab, i0);
    assert_int_equal(sk__flows_ref(&tab, ref), i0);
    sk__flows_del(&tab, i0); /* evicted: its slot is reused for p[3] */
    int32_t i3 = sk__flows_add(&tab, &p[3], 0);
    assert_int_equal(i3, i0);
    tab.f[i3].fd = 8;
    assert_int_equal(sk__flows_ref(&tab, ref), -1); /* the old flow's event is stale */
    assert_int_equal(sk__flows_ref(&tab, sk__flows_mkref(&tab, i3)), i3);
    assert_int_equal(sk__flows_ref(&tab, 1000), -1); /* out of range */
    sk__flows_fini(&tab);
}

/* Many clients: the array grows by doubling, every index found again,
 * removing all in any order leaves an empty table that takes them again. */
static void growth_keeps_indices(void **state)
{
    (void)state;
    enum { N = 1000 };
    struct sk__flowtab tab;
    static int32_t idx[N];
    assert_int_equal(sk__flows_init(&tab, N), 0);
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < N; k++) {
            char s[64];
            snprintf(s, sizeof(s), "[2001:db8::%x]:%d", k / 7, 1024 + k % 7);
            struct sk_addr a = addr(s);
            idx[k] = sk__flows_add(&tab, &a, k);
            assert_true(idx[k] >= 0);
        }
        assert_int_equal(tab.count, N);
        assert_true(tab.nf <= N);
        for (int k = 0; k < N; k++) {
            char s[64];
            snprintf(s, sizeof(s), "[2001:db8::%x]:%d", k / 7, 1024 + k % 7);
            struct sk_addr a = addr(s);
            assert_int_equal(sk__flows_find(&tab, &a), idx[k]);
        }
        assert_int_equal(sk__flows_oldest(&tab), idx[0]);
        for (int k = 0; k < N; k++)
            sk__flows_del(&tab, idx[(k * 389) % N]); /* 389 is prime to N: each once */
        assert_int_equal(tab.count, 0);
    }
    sk__flows_fini(&tab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_table),
        cmocka_unit_test(lru_order_and_removal),
        cmocka_unit_test(capacity_bound_and_stale_refs),
        cmocka_unit_test(growth_keeps_indices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
