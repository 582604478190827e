/* test_chat.c - the chat service driven with hand-made connections: no
 * socket, no model. Each test opens a few struct sk_conn, feeds them lines
 * through the service's callbacks (as sk__conn_feed would), and reads what
 * was queued in each connection's output buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/server.h"
#include "sockit/service.h"
#include "svc_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const struct sk_service sk_service_chat;

#define MAXC 8

struct room {
    struct sk_server srv;
    struct sk_conn c[MAXC];
    char got[MAXC][65536]; /* output taken so far, NUL-terminated */
};

static struct room *room_new(const char *const *opts)
{
    struct room *r = calloc(1, sizeof(*r));
    char err[256] = "";
    assert_non_null(r);
    sk_server_init(&r->srv);
    r->srv.svc = &sk_service_chat;
    assert_int_equal(sk_service_chat.create(&r->srv.svc_state), 0);
    for (; opts && opts[0]; opts += 2)
        assert_int_equal(
            sk_service_option(&sk_service_chat, r->srv.svc_state, opts[0], opts[1], err, 256), 0);
    assert_int_equal(sk_server_start_service(&r->srv, err, sizeof(err)), 0);
    return r;
}

static struct sk_conn *join(struct room *r, int i)
{
    struct sk_conn *c = &r->c[i];
    assert_int_equal(
        svc_conn_open(&sk_service_chat, &r->srv, c, (uint64_t)i + 1, r->srv.lim.out_max), 0);
    /* The member says nothing for the banner's delay (the chat waits for a
     * browser's "GET "): the deadline fires as a model's timer would. */
    if (c->deadline_ms) {
        c->deadline_ms = 0;
        assert_int_equal(sk_service_chat.timeout(c, "", 0), 0);
    }
    return c;
}

/* Feed bytes as a model would: append to `in`, call data() until it
 * consumes nothing more. Returns the data callback's last result. */
static ssize_t feed(struct room *r, int i, const char *p, size_t n)
{
    struct sk_conn *c = &r->c[i];
    assert_int_equal(sk_buf_append(&c->in, p, n), 0);
    ssize_t k = 0;
    while (sk_buf_len(&c->in) > 0) {
        if (c->flags & (SK_CONN_END | SK_CONN_ABORT)) {
            sk_buf_clear(&c->in);
            break;
        }
        k = sk_service_chat.data(c, sk_buf_data(&c->in), sk_buf_len(&c->in));
        if (k <= 0)
            break;
        sk_buf_consume(&c->in, (size_t)k);
    }
    return k;
}

static void say(struct room *r, int i, const char *line)
{
    feed(r, i, line, strlen(line));
}

/* Move what was queued for i into got[i] (and return it). */
static const char *take(struct room *r, int i)
{
    struct sk_conn *c = &r->c[i];
    size_t n = sk_buf_len(&c->out);
    size_t have = strlen(r->got[i]);
    assert_true(have + n < sizeof(r->got[i]));
    memcpy(r->got[i] + have, sk_buf_data(&c->out), n);
    r->got[i][have + n] = '\0';
    sk_buf_consume(&c->out, n);
    return r->got[i];
}

static void forget(struct room *r, int i)
{
    take(r, i);
    r->got[i][0] = '\0';
}

static void leave(struct room *r, int i)
{
    svc_conn_close(&sk_service_chat, &r->c[i]);
}

