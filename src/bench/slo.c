/*
 * slo.c - capacity search (`bench --find-max --slo p99=5ms`): the pure goal
 * parser, the verdict of one run against the goal, and the search over the
 * open-loop rate that runs the load generator step by step.
 */
#include "sockit/bench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A decimal number at s (digits, at most one dot); *end after it. */
static int parse_num(const char *s, const char **end, double *out)
{
    const char *p = s;
    int digits = 0, dot = 0;
    double v = 0, scale = 1;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (++digits > 12)
                return -1;
            if (dot)
                scale /= 10, v += (*p - '0') * scale;
            else
                v = v * 10 + (*p - '0');
        } else if (*p == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
    }
    if (!digits)
        return -1;
    *end = p;
    *out = v;
    return 0;
}

/* A duration with its unit: "5ms", "250us", "1.5s", from 1 us (the
 * histogram's resolution) up to 60 s. */
static int parse_dur(const char *s, size_t len, int64_t *ns)
{
    const char *end;
    double v;
    if (parse_num(s, &end, &v) < 0)
        return -1;
    size_t ul = len - (size_t)(end - s);
    double mul;
    if (ul == 2 && strncmp(end, "us", 2) == 0)
        mul = 1e3;
    else if (ul == 2 && strncmp(end, "ms", 2) == 0)
        mul = 1e6;
    else if (ul == 1 && *end == 's')
        mul = 1e9;
    else
        return -1;
    v *= mul;
    if (!(v >= 1e3) || v > 60e9)
        return -1;
    *ns = (int64_t)v;
    return 0;
}

int sk_bench_slo_parse(const char *s, struct sk_bench_slo *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    int errors_seen = 0;
    const char *p = s;
    if (!*p)
        return *why = "an empty goal (e.g. p99=5ms)", -EINVAL;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p || eq + 1 == p + len)
            return *why = "each part is KEY=VALUE (e.g. p99=5ms, errors=0)", -EINVAL;
        const char *val = eq + 1;
        size_t vlen = len - (size_t)(val - p);
        if ((size_t)(eq - p) == 6 && strncmp(p, "errors", 6) == 0) {
            if (errors_seen)
                return *why = "errors given twice", -EINVAL;
            errors_seen = 1;
            uint64_t n = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (val[i] < '0' || val[i] > '9' || i >= 12)
                    return *why = "errors=N takes a whole number", -EINVAL;
                n = n * 10 + (uint64_t)(val[i] - '0');
            }
            out->max_errors = n;
        } else if (*p == 'p') {
            const char *end;
            double pct;
            if (parse_num(p + 1, &end, &pct) < 0 || end != eq || !(pct > 0) || !(pct < 100))
                return *why = "a percentile is pNN or pNN.N, between 0 and 100", -EINVAL;
            for (unsigned i = 0; i < out->n; i++)
                if (out->pct[i] == pct)
                    return *why = "a percentile given twice", -EINVAL;
            if (out->n == SK_BENCH_SLO_MAX)
                return *why = "at most 4 percentiles", -EINVAL;
            if (parse_dur(val, vlen, &out->max_ns[out->n]) < 0)
                return *why = "a bound is a duration with its unit (us, ms or s) from 1us to 60s",
                       -EINVAL;
            out->pct[out->n++] = pct;
        } else {
            return *why = "keys are pNN (a percentile) and errors", -EINVAL;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    if (out->n == 0)
        return *why = "no latency goal (e.g. p99=5ms)", -EINVAL;
    return 0;
}

int sk_bench_slo_check(const struct sk_bench_slo *slo, double target,
                       const struct sk_bench_result *res, const char **why)
{
    double achieved = res->elapsed_s > 0 ? (double)res->requests / res->elapsed_s : 0;
    if (res->requests == 0)
        return *why = "no reply", 0;
    if (sk_bench_errors_total(res) > slo->max_errors)
        return *why = "errors", 0;
    for (unsigned i = 0; i < slo->n; i++)
        if (sk_hist_percentile(&res->hist, slo->pct[i]) > slo->max_ns[i])
            return *why = "latency", 0;
    if (target > 0 && achieved < 0.9 * target)
        return *why = "fell behind", 0;
    *why = "";
    return 1;
}

static int step(const struct sk_bench_cfg *base, const struct sk_bench_slo *slo, double rate,
                struct sk_bench_result *res, struct sk_bench_step *st)
{
    struct sk_bench_cfg cfg = *base;
    cfg.rate = rate;
    int r = sk_bench_run(&cfg, res);
    if (r < 0)
        return r;
    memset(st, 0, sizeof(*st));
    st->target = rate;
    st->achieved = res->elapsed_s > 0 ? (double)res->requests / res->elapsed_s : 0;
    st->p50_ns = sk_hist_percentile(&res->hist, 50);
    st->p99_ns = sk_hist_percentile(&res->hist, 99);
    st->requests = res->requests;
    st->errors = sk_bench_errors_total(res);
    st->pass = sk_bench_slo_check(slo, rate, res, &st->why);
    return 0;
}

int sk_bench_find_max(const struct sk_bench_cfg *base, const struct sk_bench_slo *slo,
                      unsigned max_steps,
                      void (*on_step)(void *arg, const struct sk_bench_step *st), void *arg,
                      double *best)
{
    struct sk_bench_result *res = malloc(sizeof(*res));
    struct sk_bench_step st;
    int r;
    *best = 0;
    if (!res)
        return -ENOMEM;
    if ((r = step(base, slo, 0, res, &st)) < 0)
        goto out;
    if (on_step)
        on_step(arg, &st);
    double lo = 0, hi = 0, rate = floor(st.achieved);
    unsigned ups = 0;
    for (unsigned i = 0; i < max_steps && rate >= 1 && !sk_bench_interrupted(); i++) {
        if ((r = step(base, slo, rate, res, &st)) < 0)
            goto out;
        if (on_step)
            on_step(arg, &st);
        if (st.pass)
            lo = rate;
        else
            hi = rate;
        if (hi == 0) {
            if (++ups > 3)
                break;
            rate = floor(rate * 1.5); /* no failure yet: look higher */
        } else {
            if (hi - lo <= 0.05 * hi)
                break;
            rate = floor((lo + hi) / 2);
            if (rate <= lo || rate >= hi)
                break;
        }
    }
    *best = lo;
    r = 0;
out:
    free(res);
    return r;
}
