/* test_http_log.c - the access log's buffering: no write per line, whole
 * lines in writes of at most PIPE_BUF bytes, a write once the oldest line is
 * a second old, and on flush. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "service/http_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Everything waiting, read in the chunks write() produced (a SOCK_SEQPACKET
 * pair keeps each write one message). */
static size_t drain(int fd, char *buf, size_t cap, size_t *chunks)
{
    size_t got = 0;
    *chunks = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EAGAIN)
            return got;
        assert_true(n > 0);
        assert_true((size_t)n <= PIPE_BUF);
        assert_int_equal(buf[got + (size_t)n - 1], '\n'); /* whole lines only */
        got += (size_t)n;
        (*chunks)++;
    }
}

static void buffered_by_size_and_age(void **state)
{
    (void)state;
    int p[2];
    static char buf[1 << 16];
    size_t chunks;
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, p), 0);
    struct sk__http_log l = {.fd = p[1], .owned = 0};

    sk__http_log_line(&l, "first", 5, 100);
    assert_int_equal(drain(p[0], buf, sizeof(buf), &chunks), 0); /* buffered */

    char line[100];
    memset(line, 'x', sizeof(line));
    for (int i = 0; i < 200; i++)
        sk__http_log_line(&l, line, sizeof(line), 100);
    size_t got = drain(p[0], buf, sizeof(buf), &chunks);
    /* A write each time the next line would not fit in PIPE_BUF; the rest
     * waits. */
    size_t len = 6, sent = 0, writes = 0;
    for (int i = 0; i < 200; i++) {
        if (len + 101 > PIPE_BUF) {
            sent += len;
            writes++;
            len = 0;
        }
        len += 101;
    }
    assert_int_equal(got, sent);
    assert_int_equal(chunks, writes);
    assert_true(writes >= 4 && writes < 10); /* 201 lines, a handful of writes */
    assert_memory_equal(buf, "first\n", 6);

    /* A line a second later sends everything. */
    sk__http_log_line(&l, "late", 4, 101);
    size_t rest = drain(p[0], buf, sizeof(buf), &chunks);
    assert_int_equal(got + rest, 6 + 200 * 101 + 5);
    assert_int_equal(chunks, 1);
    assert_memory_equal(buf + rest - 5, "late\n", 5);

    /* Flush writes what is buffered, and nothing when empty. */
    sk__http_log_line(&l, "x", 1, 200);
    sk__http_log_flush(&l);
    assert_int_equal(drain(p[0], buf, sizeof(buf), &chunks), 2);
    sk__http_log_flush(&l);
    assert_int_equal(drain(p[0], buf, sizeof(buf), &chunks), 0);

    /* An overlong line is cut to fit one write. */
    static char huge[PIPE_BUF * 2];
    memset(huge, 'y', sizeof(huge));
    sk__http_log_line(&l, huge, sizeof(huge), 300);
    sk__http_log_flush(&l);
    assert_int_equal(drain(p[0], buf, sizeof(buf), &chunks), PIPE_BUF);

    sk__http_log_close(&l);
    close(p[0]);
    close(p[1]);
}

static void off_writes_nothing(void **state)
{
    (void)state;
    struct sk__http_log l = {.fd = -1};
    sk__http_log_line(&l, "x", 1, 1);
    sk__http_log_flush(&l);
    sk__http_log_close(&l);
    assert_int_equal(l.fd, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buffered_by_size_and_age),
        cmocka_unit_test(off_writes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
