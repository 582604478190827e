/*
 * chat_ws.c - the chat service's browser face (see chat_ws.h).
 *
 * A chat connection whose first bytes are "GET " is HTTP, never a nickname
 * (a nickname has no space: chat_line.c), so chat.c hands it here. Its head
 * is read whole (bounded by the input buffer); then "GET /" answers the
 * built-in page (chat_page.c), a GET with "Upgrade: websocket" and a valid
 * key answers 101 and the connection speaks RFC 6455 from then on, and
 * anything else is a 404 or 400. Each is answered once and the connection
 * ends after the flush, except the WebSocket member.
 *
 * Frames are parsed in place in the connection's input (ws_frame.c): a
 * frame is consumed only once it is whole, so the model's input buffer and
 * its backpressure hold a partial one, as they hold a partial line. A text
 * message (one frame, or fragments assembled in w->msg up to --max-line) is
 * one chat line; a message that would pass --max-line is closed with 1009
 * as soon as its length is known, invalid UTF-8 with 1007, an unmasked
 * frame or a broken sequence of fragments with 1002, binary with 1003.
 * Pings are answered, pongs ignored, a close is answered and the
 * connection ended. Outgoing lines are single unmasked text frames, written
 * all or nothing so the chat's queue rules (stalled readers) apply as for
 * everyone else.
 */
#include "chat_ws.h"

#include "net/head.h"
#include "sockit/conn.h"
#include "sockit/util.h"
#include "sockit/ws.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_MAX 16384

int sk__chat_ws_sniff(const char *p, size_t n)
{
    static const char get[] = "GET ";
    if (n >= 4)
        return memcmp(p, get, 4) == 0;
    return memcmp(p, get, n) == 0 ? -1 : 0;
}

/* ---- HTTP ---- */

static void http_answer(struct sk__chat_ws *w, struct sk_conn *c, int status, const char *reason,
                        const char *extra)
{
    char body[128];
    int bn = snprintf(body, sizeof(body), "%d %s\n", status, reason);
    sk_conn_printf(c,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: %d\r\n%sConnection: close\r\n\r\n%s",
                   status, reason, bn, extra ? extra : "", body);
    w->state = SK__WS_CLOSED;
    sk_conn_end(c);
}

static void send_page(struct sk__chat_ws *w, struct sk_conn *c)
{
    char head[512];
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.1 200 OK\r\n"
                      "Content-Type: text/html; charset=utf-8\r\n"
                      "Content-Length: %zu\r\n"
                      "Cache-Control: no-store\r\n"
                      "X-Content-Type-Options: nosniff\r\n"
                      "Content-Security-Policy: default-src 'none'; "
                      "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                      "connect-src 'self' ws: wss:; img-src 'none'\r\n"
                      "Connection: close\r\n\r\n",
                      sk__chat_page_len);
    w->state = SK__WS_CLOSED;
    if (sk_conn_room(c) < (size_t)hn + sk__chat_page_len ||
        sk_conn_write(c, head, (size_t)hn) < 0 ||
        sk_conn_write(c, sk__chat_page, sk__chat_page_len) < 0) {
        sk_conn_abort(c);
        return;
    }
    sk_conn_end(c);
}

/* Is tok (case-insensitive) one of the comma-separated list v[0..n)? */
static int list_has(const char *v, size_t n, const char *tok)
{
    size_t i = 0, tn;
    const char *t;
    while (sk__head_list_next(v, n, &i, &t, &tn))
        if (sk__head_ieq(t, tn, tok))
            return 1;
    return 0;
}

