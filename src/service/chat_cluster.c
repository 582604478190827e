/*
 * chat_cluster.c - chat's cluster through Redis (serve chat --cluster).
 *
 * Sans-I/O like the rest of the service: the model owns two server-wide
 * links (conn.h) and drives their upstream sockets in its loop; this file
 * only formats commands with hiredis's redisFormatCommand() into
 * sk_conn_upstream_write() and parses what arrives with hiredis's
 * redisReader in up_data(). hiredis's async context would want to own the
 * socket and its events (the adapter hooks); the reader and the formatter
 * are pure, so the model keeps the descriptor and backpressure, and the
 * cluster runs under every model that drives links, with no thread of its
 * own. Link 0 sends commands (SET NX PX for nicks, PUBLISH), link 1 holds
 * the subscription (a subscriber may issue no other command).
 *
 * Messages pass on channel sockit:room:ROOM (their kinds in
 * chat_cluster.h: a notice, a line kept in the room's history stream with
 * its stream id, a topic); a server drops its own echo of a line by ORIGIN
 * and parses the others' strictly (they are untrusted). A kept line is
 * added to the stream and published by one script, and so is a topic with
 * its key: the order servers hear them in is Redis's. While Redis is away local members
 * go on, are told once, the links reconnect with backoff, lines to publish
 * wait in a bounded queue (what overflows is counted and told), and on
 * return every local nick is registered again (a clash is told to the
 * local member, never merged).
 */
#include "chat_cluster.h"

#include "sockit/resolve.h"
#include "sockit/util.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NICK_TTL_MS 15000
#define REFRESH_MS 5000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define CONNECT_MS 2000
#define BACKLOG_MAX (256 * 1024) /* formatted commands waiting for Redis */
#define WAIT_MAX 1024            /* answers awaited on the commands' link */
/* Busy (sk__chat_cluster_busy()): fewer free answers than this, or less
 * room than this in the link's output. */
#define BUSY_WAITS 64
#define BUSY_ROOM (64 * 1024)
/* No answer for this long while some are awaited: Redis is stuck (stopped,
 * not gone), not busy; lines go on locally as while it is away. */
#define BUSY_STALL_MS 1000

#define HISTORY_MAX 1000 /* --history at most */
/* A room's topic outlives the last member anywhere by this long (a server
 * restarting finds it); then it is gone, as on one server. */
#define TOPIC_TTL_MS (10 * 60 * 1000)

enum { WAIT_IGNORE, WAIT_CLAIM, WAIT_REREG, WAIT_HISTORY, WAIT_ROSTER, WAIT_TOPIC };

/* A member's line: into the room's capped stream and onto its channel at
 * once, the channel's copy carrying the stream id (KEYS: stream, channel;
 * ARGV: MAXLEN, "SKH ORIGIN SEQ ROOM SENDER", the line). */
static const char say_lua[] = "local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', "
                              "'l', ARGV[3]) "
                              "redis.call('PUBLISH', KEYS[2], ARGV[2] .. ' ' .. id .. ' ' .. "
                              "ARGV[3]) "
                              "return id";

/* A topic: kept (or cleared: "") and announced at once with the room's next
 * topic version, so the order servers hear the sets in is the order Redis
 * kept them in, and a topic read later is told from an older one heard
 * late. The version never goes back: past what the setter knows of
 * (Redis restarted empty). KEYS: the topic's hash {v, t}, the channel;
 * ARGV: the topic, "SKT ORIGIN SEQ ROOM SENDER", its TTL in ms, the
 * version the setter knows. */
static const char topic_lua[] = "local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0') "
                                "local k = tonumber(ARGV[4]) "
                                "if v < k then v = k end "
                                "v = v + 1 "
                                "redis.call('HSET', KEYS[1], 'v', v, 't', ARGV[1]) "
                                "redis.call('PEXPIRE', KEYS[1], ARGV[3]) "
                                "redis.call('PUBLISH', KEYS[2], ARGV[2] .. ' ' .. v .. ' ' .. "
                                "ARGV[1]) "
                                "return v";

/* A room's topic read as {version, topic}; one this server knows newer
 * (Redis restarted empty) is put back first. KEYS: the topic's hash;
 * ARGV: the version known here, the topic here, the TTL in ms. */
static const char topic_sync_lua[] = "local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0') "
                                     "if v < tonumber(ARGV[1]) then "
                                     "redis.call('HSET', KEYS[1], 'v', ARGV[1], 't', ARGV[2]) "
                                     "redis.call('PEXPIRE', KEYS[1], ARGV[3]) "
                                     "return {ARGV[1], ARGV[2]} end "
                                     "return {tostring(v), redis.call('HGET', KEYS[1], 't') or ''}";

/* Every server's roster hash, in one round trip and bounded. */
static const char roster_lua[] =
    "local out, cur = {}, '0' "
    "repeat "
    "local r = redis.call('SCAN', cur, 'MATCH', 'sockit:members:*', 'COUNT', 100) "
    "cur = r[1] "
    "for _, k in ipairs(r[2]) do "
    "local h = redis.call('HGETALL', k) "
    "for i = 1, #h, 2 do "
    "if #out < 2 * tonumber(ARGV[1]) then out[#out + 1] = h[i]; out[#out + 1] = h[i + 1] end "
    "end end "
    "until cur == '0' or #out >= 2 * tonumber(ARGV[1]) "
    "local seen, tops = {}, {} "
    "for i = 2, #out, 2 do "
    "if not seen[out[i]] then seen[out[i]] = 1 "
    "local t = redis.call('HGET', 'sockit:topic:' .. out[i], 't') "
    "if t and t ~= '' then tops[#tops + 1] = out[i]; tops[#tops + 1] = t end "
    "end end "
    "return {out, tops}";

