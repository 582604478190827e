/*
 * head.h - the scanning of text protocol heads (HTTP requests and responses)
 * that the request parser of the http service and the response parser of the
 * load generator share: resumable line splitting, header-field splitting,
 * case-insensitive names and comma-separated lists. Internal to the library.
 *
 * Every function is pure: no I/O, no allocation, never a read past p + n.
 */
#ifndef SOCKIT_NET_HEAD_H
#define SOCKIT_NET_HEAD_H

#include <stddef.h>

/* tchar of RFC 9110 5.6.2: 1 for the bytes a token may hold. */
extern const unsigned char sk__tchar[256];

/* Where a line scan stands. Zero it before the first line of a head; it
 * holds offsets only, so the caller's buffer may move between calls (the
 * bytes before n must stay the same). */
struct sk__head_scan {
    size_t line;    /* offset of the line being read */
    size_t scanned; /* bytes from line on already searched for its end */
};

/* The next complete line of p[0..n) at s->line. Returns 1 with its content
 * in [*b, *e) (without the LF and one CR before it) and s->line moved past
 * its LF, or 0 when its LF has not arrived yet: the search resumes where it
 * stopped on the next call, so a line that trickles in is searched once. */
int sk__head_line(struct sk__head_scan *s, const char *p, size_t n, size_t *b, size_t *e);

/* A header field line "name: value", with the value's leading and trailing
 * spaces and tabs removed. */
struct sk__head_field {
    const char *name, *value;
    size_t name_n, value_n;
};

/* Split the field line p[0..n): the name is 1*tchar right before the colon
 * (no space before it, no obs-fold). Returns 0, or -1 when malformed. */
int sk__head_field(const char *p, size_t n, struct sk__head_field *f);

/* Case-insensitive equality of p[0..n) with the lower-case literal s. */
int sk__head_ieq(const char *p, size_t n, const char *s);

/* The next element of the comma-separated list v[0..n) from *i on, with
 * spaces and tabs around it removed and empty elements skipped. Returns 1
 * with the element in *tok and *tok_n, 0 at the end of the list. */
int sk__head_list_next(const char *v, size_t n, size_t *i, const char **tok, size_t *tok_n);

#endif
