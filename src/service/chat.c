/*
 * chat.c - the chat service: a multi-client chat room over a plain-text line
 * protocol that nc, telnet and socat can speak.
 *
 * A hub service (SK_SVC_HUB): the model serialises every callback under
 * the hub lock, so the room (a list of members, one per connection, kept in
 * each connection's ctx) is only touched by one callback at a time, and a
 * callback may queue output on any other member's connection. Nothing here
 * blocks: a member whose output queue passes --max-queue is dropped with
 * sk_conn_abort() and its leave announced, and nobody else waits for it.
 *
 * Protocol (see sockit(1)): the first line (or /nick NAME) picks the
 * nickname and puts the member in #lobby; then every line goes to everyone
 * else in the member's room as "<nick> text". /join #room moves it to
 * another room (created by the first /join, gone with its topic when the
 * last member leaves, at most --max-rooms of them besides the lobby; the
 * table is chat_room.c), /part back to #lobby; /msg reaches a member in any
 * room, /who lists everyone. Server
 * notices start with "*** ", actions with "* ", private messages with
 * "*nick* ". Lines end in CRLF for a client whose last line did, else LF.
 * The transcript (--log) and the operator's terminal (--operator, see
 * chat_operator.c) are the only I/O this file starts.
 */
#include "sockit/chat.h"
#include "sockit/service.h"
#include "sockit/util.h"
#include "sockit/ws.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat_cluster.h"
#include "chat_operator.h"
#include "chat_room.h"
#include "chat_ws.h"
#include "stall.h"

#define DEFAULT_MAX_LINE 4096
#define DEFAULT_MAX_CLIENTS 1000
#define DEFAULT_MAX_QUEUE (256 * 1024)
#define DEFAULT_STALL_MS 1000
#define DEFAULT_FLOOD_LINES 2000              /* lines a second a member may send */
#define DEFAULT_FLOOD_BYTES (2 * 1024 * 1024) /* bytes a second */
#define FLOOD_BURST_MS 2000                   /* a full budget: this long of sending */
#define DEFAULT_FLOOD_MS 4000 /* out of budget this long: refused; twice: Excess Flood */
#define LIST_NAMES_MAX 30     /* the welcome names at most this many */
#define DEFAULT_MAX_ROOMS 256 /* rooms besides #lobby */
/* The banner waits this long for a browser's "GET " (chat_ws.c): a server
 * that speaks first cannot take it back. */
#define SNIFF_MS 200
/* A member's line waits this long while Redis is behind (--cluster). */
#define CLUSTER_BUSY_MS 5
/* A room's lines wait at most this long for its history (Redis stuck):
 * then they are shown, and the history when it comes is not. */
#define HISTORY_WAIT_MS 1000

struct member {
    struct sk_conn *c;
    struct member *prev, *next;
    char nick[SK_CHAT_NICK_MAX + 1];
    int named;          /* has joined the room under nick */
    int crlf;           /* the last line ended in CRLF: answer likewise */
    int discarding;     /* inside an over-long line: drop up to the next LF */
    int leaving;        /* quit or dropped: nothing more is delivered to it */
    int is_operator;    /* the server's own terminal */
    int64_t over_since; /* ms when the queue was first seen over --max-queue; 0: not over */
    uint64_t seen_out;  /* c->bytes_out then: any change means it is reading */
    /* flood control: token buckets in thousandths of a line and of a byte */
    int64_t lines_milli, bytes_milli, refilled_ms;
    int64_t flood_since; /* ms when it last ran out of budget; 0: within budget */
    int64_t resume_ms;   /* input held until then (the next line fits) */
    int woke_early;      /* the deadline came early: the peer closed its side */
    uint64_t refused;    /* lines not relayed, not yet told */
    int64_t refused_told_ms;
    uint64_t missed; /* lines it read too slowly to be given (told when there is room) */
    char reason[96]; /* why it left, announced when the connection closes */

    struct sk__chat_room *room;          /* its room once named; NULL before */
    struct sk__chat_node node;           /* its place in the room's member list */
    char claiming[SK_CHAT_NICK_MAX + 1]; /* --cluster: the nick asked of Redis, or "" */

    int greeted;           /* the banner was sent (or it turned out to speak HTTP) */
    struct sk__chat_ws ws; /* a browser's WebSocket (chat_ws.c) */

    /* --cluster: its room's history asked of Redis and not answered yet
     * (how many times); meanwhile the room's lines wait in held (struct
     * held_line each, bounded by --max-queue), shown after the history.
     * A line the history showed (its id at or before seen, the newest
     * there) is not shown again, held or arriving later: the subscription
     * is another connection to Redis, which may lag behind the answer. */
    unsigned hist_wait;
    unsigned hist_skip; /* answers given up on (HISTORY_WAIT_MS): not shown */
    int64_t hist_since; /* when the last history was asked */
    char *held;
    size_t held_len;
    struct sk__chat_stream_id seen;
};

/* A line held for a member waiting for its room's history. */
struct held_line {
    struct sk__chat_stream_id id; /* its place in the history; kept is 0: none */
    uint32_t len;
    int kept;
    /* then len bytes */
};

struct chat {
    size_t max_line;
    unsigned max_clients;
    size_t max_queue;
    int stall_ms;
    unsigned flood_lines; /* 0: no limit */
    size_t flood_bytes;   /* 0: no limit */
    size_t flood_burst;   /* bytes a member may send at once (set at start) */
    int flood_ms;         /* --flood-time */
    char *log_path;
    FILE *log;
    char *operator_nick;
    struct sk_chat_operator *op;
    unsigned max_rooms;          /* --max-rooms: rooms besides #lobby */
    struct sk__chat_rooms rooms; /* the lobby and the rooms joined */
    struct member *head;
    unsigned members; /* open connections, named or not */
    char *scratch;    /* one formatted line: 3 * max_line + room */
    size_t scratch_len;
    char *clean;                 /* a sanitised text */
    size_t said;                 /* length of the last line formatted into scratch */
    char *cluster_url;           /* --cluster redis://HOST:PORT[/DB] */
    struct sk__chat_cluster *cl; /* NULL without --cluster */
    int granting;                /* the cluster granted the nick set_nick() is given */
    unsigned history;            /* --history: lines of each room kept in the cluster */
};

static int chat_create(void **state)
{
    struct chat *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->max_line = DEFAULT_MAX_LINE;
    st->max_clients = DEFAULT_MAX_CLIENTS;
    st->max_queue = DEFAULT_MAX_QUEUE;
    st->stall_ms = DEFAULT_STALL_MS;
    st->flood_lines = DEFAULT_FLOOD_LINES;
    st->flood_bytes = DEFAULT_FLOOD_BYTES;
    st->flood_ms = DEFAULT_FLOOD_MS;
    st->max_rooms = DEFAULT_MAX_ROOMS;
    st->history = 20;
    *state = st;
    return 0;
}

static int nick_ok(const char *value, char *why, size_t len)
{
    const char *reason;
    if (sk_chat_nick_check(value, strlen(value), &reason) < 0) {
        snprintf(why, len, "'%s': %s", value, reason);
        return -1;
    }
    return 0;
}

static void cluster_line(void *arg, const char *room, const char *text, size_t n,
                         const struct sk__chat_stream_id *id);
static void cluster_notice(void *arg, const char *text);
static void cluster_claimed(void *arg, uint64_t conn_id, const char *nick, int ok);
static void cluster_each_nick(void *arg, struct sk__chat_cluster *cl,
                              void (*fn)(struct sk__chat_cluster *cl, const char *nick));
static void cluster_lost(void *arg, const char *nick);
static void cluster_history(void *arg, uint64_t conn_id, const char *room, const char *const *lines,
                            const size_t *lens, size_t n, const struct sk__chat_stream_id *last);
static void cluster_each_member(void *arg, struct sk__chat_cluster *cl,
                                void (*fn)(struct sk__chat_cluster *cl, const char *nick,
                                           const char *room));
static void cluster_roster(void *arg, uint64_t conn_id, int kind, const char *const *nicks,
                           const char *const *rooms, const char *const *topics, size_t n);
static void cluster_topic_heard(void *arg, const char *room, const char *sender, const char *text,
                                size_t n, uint64_t ver, int own, uint64_t seq);
static void cluster_rooms(void *arg, int up);