struct wait {
    int kind, asked; /* asked: the chat's kind of a roster */
    uint64_t conn_id;
    char nick[SK_CHAT_NICK_MAX + SK_CHAT_ROOM_MAX + 2]; /* or the room's folded name */
};

struct link {
    struct sk_conn *c;
    redisReader *rd;
    int up; /* connected (and set up) */
    int backoff_ms;
};

struct sk__chat_cluster {
    struct sk__chat_cluster_hooks h;
    struct sk_addr addr;
    unsigned db;
    uint64_t id, seq;
    struct link link[SK_CHAT_CLUSTER_LINKS];
    int told_down; /* members were told the cluster is unreachable */
    char *backlog;
    size_t backlog_len;
    unsigned backlog_cmds; /* commands in it: as many answers to await */
    uint64_t overflow;     /* lines not passed on: the queue was full */
    struct wait waits[WAIT_MAX];
    unsigned whead, wlen;
    int64_t progress_ms; /* the last answer, or the first awaited after none */
    unsigned history;    /* lines kept per room */
};

/* ---- the payload ---- */

static int is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

/* The next space-separated field of p[*at..n): sets f and len, 0 or -EINVAL. */
static int field(const char *p, size_t n, size_t *at, const char **f, size_t *len)
{
    size_t i = *at;
    while (i < n && p[i] != ' ')
        i++;
    if (i == *at || i >= n)
        return -EINVAL;
    *f = p + *at;
    *len = i - *at;
    *at = i + 1;
    return 0;
}

/* A decimal number of 1..19 digits, no leading zero, into *v. */
static int decimal(const char *f, size_t len, uint64_t *v)
{
    *v = 0;
    if (len == 0 || len > 19 || (f[0] == '0' && len > 1))
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (f[i] < '0' || f[i] > '9')
            return -EINVAL;
        *v = *v * 10 + (uint64_t)(f[i] - '0');
    }
    return 0;
}

/* A stream id "MS-SEQ" (Redis's spelling) into *id. */
static int stream_id(const char *f, size_t len, struct sk__chat_stream_id *id)
{
    const char *dash = memchr(f, '-', len);
    if (!dash || decimal(f, (size_t)(dash - f), &id->ms) < 0 ||
        decimal(dash + 1, len - (size_t)(dash - f) - 1, &id->seq) < 0)
        return -EINVAL;
    return 0;
}

int sk__chat_cluster_parse(const char *p, size_t n, struct sk__chat_cluster_msg *out)
{
    const char *f;
    size_t len, at = 0;
    const char *why;

    memset(out, 0, sizeof(*out));
    if (field(p, n, &at, &f, &len) < 0 || len != 3 || memcmp(f, "SK", 2) != 0)
        return -EINVAL;
    out->kind = f[2] == '1'   ? SK__CHAT_CLUSTER_LINE
                : f[2] == 'H' ? SK__CHAT_CLUSTER_KEPT
                : f[2] == 'T' ? SK__CHAT_CLUSTER_TOPIC
                              : 0;
    if (!out->kind)
        return -EINVAL;
    if (field(p, n, &at, &f, &len) < 0 || len != 16)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (!is_hex(f[i]))
            return -EINVAL;
        out->origin = out->origin << 4 | (uint64_t)(f[i] <= '9' ? f[i] - '0' : f[i] - 'a' + 10);
    }
    if (field(p, n, &at, &f, &len) < 0 || decimal(f, len, &out->seq) < 0)
        return -EINVAL;
    if (field(p, n, &at, &out->room, &out->room_len) < 0 || out->room_len > SK_CHAT_ROOM_MAX)
        return -EINVAL;
    char room[SK_CHAT_ROOM_MAX + 1], folded[SK_CHAT_ROOM_MAX + 1];
    if (sk_chat_room_name(out->room, out->room_len, room, &why) < 0 ||
        strlen(room) != out->room_len || memcmp(room, out->room, out->room_len) != 0)
        return -EINVAL; /* the room's own spelling ("#dev", not "dev") */
    sk_chat_room_fold(out->room, out->room_len, folded);
    if (memcmp(folded, out->room, out->room_len) != 0)
        return -EINVAL; /* the folded spelling only */
    if (field(p, n, &at, &out->sender, &out->sender_len) < 0 ||
        sk_chat_nick_check(out->sender, out->sender_len, &why) < 0)
        return -EINVAL;
    if (out->kind == SK__CHAT_CLUSTER_KEPT &&
        (field(p, n, &at, &f, &len) < 0 || stream_id(f, len, &out->id) < 0))
        return -EINVAL;
    if (out->kind == SK__CHAT_CLUSTER_TOPIC &&
        (field(p, n, &at, &f, &len) < 0 || decimal(f, len, &out->version) < 0 || !out->version))
        return -EINVAL;
    out->text = p + at;
    out->text_len = n - at;
    if (out->kind == SK__CHAT_CLUSTER_TOPIC ? out->text_len > SK_CHAT_TOPIC_MAX
                                            : out->text_len == 0)
        return -EINVAL;
    if (memchr(out->text, '\n', out->text_len) || memchr(out->text, '\r', out->text_len) ||
        memchr(out->text, '\0', out->text_len))
        return -EINVAL;
    return 0;
}

