/*
 * util.h - small helpers shared by every part: bounded number parsing,
 * monotonic clocks, logging to stderr, and JSON string literals.
 */
#ifndef SOCKIT_UTIL_H
#define SOCKIT_UTIL_H

#include <stdint.h>
#include <stdio.h>

/* Parse a decimal integer within [min, max], the whole string (like
 * OpenBSD's strtonum). Returns 0, or -EINVAL (not a number) / -ERANGE. */
int sk_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* A duration: "1.5", "250ms", "2s", "1m". Result in milliseconds. */
int sk_parse_duration_ms(const char *s, int64_t *out);

/* A size: "4096", "64k", "16KiB", "1M", "1G". Result in bytes. */
int sk_parse_size(const char *s, uint64_t max, uint64_t *out);

/* Replace the heap string *dst by a copy of src (the old one is freed only
 * once the copy succeeded). Returns 0, or -ENOMEM with *dst unchanged.
 * The caller owns *dst and frees it. */
int sk_str_set(char **dst, const char *src);

/* CLOCK_MONOTONIC in nanoseconds / milliseconds. */
int64_t sk_now_ns(void);
static inline int64_t sk_now_ms(void)
{
    return sk_now_ns() / 1000000;
}

enum { SK_LOG_ERROR, SK_LOG_WARN, SK_LOG_INFO, SK_LOG_DEBUG };

/* Messages at or below this level are printed (default SK_LOG_INFO). */
extern int sk_log_level;

/* One line to stderr: "sockit: " plus the message. Thread-safe: the line is
 * written with one write(). */
void sk_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write s as a JSON string literal (with quotes; '"', '\\' and control
 * bytes escaped) to f. Shared by every --json output (the tools, bench). */
void sk_json_str(FILE *f, const char *s);

#define SK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SK_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
