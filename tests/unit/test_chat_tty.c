/* test_chat_tty.c - the prompt line's editor (src/client/tty_line.c) on a
 * pseudo-terminal: keys written to the master side must produce the right
 * lines, and printed text must leave the prompt and the partial input
 * drawn after it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/tty_line.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pty {
    int master, slave;
    struct sk_tty_line t;
    char got[8][256]; /* lines delivered */
    int n;
};

static struct pty *pty_open(void)
{
    struct pty *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(p->master >= 0);
    assert_int_equal(grantpt(p->master), 0);
    assert_int_equal(unlockpt(p->master), 0);
    p->slave = open(ptsname(p->master), O_RDWR | O_NOCTTY);
    assert_true(p->slave >= 0);
    fcntl(p->master, F_SETFL, O_NONBLOCK);
    assert_int_equal(sk_tty_line_open(&p->t, p->slave, p->slave, "> "), 0);
    assert_true(p->t.tty);
    return p;
}

static void pty_close(struct pty *p)
{
    sk_tty_line_close(&p->t);
    close(p->slave);
    close(p->master);
    free(p);
}

static void on_line(void *arg, const char *line, size_t n)
{
    struct pty *p = arg;
    assert_true(p->n < 8 && n < 256);
    memcpy(p->got[p->n], line, n);
    p->got[p->n][n] = '\0';
    p->n++;
}

/* What the terminal shows (drawn since the last call), read off the master. */
static size_t screen(struct pty *p, char *buf, size_t cap)
{
    size_t used = 0;
    ssize_t r;
    while (used + 1 < cap && (r = read(p->master, buf + used, cap - 1 - used)) > 0)
        used += (size_t)r;
    buf[used] = '\0';
    return used;
}

/* Type keys; returns what sk_tty_line_read() returned last. */
static int type(struct pty *p, const char *keys)
{
    char junk[8192];
    assert_int_equal(write(p->master, keys, strlen(keys)), (ssize_t)strlen(keys));
    int r = 0;
    struct pollfd pf = {.fd = p->slave, .events = POLLIN};
    while (poll(&pf, 1, 100) > 0 && (r = sk_tty_line_read(&p->t, on_line, p)) == 0)
        screen(p, junk, sizeof(junk));
    screen(p, junk, sizeof(junk));
    return r;
}

static void editing_table(void **state)
{
    (void)state;
    static const struct {
        const char *keys;
        const char *line;
    } t[] = {
        {"hello\r", "hello"},
        {"helo\x1b[Dl\r", "hello"},         /* Left, insert */
        {"abc\x01X\x05Y\r", "XabcY"},       /* Ctrl-A, Ctrl-E */
        {"abcdef\x02\x02\x0b\r", "abcd"},   /* Ctrl-B twice, Ctrl-K */
        {"abcdef\x1b[D\x1b[D\x15\r", "ef"}, /* Ctrl-U erases to the start */
        {"one two\x17\r", "one "},          /* Ctrl-W */
        {"ab\x7f\x7f\x7f"
         "c\r",
         "c"},                        /* Backspace past the start */
        {"abc\x1b[H\x1b[3~\r", "bc"}, /* Home, Delete */
        {"abc\x1b[1~\x04\r", "bc"},   /* Home (1~), Ctrl-D deletes */
        {"x\x1bOHy\x1bOF\r", "yx"},   /* SS3 Home/End */
        {"caf\xc3\xa9\x7f\r", "caf"}, /* Backspace removes a whole character */
        {"\xe6\x97\xa5\xe6\x9c\xac\x1b[D!\r", "\xe6\x97\xa5!\xe6\x9c\xac"},
        {"a\tb\x07\r", "a b"},       /* TAB is a space; other controls do nothing */
        {"\x1b[15~ok\x1bx\r", "ok"}, /* F5 and Alt-x are ignored */
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct pty *p = pty_open();
        assert_int_equal(type(p, t[i].keys), 0);
        if (p->n != 1 || strcmp(p->got[0], t[i].line) != 0)
            fail_msg("case %zu: %d lines, '%s'", i, p->n, p->n ? p->got[0] : "");
        pty_close(p);
    }
}

static void history_and_eof(void **state)
{
    (void)state;
    struct pty *p = pty_open();
    type(p, "first\r");
    type(p, "second\r");
    type(p, "draft\x1b[A\x1b[A\r");  /* Up twice: first */
    type(p, "\x1b[A\x1b[A\x1b[B\r"); /* Up, Up, Down: the newest again */
    type(p, "wip\x1b[A\x1b[B\r");    /* Down back to the draft */
    assert_int_equal(p->n, 5);
    assert_string_equal(p->got[2], "first");
    assert_string_equal(p->got[3], "first");
    assert_string_equal(p->got[4], "wip");
    assert_int_equal(type(p, "x\x7f\x04"), 1); /* Ctrl-D on an empty line: the end */
    pty_close(p);
}

static void print_keeps_the_prompt(void **state)
{
    (void)state;
    struct pty *p = pty_open();
    char buf[8192];
    type(p, "half typed");
    sk_tty_line_print(&p->t, "<bob> hi", 8);
    screen(p, buf, sizeof(buf));
    /* erase the line, the message, a new line, then the prompt and input */
    char *msg = strstr(buf, "\r\x1b[K<bob> hi\r");
    assert_non_null(msg);
    assert_non_null(strstr(msg, "\n\r\x1b[K> half typed"));
    assert_int_equal(type(p, "\r"), 0);
    assert_string_equal(p->got[0], "half typed");
    pty_close(p);
}

/* A completer: after "/join ", a prefix of "#dev" becomes "#dev". */
static int complete_dev(void *arg, const char *line, size_t pos, size_t *from, char *repl,
                        size_t replmax)
{
    (void)arg;
    if (pos < 6 || memcmp(line, "/join ", 6) != 0 || pos - 6 > 4 ||
        memcmp(line + 6, "#dev", pos - 6) != 0)
        return -1;
    assert_true(replmax >= 4);
    *from = 6;
    memcpy(repl, "#dev", 4);
    return 4;
}

static void tab_completion_table(void **state)
{
    (void)state;
    static const struct {
        const char *keys;
        const char *line;
    } t[] = {
        {"/join #d\t\r", "/join #dev"},
        {"/join \t\r", "/join #dev"},
        {"/join #dx\x1b[D\t\r", "/join #devx"}, /* at the cursor, the rest kept */
        {"/join #x\t\r", "/join #x "},          /* the client completes nothing: a space */
        {"a\tb\r", "a b"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct pty *p = pty_open();
        p->t.complete = complete_dev;
        assert_int_equal(type(p, t[i].keys), 0);
        if (p->n != 1 || strcmp(p->got[0], t[i].line) != 0)
            fail_msg("case %zu: %d lines, '%s'", i, p->n, p->n ? p->got[0] : "");
        pty_close(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(editing_table),
        cmocka_unit_test(history_and_eof),
        cmocka_unit_test(print_keeps_the_prompt),
        cmocka_unit_test(tab_completion_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