/* ---- set up ---- */

static uint64_t random_id(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 48);
    x ^= (uint64_t)(uintptr_t)&ts;
    x ^= x >> 33; /* splitmix's finaliser */
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x ? x : 1;
}

int sk__chat_cluster_new(struct sk__chat_cluster **out, const char *url,
                         const struct sk__chat_cluster_hooks *hooks, char *err, size_t errlen)
{
    const char *p = url;
    char host[256], port[8] = "6379";
    unsigned db = 0;

    if (strncmp(p, "redis://", 8) != 0) {
        snprintf(err, errlen, "--cluster: '%s' is not redis://HOST:PORT[/DB]", url);
        return -EINVAL;
    }
    p += 8;
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof(host)) {
        snprintf(err, errlen, "--cluster: '%s' has no host", url);
        return -EINVAL;
    }
    memcpy(host, p, hl);
    host[hl] = '\0';
    p += hl;
    if (*p == ':') {
        size_t pl = strcspn(++p, "/");
        if (pl == 0 || pl >= sizeof(port) || strspn(p, "0123456789") != pl) {
            snprintf(err, errlen, "--cluster: '%s' has no valid port", url);
            return -EINVAL;
        }
        memcpy(port, p, pl);
        port[pl] = '\0';
        p += pl;
    }
    if (*p == '/') {
        char *end;
        unsigned long v = strtoul(++p, &end, 10);
        if (end == p || *end || v > 1000) {
            snprintf(err, errlen, "--cluster: '%s' has no valid database number", url);
            return -EINVAL;
        }
        db = (unsigned)v;
    } else if (*p) {
        snprintf(err, errlen, "--cluster: '%s' is not redis://HOST:PORT[/DB]", url);
        return -EINVAL;
    }
    struct sk__chat_cluster *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return -ENOMEM;
    int r = sk_resolve_one(host, port, AF_UNSPEC, SOCK_STREAM, 0, &cl->addr);
    if (r < 0) {
        snprintf(err, errlen, "--cluster: %s: cannot resolve", host);
        free(cl);
        return r;
    }
    cl->h = *hooks;
    cl->db = db;
    cl->id = random_id();
    *out = cl;
    return 0;
}

void sk__chat_cluster_set_history(struct sk__chat_cluster *cl, unsigned n)
{
    cl->history = n > HISTORY_MAX ? HISTORY_MAX : n;
}

void sk__chat_cluster_free(struct sk__chat_cluster *cl)
{
    if (!cl)
        return;
    for (int i = 0; i < SK_CHAT_CLUSTER_LINKS; i++)
        if (cl->link[i].rd)
            redisReaderFree(cl->link[i].rd);
    free(cl->backlog);
    free(cl);
}

static struct link *link_of(const struct sk__chat_cluster *cl, const struct sk_conn *c)
{
    for (int i = 0; cl && i < SK_CHAT_CLUSTER_LINKS; i++)
        if (cl->link[i].c == c)
            return (struct link *)&cl->link[i];
    return NULL;
}

int sk__chat_cluster_owns(const struct sk__chat_cluster *cl, const struct sk_conn *c)
{
    return link_of(cl, c) != NULL;
}

int sk__chat_cluster_up(const struct sk__chat_cluster *cl)
{
    return cl && cl->link[0].up;
}

/* ---- commands ---- */

/* Send one formatted command on link l (0 or -errno). */
/* cmdp, not the command: a call such as send_cmd(l, &cmd,
 * redisFormatCommand(&cmd, ...)) must not read cmd before the formatter
 * has set it (the order arguments are evaluated in is unspecified). */
