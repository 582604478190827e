/* test_client.c - the relay behind `sockit connect` and the echo client,
 * over socketpairs and pipes with peer threads (no network). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/tty_escape.h"
#include "sockit/client.h"
#include "sockit/sock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void fill(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)((i * 2654435761u + seed) >> 7);
}

struct feeder { /* writes data to fd, then closes it */
    int fd;
    const char *data;
    size_t n;
};

static void *feed(void *arg)
{
    struct feeder *f = arg;
    sk_write_all(f->fd, f->data, f->n);
    close(f->fd);
    return NULL;
}

struct collector { /* reads fd to EOF */
    int fd;
    char *data;
    size_t n, cap;
};

static void *collect(void *arg)
{
    struct collector *c = arg;
    for (;;) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 4096;
            c->data = realloc(c->data, c->cap);
        }
        ssize_t r = sk_read(c->fd, c->data + c->n, c->cap - c->n);
        if (r <= 0)
            break;
        c->n += (size_t)r;
    }
    return NULL;
}

/* The stream peer: reads everything until our half-close, then answers
 * with its own bytes on the still-open direction and closes. */
struct peer {
    int fd;
    struct collector got;
    const char *reply;
    size_t reply_n;
};

static void *stream_peer(void *arg)
{
    struct peer *p = arg;
    p->got.fd = p->fd;
    collect(&p->got); /* returns only once the relay shut down its side */
    sk_write_all(p->fd, p->reply, p->reply_n);
    close(p->fd);
    return NULL;
}

