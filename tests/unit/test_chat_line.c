/* test_chat_line.c - the chat line functions (chat.h), table-driven: the
 * sanitiser, nickname rules and the command parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/chat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void sanitize_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n; /* 0: strlen(in) */
        const char *out;
    } t[] = {
        {"hello world", 0, "hello world"},
        {"", 0, ""},
        {"tab\there", 0, "tab here"},
        {"bell\x07 nul", 0, "bell nul"},
        {"a\0b", 3, "ab"},
        {"del\x7f!", 0, "del!"},
        {"cr\rlf", 0, "crlf"},
        /* CSI: colours, cursor moves, screen clears */
        {"\x1b[31mred\x1b[0m", 0, "red"},
        {"\x1b[2J\x1b[Hclear", 0, "clear"},
        {"\x1b[?1049hx", 0, "x"},
        {"\x1b[38;5;196mX", 0, "X"},
        {"unterminated\x1b[12;", 0, "unterminated"},
        /* OSC: window title, hyperlinks; BEL or ST terminated */
        {"\x1b]0;pwned\x07title", 0, "title"},
        {"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", 0, "link"},
        {"\x1b]0;never ends", 0, ""},
        {"\x1b]0;t\x1b[31mred", 0, "red"},
        /* DCS, APC, PM, SOS */
        {"\x1bPq#0;2;0;0;0\x1b\\after", 0, "after"},
        {"\x1b_apc\x1b\\ok", 0, "ok"},
        /* two-character escapes */
        {"\x1b"
         "c"
         "reset",
         0, "reset"},
        {"\x1b(Bx", 0, "x"},
        {"\x1b=x", 0, "x"},
        {"lone\x1b", 0, "lone"},
        /* UTF-8 passes through */
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0,
         "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"\xe6\x97\xa5\xe6\x9c\xac", 0, "\xe6\x97\xa5\xe6\x9c\xac"},
        /* invalid UTF-8 becomes U+FFFD */
        {"a\xffz", 0, "a\xef\xbf\xbdz"},
        {"\xc3", 0, "\xef\xbf\xbd"},
        {"\xc0\xaf", 0, "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong '/' */
        {"\xed\xa0\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
        {"\xf4\x90\x80\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xe2\x82z", 0, "\xef\xbf\xbdz"}, /* truncated: one */
        {"\x80\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xe9t\xe9", 0, "\xef\xbf\xbdt\xef\xbf\xbd"}, /* Latin-1 */
        /* C1 controls in UTF-8: CSI U+009B with its parameters, OSC U+009D */
        {"\xc2\x9b"
         "31mred",
         0, "red"},
        {"\xc2\x9d"
         "0;t\x07ok",
         0, "ok"},
        {"x\xc2\x85y", 0, "xy"},
        /* bidi overrides and isolates */
        {"a\xe2\x80\xae"
         "b\xe2\x81\xa6"
         "c",
         0, "abc"},
        /* the rest of the bidi controls: LRM, RLM, ALM, PDF, PDI */
        {"a\xe2\x80\x8e"
         "b\xe2\x80\x8f"
         "c\xd8\x9c"
         "d\xe2\x80\xac"
         "e\xe2\x81\xa9"
         "f",
         0, "abcdef"},
        /* zero-width space, non-joiner, joiner, word joiner, BOM, soft hyphen */
        {"a\xe2\x80\x8b"
         "b\xe2\x80\x8c"
         "c\xe2\x80\x8d"
         "d\xe2\x81\xa0"
         "e\xef\xbb\xbf"
         "f\xc2\xad"
         "g",
         0, "abcdefg"},
        /* line and paragraph separators */
        {"one\xe2\x80\xa8two\xe2\x80\xa9three", 0, "onetwothree"},
        /* tag characters (U+E0041), U+180E, interlinear annotation U+FFF9 */
        {"x\xf3\xa0\x81\x81y\xe1\xa0\x8ez\xef\xbf\xb9!", 0, "xyz!"},
        /* look-alike but visible characters stay: U+2027, U+2030, U+FEFE */
        {"\xe2\x80\xa7\xe2\x80\xb0\xef\xbb\xbe", 0, "\xe2\x80\xa7\xe2\x80\xb0\xef\xbb\xbe"},
    };
    char out[256];
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t n = t[i].n ? t[i].n : strlen(t[i].in);
        size_t r = sk_chat_sanitize(t[i].in, n, out, sizeof(out));
        out[r] = '\0';
        if (strcmp(out, t[i].out) != 0)
            fail_msg("case %zu: got '%s'", i, out);
    }
}