static int send_cmd(struct link *l, char **cmdp, int len)
{
    if (len < 0)
        return -ENOMEM;
    char *cmd = *cmdp;
    int r = sk_conn_upstream_write(l->c, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return r;
}

static int await(struct sk__chat_cluster *cl, int kind, uint64_t conn_id, const char *nick);

/* Send a command while Redis is up (and nothing waits before it), else
 * queue it (bounded: what overflows is counted); its answer is ignored. */
static void send_or_queue(struct sk__chat_cluster *cl, char **cmdp, int len, int a_line)
{
    if (len < 0)
        return;
    char *cmd = *cmdp;
    if (cl->link[0].up && !cl->backlog_len && await(cl, WAIT_IGNORE, 0, NULL) == 0) {
        if (send_cmd(&cl->link[0], cmdp, len) < 0) {
            cl->wlen--;
            cl->overflow += a_line != 0; /* the link's output is full */
        }
        return;
    }
    char *b = cl->backlog_len + (size_t)len > BACKLOG_MAX || cl->backlog_cmds >= WAIT_MAX / 2
                  ? NULL
                  : realloc(cl->backlog, cl->backlog_len + (size_t)len);
    if (!b) {
        cl->overflow += a_line != 0;
        redisFreeCommand(cmd);
        return;
    }
    memcpy(b + cl->backlog_len, cmd, (size_t)len);
    cl->backlog = b;
    cl->backlog_len += (size_t)len;
    cl->backlog_cmds++;
    redisFreeCommand(cmd);
}

/* Write what waits in the backlog once Redis is up and the answers awaited
 * leave room for its (awaited in order, ignored): on reconnect, and as
 * answers come in (the queue of answers was full). */
static void flush_backlog(struct sk__chat_cluster *cl)
{
    struct link *l = &cl->link[0];
    if (!cl->backlog_len || !l->up || cl->wlen + cl->backlog_cmds > WAIT_MAX)
        return;
    if (sk_conn_upstream_write(l->c, cl->backlog, cl->backlog_len) == 0) {
        for (unsigned i = cl->backlog_cmds; i > 0; i--)
            await(cl, WAIT_IGNORE, 0, NULL);
    } else {
        cl->overflow += cl->backlog_cmds; /* the link's output is full */
    }
    free(cl->backlog);
    cl->backlog = NULL;
    cl->backlog_len = 0;
    cl->backlog_cmds = 0;
}

int sk__chat_cluster_busy(const struct sk__chat_cluster *cl)
{
    const struct link *l = cl ? &cl->link[0] : NULL;
    return l && l->up &&
           (cl->backlog_len || cl->wlen + BUSY_WAITS > WAIT_MAX ||
            sk_conn_upstream_room(l->c) < BUSY_ROOM) &&
           sk_now_ms() - cl->progress_ms < BUSY_STALL_MS;
}

static int await(struct sk__chat_cluster *cl, int kind, uint64_t conn_id, const char *nick)
{
    if (cl->wlen == WAIT_MAX)
        return -EAGAIN;
    if (!cl->wlen)
        cl->progress_ms = sk_now_ms();
    struct wait *w = &cl->waits[(cl->whead + cl->wlen++) % WAIT_MAX];
    w->kind = kind;
    w->asked = 0;
    w->conn_id = conn_id;
    snprintf(w->nick, sizeof(w->nick), "%s", nick ? nick : "");
    return 0;
}

static void nick_key(const char *nick, char *key, size_t len)
{
    size_t at = (size_t)snprintf(key, len, "sockit:nick:");
    for (; *nick && at + 1 < len; nick++)
        key[at++] = (*nick >= 'A' && *nick <= 'Z') ? (char)(*nick + 32) : *nick;
    key[at] = '\0';
}

/* SET key id NX PX ttl on the commands' link, its answer awaited as kind. */
static int set_nx(struct sk__chat_cluster *cl, int kind, uint64_t conn_id, const char *nick)
{
    char key[64], val[20], ttl[16];
    char *cmd;
    nick_key(nick, key, sizeof(key));
    snprintf(val, sizeof(val), "%016llx", (unsigned long long)cl->id);
    snprintf(ttl, sizeof(ttl), "%d", NICK_TTL_MS);
    int r = await(cl, kind, conn_id, nick);
    if (r < 0)
        return r;
    r = send_cmd(&cl->link[0], &cmd, redisFormatCommand(&cmd, "SET %s %s NX PX %s", key, val, ttl));
    if (r < 0)
        cl->wlen--;
    return r;
}

int sk__chat_cluster_claim(struct sk__chat_cluster *cl, uint64_t conn_id, const char *nick)
{
    if (!cl->link[0].up)
        return -ENOTCONN;
    return set_nx(cl, WAIT_CLAIM, conn_id, nick);
}

/* Delete the nick's key if it is still ours (a script: get and del at once). */
void sk__chat_cluster_release(struct sk__chat_cluster *cl, const char *nick)
{
    char key[64], val[20];
    char *cmd;
    if (!cl->link[0].up || await(cl, WAIT_IGNORE, 0, NULL) < 0)
        return;
    nick_key(nick, key, sizeof(key));
    snprintf(val, sizeof(val), "%016llx", (unsigned long long)cl->id);
    if (send_cmd(&cl->link[0], &cmd,
                 redisFormatCommand(&cmd, "EVAL %s 1 %s %s",
                                    "if redis.call('get',KEYS[1])==ARGV[1] then "
                                    "return redis.call('del',KEYS[1]) end return 0",
                                    key, val)) < 0)
        cl->wlen--;
}

static void refresh_one_key(struct sk__chat_cluster *cl, const char *key)
{
    char ttl[16];
    char *cmd;
    if (await(cl, WAIT_IGNORE, 0, NULL) < 0)
        return;
    snprintf(ttl, sizeof(ttl), "%d", NICK_TTL_MS);
    if (send_cmd(&cl->link[0], &cmd, redisFormatCommand(&cmd, "PEXPIRE %s %s", key, ttl)) < 0)
        cl->wlen--;
}

static void refresh_one(struct sk__chat_cluster *cl, const char *nick)
{
    char key[64], ttl[16];
    char *cmd;
    if (await(cl, WAIT_IGNORE, 0, NULL) < 0)
        return;
    nick_key(nick, key, sizeof(key));
    snprintf(ttl, sizeof(ttl), "%d", NICK_TTL_MS);
    if (send_cmd(&cl->link[0], &cmd, redisFormatCommand(&cmd, "PEXPIRE %s %s", key, ttl)) < 0)
        cl->wlen--;
}

static void rereg_one(struct sk__chat_cluster *cl, const char *nick)
{
    set_nx(cl, WAIT_REREG, 0, nick);
}

static void members_key(const struct sk__chat_cluster *cl, char *key, size_t len)
{
    snprintf(key, len, "sockit:members:%016llx", (unsigned long long)cl->id);
}

void sk__chat_cluster_where(struct sk__chat_cluster *cl, const char *nick, const char *room)
{
    char key[40], ttl[16], folded[SK_CHAT_ROOM_MAX + 1];
    char *cmd;
    if (!cl->link[0].up)
        return; /* the whole roster is written again on reconnect */
    members_key(cl, key, sizeof(key));
    if (!room) {
        send_or_queue(cl, &cmd, redisFormatCommand(&cmd, "HDEL %s %s", key, nick), 0);
        return;
    }
    sk_chat_room_fold(room, strlen(room), folded);
    snprintf(ttl, sizeof(ttl), "%d", NICK_TTL_MS);
    send_or_queue(cl, &cmd, redisFormatCommand(&cmd, "HSET %s %s %s", key, nick, folded), 0);
    send_or_queue(cl, &cmd, redisFormatCommand(&cmd, "PEXPIRE %s %s", key, ttl), 0);
}

static void where_one(struct sk__chat_cluster *cl, const char *nick, const char *room)
{
    sk__chat_cluster_where(cl, nick, room);
}

int sk__chat_cluster_roster(struct sk__chat_cluster *cl, uint64_t conn_id, int kind)
{
    char max[12];
    char *cmd;
    if (!cl->link[0].up)
        return -ENOTCONN;
    int r = await(cl, WAIT_ROSTER, conn_id, NULL);
    if (r < 0)
        return r;
    cl->waits[(cl->whead + cl->wlen - 1) % WAIT_MAX].asked = kind;
    snprintf(max, sizeof(max), "%d", SK_CHAT_CLUSTER_ROSTER_MAX);
    r = send_cmd(&cl->link[0], &cmd, redisFormatCommand(&cmd, "EVAL %s 0 %s", roster_lua, max));
    if (r < 0)
        cl->wlen--;
    return r;
}

/* The topic the roster's answer gives room (NULL: none). */
static const char *roster_topic(const redisReply *tops, const char *room)
{
    for (size_t i = 0; tops && i + 1 < tops->elements; i += 2) {
        const redisReply *k = tops->element[i], *v = tops->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            strcmp(k->str, room) == 0 && v->len <= SK_CHAT_TOPIC_MAX && strlen(v->str) == v->len)
            return v->str;
    }
    return NULL;
}