static void relay_stream_table(void **state)
{
    (void)state;
    static const struct {
        size_t up, down, bufsize;
    } cases[] = {
        {0, 0, 0}, {1, 1, 0}, {4096, 100, 0}, {300000, 200000, 0}, {100000, 70000, 1000},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        int in[2], out[2], sp[2];
        assert_int_equal(pipe(in), 0);
        assert_int_equal(pipe(out), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
        char *up = malloc(cases[k].up + 1), *down = malloc(cases[k].down + 1);
        fill(up, cases[k].up, 1);
        fill(down, cases[k].down, 2);

        struct feeder f = {.fd = in[1], .data = up, .n = cases[k].up};
        struct collector c = {.fd = out[0]};
        struct peer p = {.fd = sp[1], .reply = down, .reply_n = cases[k].down};
        pthread_t tf, tc, tp;
        pthread_create(&tf, NULL, feed, &f);
        pthread_create(&tc, NULL, collect, &c);
        pthread_create(&tp, NULL, stream_peer, &p);

        struct sk_relay_opts o = {
            .in_fd = in[0], .out_fd = out[1], .socktype = SOCK_STREAM, .bufsize = cases[k].bufsize};
        struct sk_relay_stats st;
        assert_int_equal(sk_relay(sp[0], &o, &st), 0);
        close(out[1]);
        pthread_join(tf, NULL);
        pthread_join(tc, NULL);
        pthread_join(tp, NULL);

        assert_true(st.peer_closed);
        assert_int_equal(st.sent, cases[k].up);
        assert_int_equal(st.received, cases[k].down);
        assert_int_equal(p.got.n, cases[k].up);
        assert_int_equal(c.n, cases[k].down);
        if (cases[k].up)
            assert_memory_equal(p.got.data, up, cases[k].up);
        if (cases[k].down)
            assert_memory_equal(c.data, down, cases[k].down);
        close(in[0]);
        close(out[0]);
        close(sp[0]);
        free(up);
        free(down);
        free(c.data);
        free(p.got.data);
    }
}

/* Answers one datagram with its bytes' case flipped, then returns. */
static void *dgram_echo(void *arg)
{
    int fd = *(int *)arg;
    char buf[70000];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    for (ssize_t i = 0; i < n; i++)
        buf[i] = (char)(buf[i] ^ 0x20);
    if (n > 0)
        send(fd, buf, (size_t)n, 0);
    return NULL;
}

static void relay_datagrams_keep_boundaries(void **state)
{
    (void)state;
    int in[2], out[2], sp[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
    pthread_t te;
    pthread_create(&te, NULL, dgram_echo, &sp[1]);
    assert_int_equal(sk_write_all(in[1], "hello", 5), 0);
    close(in[1]);
    struct sk_relay_opts o = {
        .in_fd = in[0], .out_fd = out[1], .socktype = SOCK_DGRAM, .linger_ms = 200};
    struct sk_relay_stats st;
    assert_int_equal(sk_relay(sp[0], &o, &st), 0);
    close(out[1]);
    char got[16] = {0};
    assert_int_equal(read(out[0], got, sizeof(got)), 5);
    assert_memory_equal(got, "HELLO", 5);
    assert_int_equal(st.dgrams_sent, 1);
    assert_int_equal(st.dgrams_received, 1);
    pthread_join(te, NULL);
    close(sp[0]);
    close(sp[1]);
    close(in[0]);
    close(out[0]);
}

static void *stream_echo(void *arg)
{
    int fd = *(int *)arg;
    char buf[65536];
    for (;;) {
        ssize_t n = sk_read(fd, buf, sizeof(buf));
        if (n <= 0 || sk_write_all(fd, buf, (size_t)n) < 0)
            break;
    }
    close(fd);
    return NULL;
}

static void echo_client_generated_over_socketpair(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 20, 64, 100000, 3 << 20};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        int sp[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
        pthread_t t;
        pthread_create(&t, NULL, stream_echo, &sp[1]);
        struct sk_addr peer;
        const char *why;
        assert_int_equal(sk_addr_unix("/test", &peer, &why), 0);
        struct sk_echo_opts o = {.socktype = SOCK_STREAM,
                                 .newline = 1,
                                 .count = 3,
                                 .size = sizes[k],
                                 .timeout_ms = 5000,
                                 .pause_ms = 200,
                                 .quiet = 1};
        struct sk_echo_stats st;
        FILE *devnull = fopen("/dev/null", "w");
        assert_int_equal(sk_echo_client(sp[0], &peer, &o, NULL, devnull, &st), 0);
        fclose(devnull);
        close(sp[0]);
        pthread_join(t, NULL);
        assert_int_equal(st.requests, 3);
        assert_int_equal(st.answered, 3);
        assert_int_equal(st.lost, 0);
        assert_int_equal(st.mismatched, 0);
        assert_int_equal(st.rtt_n, 3);
        assert_true(st.rtt_min <= st.rtt_max);
    }
}

static void *prefix_echo(void *arg)
{
    int fd = *(int *)arg;
    char buf[512];
    for (;;) {
        ssize_t n = sk_read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        /* The seeds' server: "You Send:" and the message, in two writes. */
        if (sk_write_all(fd, "You Send:", 9) < 0 || sk_write_all(fd, buf, (size_t)n) < 0)
            break;
    }
    close(fd);
    return NULL;
}

static void echo_client_accepts_a_prefixed_echo(void **state)
{
    (void)state;
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    pthread_t t;
    pthread_create(&t, NULL, prefix_echo, &sp[1]);
    struct sk_addr peer;
    const char *why;
    assert_int_equal(sk_addr_unix("/test", &peer, &why), 0);
    const char *msgs[] = {"hello", "world"};
    struct sk_echo_opts o = {.socktype = SOCK_STREAM,
                             .newline = 1,
                             .msgs = msgs,
                             .nmsgs = 2,
                             .timeout_ms = 5000,
                             .pause_ms = 200,
                             .quiet = 1};
    struct sk_echo_stats st;
    FILE *devnull = fopen("/dev/null", "w");
    assert_int_equal(sk_echo_client(sp[0], &peer, &o, NULL, devnull, &st), 0);
    fclose(devnull);
    close(sp[0]);
    pthread_join(t, NULL);
    assert_int_equal(st.answered, 2);
    assert_int_equal(st.mismatched, 0);
}

/* What reaches a terminal of a server's bytes: text as it is, every command
 * to the terminal shown as \xNN (issue 11, item 14). */
static void tty_escape_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n; /* 0: strlen(in) */
        int lines;
        const char *want;
    } cases[] = {
        {"plain text", 0, 1, "plain text"},
        {"two\nlines\r\n", 0, 1, "two\nlines\n"},
        {"tab\there", 0, 1, "tab\there"},
        {"tab\there", 0, 0, "tab\\x09here"},
        {"a\\b", 0, 1, "a\\b"},
        {"a\\b", 0, 0, "a\\\\b"},
        {"\x1b]0;title\x07", 0, 1, "\\x1b]0;title\\x07"},               /* OSC: title */
        {"\x1b[2J\x1b[H", 0, 1, "\\x1b[2J\\x1b[H"},                     /* clear screen */
        {"\x1b]8;;http://x/\x1b\\", 0, 1, "\\x1b]8;;http://x/\\x1b\\"}, /* OSC 8 */
        {"\xc2\x9b"
         "31m",
         0, 1, "\\xc2\\x9b31m"}, /* C1 CSI as UTF-8 */
        {"\x9b"
         "31m",
         0, 1, "\\x9b31m"},               /* C1 CSI as a raw byte */
        {"\xc2\x85", 0, 1, "\\xc2\\x85"}, /* NEL */
        {"\xc2\xa0\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 0, 1,
         "\xc2\xa0\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"}, /* NBSP, e-acute, euro, emoji */
        {"\xc0\xaf", 0, 1, "\\xc0\\xaf"},                 /* overlong '/' */
        {"\xed\xa0\x80", 0, 1, "\\xed\\xa0\\x80"},        /* a surrogate */
        {"\xe2\x82", 0, 1, "\\xe2\\x82"},                 /* cut short */
        {"nul\0in", 6, 1, "nul\\x00in"},
        {"del\x7f", 0, 1, "del\\x7f"},
        {"lone\rcr", 0, 1, "lone\\x0dcr"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        size_t n = cases[i].n ? cases[i].n : strlen(cases[i].in);
        sk__tty_escape(f, cases[i].in, n, cases[i].lines);
        fclose(f);
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, buf, cases[i].want);
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relay_stream_table),
        cmocka_unit_test(relay_datagrams_keep_boundaries),
        cmocka_unit_test(echo_client_generated_over_socketpair),
        cmocka_unit_test(echo_client_accepts_a_prefixed_echo),
        cmocka_unit_test(tty_escape_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
