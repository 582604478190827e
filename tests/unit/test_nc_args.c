/* test_nc_args.c - `sockit nc`'s mapping of netcat-openbsd's command line
 * (sk_nc_parse()): a table of invocations and what they mean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/client.h"

#include <errno.h>
#include <string.h>

#define A(...)                                                                                     \
    (const char *[])                                                                               \
    {                                                                                              \
        "nc", __VA_ARGS__, NULL                                                                    \
    }

static int count(const char **v)
{
    int n = 0;
    while (v[n])
        n++;
    return n;
}

static void nc_parse_table(void **state)
{
    (void)state;
    const struct {
        const char **argv;
        int ret;
        const char *bad;
        int listen, keep, udp, zero, shut, family, wait_ms, quit_ms, proxy_kind, nops;
        const char *port, *source, *proxy, *op0, *op1;
    } cases[] = {
        /* connect */
        {A("127.0.0.1", "80"), 0, "", 0, 0, 0, 0, 0, 0, -1, -1, 0, 2, NULL, NULL, NULL, "127.0.0.1",
         "80"},
        {A("-N", "-w", "3", "h", "25"), 0, "", 0, 0, 0, 0, 1, 0, 3000, -1, 0, 2, NULL, NULL, NULL,
         "h", "25"},
        {A("-uvw1", "h", "53"), 0, "", 0, 0, 1, 0, 0, 0, 1000, -1, 0, 2, NULL, NULL, NULL, "h",
         "53"},
        {A("-q0", "-4", "-s", "127.0.0.2", "-p", "4000", "h", "1"), 0, "", 0, 0, 0, 0, 0, 4, -1, 0,
         0, 2, "4000", "127.0.0.2", NULL, "h", "1"},
        {A("-q", "-1", "h", "1"), 0, "", 0, 0, 0, 0, 0, 0, -1, -1, 0, 2, NULL, NULL, NULL, "h",
         "1"},
        {A("-x", "proxy:1080", "h", "22"), 0, "", 0, 0, 0, 0, 0, 0, -1, -1, SK_PROXY_SOCKS5, 2,
         NULL, NULL, "proxy:1080", "h", "22"},
        {A("-X", "connect", "-x", "p", "h", "443"), 0, "", 0, 0, 0, 0, 0, 0, -1, -1, SK_PROXY_HTTP,
         2, NULL, NULL, "p", "h", "443"},
        {A("h", "-6", "80"), 0, "", 0, 0, 0, 0, 0, 6, -1, -1, 0, 2, NULL, NULL, NULL, "h", "80"},
        {A("--", "-h", "80"), 0, "", 0, 0, 0, 0, 0, 0, -1, -1, 0, 2, NULL, NULL, NULL, "-h", "80"},
        /* scan */
        {A("-zv", "h", "20-25", "80"), 0, "", 0, 0, 0, 1, 0, 0, -1, -1, 0, 3, NULL, NULL, NULL, "h",
         "20-25"},
        /* listen */
        {A("-l", "1234"), 0, "", 1, 0, 0, 0, 0, 0, -1, -1, 0, 1, NULL, NULL, NULL, "1234", NULL},
        {A("-lk", "127.0.0.1", "1234"), 0, "", 1, 1, 0, 0, 0, 0, -1, -1, 0, 2, NULL, NULL, NULL,
         "127.0.0.1", "1234"},
        {A("-l", "-p", "1234"), 0, "", 1, 0, 0, 0, 0, 0, -1, -1, 0, 0, "1234", NULL, NULL, NULL,
         NULL},
        {A("-lu", "-p", "9", "::1"), 0, "", 1, 0, 1, 0, 0, 0, -1, -1, 0, 1, "9", NULL, NULL, "::1",
         NULL},
        /* unix */
        {A("-U", "/tmp/s"), 0, "", 0, 0, 0, 0, 0, 0, -1, -1, 0, 1, NULL, NULL, NULL, "/tmp/s",
         NULL},
        {A("-lU", "/tmp/s"), 0, "", 1, 0, 0, 0, 0, 0, -1, -1, 0, 1, NULL, NULL, NULL, "/tmp/s",
         NULL},
        /* not carried: one line, exit 2 */
        {.argv = A("-r", "h", "1"), .ret = -ENOTSUP, .bad = "-r"},
        {.argv = A("-vt", "h", "1"), .ret = -ENOTSUP, .bad = "-t"},
        {.argv = A("-X", "4", "-x", "p", "h", "1"), .ret = -ENOTSUP, .bad = "-X"},
        {.argv = A("-T", "lowdelay", "h", "1"), .ret = -ENOTSUP, .bad = "-T"},
        {.argv = A("-b", "h", "1"), .ret = -ENOTSUP, .bad = "-b"},
        /* refused as nc refuses */
        {.argv = A("h"), .ret = -EINVAL, .bad = ""},
        {.argv = A("h", "1", "2"), .ret = -EINVAL, .bad = ""},
        {.argv = A("-l"), .ret = -EINVAL, .bad = ""},
        {.argv = A("-l", "-p", "1", "h", "2"), .ret = -EINVAL, .bad = ""},
        {.argv = A("-k", "h", "1"), .ret = -EINVAL, .bad = ""},
        {.argv = A("-w", "x", "h", "1"), .ret = -EINVAL, .bad = "-w"},
        {.argv = A("-w", "-1", "h", "1"), .ret = -EINVAL, .bad = "-w"},
        {.argv = A("-X", "9", "h", "1"), .ret = -EINVAL, .bad = "-X"},
        {.argv = A("-w"), .ret = -EINVAL, .bad = "-w"},
        {.argv = A("-Q", "h", "1"), .ret = -EINVAL, .bad = "-Q"},
        {.argv = A("-lz", "1"), .ret = -EINVAL, .bad = ""},
        {.argv = A("-U"), .ret = -EINVAL, .bad = ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sk_nc_opts o;
        char bad[8];
        int r =
            sk_nc_parse(count(cases[i].argv), (char *const *)cases[i].argv, &o, bad, sizeof(bad));
        print_message("case %zu\n", i);
        assert_int_equal(r, cases[i].ret);
        if (r < 0) {
            assert_string_equal(bad, cases[i].bad);
            continue;
        }
        assert_int_equal(o.listen, cases[i].listen);
        assert_int_equal(o.keep, cases[i].keep);
        assert_int_equal(o.udp, cases[i].udp);
        assert_int_equal(o.zero, cases[i].zero);
        assert_int_equal(o.shutdown, cases[i].shut);
        assert_int_equal(o.family, cases[i].family);
        assert_int_equal(o.wait_ms, cases[i].wait_ms);
        assert_int_equal(o.quit_ms, cases[i].quit_ms);
        assert_int_equal(o.proxy_kind, cases[i].proxy_kind);
        assert_int_equal(o.noperands, cases[i].nops);
        if (cases[i].port)
            assert_string_equal(o.port, cases[i].port);
        else
            assert_null(o.port);
        if (cases[i].source)
            assert_string_equal(o.source, cases[i].source);
        if (cases[i].proxy)
            assert_string_equal(o.proxy, cases[i].proxy);
        if (cases[i].op0)
            assert_string_equal(o.operands[0], cases[i].op0);
        if (cases[i].op1)
            assert_string_equal(o.operands[1], cases[i].op1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nc_parse_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
