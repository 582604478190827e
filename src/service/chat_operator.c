/*
 * chat_operator.c - the operator's terminal for `serve chat --operator NICK`.
 *
 * The service itself stays free of I/O: the operator takes part as an
 * ordinary client of the room. A relay thread connects to the server's own
 * listening address (the kernel completes the handshake; the model accepts
 * it like any other), introduces itself with "/operator TOKEN" (a random
 * token only this process knows, so nobody else can claim the operator's
 * reserved nickname), and then copies bytes both ways: the terminal's lines
 * (stdin) into the room, the room's traffic to stdout. That needs no hook in
 * any model and works under every model that carries chat.
 *
 * End of input (or /quit) makes the operator leave the room; the server keeps
 * serving until SIGINT/SIGTERM. The thread ends when the server stops or
 * closes the connection.
 */
#include "chat_operator.h"

#include "sockit/server.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOKEN_BYTES 16

struct sk_chat_operator {
    struct sk_server *srv;
    int fd;
    pthread_t thread;
    atomic_int quit;
    char token[2 * TOKEN_BYTES + 1];
};

static void *relay(void *arg)
{
    struct sk_chat_operator *op = arg;
    char buf[4096];
    int in_open = 1, greeted = 0;

    sk__block_signals();
    while (!atomic_load(&op->quit) && !op->srv->stop) {
        struct pollfd p[2] = {{.fd = op->fd, .events = POLLIN},
                              {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN}};
        int n = poll(p, 2, 200);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (p[0].revents) {
            ssize_t r = sk_read(op->fd, buf, sizeof(buf));
            if (r <= 0) {
                if (!op->srv->stop && !atomic_load(&op->quit))
                    sk_log(SK_LOG_INFO, "operator: left the chat; the server keeps running "
                                        "(Ctrl-C stops it)");
                break;
            }
            const char *out = buf;
            size_t len = (size_t)r;
            if (!greeted) { /* the room's greeting asks for a nickname: not ours to answer */
                const char *nl = memchr(out, '\n', len);
                if (!nl)
                    continue;
                greeted = 1;
                len -= (size_t)(nl + 1 - out);
                out = nl + 1;
            }
            if (len && sk_write_all(STDOUT_FILENO, out, len) < 0)
                break;
        }
        if (p[1].revents) {
            ssize_t r = sk_read(STDIN_FILENO, buf, sizeof(buf));
            if (r > 0 && sk_write_all(op->fd, buf, (size_t)r) < 0)
                break;
            if (r <= 0) {
                in_open = 0; /* end of input: leave the room */
                static const char bye[] = "\n/quit\n";
                if (sk_write_all(op->fd, bye, sizeof(bye) - 1) < 0)
                    break;
            }
        }
    }
    return NULL;
}

int sk__chat_operator_start(struct sk_chat_operator **out, struct sk_server *srv, const char *nick)
{
    unsigned char raw[TOKEN_BYTES];
    char hello[128];
    int r;

    (void)nick; /* the service knows the nickname; the token is enough */
    struct sk_chat_operator *op = calloc(1, sizeof(*op));
    if (!op)
        return -ENOMEM;
    op->srv = srv;
    op->fd = -1;
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        r = -errno;
        goto fail;
    }
    for (size_t i = 0; i < TOKEN_BYTES; i++)
        snprintf(op->token + 2 * i, 3, "%02x", raw[i]);
    op->fd = sk_sock_connect(&srv->addr, SOCK_STREAM, 5000, 0);
    if (op->fd < 0) {
        r = op->fd;
        goto fail;
    }
    int n = snprintf(hello, sizeof(hello), "/operator %s\n", op->token);
    if ((r = sk_write_all(op->fd, hello, (size_t)n)) < 0)
        goto fail;
    if ((r = -pthread_create(&op->thread, NULL, relay, op)) < 0)
        goto fail;
    *out = op;
    return 0;
fail:
    if (op->fd >= 0)
        close(op->fd);
    free(op);
    return r;
}

int sk__chat_operator_token_ok(const struct sk_chat_operator *op, const char *tok, size_t n)
{
    if (!op || n != 2 * TOKEN_BYTES)
        return 0;
    unsigned diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned)(tok[i] ^ op->token[i]);
    return diff == 0;
}

void sk__chat_operator_stop(struct sk_chat_operator *op)
{
    if (!op)
        return;
    atomic_store(&op->quit, 1);
    pthread_join(op->thread, NULL);
    close(op->fd);
    free(op);
}
