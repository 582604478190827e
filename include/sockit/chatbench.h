/*
 * chatbench.h - the chat load generator (`sockit bench chat`): N members join
 * one room, M of them send numbered, timestamped messages at a total rate,
 * and every member accounts for what it receives (deliveries, latency,
 * missing, duplicated and out-of-order messages per sender).
 *
 * It speaks sockit chat's line protocol (a nickname line first, messages as
 * "<nick> text") or, with irc set, IRC (NICK/USER, JOIN, PRIVMSG to one
 * channel, PING answered). The pure parts (the message payload, the
 * classification of a received line, the receipt bookkeeping) are exported
 * for the unit tests and the fuzz target. Library functions return 0 or a
 * negative errno and print nothing.
 */
#ifndef SOCKIT_CHATBENCH_H
#define SOCKIT_CHATBENCH_H

#include "sockit/addr.h"
#include "sockit/hist.h"

#include <stddef.h>
#include <stdint.h>

/* ---- the message payload (pure) ---- */

/* Every message's text is "skb SENDER SEQ T_NS" (decimal): the sender's
 * index, its sequence number (0, 1, 2, ... per sender) and the intended send
 * time (CLOCK_MONOTONIC ns of the bench process), optionally followed by one
 * space and padding. */
#define SK_CHATB_TAG "skb "
#define SK_CHATB_LINE_MAX 4096 /* longest received line kept (longer: counted, skipped) */

struct sk_chatb_msg {
    uint32_t sender;
    uint64_t seq;
    int64_t t_ns;
};

/* Write the payload of m (no line end) with pad bytes of padding ('.') into
 * buf[0..cap). Returns its length, or -EMSGSIZE when it does not fit. */
int sk_chatb_encode(const struct sk_chatb_msg *m, size_t pad, char *buf, size_t cap);

/* Parse a payload at p[0..n) (it must start with SK_CHATB_TAG; anything
 * after the three numbers and a space is padding). Returns 0 or -EINVAL. */
int sk_chatb_decode(const char *p, size_t n, struct sk_chatb_msg *m);

/* What one received line (without its line end) is. */
enum sk_chatb_kind {
    SK_CHATB_OTHER,   /* anything else (notices, joins, the other members' names) */
    SK_CHATB_MSG,     /* a bench message: *m filled */
    SK_CHATB_PING,    /* IRC PING: *arg is its token, to answer "PONG :token" */
    SK_CHATB_JOINED,  /* chat: "*** Welcome, NICK!"; IRC: 366 (end of the channel's names) */
    SK_CHATB_WELCOME, /* IRC 001: registered, JOIN may follow */
    SK_CHATB_REFUSED, /* the server refused us: chat: nickname refused, room full; IRC:
                       * ERROR, 432/433/436/437 (nickname), 404 and 471..475 (channel), 465 */
    SK_CHATB_FOREIGN, /* a message with the tag whose payload does not parse */
};

/* Classify line[0..n). chat: "<nick> PAYLOAD" is a message, "*** ..." a
 * notice; irc: ":prefix PRIVMSG target :PAYLOAD" is a message. *arg and *arg_len
 * (may be NULL) point into line: the PING token, or the text of a refusal.
 * Never reads past line + n; safe on any input. */
enum sk_chatb_kind sk_chatb_classify(const char *line, size_t n, int irc, struct sk_chatb_msg *m,
                                     const char **arg, size_t *arg_len);

/* ---- receipts of one sender's messages at one receiver (pure) ---- */

struct sk_chatb_track {
    uint64_t distinct; /* different sequence numbers received */
    uint64_t dup;      /* received again */
    uint64_t ooo;      /* new, but below the highest received before it */
    uint64_t bad;      /* a sequence number at or past cap (never sent) */
    uint64_t highest;  /* the highest received (valid when distinct > 0) */
    uint64_t cap;      /* sequence numbers 0..cap-1 are tracked */
    uint8_t *seen;     /* one bit per sequence number, (cap + 7) / 8 bytes, caller-owned */
};

enum { SK_CHATB_NEW, SK_CHATB_NEW_LATE, SK_CHATB_DUP, SK_CHATB_BAD };

/* Account for the receipt of seq; returns what it was. A message is late
 * (out of order) when a higher one of the same sender came before it. */
int sk_chatb_receipt(struct sk_chatb_track *t, uint64_t seq);

/* ---- the load ---- */

struct sk_chatb_cfg {
    struct sk_addr addr;
    unsigned members;        /* connections that join the room */
    unsigned senders;        /* the first `senders` members also send (<= members) */
    double rate;             /* messages a second, all senders together */
    int64_t duration_ms;     /* sending lasts this long */
    int64_t join_ms;         /* every member must have joined within this (default 30 s) */
    unsigned joining;        /* members joining at once (default 8: ngircd listens with a
                              * backlog of 10; inspircd completes registrations on a
                              * once-a-second tick, so more at once join faster there) */
    int64_t drain_ms;        /* after sending, wait up to this for the last deliveries (2 s) */
    size_t pad;              /* padding bytes per message */
    int irc;                 /* speak IRC */
    const char *channel;     /* IRC channel (default "#bench") */
    const char *nick_prefix; /* nicknames are PREFIX + member index (default "b") */
};

/* Defaults: 10 members, 2 senders, 100 msg/s, 5 s, IRC off. */
void sk_chatb_cfg_init(struct sk_chatb_cfg *cfg);

struct sk_chatb_result {
    unsigned joined;     /* members that joined the room */
    double join_s;       /* how long joining took */
    double elapsed_s;    /* the sending window */
    uint64_t sent;       /* messages written, all senders */
    uint64_t backlog;    /* messages not written: the sender's own queue was full */
    uint64_t expected;   /* deliveries expected: each message to every other member */
    uint64_t delivered;  /* distinct deliveries (at any time) */
    uint64_t in_window;  /* of which received within the sending window */
    uint64_t missing;    /* expected and never received */
    uint64_t duplicated; /* received more than once (each extra copy) */
    uint64_t reordered;  /* received after a later message of the same sender */
    uint64_t foreign;    /* bench-looking lines that did not parse or name no sender */
    uint64_t refused;    /* refusals during the run (a flood notice, ERROR, ...) */
    uint64_t closed;     /* members whose connection ended before the end */
    char why[160];       /* the first refusal seen (why joining failed), or "" */
    struct sk_hist hist; /* delivery latency: intended send time to receipt */
};

/* Run: connect and join every member (at most cfg->joining at once), send
 * for duration_ms, wait for the last deliveries (up to drain_ms, or until
 * every expected one came), then fill res. Returns 0; -ETIMEDOUT when not
 * every member joined within join_ms (res->joined and res->why say how
 * far it got); -E2BIG when the receipts to track would take more than
 * 1 GiB; another negative errno when the run could not start. Blocks;
 * sk_bench_interrupt() ends it early. */
int sk_chatb_run(const struct sk_chatb_cfg *cfg, struct sk_chatb_result *res);

#endif
