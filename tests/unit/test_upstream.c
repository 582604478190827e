/* test_upstream.c - a connection's upstream (src/model/upstream.c) driven by
 * hand, as a model drives it, over socketpairs and pipes: piped bytes both
 * ways, the half-close each way, backpressure, through-the-service bytes and
 * the switch to piped, connect results (at once, refused, timed out), EPIPE
 * from an upstream that ended, and every descriptor closed exactly once
 * (the model told first). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/internal.h"

#include "sockit/service.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sk_server srv;
static struct sk_stats stats;

/* What the fake service saw. */
static struct {
    int connected_calls, connected_err, eof_calls, pipe_after;
    char data[256];
    size_t ndata;
    size_t consume_max; /* up_data takes at most this much per call (0: all) */
} seen;

static int fake_connected(struct sk_conn *c, int err)
{
    (void)c;
    seen.connected_calls++;
    seen.connected_err = err;
    return 0;
}

static ssize_t fake_up_data(struct sk_conn *c, const char *p, size_t n)
{
    size_t take = seen.consume_max && n > seen.consume_max ? seen.consume_max : n;
    memcpy(seen.data + seen.ndata, p, take);
    seen.ndata += take;
    if (seen.pipe_after && seen.ndata >= (size_t)seen.pipe_after)
        sk_conn_upstream_pipe(c);
    return (ssize_t)take;
}

static int fake_up_eof(struct sk_conn *c)
{
    (void)c;
    seen.eof_calls++;
    return 0;
}

static ssize_t fake_data(struct sk_conn *c, const char *p, size_t n)
{
    (void)c;
    (void)p;
    return (ssize_t)n;
}

static const struct sk_service fake = {
    .name = "fake",
    .flags = SK_SVC_STREAM,
    .data = fake_data,
    .up_connected = fake_connected,
    .up_data = fake_up_data,
    .up_eof = fake_up_eof,
};

static int forgotten[8], nforgotten;

static void forget(struct sk_conn *c, int fd)
{
    (void)c;
    forgotten[nforgotten++ % 8] = fd;
}

static const struct sk_conn_ops ops = {.up_forget = forget};

/* A connection whose client socket is cl[0] (the test plays the client on
 * cl[1]). */
static void conn_init(struct sk_conn *c, int cl[2])
{
    memset(&seen, 0, sizeof(seen));
    nforgotten = 0;
    srv.svc = &fake;
    srv.st = &stats;
    srv.lim.in_max = 64 * 1024;
    srv.lim.out_max = 256 * 1024;
    srv.lim.out_high = 64 * 1024;
    memset(c, 0, sizeof(*c));
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, cl), 0);
    c->fd = cl[0];
    c->file.fd = -1;
    c->srv = &srv;
    c->ops = &ops;
    sk_buf_init(&c->in, srv.lim.in_max);
    sk_buf_init(&c->out, srv.lim.out_max);
}

static void conn_free(struct sk_conn *c, int cl[2])
{
    sk__up_free(c);
    assert_null(c->up);
    sk_buf_free(&c->in);
    sk_buf_free(&c->out);
    close(cl[0]);
    close(cl[1]);
}

