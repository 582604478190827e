/* test_hub.c - hub support of the thread and pool models, with a test-only
 * broadcast service: every line a client sends is queued on every other
 * connection from the sender's callback, so it only arrives promptly when
 * the model wakes the receivers' threads (conn.h's contract). "kick" aborts
 * every other connection, "bye" ends the sender's. Each model runs on a
 * server thread against real loopback sockets; the test also builds under
 * ThreadSanitizer (make test runs that build too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/addr.h"
#include "sockit/model.h"
#include "sockit/server.h"
#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PEERS 64

/* ---- the broadcast service (state touched only under srv->hub_lock) ---- */

struct bcast {
    struct sk_conn *peers[MAX_PEERS];
    int n;
};

static struct bcast the_bcast;

static int bcast_open(struct sk_conn *c)
{
    struct bcast *b = sk_conn_service_state(c);
    if (b->n == MAX_PEERS)
        return -EMFILE;
    b->peers[b->n++] = c;
    return 0;
}

static ssize_t bcast_data(struct sk_conn *c, const char *p, size_t n)
{
    struct bcast *b = sk_conn_service_state(c);
    size_t used = 0;
    const char *nl;

    while ((nl = memchr(p + used, '\n', n - used)) != NULL) {
        size_t len = (size_t)(nl - (p + used)) + 1;
        const char *line = p + used;
        used += len;
        if (len == 5 && memcmp(line, "kick\n", 5) == 0) {
            for (int i = 0; i < b->n; i++)
                if (b->peers[i] != c)
                    sk_conn_abort(b->peers[i]);
            sk_conn_write(c, "kicked\n", 7);
            continue;
        }
        if (len == 4 && memcmp(line, "bye\n", 4) == 0) {
            sk_conn_write(c, "bye\n", 4);
            sk_conn_end(c);
            return (ssize_t)n;
        }
        for (int i = 0; i < b->n; i++)
            if (b->peers[i] != c)
                sk_conn_write(b->peers[i], line, len);
    }
    return (ssize_t)used;
}

static void bcast_close(struct sk_conn *c)
{
    struct bcast *b = sk_conn_service_state(c);
    for (int i = 0; i < b->n; i++) {
        if (b->peers[i] == c) {
            b->peers[i] = b->peers[--b->n];
            break;
        }
    }
}

static const struct sk_service bcast_service = {
    .name = "bcast",
    .summary = "test-only broadcast",
    .flags = SK_SVC_STREAM | SK_SVC_HUB,
    .open = bcast_open,
    .data = bcast_data,
    .close = bcast_close,
};

/* ---- a server on its own thread ---- */

struct running {
    struct sk_server srv;
    pthread_t tid;
    int rc;
};

static void *server_main(void *arg)
{
    struct running *r = arg;
    r->rc = sk_server_run(&r->srv);
    return NULL;
}

static void start(struct running *r, const char *model, unsigned workers)
{
    const char *why = NULL;

    memset(&the_bcast, 0, sizeof(the_bcast));
    sk_server_init(&r->srv);
    r->srv.svc = &bcast_service;
    r->srv.svc_state = &the_bcast;
    r->srv.workers = workers;
    r->srv.lim.idle_timeout_ms = 0; /* a lost wake-up must hang, not time out */
    r->srv.lim.drain_ms = 500;
    r->srv.model = sk_model_find(model, SOCK_STREAM);
    assert_non_null(r->srv.model);
    assert_true(r->srv.model->caps & SK_MODEL_HUB);
    assert_int_equal(sk_addr_from_ip("127.0.0.1", 0, &r->srv.addr, &why), 0);
    assert_int_equal(sk_server_bind(&r->srv), 0);
    assert_int_equal(pthread_create(&r->tid, NULL, server_main, r), 0);
}

static void stop(struct running *r)
{
    sk_server_stop(&r->srv);
    pthread_join(r->tid, NULL);
    assert_int_equal(r->rc, 0);
    assert_int_equal(atomic_load(&r->srv.st->active), 0);
    r->srv.svc_state = NULL; /* static: not the service's to destroy */
    sk_server_close(&r->srv);
}

static int peers_now(struct running *r)
{
    pthread_mutex_lock(&r->srv.hub_lock);
    int n = the_bcast.n;
    pthread_mutex_unlock(&r->srv.hub_lock);
    return n;
}

static int dial(struct running *r)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, &r->srv.addr.u.sa, r->srv.addr.len), 0);
    return fd;
}

/* Wait until the service has n connections (bounded: 5 s). */
static void wait_peers(struct running *r, int n)
{
    for (int i = 0; i < 500 && peers_now(r) != n; i++)
        usleep(10 * 1000);
    assert_int_equal(peers_now(r), n);
}

/* Read exactly n bytes within timeout_ms; returns bytes read (less on EOF
 * or timeout), or -1 on a reset. */
