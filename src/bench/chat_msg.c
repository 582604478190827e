/*
 * chat_msg.c - the pure parts of `sockit bench chat`: the message payload
 * ("skb SENDER SEQ T_NS"), the classification of a line a member received
 * (sockit chat's line protocol or IRC), and the receipt bookkeeping (one
 * bitmap of sequence numbers per sender and receiver: duplicates and
 * out-of-order arrivals told apart exactly). No I/O, no allocation; the
 * classifier takes untrusted input and is fuzzed (fuzz/fuzz_chatbench.c).
 */
#include "sockit/chatbench.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define TAG_LEN (sizeof(SK_CHATB_TAG) - 1)

int sk_chatb_encode(const struct sk_chatb_msg *m, size_t pad, char *buf, size_t cap)
{
    int k = snprintf(buf, cap, SK_CHATB_TAG "%u %llu %lld", m->sender, (unsigned long long)m->seq,
                     (long long)m->t_ns);
    if (k < 0 || (size_t)k >= cap)
        return -EMSGSIZE;
    size_t n = (size_t)k;
    if (pad) {
        if (n + 1 + pad > cap || n + 1 + pad > (size_t)INT32_MAX)
            return -EMSGSIZE;
        buf[n++] = ' ';
        memset(buf + n, '.', pad);
        n += pad;
    }
    return (int)n;
}

/* A decimal number of at most 19 digits (so it fits int64_t) at p[*i..n),
 * up to a space or the end. */
static int number(const char *p, size_t n, size_t *i, uint64_t *out)
{
    uint64_t v = 0;
    size_t start = *i;
    while (*i < n && p[*i] >= '0' && p[*i] <= '9') {
        if (*i - start >= 19)
            return -EINVAL;
        v = v * 10 + (uint64_t)(p[*i] - '0');
        (*i)++;
    }
    if (*i == start || (*i < n && p[*i] != ' '))
        return -EINVAL;
    *out = v;
    return 0;
}

int sk_chatb_decode(const char *p, size_t n, struct sk_chatb_msg *m)
{
    if (n < TAG_LEN || memcmp(p, SK_CHATB_TAG, TAG_LEN) != 0)
        return -EINVAL;
    size_t i = TAG_LEN;
    uint64_t sender, seq, t;
    if (number(p, n, &i, &sender) < 0 || sender > UINT32_MAX || i++ >= n)
        return -EINVAL;
    if (number(p, n, &i, &seq) < 0 || i++ >= n)
        return -EINVAL;
    if (number(p, n, &i, &t) < 0 || t > (uint64_t)INT64_MAX) /* 19 digits may pass it */
        return -EINVAL;
    m->sender = (uint32_t)sender;
    m->seq = seq;
    m->t_ns = (int64_t)t;
    return 0;
}

static int starts(const char *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    return n >= k && memcmp(p, s, k) == 0;
}

static void set_arg(const char **arg, size_t *arg_len, const char *p, size_t n)
{
    if (arg)
        *arg = p;
    if (arg_len)
        *arg_len = n;
}

static enum sk_chatb_kind payload(const char *p, size_t n, struct sk_chatb_msg *m)
{
    if (!starts(p, n, SK_CHATB_TAG))
        return SK_CHATB_OTHER;
    struct sk_chatb_msg tmp;
    if (sk_chatb_decode(p, n, &tmp) < 0)
        return SK_CHATB_FOREIGN;
    if (m)
        *m = tmp;
    return SK_CHATB_MSG;
}

static enum sk_chatb_kind classify_chat(const char *line, size_t n, struct sk_chatb_msg *m,
                                        const char **arg, size_t *arg_len)
{
    static const char *const refusals[] = {
        "*** Invalid nickname",  "*** The nickname", "*** Sorry, the room is full",
        "*** Flood control",     "*** Excess Flood", "*** Line too long",
        "*** Choose a nickname",
    };
    if (n > 0 && line[0] == '<') {
        const char *gt = memchr(line, '>', n);
        if (!gt || (size_t)(gt - line) + 2 > n || gt[1] != ' ')
            return SK_CHATB_OTHER;
        size_t off = (size_t)(gt - line) + 2;
        return payload(line + off, n - off, m);
    }
    if (starts(line, n, "*** Welcome, "))
        return SK_CHATB_JOINED;
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
        if (starts(line, n, refusals[i])) {
            set_arg(arg, arg_len, line + 4, n - 4);
            return SK_CHATB_REFUSED;
        }
    return SK_CHATB_OTHER;
}