static int chat_start(void *state, struct sk_service_env *env, char *err, size_t len)
{
    struct chat *st = state;

    if (st->max_line + 2 > env->in_max) {
        snprintf(err, len, "--max-line %zu needs a larger --max-input (now %zu)", st->max_line,
                 env->in_max);
        return -EINVAL;
    }
    /* A queue bound past the hard maximum could never be reached. */
    if (st->max_queue > env->out_max)
        st->max_queue = env->out_max;
    if (st->flood_bytes && st->flood_bytes < 1024) {
        snprintf(err, len, "--flood-bytes: '%zu' is not 0 or a size from 1k to 1G",
                 st->flood_bytes);
        return -ERANGE;
    }
    /* A burst is two seconds' worth, but never more than half a reader's
     * output queue: one sender's burst alone cannot fill anyone's queue. A
     * line longer than the burst could never be sent. */
    st->flood_burst = SK_MIN(st->flood_bytes * FLOOD_BURST_MS / 1000, env->out_max / 2);
    if (st->flood_bytes && st->flood_burst < st->max_line + 2) {
        snprintf(err, len, "--flood-bytes %zu allows no burst of one --max-line (%zu)",
                 st->flood_bytes, st->max_line);
        return -EINVAL;
    }
    sk__chat_rooms_init(&st->rooms, st->max_rooms);
    st->scratch_len = 3 * st->max_line + 256;
    st->scratch = malloc(st->scratch_len);
    st->clean = malloc(3 * st->max_line + 4);
    if (!st->scratch || !st->clean)
        return -ENOMEM;
    if (st->log_path) {
        st->log = fopen(st->log_path, "ae");
        if (!st->log) {
            int e = errno;
            snprintf(err, len, "--log %s: %s", st->log_path, strerror(e));
            return -e;
        }
        setvbuf(st->log, NULL, _IOLBF, 0);
    }
    if (st->cluster_url) {
        static const struct sk__chat_cluster_hooks hooks = {
            .line = cluster_line,
            .notice = cluster_notice,
            .claimed = cluster_claimed,
            .each_nick = cluster_each_nick,
            .lost = cluster_lost,
            .history = cluster_history,
            .each_member = cluster_each_member,
            .roster = cluster_roster,
            .topic = cluster_topic_heard,
            .rooms = cluster_rooms,
        };
        struct sk__chat_cluster_hooks h = hooks;
        h.arg = st;
        int r = sk__chat_cluster_new(&st->cl, st->cluster_url, &h, err, len);
        if (r < 0)
            return r;
        sk__chat_cluster_set_history(st->cl, st->history);
        env->links = SK_CHAT_CLUSTER_LINKS;
    }
    if (st->operator_nick) {
        int r = sk__chat_operator_start(&st->op, env->addr, env->stop_fd);
        if (r < 0) {
            snprintf(err, len, "--operator: cannot start the operator's terminal: %s",
                     strerror(-r));
            return r;
        }
        env->took_terminal = 1; /* the terminal's lines are chat now */
    }
    return 0;
}

static void chat_destroy(void *state)
{
    struct chat *st = state;
    sk__chat_operator_stop(st->op);
    sk__chat_rooms_free(&st->rooms);
    if (st->log)
        fclose(st->log);
    free(st->log_path);
    free(st->operator_nick);
    sk__chat_cluster_free(st->cl);
    free(st->cluster_url);
    free(st->scratch);
    free(st->clean);
    free(st);
}

/* ---- the transcript ---- */

