/*
 * chat_ws.h - the chat service's browser face (chat_ws.c): a connection
 * whose first bytes are an HTTP GET gets the built-in web page, a 404, or,
 * with Upgrade: websocket, becomes a WebSocket chat member (one text frame
 * per line both ways). Internal to the chat service.
 */
#ifndef SOCKIT_CHAT_WS_H
#define SOCKIT_CHAT_WS_H

#include "net/head.h"
#include "sockit/conn.h"

#include <stddef.h>
#include <stdint.h>

enum {
    SK__WS_NONE = 0, /* a plain line member */
    SK__WS_HTTP,     /* reading the HTTP request head */
    SK__WS_OPEN,     /* upgraded: frames both ways */
    SK__WS_CLOSED,   /* a close frame was sent or the page answered: input ignored */
};

/* What chat_ws.c reports to the chat. */
enum {
    SK__WS_TAKEN = 0, /* the line was handled */
    SK__WS_WAIT,      /* flood control: offer this message again later */
    SK__WS_STOP,      /* the member is leaving: ignore the rest */
};

struct sk__chat_ws_ops {
    void (*open)(void *arg);                            /* upgraded: greet */
    int (*line)(void *arg, const char *line, size_t n); /* one text message */
};

/* Per-connection state, zeroed with the member. */
struct sk__chat_ws {
    int state;    /* SK__WS_* */
    int in_msg;   /* inside a fragmented message */
    uint8_t *msg; /* the message being assembled (max_line bytes) */
    size_t msg_len;
    struct sk__head_scan head; /* how far the HTTP head was scanned */
};

/* Does a connection whose input so far is p[0..n) speak HTTP? 1: yes
 * ("GET "), 0: no, -1: cannot tell yet (a prefix of "GET "). */
int sk__chat_ws_sniff(const char *p, size_t n);

/* Feed input (the HTTP head, then frames); returns the bytes consumed, as a
 * service's data() does. max_line bounds a message (longer: close 1009). */
ssize_t sk__chat_ws_data(struct sk__chat_ws *w, struct sk_conn *c, const char *p, size_t n,
                         size_t max_line, const struct sk__chat_ws_ops *ops, void *arg);

/* Framing of one outgoing line: its overhead in bytes, and the writing of
 * the frame (all or nothing: -ENOBUFS when it does not fit). */
size_t sk__chat_ws_overhead(size_t n);
int sk__chat_ws_send(struct sk_conn *c, const char *text, size_t n);

/* Send a close frame with code (once), then end the connection. */
void sk__chat_ws_close(struct sk__chat_ws *w, struct sk_conn *c, int code, const char *reason);

/* Release what the state holds (the connection is closing). */
void sk__chat_ws_free(struct sk__chat_ws *w);

/* The built-in page (chat_page.c): its bytes and length. */
extern const char sk__chat_page[];
extern const size_t sk__chat_page_len;

#endif