/* The next space-separated word of an IRC line at p[*i..n). */
static size_t word(const char *p, size_t n, size_t *i, const char **w)
{
    while (*i < n && p[*i] == ' ')
        (*i)++;
    *w = p + *i;
    size_t start = *i;
    while (*i < n && p[*i] != ' ')
        (*i)++;
    return *i - start;
}

/* The rest after the command's middle parameters: the trailing parameter
 * (after " :"), or the last word. */
static void trailing(const char *p, size_t n, size_t i, const char **t, size_t *tl)
{
    while (i < n) {
        while (i < n && p[i] == ' ')
            i++;
        if (i < n && p[i] == ':') {
            *t = p + i + 1;
            *tl = n - i - 1;
            return;
        }
        size_t s = i;
        while (i < n && p[i] != ' ')
            i++;
        *t = p + s;
        *tl = i - s;
    }
}

static enum sk_chatb_kind classify_irc(const char *line, size_t n, struct sk_chatb_msg *m,
                                       const char **arg, size_t *arg_len)
{
    static const char *const refusals[] = {"432", "433", "436", "437", "465",  "404",
                                           "471", "473", "474", "475", "ERROR"};
    size_t i = 0;
    const char *w;
    if (n > 0 && line[0] == ':')
        word(line, n, &i, &w); /* the prefix */
    size_t cl = word(line, n, &i, &w);
    const char *cmd = w;
    const char *t = line + n;
    size_t tl = 0;
    if (cl == 4 && memcmp(cmd, "PING", 4) == 0) {
        trailing(line, n, i, &t, &tl);
        set_arg(arg, arg_len, t, tl);
        return SK_CHATB_PING;
    }
    if (cl == 7 && memcmp(cmd, "PRIVMSG", 7) == 0) {
        word(line, n, &i, &w); /* the target */
        while (i < n && line[i] == ' ')
            i++;
        if (i < n && line[i] == ':')
            i++;
        return payload(line + i, n - i, m);
    }
    if (cl == 3 && memcmp(cmd, "001", 3) == 0)
        return SK_CHATB_WELCOME;
    if (cl == 3 && memcmp(cmd, "366", 3) == 0)
        return SK_CHATB_JOINED;
    for (size_t k = 0; k < sizeof(refusals) / sizeof(refusals[0]); k++)
        if (cl == strlen(refusals[k]) && memcmp(cmd, refusals[k], cl) == 0) {
            trailing(line, n, i, &t, &tl);
            set_arg(arg, arg_len, t, tl);
            return SK_CHATB_REFUSED;
        }
    return SK_CHATB_OTHER;
}

enum sk_chatb_kind sk_chatb_classify(const char *line, size_t n, int irc, struct sk_chatb_msg *m,
                                     const char **arg, size_t *arg_len)
{
    set_arg(arg, arg_len, line + n, 0);
    return irc ? classify_irc(line, n, m, arg, arg_len) : classify_chat(line, n, m, arg, arg_len);
}

int sk_chatb_receipt(struct sk_chatb_track *t, uint64_t seq)
{
    if (seq >= t->cap || !t->seen) {
        t->bad++;
        return SK_CHATB_BAD;
    }
    uint8_t bit = (uint8_t)(1u << (seq & 7));
    if (t->seen[seq >> 3] & bit) {
        t->dup++;
        return SK_CHATB_DUP;
    }
    t->seen[seq >> 3] |= bit;
    int late = t->distinct > 0 && seq < t->highest;
    if (late)
        t->ooo++;
    else
        t->highest = seq;
    t->distinct++;
    return late ? SK_CHATB_NEW_LATE : SK_CHATB_NEW;
}