static void log_line(struct chat *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(struct chat *st, const char *fmt, ...)
{
    if (!st->log)
        return;
    char stamp[64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S %z", &tm);
    va_list ap;
    va_start(ap, fmt);
    fprintf(st->log, "%s ", stamp);
    vfprintf(st->log, fmt, ap);
    fputc('\n', st->log);
    va_end(ap);
}

/* ---- delivery ---- */

/* Stop delivering to m and close its connection now; the leave (with
 * reason) is announced when the model closes it. */
static void drop(struct member *m, const char *reason)
{
    if (m->leaving)
        return;
    m->leaving = 1;
    snprintf(m->reason, sizeof(m->reason), "%s", reason);
    sk_conn_abort(m->c);
}

/*
 * Is m a stalled reader? Its queue is over --max-queue and it has taken
 * nothing from it (bytes_out unchanged) for --stall. A reader that is merely
 * behind, because one callback relayed a burst before its owner could flush,
 * keeps making progress and is left alone up to the hard --max-output.
 */
static int stalled(const struct chat *st, struct member *m, size_t pending)
{
    return sk__stalled(&m->over_since, &m->seen_out, sk_conn_bytes_sent(m->c), pending,
                       st->max_queue, st->stall_ms);
}

/* Queue text (without line end) plus m's line end, unless m has stopped
 * reading or its queue is full: then m is dropped. */
/* One line to m, with its line end or as one WebSocket text frame. */
static int put_line(struct member *m, const char *text, size_t n)
{
    if (m->ws.state == SK__WS_OPEN)
        return sk__chat_ws_send(m->c, text, n);
    if (m->ws.state != SK__WS_NONE)
        return 0; /* an HTTP request being answered: no chat */
    if (sk_conn_write(m->c, text, n) < 0 ||
        sk_conn_write(m->c, m->crlf ? "\r\n" : "\n", m->crlf ? 2 : 1) < 0)
        return -ENOBUFS;
    return 0;
}

/* End m's connection after what is queued (a close frame for a browser). */
static void end_member(struct member *m, int ws_code)
{
    m->leaving = 1;
    if (m->ws.state != SK__WS_NONE)
        sk__chat_ws_close(&m->ws, m->c, ws_code, NULL);
    else
        sk_conn_end(m->c);
}

static void deliver(struct chat *st, struct member *m, const char *text, size_t n)
{
    if (m->leaving)
        return;
    size_t el = m->ws.state == SK__WS_OPEN ? sk__chat_ws_overhead(n) : m->crlf ? 2 : 1;
    if (stalled(st, m, sk_conn_pending(m->c) + n + el)) {
        drop(m, "dropped: not reading (output queue full)");
        return;
    }
    size_t room = m->c->out.max - sk_buf_len(&m->c->out);
    if (m->missed && room >= n + el + 128) {
        char note[128];
        int k = snprintf(note, sizeof(note),
                         "*** %llu line%s not given to you: you read slower than the room "
                         "talks.",
                         (unsigned long long)m->missed, m->missed == 1 ? "" : "s");
        if (put_line(m, note, (size_t)k) == 0)
            m->missed = 0;
        room = m->c->out.max - sk_buf_len(&m->c->out);
    }
    if (room < n + el) {
        /* Full, but it reads (else stalled() had dropped it): it misses this
         * line rather than the room losing a reader that keeps up with a
         * fair share. */
        m->missed++;
        return;
    }
    if (put_line(m, text, n) < 0)
        drop(m, "dropped: not reading (output queue full)");
}

/* Format into the scratch buffer; returns its length (truncated to fit). */
static size_t vformat(struct chat *st, const char *fmt, va_list ap)
{
    int r = vsnprintf(st->scratch, st->scratch_len, fmt, ap);
    if (r < 0)
        return st->said = 0;
    return st->said = (size_t)r < st->scratch_len ? (size_t)r : st->scratch_len - 1;
}

static void tell(struct chat *st, struct member *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void tell(struct chat *st, struct member *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = vformat(st, fmt, ap);
    va_end(ap);
    deliver(st, m, st->scratch, n);
}

/* ---- rooms: the hub's delivery and name lookups ---- */

static struct member *node_member(struct sk__chat_node *n)
{
    return (struct member *)(void *)((char *)n - offsetof(struct member, node));
}

/* The members of room r, newest first: for (m = room_first(r); m; m = room_next(r, m)). */
static struct member *room_first(struct sk__chat_room *r)
{
    return r->members.next == &r->members ? NULL : node_member(r->members.next);
}

static struct member *room_next(struct sk__chat_room *r, struct member *m)
{
    return m->node.next == &r->members ? NULL : node_member(m->node.next);
}

/* Keep a line for m until its room's history is shown (bounded like its
 * queue: past it the line is missed, and told). */
static void hold(struct chat *st, struct member *m, const char *text, size_t n,
                 const struct sk__chat_stream_id *id)
{
    struct held_line h = {.len = (uint32_t)n, .kept = id != NULL};
    size_t add = sizeof(h) + n;
    char *p = m->held_len + add > st->max_queue ? NULL : realloc(m->held, m->held_len + add);
    if (!p) {
        m->missed++;
        return;
    }
    if (id)
        h.id = *id;
    memcpy(p + m->held_len, &h, sizeof(h));
    memcpy(p + m->held_len + sizeof(h), text, n);
    m->held = p;
    m->held_len += add;
}

static int id_after(const struct sk__chat_stream_id *a, const struct sk__chat_stream_id *b)
{
    return a->ms > b->ms || (a->ms == b->ms && a->seq > b->seq);
}

/* Was this line of m's room shown to m in its history already? */
static int shown(const struct member *m, const struct sk__chat_stream_id *id)
{
    return id && !id_after(id, &m->seen);
}

/* Deliver what was held for m, but the lines its history showed. */
static void let_go(struct chat *st, struct member *m)
{
    char *p = m->held;
    size_t len = m->held_len;
    m->held = NULL;
    m->held_len = 0;
    for (size_t at = 0; at + sizeof(struct held_line) <= len;) {
        struct held_line h;
        memcpy(&h, p + at, sizeof(h));
        at += sizeof(h);
        if (!shown(m, h.kept ? &h.id : NULL))
            deliver(st, m, p + at, h.len);
        at += h.len;
    }
    free(p);
}

/* Queue text[0..n) (no line end) to every member of room r except `except`
 * (NULL: to all of them), held for one waiting for the room's history; id
 * is the line's place in that history (NULL: not kept there). The one way a
 * line reaches a room. */
static void room_deliver_id(struct chat *st, struct sk__chat_room *r, struct member *except,
                            const char *text, size_t n, const struct sk__chat_stream_id *id)
{
    for (struct member *m = room_first(r); m; m = room_next(r, m)) {
        if (m == except || m->leaving || shown(m, id))
            continue;
        if (m->hist_wait && sk_now_ms() - m->hist_since > HISTORY_WAIT_MS) {
            m->hist_skip += m->hist_wait; /* Redis is stuck: the room goes on */
            m->hist_wait = 0;
            let_go(st, m);
        }
        if (m->hist_wait)
            hold(st, m, text, n, id);
        else
            deliver(st, m, text, n);
    }
}

static void room_deliver(struct chat *st, struct sk__chat_room *r, struct member *except,
                         const char *text, size_t n)
{
    room_deliver_id(st, r, except, text, n, NULL);
}

/* Format, then room_deliver(). */
static void room_say(struct chat *st, struct sk__chat_room *r, struct member *except,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void room_say(struct chat *st, struct sk__chat_room *r, struct member *except,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = vformat(st, fmt, ap);
    va_end(ap);
    room_deliver(st, r, except, st->scratch, n);
}

/* --cluster: pass the line room_say() just said in r to the other servers. */
static void cluster_pub(struct chat *st, struct sk__chat_room *r, const struct member *m)
{
    if (st->cl)
        sk__chat_cluster_publish(st->cl, r->name, m->nick, st->scratch, st->said);
}

/* --cluster: the same, and kept in r's history (what members say). */
static void cluster_said(struct chat *st, struct sk__chat_room *r, const struct member *m)
{
    if (st->cl)
        sk__chat_cluster_say(st->cl, r->name, m->nick, st->scratch, st->said);
}

/* --cluster: m entered its room (fresh: opened here by it, so its topic
 * comes from Redis); the room's history comes from Redis, and the room's
 * lines wait for it (what was held for the room it left is dropped). */
static void cluster_entered(struct chat *st, struct member *m, int fresh)
{
    if (!st->cl)
        return;
    sk__chat_cluster_where(st->cl, m->nick, m->room->name);
    if (fresh)
        sk__chat_cluster_topic_sync(st->cl, m->room->name, m->room->topic, m->room->topic_ver);
    free(m->held);
    m->held = NULL;
    m->held_len = 0;
    m->seen = (struct sk__chat_stream_id){0, 0};
    if (sk__chat_cluster_history(st->cl, m->c->id, m->room->name) == 1) {
        m->hist_wait++;
        m->hist_since = sk_now_ms();
    }
}

/* Members of r that have not quit or been dropped. */
static unsigned room_present(struct sk__chat_room *r)
{
    unsigned n = 0;
    for (struct member *m = room_first(r); m; m = room_next(r, m))
        n += !m->leaving;
    return n;
}

/* "" in the lobby, else "#room " (the transcript's prefix of a line). */
static const char *room_tag(const struct chat *st, const struct member *m, char *buf, size_t len)
{
    if (!m->room || m->room == &st->rooms.lobby)
        return "";
    snprintf(buf, len, "%s ", m->room->name);
    return buf;
}

/* Put a member that has just been named into the lobby. */
static void room_enter_lobby(struct chat *st, struct member *m)
{
    m->room = &st->rooms.lobby;
    sk__chat_room_add(m->room, &m->node);
}

/* Take m out of its room (freed if left empty: not the lobby). */
static void room_leave(struct chat *st, struct member *m)
{
    if (!m->room)
        return;
    sk__chat_room_remove(&st->rooms, m->room, &m->node);
    m->room = NULL;
}

/* Sanitise text for relaying; returns its length in st->clean. */
static size_t clean(struct chat *st, const char *p, size_t n)
{
    if (n > st->max_line)
        n = st->max_line;
    return sk_chat_sanitize(p, n, st->clean, 3 * st->max_line + 4);
}

static struct member *find_nick(struct chat *st, const char *nick)
{
    for (struct member *m = st->head; m; m = m->next)
        if (m->named && sk_chat_nick_equal(m->nick, nick))
            return m;
    return NULL;
}

/* A member other than m whose nickname reads like nick ("aIice" beside
 * "alice"), or NULL. */
static const struct member *find_lookalike(const struct chat *st, const struct member *m,
                                           const char *nick)
{
    for (const struct member *o = st->head; o; o = o->next)
        if (o != m && o->named && sk_chat_nick_confusable(o->nick, nick))
            return o;
    return NULL;
}

static unsigned named_count(const struct chat *st)
{
    unsigned n = 0;
    for (const struct member *m = st->head; m; m = m->next)
        n += m->named && !m->leaving;
    return n;
}

/* ---- commands ---- */

/* The others in m's room, after a colon (", " between them), into
 * st->clean: ": alice, bob", " (/names lists them)" past LIST_NAMES_MAX, or
 * "". Returns how many. */
static unsigned others_in_room(struct chat *st, struct member *m)
{
    struct sk__chat_room *r = m->room;
    unsigned others = room_present(r) - !m->leaving;
    char *list = st->clean; /* free here: the line was parsed already */
    size_t cap = 3 * st->max_line + 4, used = 0;

    list[0] = '\0';
    if (others > 0 && others <= LIST_NAMES_MAX) {
        for (struct member *o = room_first(r); o; o = room_next(r, o)) {
            if (o == m || o->leaving)
                continue;
            int w = snprintf(list + used, cap - used, "%s%s", used ? ", " : ": ", o->nick);
            if (w < 0 || (size_t)w >= cap - used)
                break;
            used += (size_t)w;
        }
    } else if (others > LIST_NAMES_MAX) {
        snprintf(list, cap, " (/names lists them)");
    }
    return others;
}

static void welcome(struct chat *st, struct member *m)
{
    unsigned others = others_in_room(st, m);
    tell(st, m, "*** Welcome, %s! %u other%s here%s. /help lists the commands.", m->nick, others,
         others == 1 ? "" : "s", st->clean);
}

static void set_nick(struct chat *st, struct member *m, const char *name, size_t n)
{
    const char *why;
    char nick[SK_CHAT_NICK_MAX + 1];

    if (sk_chat_nick_check(name, n, &why) < 0) {
        size_t cl = clean(st, name, SK_MIN(n, 64));
        tell(st, m, "*** Invalid nickname '%.*s': %s. Choose another:", (int)cl, st->clean, why);
        return;
    }
    memcpy(nick, name, n);
    nick[n] = '\0';
    struct member *other = find_nick(st, nick);
    if (other == m && memcmp(m->nick, nick, n + 1) == 0) {
        tell(st, m, "*** You are already %s.", nick);
        return;
    }
    if (other && other != m) {
        tell(st, m, "*** The nickname %s is taken. Choose another:", other->nick);
        return;
    }
    const struct member *look = find_lookalike(st, m, nick);
    if (look) {
        tell(st, m,
             "*** The nickname %s looks too much like %s, who is here. Choose another:", nick,
             look->nick);
        return;
    }
    if (st->operator_nick && !m->is_operator && sk_chat_nick_confusable(st->operator_nick, nick)) {
        tell(st, m, "*** The nickname %s is reserved for the operator. Choose another:", nick);
        return;
    }
    if (st->cl && !st->granting) {
        int e = sk__chat_cluster_claim(st->cl, m->c->id, nick);
        if (e == 0) { /* the answer comes from Redis: cluster_claimed() */
            memcpy(m->claiming, nick, n + 1);
            return;
        }
        if (e == -EAGAIN) {
            tell(st, m, "*** The cluster is busy; say your nickname again in a moment:");
            return;
        }
    }
    m->claiming[0] = '\0';
    if (m->named && st->cl && !sk_chat_nick_equal(m->nick, nick))
        sk__chat_cluster_release(st->cl, m->nick);
    if (!m->named) {
        memcpy(m->nick, nick, n + 1);
        m->named = 1;
        room_enter_lobby(st, m);
        welcome(st, m);
        room_say(st, m->room, m, "*** %s joined%s", nick, m->is_operator ? " (operator)" : "");
        cluster_pub(st, m->room, m);
        cluster_entered(st, m, 0);
        log_line(st, "*** %s joined", nick);
        return;
    }
    char old[SK_CHAT_NICK_MAX + 1];
    memcpy(old, m->nick, sizeof(old));
    memcpy(m->nick, nick, n + 1);
    if (st->cl) {
        sk__chat_cluster_where(st->cl, old, NULL);
        sk__chat_cluster_where(st->cl, nick, m->room->name);
    }
    tell(st, m, "*** You are now known as %s", nick);
    room_say(st, m->room, m, "*** %s is now known as %s", old, nick);
    cluster_pub(st, m->room, m);
    log_line(st, "*** %s is now known as %s", old, nick);
}

/* One name of a /who or /names line into scratch at used; a full line is
 * sent first (a long room: more lines). Returns the new length. */
static size_t who_name(struct chat *st, struct member *to, size_t used, const struct member *o,
                       int with_room)
{
    size_t cap = st->scratch_len;
    if (used + SK_CHAT_NICK_MAX + SK_CHAT_ROOM_MAX + 16 >= cap) {
        deliver(st, to, st->scratch, used);
        used = (size_t)snprintf(st->scratch, cap, "***");
    }
    int lobby = o->room == &st->rooms.lobby;
    used +=
        (size_t)snprintf(st->scratch + used, cap - used, " %s%s%s%s%s", o->nick,
                         o->is_operator ? "(op)" : "", with_room && !lobby ? "(" : "",
                         with_room && !lobby ? o->room->name : "", with_room && !lobby ? ")" : "");
    return used;
}

/* /who: everyone on the server, a member outside #lobby with its room
 * ("carol(#dev)"); /names (in_room): the members of m's room. */
static void who(struct chat *st, struct member *m, int in_room)
{
    struct sk__chat_room *r = m->room ? m->room : &st->rooms.lobby;
    unsigned n = in_room ? room_present(r) : named_count(st);
    size_t used;

    /* Built in scratch directly: the names are plain ASCII. */
    if (in_room)
        used = (size_t)snprintf(st->scratch, st->scratch_len, "*** %u %s in %s:", n,
                                n == 1 ? "person" : "people", r->name);
    else
        used = (size_t)snprintf(st->scratch, st->scratch_len, "*** %u %s here:", n,
                                n == 1 ? "person" : "people");
    if (in_room) {
        for (struct member *o = room_first(r); o; o = room_next(r, o))
            if (!o->leaving)
                used = who_name(st, m, used, o, 0);
    } else {
        for (struct member *o = st->head; o; o = o->next)
            if (o->named && !o->leaving)
                used = who_name(st, m, used, o, 1);
    }
    deliver(st, m, st->scratch, used);
}

static void help(struct chat *st, struct member *m)
{
    static const char *const lines[] = {
        "*** Commands:",
        "***   /nick NAME       take or change your nickname",
        "***   /join #ROOM      go to ROOM (created if there is none); /join alone: where you are",
        "***   /part            leave your room for " SK_CHAT_LOBBY,
        "***   /list            the rooms, with how many are in each and their topics",
        "***   /topic [TEXT]    show your room's topic, or set it to TEXT (/topic - clears it)",
        "***   /names           who is in your room",
        "***   /who             everyone here, with the room of those not in " SK_CHAT_LOBBY,
        "***   /me ACTION       say what you are doing (* nick ACTION)",
        "***   /msg NICK TEXT   a private message to NICK",
        "***   /quit [REASON]   leave",
        "***   /help            this list",
        "*** Any other line goes to everyone in your room; start it with // to send a line "
        "beginning with /.",
        NULL,
    };
    for (const char *const *l = lines; *l; l++)
        deliver(st, m, *l, strlen(*l));
    tell(st, m, "*** Nicknames: 1 to %d of %s, unique whatever the case.", SK_CHAT_NICK_MAX,
         SK_CHAT_NICK_CHARS);
    tell(st, m,
         "*** Rooms: # and 1 to %d of %s, one room whatever the case; everyone starts in %s; a "
         "room is gone, with its topic, when its last member leaves.",
         SK_CHAT_ROOM_MAX - 1, SK_CHAT_ROOM_CHARS, SK_CHAT_LOBBY);
}

static void quit(struct chat *st, struct member *m, const char *reason, size_t n)
{
    if (m->named) {
        size_t cl = clean(st, reason, SK_MIN(n, 64));
        if (cl)
            snprintf(m->reason, sizeof(m->reason), "quit: %.*s", (int)cl, st->clean);
        else
            snprintf(m->reason, sizeof(m->reason), "quit");
    }
    tell(st, m, "*** Bye.");
    end_member(m, SK_WS_NORMAL);
}

static void private_msg(struct chat *st, struct member *m, const struct sk_chat_cmd *cmd)
{
    if (!cmd->target_len || !cmd->arg_len) {
        tell(st, m, "*** Usage: /msg NICK TEXT");
        return;
    }
    char nick[SK_CHAT_NICK_MAX + 1];
    const char *why;
    struct member *to = NULL;
    if (sk_chat_nick_check(cmd->target, cmd->target_len, &why) == 0) {
        memcpy(nick, cmd->target, cmd->target_len);
        nick[cmd->target_len] = '\0';
        to = find_nick(st, nick);
    }
    if (!to || to->leaving) {
        size_t cl = clean(st, cmd->target, SK_MIN(cmd->target_len, 64));
        tell(st, m, "*** No one here is called %.*s (/who lists who is).", (int)cl, st->clean);
        return;
    }
    size_t cl = clean(st, cmd->arg, cmd->arg_len);
    if (!cl)
        return;
    tell(st, to, "*%s* %.*s", m->nick, (int)cl, st->clean);
    tell(st, m, "-> *%s* %.*s", to->nick, (int)cl, st->clean);
}

/* ---- room commands ---- */

/* What m is told on entering its room: who is there, and the topic. */
static void tell_room(struct chat *st, struct member *m)
{
    unsigned others = others_in_room(st, m);
    tell(st, m, "*** You are now in %s: %u other%s here%s.", m->room->name, others,
         others == 1 ? "" : "s", st->clean);
    if (m->room->topic[0])
        tell(st, m, "*** Topic of %s: %s", m->room->name, m->room->topic);
}

/* Move m from its room to r (r != m->room); both rooms hear of it. */
static void move_to(struct chat *st, struct member *m, struct sk__chat_room *r)
{
    char tag[SK_CHAT_ROOM_MAX + 2];
    room_say(st, m->room, m, "*** %s left for %s", m->nick, r->name);
    cluster_pub(st, m->room, m);
    log_line(st, "%s*** %s left for %s", room_tag(st, m, tag, sizeof(tag)), m->nick, r->name);
    room_leave(st, m); /* the old room may be gone now */
    m->room = r;
    int fresh = r->count == 0;
    sk__chat_room_add(r, &m->node);
    room_say(st, r, m, "*** %s joined %s", m->nick, r->name);
    cluster_pub(st, r, m);
    log_line(st, "%s*** %s joined %s", room_tag(st, m, tag, sizeof(tag)), m->nick, r->name);
    tell_room(st, m);
    cluster_entered(st, m, fresh);
}

/* /join ROOM: to ROOM, created by the first one to join it. */
static void join_room(struct chat *st, struct member *m, const struct sk_chat_cmd *cmd)
{
    char name[SK_CHAT_ROOM_MAX + 1];
    const char *why;
    struct sk__chat_room *r;

    if (!cmd->target_len || cmd->arg_len) {
        tell(st, m, "*** Usage: /join #ROOM (you are in %s)", m->room->name);
        return;
    }
    if (sk_chat_room_name(cmd->target, cmd->target_len, name, &why) < 0) {
        size_t cl = clean(st, cmd->target, SK_MIN(cmd->target_len, 64));
        tell(st, m, "*** Invalid room name '%.*s': %s.", (int)cl, st->clean, why);
        return;
    }
    if (sk_chat_room_equal(m->room->name, name)) {
        tell(st, m, "*** You are in %s already.", m->room->name);
        return;
    }
    int e = sk__chat_room_open(&st->rooms, name, &r);
    if (e == -ENOSPC) {
        tell(st, m,
             "*** Cannot open %s: there are %u rooms besides %s, the most this server keeps. "
             "Join one of them (/list shows them).",
             name, st->rooms.max, SK_CHAT_LOBBY);
        return;
    }
    if (e < 0) {
        tell(st, m, "*** Cannot open %s now: %s.", name, strerror(-e));
        return;
    }
    move_to(st, m, r);
}

/* /part: back to the lobby. */
static void part_room(struct chat *st, struct member *m)
{
    if (m->room == &st->rooms.lobby) {
        tell(st, m, "*** You are in %s, which nobody parts (/join #ROOM goes elsewhere).",
             SK_CHAT_LOBBY);
        return;
    }
    move_to(st, m, &st->rooms.lobby);
}

/* /list: every room with how many are in it, and its topic. */
static void list_rooms(struct chat *st, struct member *m)
{
    unsigned n = st->rooms.count + 1;
    tell(st, m, "*** %u room%s:", n, n == 1 ? "" : "s");
    for (struct sk__chat_room *r = &st->rooms.lobby; r; r = r->next) {
        unsigned k = room_present(r);
        tell(st, m, "***   %s (%u %s)%s%s", r->name, k, k == 1 ? "person" : "people",
             r->topic[0] ? ": " : "", r->topic);
    }
}

/* --cluster: r's topic (just set here by m) to every server; while Redis
 * is away it waits (dirty) and is set when Redis is back. */
static void cluster_topic(struct chat *st, struct sk__chat_room *r, const struct member *m)
{
    if (st->cl)
        r->topic_dirty = sk__chat_cluster_topic(st->cl, r->name, m->nick, r->topic, r->topic_ver,
                                                &r->topic_seq) < 0;
}

/* /topic: show it; /topic TEXT: set it (for everyone in the room); "/topic -"
 * clears it. */
static void topic(struct chat *st, struct member *m, const char *text, size_t n)
{
    struct sk__chat_room *r = m->room;
    char tag[SK_CHAT_ROOM_MAX + 2];

    if (!n) {
        if (r->topic[0])
            tell(st, m, "*** Topic of %s: %s", r->name, r->topic);
        else
            tell(st, m, "*** %s has no topic (/topic TEXT sets one).", r->name);
        return;
    }
    if (n == 1 && text[0] == '-') {
        r->topic[0] = '\0';
        cluster_topic(st, r, m);
        room_say(st, r, NULL, "*** %s cleared the topic of %s", m->nick, r->name);
        log_line(st, "%s*** %s cleared the topic", room_tag(st, m, tag, sizeof(tag)), m->nick);
        return;
    }
    size_t cl = clean(st, text, n);
    if (!cl)
        return; /* nothing printable */
    if (cl > SK_CHAT_TOPIC_MAX) {
        tell(st, m, "*** Topic too long (more than %d bytes): not set.", SK_CHAT_TOPIC_MAX);
        return;
    }
    memcpy(r->topic, st->clean, cl);
    r->topic[cl] = '\0';
    cluster_topic(st, r, m);
    room_say(st, r, NULL, "*** %s set the topic of %s: %s", m->nick, r->name, r->topic);
    log_line(st, "%s*** %s set the topic: %s", room_tag(st, m, tag, sizeof(tag)), m->nick,
             r->topic);
}

/* The operator's relay introduces itself with "/operator TOKEN". */
static int operator_hello(struct chat *st, struct member *m, const char *line, size_t n)
{
    static const char cmd[] = "/operator ";
    size_t cl = sizeof(cmd) - 1;
    if (!st->op || m->named || n <= cl || memcmp(line, cmd, cl) != 0)
        return 0;
    if (!sk__chat_operator_token_ok(st->op, line + cl, n - cl))
        return 0;
    for (struct member *o = st->head; o; o = o->next)
        if (o->is_operator)
            return 0;
    m->is_operator = 1;
    set_nick(st, m, st->operator_nick, strlen(st->operator_nick));
    return 1;
}

static void handle_line(struct chat *st, struct member *m, const char *line, size_t n)
{
    struct sk_chat_cmd cmd;

    if (operator_hello(st, m, line, n))
        return;
    sk_chat_parse(line, n, &cmd);
    if (m->claiming[0]) {
        tell(st, m, "*** Checking the nickname %s across the cluster; one moment.", m->claiming);
        return;
    }
    if (!m->named) {
        switch (cmd.kind) {
        case SK_CHAT_TEXT:
            if (cmd.arg_len)
                set_nick(st, m, cmd.arg, cmd.arg_len);
            else
                tell(st, m, "*** Type your nickname (or /nick NAME):");
            return;
        case SK_CHAT_ME:
        case SK_CHAT_MSG:
        case SK_CHAT_JOIN:
        case SK_CHAT_PART:
        case SK_CHAT_TOPIC:
            tell(st, m, "*** Choose a nickname first (type it, or /nick NAME):");
            return;
        default: break;
        }
    }
    size_t cl;
    char tag[SK_CHAT_ROOM_MAX + 2];
    switch (cmd.kind) {
    case SK_CHAT_TEXT:
        cl = clean(st, cmd.arg, cmd.arg_len);
        if (!cl)
            return; /* nothing printable */
        room_say(st, m->room, m, "<%s> %.*s", m->nick, (int)cl, st->clean);
        cluster_said(st, m->room, m);
        log_line(st, "%s<%s> %.*s", room_tag(st, m, tag, sizeof(tag)), m->nick, (int)cl, st->clean);
        return;
    case SK_CHAT_NICK:
        if (!cmd.arg_len)
            tell(st, m, "*** Usage: /nick NAME");
        else
            set_nick(st, m, cmd.arg, cmd.arg_len);
        return;
    case SK_CHAT_WHO:
        who(st, m, cmd.room);
        if (st->cl)
            sk__chat_cluster_roster(st->cl, m->c->id, cmd.room ? 'n' : 'w');
        return;
    case SK_CHAT_ME:
        cl = clean(st, cmd.arg, cmd.arg_len);
        if (!cl) {
            tell(st, m, "*** Usage: /me ACTION");
            return;
        }
        room_say(st, m->room, m, "* %s %.*s", m->nick, (int)cl, st->clean);
        cluster_said(st, m->room, m);
        log_line(st, "%s* %s %.*s", room_tag(st, m, tag, sizeof(tag)), m->nick, (int)cl, st->clean);
        return;
    case SK_CHAT_MSG: private_msg(st, m, &cmd); return;
    case SK_CHAT_HELP: help(st, m); return;
    case SK_CHAT_QUIT: quit(st, m, cmd.arg, cmd.arg_len); return;
    case SK_CHAT_JOIN: join_room(st, m, &cmd); return;
    case SK_CHAT_PART: part_room(st, m); return;
    case SK_CHAT_LIST:
        list_rooms(st, m);
        if (st->cl)
            sk__chat_cluster_roster(st->cl, m->c->id, 'l');
        return;
    case SK_CHAT_TOPIC: topic(st, m, cmd.arg, cmd.arg_len); return;
    case SK_CHAT_UNKNOWN:
        cl = clean(st, cmd.target, SK_MIN(cmd.target_len, 64));
        tell(st, m, "*** Unknown command /%.*s (/help lists the commands; // starts a line with /)",
             (int)cl, st->clean);
        return;
    }
}

/* ---- flood control ---- */

/*
 * Each member has two token buckets, lines and bytes a second (--flood-lines,
 * --flood-bytes), each holding FLOOD_BURST_MS worth. A line that does not fit
 * is delayed: the member's input is held (TCP slows its sender down) until
 * it fits. A member that stays out of budget (its buckets never get back to
 * half full: it never pauses) for --flood-time has its lines that do not fit
 * refused instead, and is told so at most once a second; one still at it
 * after twice --flood-time is disconnected with "Excess Flood", as IRC
 * servers do.
 */
enum { FLOOD_OK, FLOOD_WAIT, FLOOD_REFUSE, FLOOD_KILL };

static void refill(const struct chat *st, struct member *m, int64_t now)
{
    int64_t dt = now - m->refilled_ms;
    int64_t lcap = (int64_t)st->flood_lines * FLOOD_BURST_MS;
    int64_t bcap = (int64_t)st->flood_burst * 1000;
    if (m->refilled_ms == 0) { /* a new member starts with a full budget */
        m->lines_milli = lcap;
        m->bytes_milli = bcap;
    } else if (dt > 0) {
        m->lines_milli = SK_MIN(lcap, m->lines_milli + dt * (int64_t)st->flood_lines);
        m->bytes_milli = SK_MIN(bcap, m->bytes_milli + dt * (int64_t)st->flood_bytes);
    }
    m->refilled_ms = now;
}

/* May m send a line of n bytes now? Takes its cost when it may (and when it
 * is refused: a flooder's buckets stay empty); sets m->resume_ms on WAIT. */
static int flood_check(const struct chat *st, struct member *m, size_t n, int64_t now)
{
    if (m->is_operator || (!st->flood_lines && !st->flood_bytes))
        return FLOOD_OK;
    refill(st, m, now);
    int64_t lneed = st->flood_lines ? 1000 : 0, bneed = st->flood_bytes ? (int64_t)n * 1000 : 0;
    int64_t lcap = (int64_t)st->flood_lines * FLOOD_BURST_MS;
    int64_t bcap = (int64_t)st->flood_burst * 1000;
    /* Half a budget saved up: it has paused, whatever it did before. */
    if ((!lneed || m->lines_milli * 2 >= lcap) && (!bneed || m->bytes_milli * 2 >= bcap))
        m->flood_since = 0;
    if (m->lines_milli >= lneed && m->bytes_milli >= bneed) {
        m->lines_milli -= lneed;
        m->bytes_milli -= bneed;
        return FLOOD_OK;
    }
    if (m->flood_since == 0)
        m->flood_since = now;
    int64_t over = now - m->flood_since;
    if (over >= 2 * (int64_t)st->flood_ms)
        return FLOOD_KILL;
    if (over >= st->flood_ms || m->woke_early) {
        m->lines_milli = SK_MAX(0, m->lines_milli - lneed);
        m->bytes_milli = SK_MAX(0, m->bytes_milli - bneed);
        return FLOOD_REFUSE;
    }
    int64_t wait = 1;
    if (st->flood_lines && m->lines_milli < lneed)
        wait = SK_MAX(wait, (lneed - m->lines_milli + st->flood_lines - 1) / st->flood_lines);
    if (st->flood_bytes && m->bytes_milli < bneed)
        wait = SK_MAX(wait, (bneed - m->bytes_milli + (int64_t)st->flood_bytes - 1) /
                                (int64_t)st->flood_bytes);
    m->resume_ms = now + wait;
    return FLOOD_WAIT;
}

static void tell_refused(struct chat *st, struct member *m, int64_t now, int force)
{
    if (!m->refused || (!force && now - m->refused_told_ms < 1000))
        return;
    tell(st, m,
         "*** Flood control: %llu line%s not sent (at most %u lines and %zu bytes a "
         "second). Slow down or you will be disconnected.",
         (unsigned long long)m->refused, m->refused == 1 ? "" : "s", st->flood_lines,
         st->flood_bytes);
    m->refused = 0;
    m->refused_told_ms = now;
}

/* ---- the cluster's hooks (chat_cluster.h) ---- */

static void cluster_line(void *arg, const char *room, const char *text, size_t n,
                         const struct sk__chat_stream_id *id)
{
    struct chat *st = arg;
    struct sk__chat_room *r = sk__chat_room_find(&st->rooms, room);
    if (!r)
        return; /* nobody here is in that room */
    size_t cl = clean(st, text, n);
    if (cl)
        room_deliver_id(st, r, NULL, st->clean, cl, id);
}

/* A topic from the cluster: another server's set (announced), our own set
 * coming back (a set here is shown at once, and its echo tells where it
 * fell in Redis's order), or what Redis keeps (sender NULL: shown, not
 * announced). Only a version newer than the room's counts: one heard late
 * (the subscription is another connection than the commands') is old. */
static void cluster_topic_heard(void *arg, const char *room, const char *sender, const char *text,
                                size_t n, uint64_t ver, int own, uint64_t seq)
{
    struct chat *st = arg;
    struct sk__chat_room *r = sk__chat_room_find(&st->rooms, room);
    if (!r || r->topic_dirty || ver <= r->topic_ver)
        return; /* nobody here, a set of ours waiting for Redis, or old */
    size_t cl = n ? clean(st, text, n) : 0;
    if (cl > SK_CHAT_TOPIC_MAX || (n && !cl))
        return;
    r->topic_ver = ver;
    if (own && seq != r->topic_seq)
        return; /* a newer set of ours follows */
    if (strlen(r->topic) == cl && memcmp(r->topic, st->clean, cl) == 0 && (own || !sender))
        return; /* no change */
    memcpy(r->topic, st->clean, cl);
    r->topic[cl] = '\0';
    if (!sender) {
        if (!cl)
            return;
        for (struct member *m = room_first(r); m; m = room_next(r, m))
            tell(st, m, "*** Topic of %s: %s", r->name, r->topic);
    } else if (cl) {
        room_say(st, r, NULL, "*** %s set the topic of %s: %s", sender, r->name, r->topic);
    } else {
        room_say(st, r, NULL, "*** %s cleared the topic of %s", sender, r->name);
    }
}

/* Redis is back (up): the topics set here meanwhile go out, every other
 * room's is read (and put back if Redis lost it); or the refresh: every
 * room here keeps its topic alive. */
static void cluster_rooms(void *arg, int up)
{
    struct chat *st = arg;
    for (struct sk__chat_room *r = &st->rooms.lobby; r; r = r->next) {
        if (!up) {
            sk__chat_cluster_topic_keep(st->cl, r->name);
        } else if (r->topic_dirty) {
            struct member *m = room_first(r);
            r->topic_dirty = sk__chat_cluster_topic(st->cl, r->name, m ? m->nick : "sockit",
                                                    r->topic, r->topic_ver, &r->topic_seq) < 0;
        } else {
            sk__chat_cluster_topic_sync(st->cl, r->name, r->topic, r->topic_ver);
        }
    }
}

static void cluster_notice(void *arg, const char *text)
{
    struct chat *st = arg;
    for (struct member *m = st->head; m; m = m->next)
        if (m->named)
            deliver(st, m, text, strlen(text));
}

static void cluster_claimed(void *arg, uint64_t conn_id, const char *nick, int ok)
{
    struct chat *st = arg;
    struct member *m = st->head;
    while (m && !(m->c->id == conn_id && strcmp(m->claiming, nick) == 0))
        m = m->next;
    if (!m || m->leaving) {
        if (ok) /* it left meanwhile */
            sk__chat_cluster_release(st->cl, nick);
        return;
    }
    m->claiming[0] = '\0';
    if (!ok) {
        tell(
            st, m,
            "*** The nickname %s is taken on another server of the cluster. Choose another:", nick);
        return;
    }
    st->granting = 1;
    set_nick(st, m, nick, strlen(nick));
    st->granting = 0;
    if (!m->named || !sk_chat_nick_equal(m->nick, nick))
        sk__chat_cluster_release(st->cl, nick); /* refused here after all */
}

/* The history of the room m entered (last NULL: Redis went away first),
 * then the room's lines held meanwhile but those the history shows. An
 * answer to an earlier /join (m asked again since) only counts down. */
static void cluster_history(void *arg, uint64_t conn_id, const char *room, const char *const *lines,
                            const size_t *lens, size_t n, const struct sk__chat_stream_id *last)
{
    struct chat *st = arg;
    struct member *m = st->head;
    while (m && m->c->id != conn_id)
        m = m->next;
    if (m && m->hist_skip) {
        m->hist_skip--; /* too late: the room's lines were shown without it */
        return;
    }
    if (!m || !m->hist_wait || --m->hist_wait)
        return;
    char folded[SK_CHAT_ROOM_MAX + 1] = "";
    if (m->room)
        sk_chat_room_fold(m->room->name, strlen(m->room->name), folded);
    if (m->leaving || strcmp(folded, room) != 0) { /* it moved on meanwhile */
        let_go(st, m);
        return;
    }
    if (n) {
        tell(st, m, "*** The last %zu line%s of %s:", n, n == 1 ? "" : "s", m->room->name);
        for (size_t i = 0; i < n; i++) {
            size_t cl = clean(st, lines[i], lens[i]);
            if (cl)
                deliver(st, m, st->clean, cl);
        }
        tell(st, m, "*** (end of the history of %s)", m->room->name);
    }
    if (n && last)
        m->seen = *last;
    let_go(st, m);
}

static void cluster_each_nick(void *arg, struct sk__chat_cluster *cl,
                              void (*fn)(struct sk__chat_cluster *cl, const char *nick))
{
    struct chat *st = arg;
    for (struct member *m = st->head; m; m = m->next)
        if (m->named && !m->leaving)
            fn(cl, m->nick);
}

static void cluster_each_member(void *arg, struct sk__chat_cluster *cl,
                                void (*fn)(struct sk__chat_cluster *cl, const char *nick,
                                           const char *room))
{
    struct chat *st = arg;
    for (struct member *m = st->head; m; m = m->next)
        if (m->named && !m->leaving && m->room)
            fn(cl, m->nick, m->room->name);
}

/* The cluster's answer to /who ('w'), /names ('n') or /list ('l'): one more
 * block after this server's own answer. */
static void cluster_roster(void *arg, uint64_t conn_id, int kind, const char *const *nicks,
                           const char *const *rooms, const char *const *topics, size_t n)
{
    struct chat *st = arg;
    struct member *m = st->head;
    while (m && m->c->id != conn_id)
        m = m->next;
    if (!m || m->leaving || !m->room)
        return;
    char here[SK_CHAT_ROOM_MAX + 1];
    sk_chat_room_fold(m->room->name, strlen(m->room->name), here);
    size_t cap = st->scratch_len, used, k = 0;
    if (kind == 'l') {
        /* Rooms with their counts, in the order first seen (n is bounded). */
        tell(st, m, "*** Across the cluster (%zu %s):", n, n == 1 ? "person" : "people");
        for (size_t i = 0; i < n; i++) {
            size_t j = 0, c = 0;
            while (j < i && strcmp(rooms[j], rooms[i]) != 0)
                j++;
            if (j < i)
                continue; /* counted already */
            for (size_t q = i; q < n; q++)
                c += strcmp(rooms[q], rooms[i]) == 0;
            size_t tl = topics[i] ? clean(st, topics[i], strlen(topics[i])) : 0;
            if (tl > SK_CHAT_TOPIC_MAX)
                tl = 0;
            tell(st, m, "***   %s (%zu %s)%s%.*s", rooms[i], c, c == 1 ? "person" : "people",
                 tl ? ": " : "", (int)tl, st->clean);
        }
        return;
    }
    for (size_t i = 0; i < n; i++)
        k += kind == 'w' || strcmp(rooms[i], here) == 0;
    if (kind == 'n')
        used = (size_t)snprintf(st->scratch, cap, "*** Across the cluster, %zu in %s:", k,
                                m->room->name);
    else
        used = (size_t)snprintf(st->scratch, cap, "*** Across the cluster, %zu:", k);
    for (size_t i = 0; i < n; i++) {
        if (kind == 'n' && strcmp(rooms[i], here) != 0)
            continue;
        if (used + SK_CHAT_NICK_MAX + SK_CHAT_ROOM_MAX + 8 >= cap) {
            deliver(st, m, st->scratch, used);
            used = (size_t)snprintf(st->scratch, cap, "***");
        }
        used += (size_t)(kind == 'n' ? snprintf(st->scratch + used, cap - used, " %s", nicks[i])
                                     : snprintf(st->scratch + used, cap - used, " %s (%s)",
                                                nicks[i], rooms[i]));
    }
    deliver(st, m, st->scratch, used);
}

static void cluster_lost(void *arg, const char *nick)
{
    struct chat *st = arg;
    struct member *m = find_nick(st, nick);
    if (m && !m->leaving)
        tell(st, m,
             "*** While this server was cut off from the cluster, someone on another server took "
             "the nickname %s: you are two now. Choose another with /nick NAME.",
             m->nick);
}

/* ---- callbacks ---- */

static int chat_open(struct sk_conn *c)
{
    struct chat *st = sk_conn_service_state(c);
    struct member *m = c->ctx;

    m->c = c;
    m->next = st->head;
    if (st->head)
        st->head->prev = m;
    st->head = m;
    st->members++;
    if (st->members > st->max_clients) {
        tell(st, m, "*** Sorry, the room is full (%u people). Try again later.", st->max_clients);
        m->leaving = 1;
        sk_conn_end(c);
        return 0;
    }
    /* The banner waits a moment: a browser's first bytes ("GET ") must be
     * answered in HTTP, not after a chat banner (chat_ws.c). */
    sk_conn_set_deadline(c, SNIFF_MS);
    return 0;
}

/* One line from m (a raw line or a browser's text message) through flood
 * control: SK__WS_TAKEN, SK__WS_WAIT (held: offer it again at the deadline)
 * or SK__WS_STOP (m is leaving). */
static int take_line(void *arg, const char *line, size_t len)
{
    struct member *m = arg;
    struct chat *st = sk_conn_service_state(m->c);
    int64_t now = sk_now_ms();

    if (m->named && sk__chat_cluster_busy(st->cl)) {
        /* Redis is behind on what this server sent it: the line waits (as
         * a delayed one does) rather than be dropped. */
        m->resume_ms = now + CLUSTER_BUSY_MS;
        sk_conn_hold(m->c, 1);
        sk_conn_set_deadline(m->c, CLUSTER_BUSY_MS);
        return SK__WS_WAIT;
    }
    switch (flood_check(st, m, len, now)) {
    case FLOOD_WAIT:
        sk_conn_hold(m->c, 1);
        sk_conn_set_deadline(m->c, m->resume_ms - now);
        return SK__WS_WAIT;
    case FLOOD_REFUSE:
        m->refused++;
        tell_refused(st, m, now, 0);
        return SK__WS_TAKEN;
    case FLOOD_KILL:
        tell_refused(st, m, now, 1);
        tell(st, m, "*** Excess Flood: disconnected.");
        snprintf(m->reason, sizeof(m->reason), "Excess Flood");
        end_member(m, SK_WS_POLICY);
        return SK__WS_STOP;
    default: break;
    }
    handle_line(st, m, line, len);
    return m->leaving ? SK__WS_STOP : SK__WS_TAKEN;
}

/* The banner, once: at the first line, or when SNIFF_MS passed in silence. */
static void greet(struct member *m)
{
    struct chat *st = sk_conn_service_state(m->c);
    unsigned n = named_count(st);
    m->greeted = 1;
    tell(st, m, "*** Welcome to sockit chat (%u %s here). Type your nickname (or /nick NAME):", n,
         n == 1 ? "person" : "people");
}

static void ws_opened(void *arg)
{
    greet(arg);
}

static const struct sk__chat_ws_ops ws_ops = {.open = ws_opened, .line = take_line};

static ssize_t chat_data(struct sk_conn *c, const char *p, size_t n)
{
    struct chat *st = sk_conn_service_state(c);
    struct member *m = c->ctx;
    size_t used = 0;

    if (!m->greeted && !m->leaving) {
        int http = sk__chat_ws_sniff(p, n);
        if (http < 0)
            return 0; /* "GE": wait for a byte more (or the banner's deadline) */
        sk_conn_set_deadline(c, 0);
        if (http) {
            m->greeted = 1;
            m->ws.state = SK__WS_HTTP;
        } else {
            greet(m);
        }
    }
    if (m->ws.state != SK__WS_NONE) {
        if (m->leaving)
            return (ssize_t)n;
        return sk__chat_ws_data(&m->ws, c, p, n, st->max_line, &ws_ops, m);
    }
    while (used < n) {
        if (m->leaving)
            return (ssize_t)n; /* said /quit or was dropped: ignore the rest */
        const char *start = p + used;
        const char *nl = memchr(start, '\n', n - used);
        if (!nl) {
            size_t partial = n - used;
            if (m->discarding)
                return (ssize_t)n;
            if (partial > st->max_line + 1) { /* +1: room for a CR */
                m->discarding = 1;
                tell(st, m, "*** Line too long (more than %zu bytes): not sent.", st->max_line);
                return (ssize_t)n;
            }
            break;
        }
        size_t len = (size_t)(nl - start);
        used += len + 1;
        if (m->discarding) {
            m->discarding = 0; /* the end of the over-long line */
            continue;
        }
        m->crlf = len > 0 && start[len - 1] == '\r';
        if (m->crlf)
            len--;
        if (len > st->max_line) {
            tell(st, m, "*** Line too long (more than %zu bytes): not sent.", st->max_line);
            continue;
        }
        int r = take_line(m, start, len);
        if (r == SK__WS_WAIT) {
            /* Delayed: this line and what follows wait for the budget. */
            used -= len + 1 + m->crlf;
            return (ssize_t)used;
        }
        if (r == SK__WS_STOP)
            return (ssize_t)n;
    }
    return (ssize_t)used;
}

/* The budget of a delayed member has refilled (or its peer closed its side:
 * then the deadline comes early and what it still sent beyond its budget is
 * refused, not waited for). */
/* A throttled member's pause is over: its held input is fed again (the
 * model hands it to data(), nothing is consumed here). */
static ssize_t chat_timeout(struct sk_conn *c, const char *p, size_t n)
{
    struct member *m = c->ctx;
    struct chat *st = sk_conn_service_state(c);

    if (sk__chat_cluster_owns(st->cl, c)) {
        sk__chat_cluster_timeout(st->cl, c);
        return 0;
    }

    (void)p;
    (void)n;
    if (!m->greeted) {
        greet(m); /* silent so far: a terminal user waiting for the banner */
        return 0;
    }
    if (sk_now_ms() < m->resume_ms)
        m->woke_early = 1;
    sk_conn_hold(c, 0);
    return 0;
}

static void chat_close(struct sk_conn *c)
{
    struct chat *st = sk_conn_service_state(c);
    struct member *m = c->ctx;

    if (sk__chat_cluster_owns(st->cl, c)) {
        sk__chat_cluster_close(st->cl, c);
        return;
    }
    if (!m->c)
        return; /* open() never ran */
    if (m->prev)
        m->prev->next = m->next;
    else
        st->head = m->next;
    if (m->next)
        m->next->prev = m->prev;
    st->members--;
    if (m->named) {
        const char *reason = m->reason[0] ? m->reason : "connection closed";
        char tag[SK_CHAT_ROOM_MAX + 2];
        room_say(st, m->room, m, "*** %s left (%s)", m->nick, reason);
        cluster_pub(st, m->room, m);
        if (st->cl) {
            sk__chat_cluster_release(st->cl, m->nick);
            sk__chat_cluster_where(st->cl, m->nick, NULL);
        }
        log_line(st, "%s*** %s left (%s)", room_tag(st, m, tag, sizeof(tag)), m->nick, reason);
        room_leave(st, m);
    }
    sk__chat_ws_free(&m->ws);
    free(m->held);
    m->held = NULL;
    m->c = NULL;
}

/* The cluster's links (--cluster): no member behind them. */
static int chat_link_open(struct sk_conn *c, unsigned index)
{
    struct chat *st = sk_conn_service_state(c);
    return st->cl ? sk__chat_cluster_link_open(st->cl, c, index) : -EINVAL;
}

static int chat_up_connected(struct sk_conn *c, int err)
{
    return sk__chat_cluster_connected(((struct chat *)sk_conn_service_state(c))->cl, c, err);
}

static ssize_t chat_up_data(struct sk_conn *c, const char *p, size_t n)
{
    return sk__chat_cluster_data(((struct chat *)sk_conn_service_state(c))->cl, c, p, n);
}

static int chat_up_eof(struct sk_conn *c)
{
    return sk__chat_cluster_eof(((struct chat *)sk_conn_service_state(c))->cl, c);
}

static const struct sk_service_opt chat_opts[] = {
    {.name = "max-line",
     .type = SK_OPT_SIZE,
     .offset = offsetof(struct chat, max_line),
     .min = 16,
     .max = 1 << 20,
     .arg = "SIZE",
     .help = "longest line accepted (default 4k); longer ones are refused"},
    {.name = "max-clients",
     .type = SK_OPT_UINT,
     .offset = offsetof(struct chat, max_clients),
     .min = 1,
     .max = 1000000,
     .arg = "N",
     .help = "people in the room at once (default 1000)"},
    {.name = "max-queue",
     .type = SK_OPT_SIZE,
     .offset = offsetof(struct chat, max_queue),
     .min = 1024,
     .max = 1LL << 32,
     .arg = "SIZE",
     .help = "unsent output a client may have before it counts as stalled (256k)"},
    {.name = "stall",
     .type = SK_OPT_DURATION,
     .offset = offsetof(struct chat, stall_ms),
     .min = 0,
     .max = 3600 * 1000,
     .arg = "SECS",
     .help = "drop a client over --max-queue that reads nothing for SECS (1)"},
    {.name = "flood-lines",
     .type = SK_OPT_UINT,
     .offset = offsetof(struct chat, flood_lines),
     .min = 0,
     .max = 1000000,
     .arg = "N",
     .help = "lines a second one member may send (2000; 0: no limit)"},
    {.name = "flood-bytes",
     .type = SK_OPT_SIZE,
     .offset = offsetof(struct chat, flood_bytes),
     .min = 0,
     .max = 1LL << 30,
     .arg = "SIZE",
     .help = "bytes a second one member may send (2M; 0: no limit; else at least 1k)"},
    {.name = "flood-time",
     .type = SK_OPT_DURATION,
     .offset = offsetof(struct chat, flood_ms),
     .min = 100,
     .max = 3600 * 1000,
     .arg = "SECS",
     .help = "over budget this long: lines refused; twice: disconnected (4)"},
    {.name = "max-rooms",
     .type = SK_OPT_UINT,
     .offset = offsetof(struct chat, max_rooms),
     .min = 0,
     .max = 100000,
     .arg = "N",
     .help = "rooms besides #lobby at once (default 256); a /join past it is refused"},
    {.name = "log",
     .type = SK_OPT_STRING,
     .offset = offsetof(struct chat, log_path),
     .arg = "FILE",
     .help = "append a timestamped transcript to FILE"},
    {.name = "operator",
     .type = SK_OPT_STRING,
     .offset = offsetof(struct chat, operator_nick),
     .arg = "NICK",
     .help = "the server's terminal takes part in the chat as NICK",
     .check = nick_ok},
    {.name = "cluster",
     .type = SK_OPT_STRING,
     .offset = offsetof(struct chat, cluster_url),
     .arg = "redis://HOST:PORT[/DB]",
     .help = "one chat with the other chat servers on this Redis"},
    {.name = "history",
     .type = SK_OPT_UINT,
     .offset = offsetof(struct chat, history),
     .min = 0,
     .max = 1000,
     .arg = "N",
     .help = "--cluster: the last N lines of each room kept and shown on joining (20)"},
    {0},
};

const struct sk_service sk_service_chat = {
    .name = "chat",
    .summary = "a multi-client chat with rooms (nicknames, /join, /who, /me, /msg; works with nc "
               "and browsers: a web page and WebSocket on the same port)",
    .flags = SK_SVC_STREAM | SK_SVC_HUB,
    .opts = chat_opts,
    .conn_size = sizeof(struct member),
    .idle_timeout_ms = SK_SVC_NO_IDLE_TIMEOUT, /* people may stay silent in a room */
    .create = chat_create,
    .start = chat_start,
    .destroy = chat_destroy,
    .open = chat_open,
    .data = chat_data,
    .timeout = chat_timeout,
    .close = chat_close,
    .up_connected = chat_up_connected,
    .up_data = chat_up_data,
    .up_eof = chat_up_eof,
    .link_open = chat_link_open,
};
