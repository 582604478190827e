/*
 * chat.h - the chat line protocol's pure functions: the sanitiser that makes
 * a line safe to show on someone else's terminal, nickname rules, and the
 * command parser. None allocates, none does I/O; all work on (pointer,
 * length) pairs that need not be NUL-terminated, and are safe on any input.
 * The chat service (src/service/chat.c), the chat client and p2p share them.
 */
#ifndef SOCKIT_CHAT_H
#define SOCKIT_CHAT_H

#include <stddef.h>

/* Longest nickname, in bytes (all nickname characters are ASCII). */
#define SK_CHAT_NICK_MAX 32

/* The characters a nickname may use, for messages and documentation. */
#define SK_CHAT_NICK_CHARS "letters, digits and _ - . [ ] { } ^ | `"

/*
 * Copy in[0..n) to out, keeping what is safe to print on a terminal:
 * - valid UTF-8 passes through unchanged;
 * - invalid UTF-8 (stray continuation bytes, overlong forms, surrogates,
 *   code points past U+10FFFF, truncated sequences) becomes U+FFFD, one per
 *   offending byte sequence;
 * - terminal escape sequences are removed whole: CSI (ESC [ ... final, and
 *   U+009B ...), OSC (ESC ] ... BEL or ST, and U+009D ...), DCS, SOS, PM,
 *   APC (up to ST), and two-character escapes (ESC followed by one byte);
 * - other C0 controls, DEL and C1 controls (U+0080..U+009F) are removed,
 *   except TAB, which becomes one space;
 * - Unicode bidirectional controls (marks U+200E, U+200F, U+061C,
 *   embeddings and overrides U+202A..U+202E, isolates U+2066..U+2069) are
 *   removed, so a line cannot reorder what follows it; so are the invisible
 *   characters that let two lines look alike: zero-width space, joiners and
 *   word joiner (U+200B..U+200D, U+2060..U+2064), the BOM (U+FEFF), soft
 *   hyphen, U+180E, U+206A..U+206F, U+FFF9..U+FFFB, the tag characters
 *   (U+E0000..U+E007F), and the line and paragraph separators U+2028 and
 *   U+2029 (a line break to some terminals).
 * out receives at most outmax bytes and never a partial UTF-8 character;
 * outmax >= 3 * n is always enough. Returns the bytes written. No NUL is
 * appended.
 */
size_t sk_chat_sanitize(const char *in, size_t n, char *out, size_t outmax);

/* Is nick[0..n) a valid nickname (1..SK_CHAT_NICK_MAX characters from
 * SK_CHAT_NICK_CHARS)? Returns 0, or -EINVAL with a sentence in *why. */
int sk_chat_nick_check(const char *nick, size_t n, const char **why);

/* Longest room name, in bytes, the leading '#' included. */
#define SK_CHAT_ROOM_MAX 33

/* The characters of a room name after its '#', for messages and documentation. */
#define SK_CHAT_ROOM_CHARS "letters, digits, _ and -"

/* Longest room topic, in bytes (after sanitising). */
#define SK_CHAT_TOPIC_MAX 200

/* The room everyone starts in (and /part returns to); it always exists. */
#define SK_CHAT_LOBBY "#lobby"

/* Is name[0..n) a valid room name: '#' and 1..32 characters from
 * SK_CHAT_ROOM_CHARS? Returns 0, or -EINVAL with a sentence in *why. */
int sk_chat_room_check(const char *name, size_t n, const char **why);

/* The room /join NAME means: name[0..n) with a '#' put in front when it
 * has none ("dev" is "#dev"), checked by sk_chat_room_check(), into out (at
 * least SK_CHAT_ROOM_MAX + 1 bytes, NUL-terminated, the case kept as
 * written). Returns its length, or -EINVAL with a sentence in *why. */
int sk_chat_room_name(const char *name, size_t n, char *out, const char **why);

/* Do two NUL-terminated room names name the same room (ASCII
 * case-insensitive: "#Dev" is "#dev")? 1 or 0. */
int sk_chat_room_equal(const char *a, const char *b);

/* The folded form of name[0..n) into out (at least n + 1 bytes, NUL-terminated):
 * ASCII letters lowered, so two names of one room fold alike (a key for the
 * room where one spelling is needed: a table, a channel name). Returns n. */
size_t sk_chat_room_fold(const char *name, size_t n, char *out);

/* Do two nicknames name the same person (ASCII case-insensitive)? 1 or 0. */
int sk_chat_nick_equal(const char *a, const char *b);
/* The confusable skeleton of nick[0..n) into out (at most outmax bytes; no
 * NUL): ASCII case-folded, then 'i' (so 'I'), 'l' (so 'L'), '1' and '|'
 * become 'l'; '0' becomes 'o'; '5' becomes 's'; "rn" becomes 'm'; "vv"
 * becomes 'w'. Returns the length. Two nicknames with one skeleton read
 * alike ("aIice", "al1ce", "alice"). */
size_t sk_chat_nick_skeleton(const char *nick, size_t n, char *out, size_t outmax);
/* Do two NUL-terminated nicknames share a skeleton (could one pass for the
 * other)? 1 or 0. */
int sk_chat_nick_confusable(const char *a, const char *b);

enum sk_chat_kind {
    SK_CHAT_TEXT,    /* a message: arg is the text (a leading "//" sends "/") */
    SK_CHAT_NICK,    /* /nick NAME: arg is NAME (may be empty: a usage error) */
    SK_CHAT_WHO,     /* /who */
    SK_CHAT_ME,      /* /me ACTION: arg is ACTION */
    SK_CHAT_MSG,     /* /msg NICK TEXT: target is NICK, arg is TEXT */
    SK_CHAT_HELP,    /* /help */
    SK_CHAT_QUIT,    /* /quit [REASON]: arg is REASON (may be empty) */
    SK_CHAT_UNKNOWN, /* /something else: target is the command word */
    SK_CHAT_JOIN,    /* /join ROOM: target is ROOM as typed (may be empty; a leading '#'
                        may be missing), arg is what follows it */
    SK_CHAT_PART,    /* /part (or /leave): arg is what follows */
    SK_CHAT_LIST,    /* /list */
    SK_CHAT_TOPIC,   /* /topic [TEXT]: arg is TEXT (empty: show the topic) */
};

/* One parsed line. Pointers point into the parsed line. */
struct sk_chat_cmd {
    enum sk_chat_kind kind;
    const char *arg;
    size_t arg_len;
    const char *target;
    size_t target_len;
    int room; /* SK_CHAT_WHO: 1 for /names (the sender's room), 0 for /who (everyone) */
};

/* Parse one line (without its line end). Commands are a '/' followed by a
 * word, matched case-insensitively; arguments are trimmed of the spaces
 * around them. A line that is only "/" is text. Always succeeds. */
void sk_chat_parse(const char *line, size_t n, struct sk_chat_cmd *cmd);

#endif