/* The roster's answer: [[nick, room, ...], [room, topic, ...]]; a pair
 * that is not a valid nick and room (another server's, untrusted) is
 * skipped, a topic too long is not shown. */
static void roster_answer(struct sk__chat_cluster *cl, const struct wait *w, const redisReply *rep)
{
    const char *nicks[SK_CHAT_CLUSTER_ROSTER_MAX], *rooms[SK_CHAT_CLUSTER_ROSTER_MAX];
    const char *topics[SK_CHAT_CLUSTER_ROSTER_MAX];
    size_t n = 0;
    const char *why;
    char room[SK_CHAT_ROOM_MAX + 1];
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_ARRAY)
        return;
    const redisReply *tops = rep->element[1]->type == REDIS_REPLY_ARRAY ? rep->element[1] : NULL;
    rep = rep->element[0];
    for (size_t i = 0; i + 1 < rep->elements && n < SK_CHAT_CLUSTER_ROSTER_MAX; i += 2) {
        const redisReply *k = rep->element[i], *v = rep->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            sk_chat_nick_check(k->str, k->len, &why) < 0 || strlen(k->str) != k->len ||
            v->len > SK_CHAT_ROOM_MAX || strlen(v->str) != v->len ||
            sk_chat_room_name(v->str, v->len, room, &why) < 0 || strcmp(room, v->str) != 0)
            continue;
        nicks[n] = k->str;
        topics[n] = roster_topic(tops, v->str);
        rooms[n++] = v->str;
    }
    cl->h.roster(cl->h.arg, w->conn_id, w->asked, nicks, rooms, topics, n);
}

void sk__chat_cluster_publish(struct sk__chat_cluster *cl, const char *room, const char *sender,
                              const char *text, size_t n)
{
    char chan[SK_CHAT_ROOM_MAX + 16], folded[SK_CHAT_ROOM_MAX + 1];
    char *payload = NULL, *cmd;
    sk_chat_room_fold(room, strlen(room), folded);
    snprintf(chan, sizeof(chan), "sockit:room:%s", folded);
    int pl = asprintf(&payload, "SK1 %016llx %llu %s %s %.*s", (unsigned long long)cl->id,
                      (unsigned long long)++cl->seq, folded, sender, (int)n, text);
    if (pl < 0)
        return;
    int len = redisFormatCommand(&cmd, "PUBLISH %s %b", chan, payload, (size_t)pl);
    free(payload);
    send_or_queue(cl, &cmd, len, 1); /* Redis away: queued, bounded */
}

