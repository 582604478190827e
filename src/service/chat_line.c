/*
 * chat_line.c - pure functions of the chat line protocol (see chat.h): the
 * terminal-safety sanitiser, nickname and room name rules and the command
 * parser. No
 * allocation, no I/O; every read is bounded by the given length.
 */
#include "sockit/chat.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define ESC 0x1b
#define BEL 0x07

struct out {
    char *p;
    size_t len, max;
    int full;
};

static void emit(struct out *o, const void *p, size_t n)
{
    if (o->full || n > o->max - o->len) {
        o->full = 1;
        return;
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

static int is_cont(unsigned char b)
{
    return (b & 0xc0) == 0x80;
}

/*
 * Decode one UTF-8 character at s[0..n) (n >= 1, s[0] >= 0x80). Returns its
 * length and stores the code point, or returns the length of the invalid
 * part to replace (at least 1) and stores -1.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, int32_t *cp)
{
    unsigned char b = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    int32_t v;

    if (b >= 0xc2 && b <= 0xdf) {
        need = 2;
        v = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        need = 3;
        v = b & 0x0f;
        if (b == 0xe0)
            lo = 0xa0; /* no overlong forms */
        if (b == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (b >= 0xf0 && b <= 0xf4) {
        need = 4;
        v = b & 0x07;
        if (b == 0xf0)
            lo = 0x90;
        if (b == 0xf4)
            hi = 0x8f; /* nothing past U+10FFFF */
    } else {
        *cp = -1; /* a stray continuation byte, C0/C1 overlong lead, F5..FF */
        return 1;
    }
    size_t i = 1;
    for (; i < need && i < n; i++) {
        unsigned char c = s[i];
        if (i == 1 ? (c < lo || c > hi) : !is_cont(c))
            break;
        v = (v << 6) | (c & 0x3f);
    }
    if (i < need) {
        *cp = -1; /* the maximal valid prefix is replaced as one */
        return i;
    }
    *cp = v;
    return need;
}

/* Skip a CSI's parameter and intermediate bytes and its final byte, from
 * s[i]; returns the index after it (stops before anything foreign). */
static size_t skip_csi(const unsigned char *s, size_t n, size_t i)
{
    while (i < n && s[i] >= 0x20 && s[i] <= 0x3f)
        i++;
    if (i < n && s[i] >= 0x40 && s[i] <= 0x7e)
        i++;
    return i;
}

/* Skip a control string (OSC, DCS, SOS, PM, APC) up to and including its
 * terminator: BEL, ESC \ or U+009C. Unterminated: the rest of the line. */
static size_t skip_string(const unsigned char *s, size_t n, size_t i)
{
    while (i < n) {
        if (s[i] == BEL)
            return i + 1;
        if (s[i] == ESC) {
            if (i + 1 < n && s[i + 1] == '\\')
                return i + 2;
            return i; /* a new escape ends the string and is parsed itself */
        }
        if (s[i] == 0xc2 && i + 1 < n && s[i + 1] == 0x9c)
            return i + 2;
        i++;
    }
    return n;
}

/* An escape sequence starting at s[i] == ESC; returns the index after it. */
static size_t skip_escape(const unsigned char *s, size_t n, size_t i)
{
    i++;
    if (i >= n)
        return i;
    switch (s[i]) {
    case '[': return skip_csi(s, n, i + 1);
    case ']':
    case 'P':
    case 'X':
    case '^':
    case '_': return skip_string(s, n, i + 1);
    default: break;
    }
    /* nF / Fp / Fe / Fs escapes: intermediates 0x20..0x2F, then a final. */
    size_t j = i;
    while (j < n && s[j] >= 0x20 && s[j] <= 0x2f)
        j++;
    if (j < n && s[j] >= 0x30 && s[j] <= 0x7e)
        return j + 1;
    return i; /* a lone ESC: drop it, keep what follows */
}

/* Characters that move or hide text without showing themselves: the whole
 * bidi control set (marks, embeddings, overrides, isolates, U+061C), zero-width
 * and other invisible format characters, the byte order mark, the line and
 * paragraph separators (a line break to some terminals and editors), the
 * interlinear annotation controls and the tag characters. */
static int is_invisible(int32_t cp)
{
    return cp == 0x00ad ||                   /* soft hyphen */
           cp == 0x061c ||                   /* arabic letter mark */
           cp == 0x180e ||                   /* mongolian vowel separator */
           (cp >= 0x200b && cp <= 0x200f) || /* ZWSP, ZWNJ, ZWJ, LRM, RLM */
           (cp >= 0x2028 && cp <= 0x202e) || /* LS, PS, LRE, RLE, PDF, LRO, RLO */
           (cp >= 0x2060 && cp <= 0x206f) || /* word joiner .. isolates .. deprecated */
           cp == 0xfeff ||                   /* BOM, zero-width no-break space */
           (cp >= 0xfff9 && cp <= 0xfffb) || /* interlinear annotation */
           (cp >= 0xe0000 && cp <= 0xe007f); /* tags */
}

size_t sk_chat_sanitize(const char *in, size_t n, char *outp, size_t outmax)
{
    const unsigned char *s = (const unsigned char *)in;
    struct out o = {outp, 0, outmax, 0};
    static const char replacement[] = "\xef\xbf\xbd";
    size_t i = 0;

    while (i < n && !o.full) {
        unsigned char b = s[i];
        if (b == ESC) {
            i = skip_escape(s, n, i);
            continue;
        }
        if (b < 0x20 || b == 0x7f) {
            if (b == '\t')
                emit(&o, " ", 1);
            i++;
            continue;
        }
        if (b < 0x80) {
            size_t j = i + 1; /* copy a run of plain ASCII at once */
            while (j < n && s[j] >= 0x20 && s[j] < 0x7f)
                j++;
            emit(&o, s + i, j - i);
            i = j;
            continue;
        }
        int32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (cp < 0) {
            emit(&o, replacement, 3);
        } else if (cp == 0x9b) {
            i = skip_csi(s, n, i + len);
            continue;
        } else if (cp == 0x9d || cp == 0x90 || cp == 0x98 || cp == 0x9e || cp == 0x9f) {
            i = skip_string(s, n, i + len);
            continue;
        } else if (cp >= 0x80 && cp <= 0x9f) {
            /* other C1 controls: dropped */
        } else if (!is_invisible(cp)) {
            emit(&o, s + i, len);
        }
        i += len;
    }
    return o.len;
}

static int nick_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("_-.[]{}^|`", c) != NULL);
}

