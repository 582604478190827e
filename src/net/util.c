/*
 * util.c - bounded number parsing, string replacement, the monotonic clock, and logging.
 */
#include "sockit/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int sk_log_level = SK_LOG_INFO;

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

void sk_log(int level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (level > sk_log_level)
        return;
    int n = snprintf(line, sizeof(line), "sockit: ");
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + SK_MIN((size_t)m, sizeof(line) - (size_t)n - 2);
    line[len++] = '\n';
    /* One write so lines from threads and processes never interleave. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