void sk__chat_cluster_say(struct sk__chat_cluster *cl, const char *room, const char *sender,
                          const char *text, size_t n)
{
    char key[SK_CHAT_ROOM_MAX + 20], chan[SK_CHAT_ROOM_MAX + 16], folded[SK_CHAT_ROOM_MAX + 1];
    char head[SK_CHAT_ROOM_MAX + SK_CHAT_NICK_MAX + 48], max[12];
    char *cmd;
    if (!cl->history) {
        sk__chat_cluster_publish(cl, room, sender, text, n);
        return;
    }
    sk_chat_room_fold(room, strlen(room), folded);
    snprintf(key, sizeof(key), "sockit:history:%s", folded);
    snprintf(chan, sizeof(chan), "sockit:room:%s", folded);
    snprintf(max, sizeof(max), "%u", cl->history);
    snprintf(head, sizeof(head), "SKH %016llx %llu %s %s", (unsigned long long)cl->id,
             (unsigned long long)++cl->seq, folded, sender);
    send_or_queue(cl, &cmd,
                  redisFormatCommand(&cmd, "EVAL %s 2 %s %s %s %s %b", say_lua, key, chan, max,
                                     head, text, n),
                  1);
}

int sk__chat_cluster_history(struct sk__chat_cluster *cl, uint64_t conn_id, const char *room)
{
    char key[SK_CHAT_ROOM_MAX + 20], folded[SK_CHAT_ROOM_MAX + 1], max[12];
    char *cmd;
    if (!cl->history)
        return 0;
    if (!cl->link[0].up)
        return -ENOTCONN;
    sk_chat_room_fold(room, strlen(room), folded);
    snprintf(key, sizeof(key), "sockit:history:%s", folded);
    snprintf(max, sizeof(max), "%u", cl->history);
    int r = await(cl, WAIT_HISTORY, conn_id, folded);
    if (r < 0)
        return r;
    r = send_cmd(&cl->link[0], &cmd,
                 redisFormatCommand(&cmd, "XREVRANGE %s + - COUNT %s", key, max));
    if (r < 0) {
        cl->wlen--;
        return r;
    }
    return 1;
}

/* XREVRANGE's answer, newest first: [[id, ["l", line]], ...]; anything else
 * in it is skipped. Handed on oldest first, with the newest id (what the
 * member's held live lines are compared with). */
static void history_answer(struct sk__chat_cluster *cl, const struct wait *w, const redisReply *rep)
{
    const char *lines[HISTORY_MAX];
    size_t lens[HISTORY_MAX], n = 0;
    struct sk__chat_stream_id last = {0, 0};
    if (rep->type != REDIS_REPLY_ARRAY) {
        cl->h.history(cl->h.arg, w->conn_id, w->nick, NULL, NULL, 0, &last);
        return;
    }
    for (size_t i = rep->elements; i-- > 0 && n < HISTORY_MAX;) {
        const redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY ||
            e->element[1]->elements != 2)
            continue;
        struct sk__chat_stream_id id;
        if (stream_id(e->element[0]->str, e->element[0]->len, &id) == 0 &&
            (id.ms > last.ms || (id.ms == last.ms && id.seq > last.seq)))
            last = id;
        const redisReply *f = e->element[1]->element[0], *v = e->element[1]->element[1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            strcmp(f->str, "l") != 0)
            continue;
        lines[n] = v->str;
        lens[n++] = v->len;
    }
    cl->h.history(cl->h.arg, w->conn_id, w->nick, lines, lens, n, &last);
}

int sk__chat_cluster_topic(struct sk__chat_cluster *cl, const char *room, const char *sender,
                           const char *topic, uint64_t known, uint64_t *seq)
{
    char key[SK_CHAT_ROOM_MAX + 20], chan[SK_CHAT_ROOM_MAX + 16], folded[SK_CHAT_ROOM_MAX + 1];
    char head[SK_CHAT_ROOM_MAX + SK_CHAT_NICK_MAX + 48], ttl[16], ver[24];
    char *cmd;
    if (!cl->link[0].up)
        return -ENOTCONN;
    sk_chat_room_fold(room, strlen(room), folded);
    snprintf(key, sizeof(key), "sockit:topic:%s", folded);
    snprintf(chan, sizeof(chan), "sockit:room:%s", folded);
    snprintf(ttl, sizeof(ttl), "%d", TOPIC_TTL_MS);
    snprintf(ver, sizeof(ver), "%llu", (unsigned long long)known);
    *seq = ++cl->seq;
    snprintf(head, sizeof(head), "SKT %016llx %llu %s %s", (unsigned long long)cl->id,
             (unsigned long long)*seq, folded, sender);
    send_or_queue(cl, &cmd,
                  redisFormatCommand(&cmd, "EVAL %s 2 %s %s %s %s %s %s", topic_lua, key, chan,
                                     topic, head, ttl, ver),
                  0);
    return 0;
}

void sk__chat_cluster_topic_sync(struct sk__chat_cluster *cl, const char *room, const char *topic,
                                 uint64_t known)
{
    char key[SK_CHAT_ROOM_MAX + 20], folded[SK_CHAT_ROOM_MAX + 1], ttl[16], ver[24];
    char *cmd;
    if (!cl->link[0].up || await(cl, WAIT_TOPIC, 0, NULL) < 0)
        return;
    sk_chat_room_fold(room, strlen(room), folded);
    snprintf(cl->waits[(cl->whead + cl->wlen - 1) % WAIT_MAX].nick, sizeof(cl->waits[0].nick), "%s",
             folded);
    snprintf(key, sizeof(key), "sockit:topic:%s", folded);
    snprintf(ttl, sizeof(ttl), "%d", TOPIC_TTL_MS);
    snprintf(ver, sizeof(ver), "%llu", (unsigned long long)known);
    if (send_cmd(&cl->link[0], &cmd,
                 redisFormatCommand(&cmd, "EVAL %s 1 %s %s %s %s", topic_sync_lua, key, ver, topic,
                                    ttl)) < 0)
        cl->wlen--;
}