int sk_chat_nick_check(const char *nick, size_t n, const char **why)
{
    if (n == 0) {
        *why = "a nickname cannot be empty";
        return -EINVAL;
    }
    if (n > SK_CHAT_NICK_MAX) {
        *why = "a nickname has at most 32 characters";
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!nick_char((unsigned char)nick[i])) {
            *why = "a nickname may use only " SK_CHAT_NICK_CHARS;
            return -EINVAL;
        }
    }
    return 0;
}

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int sk_chat_nick_equal(const char *a, const char *b)
{
    for (;; a++, b++) {
        if (fold((unsigned char)*a) != fold((unsigned char)*b))
            return 0;
        if (!*a)
            return 1;
    }
}

static int room_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

int sk_chat_room_check(const char *name, size_t n, const char **why)
{
    if (n == 0 || name[0] != '#') {
        *why = "a room name starts with #";
        return -EINVAL;
    }
    if (n == 1) {
        *why = "a room name has 1 to 32 characters after its #";
        return -EINVAL;
    }
    if (n > SK_CHAT_ROOM_MAX) {
        *why = "a room name has at most 32 characters after its #";
        return -EINVAL;
    }
    for (size_t i = 1; i < n; i++) {
        if (!room_char((unsigned char)name[i])) {
            *why = "a room name may use only " SK_CHAT_ROOM_CHARS " after its #";
            return -EINVAL;
        }
    }
    return 0;
}

int sk_chat_room_name(const char *name, size_t n, char *out, const char **why)
{
    size_t k = 0;
    if (n == 0) {
        *why = "a room name cannot be empty";
        return -EINVAL;
    }
    if (name[0] != '#')
        out[k++] = '#';
    if (n > SK_CHAT_ROOM_MAX - k) {
        *why = "a room name has at most 32 characters after its #";
        return -EINVAL;
    }
    memcpy(out + k, name, n);
    k += n;
    out[k] = '\0';
    int r = sk_chat_room_check(out, k, why);
    return r < 0 ? r : (int)k;
}

int sk_chat_room_equal(const char *a, const char *b)
{
    return sk_chat_nick_equal(a, b); /* the same ASCII case folding */
}

