/* fuzz_chat.c - the chat line functions must take any bytes: the sanitiser
 * never writes past its output, never emits invalid UTF-8 or a control
 * character, and is idempotent; the parser's pointers stay inside the line;
 * a room name /join accepts is one sk_chat_room_check() accepts.
 * Then the whole service: the input is dealt out in chunks to a room of
 * hand-made connections (as a model would feed them), with connections
 * closing and reopening, moving between rooms (at most two besides the
 * lobby: the limit is reached); nothing may crash, leak or relay a control
 * byte. */
#include "sockit/chat.h"
#include "sockit/server.h"
#include "sockit/service.h"

#include "../tests/unit/svc_conn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Is s[0..n) valid UTF-8 with no C0/C1 control and no ESC? */
static int clean_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char b = s[i];
        size_t len = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        if (b < 0x20 || b == 0x7f || (b >= 0x80 && b < 0xc2) || b > 0xf4 || i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        if (b == 0xc2 && s[i + 1] < 0xa0)
            return 0; /* a C1 control */
        i += len;
    }
    return 1;
}

extern const struct sk_service sk_service_chat;

#define ROOM 3

static void conn_open(struct sk_server *srv, struct sk_conn *c, uint64_t id)
{
    /* small output: queue limits are reached */
    if (svc_conn_open(&sk_service_chat, srv, c, id, 8192) == -ENOMEM)
        abort();
}

static void conn_close(struct sk_conn *c)
{
    svc_conn_close(&sk_service_chat, c);
}

/* What the room sent must be clean apart from line ends. A connection that
 * became a WebSocket member (its output began "HTTP/1.1 101 ") gets binary
 * frame headers: fuzz_ws.c checks those. */
static void drain(struct sk_conn *c)
{
    const unsigned char *p = (const unsigned char *)sk_buf_data(&c->out);
    size_t n = sk_buf_len(&c->out);
    static char upgraded; /* the mark: the harness is these connections' model */
    if (!c->model_data && n >= 13 && memcmp(p, "HTTP/1.1 101 ", 13) == 0)
        c->model_data = &upgraded;
    if (c->model_data) {
        sk_buf_consume(&c->out, n);
        return;
    }
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
    struct sk_conn c[ROOM];
    char err[256];
    uint64_t ids = 0;

    if (!srv.svc) {
        sk_server_init(&srv);
        srv.svc = &sk_service_chat;
        srv.lim.in_max = 2048;
    }
    if (sk_service_chat.create(&srv.svc_state) < 0)
        abort();
    sk_service_option(&sk_service_chat, srv.svc_state, "max-line", "200", err, sizeof(err));
    sk_service_option(&sk_service_chat, srv.svc_state, "max-queue", "1k", err, sizeof(err));
    sk_service_option(&sk_service_chat, srv.svc_state, "stall", "0", err, sizeof(err));
    sk_service_option(&sk_service_chat, srv.svc_state, "max-clients", "2", err, sizeof(err));
    sk_service_option(&sk_service_chat, srv.svc_state, "max-rooms", "2", err, sizeof(err));
    if (sk_server_start_service(&srv, err, sizeof(err)) < 0)
        abort();
    for (int i = 0; i < ROOM; i++)
        conn_open(&srv, &c[i], ++ids);
    size_t i = 0;
    while (i < size) {
        unsigned ctl = data[i++];
        struct sk_conn *x = &c[ctl % ROOM];
        size_t len = ((ctl >> 2) & 0x1f) + 1;
        if (len > size - i)
            len = size - i;
        if ((ctl & 0xe0) == 0xe0 || (x->flags & (SK_CONN_END | SK_CONN_ABORT))) {
            conn_close(x); /* a hang-up, or the service asked to close */
            conn_open(&srv, x, ++ids);
        }
        svc_conn_feed(&sk_service_chat, x, data + i, len);
        i += len;
        if (ctl & 0x80) /* this client reads its output */
            drain(x);
    }
    for (int k = 0; k < ROOM; k++) {
        drain(&c[k]);
        conn_close(&c[k]);
    }
    sk_service_chat.destroy(srv.svc_state);
    srv.svc_state = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_service(data, size);

    const char *in = (const char *)data;
    size_t cap = 3 * size + 1;
    char *out = malloc(cap), *again = malloc(cap);
    if (!out || !again)
        goto done;
    size_t n = sk_chat_sanitize(in, size, out, cap);
    if (n > cap || !clean_utf8((const unsigned char *)out, n))
        abort();
    size_t m = sk_chat_sanitize(out, n, again, cap);
    if (m != n || memcmp(out, again, n) != 0)
        abort();
    /* a small output buffer: bounded, whole characters only */
    size_t small = sk_chat_sanitize(in, size, again, size / 2);
    if (small > size / 2 || !clean_utf8((const unsigned char *)again, small))
        abort();

    struct sk_chat_cmd c;
    sk_chat_parse(in, size, &c);
    if (c.arg < in || c.arg + c.arg_len > in + size)
        abort();
    if (c.target && (c.target < in || c.target + c.target_len > in + size))
        abort();
    const char *why;
    if (sk_chat_nick_check(in, size, &why) == 0 && (size == 0 || size > SK_CHAT_NICK_MAX))
        abort();
    char room[SK_CHAT_ROOM_MAX + 1];
    int rl = sk_chat_room_name(in, size, room, &why);
    if (rl >= 0 &&
        (rl > SK_CHAT_ROOM_MAX || (size_t)rl != strlen(room) ||
         sk_chat_room_check(room, (size_t)rl, &why) < 0 || !sk_chat_room_equal(room, room)))
        abort();
    if (rl < 0 && sk_chat_room_check(in, size, &why) == 0)
        abort();   /* a valid name is always accepted as it is */
    if (rl >= 0) { /* the folded name is one room with the name, and a fixed point */
        char folded[SK_CHAT_ROOM_MAX + 1], again_f[SK_CHAT_ROOM_MAX + 1];
        sk_chat_room_fold(room, (size_t)rl, folded);
        sk_chat_room_fold(folded, (size_t)rl, again_f);
        if (!sk_chat_room_equal(room, folded) || strcmp(folded, again_f) != 0 ||
            sk_chat_room_check(folded, (size_t)rl, &why) < 0)
            abort();
    }
done:
    free(out);
    free(again);
    return 0;
}