void sk__chat_cluster_topic_keep(struct sk__chat_cluster *cl, const char *room)
{
    char key[SK_CHAT_ROOM_MAX + 20], folded[SK_CHAT_ROOM_MAX + 1], ttl[16];
    char *cmd;
    if (!cl->link[0].up)
        return;
    sk_chat_room_fold(room, strlen(room), folded);
    snprintf(key, sizeof(key), "sockit:topic:%s", folded);
    snprintf(ttl, sizeof(ttl), "%d", TOPIC_TTL_MS);
    send_or_queue(cl, &cmd, redisFormatCommand(&cmd, "PEXPIRE %s %s", key, ttl), 0);
}

/* The sync's answer: [version, topic] ("0" and "": none yet). */
static void topic_answer(struct sk__chat_cluster *cl, const struct wait *w, const redisReply *rep)
{
    uint64_t ver;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_STRING ||
        rep->element[1]->type != REDIS_REPLY_STRING ||
        decimal(rep->element[0]->str, rep->element[0]->len, &ver) < 0 ||
        rep->element[1]->len > SK_CHAT_TOPIC_MAX)
        return;
    cl->h.topic(cl->h.arg, w->nick, NULL, rep->element[1]->str, rep->element[1]->len, ver, 0, 0);
}

/* ---- the links ---- */

static void link_connect(struct sk__chat_cluster *cl, struct link *l)
{
    (void)cl;
    if (l->rd)
        redisReaderFree(l->rd);
    l->rd = redisReaderCreate();
    int r = l->rd ? sk_conn_upstream_connect(l->c, &cl->addr, CONNECT_MS) : -ENOMEM;
    if (r < 0) /* try again later */
        sk_conn_set_deadline(l->c, l->backoff_ms);
}

int sk__chat_cluster_link_open(struct sk__chat_cluster *cl, struct sk_conn *c, unsigned index)
{
    if (index >= SK_CHAT_CLUSTER_LINKS)
        return -EINVAL;
    struct link *l = &cl->link[index];
    l->c = c;
    l->backoff_ms = BACKOFF_MIN_MS;
    link_connect(cl, l);
    return 0;
}

/* The link is down (refused, reset, closed by Redis): tell the members once,
 * try again after the backoff. */
static int link_down(struct sk__chat_cluster *cl, struct link *l)
{
    int was = l->up;
    l->up = 0;
    if (l == &cl->link[0]) {
        /* No answer comes any more: a nick still asked for is decided here
         * (and registered again on reconnect, like every other). */
        unsigned n = cl->wlen;
        cl->wlen = 0;
        for (unsigned i = 0; i < n; i++) {
            struct wait w = cl->waits[(cl->whead + i) % WAIT_MAX];
            if (w.kind == WAIT_CLAIM)
                cl->h.claimed(cl->h.arg, w.conn_id, w.nick, SK_CHAT_CLUSTER_ALONE);
            else if (w.kind == WAIT_HISTORY) /* its member's live lines are let go */
                cl->h.history(cl->h.arg, w.conn_id, w.nick, NULL, NULL, 0, NULL);
        }
        if (was)
            sk_log(SK_LOG_WARN, "chat cluster: lost Redis; local chat goes on, reconnecting");
    }
    if (!cl->told_down) {
        cl->told_down = 1;
        cl->h.notice(cl->h.arg, "*** The cluster is unreachable: this server goes on alone "
                                "and reconnects.");
    }
    sk_conn_set_deadline(l->c, l->backoff_ms);
    l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
    return 0;
}

int sk__chat_cluster_connected(struct sk__chat_cluster *cl, struct sk_conn *c, int err)
{
    struct link *l = link_of(cl, c);
    char *cmd;
    char db[12];

    if (!l)
        return 0;
    if (err < 0) {
        sk_conn_upstream_close(c);
        return link_down(cl, l);
    }
    l->up = 1;
    l->backoff_ms = BACKOFF_MIN_MS;
    snprintf(db, sizeof(db), "%u", cl->db);
    /* The subscriber ignores every answer but a message. */
    if (cl->db && (l == &cl->link[1] || await(cl, WAIT_IGNORE, 0, NULL) == 0))
        send_cmd(l, &cmd, redisFormatCommand(&cmd, "SELECT %s", db));
    if (l == &cl->link[1])
        return send_cmd(l, &cmd, redisFormatCommand(&cmd, "PSUBSCRIBE sockit:room:*"));
    /* Commands: the nicks again (a clash is told to its member), what
     * waited, this server's roster, the topics, then the refresh timer. */
    cl->h.each_nick(cl->h.arg, cl, rereg_one);
    flush_backlog(cl);
    char key[40];
    members_key(cl, key, sizeof(key));
    send_or_queue(cl, &cmd, redisFormatCommand(&cmd, "DEL %s", key), 0);
    cl->h.each_member(cl->h.arg, cl, where_one);
    cl->h.rooms(cl->h.arg, 1); /* topics set here meanwhile, then every room's */
    if (cl->told_down) {
        cl->told_down = 0;
        char note[160];
        if (cl->overflow)
            snprintf(note, sizeof(note),
                     "*** The cluster is back (%llu line%s said here meanwhile did not reach it).",
                     (unsigned long long)cl->overflow, cl->overflow == 1 ? "" : "s");
        else
            snprintf(note, sizeof(note), "*** The cluster is back.");
        cl->overflow = 0;
        cl->h.notice(cl->h.arg, note);
    }
    sk_conn_set_deadline(c, REFRESH_MS);
    return 0;
}