static void sanitize_bounded(void **state)
{
    (void)state;
    char out[8];
    /* never a partial character at the end, never past outmax */
    size_t r = sk_chat_sanitize("ab\xe2\x82\xac\xe2\x82\xac", 8, out, 6);
    assert_int_equal(r, 5);
    assert_memory_equal(out, "ab\xe2\x82\xac", 5);
    r = sk_chat_sanitize("\xff\xff\xff", 3, out, 7);
    assert_int_equal(r, 6);
    r = sk_chat_sanitize("abc", 3, out, 0);
    assert_int_equal(r, 0);
}

static void nick_table(void **state)
{
    (void)state;
    static const struct {
        const char *nick;
        int ok;
    } t[] = {
        {"alice", 1},
        {"Bob_2", 1},
        {"[x]{y}^|`-.", 1},
        {"a", 1},
        {"0123456789abcdef0123456789abcdef", 1},
        {"0123456789abcdef0123456789abcdefX", 0},
        {"", 0},
        {"two words", 0},
        {"caf\xc3\xa9", 0},
        {"a<b", 0},
        {"semi;colon", 0},
        {"*star", 0},
        {"ctrl\x1b", 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const char *why = NULL;
        int r = sk_chat_nick_check(t[i].nick, strlen(t[i].nick), &why);
        if (t[i].ok != (r == 0))
            fail_msg("case %zu (%s): %d", i, t[i].nick, r);
        if (!t[i].ok) {
            assert_int_equal(r, -EINVAL);
            assert_non_null(why);
        }
    }
    assert_true(sk_chat_nick_equal("Alice", "aLICE"));
    assert_true(sk_chat_nick_equal("[x]", "[X]"));
    assert_false(sk_chat_nick_equal("alice", "alic"));
    assert_false(sk_chat_nick_equal("alice", "alicee"));
}

static void room_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;  /* what /join was given */
        const char *out; /* the room it means; NULL: refused */
        int strict;      /* sk_chat_room_check() accepts `in` as it is */
    } t[] = {
        {"#lobby", "#lobby", 1},
        {"#Dev", "#Dev", 1}, /* the case is kept as written */
        {"dev", "#dev", 0},  /* the '#' may be left out */
        {"#a", "#a", 1},
        {"#under_score-dash09", "#under_score-dash09", 1},
        {"#0123456789abcdef0123456789abcdef", "#0123456789abcdef0123456789abcdef", 1},
        {"0123456789abcdef0123456789abcdef", "#0123456789abcdef0123456789abcdef", 0},
        {"#0123456789abcdef0123456789abcdefX", NULL, 0}, /* 33 after the '#' */
        {"0123456789abcdef0123456789abcdefX", NULL, 0},
        {"#", NULL, 0},
        {"", NULL, 0},
        {"##dev", NULL, 0},
        {"#d.v", NULL, 0},
        {"#caf\xc3\xa9", NULL, 0},
        {"#a b", NULL, 0},
        {"#a,b", NULL, 0},
        {"#ctrl\x1b", NULL, 0},
        {"&dev", NULL, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char out[SK_CHAT_ROOM_MAX + 1];
        const char *why = NULL;
        int r = sk_chat_room_name(t[i].in, strlen(t[i].in), out, &why);
        if (t[i].out) {
            if (r != (int)strlen(t[i].out) || strcmp(out, t[i].out) != 0)
                fail_msg("case %zu (%s): %d '%s'", i, t[i].in, r, r >= 0 ? out : "");
        } else {
            if (r != -EINVAL || !why)
                fail_msg("case %zu (%s): %d", i, t[i].in, r);
        }
        why = NULL;
        r = sk_chat_room_check(t[i].in, strlen(t[i].in), &why);
        if ((r == 0) != t[i].strict || (r < 0 && (r != -EINVAL || !why)))
            fail_msg("case %zu (%s): check %d", i, t[i].in, r);
    }
    assert_true(sk_chat_room_equal("#Dev", "#dEV"));
    assert_true(sk_chat_room_equal(SK_CHAT_LOBBY, "#LOBBY"));
    assert_false(sk_chat_room_equal("#dev", "#devs"));
    assert_false(sk_chat_room_equal("#dev", "#de"));
    char f[SK_CHAT_ROOM_MAX + 1];
    assert_int_equal(sk_chat_room_fold("#Dev_Ops-9", 10, f), 10);
    assert_string_equal(f, "#dev_ops-9");
    assert_int_equal(sk_chat_room_fold("#DEV", 3, f), 3); /* bounded by n */
    assert_string_equal(f, "#de");
}

