/*
 * chat_session.h - the session loop chat_client.c and p2p.c share: one
 * socket and the terminal, polled together (internal to src/client).
 */
#ifndef SOCKIT_CLIENT_CHAT_SESSION_H
#define SOCKIT_CLIENT_CHAT_SESSION_H

#include "client/tty_line.h"

#include <stddef.h>
#include <stdint.h>

struct sk_tls;

enum {
    SK_SESSION_WE_LEFT = 0,   /* we left, and the other side closed (or took too long) */
    SK_SESSION_THEY_LEFT = 1, /* the other side closed first */
};

struct sk_session {
    struct sk_tty_line tty;
    int fd;
    struct sk_tls *tls; /* TLS over fd (its handshake done; fd nonblocking); NULL: plain */
    short rwant;        /* TLS: what the socket is polled for (what the last read waits for) */
    int timestamps;
    int quitting; /* we left: waiting (bounded) for the other side to close */
    int64_t quit_deadline;
    int err;            /* the first send error */
    int64_t hold_until; /* our input is not read before this time (sk_now_ms); 0: no hold */
    char rbuf[65536];
    size_t rlen;
    /* a line from the other side / typed by us (no line end) */
    void (*remote)(struct sk_session *s, const char *p, size_t n);
    void (*local)(struct sk_session *s, const char *p, size_t n);
    void (*local_eof)(struct sk_session *s); /* end of our input */
};

/* Poll until the session ends. Returns SK_SESSION_WE_LEFT,
 * SK_SESSION_THEY_LEFT, -EINTR (a stop signal) or another negative errno. */
int sk__session_run(struct sk_session *s);

/* Send p[0..n) and a LF. Returns 0 or a negative errno (also kept in err). */
int sk__session_send(struct sk_session *s, const char *p, size_t n);

/* Run the TLS handshake of t over s->fd within timeout_ms; then the session
 * reads and writes through t (it owns it and frees it in
 * sk__session_close()). Nothing is sent before the handshake, and with it
 * the peer's verification, succeeded. Returns 0, or the failure (SK_ETLS_*,
 * -ETIMEDOUT, ...) with its sentence in why. */
int sk__session_tls(struct sk_session *s, struct sk_tls *t, int timeout_ms, char *why,
                    size_t whylen);

/* Send p[0..n) as it is (through TLS when on). Returns 0 or a negative errno. */
int sk__session_write(struct sk_session *s, const char *p, size_t n);

/* Half-close: close_notify (TLS), then shutdown(SHUT_WR). */
void sk__session_shutdown(struct sk_session *s);

/* Free the TLS connection (close_notify first, best effort) and close fd. */
void sk__session_close(struct sk_session *s);

/* We are leaving: stop reading the terminal, wait for the other side. */
void sk__session_leave(struct sk_session *s);

/* Print p[0..n) cleaned of control sequences, with the timestamp if asked,
 * in color (an SGR string, NULL for none) when the terminal allows. */
void sk__session_show(struct sk_session *s, const char *color, const char *p, size_t n);

#endif
