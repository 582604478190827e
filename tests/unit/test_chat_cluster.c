/* test_chat_cluster.c - the payload of a line passed between chat servers
 * through Redis (chat_cluster.h), table-driven: what the strict parser
 * takes, what it refuses, and where its fields point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "service/chat_cluster.h"

#include <errno.h>
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
        cmocka_unit_test(parse_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
