/* test_perip.c - the per source table of --max-per-ip and --accept-rate:
 * counts per address (IPv4 and its mapped IPv6 form are one source),
 * release, the token bucket, Unix peers unlimited, fork sharing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/internal.h"
#include "sockit/server.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sk_addr ip(const char *s)
{
    struct sk_addr a;
    assert_int_equal(sk_addr_parse(s, 1, &a, NULL), 0);
    return a;
}

static void setup_srv(struct sk_server *srv, unsigned max, unsigned rate)
{
    sk_server_init(srv);
    srv->lim.max_per_ip = max;
    srv->lim.ip_rate = rate;
    assert_int_equal(sk__perip_init(srv), 0);
    assert_non_null(srv->perip);
}

static void max_per_ip_table(void **state)
{
    (void)state;
    static const struct {
        const char *addr;
        int release; /* 1: release instead of admit */
        int want;
    } t[] = {
        {"127.0.0.1:1", 0, SK_PERIP_OK},
        {"127.0.0.1:2", 0, SK_PERIP_OK},
        {"127.0.0.1:3", 0, SK_PERIP_MAX},          /* a third from the same source */
        {"[::ffff:127.0.0.1]:4", 0, SK_PERIP_MAX}, /* the same source, mapped */
        {"127.0.0.2:1", 0, SK_PERIP_OK},           /* another source */
        {"[::1]:1", 0, SK_PERIP_OK},
        {"[::1]:2", 0, SK_PERIP_OK},
        {"[::1]:3", 0, SK_PERIP_MAX},
        {"127.0.0.1:1", 1, 0},
        {"127.0.0.1:5", 0, SK_PERIP_OK}, /* released: room again */
        {"unix:/tmp/x", 0, SK_PERIP_OK},
        {"unix:/tmp/x", 0, SK_PERIP_OK},
        {"unix:/tmp/x", 0, SK_PERIP_OK}, /* Unix peers are not limited */
    };
    struct sk_server srv;
    setup_srv(&srv, 2, 0);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_addr a = ip(t[i].addr);
        if (t[i].release)
            sk__perip_release(&srv, &a);
        else if (sk__perip_admit(&srv, &a) != t[i].want)
            fail_msg("row %zu (%s): expected %d", i, t[i].addr, t[i].want);
    }
    sk_server_close(&srv);
}

static void rate_bucket(void **state)
{
    (void)state;
    struct sk_server srv;
    setup_srv(&srv, 0, 3);
    struct sk_addr a = ip("127.0.0.1:1"), b = ip("127.0.0.2:1");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sk__perip_admit(&srv, &a), SK_PERIP_OK);
        sk__perip_release(&srv, &a); /* closing does not give the token back */
    }
    assert_int_equal(sk__perip_admit(&srv, &a), SK_PERIP_RATE);
    assert_int_equal(sk__perip_admit(&srv, &b), SK_PERIP_OK);
    usleep(400 * 1000); /* 3 a second: at least one more by now */
    assert_int_equal(sk__perip_admit(&srv, &a), SK_PERIP_OK);
    sk_server_close(&srv);
}

static void many_sources_stay_bounded(void **state)
{
    (void)state;
    struct sk_server srv;
    sk_server_init(&srv);
    srv.lim.max_conns = 100; /* 1024 slots at least */
    srv.lim.max_per_ip = 1;
    assert_int_equal(sk__perip_init(&srv), 0);
    char s[64];
    int ok = 0, full = 0;
    /* 5000 sources each holding a connection: the table never grows; once
     * full, new sources are refused, never miscounted. */
    for (int i = 0; i < 5000; i++) {
        snprintf(s, sizeof(s), "10.%d.%d.1:1", i / 256, i % 256);
        struct sk_addr a = ip(s);
        int r = sk__perip_admit(&srv, &a);
        ok += r == SK_PERIP_OK;
        full += r == SK_PERIP_FULL;
        assert_true(r == SK_PERIP_OK || r == SK_PERIP_FULL);
    }
    assert_true(ok >= 1000 && ok <= 1024);
    assert_int_equal(ok + full, 5000);
    /* Released sources make room for new ones. */
    for (int i = 0; i < 5000; i++) {
        snprintf(s, sizeof(s), "10.%d.%d.1:1", i / 256, i % 256);
        struct sk_addr a = ip(s);
        sk__perip_release(&srv, &a);
    }
    struct sk_addr n = ip("192.0.2.1:1");
    assert_int_equal(sk__perip_admit(&srv, &n), SK_PERIP_OK);
    sk_server_close(&srv);
}

static void shared_with_forked_workers(void **state)
{
    (void)state;
    struct sk_server srv;
    setup_srv(&srv, 1, 0);
    struct sk_addr a = ip("127.0.0.1:1");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(sk__perip_admit(&srv, &a) == SK_PERIP_OK ? 0 : 1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(sk__perip_admit(&srv, &a), SK_PERIP_MAX); /* the child's counts */
    sk_server_close(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(max_per_ip_table),
        cmocka_unit_test(rate_bucket),
        cmocka_unit_test(many_sources_stay_bounded),
        cmocka_unit_test(shared_with_forked_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
