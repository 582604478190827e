/*
 * test_options.c - options as data (src/service/options.c) and the server's
 * policy kept in the library (src/model/config.c): every value type, its
 * bounds and its message; the limits settled in any option order; the idle
 * timeout a service asks for; the model choice and its refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/model.h"
#include "sockit/server.h"
#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct toy {
    int flag, other;
    char *text;
    size_t size;
    int ms;
    unsigned n;
    int posts;
};

static int no_x(const char *value, char *why, size_t len)
{
    if (strchr(value, 'x')) {
        snprintf(why, len, "'%s' has an x", value);
        return -1;
    }
    return 0;
}

static void count_post(void *state)
{
    ((struct toy *)state)->posts++;
}

static const struct sk_service_opt toy_opts[] = {
    {.name = "on", .type = SK_OPT_FLAG, .offset = offsetof(struct toy, flag), .min = 1},
    {.name = "off", .type = SK_OPT_FLAG, .offset = offsetof(struct toy, flag), .min = 0},
    {.name = "text",
     .type = SK_OPT_STRING,
     .offset = offsetof(struct toy, text),
     .arg = "TEXT",
     .check = no_x,
     .post = count_post},
    {.name = "size",
     .type = SK_OPT_SIZE,
     .offset = offsetof(struct toy, size),
     .min = 16,
     .max = 1 << 20,
     .arg = "SIZE"},
    {.name = "big",
     .type = SK_OPT_SIZE,
     .offset = offsetof(struct toy, size),
     .min = 1024,
     .max = 1LL << 32,
     .arg = "SIZE"},
    {.name = "wait",
     .type = SK_OPT_DURATION,
     .offset = offsetof(struct toy, ms),
     .max = 3600 * 1000,
     .arg = "SECS"},
    {.name = "soon",
     .type = SK_OPT_DURATION,
     .offset = offsetof(struct toy, ms),
     .min = 1,
     .max = 90 * 1000,
     .arg = "SECS"},
    {.name = "count",
     .type = SK_OPT_UINT,
     .offset = offsetof(struct toy, n),
     .min = 1,
     .max = 1000000,
     .arg = "N"},
    {0},
};

static void option_table(void **state)
{
    (void)state;
    static const struct {
        const char *name, *value;
        int rc;
        const char *err; /* the whole message when rc < 0 */
    } t[] = {
        {"on", NULL, 0, NULL},
        {"off", NULL, 0, NULL},
        {"text", "hello", 0, NULL},
        {"text", "", 0, NULL},
        {"text", "xyz", -EINVAL, "--text: 'xyz' has an x"},
        {"text", NULL, -EINVAL, "--text needs a value"},
        {"size", "16", 0, NULL},
        {"size", "1M", 0, NULL},
        {"size", "64k", 0, NULL},
        {"size", "15", -EINVAL, "--size: '15' is not a size from 16 bytes to 1M"},
        {"size", "2M", -EINVAL, "--size: '2M' is not a size from 16 bytes to 1M"},
        {"size", "lots", -EINVAL, "--size: 'lots' is not a size from 16 bytes to 1M"},
        {"big", "1", -EINVAL, "--big: '1' is not a size from 1k to 4G"},
        {"wait", "0", 0, NULL},
        {"wait", "1h", 0, NULL},
        {"wait", "250ms", 0, NULL},
        {"wait", "61m", -EINVAL, "--wait: '61m' is not a duration up to an hour (e.g. 1, 250ms)"},
        {"wait", "soon", -EINVAL, "--wait: 'soon' is not a duration up to an hour (e.g. 1, 250ms)"},
        {"soon", "0", -EINVAL, "--soon: '0' is not a duration from 1ms up to 90s (e.g. 1, 250ms)"},
        {"count", "1", 0, NULL},
        {"count", "1000000", 0, NULL},
        {"count", "0", -EINVAL, "--count: '0' is not a number in 1..1000000"},
        {"count", "1e3", -EINVAL, "--count: '1e3' is not a number in 1..1000000"},
        {"nosuch", "1", -ENOENT, "unknown option --nosuch"},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) {
        struct toy toy = {.flag = 7};
        char err[256] = "";
        int rc = sk_opt_apply(toy_opts, &toy, t[i].name, t[i].value, err, sizeof(err));
        if (rc != t[i].rc || (t[i].err && strcmp(err, t[i].err) != 0))
            fail_msg("row %zu (--%s %s): rc %d, err \"%s\"", i, t[i].name,
                     t[i].value ? t[i].value : "", rc, err);
        free(toy.text);
    }
}

