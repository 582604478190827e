/* test_tool_sockopt.c - socket option names, value parsing (malformed input
 * included), formatting, and get/set on real sockets compared with plain
 * getsockopt(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/tool.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void find_table(void **state)
{
    (void)state;
    static const struct {
        const char *in, *name; /* name NULL: unknown */
    } t[] = {
        {"SO_RCVBUF", "SO_RCVBUF"},
        {"so_rcvbuf", "SO_RCVBUF"},
        {"rcvbuf", "SO_RCVBUF"},
        {"nodelay", "TCP_NODELAY"},
        {"TCP_NODELAY", "TCP_NODELAY"},
        {"ttl", "IP_TTL"},
        {"nonblock", "O_NONBLOCK"},
        {"O_NONBLOCK", "O_NONBLOCK"},
        {"v6only", "IPV6_V6ONLY"},
        {"reuseport", "SO_REUSEPORT"},
        {"SO_", NULL},
        {"", NULL},
        {"bogus", NULL},
        {"SO_RCVBUFX", NULL},
        {"TCP_RCVBUF", NULL},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const struct sk_sockopt *o = sk_sockopt_find(t[i].in);
        if (!t[i].name) {
            if (o)
                fail_msg("'%s' found as %s", t[i].in, o->name);
            continue;
        }
        if (!o)
            fail_msg("'%s' not found", t[i].in);
        assert_string_equal(o->name, t[i].name);
    }
}

static void value_table(void **state)
{
    (void)state;
    static const struct {
        const char *opt, *in;
        int ok;
        int64_t i;
        const char *shown;
    } t[] = {
        {"TCP_NODELAY", "1", 1, 1, "on"},
        {"TCP_NODELAY", "off", 1, 0, "off"},
        {"TCP_NODELAY", "Yes", 1, 1, "on"},
        {"TCP_NODELAY", "2", 0, 0, NULL},
        {"TCP_NODELAY", "", 0, 0, NULL},
        {"SO_RCVBUF", "65536", 1, 65536, "65536"},
        {"SO_RCVBUF", "64k", 1, 65536, "65536"},
        {"SO_RCVBUF", "1M", 1, 1048576, "1048576"},
        {"SO_RCVBUF", "-1", 0, 0, NULL},
        {"SO_RCVBUF", "lots", 0, 0, NULL},
        {"SO_RCVBUF", "3G", 0, 0, NULL},
        {"IP_TTL", "64", 1, 64, "64"},
        {"IP_TTL", "x", 0, 0, NULL},
        {"IP_TTL", "99999999999", 0, 0, NULL},
        {"SO_RCVTIMEO", "1.5", 1, 1500000, "1500ms"},
        {"SO_RCVTIMEO", "2s", 1, 2000000, "2s"},
        {"SO_RCVTIMEO", "250ms", 1, 250000, "250ms"},
        {"SO_RCVTIMEO", "0", 1, 0, "none"},
        {"SO_RCVTIMEO", "none", 1, 0, "none"},
        {"SO_RCVTIMEO", "-1", 0, 0, NULL},
        {"SO_RCVTIMEO", "soon", 0, 0, NULL},
        {"SO_LINGER", "off", 1, -1, "off"},
        {"SO_LINGER", "5", 1, 5, "5s"},
        {"SO_LINGER", "-5", 0, 0, NULL},
        {"O_NONBLOCK", "on", 1, 1, "non-blocking"},
        {"O_NONBLOCK", "0", 1, 0, "blocking"},
        {"TCP_CONGESTION", "reno", 1, 0, "reno"},
        {"TCP_CONGESTION", "re no", 0, 0, NULL},
        {"TCP_CONGESTION", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0, NULL},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const struct sk_sockopt *o = sk_sockopt_find(t[i].opt);
        struct sk_optval v;
        const char *why = NULL;
        char buf[40];
        assert_non_null(o);
        int r = sk_optval_parse(o, t[i].in, &v, &why);
        if (!t[i].ok) {
            if (r != -EINVAL)
                fail_msg("%s='%s' accepted", t[i].opt, t[i].in);
            assert_non_null(why);
            continue;
        }
        if (r != 0)
            fail_msg("%s='%s' refused: %s", t[i].opt, t[i].in, why);
        if (o->kind != SK_OPT_STRING)
            assert_true(v.i == t[i].i);
        assert_true(sk_optval_format(o, &v, buf, sizeof(buf)) > 0);
        assert_string_equal(buf, t[i].shown);
    }
}

