/*
 * util.c - bounded number parsing, string replacement, the monotonic clock,
 * logging, and JSON string literals.
 */
#include "sockit/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int sk_log_level = SK_LOG_INFO;
unsigned sk_log_flags;

int sk_str_set(char **dst, const char *src)
{
    char *s = strdup(src);
    if (!s)
        return -ENOMEM;
    free(*dst);
    *dst = s;
    return 0;
}

int sk_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;

    if (!s || !*s || isspace((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0')
        return -EINVAL;
    if (errno == ERANGE || v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

/* Split "12.5ms" into a non-negative number and its unit suffix. */
static int parse_number_unit(const char *s, double *num, const char **unit)
{
    char *end;

    if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
        return -EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || v != v)
        return -EINVAL;
    *num = v;
    *unit = end;
    return 0;
}

int sk_parse_duration_ms(const char *s, int64_t *out)
{
    double v, mult;
    const char *u;

    if (parse_number_unit(s, &v, &u) < 0)
        return -EINVAL;
    if (*u == '\0' || strcmp(u, "s") == 0)
        mult = 1000;
    else if (strcmp(u, "ms") == 0)
        mult = 1;
    else if (strcmp(u, "us") == 0)
        mult = 0.001;
    else if (strcmp(u, "m") == 0 || strcmp(u, "min") == 0)
        mult = 60000;
    else if (strcmp(u, "h") == 0)
        mult = 3600000;
    else
        return -EINVAL;
    double ms = v * mult;
    if (ms > 9.0e15)
        return -ERANGE;
    *out = (int64_t)(ms + 0.5);
    return 0;
}

int sk_parse_size(const char *s, uint64_t max, uint64_t *out)
{
    double v, mult;
    const char *u;

    if (parse_number_unit(s, &v, &u) < 0)
        return -EINVAL;
    if (*u == '\0' || strcasecmp(u, "b") == 0)
        mult = 1;
    else if (strcasecmp(u, "k") == 0 || strcasecmp(u, "kb") == 0 || strcasecmp(u, "kib") == 0)
        mult = 1024.0;
    else if (strcasecmp(u, "m") == 0 || strcasecmp(u, "mb") == 0 || strcasecmp(u, "mib") == 0)
        mult = 1024.0 * 1024;
    else if (strcasecmp(u, "g") == 0 || strcasecmp(u, "gb") == 0 || strcasecmp(u, "gib") == 0)
        mult = 1024.0 * 1024 * 1024;
    else
        return -EINVAL;
    double bytes = v * mult;
    /* Compare before converting: a double at or above 2^64 ("1e100") has no
     * uint64_t value, and (double)max may round up to 2^64. */
    const double two64 = 18446744073709551616.0;
    if (mult == 1 && bytes < two64 && bytes != (double)(uint64_t)bytes)
        return -EINVAL; /* "1.5" bytes */
    if (bytes >= two64 || bytes > (double)max)
        return -ERANGE;
    uint64_t n = (uint64_t)bytes;
    if (n > max)
        return -ERANGE;
    *out = n;
    return 0;
}

int64_t sk_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The local time now as ISO 8601 with milliseconds and the UTC offset. */
static size_t iso_time(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    char zone[8];

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    if (strftime(zone, sizeof(zone), "%z", &tm) != 5)
        snprintf(zone, sizeof(zone), "+0000");
    int m = snprintf(buf + n, size - n, ".%03ld%.3s:%s", ts.tv_nsec / 1000000, zone, zone + 3);
    return n + (m > 0 ? SK_MIN((size_t)m, size - n - 1) : 0);
}

/* One byte of a JSON string's contents in out (at most 6 bytes, no NUL):
 * '"' and '\\' escaped, control bytes as \\u00XX. Returns the length. The
 * one escaping rule behind sk_json_escape() and sk_json_str(). */
static size_t json_char(unsigned char c, char *out)
{
    static const char hex[] = "0123456789abcdef";
    if (c == '"' || c == '\\') {
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    }
    if (c < 0x20) {
        memcpy(out, "\\u00", 4);
        out[4] = hex[c >> 4];
        out[5] = hex[c & 15];
        return 6;
    }
    out[0] = (char)c;
    return 1;
}

const char *sk_json_escape(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 7 < size; p++)
        n += json_char(*p, buf + n);
    if (size)
        buf[n] = '\0';
    return buf;
}

void sk_json_str(FILE *f, const char *s)
{
    char e[6];
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        fwrite(e, 1, json_char(*p, e), f);
    fputc('"', f);
}

/* Write one finished line (line[len] is where the newline goes). One write
 * so lines from threads and processes never interleave. */
static void put_line(char *line, size_t len)
{
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

static void vlog_event(const char *event, const char *fmt, va_list ap)
{
    char line[2048];
    size_t n = (size_t)snprintf(line, sizeof(line), "{\"time\": \"");
    n += iso_time(line + n, sizeof(line) - n);
    n += (size_t)snprintf(line + n, sizeof(line) - n, "\", \"event\": \"%s\"", event);
    int m = vsnprintf(line + n, sizeof(line) - n - 2, fmt, ap);
    if (m < 0 || (size_t)m >= sizeof(line) - n - 2)
        return; /* never a cut JSON object */
    n += (size_t)m;
    line[n++] = '}';
    put_line(line, n);
}

static void log_event(const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog_event(event, fmt, ap);
    va_end(ap);
}

void sk_log_event(int level, const char *event, const char *fmt, ...)
{
    va_list ap;

    if (level > sk_log_level || !(sk_log_flags & SK_LOGF_JSON))
        return;
    va_start(ap, fmt);
    vlog_event(event, fmt, ap);
    va_end(ap);
}

void sk_log(int level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    char line[1024];
    va_list ap;
    size_t n = 0;

    if (level > sk_log_level)
        return;
    if (sk_log_flags & SK_LOGF_JSON) {
        char msg[512], esc[1024];
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_event(names[SK_MIN((unsigned)level, 3u)], ", \"message\": \"%s\"",
                  sk_json_escape(msg, esc, sizeof(esc)));
        return;
    }
    if (sk_log_flags & SK_LOGF_TIME) {
        n = iso_time(line, sizeof(line) / 2);
        line[n++] = ' ';
    }
    n += (size_t)snprintf(line + n, sizeof(line) - n, "sockit: ");
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    put_line(line, n + SK_MIN((size_t)m, sizeof(line) - n - 2));
}
