/*
 * util.h - small helpers shared by every part: bounded number parsing,
 * monotonic clocks, logging to stderr, and JSON string literals.
 */
#ifndef SOCKIT_UTIL_H
#define SOCKIT_UTIL_H

#include <stddef.h>
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

/* How log lines look; set by the command before any thread starts.
 * SK_LOGF_TIME: an ISO 8601 local time first ("2026-01-02T15:04:05.123+01:00
 * sockit: ..."). SK_LOGF_JSON: every line is one JSON object with "time"
 * and "event" (sk_log()'s lines are events "error", "warning", "info",
 * "debug" with a "message"), for log shippers. */
enum { SK_LOGF_TIME = 1u << 0, SK_LOGF_JSON = 1u << 1 };
extern unsigned sk_log_flags;

/* One line to stderr: "sockit: " plus the message. Thread-safe: the line is
 * written with one write(). */
void sk_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write s as a JSON string literal (with quotes; '"', '\\' and control
 * bytes escaped) to f. Shared by every --json output (the tools, bench). */
void sk_json_str(FILE *f, const char *s);
/* With SK_LOGF_JSON and level enabled: one line {"time": ..., "event": EVENT,
 * ...} where fmt's output (JSON members, without braces, starting with a
 * comma) follows "event". Otherwise nothing. */
void sk_log_event(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* s as the contents of a JSON string (no quotes) in buf, cut to fit size.
 * Returns buf. */
const char *sk_json_escape(const char *s, char *buf, size_t size);

#define SK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SK_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