static int closed(int fd)
{
    return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

/* What a model does when fds are ready: poll what sk__up_want() asks for
 * (up to ms), then sk__up_io() and sk__up_settle(). */
static void pump(struct sk_conn *c, int client_eof, int ms)
{
    struct sk__upstream *up = c->up;
    unsigned want = sk__up_want(c, sk_buf_len(&c->out));
    struct pollfd p[2] = {{.fd = -1}, {.fd = -1}};
    if ((want & SK_UP_R) && up->rfd >= 0)
        p[0] = (struct pollfd){.fd = up->rfd, .events = POLLIN};
    if ((want & SK_UP_W) && up->wfd >= 0)
        p[1] = (struct pollfd){.fd = up->wfd, .events = POLLOUT};
    unsigned ev = 0;
    if (poll(p, 2, ms) > 0) {
        if (p[0].revents)
            ev |= SK_UP_R;
        if (p[1].revents)
            ev |= SK_UP_W;
    }
    if (ev)
        assert_int_equal(sk__up_io(c, ev, sk_now_ms()), 0);
    assert_int_equal(sk__up_settle(c, client_eof, sk_buf_len(&c->out), sk_now_ms()), 0);
}

static size_t read_all(int fd, char *buf, size_t cap, int *eof)
{
    size_t n = 0;
    *eof = 0;
    for (int i = 0; i < 50 && n < cap; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        ssize_t r = read(fd, buf + n, cap - n);
        if (r == 0) {
            *eof = 1;
            break;
        }
        if (r > 0)
            n += (size_t)r;
    }
    return n;
}

/* Piped over one socketpair: bytes both ways, then the half-close each way
 * and the end. Table: which side finishes first. */
static void test_piped_both_ways_and_half_close(void **unused)
{
    (void)unused;
    for (int client_first = 0; client_first < 2; client_first++) {
        struct sk_conn c;
        int cl[2], us[2];
        char buf[64];
        int eof;
        conn_init(&c, cl);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, us), 0);
        assert_int_equal(sk_conn_upstream_fds(&c, us[0], us[0]), 0);
        assert_int_equal(sk_conn_upstream_pipe(&c), 0);
        char held = 0;
        assert_int_equal(sk__conn_feed(&c, "to-up", 5, NULL, &held), 0);
        assert_int_equal(held, 0);
        assert_int_equal(read(us[1], buf, sizeof(buf)), 5); /* written through */
        assert_memory_equal(buf, "to-up", 5);
        assert_int_equal(write(us[1], "to-client", 9), 9);
        pump(&c, 0, 100);
        assert_int_equal(sk_buf_len(&c.out), 9);
        assert_memory_equal(sk_buf_data(&c.out), "to-client", 9);
        sk_buf_clear(&c.out); /* "sent" */
        if (client_first) {
            pump(&c, 1, 0); /* the client's EOF reaches the upstream */
            assert_int_equal(read_all(us[1], buf, sizeof(buf), &eof), 0);
            assert_true(eof);
            assert_false(c.flags & SK_CONN_END);
            assert_int_equal(write(us[1], "late", 4), 4); /* it still answers */
            shutdown(us[1], SHUT_WR);
            pump(&c, 1, 100);
            pump(&c, 1, 100);
            assert_int_equal(sk_buf_len(&c.out), 4);
            sk_buf_clear(&c.out);
            pump(&c, 1, 0);
            assert_true(c.flags & SK_CONN_END); /* both done */
        } else {
            shutdown(us[1], SHUT_WR);
            pump(&c, 0, 100);
            pump(&c, 0, 0);
            /* The upstream's EOF reaches the client; the client still sends. */
            assert_int_equal(read_all(cl[1], buf, sizeof(buf), &eof), 0);
            assert_true(eof);
            assert_false(c.flags & SK_CONN_END);
            assert_int_equal(sk__conn_feed(&c, "more", 4, NULL, &held), 0);
            assert_int_equal(read(us[1], buf, sizeof(buf)), 4);
            pump(&c, 1, 0);
            assert_true(c.flags & SK_CONN_END);
        }
        conn_free(&c, cl);
        assert_true(closed(us[0]));
        close(us[1]);
    }
}

/* Separate pipes (a child's stdin and stdout): the client's EOF closes the
 * write pipe; EPIPE after the upstream's EOF ends that direction quietly. */
static void test_pipes_and_epipe_after_eof(void **unused)
{
    (void)unused;
    struct sk_conn c;
    int cl[2], in[2], out[2];
    char buf[16];
    int eof;
    conn_init(&c, cl);
    assert_int_equal(pipe(in), 0);  /* child's stdin: we write in[1] */
    assert_int_equal(pipe(out), 0); /* child's stdout: we read out[0] */
    assert_int_equal(sk_conn_upstream_fds(&c, out[0], in[1]), 0);
    sk_conn_upstream_pipe(&c);
    char held = 0;
    assert_int_equal(sk__conn_feed(&c, "abc", 3, NULL, &held), 0);
    assert_int_equal(read(in[0], buf, sizeof(buf)), 3);
    pump(&c, 1, 0);
    assert_true(closed(in[1])); /* the client's EOF closed the child's stdin */
    assert_int_equal(read_all(in[0], buf, sizeof(buf), &eof), 0);
    assert_true(eof);
    assert_int_equal(nforgotten, 1);
    assert_int_equal(forgotten[0], in[1]);
    close(in[0]);
    close(out[1]); /* the child exits */
    pump(&c, 1, 100);
    pump(&c, 1, 0);
    assert_true(c.flags & SK_CONN_END);
    assert_true(closed(out[0]));
    conn_free(&c, cl);

    /* A child that exited while the client still sends: EPIPE after its EOF
     * is the end of that direction, not an error. */
    conn_init(&c, cl);
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(sk_conn_upstream_fds(&c, out[0], in[1]), 0);
    sk_conn_upstream_pipe(&c);
    close(in[0]);
    close(out[1]);
    pump(&c, 0, 100); /* its EOF */
    assert_int_equal(sk__conn_feed(&c, "xyz", 3, NULL, &held), 0);
    pump(&c, 0, 0);
    assert_true(c.flags & SK_CONN_END);
    conn_free(&c, cl);
}

/* Backpressure both ways, at the high-water mark. */
static void test_backpressure(void **unused)
{
    (void)unused;
    struct sk_conn c;
    int cl[2], us[2];
    conn_init(&c, cl);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, us), 0);
    assert_int_equal(sk_conn_upstream_fds(&c, us[0], us[0]), 0);
    sk_conn_upstream_pipe(&c);
    assert_true(sk__up_want(&c, 0) & SK_UP_R);
    assert_false(sk__up_want(&c, srv.lim.out_high + 1) & SK_UP_R); /* client output full */
    /* Nobody reads the upstream: its queue grows to the mark, then input is held. */
    static char chunk[32 * 1024];
    char held = 0;
    int rounds = 0;
    while (!held && rounds++ < 100) {
        assert_int_equal(sk__conn_feed(&c, chunk, sizeof(chunk), NULL, &held), 0);
        if (!held && sk__up_blocks_client(&c))
            break;
    }
    assert_true(sk__up_blocks_client(&c));
    assert_true(sk_conn_upstream_backpressured(&c));
    assert_true(sk__up_want(&c, 0) & SK_UP_W);
    assert_true(sk_buf_len(&c.up->out) <= c.up->out.max);
    conn_free(&c, cl);
    close(us[1]);
}

