/* test_resolve_async.c - lookups off the caller's thread
 * (src/net/resolve_async.c): results polled until done, equal to
 * sk_resolve()'s; errors in the resolver's range; a job dropped while its
 * lookup runs is freed by the lookup's thread (ASan's leak check). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/error.h"
#include "sockit/resolve.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* Poll job until it is done (at most about 5 s). */
static int wait_result(struct sk_resolve_job *job, struct sk_addr *out, size_t n)
{
    for (int i = 0; i < 5000; i++) {
        int r = sk_resolve_result(job, out, n);
        if (r != -EAGAIN)
            return r;
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    return -EAGAIN;
}

static void results_table(void **state)
{
    (void)state;
    static const struct {
        const char *host;
        uint16_t port;
        const char *first; /* sk_addr_format() of the first address; NULL: any */
    } cases[] = {
        {"127.0.0.1", 80, "127.0.0.1:80"},
        {"::1", 443, "[::1]:443"},
        {"localhost", 8080, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_resolve_job *job = NULL;
        struct sk_addr a[4];
        char text[SK_ADDR_STRLEN];
        assert_int_equal(sk_resolve_start(cases[i].host, cases[i].port, &job), 0);
        int n = wait_result(job, a, 4);
        assert_true(n >= 1);
        assert_int_equal(sk_addr_port(&a[0]), cases[i].port);
        sk_addr_format(&a[0], text, sizeof(text));
        if (cases[i].first)
            assert_string_equal(text, cases[i].first);
        /* Asked again, the same answer. */
        assert_int_equal(sk_resolve_result(job, a, 4), n);
        sk_resolve_drop(job);
    }
}

static void errors_and_drop(void **state)
{
    (void)state;
    struct sk_resolve_job *job = NULL;
    char big[300];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_true(sk_is_gai_error(sk_resolve_start("", 80, &job)));
    assert_true(sk_is_gai_error(sk_resolve_start(big, 80, &job)));
    /* Dropped at once: the lookup's thread frees it. */
    assert_int_equal(sk_resolve_start("localhost", 1, &job), 0);
    sk_resolve_drop(job);
    sk_resolve_drop(NULL);
    /* Many at once, all dropped before they are done. */
    for (int i = 0; i < 32; i++) {
        int r = sk_resolve_start("127.0.0.1", (uint16_t)(i + 1), &job);
        assert_true(r == 0 || r == -EAGAIN);
        if (r == 0)
            sk_resolve_drop(job);
    }
    /* Let the threads finish before the leak check at exit. */
    assert_int_equal(sk_resolve_start("127.0.0.1", 9, &job), 0);
    struct sk_addr a;
    assert_int_equal(wait_result(job, &a, 1), 1);
    sk_resolve_drop(job);
    nanosleep(&(struct timespec){.tv_nsec = 200000000}, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(results_table),
        cmocka_unit_test(errors_and_drop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