static void room_free(struct room *r)
{
    for (int i = 0; i < MAXC; i++)
        if (r->c[i].opened)
            leave(r, i);
    sk_server_close(&r->srv);
    free(r);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

#define HAS(s, sub) assert_non_null(strstr((s), (sub)))
#define HASNT(s, sub) assert_null(strstr((s), (sub)))

static void named(struct room *r, int i, const char *nick)
{
    join(r, i);
    say(r, i, nick);
    say(r, i, "\n");
    char want[64];
    snprintf(want, sizeof(want), "*** Welcome, %s!", nick);
    HAS(take(r, i), want);
    forget(r, i);
}

static void register_and_broadcast(void **state)
{
    (void)state;
    struct room *r = room_new(NULL);
    join(r, 0);
    HAS(take(r, 0), "Type your nickname");
    say(r, 0, "alice\n");
    HAS(take(r, 0), "*** Welcome, alice! 0 others here.");
    forget(r, 0);
    join(r, 1);
    say(r, 1, "/nick bob\n");
    HAS(take(r, 1), "*** Welcome, bob! 1 other here: alice.");
    HAS(take(r, 0), "*** bob joined\n");
    forget(r, 0);
    forget(r, 1);
    named(r, 2, "carol");
    forget(r, 0);
    forget(r, 1);

    say(r, 0, "hello all\n");
    assert_string_equal(take(r, 1), "<alice> hello all\n");
    assert_string_equal(take(r, 2), "<alice> hello all\n");
    assert_string_equal(take(r, 0), ""); /* never back to the sender */
    forget(r, 1);
    forget(r, 2);

    /* CRLF in, CRLF out for that client only */
    say(r, 1, "hi\r\n");
    assert_string_equal(take(r, 0), "<bob> hi\n");
    say(r, 1, "/who\r\n");
    HAS(take(r, 1), "*** 3 people here: carol bob alice\r\n");
    forget(r, 1);
    say(r, 0, "x\n");
    assert_string_equal(take(r, 1), "<alice> x\r\n");
    forget(r, 0);
    forget(r, 1);
    forget(r, 2);

    /* a line split over several reads */
    say(r, 2, "par");
    assert_string_equal(take(r, 0), "");
    say(r, 2, "tial\nnext\n");
    assert_string_equal(take(r, 0), "<carol> partial\n<carol> next\n");
    room_free(r);
}

static void nick_rules(void **state)
{
    (void)state;
    struct room *r = room_new(NULL);
    named(r, 0, "Alice");
    join(r, 1);
    forget(r, 1);
    say(r, 1, "alice\n");
    HAS(take(r, 1), "*** The nickname Alice is taken. Choose another:");
    forget(r, 1);
    say(r, 1, "no spaces\n");
    HAS(take(r, 1), "*** Invalid nickname 'no spaces': a nickname may use only");
    forget(r, 1);
    say(r, 1, "0123456789abcdef0123456789abcdefX\n");
    HAS(take(r, 1), "at most 32 characters");
    forget(r, 1);
    say(r, 1, "/me waves\n");
    HAS(take(r, 1), "Choose a nickname first");
    forget(r, 1);
    say(r, 1, "\x1b[31mevil\n");
    HAS(take(r, 1), "Invalid nickname 'evil'"); /* the escape is not echoed */
    forget(r, 1);
    say(r, 1, "bob\n");
    HAS(take(r, 1), "*** Welcome, bob!");
    forget(r, 0);
    forget(r, 1);

    say(r, 1, "/nick ALICE\n");
    HAS(take(r, 1), "is taken");
    say(r, 1, "/nick robert\n");
    HAS(take(r, 1), "*** You are now known as robert");
    assert_string_equal(take(r, 0), "*** bob is now known as robert\n");
    forget(r, 0);
    say(r, 0, "/nick alice\n"); /* a change of case only */
    HAS(take(r, 1), "*** Alice is now known as alice");
    say(r, 0, "/nick\n");
    HAS(take(r, 0), "*** Usage: /nick NAME");

    /* a race: two newcomers claim one name; exactly one wins */
    join(r, 2);
    join(r, 3);
    forget(r, 2);
    forget(r, 3);
    say(r, 2, "dave\n");
    say(r, 3, "DAVE\n");
    HAS(take(r, 2), "Welcome, dave!");
    HAS(take(r, 3), "is taken");
    room_free(r);
}

static void commands(void **state)
{
    (void)state;
    struct room *r = room_new(NULL);
    named(r, 0, "alice");
    named(r, 1, "bob");
    named(r, 2, "carol");
    forget(r, 0);
    forget(r, 1);
    say(r, 0, "/me waves\n");
    assert_string_equal(take(r, 1), "* alice waves\n");
    forget(r, 1);
    forget(r, 2);

    say(r, 0, "/msg BOB psst\n");
    assert_string_equal(take(r, 1), "*alice* psst\n");
    assert_string_equal(take(r, 2), ""); /* private */
    assert_string_equal(take(r, 0), "-> *bob* psst\n");
    forget(r, 0);
    forget(r, 1);
    say(r, 0, "/msg nobody hi\n");
    HAS(take(r, 0), "No one here is called nobody");
    forget(r, 0);
    say(r, 0, "/msg bob\n");
    HAS(take(r, 0), "Usage: /msg NICK TEXT");
    forget(r, 0);

    say(r, 0, "/help\n");
    const char *h = take(r, 0);
    HAS(h, "/nick NAME");
    HAS(h, "/who");
    HAS(h, "/me ACTION");
    HAS(h, "/msg NICK TEXT");
    HAS(h, "/quit [REASON]");
    forget(r, 0);
    say(r, 0, "/frob\n");
    HAS(take(r, 0), "*** Unknown command /frob (/help lists the commands");
    forget(r, 0);
    forget(r, 1);
    forget(r, 2);

    say(r, 1, "/quit gone fishing\nignored\n");
    HAS(take(r, 1), "*** Bye.");
    assert_true(r->c[1].flags & SK_CONN_END);
    assert_string_equal(take(r, 0), ""); /* announced once the connection closes */
    leave(r, 1);
    assert_string_equal(take(r, 0), "*** bob left (quit: gone fishing)\n");
    assert_string_equal(take(r, 2), "*** bob left (quit: gone fishing)\n");
    forget(r, 0);
    forget(r, 2);
    /* a dropped connection is announced too */
    leave(r, 2);
    assert_string_equal(take(r, 0), "*** carol left (connection closed)\n");
    room_free(r);
}

static void slash_escape(void **state)
{
    (void)state;
    struct room *r = room_new(NULL);
    named(r, 0, "alice");
    named(r, 1, "bob");
    forget(r, 0);
    say(r, 0, "//etc/passwd\n");
    assert_string_equal(take(r, 1), "<alice> /etc/passwd\n");
    room_free(r);
}

static void sanitised_relay(void **state)
{
    (void)state;
    struct room *r = room_new(NULL);
    named(r, 0, "alice");
    named(r, 1, "bob");
    forget(r, 0);
    say(r, 0, "\x1b]0;pwned\x07\x1b[2Jhi \x1b[31mred\x1b[0m\tcaf\xc3\xa9 \xff!\n");
    assert_string_equal(take(r, 1), "<alice> hi red caf\xc3\xa9 \xef\xbf\xbd!\n");
    forget(r, 1);
    /* a line of nothing printable is not relayed */
    say(r, 0, "\x1b[2J\x07\n");
    assert_string_equal(take(r, 1), "");
    /* binary garbage with NULs */
    feed(r, 0, "a\0b\x01\x02\n", 6);
    assert_string_equal(take(r, 1), "<alice> ab\n");
    room_free(r);
}

static void long_lines(void **state)
{
    (void)state;
    static const char *const opts[] = {"max-line", "64", NULL};
    struct room *r = room_new(opts);
    named(r, 0, "alice");
    named(r, 1, "bob");
    forget(r, 0);
    char big[200];
    memset(big, 'x', sizeof(big));
    /* arrives in pieces, with no line end yet */
    feed(r, 0, big, 100);
    HAS(take(r, 0), "*** Line too long (more than 64 bytes): not sent.");
    feed(r, 0, big, 100);
    feed(r, 0, "xx\nafter\n", 9);
    assert_string_equal(take(r, 1), "<alice> after\n");
    assert_int_equal(count(take(r, 0), "Line too long"), 1);
    forget(r, 0);
    forget(r, 1);
    /* a whole long line in one read */
    char line[80];
    memset(line, 'y', 70);
    memcpy(line + 70, "\nok\n", 4);
    feed(r, 0, line, 74);
    HAS(take(r, 0), "Line too long");
    assert_string_equal(take(r, 1), "<alice> ok\n");
    forget(r, 1);
    /* exactly the limit passes, with a CR */
    memset(line, 'z', 64);
    memcpy(line + 64, "\r\n", 2);
    feed(r, 0, line, 66);
    assert_int_equal(strlen(take(r, 1)), strlen("<alice> ") + 64 + 1);
    room_free(r);
}

static void burst_within_stall_time(void **state)
{
    (void)state;
    /* Over --max-queue within one burst, but not for --stall: kept. */
    static const char *const opts[] = {"max-queue", "2k", "stall", "10s", NULL};
    struct room *r = room_new(opts);
    named(r, 0, "alice");
    named(r, 1, "bob");
    char line[100];
    memset(line, 'm', 99);
    line[99] = '\n';
    for (int k = 0; k < 40; k++)
        feed(r, 0, line, 100);
    assert_false(r->c[1].flags & SK_CONN_ABORT);
    assert_int_equal(count(take(r, 1), "<alice> "), 40);
    room_free(r);
}

static void stalled_reader(void **state)
{
    (void)state;
    static const char *const opts[] = {"max-queue", "2k", "stall", "0", NULL};
    struct room *r = room_new(opts);
    named(r, 0, "alice");
    named(r, 1, "bob");
    named(r, 2, "carol");
    forget(r, 0);
    forget(r, 1);
    char line[110];
    memset(line, 'm', 99);
    line[99] = '\n';
    /* carol never reads; bob does */
    for (int k = 0; k < 40; k++) {
        feed(r, 0, line, 100);
        take(r, 1);
    }
    assert_true(r->c[2].flags & SK_CONN_ABORT);
    assert_false(r->c[1].flags & SK_CONN_ABORT);
    assert_true(sk_conn_pending(&r->c[2]) <= 2048);
    assert_int_equal(count(r->got[1], "<alice> "), 40); /* bob got every line */
    forget(r, 1);
    leave(r, 2);
    assert_string_equal(take(r, 1), "*** carol left (dropped: not reading (output queue full))\n");
    room_free(r);
}

/* Flood control: a burst of two seconds' worth goes through, the rest is
 * held (input kept, the member's deadline armed); released early (its peer
 * closed), what was beyond the budget is refused with a notice. Another
 * member, within its own budget, is not held. */
static void flood_budget(void **state)
{
    (void)state;
    static const char *const opts[] = {"flood-lines", "10", "flood-time", "1", NULL};
    struct room *r = room_new(opts);
    named(r, 0, "alice");
    named(r, 1, "bob");
    forget(r, 0);
    forget(r, 1);
    char lines[30 * 4 + 1];
    for (unsigned i = 0; i < 30; i++)
        memcpy(lines + 4 * i, (char[]){'l', (char)('0' + i / 10), (char)('0' + i % 10), '\n'}, 4);
    lines[30 * 4] = '\0';
    feed(r, 0, lines, strlen(lines));
    const char *got = take(r, 1);
    HAS(got, "<alice> l18\n"); /* 20 = 2 s x 10 lines a second, the nickname one of them */
    HASNT(got, "l19");
    assert_true(r->c[0].flags & SK_CONN_HOLD); /* the rest waits ... */
    assert_true(r->c[0].deadline_ms > 0);      /* ... for the budget */
    assert_int_equal(sk_buf_len(&r->c[0].in), 11 * 4);
    /* bob, within his budget, is not held. */
    say(r, 1, "hi\n");
    assert_false(r->c[1].flags & SK_CONN_HOLD);
    HAS(take(r, 0), "<bob> hi\n");
    /* The deadline comes early (the peer closed): the rest is refused. */
    assert_int_equal(
        sk_service_chat.timeout(&r->c[0], sk_buf_data(&r->c[0].in), sk_buf_len(&r->c[0].in)),
        0); /* it consumes nothing: the held input is fed again */
    assert_false(r->c[0].flags & SK_CONN_HOLD);
    feed(r, 0, "", 0);
    assert_int_equal(sk_buf_len(&r->c[0].in), 0);
    assert_null(strstr(take(r, 1), "l19"));
    HAS(take(r, 0), "*** Flood control: 1 line not sent (at most 10 lines");
    room_free(r);
}

static void room_full(void **state)
{
    (void)state;
    static const char *const opts[] = {"max-clients", "2", NULL};
    struct room *r = room_new(opts);
    named(r, 0, "alice");
    named(r, 1, "bob");
    forget(r, 0);
    join(r, 2);
    HAS(take(r, 2), "the room is full (2 people)");
    assert_true(r->c[2].flags & SK_CONN_END);
    leave(r, 2);
    assert_string_equal(take(r, 0), ""); /* never joined: no leave notice */
    leave(r, 1);                         /* a place frees up */
    join(r, 3);
    assert_false(r->c[3].flags & SK_CONN_END);
    HAS(take(r, 3), "Type your nickname");
    room_free(r);
}

static void transcript(void **state)
{
    (void)state;
    char path[] = "/tmp/sockit-chat-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const char *const opts[] = {"log", path, NULL};
    struct room *r = room_new(opts);
    named(r, 0, "alice");
    named(r, 1, "bob");
    say(r, 0, "hello\n");
    say(r, 0, "/msg bob secret\n");
    say(r, 1, "/me nods\n");
    leave(r, 1);
    room_free(r);
    FILE *f = fopen(path, "r");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    HAS(buf, "*** alice joined\n");
    HAS(buf, "<alice> hello\n");
    HAS(buf, "* bob nods\n");
    HAS(buf, "*** bob left (connection closed)\n");
    HASNT(buf, "secret");
    /* every line starts with a timestamp: YYYY-MM-DD HH:MM:SS +ZZZZ */
    for (char *l = buf; *l; l = strchr(l, '\n') + 1) {
        assert_true(l[4] == '-' && l[7] == '-' && l[10] == ' ' && l[13] == ':');
    }
}

static void options(void **state)
{
    (void)state;
    void *st;
    char err[256];
    assert_int_equal(sk_service_chat.create(&st), 0);
    assert_int_equal(sk_service_option(&sk_service_chat, st, "max-line", "10", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(sk_service_option(&sk_service_chat, st, "max-clients", "0", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(
        sk_service_option(&sk_service_chat, st, "operator", "bad name", err, sizeof(err)), -EINVAL);
    HAS(err, "--operator");
    assert_int_equal(sk_service_option(&sk_service_chat, st, "max-line", "8k", err, sizeof(err)),
                     0);
    sk_service_chat.destroy(st);

    /* --max-line must fit in the input buffer */
    struct sk_server srv;
    sk_server_init(&srv);
    srv.svc = &sk_service_chat;
    sk_service_chat.create(&srv.svc_state);
    sk_service_option(&sk_service_chat, srv.svc_state, "max-line", "1M", err, sizeof(err));
    assert_int_equal(sk_server_start_service(&srv, err, sizeof(err)), -EINVAL);
    HAS(err, "--max-input");
    sk_server_close(&srv);
}

/* Rooms: isolation, notices to the room concerned, /msg across rooms,
 * /names, /who, /list, /topic, a room gone with its last member, the
 * --max-rooms refusal. */
static void rooms(void **state)
{
    (void)state;
    static const char *const opts[] = {"max-rooms", "2", NULL};
    struct room *r = room_new(opts);
    named(r, 0, "alice");
    named(r, 1, "bob");
    named(r, 2, "carol");
    for (int i = 0; i < 3; i++)
        forget(r, i);

    say(r, 0, "/join #Dev\n");
    HAS(take(r, 0), "*** You are now in #Dev: 0 others here.\n");
    HAS(take(r, 1), "*** alice left for #Dev\n");
    HAS(take(r, 2), "*** alice left for #Dev\n");
    forget(r, 0);
    forget(r, 1);
    forget(r, 2);
    say(r, 1, "/join dev\n"); /* the same room, whatever the case, '#' or not */
    HAS(take(r, 1), "*** You are now in #Dev: 1 other here: alice.\n");
    HAS(take(r, 0), "*** bob joined #Dev\n");
    HAS(take(r, 2), "*** bob left for #Dev\n");
    for (int i = 0; i < 3; i++)
        forget(r, i);

    /* messages and actions stay in the room */
    say(r, 0, "in dev\n/me waves\n");
    assert_string_equal(take(r, 1), "<alice> in dev\n* alice waves\n");
    assert_string_equal(take(r, 2), "");
    say(r, 2, "in lobby\n");
    assert_string_equal(take(r, 0), "");
    HASNT(take(r, 1), "in lobby");
    forget(r, 1);
    /* /msg reaches any room */
    say(r, 2, "/msg ALICE psst\n");
    assert_string_equal(take(r, 0), "*carol* psst\n");
    forget(r, 0);
    forget(r, 2);

    say(r, 0, "/names\n");
    HAS(take(r, 0), "*** 2 people in #Dev: bob alice\n");
    forget(r, 0);
    say(r, 2, "/names\n");
    HAS(take(r, 2), "*** 1 person in #lobby: carol\n");
    forget(r, 2);
    say(r, 2, "/who\n");
    HAS(take(r, 2), "*** 3 people here: carol bob(#Dev) alice(#Dev)\n");
    forget(r, 2);

    /* topics: shown, set for the whole room, bounded */
    say(r, 0, "/topic\n");
    HAS(take(r, 0), "*** #Dev has no topic");
    forget(r, 0);
    say(r, 0, "/topic  C \x1b[31mand\x1b[0m Rust \n");
    HAS(take(r, 0), "*** alice set the topic of #Dev: C and Rust\n");
    HAS(take(r, 1), "*** alice set the topic of #Dev: C and Rust\n");
    assert_string_equal(take(r, 2), "");
    forget(r, 0);
    forget(r, 1);
    char longtopic[300];
    memset(longtopic, 'x', sizeof(longtopic));
    memcpy(longtopic, "/topic ", 7);
    memcpy(longtopic + 7 + 201, "\n", 2); /* 201 bytes of topic */
    say(r, 1, longtopic);
    HAS(take(r, 1), "*** Topic too long (more than 200 bytes): not set.");
    forget(r, 1);
    say(r, 2, "/list\n");
    HAS(take(r, 2), "*** 2 rooms:\n***   #lobby (1 person)\n***   #Dev (2 people): C and Rust\n");
    forget(r, 2);

    /* room names and the limit */
    say(r, 2, "/join #no.dots\n");
    HAS(take(r, 2), "*** Invalid room name '#no.dots': a room name may use only");
    forget(r, 2);
    say(r, 2, "/join #lobby\n");
    HAS(take(r, 2), "*** You are in #lobby already.");
    forget(r, 2);
    say(r, 2, "/part\n");
    HAS(take(r, 2), "nobody parts");
    forget(r, 2);
    say(r, 2, "/join #two\n");
    HAS(take(r, 2), "*** You are now in #two");
    forget(r, 2);
    say(r, 2, "/join #three\n"); /* #Dev and #two: the limit */
    HAS(take(r, 2), "*** Cannot open #three: there are 2 rooms besides #lobby");
    forget(r, 2);
    say(r, 2, "/part\n"); /* #two empties: gone */
    HAS(take(r, 2), "*** You are now in #lobby: 0 others here.");
    forget(r, 2);
    say(r, 2, "/join #three\n");
    HAS(take(r, 2), "*** You are now in #three");
    forget(r, 2);
    say(r, 2, "/part\n");
    forget(r, 2);

    /* a leave is announced in the room concerned only */
    leave(r, 1);
    assert_string_equal(take(r, 0), "*** bob left (connection closed)\n");
    assert_string_equal(take(r, 2), "");
    /* the last one out: the room goes, its topic with it */
    say(r, 0, "/part\n");
    HAS(take(r, 2), "*** alice joined #lobby\n");
    forget(r, 0);
    forget(r, 2);
    say(r, 0, "/join #dev\n");
    HAS(take(r, 0), "*** You are now in #dev: 0 others here.\n"); /* new, as now written */
    HASNT(take(r, 0), "Topic");
    room_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_and_broadcast),
        cmocka_unit_test(nick_rules),
        cmocka_unit_test(commands),
        cmocka_unit_test(slash_escape),
        cmocka_unit_test(sanitised_relay),
        cmocka_unit_test(long_lines),
        cmocka_unit_test(stalled_reader),
        cmocka_unit_test(burst_within_stall_time),
        cmocka_unit_test(flood_budget),
        cmocka_unit_test(room_full),
        cmocka_unit_test(transcript),
        cmocka_unit_test(options),
        cmocka_unit_test(rooms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
