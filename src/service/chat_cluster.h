/*
 * chat_cluster.h - chat's cluster through Redis (serve chat --cluster): the
 * hub's two server-wide links (conn.h), the payload of a line passed between
 * servers, and what the chat hears back (struct sk__chat_cluster_hooks).
 */
#ifndef SOCKIT_SERVICE_CHAT_CLUSTER_H
#define SOCKIT_SERVICE_CHAT_CLUSTER_H

#include "sockit/chat.h"
#include "sockit/conn.h"

#include <stddef.h>
#include <stdint.h>

#define SK_CHAT_CLUSTER_LINKS 2 /* commands, and the subscription */
#define SK_CHAT_CLUSTER_ALONE 2 /* a claim Redis did not answer (claimed()) */

struct sk__chat_cluster;

/* A line's id in its room's history stream ("MS-SEQ", Redis's order). */
struct sk__chat_stream_id {
    uint64_t ms, seq;
};

/* What the chat is told; every call runs under the hub lock. */
struct sk__chat_cluster_hooks {
    void *arg;
    /* A line another server's member said in room (folded name); id is its
     * place in the room's history (NULL: a notice, not kept). */
    void (*line)(void *arg, const char *room, const char *text, size_t n,
                 const struct sk__chat_stream_id *id);
    /* A notice for every local member ("the cluster is unreachable"). */
    void (*notice)(void *arg, const char *text);
    /* The answer to sk__chat_cluster_claim(): ok 1 when the nick is ours,
     * SK_CHAT_CLUSTER_ALONE when Redis went away before answering (the chat
     * decides alone, as while Redis is away), 0 when another server has it. */
    void (*claimed)(void *arg, uint64_t conn_id, const char *nick, int ok);
    /* Every local nick: fn(cl, nick) for each (re-registered on reconnect). */
    void (*each_nick)(void *arg, struct sk__chat_cluster *cl,
                      void (*fn)(struct sk__chat_cluster *cl, const char *nick));
    /* Every local named member and its room: fn(cl, nick, room) for each. */
    void (*each_member)(void *arg, struct sk__chat_cluster *cl,
                        void (*fn)(struct sk__chat_cluster *cl, const char *nick,
                                   const char *room));
    /* A local nick another server took while Redis was away. */
    void (*lost)(void *arg, const char *nick);
    /* The answer to sk__chat_cluster_history(): lines[0..n) oldest first
     * (untrusted: sanitise), for connection conn_id in room; last is the
     * newest line's id in the stream ({0, 0}: none), NULL when Redis went
     * away before answering (then n is 0). */
    void (*history)(void *arg, uint64_t conn_id, const char *room, const char *const *lines,
                    const size_t *lens, size_t n, const struct sk__chat_stream_id *last);
    /* The answer to sk__chat_cluster_roster(): every named member of the
     * cluster (untrusted: checked), nicks[i] in rooms[i] (folded) whose
     * topic is topics[i] (untrusted: sanitise; NULL: none), for connection
     * conn_id and the command kind it asked with. */
    void (*roster)(void *arg, uint64_t conn_id, int kind, const char *const *nicks,
                   const char *const *rooms, const char *const *topics, size_t n);
    /* room's topic (folded name; text[0..n) untrusted: sanitise; n 0: none)
     * is version ver (each set one more: an older one heard late is not
     * the topic), set by sender (NULL: read from Redis, not a change); own
     * is 1 for this server's own set coming back, seq then what
     * sk__chat_cluster_topic() gave it. */
    void (*topic)(void *arg, const char *room, const char *sender, const char *text, size_t n,
                  uint64_t ver, int own, uint64_t seq);
    /* The chat's rooms and topics are wanted: up 1 when a link has just
     * come up (the commands': sk__chat_cluster_topic() what was set
     * meanwhile, sk__chat_cluster_topic_sync() the rest; the subscription:
     * the same, what it missed while down), 0 at each refresh
     * (sk__chat_cluster_topic_keep() each room). */
    void (*rooms)(void *arg, int up);
};

/* A message between servers, on channel sockit:room:ROOM, one of
 *   "SK1 ORIGIN SEQ ROOM SENDER TEXT"     a line not kept (a notice),
 *   "SKH ORIGIN SEQ ROOM SENDER ID TEXT"  a line kept in ROOM's history,
 *                                         ID its stream id "MS-SEQ",
 *   "SKT ORIGIN SEQ ROOM SENDER VER TOPIC"  ROOM's topic set, its version VER
 *                                         (decimal, not 0), TOPIC empty:
 *                                         cleared; at most SK_CHAT_TOPIC_MAX,
 * ORIGIN 16 lowercase hex digits, SEQ decimal (no leading zero), ROOM a
 * folded room name, SENDER a nickname, TEXT the rest (one line, not empty,
 * sanitised again by the receiver). Pointers into the parsed bytes. */
enum { SK__CHAT_CLUSTER_LINE = 1, SK__CHAT_CLUSTER_KEPT, SK__CHAT_CLUSTER_TOPIC };
struct sk__chat_cluster_msg {
    int kind; /* SK__CHAT_CLUSTER_* */
    uint64_t origin, seq;
    struct sk__chat_stream_id id; /* SK__CHAT_CLUSTER_KEPT */
    uint64_t version;             /* SK__CHAT_CLUSTER_TOPIC */
    const char *room, *sender, *text;
    size_t room_len, sender_len, text_len;
};

