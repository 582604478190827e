/*
 * tty_escape.c - reply bytes made harmless for a terminal: what a person
 * sees of a server's bytes (the echo client) can print text but never
 * command the terminal (no escape, OSC or C1 sequence gets through).
 */
#include "client/tty_escape.h"

#include <stdint.h>

/* The length of the UTF-8 sequence at p[0..n) when it is well formed and
 * encodes a printable code point (U+00A0 and up: not a C1 control), else 0. */
static size_t utf8_printable(const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t cp;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        cp = p[0] & 0x1fu;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        cp = p[0] & 0x0fu;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        cp = p[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
        return 0; /* overlong, out of range, a surrogate, or C1 (U+0080..U+009F) */
    return len;
}

/* Write reply bytes so that none of them is a command to a terminal:
 * printable ASCII and well-formed UTF-8 above the C1 block as they are;
 * every other byte (C0 and C1 controls in either form, ESC starting an escape
 * or OSC sequence, DEL, malformed UTF-8) as \xNN. lines: keep '\n' (and
 * "\r\n") as line ends and a tab as it is; otherwise escape them too, and a
 * backslash is doubled so the escapes stay unambiguous. */
void sk__tty_escape(FILE *out, const char *s, size_t n, int lines)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char ch = p[i];
        size_t u;
        if (ch >= 0x20 && ch < 0x7f) {
            if (ch == '\\' && !lines)
                fputc('\\', out);
            fputc(ch, out);
            i++;
        } else if (lines && (ch == '\n' || ch == '\t')) {
            fputc(ch, out);
            i++;
        } else if (lines && ch == '\r' && i + 1 < n && p[i + 1] == '\n') {
            i++; /* the '\n' follows */
        } else if (ch >= 0x80 && (u = utf8_printable(p + i, n - i)) > 0) {
            fwrite(p + i, 1, u, out);
            i += u;
        } else {
            fprintf(out, "\\x%02x", ch);
            i++;
        }
    }
}