static void option_values_and_hooks(void **state)
{
    (void)state;
    struct toy toy = {0};
    char err[256];

    assert_int_equal(sk_opt_apply(toy_opts, &toy, "on", NULL, err, sizeof(err)), 0);
    assert_int_equal(toy.flag, 1);
    assert_int_equal(sk_opt_apply(toy_opts, &toy, "off", NULL, err, sizeof(err)), 0);
    assert_int_equal(toy.flag, 0);
    assert_int_equal(sk_opt_apply(toy_opts, &toy, "size", "64k", err, sizeof(err)), 0);
    assert_int_equal(toy.size, 64 * 1024);
    assert_int_equal(sk_opt_apply(toy_opts, &toy, "wait", "1.5", err, sizeof(err)), 0);
    assert_int_equal(toy.ms, 1500);
    assert_int_equal(sk_opt_apply(toy_opts, &toy, "count", "42", err, sizeof(err)), 0);
    assert_int_equal(toy.n, 42);
    /* a refused value leaves the field as it was */
    assert_int_equal(sk_opt_apply(toy_opts, &toy, "count", "0", err, sizeof(err)), -EINVAL);
    assert_int_equal(toy.n, 42);
    /* strings are copies; a later value replaces the earlier; post runs after each */
    char buf[] = "one";
    assert_int_equal(sk_opt_apply(toy_opts, &toy, "text", buf, err, sizeof(err)), 0);
    buf[0] = 'X';
    assert_string_equal(toy.text, "one");
    assert_int_equal(sk_opt_apply(toy_opts, &toy, "text", "two", err, sizeof(err)), 0);
    assert_string_equal(toy.text, "two");
    assert_int_equal(toy.posts, 2);
    /* a refused string runs no post and keeps the old one */
    assert_int_equal(sk_opt_apply(toy_opts, &toy, "text", "x", err, sizeof(err)), -EINVAL);
    assert_string_equal(toy.text, "two");
    assert_int_equal(toy.posts, 2);
    free(toy.text);
    assert_ptr_equal(sk_opt_find(toy_opts, "count"), &toy_opts[7]);
    assert_null(sk_opt_find(toy_opts, "coun"));
    assert_null(sk_opt_find(NULL, "count"));
}

/* Every service's and the server's table is well formed: names unique
 * within it, flags without an argument name, values with one, bounds in
 * order, every entry with its help. */
static void every_table_is_well_formed(void **state)
{
    (void)state;
    const struct sk_service_opt *tables[16];
    size_t nt = 0;
    tables[nt++] = sk_server_opts;
    for (const struct sk_service *const *s = sk_services; *s; s++)
        tables[nt++] = (*s)->opts;
    for (size_t i = 0; i < nt; i++) {
        for (const struct sk_service_opt *o = tables[i]; o && o->name; o++) {
            assert_non_null(o->help);
            if (o->type == SK_OPT_FLAG)
                assert_null(o->arg);
            else
                assert_non_null(o->arg);
            if (o->type == SK_OPT_SIZE || o->type == SK_OPT_DURATION || o->type == SK_OPT_UINT)
                assert_true(o->min <= o->max);
            if (o->type == SK_OPT_DURATION)
                assert_true(o->max <= INT32_MAX); /* an int of milliseconds */
            assert_ptr_equal(sk_opt_find(tables[i], o->name), o);
        }
    }
}

/* ---- the server's policy ---- */

static void server_for(struct sk_server *srv, const char *svc, int socktype)
{
    sk_server_init(srv);
    srv->svc = sk_service_find(svc);
    assert_non_null(srv->svc);
    srv->socktype = socktype;
}

static void limits_settle_in_any_order(void **state)
{
    (void)state;
    static const struct {
        const char *opts[6];
        size_t out_max, out_high;
    } t[] = {
        {{NULL}, 1 << 20, 256 << 10},
        /* the regression: 16k first used to leave the mark at 4k for good */
        {{"max-output", "16k", "max-output", "4M", NULL}, 4 << 20, 256 << 10},
        {{"max-output", "4M", "max-output", "16k", NULL}, 16 << 10, 4 << 10},
        {{"max-output", "64", NULL}, 64, 16},
        {{"max-output", "512k", NULL}, 512 << 10, 128 << 10},
        {{"max-output", "64", "max-input", "1k", "max-output", "1M"}, 1 << 20, 256 << 10},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) {
        struct sk_server srv;
        char err[256];
        server_for(&srv, "echo", SOCK_STREAM);
        for (const char *const *o = t[i].opts; o[0] && o - t[i].opts < 6; o += 2)
            assert_int_equal(sk_server_option(&srv, o[0], o[1], err, sizeof(err)), 0);
        assert_int_equal(sk_server_configure(&srv, "epoll", err, sizeof(err)), 0);
        if (srv.lim.out_max != t[i].out_max || srv.lim.out_high != t[i].out_high)
            fail_msg("row %zu: out_max %zu out_high %zu", i, srv.lim.out_max, srv.lim.out_high);
        /* settling again changes nothing */
        sk_limits_settle(&srv.lim);
        assert_int_equal(srv.lim.out_high, t[i].out_high);
        sk_server_close(&srv);
    }
}