/* The whole head is p[0..len). Answers it; returns 1 when upgraded. */
static int http_request(struct sk__chat_ws *w, struct sk_conn *c, const char *p, size_t len)
{
    struct sk__head_scan s = {0};
    size_t b, e;
    if (!sk__head_line(&s, p, len, &b, &e))
        return http_answer(w, c, 400, "Bad Request", NULL), 0;
    /* "GET " TARGET " HTTP/1.x" */
    const char *line = p + b;
    size_t ln = e - b;
    const char *sp = ln > 4 ? memchr(line + 4, ' ', ln - 4) : NULL;
    if (!sp || (size_t)(line + ln - sp) != 9 || memcmp(sp, " HTTP/1.", 8) != 0 ||
        (sp[8] != '0' && sp[8] != '1'))
        return http_answer(w, c, 400, "Bad Request", NULL), 0;
    const char *target = line + 4;
    size_t tn = (size_t)(sp - target);
    int upgrade = 0, connection = 0, version = 0;
    const char *key = NULL;
    size_t key_n = 0;
    while (sk__head_line(&s, p, len, &b, &e) && e > b) {
        struct sk__head_field f;
        if (sk__head_field(p + b, e - b, &f) < 0)
            return http_answer(w, c, 400, "Bad Request", NULL), 0;
        if (sk__head_ieq(f.name, f.name_n, "upgrade"))
            upgrade |= list_has(f.value, f.value_n, "websocket");
        else if (sk__head_ieq(f.name, f.name_n, "connection"))
            connection |= list_has(f.value, f.value_n, "upgrade");
        else if (sk__head_ieq(f.name, f.name_n, "sec-websocket-version"))
            version = f.value_n == 2 && memcmp(f.value, "13", 2) == 0;
        else if (sk__head_ieq(f.name, f.name_n, "sec-websocket-key")) {
            key = f.value;
            key_n = f.value_n;
        }
    }
    if (upgrade) {
        char accept[SK_WS_ACCEPT_LEN + 1];
        if (!connection || sp[8] != '1' || !key || sk_ws_accept(key, key_n, accept) < 0)
            return http_answer(w, c, 400, "Bad Request", NULL), 0;
        if (!version)
            return http_answer(w, c, 426, "Upgrade Required", "Sec-WebSocket-Version: 13\r\n"), 0;
        sk_conn_printf(c,
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                       accept);
        w->state = SK__WS_OPEN;
        return 1;
    }
    /* The page is at "/" (a query is allowed: the page ignores it). */
    if ((tn == 1 || (tn > 1 && target[1] == '?')) && target[0] == '/')
        send_page(w, c);
    else
        http_answer(w, c, 404, "Not Found", NULL);
    return 0;
}

/* The end of the head in p[0..n) (the offset after its empty line), or 0.
 * The scan resumes where the last call stopped (the head stays at the start
 * of the input until it is whole), so a head trickling in is read once. */
static size_t head_end(struct sk__head_scan *s, const char *p, size_t n)
{
    size_t b, e;
    while (sk__head_line(s, p, n, &b, &e))
        if (e == b && b > 0)
            return s->line;
    return 0;
}

/* ---- WebSocket ---- */

size_t sk__chat_ws_overhead(size_t n)
{
    return n < 126 ? 2 : n <= 0xffff ? 4 : 10;
}

static int send_frame(struct sk_conn *c, int opcode, const void *p, size_t n)
{
    uint8_t head[SK_WS_HEAD_MAX];
    size_t hn = sk_ws_frame_header(head, 1, opcode, n);
    if (sk_conn_room(c) < hn + n)
        return -ENOBUFS;
    if (sk_conn_write(c, head, hn) < 0 || sk_conn_write(c, p, n) < 0)
        return -ENOBUFS;
    return 0;
}

int sk__chat_ws_send(struct sk_conn *c, const char *text, size_t n)
{
    return send_frame(c, SK_WS_TEXT, text, n);
}

void sk__chat_ws_close(struct sk__chat_ws *w, struct sk_conn *c, int code, const char *reason)
{
    if (w->state == SK__WS_OPEN) {
        uint8_t body[125];
        size_t rn = reason ? strlen(reason) : 0;
        if (rn > sizeof(body) - 2)
            rn = sizeof(body) - 2;
        body[0] = (uint8_t)(code >> 8);
        body[1] = (uint8_t)code;
        if (rn)
            memcpy(body + 2, reason, rn);
        send_frame(c, SK_WS_CLOSE, body, 2 + rn);
    }
    w->state = SK__WS_CLOSED;
    sk_conn_end(c);
}

void sk__chat_ws_free(struct sk__chat_ws *w)
{
    free(w->msg);
    w->msg = NULL;
}

/* A close frame's payload p[0..n), unmasked: is its code one a peer may
 * send, and its reason UTF-8? */
static int close_ok(const uint8_t *p, size_t n)
{
    if (n == 0)
        return 1;
    if (n == 1)
        return 0;
    int code = p[0] << 8 | p[1];
    int known = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
                (code >= 3000 && code <= 4999);
    return known && sk_ws_utf8_valid(p + 2, n - 2);
}

/* One control frame whose payload (unmasked) is p[0..n). */
static void control(struct sk__chat_ws *w, struct sk_conn *c, int opcode, const uint8_t *p,
                    size_t n)
{
    switch (opcode) {
    case SK_WS_PING:
        if (send_frame(c, SK_WS_PONG, p, n) < 0)
            sk_conn_abort(c);
        return;
    case SK_WS_CLOSE:
        if (!close_ok(p, n)) {
            sk__chat_ws_close(w, c, SK_WS_PROTOCOL_ERROR, "bad close frame");
            return;
        }
        /* Answer with the same code (none: none), then end. */
        if (n >= 2)
            send_frame(c, SK_WS_CLOSE, p, 2);
        else
            send_frame(c, SK_WS_CLOSE, p, 0);
        w->state = SK__WS_CLOSED;
        sk_conn_end(c);
        return;
    default: return; /* a pong */
    }
}

