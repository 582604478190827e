/*
 * p2p.c - `sockit p2p`: two-party chat over one TCP connection. One side
 * waits for a single peer (--listen PORT), the other connects (HOST PORT);
 * both may type at any time (the session loop polls terminal and socket).
 *
 * The wire is plain lines, so the other side may also be nc or telnet.
 * /quit or end of input half-closes the connection (shutdown SHUT_WR): the
 * other side sees the end, says so, and ends too.
 */
#include "client/chat_client.h"

#include "client/chat_session.h"
#include "sockit/chat.h"
#include "sockit/resolve.h"
#include "sockit/sock.h"
#include "sockit/util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void p2p_remote(struct sk_session *s, const char *p, size_t n)
{
    char line[SK_TTY_LINE_MAX + 16];
    size_t m = n < SK_TTY_LINE_MAX ? n : SK_TTY_LINE_MAX;
    memcpy(line, "<peer> ", 7);
    memcpy(line + 7, p, m);
    sk__session_show(s, NULL, line, 7 + m);
}

static void leave(struct sk_session *s)
{
    shutdown(s->fd, SHUT_WR);
    sk__session_show(s, s->tty.color ? "\x1b[36m" : NULL, "*** you left", 12);
    sk__session_leave(s);
}

static void p2p_local(struct sk_session *s, const char *p, size_t n)
{
    struct sk_chat_cmd cmd;

    sk_chat_parse(p, n, &cmd);
    if (cmd.kind == SK_CHAT_QUIT) {
        leave(s);
        return;
    }
    if (sk__session_send(s, p, n) < 0 || !s->tty.tty)
        return;
    char line[SK_TTY_LINE_MAX + 16];
    size_t m = n < SK_TTY_LINE_MAX ? n : SK_TTY_LINE_MAX;
    memcpy(line, "<you> ", 6);
    memcpy(line + 6, p, m);
    sk__session_show(s, NULL, line, 6 + m);
}

/* Wait for one connection on lfd; returns it or a negative errno. */
static int wait_peer(int lfd, struct sk_addr *peer)
{
    for (;;) {
        if (sk_tty_line_stop_signal())
            return -EINTR;
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        int n = poll(&p, 1, -1);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n <= 0)
            continue;
        peer->len = sizeof(peer->u);
        int fd = accept4(lfd, &peer->u.sa, &peer->len, SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
            return -errno;
    }
}

int sk_p2p_run(const struct sk_p2p_opts *o)
{
    static struct sk_session s; /* large buffers: not on the stack */
    struct sk_addr peer;
    int fd, r;

    memset(&s, 0, sizeof(s));
    if (o->listen) {
        struct sk_addr a;
        const char *host = o->host ? o->host : "localhost";
        r = sk_resolve_one(host, o->port, o->family, SOCK_STREAM, 1, &a);
        if (r < 0)
            return r;
        int lfd = sk_sock_listen(&a, SOCK_STREAM, 1, 0);
        if (lfd < 0)
            return lfd;
        sk_sock_local(lfd, &a);
        if (o->listening)
            o->listening(&a);
        /* The terminal (and Ctrl-C handling) from here on. */
        if ((r = sk_tty_line_open(&s.tty, STDIN_FILENO, STDOUT_FILENO, "p2p> ")) < 0) {
            close(lfd);
            return r;
        }
        fd = wait_peer(lfd, &peer);
        close(lfd);
    } else {
        if ((r = sk_tty_line_open(&s.tty, STDIN_FILENO, STDOUT_FILENO, "p2p> ")) < 0)
            return r;
        fd = sk_tty_connect(o->host, o->port, o->family, 10000, &peer);
    }
    if (fd < 0) {
        r = fd;
        goto out;
    }
    char a[SK_ADDR_STRLEN], msg[SK_ADDR_STRLEN + 80];
    sk_addr_format(&peer, a, sizeof(a));
    int ml = snprintf(msg, sizeof(msg), "*** connected with %s; /quit or Ctrl-D leaves", a);
    s.fd = fd;
    s.timestamps = o->timestamps;
    s.remote = p2p_remote;
    s.local = p2p_local;
    s.local_eof = leave;
    sk__session_show(&s, s.tty.color ? "\x1b[36m" : NULL, msg, (size_t)ml);
    r = sk__session_run(&s);
    if (r == SK_SESSION_THEY_LEFT) {
        sk__session_show(&s, s.tty.color ? "\x1b[36m" : NULL, "*** the peer left", 17);
        r = 0;
    } else if (r == -ECONNRESET || r == -EPIPE) {
        sk__session_show(&s, NULL, "*** the connection was lost", 27);
    }
    close(fd);
out:
    sk_tty_line_close(&s.tty);
    return r;
}