static void nick_skeleton_table(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        int alike;
    } t[] = {
        {"alice", "alice", 1}, {"alice", "ALICE", 1}, {"alice", "aIice", 1}, /* capital i for l */
        {"alice", "al1ce", 1},                                               /* one for i */
        {"alice", "a1ice", 1}, {"alice", "a|ice", 1}, {"bob", "b0b", 1},     {"BOB", "b0B", 1},
        {"emma", "ernma", 1}, /* rn reads as m */
        {"emma", "ernrna", 1}, {"wes", "vves", 1},    {"sam", "5am", 1},     {"alice", "alicia", 0},
        {"alice", "alic", 0},  {"bob", "bab", 0},     {"mary", "marry", 0},  {"emma", "enna", 0},
        {"x", "y", 0},         {"[x]", "{x}", 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (sk_chat_nick_confusable(t[i].a, t[i].b) != t[i].alike ||
            sk_chat_nick_confusable(t[i].b, t[i].a) != t[i].alike)
            fail_msg("case %zu: %s / %s", i, t[i].a, t[i].b);
    char out[SK_CHAT_NICK_MAX];
    size_t n = sk_chat_nick_skeleton("ArnIe0", 6, out, sizeof(out));
    assert_int_equal(n, 5);
    assert_memory_equal(out, "amleo", 5);
    assert_int_equal(sk_chat_nick_skeleton("abcdef", 6, out, 3), 3); /* bounded */
}

static void parse_table(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        enum sk_chat_kind kind;
        const char *target;
        const char *arg;
    } t[] = {
        {"hello", SK_CHAT_TEXT, NULL, "hello"},
        {"", SK_CHAT_TEXT, NULL, ""},
        {"/", SK_CHAT_TEXT, NULL, "/"},
        {"/ spaced", SK_CHAT_TEXT, NULL, "/ spaced"},
        {"//etc/passwd", SK_CHAT_TEXT, NULL, "/etc/passwd"},
        {"/nick bob", SK_CHAT_NICK, NULL, "bob"},
        {"/NICK   bob  ", SK_CHAT_NICK, NULL, "bob"},
        {"/nick", SK_CHAT_NICK, NULL, ""},
        {"/who", SK_CHAT_WHO, NULL, ""},
        {"/names", SK_CHAT_WHO, NULL, ""},
        {"/join #dev", SK_CHAT_JOIN, "#dev", ""},
        {"/JOIN   dev  ", SK_CHAT_JOIN, "dev", ""},
        {"/join #dev key", SK_CHAT_JOIN, "#dev", "key"},
        {"/join", SK_CHAT_JOIN, "", ""},
        {"/part", SK_CHAT_PART, NULL, ""},
        {"/leave now", SK_CHAT_PART, NULL, "now"},
        {"/list", SK_CHAT_LIST, NULL, ""},
        {"/rooms", SK_CHAT_LIST, NULL, ""},
        {"/topic", SK_CHAT_TOPIC, NULL, ""},
        {"/topic  Rust, and  C  ", SK_CHAT_TOPIC, NULL, "Rust, and  C"},
        {"/topics", SK_CHAT_UNKNOWN, "topics", ""},
        {"/joinx #a", SK_CHAT_UNKNOWN, "joinx", "#a"},
        {"/me waves hello", SK_CHAT_ME, NULL, "waves hello"},
        {"/msg bob hi there", SK_CHAT_MSG, "bob", "hi there"},
        {"/msg\tbob\t hi", SK_CHAT_MSG, "bob", "hi"},
        {"/msg bob", SK_CHAT_MSG, "bob", ""},
        {"/msg", SK_CHAT_MSG, "", ""},
        {"/help", SK_CHAT_HELP, NULL, ""},
        {"/quit", SK_CHAT_QUIT, NULL, ""},
        {"/quit gone fishing", SK_CHAT_QUIT, NULL, "gone fishing"},
        {"/Exit", SK_CHAT_QUIT, NULL, ""},
        {"/frobnicate x", SK_CHAT_UNKNOWN, "frobnicate", "x"},
        {"/nickname x", SK_CHAT_UNKNOWN, "nickname", "x"},
        {"/mex", SK_CHAT_UNKNOWN, "mex", ""},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sk_chat_cmd c;
        sk_chat_parse(t[i].line, strlen(t[i].line), &c);
        if (c.kind != t[i].kind)
            fail_msg("case %zu (%s): kind %d", i, t[i].line, c.kind);
        if (c.arg_len != strlen(t[i].arg) || memcmp(c.arg, t[i].arg, c.arg_len) != 0)
            fail_msg("case %zu (%s): arg '%.*s'", i, t[i].line, (int)c.arg_len, c.arg);
        if (c.kind == SK_CHAT_WHO && c.room != (strcmp(t[i].line, "/names") == 0))
            fail_msg("case %zu (%s): room %d", i, t[i].line, c.room);
        if (t[i].target && (c.target_len != strlen(t[i].target) ||
                            memcmp(c.target, t[i].target, c.target_len) != 0))
            fail_msg("case %zu (%s): target '%.*s'", i, t[i].line, (int)c.target_len, c.target);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sanitize_table), cmocka_unit_test(sanitize_bounded),
        cmocka_unit_test(nick_table),     cmocka_unit_test(nick_skeleton_table),
        cmocka_unit_test(parse_table),    cmocka_unit_test(room_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
