/* test_chatbench.c - the pure parts of `sockit bench chat`: the message
 * payload (encode, decode, what a decoder refuses), the classification of
 * a received line in sockit chat's protocol and in IRC, and the receipt
 * bookkeeping that tells missing, duplicated and out-of-order messages
 * apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/chatbench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void payload_round_trip(void **state)
{
    (void)state;
    static const struct sk_chatb_msg msgs[] = {
        {0, 0, 0},
        {7, 123, 456789},
        {UINT32_MAX, 999999999999999999ull, INT64_MAX / 10},
    };
    char buf[256];
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        for (size_t pad = 0; pad < 40; pad += 13) {
            int n = sk_chatb_encode(&msgs[i], pad, buf, sizeof(buf));
            assert_true(n > 0);
            assert_memory_equal(buf, SK_CHATB_TAG, 4);
            struct sk_chatb_msg m;
            assert_int_equal(sk_chatb_decode(buf, (size_t)n, &m), 0);
            assert_int_equal(m.sender, msgs[i].sender);
            assert_true(m.seq == msgs[i].seq);
            assert_true(m.t_ns == msgs[i].t_ns);
        }
    /* Too small a buffer is -EMSGSIZE, never a cut payload. */
    assert_int_equal(sk_chatb_encode(&msgs[1], 0, buf, 10), -EMSGSIZE);
    assert_int_equal(sk_chatb_encode(&msgs[1], 100, buf, 50), -EMSGSIZE);
}

static void payload_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "skb",
        "skb ",
        "skb 1 2",
        "skb 1 2 ",
        "skb 1  2 3",
        "skb -1 2 3",
        "skb +1 2 3",
        "skb 1 2 3x",
        "skb 4294967296 2 3",            /* sender past 32 bits */
        "skb 1 2 12345678901234567890",  /* 20 digits */
        "skb 3 177 9505854089543952546", /* 19 digits past INT64_MAX (fuzz_chatbench) */
        "SKB 1 2 3",
        "xskb 1 2 3",
        "skb a 2 3",
    };
    struct sk_chatb_msg m;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (sk_chatb_decode(bad[i], strlen(bad[i]), &m) != -EINVAL)
            fail_msg("'%s' should be refused", bad[i]);
    assert_int_equal(sk_chatb_decode("skb 4294967295 0 1 pad", 22, &m), 0);
    assert_int_equal(m.sender, UINT32_MAX);
    assert_int_equal(sk_chatb_decode("skb 1 2 9223372036854775807", 27, &m), 0);
    assert_true(m.t_ns == INT64_MAX);
}

struct line_case {
    int irc;
    const char *line;
    enum sk_chatb_kind kind;
    uint32_t sender; /* for MSG */
    uint64_t seq;
    const char *arg; /* the PING token or refusal text, or NULL */
};

static const struct line_case lines[] = {
    {0, "<b3> skb 3 17 5000", SK_CHATB_MSG, 3, 17, NULL},
    {0, "<b3> skb 3 17 5000 ....", SK_CHATB_MSG, 3, 17, NULL},
    {0, "<b3> hello", SK_CHATB_OTHER, 0, 0, NULL},
    {0, "<b3> skb 3 x 5000", SK_CHATB_FOREIGN, 0, 0, NULL},
    {0, "<b3>skb 3 17 5000", SK_CHATB_OTHER, 0, 0, NULL},
    {0, "<b3", SK_CHATB_OTHER, 0, 0, NULL},
    {0, "<", SK_CHATB_OTHER, 0, 0, NULL},
    {0, "* b3 skb 3 17 5000", SK_CHATB_OTHER, 0, 0, NULL}, /* an action is no message */
    {0, "*** Welcome, b3! 4 others here.", SK_CHATB_JOINED, 0, 0, NULL},
    {0, "*** Welcome to sockit chat (1 person here). Type your nickname", SK_CHATB_OTHER, 0, 0,
     NULL},
    {0, "*** b4 joined", SK_CHATB_OTHER, 0, 0, NULL},
    {0, "*** The nickname b3 is taken. Choose another:", SK_CHATB_REFUSED, 0, 0,
     "The nickname b3 is taken. Choose another:"},
    {0, "*** Sorry, the room is full (10 people). Try again later.", SK_CHATB_REFUSED, 0, 0,
     "Sorry, the room is full (10 people). Try again later."},
    {0, "*** Flood control: 3 lines not sent", SK_CHATB_REFUSED, 0, 0,
     "Flood control: 3 lines not sent"},
    {0, "PING :x", SK_CHATB_OTHER, 0, 0, NULL}, /* IRC only with irc set */
    {1, ":b2!~b2@localhost PRIVMSG #bench :skb 2 9 77", SK_CHATB_MSG, 2, 9, NULL},
    {1, ":b2!~b2@localhost PRIVMSG #bench skb", SK_CHATB_OTHER, 0, 0, NULL},
    {1, ":b2 PRIVMSG #bench :skb 2 9", SK_CHATB_FOREIGN, 0, 0, NULL},
    {1, ":b2 PRIVMSG #bench :hello", SK_CHATB_OTHER, 0, 0, NULL},
    {1, ":b2 NOTICE #bench :skb 2 9 77", SK_CHATB_OTHER, 0, 0, NULL},
    {1, "PING :irc.example", SK_CHATB_PING, 0, 0, "irc.example"},
    {1, "PING token", SK_CHATB_PING, 0, 0, "token"},
    {1, ":srv PING :abc def", SK_CHATB_PING, 0, 0, "abc def"},
    {1, ":srv 001 b1 :Welcome to the network", SK_CHATB_WELCOME, 0, 0, NULL},
    {1, ":srv 353 b1 = #bench :b0 b1 b2", SK_CHATB_OTHER, 0, 0, NULL},
    {1, ":srv 366 b1 #bench :End of NAMES list", SK_CHATB_JOINED, 0, 0, NULL},
    {1, ":srv 433 * b1 :Nickname already in use", SK_CHATB_REFUSED, 0, 0,
     "Nickname already in use"},
    {1, ":srv 474 b1 #bench :Cannot join channel (+b)", SK_CHATB_REFUSED, 0, 0,
     "Cannot join channel (+b)"},
    {1, "ERROR :Closing link: (Excess flood)", SK_CHATB_REFUSED, 0, 0,
     "Closing link: (Excess flood)"},
    {1, ":srv 0011 b1 :x", SK_CHATB_OTHER, 0, 0, NULL},
    {1, "", SK_CHATB_OTHER, 0, 0, NULL},
    {1, ":", SK_CHATB_OTHER, 0, 0, NULL},
    {1, ":prefix-only", SK_CHATB_OTHER, 0, 0, NULL},
    {1, "PRIVMSG", SK_CHATB_OTHER, 0, 0, NULL},
};

