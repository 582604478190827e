/* test_relay.c - the net core's relay (relay.h) as chat's operator terminal
 * uses it: what is sent when the input ends (eof_send), over a socketpair
 * and pipes with a peer thread. The relay's general cases are in
 * test_client.c (`sockit connect` rides on it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/relay.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct peer { /* reads the socket to EOF, then closes it */
    int fd;
    char got[256];
    size_t n;
};

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    ssize_t r;
    while (p->n < sizeof(p->got) && (r = sk_read(p->fd, p->got + p->n, sizeof(p->got) - p->n)) > 0)
        p->n += (size_t)r;
    close(p->fd);
    return NULL;
}

static void eof_send_goes_out_before_the_half_close(void **state)
{
    (void)state;
    static const struct {
        const char *input, *eof_send, *want;
        size_t bufsize;
    } t[] = {
        {"hello\n", "\n/quit\n", "hello\n\n/quit\n", 0},
        {"", "\n/quit\n", "\n/quit\n", 0},
        {"typed", NULL, "typed", 0},
        /* a buffer nearly full when the input ends: sent once there is room */
        {"0123456789abc", "/quit\n", "0123456789abc/quit\n", 16},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(t); i++) {
        int in[2], out[2], sp[2];
        assert_int_equal(pipe(in), 0);
        assert_int_equal(pipe(out), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
        assert_int_equal(sk_write_all(in[1], t[i].input, strlen(t[i].input)), 0);
        close(in[1]); /* the input ends */
        struct peer p = {.fd = sp[1]};
        pthread_t tp;
        assert_int_equal(pthread_create(&tp, NULL, peer_main, &p), 0);

        struct sk_relay_opts o = {.in_fd = in[0],
                                  .out_fd = out[1],
                                  .socktype = SOCK_STREAM,
                                  .bufsize = t[i].bufsize,
                                  .eof_send = t[i].eof_send};
        struct sk_relay_stats st;
        assert_int_equal(sk_relay(sp[0], &o, &st), 0);
        pthread_join(tp, NULL);
        assert_true(st.peer_closed);
        if (p.n != strlen(t[i].want) || memcmp(p.got, t[i].want, p.n) != 0)
            fail_msg("row %zu: the peer got \"%.*s\"", i, (int)p.n, p.got);
        assert_int_equal(st.sent, strlen(t[i].want));
        close(in[0]);
        close(out[0]);
        close(out[1]);
        close(sp[0]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eof_send_goes_out_before_the_half_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