static void server_option_messages(void **state)
{
    (void)state;
    static const struct {
        const char *name, *value, *err;
    } t[] = {
        {"workers", "x", "--workers: 'x' is not a number in 0..1024"},
        {"max-conns", "-1", "--max-conns: '-1' is not a number in 0..10000000"},
        {"max-input", "1", "--max-input: '1' is not a size from 64 bytes to 4G"},
        {"max-output", "5G", "--max-output: '5G' is not a size from 64 bytes to 4G"},
        {"idle-timeout", "720h",
         "--idle-timeout: '720h' is not a duration up to 24 days (e.g. 1, 250ms)"},
        {"drain", "x", "--drain: 'x' is not a duration up to 24 days (e.g. 1, 250ms)"},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) {
        struct sk_server srv;
        char err[256] = "";
        sk_server_init(&srv);
        assert_int_equal(sk_server_option(&srv, t[i].name, t[i].value, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, t[i].err);
        sk_server_close(&srv);
    }
}

static void idle_timeout_the_service_asks_for(void **state)
{
    (void)state;
    static const struct {
        const char *svc, *idle; /* idle NULL: not given */
        int ms;
    } t[] = {
        {"echo", NULL, 300000}, {"chat", NULL, 0}, /* people may stay silent in a room */
        {"chat", "5", 5000},    {"echo", "0", 0},  {"http", "1.5", 1500},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) {
        struct sk_server srv;
        char err[256];
        server_for(&srv, t[i].svc, SOCK_STREAM);
        if (t[i].idle)
            assert_int_equal(sk_server_option(&srv, "idle-timeout", t[i].idle, err, sizeof(err)),
                             0);
        assert_int_equal(sk_server_configure(&srv, "poll", err, sizeof(err)), 0);
        if (srv.lim.idle_timeout_ms != t[i].ms)
            fail_msg("row %zu: idle %d", i, srv.lim.idle_timeout_ms);
        sk_server_close(&srv);
    }
}

static void model_choice(void **state)
{
    (void)state;
    static const struct {
        const char *svc;
        int socktype;
        const char *model;
        int rc;
        const char *err; /* a part of the sentence */
        const char *chosen;
    } t[] = {
        {"echo", SOCK_STREAM, "thread", 0, NULL, "thread"},
        {"echo", SOCK_DGRAM, "plain", 0, NULL, "plain"},
        {"echo", SOCK_STREAM, "nosuch", -EINVAL, "unknown TCP model 'nosuch'", NULL},
        {"echo", SOCK_DGRAM, "epoll", -EINVAL, "unknown UDP model 'epoll'", NULL},
        {"greet", SOCK_DGRAM, NULL, -EINVAL, "service greet does not speak UDP", NULL},
        {"chat", SOCK_STREAM, "fork", -EPROTONOSUPPORT, "fork: refusing chat", NULL},
        {"chat", SOCK_STREAM, "prefork", -EPROTONOSUPPORT, "shares state", NULL},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) {
        struct sk_server srv;
        char err[256] = "";
        server_for(&srv, t[i].svc, t[i].socktype);
        int rc = sk_server_configure(&srv, t[i].model, err, sizeof(err));
        if (rc != t[i].rc || (t[i].err && !strstr(err, t[i].err)))
            fail_msg("row %zu: rc %d, err \"%s\"", i, rc, err);
        if (t[i].chosen)
            assert_string_equal(srv.model->name, t[i].chosen);
        sk_server_close(&srv);
    }
    /* no name: the registry's default for the service and kind */
    struct sk_server srv;
    char err[256];
    server_for(&srv, "chat", SOCK_STREAM);
    assert_int_equal(sk_server_configure(&srv, NULL, err, sizeof(err)), 0);
    assert_ptr_equal(srv.model, sk_model_default(SK_SVC_STREAM | SK_SVC_HUB, SOCK_STREAM));
    sk_server_close(&srv);
}

static void model_names_from_the_registry(void **state)
{
    (void)state;
    char buf[256], small[12];
    sk_model_names(SOCK_STREAM, buf, sizeof(buf));
    assert_string_equal(buf, "iterative fork prefork thread pool select poll epoll uring");
    sk_model_names(SOCK_DGRAM, buf, sizeof(buf));
    assert_string_equal(buf, "plain batch uring");
    /* cut short, still terminated; the return says how long it would be */
    assert_int_equal(sk_model_names(SOCK_DGRAM, small, sizeof(small)), 17);
    assert_string_equal(small, "plain batch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(option_table),
        cmocka_unit_test(option_values_and_hooks),
        cmocka_unit_test(every_table_is_well_formed),
        cmocka_unit_test(limits_settle_in_any_order),
        cmocka_unit_test(server_option_messages),
        cmocka_unit_test(idle_timeout_the_service_asks_for),
        cmocka_unit_test(model_choice),
        cmocka_unit_test(model_names_from_the_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
