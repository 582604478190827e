/* fuzz_ws.c - WebSocket framing (ws.h) and the chat's browser face must take
 * any bytes. Properties: a complete header's every prefix is "incomplete",
 * and re-encoding what was parsed parses back the same; UTF-8 validity of
 * two valid halves holds for the whole. Then the service: after an upgrade,
 * the input is dealt out as client bytes in chunks to a browser member
 * beside a line member; the browser's output must stay a sequence of
 * well-formed unmasked server frames (text, pong or close), the line
 * member's output clean text, and nothing may crash or leak. */
#include "sockit/server.h"
#include "sockit/service.h"
#include "sockit/ws.h"

#include "../tests/unit/svc_conn.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct sk_service sk_service_chat;

static void check_parser(const uint8_t *data, size_t size)
{
    struct sk_ws_frame f, g;
    ssize_t r = sk_ws_frame_parse(data, size, &f);
    if (r < 0 && r != -SK_WS_PROTOCOL_ERROR)
        abort();
    if (r > 0) {
        if (r > SK_WS_HEAD_MAX || (size_t)r != f.head)
            abort();
        for (size_t k = 0; k < (size_t)r; k++)
            if (sk_ws_frame_parse(data, k, &g) != 0)
                abort();
        uint8_t h[SK_WS_HEAD_MAX];
        size_t n = sk_ws_frame_header(h, f.fin, f.opcode, f.len);
        if (sk_ws_frame_parse(h, n, &g) != (ssize_t)n || g.len != f.len || g.opcode != f.opcode ||
            g.fin != f.fin || g.masked)
            abort();
    }
    size_t half = size / 2;
    if (sk_ws_utf8_valid(data, half) && sk_ws_utf8_valid(data + half, size - half) &&
        !sk_ws_utf8_valid(data, size))
        abort();
}

static void conn_open(struct sk_server *srv, struct sk_conn *c, uint64_t id)
{
    if (svc_conn_open(&sk_service_chat, srv, c, id, 16384) == -ENOMEM)
        abort();
}

static void conn_close(struct sk_conn *c)
{
    svc_conn_close(&sk_service_chat, c);
}

static void feed(struct sk_conn *c, const void *p, size_t n)
{
    svc_conn_feed(&sk_service_chat, c, p, n);
}

/* The browser's output after its 101 head: whole server frames only. */
static void drain_frames(struct sk_conn *c, int *past_head)
{
    const uint8_t *p = (const uint8_t *)sk_buf_data(&c->out);
    size_t n = sk_buf_len(&c->out), used = 0;
    if (!*past_head) {
        const uint8_t *e = memmem(p, n, "\r\n\r\n", 4);
        if (!e)
            return;
        if (memcmp(p, "HTTP/1.1 101 ", 13) != 0)
            abort();
        used = (size_t)(e + 4 - p);
        *past_head = 1;
    }
    while (used < n) {
        struct sk_ws_frame f;
        ssize_t r = sk_ws_frame_parse(p + used, n - used, &f);
        if (r <= 0 || f.masked || !f.fin || n - used - (size_t)r < f.len)
            abort(); /* the service writes whole frames, all or nothing */
        if (f.opcode != SK_WS_TEXT && f.opcode != SK_WS_PONG && f.opcode != SK_WS_CLOSE)
            abort();
        if (f.opcode == SK_WS_TEXT && !sk_ws_utf8_valid(p + used + r, (size_t)f.len))
            abort();
        used += (size_t)r + (size_t)f.len;
    }
    sk_buf_consume(&c->out, used);
}

static void drain_text(struct sk_conn *c)
{
    const unsigned char *p = (const unsigned char *)sk_buf_data(&c->out);
    size_t n = sk_buf_len(&c->out);
    for (size_t i = 0; i < n; i++)
        if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\r') || p[i] == 0x7f)
            abort();
    sk_buf_consume(&c->out, n);
}

/* One server for the whole run (its init maps the shared counters: a page
 * mapped, faulted in and unmapped per input); the service's state is new for
 * every input, so an input's outcome never depends on the ones before it. */
static struct sk_server srv;

static void fuzz_service(const uint8_t *data, size_t size)
{
    static const char head[] = "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    struct sk_conn web, line;
    char err[256];
    int past_head = 0;

    if (!srv.svc) {
        sk_server_init(&srv);
        srv.svc = &sk_service_chat;
        srv.lim.in_max = 1024;
    }
    if (sk_service_chat.create(&srv.svc_state) < 0)
        abort();
    sk_service_option(&sk_service_chat, srv.svc_state, "max-line", "200", err, sizeof(err));
    sk_service_option(&sk_service_chat, srv.svc_state, "stall", "0", err, sizeof(err));
    if (sk_server_start_service(&srv, err, sizeof(err)) < 0)
        abort();
    conn_open(&srv, &line, 1);
    conn_open(&srv, &web, 2);
    feed(&line, "bob\n", 4);
    feed(&web, head, sizeof(head) - 1);
    size_t i = 0;
    while (i < size) {
        size_t len = (size_t)(data[i++] & 0x3f) + 1;
        if (len > size - i)
            len = size - i;
        feed(&web, data + i, len);
        i += len;
        drain_frames(&web, &past_head);
        drain_text(&line);
    }
    drain_frames(&web, &past_head);
    drain_text(&line);
    conn_close(&web);
    conn_close(&line);
    sk_service_chat.destroy(srv.svc_state);
    srv.svc_state = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_parser(data, size);
    fuzz_service(data, size);
    return 0;
}