static void answer(struct sk__chat_cluster *cl, const redisReply *rep)
{
    if (!cl->wlen)
        return; /* a stray answer (after a SELECT on the subscriber) */
    struct wait w = cl->waits[cl->whead];
    cl->whead = (cl->whead + 1) % WAIT_MAX;
    cl->wlen--;
    cl->progress_ms = sk_now_ms();
    int ok = rep->type == REDIS_REPLY_STATUS && rep->str && strcmp(rep->str, "OK") == 0;
    if (w.kind == WAIT_CLAIM)
        cl->h.claimed(cl->h.arg, w.conn_id, w.nick, ok);
    else if (w.kind == WAIT_HISTORY)
        history_answer(cl, &w, rep);
    else if (w.kind == WAIT_ROSTER)
        roster_answer(cl, &w, rep);
    else if (w.kind == WAIT_TOPIC)
        topic_answer(cl, &w, rep);
    else if (w.kind == WAIT_REREG && !ok && rep->type == REDIS_REPLY_NIL)
        cl->h.lost(cl->h.arg, w.nick);
}

static void message(struct sk__chat_cluster *cl, const redisReply *rep)
{
    struct sk__chat_cluster_msg m;
    char room[SK_CHAT_ROOM_MAX + 1];

    /* The subscription is up: every topic is read again from here on (a
     * set published while it was down was not heard). */
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
        rep->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(rep->element[0]->str, "psubscribe") == 0) {
        cl->h.rooms(cl->h.arg, 1);
        return;
    }
    /* ["pmessage", pattern, channel, payload] */
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 4 ||
        rep->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(rep->element[0]->str, "pmessage") != 0 ||
        rep->element[3]->type != REDIS_REPLY_STRING)
        return;
    const redisReply *p = rep->element[3];
    if (sk__chat_cluster_parse(p->str, p->len, &m) < 0) {
        sk_log(SK_LOG_DEBUG, "chat cluster: dropped a malformed message");
        return;
    }
    memcpy(room, m.room, m.room_len);
    room[m.room_len] = '\0';
    if (m.kind == SK__CHAT_CLUSTER_TOPIC) { /* our own too: Redis's order decides */
        char sender[SK_CHAT_NICK_MAX + 1];
        memcpy(sender, m.sender, m.sender_len);
        sender[m.sender_len] = '\0';
        cl->h.topic(cl->h.arg, room, sender, m.text, m.text_len, m.version, m.origin == cl->id,
                    m.seq);
        return;
    }
    if (m.origin == cl->id)
        return; /* our own echo */
    cl->h.line(cl->h.arg, room, m.text, m.text_len, m.kind == SK__CHAT_CLUSTER_KEPT ? &m.id : NULL);
}

ssize_t sk__chat_cluster_data(struct sk__chat_cluster *cl, struct sk_conn *c, const char *p,
                              size_t n)
{
    struct link *l = link_of(cl, c);
    void *rep;

    if (!l || !l->rd)
        return (ssize_t)n;
    if (redisReaderFeed(l->rd, p, n) != REDIS_OK)
        return -EPROTO;
    for (;;) {
        if (redisReaderGetReply(l->rd, &rep) != REDIS_OK) {
            sk_conn_upstream_close(c);
            link_down(cl, l);
            return (ssize_t)n;
        }
        if (!rep)
            break;
        if (l == &cl->link[0])
            answer(cl, rep);
        else
            message(cl, rep);
        freeReplyObject(rep);
    }
    if (l == &cl->link[0])
        flush_backlog(cl);
    return (ssize_t)n;
}

int sk__chat_cluster_eof(struct sk__chat_cluster *cl, struct sk_conn *c)
{
    struct link *l = link_of(cl, c);
    if (!l)
        return 0;
    sk_conn_upstream_close(c);
    return link_down(cl, l);
}

void sk__chat_cluster_timeout(struct sk__chat_cluster *cl, struct sk_conn *c)
{
    struct link *l = link_of(cl, c);
    if (!l)
        return;
    if (!sk_conn_has_upstream(c)) {
        link_connect(cl, l);
        return;
    }
    if (l == &cl->link[0] && l->up) {
        char key[40];
        members_key(cl, key, sizeof(key));
        cl->h.each_nick(cl->h.arg, cl, refresh_one);
        refresh_one_key(cl, key);
        cl->h.rooms(cl->h.arg, 0);
        sk_conn_set_deadline(c, REFRESH_MS);
    }
}

void sk__chat_cluster_close(struct sk__chat_cluster *cl, struct sk_conn *c)
{
    struct link *l = link_of(cl, c);
    if (!l)
        return;
    l->c = NULL;
    l->up = 0;
}
