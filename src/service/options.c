/*
 * options.c - options as data (struct sk_service_opt, nginx's ngx_command_t
 * idea): one parser per value type and every message written once here, for
 * every service's options and for the server's own limits.
 */
#include "sockit/service.h"
#include "sockit/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* "16 bytes", "1k", "1M", "4G": the largest unit that divides n exactly. */
static void size_text(uint64_t n, char *buf, size_t len)
{
    static const char units[] = "kMG";
    int u = -1;
    while (u < 2 && n >= 1024 && n % 1024 == 0) {
        n /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%" PRIu64 " bytes", n);
    else
        snprintf(buf, len, "%" PRIu64 "%c", n, units[u]);
}

/* "an hour", "2 hours", "90s", "250ms". */
static void duration_text(int64_t ms, char *buf, size_t len)
{
    static const struct {
        int64_t ms;
        const char *one, *many;
    } units[] = {{86400000, "a day", "days"},
                 {3600000, "an hour", "hours"},
                 {60000, "a minute", "minutes"},
                 {1000, "a second", "s"}};
    for (size_t i = 0; i < SK_ARRAY_LEN(units); i++) {
        if (ms % units[i].ms)
            continue;
        int64_t n = ms / units[i].ms;
        if (n == 1)
            snprintf(buf, len, "%s", units[i].one);
        else
            snprintf(buf, len, "%" PRId64 "%s%s", n, units[i].ms == 1000 ? "" : " ", units[i].many);
        return;
    }
    snprintf(buf, len, "%" PRId64 "ms", ms);
}

const struct sk_service_opt *sk_opt_find(const struct sk_service_opt *opts, const char *name)
{
    for (const struct sk_service_opt *o = opts; o && o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

int sk_opt_apply(const struct sk_service_opt *opts, void *base, const char *name, const char *value,
                 char *err, size_t errlen)
{
    const struct sk_service_opt *o = sk_opt_find(opts, name);
    char *field = (char *)base + (o ? o->offset : 0);
    char lo[32], hi[32];
    uint64_t size;
    int64_t n;
    int r = 0;

    if (!o) {
        snprintf(err, errlen, "unknown option --%s", name);
        return -ENOENT;
    }
    if (o->type != SK_OPT_FLAG && !value) {
        snprintf(err, errlen, "--%s needs a value", name);
        return -EINVAL;
    }
    switch (o->type) {
    case SK_OPT_FLAG: *(int *)(void *)field = (int)o->min; break;
    case SK_OPT_STRING: {
        char why[200];
        if (o->check && o->check(value, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "--%s: %s", name, why);
            return -EINVAL;
        }
        r = sk_str_set((char **)(void *)field, value);
        break;
    }
    case SK_OPT_SIZE:
        if (sk_parse_size(value, (uint64_t)o->max, &size) < 0 || size < (uint64_t)o->min) {
            size_text((uint64_t)o->min, lo, sizeof(lo));
            size_text((uint64_t)o->max, hi, sizeof(hi));
            snprintf(err, errlen, "--%s: '%s' is not a size from %s to %s", name, value, lo, hi);
            return -EINVAL;
        }
        *(size_t *)(void *)field = (size_t)size;
        break;
    case SK_OPT_DURATION:
        if (sk_parse_duration_ms(value, &n) < 0 || n < o->min || n > o->max) {
            duration_text(o->max, hi, sizeof(hi));
            if (o->min > 0) {
                duration_text(o->min, lo, sizeof(lo));
                snprintf(err, errlen,
                         "--%s: '%s' is not a duration from %s up to %s (e.g. 1, 250ms)", name,
                         value, lo, hi);
            } else {
                snprintf(err, errlen, "--%s: '%s' is not a duration up to %s (e.g. 1, 250ms)", name,
                         value, hi);
            }
            return -EINVAL;
        }
        *(int *)(void *)field = (int)n;
        break;
    case SK_OPT_UINT:
        if (sk_parse_i64(value, o->min, o->max, &n) < 0) {
            snprintf(err, errlen, "--%s: '%s' is not a number in %" PRId64 "..%" PRId64, name,
                     value, o->min, o->max);
            return -EINVAL;
        }
        *(unsigned *)(void *)field = (unsigned)n;
        break;
    }
    if (r < 0) {
        snprintf(err, errlen, "--%s: %s", name, strerror(-r));
        return r;
    }
    if (o->post)
        o->post(base);
    return 0;
}

int sk_service_option(const struct sk_service *svc, void *state, const char *name,
                      const char *value, char *err, size_t errlen)
{
    return sk_opt_apply(svc->opts, state, name, value, err, errlen);
}
