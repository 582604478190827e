/* test_http_path.c - request target to file path: decoding, normalising and
 * every way of trying to leave the root, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void path_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        unsigned flags;
        int want; /* 0: ok with out/dir; else the negative errno */
        const char *out;
        int dir;
    } t[] = {
        {"/", 0, 0, "", 1},
        {"/index.html", 0, 0, "index.html", 0},
        {"/a/b/c.txt", 0, 0, "a/b/c.txt", 0},
        {"/a/b/", 0, 0, "a/b", 1},
        {"//a///b", 0, 0, "a/b", 0},
        {"/a/./b", 0, 0, "a/b", 0},
        {"/a/b/..", 0, 0, "a", 1},
        {"/a/b/../c", 0, 0, "a/c", 0},
        {"/a/../../", 0, -EPERM, NULL, 0},
        {"/./", 0, 0, "", 1},
        {"/a/.", 0, 0, "a", 1},
        {"/file?x=1&y=/../..", 0, 0, "file", 0},
        {"/dir/?q", 0, 0, "dir", 1},
        {"/file#frag", 0, 0, "file", 0},
        {"/a%20b", 0, 0, "a b", 0},
        {"/%41%62%63", 0, 0, "Abc", 0},
        {"/caf%C3%A9", 0, 0, "caf\xc3\xa9", 0},
        {"/q%3Fmark", 0, 0, "q?mark", 0},
        {"/100%25", 0, 0, "100%", 0},
        {"http://host/a/b", 0, 0, "a/b", 0},
        {"HTTP://host:80/", 0, 0, "", 1},
        {"http://host", 0, 0, "", 1},
        {"https://host?x", 0, 0, "", 1},
        {"...", 0, -EINVAL, NULL, 0},
        /* escapes */
        {"/..", 0, -EPERM, NULL, 0},
        {"/../etc/passwd", 0, -EPERM, NULL, 0},
        {"/a/../../etc/passwd", 0, -EPERM, NULL, 0},
        {"/%2e%2e/etc/passwd", 0, -EPERM, NULL, 0},
        {"/%2E%2E/%2e%2e/etc/passwd", 0, -EPERM, NULL, 0},
        {"/.%2e/x", 0, -EPERM, NULL, 0},
        {"/a/..%2f..%2fetc/passwd", 0, -EINVAL, NULL, 0},
        {"/%2fetc/passwd", 0, -EINVAL, NULL, 0},
        {"/a%2Fb", 0, -EINVAL, NULL, 0},
        {"/a%00.html", 0, -EINVAL, NULL, 0},
        {"/a%0a", 0, -EINVAL, NULL, 0},
        {"/a%7f", 0, -EINVAL, NULL, 0},
        {"/a%", 0, -EINVAL, NULL, 0},
        {"/a%2", 0, -EINVAL, NULL, 0},
        {"/a%zz", 0, -EINVAL, NULL, 0},
        {"/a%2?x", 0, -EINVAL, NULL, 0},
        {"etc/passwd", 0, -EINVAL, NULL, 0},
        {"", 0, -EINVAL, NULL, 0},
        {"*", 0, -EINVAL, NULL, 0},
        {"ftp://host/a", 0, -EINVAL, NULL, 0},
        {"http:/a", 0, -EINVAL, NULL, 0},
        {"http://host/../x", 0, -EPERM, NULL, 0},
        /* dot-files */
        {"/.git/config", 0, -ENOENT, NULL, 0},
        {"/a/.env", 0, -ENOENT, NULL, 0},
        {"/%2egit/config", 0, -ENOENT, NULL, 0},
        {"/.git/config", SK_HTTP_PATH_DOTFILES, 0, ".git/config", 0},
        {"/a/...", SK_HTTP_PATH_DOTFILES, 0, "a/...", 0},
        {"/../x", SK_HTTP_PATH_DOTFILES, -EPERM, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char out[256];
        int dir = -1;
        int r = sk_http_path(t[i].in, strlen(t[i].in), t[i].flags, out, sizeof(out), &dir);
        if (t[i].want == 0) {
            if (r < 0)
                fail_msg("case %zu (%s): error %d", i, t[i].in, r);
            assert_int_equal(r, strlen(t[i].out));
            assert_string_equal(out, t[i].out);
            assert_int_equal(dir, t[i].dir);
        } else if (r != t[i].want) {
            fail_msg("case %zu (%s): got %d, want %d", i, t[i].in, r, t[i].want);
        }
    }
}

static void bounded_output(void **state)
{
    (void)state;
    char out[8];
    int dir;
    assert_int_equal(sk_http_path("/abcdefg", 8, 0, out, sizeof(out), &dir), 7);
    assert_int_equal(sk_http_path("/abcdefgh", 9, 0, out, sizeof(out), &dir), -ENAMETOOLONG);
    assert_int_equal(sk_http_path("/abc/defg", 9, 0, out, sizeof(out), &dir), -ENAMETOOLONG);
    assert_int_equal(sk_http_path("/", 1, 0, out, 0, &dir), -ENAMETOOLONG);
    /* The input is not NUL-terminated: only n bytes count. */
    assert_int_equal(sk_http_path("/ab/../../x", 3, 0, out, sizeof(out), &dir), 2);
    assert_string_equal(out, "ab");
}

/* Whatever goes in, what comes out never climbs: no ".." segment, no
 * leading '/', no NUL inside. */
static void never_escapes(void **state)
{
    (void)state;
    static const char *const parts[] = {"/",   "..", ".", "%2e", "%2E",  "%2f",  "a",
                                        "%00", "//", "%", "?",   ".%2e", "%252e"};
    size_t np = sizeof(parts) / sizeof(parts[0]);
    for (size_t a = 0; a < np; a++)
        for (size_t b = 0; b < np; b++)
            for (size_t c = 0; c < np; c++)
                for (size_t d = 0; d < np; d++) {
                    char in[64], out[64];
                    int dir;
                    snprintf(in, sizeof(in), "/%s%s%s%s", parts[a], parts[b], parts[c], parts[d]);
                    int r =
                        sk_http_path(in, strlen(in), SK_HTTP_PATH_DOTFILES, out, sizeof(out), &dir);
                    if (r < 0)
                        continue;
                    assert_int_equal(strlen(out), (size_t)r);
                    assert_true(out[0] != '/');
                    assert_false(strcmp(out, "..") == 0 || strncmp(out, "../", 3) == 0 ||
                                 strstr(out, "/../") != NULL ||
                                 (r >= 3 && strcmp(out + r - 3, "/..") == 0));
                }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(path_table),
        cmocka_unit_test(bounded_output),
        cmocka_unit_test(never_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
