/* test_chat_cluster.c - the messages passed between chat servers through
 * Redis (chat_cluster.h: a notice, a kept line with its stream id, a
 * topic), table-driven: what the strict parser takes, what it refuses, and
 * where its fields point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "service/chat_cluster.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ID "0123456789abcdef"

static void parse_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int ok;
        unsigned long long seq;
        const char *room, *sender, *text;
    } t[] = {
        {"SK1 " ID " 1 #lobby alice <alice> hi", 1, 1, "#lobby", "alice", "<alice> hi"},
        {"SK1 " ID " 18446744073 #dev bob * bob waves", 1, 18446744073ULL, "#dev", "bob",
         "* bob waves"},
        {"SK1 " ID " 0 #a c x", 1, 0, "#a", "c", "x"},
        /* refused */
        {"", 0, 0, NULL, NULL, NULL},
        {"SK2 " ID " 1 #lobby alice hi", 0, 0, NULL, NULL, NULL},            /* version */
        {"SK1 0123456789ABCDEF 1 #lobby alice hi", 0, 0, NULL, NULL, NULL},  /* upper hex */
        {"SK1 0123456789abcde 1 #lobby alice hi", 0, 0, NULL, NULL, NULL},   /* 15 digits */
        {"SK1 " ID " 01 #lobby alice hi", 0, 0, NULL, NULL, NULL},           /* leading zero */
        {"SK1 " ID " 1x #lobby alice hi", 0, 0, NULL, NULL, NULL},           /* not a number */
        {"SK1 " ID " 12345678901234567890 #l a hi", 0, 0, NULL, NULL, NULL}, /* 20 digits */
        {"SK1 " ID " 1 #Lobby alice hi", 0, 0, NULL, NULL, NULL},            /* not folded */
        {"SK1 " ID " 1 lobby alice hi", 0, 0, NULL, NULL, NULL},             /* no # */
        {"SK1 " ID " 1 #lobby <alice> hi", 0, 0, NULL, NULL, NULL},          /* bad nick */
        {"SK1 " ID " 1 #lobby alice ", 0, 0, NULL, NULL, NULL},              /* empty text */
        {"SK1 " ID " 1 #lobby alice", 0, 0, NULL, NULL, NULL},               /* no text */
        {"SK1 " ID " 1 #lobby alice a\nb", 0, 0, NULL, NULL, NULL},          /* two lines */
        {"SK1 " ID " 1 #lobby alice a\rb", 0, 0, NULL, NULL, NULL},
        {"SK1  " ID " 1 #lobby alice hi", 0, 0, NULL, NULL, NULL}, /* two spaces */
        {"SKX " ID " 1 #lobby alice hi", 0, 0, NULL, NULL, NULL},  /* kind */
        {"sk1 " ID " 1 #lobby alice hi", 0, 0, NULL, NULL, NULL},
        /* a kept line's stream id (refused: what SKH rows below take) */
        {"SKH " ID " 1 #lobby alice hi", 0, 0, NULL, NULL, NULL},       /* no id */
        {"SKH " ID " 1 #lobby alice 1-2", 0, 0, NULL, NULL, NULL},      /* no text */
        {"SKH " ID " 1 #lobby alice 12 hi", 0, 0, NULL, NULL, NULL},    /* no dash */
        {"SKH " ID " 1 #lobby alice -2 hi", 0, 0, NULL, NULL, NULL},    /* no ms */
        {"SKH " ID " 1 #lobby alice 1- hi", 0, 0, NULL, NULL, NULL},    /* no seq */
        {"SKH " ID " 1 #lobby alice 01-2 hi", 0, 0, NULL, NULL, NULL},  /* leading zero */
        {"SKH " ID " 1 #lobby alice 1-2-3 hi", 0, 0, NULL, NULL, NULL}, /* two dashes */
        {"SKH " ID " 1 #lobby alice 1-x hi", 0, 0, NULL, NULL, NULL},   /* not a number */
        {"SKH " ID " 1 #lobby alice 12345678901234567890-0 hi", 0, 0, NULL, NULL, NULL},
        /* a topic: may be empty (cleared), at most SK_CHAT_TOPIC_MAX, one line */
        {"SKT " ID " 1 #lobby alice 3", 0, 0, NULL, NULL, NULL},      /* no space after version */
        {"SKT " ID " 1 #lobby alice hi", 0, 0, NULL, NULL, NULL},     /* no version */
        {"SKT " ID " 1 #lobby alice 0 hi", 0, 0, NULL, NULL, NULL},   /* version 0 */
        {"SKT " ID " 1 #lobby alice 03 hi", 0, 0, NULL, NULL, NULL},  /* leading zero */
        {"SKT " ID " 1 #lobby alice 3 a\nb", 0, 0, NULL, NULL, NULL}, /* two lines */
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk__chat_cluster_msg m;
        int r = sk__chat_cluster_parse(t[i].in, strlen(t[i].in), &m);
        if (!t[i].ok) {
            if (r != -EINVAL)
                fail_msg("row %zu taken: %s", i, t[i].in);
            continue;
        }
        if (r != 0)
            fail_msg("row %zu: %s", i, t[i].in);
        assert_true(m.origin == 0x0123456789abcdefULL);
        assert_true(m.seq == t[i].seq);
        assert_int_equal(m.room_len, strlen(t[i].room));
        assert_memory_equal(m.room, t[i].room, m.room_len);
        assert_int_equal(m.sender_len, strlen(t[i].sender));
        assert_memory_equal(m.sender, t[i].sender, m.sender_len);
        assert_int_equal(m.text_len, strlen(t[i].text));
        assert_memory_equal(m.text, t[i].text, m.text_len);
    }
}

