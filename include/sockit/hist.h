/*
 * hist.h - a log-linear latency histogram (HdrHistogram-like).
 *
 * Values are nanoseconds. Below 128 ns every value has its own bucket; above,
 * each power of two [2^k, 2^(k+1)) is split into 128 equal sub-buckets, so a
 * reported percentile is within 1/256 (0.4%) of a recorded value. The range
 * covers 0 .. SK_HIST_MAX_NS (60 s); larger values are clamped to it (and
 * counted in `clamped`). min, max, sum and count are kept exactly.
 *
 * A histogram is a plain struct with no pointers: zero it (sk_hist_init) and
 * record. It is not thread-safe: give each thread its own and merge them.
 */
#ifndef SOCKIT_HIST_H
#define SOCKIT_HIST_H

#include <stdint.h>
#include <stdio.h>

#define SK_HIST_SUB_BITS 7
#define SK_HIST_SUB (1u << SK_HIST_SUB_BITS) /* 128 sub-buckets per power of two */
#define SK_HIST_MAX_NS (60LL * 1000000000LL) /* 60 s */
#define SK_HIST_TOP_BIT 36                   /* 2^36 ns > 60 s */
#define SK_HIST_BUCKETS (SK_HIST_SUB * (SK_HIST_TOP_BIT - SK_HIST_SUB_BITS + 1))

struct sk_hist {
    uint64_t count;
    uint64_t clamped; /* values above SK_HIST_MAX_NS (recorded as the maximum) */
    int64_t min, max; /* exact, in ns (min is INT64_MAX while empty) */
    double sum;       /* for the mean */
    uint64_t b[SK_HIST_BUCKETS];
};

/* Empty the histogram. */
void sk_hist_init(struct sk_hist *h);

/* Record one value in ns (negative values count as 0). */
void sk_hist_record(struct sk_hist *h, int64_t ns);

/* Record the same value n times. */
void sk_hist_record_n(struct sk_hist *h, int64_t ns, uint64_t n);

/* Add every value of src into dst. */
void sk_hist_merge(struct sk_hist *dst, const struct sk_hist *src);

/* The value at percentile p (0..100): the smallest recorded value v such
 * that at least p% of the values are <= v, approximated by its bucket's
 * midpoint and clamped to [min, max]. Returns 0 when empty. p >= 100 gives
 * the exact max, p <= 0 the exact min. */
int64_t sk_hist_percentile(const struct sk_hist *h, double p);

/* Mean in ns (0 when empty). */
double sk_hist_mean(const struct sk_hist *h);

/* Write the percentile distribution in HdrHistogram's text format (.hgrm,
 * what its plotter loads): a header, one line per reporting step ("Value
 * Percentile TotalCount 1/(1-Percentile)", five steps per halving of the
 * distance to 100%, as HdrHistogram's outputPercentileDistribution(f, 5)),
 * the 100% line, and the #[Mean/Max/Buckets] footer. Values are divided by
 * unit_ns (1e6: milliseconds, as wrk2 writes them) and are those
 * sk_hist_percentile() gives at each line's percentile. Returns 0 or
 * -EIO when writing failed. */
int sk_hist_write_hgrm(FILE *f, const struct sk_hist *h, double unit_ns);

/* Bucket index of a value and the lowest/highest value of a bucket (for
 * tests and for anyone who walks the buckets). */
unsigned sk_hist_index(int64_t ns);
int64_t sk_hist_bucket_low(unsigned idx);
int64_t sk_hist_bucket_high(unsigned idx);

#endif
