/* test_tool_service.c - service queries (parsing, malformed input) and
 * lookups in both directions, checked against the reentrant libc calls'
 * non-reentrant siblings so the test holds on any services database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/tool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>

static void query_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int ok, by_port;
        unsigned port;
        const char *name, *proto;
    } t[] = {
        {"80", 1, 1, 80, "", ""},
        {"53/udp", 1, 1, 53, "", "udp"},
        {"0", 1, 1, 0, "", ""},
        {"65535/tcp", 1, 1, 65535, "", "tcp"},
        {"http", 1, 0, 0, "http", ""},
        {"domain/udp", 1, 0, 0, "domain", "udp"},
        {"3com-tsmux", 1, 0, 0, "3com-tsmux", ""},
        {"65536", 0, 0, 0, NULL, NULL},
        {"99999999999", 0, 0, 0, NULL, NULL},
        {"", 0, 0, 0, NULL, NULL},
        {"/tcp", 0, 0, 0, NULL, NULL},
        {"80/", 0, 0, 0, NULL, NULL},
        {"ht tp", 0, 0, 0, NULL, NULL},
        {"http/t cp", 0, 0, 0, NULL, NULL},
        {"80/tcp/udp", 0, 0, 0, NULL, NULL},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0, 0, NULL,
         NULL},
        {"http/aaaaaaaaaaaaaaaaaaaaaa", 0, 0, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_servq q;
        const char *why = NULL;
        int r = sk_servq_parse(t[i].in, &q, &why);
        if (!t[i].ok) {
            if (r != -EINVAL)
                fail_msg("'%s' accepted", t[i].in);
            assert_non_null(why);
            continue;
        }
        if (r != 0)
            fail_msg("'%s' refused: %s", t[i].in, why);
        assert_int_equal(q.by_port, t[i].by_port);
        assert_int_equal(q.port, t[i].port);
        assert_string_equal(q.name, t[i].name);
        assert_string_equal(q.proto, t[i].proto);
    }
}

/* Both directions agree with getservbyport()/getservbyname(). */
static void lookups_agree_with_libc(void **state)
{
    (void)state;
    static const struct {
        unsigned port;
        const char *proto;
    } ports[] = {{80, "tcp"},  {25, "tcp"}, {53, "udp"}, {53, "tcp"},    {22, "tcp"},
                 {443, "tcp"}, {7, "udp"},  {1, "tcp"},  {65000, "udp"}, {0, "tcp"}};
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        struct sk_serv s;
        int r = sk_serv_by_port((uint16_t)ports[i].port, ports[i].proto, &s);
        struct servent *e = getservbyport((int)htons((uint16_t)ports[i].port), ports[i].proto);
        if (!e) {
            assert_int_equal(r, -ENOENT);
            continue;
        }
        assert_int_equal(r, 0);
        assert_string_equal(s.name, e->s_name);
        assert_string_equal(s.proto, e->s_proto);
        assert_int_equal(s.port, ports[i].port);
        /* and back: the name gives the port */
        struct sk_serv back;
        assert_int_equal(sk_serv_by_name(s.name, s.proto, &back), 0);
        assert_int_equal(back.port, ports[i].port);
    }
    struct sk_serv s;
    assert_int_equal(sk_serv_by_name("no-such-service-here", "tcp", &s), -ENOENT);
    assert_int_equal(sk_serv_by_name("http", "no-such-proto", &s), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(query_table),
        cmocka_unit_test(lookups_agree_with_libc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