/* Parse p[0..n) strictly: 0, or -EINVAL for anything else. Pure. */
int sk__chat_cluster_parse(const char *p, size_t n, struct sk__chat_cluster_msg *out);

/* From start(): "redis://HOST:PORT[/DB]" resolved (a sentence in err on
 * failure), nicks held for ttl_ms. 0 or -errno. */
int sk__chat_cluster_new(struct sk__chat_cluster **out, const char *url,
                         const struct sk__chat_cluster_hooks *hooks, char *err, size_t errlen);
/* Keep the last n lines of each room (--history; 0: none). */
void sk__chat_cluster_set_history(struct sk__chat_cluster *cl, unsigned n);
void sk__chat_cluster_free(struct sk__chat_cluster *cl);

/* Is c one of cl's links? (cl may be NULL.) */
int sk__chat_cluster_owns(const struct sk__chat_cluster *cl, const struct sk_conn *c);
/* Are the commands' link up (a claim answered by Redis)? */
int sk__chat_cluster_up(const struct sk__chat_cluster *cl);
/* Is Redis up but behind on what this server sent it (the answers awaited
 * or the link's output near their bounds)? Then a member's next line waits
 * (its input held) rather than be dropped. cl may be NULL (0). */
int sk__chat_cluster_busy(const struct sk__chat_cluster *cl);

/* Pass a line said in room (its NUL-terminated name) by sender to the other
 * servers; while Redis is away it waits in a bounded queue (what overflows
 * is counted and told when Redis is back). */
void sk__chat_cluster_publish(struct sk__chat_cluster *cl, const char *room, const char *sender,
                              const char *text, size_t n);
/* The same for what a member said: also kept in room's history (a capped
 * stream; with --history 0 just published). The line is added to the
 * stream and published at once (one script), carrying its stream id, so a
 * member waiting for the history can tell which live lines it holds. */
void sk__chat_cluster_say(struct sk__chat_cluster *cl, const char *room, const char *sender,
                          const char *text, size_t n);
/* Ask for room's history for connection conn_id: the answer comes through
 * hooks->history. 1 (asked), 0 (no history is kept: no answer comes),
 * -ENOTCONN while Redis is away, or -EAGAIN. */
int sk__chat_cluster_history(struct sk__chat_cluster *cl, uint64_t conn_id, const char *room);
/* Ask for nick across the cluster for connection conn_id: 0 (the answer
 * comes through hooks->claimed), -ENOTCONN while Redis is away (the chat
 * decides alone; the nick is registered on reconnect), -EAGAIN when too
 * many answers are awaited. */
int sk__chat_cluster_claim(struct sk__chat_cluster *cl, uint64_t conn_id, const char *nick);
/* nick is no longer used here. */
void sk__chat_cluster_release(struct sk__chat_cluster *cl, const char *nick);

/* Where this server's members are (the cluster's roster: a hash per
 * server, expiring with its nicks): nick is in room now (room NULL: gone). */
void sk__chat_cluster_where(struct sk__chat_cluster *cl, const char *nick, const char *room);
/* Ask for the whole cluster's roster (at most SK_CHAT_CLUSTER_ROSTER_MAX
 * members) for connection conn_id; kind is handed back with the answer.
 * 0, -ENOTCONN while Redis is away, or -EAGAIN. */
#define SK_CHAT_CLUSTER_ROSTER_MAX 1000
int sk__chat_cluster_roster(struct sk__chat_cluster *cl, uint64_t conn_id, int kind);

/* Topics: a hash per room (sockit:topic:ROOM: v the version, t the topic;
 * expiring 10 minutes after the last refresh by a server with someone in
 * the room), set together with its announcement on the room's channel
 * (one script) under the room's next version: every server hears the sets
 * in Redis's order, and keeps the topic of the highest version it heard or
 * read: the last writer wins, in Redis's order.
 * Set room's topic (NUL-terminated, sanitised; "" clears it) as sender,
 * known the highest version heard here: 0 with *seq the set's own number
 * (handed back with its echo), or -ENOTCONN while Redis is away (call
 * again when hooks->rooms(arg, 1)). */
int sk__chat_cluster_topic(struct sk__chat_cluster *cl, const char *room, const char *sender,
                           const char *topic, uint64_t known, uint64_t *seq);
/* Read room's topic (the answer through hooks->topic, sender NULL); one
 * known here newer than Redis's (Redis restarted) is put back first. */
void sk__chat_cluster_topic_sync(struct sk__chat_cluster *cl, const char *room, const char *topic,
                                 uint64_t known);
/* Keep room's topic key alive (someone here is in room). */
void sk__chat_cluster_topic_keep(struct sk__chat_cluster *cl, const char *room);

/* The link callbacks (svc->link_open, up_*, timeout, close on a link). */
int sk__chat_cluster_link_open(struct sk__chat_cluster *cl, struct sk_conn *c, unsigned index);
int sk__chat_cluster_connected(struct sk__chat_cluster *cl, struct sk_conn *c, int err);
ssize_t sk__chat_cluster_data(struct sk__chat_cluster *cl, struct sk_conn *c, const char *p,
                              size_t n);
int sk__chat_cluster_eof(struct sk__chat_cluster *cl, struct sk_conn *c);
void sk__chat_cluster_timeout(struct sk__chat_cluster *cl, struct sk_conn *c);
void sk__chat_cluster_close(struct sk__chat_cluster *cl, struct sk_conn *c);

#endif
