/* test_hexdump.c - the hex dump of --hex: the pure line formatter (table)
 * and the writer's per-direction offsets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/client.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hex_line_table(void **state)
{
    (void)state;
    static const struct {
        int dir;
        uint64_t off;
        const char *in;
        size_t n;
        const char *want;
    } cases[] = {
        {SK_HEX_SENT, 0, "hello\n", 6,
         "> 00000000  68 65 6c 6c 6f 0a                                 |hello.|\n"},
        {SK_HEX_RECEIVED, 16, "0123456789abcdef", 16,
         "< 00000010  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n"},
        {SK_HEX_SENT, 0, "", 0,
         "> 00000000                                                    ||\n"},
        {SK_HEX_RECEIVED, 0xfffffffffULL, "\x00\x7f\x80\xff\x1f ~", 7,
         "< fffffffff  00 7f 80 ff 1f 20 7e                              |..... ~|\n"},
        {SK_HEX_SENT, 0, "0123456789abcdefXYZ", 19, /* cut to 16 */
         "> 00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n"},
        {SK_HEX_SENT, 8, "abcdefghi", 9,
         "> 00000008  61 62 63 64 65 66 67 68  69                       |abcdefghi|\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[SK_HEX_LINE_MAX];
        size_t k =
            sk_hex_line(out, sizeof(out), cases[i].dir, cases[i].off, cases[i].in, cases[i].n);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(k, strlen(cases[i].want));
        assert_true(k < SK_HEX_LINE_MAX);
    }
}

/* A short output buffer is cut, NUL-terminated, and the length still told. */
static void hex_line_truncates(void **state)
{
    (void)state;
    char out[10];
    size_t k = sk_hex_line(out, sizeof(out), SK_HEX_SENT, 0, "abc", 3);
    assert_string_equal(out, "> 0000000");
    assert_true(k > sizeof(out));
    assert_int_equal(sk_hex_line(NULL, 0, SK_HEX_SENT, 0, "abc", 3), k);
}

/* Offsets run per direction; each call starts a new line. */
static void hexdump_offsets_per_direction(void **state)
{
    (void)state;
    int pp[2];
    assert_int_equal(pipe(pp), 0);
    struct sk_hexdump h = {.fd = pp[1]};
    char big[40];
    memset(big, 'x', sizeof(big));
    assert_int_equal(sk_hexdump(&h, SK_HEX_SENT, "ab", 2), 0);
    assert_int_equal(sk_hexdump(&h, SK_HEX_RECEIVED, big, sizeof(big)), 0);
    assert_int_equal(sk_hexdump(&h, SK_HEX_SENT, "c", 1), 0);
    close(pp[1]);
    char got[4096];
    ssize_t n = read(pp[0], got, sizeof(got) - 1);
    close(pp[0]);
    assert_true(n > 0);
    got[n] = '\0';
    const char *want_starts[] = {"> 00000000  61 62", "< 00000000  78", "< 00000010  78",
                                 "< 00000020  78 78 78 78 78 78 78 78  ", "> 00000002  63 "};
    char *line = got;
    for (size_t i = 0; i < 5; i++) {
        assert_non_null(line);
        assert_memory_equal(line, want_starts[i], strlen(want_starts[i]));
        line = strchr(line, '\n');
        assert_non_null(line);
        line++;
    }
    assert_string_equal(line, "");
    assert_int_equal(h.off[SK_HEX_SENT], 3);
    assert_int_equal(h.off[SK_HEX_RECEIVED], 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hex_line_table),
        cmocka_unit_test(hex_line_truncates),
        cmocka_unit_test(hexdump_offsets_per_direction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
