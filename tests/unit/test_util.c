/* test_util.c - the small shared helpers of util.h: sk_str_set, JSON escaping,
 * the shape of log lines (plain, timed, JSON), and the size and duration
 * parsers, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/util.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Each row replaces the string left by the previous one. */
static void test_str_set(void **unused)
{
    (void)unused;
    static const char *const rows[] = {"first", "", "a longer replacement value", "x"};
    char *s = NULL;
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        assert_int_equal(sk_str_set(&s, rows[i]), 0);
        assert_non_null(s);
        assert_ptr_not_equal(s, rows[i]);
        assert_string_equal(s, rows[i]);
    }
    /* Setting a string to itself keeps it valid (copy before free). */
    assert_int_equal(sk_str_set(&s, s), 0);
    assert_string_equal(s, "x");
    free(s);
}

static void test_parse_size(void **unused)
{
    (void)unused;
    static const struct {
        const char *in;
        uint64_t max;
        int rc;
        uint64_t want;
    } rows[] = {
        {"4096", 1u << 20, 0, 4096},
        {"64k", 1u << 20, 0, 65536},
        {"16KiB", 1u << 20, 0, 16384},
        {"1M", 1u << 20, 0, 1u << 20},
        {"1.5k", 1u << 20, 0, 1536},
        {"1G", UINT64_MAX, 0, 1u << 30},
        {"2M", 1u << 20, -ERANGE, 0},
        {"1.5", 100, -EINVAL, 0},
        {"", 100, -EINVAL, 0},
        {"-1", 100, -EINVAL, 0},
        {"12q", 100, -EINVAL, 0},
        {"nan", 100, -EINVAL, 0},
        /* Out of uint64_t's range: found by fuzz_ip (fuzz/corpus/ip/sockopt_size_1e135),
         * a double converted before its range was checked. */
        {"1e100", UINT64_MAX, -ERANGE, 0},
        {"1e100k", UINT64_MAX, -ERANGE, 0},
        {"6.6e135k", 2147483647, -ERANGE, 0},
        {"18446744073709551616", UINT64_MAX, -ERANGE, 0},
        {"17179869184G", UINT64_MAX, -ERANGE, 0},
        {"17179869183G", UINT64_MAX, 0, 17179869183ULL << 30},
        {"inf", UINT64_MAX, -ERANGE, 0},
        {"1e19", 1000, -ERANGE, 0},
        {"1e18", UINT64_MAX, 0, 1000000000000000000ULL},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        uint64_t v = 7;
        int rc = sk_parse_size(rows[i].in, rows[i].max, &v);
        if (rc != rows[i].rc)
            fail_msg("row %zu (%s): rc %d, want %d", i, rows[i].in, rc, rows[i].rc);
        if (rc == 0)
            assert_int_equal(v, rows[i].want);
    }
}

static void test_parse_duration(void **unused)
{
    (void)unused;
    static const struct {
        const char *in;
        int rc;
        int64_t want;
    } rows[] = {
        {"1.5", 0, 1500},    {"250ms", 0, 250},     {"2s", 0, 2000},     {"1m", 0, 60000},
        {"1h", 0, 3600000},  {"1500us", 0, 2},      {"0", 0, 0},         {"x", -EINVAL, 0},
        {"-1s", -EINVAL, 0}, {"1e100", -ERANGE, 0}, {"inf", -ERANGE, 0}, {"1e13", -ERANGE, 0},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        int64_t v = 7;
        int rc = sk_parse_duration_ms(rows[i].in, &v);
        if (rc != rows[i].rc)
            fail_msg("row %zu (%s): rc %d, want %d", i, rows[i].in, rc, rows[i].rc);
        if (rc == 0)
            assert_int_equal(v, rows[i].want);
    }
}

static void test_json_escape(void **unused)
{
    (void)unused;
    static const struct {
        const char *in, *out;
        size_t size;
    } rows[] = {
        {"plain", "plain", 64},
        {"a \"quote\" and \\", "a \\\"quote\\\" and \\\\", 64},
        {"tab\tnl\n\x01", "tab\\u0009nl\\u000a\\u0001", 64},
        {"[::1]:80", "[::1]:80", 64},
        {"cut here", "cut h", 12}, /* room is kept for an escape and the NUL */
        {"ab\"cd", "ab\\\"", 10},  /* an escape is written whole or not at all */
        {"", "", 1},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        char buf[64];
        assert_string_equal(sk_json_escape(rows[i].in, buf, rows[i].size), rows[i].out);
    }
}

/* What sk_log() and sk_log_event() write to stderr with each flag set. */
static void test_log_line_shapes(void **unused)
{
    (void)unused;
    static const struct {
        unsigned flags;
        int event; /* sk_log_event() rather than sk_log() */
        const char *re;
    } rows[] = {
        {0, 0, "^sockit: hello \"you\" 42\n$"},
        {SK_LOGF_TIME, 0,
         "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[+-][0-9]{2}:[0-9]{2} "
         "sockit: hello \"you\" 42\n$"},
        {SK_LOGF_JSON, 0,
         "^\\{\"time\": \"[0-9]{4}-[^\"]+\", \"event\": \"info\", "
         "\"message\": \"hello \\\\\"you\\\\\" 42\"\\}\n$"},
        {SK_LOGF_JSON, 1, "^\\{\"time\": \"[^\"]+\", \"event\": \"open\", \"id\": 42\\}\n$"},
        {0, 1, "^$"}, /* events are JSON only */
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        int p[2], saved = dup(STDERR_FILENO);
        assert_int_equal(pipe(p), 0);
        dup2(p[1], STDERR_FILENO);
        sk_log_flags = rows[i].flags;
        if (rows[i].event)
            sk_log_event(SK_LOG_INFO, "open", ", \"id\": %d", 42);
        else
            sk_log(SK_LOG_INFO, "hello \"%s\" %d", "you", 42);
        sk_log_flags = 0;
        dup2(saved, STDERR_FILENO);
        close(saved);
        close(p[1]);
        char out[512] = "";
        ssize_t n = read(p[0], out, sizeof(out) - 1);
        close(p[0]);
        out[n > 0 ? n : 0] = '\0';
        regex_t re;
        assert_int_equal(regcomp(&re, rows[i].re, REG_EXTENDED | REG_NOSUB), 0);
        if (regexec(&re, out, 0, NULL, 0) != 0)
            fail_msg("row %zu: '%s' does not match %s", i, out, rows[i].re);
        regfree(&re);
    }
}

/* JSON string literals, as every --json output writes them (the same
 * escaping as sk_json_escape(), with quotes and never cut). */
static void test_json_str(void **unused)
{
    (void)unused;
    static const struct {
        const char *in, *out;
    } rows[] = {
        {"", "\"\""},
        {"plain", "\"plain\""},
        {"a\"b\\c", "\"a\\\"b\\\\c\""},               /* quote and backslash escaped */
        {"tab\there\n", "\"tab\\u0009here\\u000a\""}, /* control bytes as \\u */
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},           /* UTF-8 passes through */
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(rows); i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        sk_json_str(f, rows[i].in);
        fclose(f);
        assert_string_equal(buf, rows[i].out);
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_set),    cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_json_str),   cmocka_unit_test(test_log_line_shapes),
        cmocka_unit_test(test_parse_size), cmocka_unit_test(test_parse_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
