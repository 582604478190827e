/* fuzz_size.c - the size and duration parsers (util.h) and the socket option
 * values built on them must accept or reject any string without undefined
 * behaviour (a double out of an integer's range is a finding), stay within
 * their bounds, and round-trip: a parsed value printed in its base unit
 * ("%llu" bytes, "%lldms") parses to the same value, and a size or time
 * socket option value formatted by sk_optval_format() parses back to the
 * same value. */
#include "sockit/tool.h"
#include "sockit/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sk_sockopt *of_kind(int kind)
{
    size_t n;
    const struct sk_sockopt *t = sk_sockopt_table(&n);
    for (size_t i = 0; i < n; i++)
        if ((int)t[i].kind == kind)
            return &t[i];
    return NULL;
}

static void optval_round_trip(const struct sk_sockopt *o, const char *s)
{
    struct sk_optval v, w;
    const char *why;
    char out[64];
    if (!o || sk_optval_parse(o, s, &v, &why) != 0)
        return;
    if (sk_optval_format(o, &v, out, sizeof(out)) < 0 || sk_optval_parse(o, out, &w, &why) != 0 ||
        v.i != w.i)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char txt[64];

    static const uint64_t maxes[] = {0, 65527, INT32_MAX, 1ULL << 32, UINT64_MAX};
    for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
        uint64_t v = 0, w = 0;
        int rc = sk_parse_size(s, maxes[i], &v);
        if (rc != 0 && rc != -EINVAL && rc != -ERANGE)
            abort();
        if (rc != 0)
            continue;
        snprintf(txt, sizeof(txt), "%" PRIu64, v);
        if (v > maxes[i] || sk_parse_size(txt, maxes[i], &w) != 0 || v != w)
            abort();
    }
    int64_t ms, ms2;
    int rc = sk_parse_duration_ms(s, &ms);
    if (rc != 0 && rc != -EINVAL && rc != -ERANGE)
        abort();
    if (rc == 0) {
        snprintf(txt, sizeof(txt), "%" PRId64 "ms", ms);
        if (ms < 0 || sk_parse_duration_ms(txt, &ms2) != 0 || ms != ms2)
            abort();
    }
    int64_t i64, i64b;
    if (sk_parse_i64(s, -1000, INT64_MAX, &i64) == 0) {
        snprintf(txt, sizeof(txt), "%" PRId64, i64);
        if (i64 < -1000 || sk_parse_i64(txt, -1000, INT64_MAX, &i64b) != 0 || i64 != i64b)
            abort();
    }
    optval_round_trip(of_kind(SK_OPT_SIZE), s);
    optval_round_trip(of_kind(SK_OPT_TIME), s);
    free(s);
    return 0;
}