static void classify_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        const struct line_case *t = &lines[i];
        /* A copy of exactly the line's length: any over-read is caught by ASan. */
        size_t n = strlen(t->line);
        char *p = malloc(n ? n : 1);
        assert_non_null(p);
        memcpy(p, t->line, n);
        struct sk_chatb_msg m = {0};
        const char *arg = NULL;
        size_t al = 0;
        enum sk_chatb_kind k = sk_chatb_classify(p, n, t->irc, &m, &arg, &al);
        if (k != t->kind)
            fail_msg("'%s' (irc %d): kind %d, want %d", t->line, t->irc, k, t->kind);
        if (k == SK_CHATB_MSG) {
            assert_int_equal(m.sender, t->sender);
            assert_true(m.seq == t->seq);
        }
        if (t->arg) {
            assert_non_null(arg);
            if (al != strlen(t->arg) || memcmp(arg, t->arg, al) != 0)
                fail_msg("'%s': arg '%.*s', want '%s'", t->line, (int)al, arg, t->arg);
        }
        free(p);
    }
}

/* A sequence of receipts and the counts it must give. */
struct receipt_case {
    const char *name;
    uint64_t seqs[12];
    size_t n;
    uint64_t distinct, dup, ooo, bad;
};

static const struct receipt_case receipts[] = {
    {"in order", {0, 1, 2, 3, 4}, 5, 5, 0, 0, 0},
    {"one dropped", {0, 1, 3, 4}, 4, 4, 0, 0, 0},
    {"one duplicated", {0, 1, 1, 2, 3, 4}, 6, 5, 1, 0, 0},
    {"two swapped", {0, 1, 3, 2, 4}, 5, 5, 0, 1, 0},
    {"late after a gap", {0, 4, 1, 2, 3}, 5, 5, 0, 3, 0},
    {"a duplicate that is also late", {0, 2, 1, 2, 0}, 5, 3, 2, 1, 0},
    {"past the tracked range", {0, 63, 64, 1000}, 4, 2, 0, 0, 2},
    {"first receipt not 0", {5, 6, 7}, 3, 3, 0, 0, 0},
};

static void receipt_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(receipts) / sizeof(receipts[0]); i++) {
        const struct receipt_case *c = &receipts[i];
        uint8_t bits[8] = {0};
        struct sk_chatb_track t = {.cap = 64, .seen = bits};
        for (size_t k = 0; k < c->n; k++)
            sk_chatb_receipt(&t, c->seqs[k]);
        if (t.distinct != c->distinct || t.dup != c->dup || t.ooo != c->ooo || t.bad != c->bad)
            fail_msg("%s: distinct %llu dup %llu ooo %llu bad %llu", c->name,
                     (unsigned long long)t.distinct, (unsigned long long)t.dup,
                     (unsigned long long)t.ooo, (unsigned long long)t.bad);
    }
    /* What each receipt is called. */
    uint8_t bits[2] = {0};
    struct sk_chatb_track t = {.cap = 16, .seen = bits};
    assert_int_equal(sk_chatb_receipt(&t, 3), SK_CHATB_NEW);
    assert_int_equal(sk_chatb_receipt(&t, 2), SK_CHATB_NEW_LATE);
    assert_int_equal(sk_chatb_receipt(&t, 3), SK_CHATB_DUP);
    assert_int_equal(sk_chatb_receipt(&t, 16), SK_CHATB_BAD);
    assert_int_equal(sk_chatb_receipt(&t, 15), SK_CHATB_NEW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(payload_round_trip),
        cmocka_unit_test(payload_refused),
        cmocka_unit_test(classify_table),
        cmocka_unit_test(receipt_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
