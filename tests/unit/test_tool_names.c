/* test_tool_names.c - interfaces (netmask prefixes, flag names, the live
 * listing against if_nameindex) and the name lookups (resolve, addrinfo,
 * reverse, hostname) on loopback and names under the reserved .invalid
 * TLD only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/error.h"
#include "sockit/tool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void prefix_table(void **state)
{
    (void)state;
    static const struct {
        int family;
        const char *mask;
        int prefix;
    } t[] = {
        {AF_INET, "255.0.0.0", 8},
        {AF_INET, "255.255.255.0", 24},
        {AF_INET, "255.255.255.255", 32},
        {AF_INET, "0.0.0.0", 0},
        {AF_INET, "255.255.254.0", 23},
        {AF_INET, "255.0.255.0", -1},
        {AF_INET, "0.255.255.255", -1},
        {AF_INET6, "ffff:ffff:ffff:ffff::", 64},
        {AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128},
        {AF_INET6, "::", 0},
        {AF_INET6, "ffff::ffff", -1},
        {AF_INET6, "fff0::", 12},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        ss.ss_family = (sa_family_t)t[i].family;
        void *dst = t[i].family == AF_INET ? (void *)&((struct sockaddr_in *)&ss)->sin_addr
                                           : (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
        assert_int_equal(inet_pton(t[i].family, t[i].mask, dst), 1);
        assert_int_equal(sk_netmask_prefix((struct sockaddr *)&ss), t[i].prefix);
    }
    assert_int_equal(sk_netmask_prefix(NULL), -1);
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_int_equal(sk_netmask_prefix(&un), -1);
}

static void flags_format(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(sk_iface_flags_format(IFF_UP | IFF_LOOPBACK | IFF_RUNNING, buf, sizeof(buf)),
                     (int)strlen("UP,LOOPBACK,RUNNING"));
    assert_string_equal(buf, "UP,LOOPBACK,RUNNING");
    assert_int_equal(sk_iface_flags_format(0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    char tiny[4];
    assert_int_equal(sk_iface_flags_format(IFF_UP | IFF_BROADCAST, tiny, sizeof(tiny)), -ENOSPC);
}

/* The listing has every interface if_nameindex() knows, with its index. */
static void ifaces_match_nameindex(void **state)
{
    (void)state;
    struct sk_iface *v;
    int n = sk_ifaces(&v);
    assert_true(n >= 1);
    struct if_nameindex *ni = if_nameindex();
    assert_non_null(ni);
    for (struct if_nameindex *p = ni; p->if_index; p++) {
        int found = 0;
        for (int i = 0; i < n; i++)
            if (strcmp(v[i].name, p->if_name) == 0) {
                assert_int_equal(v[i].index, p->if_index);
                found = 1;
            }
        if (!found)
            fail_msg("interface %s missing", p->if_name);
    }
    if_freenameindex(ni);
    for (int i = 1; i < n; i++)
        assert_true(v[i - 1].index <= v[i].index);
    for (int i = 0; i < n; i++)
        if (v[i].flags & IFF_LOOPBACK)
            for (size_t k = 0; k < v[i].naddr; k++)
                if (strcmp(v[i].addrs[k].addr, "127.0.0.1") == 0)
                    assert_int_equal(v[i].addrs[k].prefix, 8);
    sk_ifaces_free(v, n);
}

static void resolve_numeric_and_localhost(void **state)
{
    (void)state;
    struct sk_addr *a;
    char canon[256];
    char host[SK_ADDR_STRLEN];

    int n = sk_tool_resolve("127.0.0.1", AF_UNSPEC, &a, canon, sizeof(canon));
    assert_int_equal(n, 1); /* three socktypes, one distinct address */
    sk_addr_format_host(&a[0], host, sizeof(host));
    assert_string_equal(host, "127.0.0.1");
    free(a);

    n = sk_tool_resolve("::1", AF_UNSPEC, &a, canon, sizeof(canon));
    assert_int_equal(n, 1);
    sk_addr_format_host(&a[0], host, sizeof(host));
    assert_string_equal(host, "::1");
    free(a);

    /* localhost: the same distinct addresses as getaddrinfo() gives */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo("localhost", NULL, &hints, &res) == 0) {
        int want = 0;
        for (struct addrinfo *p = res; p; p = p->ai_next)
            want++;
        freeaddrinfo(res);
        n = sk_tool_resolve("localhost", AF_UNSPEC, &a, canon, sizeof(canon));
        assert_int_equal(n, want);
        free(a);
    }
    n = sk_tool_resolve("127.0.0.1", AF_INET6, &a, canon, sizeof(canon));
    assert_true(n < 0 && sk_is_gai_error(n));
}

