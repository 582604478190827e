/*
 * hist.c - the log-linear latency histogram of hist.h.
 *
 * Index layout: values 0..127 map to buckets 0..127 directly. A value v with
 * its highest set bit k >= 7 maps to 128 * (k - 6) + (v >> (k - 7)) - 128,
 * that is the 128 sub-buckets of [2^k, 2^(k+1)) follow those of 2^(k-1).
 */
#include "sockit/hist.h"

#include <string.h>

void sk_hist_init(struct sk_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = INT64_MAX;
}

unsigned sk_hist_index(int64_t ns)
{
    if (ns < 0)
        ns = 0;
    if (ns > SK_HIST_MAX_NS)
        ns = SK_HIST_MAX_NS;
    uint64_t v = (uint64_t)ns;
    if (v < SK_HIST_SUB)
        return (unsigned)v;
    unsigned k = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = k - SK_HIST_SUB_BITS;
    return SK_HIST_SUB * (shift + 1) + (unsigned)(v >> shift) - SK_HIST_SUB;
}

int64_t sk_hist_bucket_low(unsigned idx)
{
    if (idx < SK_HIST_SUB)
        return idx;
    unsigned shift = idx / SK_HIST_SUB - 1;
    uint64_t sub = idx % SK_HIST_SUB + SK_HIST_SUB;
    return (int64_t)(sub << shift);
}

int64_t sk_hist_bucket_high(unsigned idx)
{
    if (idx < SK_HIST_SUB)
        return idx;
    unsigned shift = idx / SK_HIST_SUB - 1;
    return sk_hist_bucket_low(idx) + (int64_t)(1ULL << shift) - 1;
}

void sk_hist_record_n(struct sk_hist *h, int64_t ns, uint64_t n)
{
    if (n == 0)
        return;
    if (ns < 0)
        ns = 0;
    if (ns > SK_HIST_MAX_NS) {
        h->clamped += n;
        ns = SK_HIST_MAX_NS;
    }
    h->b[sk_hist_index(ns)] += n;
    h->count += n;
    h->sum += (double)ns * (double)n;
    if (ns < h->min)
        h->min = ns;
    if (ns > h->max)
        h->max = ns;
}

void sk_hist_record(struct sk_hist *h, int64_t ns)
{
    sk_hist_record_n(h, ns, 1);
}

void sk_hist_merge(struct sk_hist *dst, const struct sk_hist *src)
{
    if (src->count == 0)
        return;
    for (unsigned i = 0; i < SK_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->clamped += src->clamped;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

int64_t sk_hist_percentile(const struct sk_hist *h, double p)
{
    if (h->count == 0)
        return 0;
    if (p <= 0)
        return h->min;
    if (p >= 100)
        return h->max;
    /* The rank of the wanted value, 1-based: ceil(p/100 * count). */
    double r = p / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r)
        rank++;
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < SK_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            int64_t lo = sk_hist_bucket_low(i), hi = sk_hist_bucket_high(i);
            int64_t v = lo + (hi - lo) / 2;
            if (v < h->min)
                v = h->min;
            if (v > h->max)
                v = h->max;
            return v;
        }
    }
    return h->max;
}

double sk_hist_mean(const struct sk_hist *h)
{
    return h->count ? h->sum / (double)h->count : 0.0;
}
