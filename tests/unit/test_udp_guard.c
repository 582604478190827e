/* test_udp_guard.c - which datagrams a UDP service may answer
 * (src/model/udp_guard.c), table-driven: the sources that could answer back
 * or are not a single host, the server's own address, and the per-source
 * reply budget of --udp-rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "addr_of.h"
#include "model/udp.h"

#include <string.h>

static void refuse_table(void **state)
{
    (void)state;
    static const struct {
        const char *self, *from;
        int refused;
    } t[] = {
        {"127.0.0.1:7000", "127.0.0.1:40000", 0},
        {"127.0.0.1:7000", "10.1.2.3:1024", 0},
        {"127.0.0.1:7000", "127.0.0.1:7000", 1}, /* itself */
        {"127.0.0.1:7000", "127.0.0.2:7000", 0}, /* another host, same port */
        {"127.0.0.1:7000", "127.0.0.1:7", 1},    /* echo */
        {"127.0.0.1:7000", "127.0.0.1:9", 1},    /* discard */
        {"127.0.0.1:7000", "127.0.0.1:13", 1},   /* daytime */
        {"127.0.0.1:7000", "127.0.0.1:19", 1},   /* chargen */
        {"127.0.0.1:7000", "192.0.2.1:1023", 1},
        {"127.0.0.1:7000", "192.0.2.1:2049", 1}, /* NFS */
        {"127.0.0.1:7000", "192.0.2.1:0", 1},
        {"127.0.0.1:7000", "0.0.0.0:5000", 1},
        {"127.0.0.1:7000", "0.1.2.3:5000", 1},
        {"127.0.0.1:7000", "255.255.255.255:5000", 1},
        {"127.0.0.1:7000", "224.0.0.1:5000", 1},
        {"127.0.0.1:7000", "239.255.255.250:5000", 1},
        {"0.0.0.0:7000", "127.0.0.1:7000", 1}, /* wildcard: any local address is ours */
        {"0.0.0.0:7000", "127.0.0.1:7001", 0},
        {"[::1]:7000", "[::1]:7000", 1},
        {"[::1]:7000", "[::1]:50000", 0},
        {"[::1]:7000", "[::]:50000", 1},
        {"[::1]:7000", "[ff02::1]:50000", 1},
        {"[::1]:7000", "[2001:db8::1]:19", 1},
        {"[::]:7000", "[::ffff:127.0.0.1]:7000", 1}, /* a mapped IPv4 source */
        {"[::]:7000", "[::ffff:224.0.0.1]:5000", 1},
        {"[::]:7000", "[::ffff:192.0.2.1]:5000", 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_addr self = addr(t[i].self), from = addr(t[i].from);
        struct sk__udp_guard *g;
        assert_int_equal(sk__udp_guard_new(&self, 1, 0, &g), 0);
        const char *why = sk__udp_guard_refuse(g, &from);
        if ((why != NULL) != t[i].refused)
            fail_msg("case %zu: %s -> %s: %s", i, t[i].from, t[i].self, why ? why : "answered");
        sk__udp_guard_free(g);
    }
}

/* A server on several addresses (localhost: 127.0.0.1 and ::1) is each of them. */
static void several_addresses(void **state)
{
    (void)state;
    struct sk_addr self[2] = {addr("127.0.0.1:7000"), addr("[::1]:7000")};
    struct sk_addr v4 = addr("127.0.0.1:7000"), v6 = addr("[::1]:7000"), other = addr("[::1]:7001");
    struct sk__udp_guard *g;
    assert_int_equal(sk__udp_guard_new(self, 2, 0, &g), 0);
    assert_non_null(sk__udp_guard_refuse(g, &v4));
    assert_non_null(sk__udp_guard_refuse(g, &v6));
    assert_null(sk__udp_guard_refuse(g, &other));
    sk__udp_guard_free(g);
}

static void rate_per_source(void **state)
{
    (void)state;
    struct sk_addr self = addr("127.0.0.1:7000"), a = addr("192.0.2.1:5000"),
                   a2 = addr("192.0.2.1:5001"), b = addr("192.0.2.2:5000");
    struct sk__udp_guard *g;
    assert_int_equal(sk__udp_guard_new(&self, 1, 10, &g), 0);
    int64_t now = 1000000;
    int ok = 0;
    for (int i = 0; i < 100; i++)
        ok += sk__udp_guard_allow(g, i % 2 ? &a : &a2, now); /* one address, two ports */
    assert_int_equal(ok, 10);                                /* a second's worth at once */
    assert_true(sk__udp_guard_allow(g, &b, now));            /* another address: its own */
    assert_false(sk__udp_guard_allow(g, &a, now + 50));
    assert_true(sk__udp_guard_allow(g, &a, now + 100)); /* one more every 100 ms */
    assert_false(sk__udp_guard_allow(g, &a, now + 150));
    ok = 0;
    for (int i = 0; i < 100; i++)
        ok += sk__udp_guard_allow(g, &a, now + 60000); /* refilled, never past the burst */
    assert_int_equal(ok, 10);
    sk__udp_guard_free(g);

    /* No limit: always. */
    assert_int_equal(sk__udp_guard_new(&self, 1, 0, &g), 0);
    for (int i = 0; i < 1000; i++)
        assert_true(sk__udp_guard_allow(g, &a, now));
    sk__udp_guard_free(g);
}

static void table_is_bounded(void **state)
{
    (void)state;
    /* A million forged sources go through the same fixed table (allocated
     * once; an entry is replaced, never added) and each new one starts
     * with its burst. */
    struct sk_addr self = addr("127.0.0.1:7000"), x;
    struct sk__udp_guard *g;
    assert_int_equal(sk__udp_guard_new(&self, 1, 1, &g), 0);
    for (uint32_t i = 0; i < 1000000; i++) {
        x = addr("10.0.0.0:5000");
        x.u.in4.sin_addr.s_addr = htonl(0x0a000000u + i);
        assert_true(sk__udp_guard_allow(g, &x, 5000));
    }
    sk__udp_guard_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuse_table),
        cmocka_unit_test(several_addresses),
        cmocka_unit_test(rate_per_source),
        cmocka_unit_test(table_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