static void resolve_failures(void **state)
{
    (void)state;
    struct sk_addr *a = NULL;
    char canon[64];
    int n = sk_tool_resolve("nope.invalid", AF_UNSPEC, &a, canon, sizeof(canon));
    assert_true(n < 0);
    assert_true(sk_is_gai_error(n));
    assert_non_null(sk_strerror(n));
    assert_null(a);
    n = sk_tool_resolve("", AF_UNSPEC, &a, canon, sizeof(canon));
    assert_true(n < 0);
}

static void addrinfo_rows(void **state)
{
    (void)state;
    struct sk_ai_row *r;
    int n = sk_tool_addrinfo("127.0.0.1", "80", AF_INET, SOCK_STREAM, &r);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].family, AF_INET);
    assert_int_equal(r[0].socktype, SOCK_STREAM);
    assert_int_equal(r[0].protocol, IPPROTO_TCP);
    assert_int_equal(sk_addr_port(&r[0].addr), 80);
    assert_string_equal(r[0].canon, "127.0.0.1");
    free(r);

    n = sk_tool_addrinfo("127.0.0.1", "http", AF_UNSPEC, 0, &r);
    assert_true(n >= 1);
    for (int i = 0; i < n; i++)
        assert_int_equal(sk_addr_port(&r[i].addr), 80);
    free(r);

    assert_true(sk_tool_addrinfo("nope.invalid", NULL, 0, 0, &r) < 0);
    assert_true(sk_tool_addrinfo("127.0.0.1", "no-such-service-x", 0, SOCK_STREAM, &r) < 0);
    assert_true(sk_tool_addrinfo("127.0.0.1", NULL, AF_INET6, 0, &r) < 0);
}

static void reverse_lookups(void **state)
{
    (void)state;
    char name[NI_MAXHOST], want[NI_MAXHOST];
    const char *why = NULL;
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};

    int g =
        getnameinfo((struct sockaddr *)&in, sizeof(in), want, sizeof(want), NULL, 0, NI_NAMEREQD);
    int r = sk_tool_reverse("127.0.0.1", name, sizeof(name), &why);
    if (g == 0) {
        assert_int_equal(r, 0);
        assert_string_equal(name, want);
    } else {
        assert_int_equal(r, sk_gai_error(g));
    }
    static const char *const bad[] = {"1.2.3", "256.0.0.1", "", "::g", "localhost", "1.2.3.4:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        assert_int_equal(sk_tool_reverse(bad[i], name, sizeof(name), &why), -EINVAL);
        assert_non_null(why);
    }
}

static void hostname_names(void **state)
{
    (void)state;
    char name[256], fqdn[256], want[256];
    int ferr = 1;
    assert_int_equal(sk_tool_hostname(name, sizeof(name), fqdn, sizeof(fqdn), &ferr), 0);
    assert_int_equal(gethostname(want, sizeof(want)), 0);
    assert_string_equal(name, want);
    if (ferr == 0)
        assert_true(fqdn[0] != '\0');
    else
        assert_true(sk_is_gai_error(ferr) || ferr < 0);
}

static void names_of_constants(void **state)
{
    (void)state;
    char buf[16];
    assert_string_equal(sk_family_name(AF_INET), "inet");
    assert_string_equal(sk_family_name(AF_INET6), "inet6");
    assert_string_equal(sk_socktype_name(SOCK_DGRAM), "dgram");
    assert_string_equal(sk_protocol_name(IPPROTO_TCP, buf, sizeof(buf)), "tcp");
    assert_string_equal(sk_protocol_name(253, buf, sizeof(buf)), "253");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prefix_table),           cmocka_unit_test(flags_format),
        cmocka_unit_test(ifaces_match_nameindex), cmocka_unit_test(resolve_numeric_and_localhost),
        cmocka_unit_test(resolve_failures),       cmocka_unit_test(addrinfo_rows),
        cmocka_unit_test(reverse_lookups),        cmocka_unit_test(hostname_names),
        cmocka_unit_test(names_of_constants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