/* Through the service: up_data() takes what it wants, the rest is offered
 * again; after the switch to piped, what it left goes to the client. */
static void test_through_the_service_then_piped(void **unused)
{
    (void)unused;
    struct sk_conn c;
    int cl[2], us[2];
    conn_init(&c, cl);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, us), 0);
    assert_int_equal(sk_conn_upstream_fds(&c, us[0], us[0]), 0);
    assert_int_equal(sk_conn_upstream_write(&c, "HELLO", 5), 0);
    pump(&c, 0, 0);
    char buf[16];
    assert_int_equal(read(us[1], buf, sizeof(buf)), 5);
    seen.consume_max = 4;
    seen.pipe_after = 4; /* the "handshake reply" is 4 bytes */
    assert_int_equal(write(us[1], "OK\r\ntunnel", 10), 10);
    pump(&c, 0, 100);
    pump(&c, 0, 0);
    assert_int_equal(seen.ndata, 4);
    assert_memory_equal(seen.data, "OK\r\n", 4);
    assert_int_equal(sk_buf_len(&c.out), 6);
    assert_memory_equal(sk_buf_data(&c.out), "tunnel", 6);
    conn_free(&c, cl);
    close(us[1]);

    /* The upstream's EOF through the service: up_eof(). */
    conn_init(&c, cl);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, us), 0);
    assert_int_equal(sk_conn_upstream_fds(&c, us[0], us[0]), 0);
    close(us[1]);
    pump(&c, 0, 100);
    assert_int_equal(seen.eof_calls, 1);
    assert_int_equal(sk_conn_upstream_write(&c, "x", 1), 0);
    conn_free(&c, cl);
}

/* Connect results: refused at once (reported from the settle, not the
 * call), a timeout, a success; -EBUSY while one is open. */
static void test_connect_results(void **unused)
{
    (void)unused;
    struct sk_conn c;
    int cl[2];
    struct sk_addr a;
    char path[64];
    snprintf(path, sizeof(path), "/tmp/sockit-test-upstream-%d.sock", (int)getpid());
    unlink(path);
    assert_int_equal(sk_addr_unix(path, &a, NULL), 0);

    conn_init(&c, cl);
    assert_int_equal(sk_conn_upstream_connect(&c, &a, 1000), 0);
    assert_int_equal(seen.connected_calls, 0); /* never from inside the call */
    pump(&c, 0, 0);
    assert_int_equal(seen.connected_calls, 1);
    assert_true(seen.connected_err == -ENOENT || seen.connected_err == -ECONNREFUSED);
    conn_free(&c, cl);

    /* A listener: connected (Unix connects at once: still reported later). */
    int ls = sk_sock_listen(&a, SOCK_STREAM, 1, 0);
    assert_true(ls >= 0);
    conn_init(&c, cl);
    assert_int_equal(sk_conn_upstream_connect(&c, &a, 1000), 0);
    assert_int_equal(sk_conn_upstream_connect(&c, &a, 1000), -EBUSY);
    pump(&c, 0, 100);
    assert_int_equal(seen.connected_calls, 1);
    assert_int_equal(seen.connected_err, 0);
    int fd = c.up->rfd;
    conn_free(&c, cl);
    assert_true(closed(fd));

    /* Not looked at before the bound: -ETIMEDOUT, the socket closed. */
    struct sk_addr t;
    assert_int_equal(sk_addr_parse("127.0.0.1:9", 0, &t, NULL), 0);
    conn_init(&c, cl);
    assert_int_equal(sk_conn_upstream_connect(&c, &t, 50), 0);
    fd = c.up->rfd;
    int64_t due = sk__up_due(&c);
    assert_true(due > 0);
    assert_int_equal(sk__conn_can_close(&c, 0, 1, 0, 0), 0); /* connecting keeps it open */
    if (c.up->connecting) {
        assert_int_equal(sk__up_expire(&c, due + 1), 0);
        assert_int_equal(seen.connected_err, -ETIMEDOUT);
        assert_true(closed(fd));
        assert_int_equal(forgotten[0], fd);
    }
    conn_free(&c, cl);
    close(ls);
    unlink(path);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as sockit's main does: a closed pipe is EPIPE */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_piped_both_ways_and_half_close),
        cmocka_unit_test(test_pipes_and_epipe_after_eof),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_through_the_service_then_piped),
        cmocka_unit_test(test_connect_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
