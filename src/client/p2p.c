/*
 * p2p.c - `sockit p2p`: two-party chat over one TCP connection. One side
 * waits for a single peer (--listen PORT), the other connects (HOST PORT);
 * both may type at any time (the session loop polls terminal and socket).
 *
 * The wire is plain lines, so the other side may also be nc or telnet.
 * /quit or end of input half-closes the connection (shutdown SHUT_WR): the
 * other side sees the end, says so, and ends too.
 *
 * With TLS the listening side is the TLS server (its certificate given, or
 * an ephemeral one whose fingerprint the listening line shows, for the
 * other side's --pin) and the connecting side verifies it as `connect
 * --tls` does; the half-close is a close_notify first.
 */
#include "client/chat_client.h"

#include "client/chat_session.h"
#include "sockit/chat.h"
#include "sockit/resolve.h"
#include "sockit/sock.h"
#include "sockit/tls.h"
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
    sk__session_shutdown(s);
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

/* Wait for one connection on one of the n listeners; returns it or a
 * negative errno. */
static int wait_peer(const int *lfd, unsigned n, struct sk_addr *peer)
{
    for (;;) {
        if (sk_tty_line_stop_signal())
            return -EINTR;
        struct pollfd p[2];
        for (unsigned i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = lfd[i], .events = POLLIN};
        int r = poll(p, n, -1);
        if (r < 0 && errno != EINTR)
            return -errno;
        for (unsigned i = 0; r > 0 && i < n; i++) {
            if (!p[i].revents)
                continue;
            peer->len = sizeof(peer->u);
            int fd = accept4(lfd[i], &peer->u.sa, &peer->len, SOCK_CLOEXEC);
            if (fd >= 0)
                return fd;
            if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
                return -errno;
        }
    }
}

/* Listen on host (NULL or "localhost": both 127.0.0.1 and ::1, on one
 * port) and port; fills lfd[] and a[] and returns how many, or a negative
 * errno. */
static int listen_all(const struct sk_p2p_opts *o, int *lfd, struct sk_addr *a)
{
    const char *loop[2] = {"127.0.0.1", "::1"};
    const int fam[2] = {AF_INET, AF_INET6};
    int r;

    if (o->host && strcmp(o->host, "localhost") != 0) {
        if ((r = sk_resolve_one(o->host, o->port, o->family, SOCK_STREAM, 1, &a[0])) < 0)
            return r;
        if ((lfd[0] = sk_sock_listen(&a[0], SOCK_STREAM, 1, 0)) < 0)
            return lfd[0];
        sk_sock_local(lfd[0], &a[0]);
        return 1;
    }
    for (int tries = 0;; tries++) {
        int n = 0;
        char port[8];
        snprintf(port, sizeof(port), "%s", o->port);
        for (int i = 0; i < 2; i++) {
            if (o->family != AF_UNSPEC && o->family != fam[i])
                continue;
            if ((r = sk_resolve_one(loop[i], port, fam[i], SOCK_STREAM, 1, &a[n])) < 0)
                goto fail;
            if ((r = lfd[n] = sk_sock_listen(&a[n], SOCK_STREAM, 1, 0)) < 0) {
                if (n > 0 && (r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT))
                    continue; /* no IPv6 here */
                goto fail;
            }
            sk_sock_local(lfd[n], &a[n]);
            snprintf(port, sizeof(port), "%u", sk_addr_port(&a[n]));
            n++;
        }
        return n;
    fail:
        while (n > 0)
            close(lfd[--n]);
        /* The port picked for 127.0.0.1 is taken on ::1: pick again. */
        if (r != -EADDRINUSE || strcmp(o->port, "0") != 0 || tries == 8 || n == 0)
            return r;
    }
}

/* The TLS server context of the listening side: the given certificate, or
 * an ephemeral one naming the n bound addresses, this host and localhost. */
static int server_ctx(const struct sk_p2p_opts *o, const struct sk_addr *a, unsigned n,
                      struct sk_tls_ctx **ctx, char fp[SK_TLS_FP_STRLEN])
{
    char addrs[2][SK_ADDR_STRLEN], host[256];
    const char *names[4];
    size_t nn = 0;
    for (unsigned i = 0; i < n && i < 2; i++)
        if (sk_addr_format_host(&a[i], addrs[nn], sizeof(addrs[nn])) >= 0 &&
            sk_tls_name_check(addrs[nn]) == 0) {
            names[nn] = addrs[nn];
            nn++;
        }
    if (gethostname(host, sizeof(host)) == 0) {
        host[sizeof(host) - 1] = '\0';
        if (sk_tls_name_check(host) == 0)
            names[nn++] = host;
    }
    names[nn++] = "localhost";
    struct sk_tls_server_opts so = *o->tls_server;
    so.names = names;
    so.nnames = nn;
    int r = sk_tls_server_ctx(&so, ctx, o->tls.why, o->tls.whylen);
    if (r == 0 && sk_tls_ctx_fingerprint(*ctx, fp, SK_TLS_FP_STRLEN) < 0)
        fp[0] = '\0';
    return r;
}

int sk_p2p_run(const struct sk_p2p_opts *o)
{
    static struct sk_session s; /* large buffers: not on the stack */
    struct sk_addr peer;
    struct sk_tls_ctx *sctx = NULL;
    struct sk_tls *t = NULL;
    int fd, r;

    memset(&s, 0, sizeof(s));
    s.fd = -1;
    if (o->listen) {
        struct sk_addr a[2];
        char fp[SK_TLS_FP_STRLEN] = "";
        int lfd[2], n = listen_all(o, lfd, a);
        if (n < 0)
            return n;
        if (o->tls_server && (r = server_ctx(o, a, (unsigned)n, &sctx, fp)) < 0) {
            while (n > 0)
                close(lfd[--n]);
            return r;
        }
        if (o->listening)
            o->listening(a, (unsigned)n, sctx ? fp : NULL);
        /* The terminal (and Ctrl-C handling) from here on. */
        if ((r = sk_tty_line_open(&s.tty, STDIN_FILENO, STDOUT_FILENO, "p2p> ")) < 0)
            fd = r;
        else
            fd = wait_peer(lfd, (unsigned)n, &peer);
        while (n > 0)
            close(lfd[--n]);
        if (r < 0)
            return r;
    } else {
        if ((r = sk_tty_line_open(&s.tty, STDIN_FILENO, STDOUT_FILENO, "p2p> ")) < 0)
            return r;
        fd = sk_tty_connect(o->host, o->port, o->family, 10000, &peer);
    }
    if (fd < 0) {
        r = fd;
        goto out;
    }
    s.fd = fd;
    if (sctx || o->tls.ctx) {
        r = sctx ? sk_tls_server(sctx, fd, &t)
                 : sk_tls_client(o->tls.ctx, fd, o->host, o->tls.sni, &t);
        if (r == 0)
            r = sk__session_tls(&s, t, 10000, o->tls.why, o->tls.whylen);
        else
            snprintf(o->tls.why, o->tls.whylen, "%s", sk_strerror(r));
        if (r < 0)
            goto out;
    }
    char a[SK_ADDR_STRLEN], msg[SK_ADDR_STRLEN + 80];
    sk_addr_format(&peer, a, sizeof(a));
    int ml = snprintf(msg, sizeof(msg), "*** connected with %s%s; /quit or Ctrl-D leaves", a,
                      s.tls ? " (tls)" : "");
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
out:
    sk__session_close(&s);
    sk_tls_ctx_free(sctx);
    sk_tty_line_close(&s.tty);
    return r;
}