/* The kinds that carry more: a kept line's stream id, a topic's text. */
static void parse_kinds(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int kind;
        unsigned long long ms, seq, version;
        const char *text;
    } t[] = {
        {"SK1 " ID " 1 #dev bob <bob> hi", SK__CHAT_CLUSTER_LINE, 0, 0, 0, "<bob> hi"},
        {"SKH " ID " 1 #dev bob 1700000000000-0 <bob> hi", SK__CHAT_CLUSTER_KEPT, 1700000000000ULL,
         0, 0, "<bob> hi"},
        {"SKH " ID " 1 #dev bob 0-1 x", SK__CHAT_CLUSTER_KEPT, 0, 1, 0, "x"},
        {"SKH " ID " 1 #dev bob 9999999999999999999-9999999999999999999 x", SK__CHAT_CLUSTER_KEPT,
         9999999999999999999ULL, 9999999999999999999ULL, 0, "x"},
        {"SKT " ID " 1 #dev bob 7 release on friday", SK__CHAT_CLUSTER_TOPIC, 0, 0, 7,
         "release on friday"},
        {"SKT " ID " 1 #dev bob 12 ", SK__CHAT_CLUSTER_TOPIC, 0, 0, 12, ""}, /* cleared */
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk__chat_cluster_msg m;
        if (sk__chat_cluster_parse(t[i].in, strlen(t[i].in), &m) != 0)
            fail_msg("row %zu: %s", i, t[i].in);
        assert_int_equal(m.kind, t[i].kind);
        assert_true(m.id.ms == t[i].ms && m.id.seq == t[i].seq);
        assert_true(m.version == t[i].version);
        assert_int_equal(m.sender_len, 3);
        assert_memory_equal(m.sender, "bob", 3);
        assert_int_equal(m.text_len, strlen(t[i].text));
        assert_memory_equal(m.text, t[i].text, m.text_len);
    }
}

/* A topic is bounded like a local one: SK_CHAT_TOPIC_MAX bytes, not one more. */
static void parse_topic_bound(void **state)
{
    (void)state;
    char in[SK_CHAT_TOPIC_MAX + 64];
    struct sk__chat_cluster_msg m;
    int k = snprintf(in, sizeof(in), "SKT " ID " 1 #dev bob 1 ");
    memset(in + k, 'x', SK_CHAT_TOPIC_MAX);
    assert_int_equal(sk__chat_cluster_parse(in, (size_t)k + SK_CHAT_TOPIC_MAX, &m), 0);
    assert_int_equal(m.text_len, SK_CHAT_TOPIC_MAX);
    in[k + SK_CHAT_TOPIC_MAX] = 'x';
    assert_int_equal(sk__chat_cluster_parse(in, (size_t)k + SK_CHAT_TOPIC_MAX + 1, &m), -EINVAL);
}

/* A NUL inside is refused: the text goes on to C strings. */
static void parse_nul(void **state)
{
    (void)state;
    static const char in[] = "SK1 " ID " 1 #lobby alice a\0b";
    struct sk__chat_cluster_msg m;
    assert_int_equal(sk__chat_cluster_parse(in, sizeof(in) - 1, &m), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_table),
        cmocka_unit_test(parse_kinds),
        cmocka_unit_test(parse_topic_bound),
        cmocka_unit_test(parse_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