size_t sk_chat_room_fold(const char *name, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)fold((unsigned char)name[i]);
    out[n] = '\0';
    return n;
}

/* The skeleton of one ASCII nickname character (case-folded). */
static char skeleton_char(unsigned char c)
{
    c = fold(c);
    switch (c) {
    case 'i':
    case '1':
    case '|': return 'l';
    case '0': return 'o';
    case '5': return 's';
    default: return (char)c;
    }
}

size_t sk_chat_nick_skeleton(const char *nick, size_t n, char *out, size_t outmax)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < outmax; i++) {
        char a = skeleton_char((unsigned char)nick[i]);
        char b = i + 1 < n ? skeleton_char((unsigned char)nick[i + 1]) : '\0';
        if (a == 'r' && b == 'n') { /* "rn" reads as "m" */
            out[k++] = 'm';
            i++;
        } else if (a == 'v' && b == 'v') { /* "vv" reads as "w" */
            out[k++] = 'w';
            i++;
        } else {
            out[k++] = a;
        }
    }
    return k;
}

int sk_chat_nick_confusable(const char *a, const char *b)
{
    char sa[SK_CHAT_NICK_MAX * 2], sb[SK_CHAT_NICK_MAX * 2];
    size_t na = sk_chat_nick_skeleton(a, strlen(a), sa, sizeof(sa));
    size_t nb = sk_chat_nick_skeleton(b, strlen(b), sb, sizeof(sb));
    return na == nb && memcmp(sa, sb, na) == 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **p, size_t *n)
{
    while (*n && is_space(**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n && is_space((*p)[*n - 1]))
        (*n)--;
}

static int word_is(const char *w, size_t n, const char *name)
{
    size_t len = strlen(name);
    if (n != len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (fold((unsigned char)w[i]) != (unsigned char)name[i])
            return 0;
    return 1;
}

void sk_chat_parse(const char *line, size_t n, struct sk_chat_cmd *cmd)
{
    memset(cmd, 0, sizeof(*cmd));
    cmd->kind = SK_CHAT_TEXT;
    cmd->arg = line;
    cmd->arg_len = n;
    if (n < 2 || line[0] != '/' || is_space(line[1]))
        return;
    if (line[1] == '/') { /* "//text" sends "/text" */
        cmd->arg = line + 1;
        cmd->arg_len = n - 1;
        return;
    }
    const char *w = line + 1;
    size_t wl = 0;
    while (1 + wl < n && !is_space(w[wl]))
        wl++;
    const char *rest = w + wl;
    size_t rl = n - 1 - wl;
    trim(&rest, &rl);
    cmd->arg = rest;
    cmd->arg_len = rl;

    if (word_is(w, wl, "nick"))
        cmd->kind = SK_CHAT_NICK;
    else if (word_is(w, wl, "who"))
        cmd->kind = SK_CHAT_WHO;
    else if (word_is(w, wl, "names")) {
        cmd->kind = SK_CHAT_WHO;
        cmd->room = 1;
    } else if (word_is(w, wl, "part") || word_is(w, wl, "leave"))
        cmd->kind = SK_CHAT_PART;
    else if (word_is(w, wl, "list") || word_is(w, wl, "rooms"))
        cmd->kind = SK_CHAT_LIST;
    else if (word_is(w, wl, "topic"))
        cmd->kind = SK_CHAT_TOPIC;
    else if (word_is(w, wl, "me"))
        cmd->kind = SK_CHAT_ME;
    else if (word_is(w, wl, "help") || word_is(w, wl, "?"))
        cmd->kind = SK_CHAT_HELP;
    else if (word_is(w, wl, "quit") || word_is(w, wl, "exit"))
        cmd->kind = SK_CHAT_QUIT;
    else if (word_is(w, wl, "msg") || word_is(w, wl, "join")) {
        cmd->kind = word_is(w, wl, "msg") ? SK_CHAT_MSG : SK_CHAT_JOIN;
        size_t tl = 0;
        while (tl < rl && !is_space(rest[tl]))
            tl++;
        cmd->target = rest;
        cmd->target_len = tl;
        const char *text = rest + tl;
        size_t xl = rl - tl;
        trim(&text, &xl);
        cmd->arg = text;
        cmd->arg_len = xl;
    } else {
        cmd->kind = SK_CHAT_UNKNOWN;
        cmd->target = w;
        cmd->target_len = wl;
    }
}
