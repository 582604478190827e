/*
 * hist.c - the log-linear latency histogram of hist.h.
 *
 * Index layout: values 0..127 map to buckets 0..127 directly. A value v with
 * its highest set bit k >= 7 maps to 128 * (k - 6) + (v >> (k - 7)) - 128,
 * that is the 128 sub-buckets of [2^k, 2^(k+1)) follow those of 2^(k-1).
 */
#include "sockit/hist.h"

#include <errno.h>
#include <math.h>
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

/* The value a bucket stands for, as sk_hist_percentile() reports it. */
static int64_t bucket_value(const struct sk_hist *h, unsigned i)
{
    int64_t lo = sk_hist_bucket_low(i), hi = sk_hist_bucket_high(i);
    int64_t v = lo + (hi - lo) / 2;
    return v < h->min ? h->min : v > h->max ? h->max : v;
}

int sk_hist_write_hgrm(FILE *f, const struct sk_hist *h, double unit_ns)
{
    fprintf(f, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
    double sd = 0;
    if (h->count) {
        /* HdrHistogram's percentile iterator: report at each level reached,
         * then step the level by 100 / (5 * 2^(floor(log2(100 / (100 - level))) + 1)). */
        double level = 0, mean = sk_hist_mean(h), var = 0;
        uint64_t seen = 0;
        for (unsigned i = 0; i < SK_HIST_BUCKETS; i++) {
            if (!h->b[i])
                continue;
            double d = (double)bucket_value(h, i) - mean;
            var += d * d * (double)h->b[i];
            seen += h->b[i];
            double pct = 100.0 * (double)seen / (double)h->count;
            while (level <= pct) {
                fprintf(f, "%12.3f %2.12f %10llu %14.2f\n", (double)bucket_value(h, i) / unit_ns,
                        level / 100.0, (unsigned long long)seen, 1.0 / (1.0 - level / 100.0));
                double ticks = 5.0 * exp2(floor(log2(100.0 / (100.0 - level))) + 1);
                level += 100.0 / ticks;
                if (seen == h->count)
                    break; /* the last bucket reports once, then the 100% line */
            }
        }
        sd = sqrt(var / (double)h->count);
        fprintf(f, "%12.3f %2.12f %10llu\n", (double)h->max / unit_ns, 1.0,
                (unsigned long long)h->count);
    }
    fprintf(f, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", sk_hist_mean(h) / unit_ns,
            sd / unit_ns);
    fprintf(f, "#[Max     = %12.3f, Total count    = %12llu]\n",
            (double)(h->count ? h->max : 0) / unit_ns, (unsigned long long)h->count);
    fprintf(f, "#[Buckets = %12d, SubBuckets     = %12u]\n", SK_HIST_TOP_BIT - SK_HIST_SUB_BITS + 1,
            2 * SK_HIST_SUB);
    return ferror(f) ? -EIO : 0;
}