/* The frames of an upgraded connection; returns the bytes consumed. */
static size_t frames(struct sk__chat_ws *w, struct sk_conn *c, const uint8_t *p, size_t n,
                     size_t max_line, const struct sk__chat_ws_ops *ops, void *arg)
{
    size_t used = 0;
    /* A message never passes --max-line, nor what the input buffer can hold
     * whole with a header. */
    size_t in_max = sk_conn_input_max(c);
    size_t limit = in_max > SK_WS_HEAD_MAX ? SK_MIN(max_line, in_max - SK_WS_HEAD_MAX) : 0;

    while (w->state == SK__WS_OPEN && used < n) {
        struct sk_ws_frame f;
        ssize_t h = sk_ws_frame_parse(p + used, n - used, &f);
        if (h == 0)
            break;
        if (h < 0) {
            sk__chat_ws_close(w, c, (int)-h, "protocol error");
            return n;
        }
        if (!f.masked) {
            sk__chat_ws_close(w, c, SK_WS_PROTOCOL_ERROR, "client frames must be masked");
            return n;
        }
        int data = f.opcode < SK_WS_CLOSE;
        if (data) {
            if ((f.opcode == SK_WS_CONT) != (w->in_msg != 0)) {
                sk__chat_ws_close(w, c, SK_WS_PROTOCOL_ERROR, "unexpected fragment");
                return n;
            }
            if (f.opcode == SK_WS_BINARY) {
                sk__chat_ws_close(w, c, SK_WS_UNSUPPORTED, "text frames only");
                return n;
            }
            if (f.len > limit - w->msg_len) {
                sk__chat_ws_close(w, c, SK_WS_TOO_BIG, "message longer than --max-line");
                return n;
            }
        }
        if (n - used < f.head + f.len)
            break; /* wait for the whole frame */
        const uint8_t *payload = p + used + f.head;
        size_t len = (size_t)f.len;
        if (!data) {
            uint8_t ctl[125];
            memcpy(ctl, payload, len);
            sk_ws_unmask(ctl, len, f.mask, 0);
            used += f.head + len;
            control(w, c, f.opcode, ctl, len);
            continue;
        }
        if (!w->msg) {
            w->msg = malloc(limit ? limit : 1);
            if (!w->msg) {
                sk_conn_abort(c);
                return n;
            }
        }
        /* Appended past msg_len, committed only when taken: a message held
         * back by flood control is copied again when it is offered again. */
        memcpy(w->msg + w->msg_len, payload, len);
        sk_ws_unmask(w->msg + w->msg_len, len, f.mask, 0);
        if (!f.fin) {
            w->msg_len += len;
            w->in_msg = 1;
            used += f.head + len;
            continue;
        }
        size_t total = w->msg_len + len;
        if (!sk_ws_utf8_valid(w->msg, total)) {
            sk__chat_ws_close(w, c, SK_WS_INVALID_DATA, "invalid UTF-8");
            return n;
        }
        /* One line: a browser may end it with a line end. */
        if (total && w->msg[total - 1] == '\n')
            total--;
        if (total && w->msg[total - 1] == '\r')
            total--;
        int r = ops->line(arg, (const char *)w->msg, total);
        if (r == SK__WS_WAIT)
            break;
        used += f.head + len;
        w->msg_len = 0;
        w->in_msg = 0;
        if (r == SK__WS_STOP)
            return n;
    }
    if (w->state == SK__WS_CLOSED)
        return n;
    return used;
}

ssize_t sk__chat_ws_data(struct sk__chat_ws *w, struct sk_conn *c, const char *p, size_t n,
                         size_t max_line, const struct sk__chat_ws_ops *ops, void *arg)
{
    size_t used = 0;
    if (w->state == SK__WS_HTTP) {
        size_t end = head_end(&w->head, p, n);
        if (!end) {
            if (n >= SK_MIN(sk_conn_input_max(c), (size_t)HEAD_MAX))
                http_answer(w, c, 431, "Request Header Fields Too Large", NULL);
            return w->state == SK__WS_CLOSED ? (ssize_t)n : 0;
        }
        if (!http_request(w, c, p, end))
            return (ssize_t)n;
        used = end;
        ops->open(arg);
    }
    if (w->state != SK__WS_OPEN)
        return (ssize_t)n;
    used += frames(w, c, (const uint8_t *)p + used, n - used, max_line, ops, arg);
    return (ssize_t)used;
}
