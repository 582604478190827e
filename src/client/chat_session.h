/*
 * chat_session.h - the session loop chat_client.c and p2p.c share: one
 * socket and the terminal, polled together (internal to src/client).
 */
#ifndef SOCKIT_CLIENT_CHAT_SESSION_H
#define SOCKIT_CLIENT_CHAT_SESSION_H

#include "client/tty_line.h"

#include <stdint.h>

enum {
    SK_SESSION_WE_LEFT = 0,   /* we left, and the other side closed (or took too long) */
    SK_SESSION_THEY_LEFT = 1, /* the other side closed first */
};

struct sk_session {
    struct sk_tty_line tty;
    int fd;
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

/* We are leaving: stop reading the terminal, wait for the other side. */
void sk__session_leave(struct sk_session *s);

/* Print p[0..n) cleaned of control sequences, with the timestamp if asked,
 * in color (an SGR string, NULL for none) when the terminal allows. */
void sk__session_show(struct sk_session *s, const char *color, const char *p, size_t n);

#endif
