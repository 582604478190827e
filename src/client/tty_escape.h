/*
 * tty_escape.h - bytes shown on a terminal without obeying them (internal to
 * src/client; see tty_escape.c).
 */
#ifndef SOCKIT_CLIENT_TTY_ESCAPE_H
#define SOCKIT_CLIENT_TTY_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Write s[0..n) to out: printable ASCII and well-formed UTF-8 from U+00A0
 * up as they are; every other byte (C0 and C1 controls, also C1 as raw bytes
 * such as 0x9b, ESC and so every escape and OSC sequence, DEL, malformed
 * UTF-8) as \xNN. lines: '\n' (also "\r\n", written as '\n') and tab
 * stay as they are; otherwise they are escaped too and a backslash is
 * doubled, so the result is one unambiguous line. */
void sk__tty_escape(FILE *out, const char *s, size_t n, int lines);

#endif