static void applies(void **state)
{
    (void)state;
    assert_true(sk_sockopt_applies(sk_sockopt_find("nodelay"), AF_INET, SOCK_STREAM));
    assert_false(sk_sockopt_applies(sk_sockopt_find("nodelay"), AF_INET, SOCK_DGRAM));
    assert_true(sk_sockopt_applies(sk_sockopt_find("ttl"), AF_INET, SOCK_DGRAM));
    assert_false(sk_sockopt_applies(sk_sockopt_find("ttl"), AF_INET6, SOCK_DGRAM));
    assert_true(sk_sockopt_applies(sk_sockopt_find("v6only"), AF_INET6, SOCK_STREAM));
    assert_false(sk_sockopt_applies(sk_sockopt_find("v6only"), AF_INET, SOCK_STREAM));
    assert_false(sk_sockopt_applies(sk_sockopt_find("rcvbuf"), AF_UNIX, SOCK_STREAM));
}

/* Every option of the table reads on a fresh socket it applies to, and the
 * int-valued ones agree with a plain getsockopt(). */
static void get_matches_getsockopt(void **state)
{
    (void)state;
    size_t n;
    const struct sk_sockopt *t = sk_sockopt_table(&n);
    static const int types[] = {SOCK_STREAM, SOCK_DGRAM};
    for (size_t k = 0; k < 2; k++) {
        int fd = socket(AF_INET, types[k], 0);
        assert_true(fd >= 0);
        for (size_t i = 0; i < n; i++) {
            struct sk_optval v;
            if (!sk_sockopt_applies(&t[i], AF_INET, types[k]))
                continue;
            int r = sk_sockopt_get(fd, &t[i], &v);
            if (r < 0)
                continue; /* a kernel may lack one (e.g. TCP_CONGESTION) */
            if (t[i].kind == SK_OPT_INT || t[i].kind == SK_OPT_SIZE) {
                int x;
                socklen_t len = sizeof(x);
                assert_int_equal(getsockopt(fd, t[i].level, t[i].optname, &x, &len), 0);
                assert_true(v.i == x);
            }
        }
        close(fd);
    }
}

/* Setting shows what the kernel keeps: compared with a second socket set
 * by hand. */
static void set_then_get(void **state)
{
    (void)state;
    int a = socket(AF_INET, SOCK_STREAM, 0), b = socket(AF_INET, SOCK_STREAM, 0);
    struct sk_optval v;
    const struct sk_sockopt *o = sk_sockopt_find("SO_RCVBUF");
    assert_true(a >= 0 && b >= 0);

    assert_int_equal(sk_optval_parse(o, "65536", &v, NULL), 0);
    assert_int_equal(sk_sockopt_set(a, o, &v), 0);
    int want = 65536, got;
    socklen_t len = sizeof(got);
    assert_int_equal(setsockopt(b, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want)), 0);
    assert_int_equal(getsockopt(b, SOL_SOCKET, SO_RCVBUF, &got, &len), 0);
    assert_int_equal(sk_sockopt_get(a, o, &v), 0);
    assert_true(v.i == got);

    o = sk_sockopt_find("nodelay");
    assert_int_equal(sk_optval_parse(o, "on", &v, NULL), 0);
    assert_int_equal(sk_sockopt_set(a, o, &v), 0);
    assert_int_equal(sk_sockopt_get(a, o, &v), 0);
    assert_true(v.i == 1);

    o = sk_sockopt_find("rcvtimeo");
    assert_int_equal(sk_optval_parse(o, "1.5", &v, NULL), 0);
    assert_int_equal(sk_sockopt_set(a, o, &v), 0);
    assert_int_equal(sk_sockopt_get(a, o, &v), 0);
    assert_true(v.i == 1500000);

    o = sk_sockopt_find("linger");
    assert_int_equal(sk_optval_parse(o, "7", &v, NULL), 0);
    assert_int_equal(sk_sockopt_set(a, o, &v), 0);
    assert_int_equal(sk_sockopt_get(a, o, &v), 0);
    assert_true(v.i == 7);

    o = sk_sockopt_find("nonblock");
    assert_int_equal(sk_optval_parse(o, "1", &v, NULL), 0);
    assert_int_equal(sk_sockopt_set(a, o, &v), 0);
    assert_true(fcntl(a, F_GETFL) & O_NONBLOCK);
    assert_int_equal(sk_sockopt_get(a, o, &v), 0);
    assert_true(v.i == 1);

    /* the kernel refuses a TTL over 255: a negative errno, not a crash */
    o = sk_sockopt_find("ttl");
    assert_int_equal(sk_optval_parse(o, "300", &v, NULL), 0);
    assert_int_equal(sk_sockopt_set(a, o, &v), -EINVAL);

    /* a closed descriptor */
    close(b);
    assert_int_equal(sk_sockopt_get(b, o, &v), -EBADF);
    close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(find_table),   cmocka_unit_test(value_table),
        cmocka_unit_test(applies),      cmocka_unit_test(get_matches_getsockopt),
        cmocka_unit_test(set_then_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
