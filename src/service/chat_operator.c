/*
 * chat_operator.c - the operator's terminal for `serve chat --operator NICK`.
 *
 * The service itself stays free of I/O: the operator takes part as an
 * ordinary client of the room. A thread connects to the server's own
 * listening address (the kernel completes the handshake; the model accepts
 * it like any other), introduces itself with "/operator TOKEN" (a random
 * token only this process knows, so nobody else can claim the operator's
 * reserved nickname), drops the room's greeting (it asks for a nickname: not
 * ours to answer), and then rides on the one relay (sk_relay(), relay.h):
 * the terminal's lines (stdin) into the room, the room's traffic to stdout.
 * That needs no hook in any model and works under every model that carries
 * chat.
 *
 * End of input makes the operator say /quit and leave the room; the server
 * keeps serving until SIGINT/SIGTERM. The thread ends when the server closes
 * the connection (it stops) or sk__chat_operator_stop() shuts it down.
 */
#include "chat_operator.h"

#include "sockit/relay.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOKEN_BYTES 16
#define GREETING_WAIT_MS 5000

struct sk_chat_operator {
    int fd;
    int stop_fd; /* the server's: readable once it was asked to stop */
    pthread_t thread;
    atomic_int quit;
    char token[2 * TOKEN_BYTES + 1];
};

static int readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return fd >= 0 && poll(&p, 1, ms) > 0;
}

/* Read and drop the room's first line (its greeting). 0, or -1 when the
 * connection ended or no line came in time. */
static int skip_greeting(int fd)
{
    int64_t end = sk_now_ms() + GREETING_WAIT_MS;
    char ch = 0;

    while (ch != '\n') {
        int64_t left = end - sk_now_ms();
        if (left <= 0 || !readable(fd, (int)left) || sk_read(fd, &ch, 1) != 1)
            return -1;
    }
    return 0;
}

static void *run(void *arg)
{
    struct sk_chat_operator *op = arg;
    sigset_t set;

    /* Signals are the main thread's (it stops the server). */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGPIPE);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (skip_greeting(op->fd) == 0) {
        struct sk_relay_opts o = {
            .in_fd = STDIN_FILENO,
            .out_fd = STDOUT_FILENO,
            .socktype = SOCK_STREAM,
            .bufsize = 4096,
            .eof_send = "\n/quit\n", /* end of input: leave the room */
        };
        struct sk_relay_stats st;
        sk_relay(op->fd, &o, &st);
    }
    if (!atomic_load(&op->quit) && !readable(op->stop_fd, 0))
        sk_log(SK_LOG_INFO, "operator: left the chat; the server keeps running (Ctrl-C stops it)");
    return NULL;
}

int sk__chat_operator_start(struct sk_chat_operator **out, const struct sk_addr *addr, int stop_fd)
{
    unsigned char raw[TOKEN_BYTES];
    char hello[128];
    int r;

    struct sk_chat_operator *op = calloc(1, sizeof(*op));
    if (!op)
        return -ENOMEM;
    op->fd = -1;
    op->stop_fd = stop_fd;
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        r = -errno;
        goto fail;
    }
    for (size_t i = 0; i < TOKEN_BYTES; i++)
        snprintf(op->token + 2 * i, 3, "%02x", raw[i]);
    op->fd = sk_sock_connect(addr, SOCK_STREAM, 5000, 0);
    if (op->fd < 0) {
        r = op->fd;
        goto fail;
    }
    int n = snprintf(hello, sizeof(hello), "/operator %s\n", op->token);
    if ((r = sk_write_all(op->fd, hello, (size_t)n)) < 0)
        goto fail;
    if ((r = -pthread_create(&op->thread, NULL, run, op)) < 0)
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
    shutdown(op->fd, SHUT_RDWR); /* the relay sees the end and returns */
    pthread_join(op->thread, NULL);
    close(op->fd);
    free(op);
}