static ssize_t read_n(int fd, char *buf, size_t n, int timeout_ms)
{
    size_t got = 0;
    int64_t end = sk_now_ms() + timeout_ms;

    while (got < n) {
        int64_t left = end - sk_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0)
            return errno == ECONNRESET ? -1 : (ssize_t)got;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static void send_str(int fd, const char *s)
{
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* ---- tests ---- */

static void broadcast_reaches_idle_peers(const char *model, unsigned workers)
{
    struct running r;
    char buf[64];

    start(&r, model, workers);
    int a = dial(&r), b = dial(&r), c = dial(&r);
    wait_peers(&r, 3);
    /* b and c are idle in poll(): only a wake-up gets the line to them. */
    send_str(a, "hello\n");
    assert_int_equal(read_n(b, buf, 6, 3000), 6);
    assert_memory_equal(buf, "hello\n", 6);
    assert_int_equal(read_n(c, buf, 6, 3000), 6);
    assert_memory_equal(buf, "hello\n", 6);
    /* The sender gets nothing back but its own "bye" when it leaves. */
    send_str(a, "bye\n");
    assert_int_equal(read_n(a, buf, sizeof(buf), 3000), 4);
    assert_memory_equal(buf, "bye\n", 4);
    close(a);
    wait_peers(&r, 2);
    /* Aborting another connection from a callback closes it promptly. */
    send_str(b, "kick\n");
    assert_int_equal(read_n(b, buf, 7, 3000), 7);
    assert_memory_equal(buf, "kicked\n", 7);
    ssize_t n = read_n(c, buf, sizeof(buf), 3000);
    assert_true(n == 0 || n == -1);
    wait_peers(&r, 1);
    close(b);
    close(c);
    wait_peers(&r, 0);
    stop(&r);
}

struct talker {
    int fd;
    int lines_out, lines_in_expected;
    int lines_in;
};

static void *talk(void *arg)
{
    struct talker *t = arg;
    char buf[4096];
    size_t have = 0;

    for (int i = 0; i < t->lines_out; i++) {
        char line[32];
        int len = snprintf(line, sizeof(line), "%d:%d\n", t->fd, i);
        if (write(t->fd, line, (size_t)len) != len)
            return NULL;
    }
    int64_t end = sk_now_ms() + 10000;
    while (t->lines_in < t->lines_in_expected && sk_now_ms() < end) {
        struct pollfd p = {.fd = t->fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t r = read(t->fd, buf + have, sizeof(buf) - have);
        if (r <= 0)
            break;
        have += (size_t)r;
        char *nl;
        while ((nl = memchr(buf, '\n', have)) != NULL) {
            size_t len = (size_t)(nl - buf) + 1;
            t->lines_in++;
            memmove(buf, buf + len, have - len);
            have -= len;
        }
    }
    return NULL;
}

/* Several clients talk at once: every line reaches every other client. */
static void concurrent_broadcast(const char *model, unsigned workers)
{
    enum { N = 6, LINES = 50 };
    struct running r;
    struct talker t[N];
    pthread_t tid[N];

    start(&r, model, workers);
    for (int i = 0; i < N; i++)
        t[i] = (struct talker){
            .fd = dial(&r), .lines_out = LINES, .lines_in_expected = (N - 1) * LINES};
    wait_peers(&r, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&tid[i], NULL, talk, &t[i]), 0);
    for (int i = 0; i < N; i++) {
        pthread_join(tid[i], NULL);
        assert_int_equal(t[i].lines_in, (N - 1) * LINES);
    }
    for (int i = 0; i < N; i++)
        close(t[i].fd);
    wait_peers(&r, 0);
    stop(&r);
}

/* The stop bound: a connected client does not keep the server alive. */
static void stop_with_clients_connected(const char *model, unsigned workers)
{
    struct running r;
    start(&r, model, workers);
    int a = dial(&r), b = dial(&r);
    wait_peers(&r, 2);
    int64_t t0 = sk_now_ms();
    stop(&r);
    assert_true(sk_now_ms() - t0 < 3000);
    close(a);
    close(b);
}

static void thread_broadcast(void **s)
{
    (void)s;
    broadcast_reaches_idle_peers("thread", 0);
}
static void pool_broadcast(void **s)
{
    (void)s;
    broadcast_reaches_idle_peers("pool", 4);
}
static void thread_concurrent(void **s)
{
    (void)s;
    concurrent_broadcast("thread", 0);
}
static void pool_concurrent(void **s)
{
    (void)s;
    concurrent_broadcast("pool", 8);
}
static void thread_stop(void **s)
{
    (void)s;
    stop_with_clients_connected("thread", 0);
}
static void pool_stop(void **s)
{
    (void)s;
    stop_with_clients_connected("pool", 3);
}

static void fork_models_refuse_hub(void **s)
{
    (void)s;
    char why[256];
    static const char *const refuse[] = {"iterative", "fork", "prefork"};
    for (size_t i = 0; i < SK_ARRAY_LEN(refuse); i++) {
        const struct sk_model *m = sk_model_find(refuse[i], SOCK_STREAM);
        assert_non_null(m);
        why[0] = '\0';
        assert_false(
            sk_model_can_carry(m, SK_SVC_STREAM | SK_SVC_HUB, SOCK_STREAM, why, sizeof(why)));
        assert_non_null(strstr(why, refuse[i]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thread_broadcast),
        cmocka_unit_test(pool_broadcast),
        cmocka_unit_test(thread_concurrent),
        cmocka_unit_test(pool_concurrent),
        cmocka_unit_test(thread_stop),
        cmocka_unit_test(pool_stop),
        cmocka_unit_test(fork_models_refuse_hub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
