/* test_hist.c - the latency histogram: percentiles against a sorted array
 * (within 1%), merging, bounds and bucket layout, the .hgrm export. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sockit/hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct sk_hist *new_hist(void)
{
    struct sk_hist *h = malloc(sizeof(*h));
    assert_non_null(h);
    sk_hist_init(h);
    return h;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The exact percentile of a sorted array, same definition as the histogram:
 * the smallest value with at least p% of the values at or below it. */
static int64_t exact(const int64_t *v, size_t n, double p)
{
    double r = p / 100.0 * (double)n;
    size_t rank = (size_t)r;
    if ((double)rank < r)
        rank++;
    if (rank < 1)
        rank = 1;
    return v[rank - 1];
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_distribution(int64_t (*gen)(void), size_t n)
{
    struct sk_hist *h = new_hist();
    int64_t *v = malloc(n * sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        v[i] = gen();
        sk_hist_record(h, v[i]);
    }
    qsort(v, n, sizeof(*v), cmp_i64);
    static const double ps[] = {1, 10, 25, 50, 75, 90, 99, 99.9, 99.99};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        int64_t want = exact(v, n, ps[i]);
        int64_t got = sk_hist_percentile(h, ps[i]);
        double err = fabs((double)(got - want)) / (double)(want > 0 ? want : 1);
        if (err >= 0.01)
            fail_msg("p%g: got %lld, exact %lld (error %.3f%%)", ps[i], (long long)got,
                     (long long)want, err * 100);
    }
    assert_int_equal(sk_hist_percentile(h, 100), v[n - 1]);
    assert_int_equal(sk_hist_percentile(h, 0), v[0]);
    assert_int_equal(h->count, n);
    free(v);
    free(h);
}

/* Latency-like: log-uniform from 1 us to 1 s. */
static int64_t gen_loguniform(void)
{
    double e = 3 + 6 * (double)(rng() % 1000000) / 1e6;
    return (int64_t)pow(10, e);
}

/* Tight: around 50 us with small jitter. */
static int64_t gen_tight(void)
{
    return 50000 + (int64_t)(rng() % 2000);
}

/* Bimodal: 90% near 100 us, 10% near 300 ms (a stall). */
static int64_t gen_bimodal(void)
{
    if (rng() % 10 == 0)
        return 300000000 + (int64_t)(rng() % 1000000);
    return 100000 + (int64_t)(rng() % 10000);
}

static void percentiles_within_one_percent(void **state)
{
    (void)state;
    check_distribution(gen_loguniform, 200000);
    check_distribution(gen_tight, 50000);
    check_distribution(gen_bimodal, 100000);
}

static void merge_equals_recording_all(void **state)
{
    (void)state;
    struct sk_hist *a = new_hist(), *b = new_hist(), *all = new_hist();
    for (int i = 0; i < 30000; i++) {
        int64_t v = gen_loguniform();
        sk_hist_record(i % 3 ? a : b, v);
        sk_hist_record(all, v);
    }
    sk_hist_merge(a, b);
    assert_int_equal(a->count, all->count);
    assert_int_equal(a->min, all->min);
    assert_int_equal(a->max, all->max);
    assert_memory_equal(a->b, all->b, sizeof(a->b));
    assert_true(fabs(a->sum - all->sum) < 1e-6 * all->sum);
    /* Merging an empty histogram changes nothing. */
    struct sk_hist *e = new_hist();
    sk_hist_merge(a, e);
    assert_int_equal(a->count, all->count);
    assert_int_equal(a->min, all->min);
    free(a);
    free(b);
    free(all);
    free(e);
}

static void bounds_and_empty(void **state)
{
    (void)state;
    struct sk_hist *h = new_hist();
    assert_int_equal(sk_hist_percentile(h, 50), 0);
    assert_true(sk_hist_mean(h) == 0);
    sk_hist_record(h, -5); /* negative counts as 0 */
    assert_int_equal(h->min, 0);
    sk_hist_record(h, 1000); /* 1 us */
    sk_hist_record(h, SK_HIST_MAX_NS);
    sk_hist_record(h, SK_HIST_MAX_NS * 10); /* clamped */
    assert_int_equal(h->clamped, 1);
    assert_int_equal(h->max, SK_HIST_MAX_NS);
    assert_int_equal(h->count, 4);
    assert_int_equal(sk_hist_percentile(h, 100), SK_HIST_MAX_NS);
    assert_true(sk_hist_index(SK_HIST_MAX_NS) < SK_HIST_BUCKETS);
    assert_int_equal(sk_hist_index(INT64_MAX), sk_hist_index(SK_HIST_MAX_NS));
    /* record_n is n records. */
    struct sk_hist *g = new_hist();
    sk_hist_record_n(g, 7777, 10);
    sk_hist_record_n(g, 7777, 0);
    assert_int_equal(g->count, 10);
    assert_int_equal(sk_hist_percentile(g, 50), 7777);
    free(h);
    free(g);
}

static void buckets_tile_the_range(void **state)
{
    (void)state;
    /* Consecutive buckets are adjacent, every value falls in its bucket, and
     * a bucket is never wider than 1/128 of its lowest value. */
    for (unsigned i = 0; i + 1 < SK_HIST_BUCKETS; i++) {
        int64_t lo = sk_hist_bucket_low(i), hi = sk_hist_bucket_high(i);
        assert_true(lo <= hi);
        assert_int_equal(hi + 1, sk_hist_bucket_low(i + 1));
        if (hi > SK_HIST_MAX_NS)
            break; /* the range ends at 60 s; later buckets are never used */
        assert_int_equal(sk_hist_index(lo), i);
        assert_int_equal(sk_hist_index(hi), i);
        if (lo >= 128)
            assert_true((double)(hi - lo + 1) <= (double)lo / 128.0);
    }
    static const int64_t vals[] = {0,   1,    127,    128,       129,           255,
                                   256, 1000, 123456, 999999999, SK_HIST_MAX_NS};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        unsigned idx = sk_hist_index(vals[i]);
        assert_true(sk_hist_bucket_low(idx) <= vals[i]);
        assert_true(sk_hist_bucket_high(idx) >= vals[i]);
    }
}

/* The .hgrm text: HdrHistogram's header, percentile levels stepping as its
 * iterator does (0, 0.1, ..., 0.5, 0.55, ... 0.9, 0.9125, ...), cumulative
 * counts that never fall, values that agree with sk_hist_percentile() at
 * each level, the 100% line without the inverse column, and the footer. */
static void hgrm_shape_and_agreement(void **state)
{
    (void)state;
    struct sk_hist *h = new_hist();
    uint32_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        sk_hist_record(h, 1000 + (int64_t)(x >> 8) % 5000000);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(sk_hist_write_hgrm(f, h, 1e6), 0);
    fclose(f);
    static const char hdr[] = "       Value     Percentile TotalCount 1/(1-Percentile)\n\n";
    assert_true(strncmp(buf, hdr, strlen(hdr)) == 0);
    char *line = buf + strlen(hdr);
    double last_pct = -1, last_val = -1;
    unsigned long long last_cnt = 0;
    int rows = 0, saw_final = 0, saw_half = 0, saw_ninety = 0;
    while (*line && *line != '#') {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        double v, p, inv;
        unsigned long long cnt;
        int n = sscanf(line, "%lf %lf %llu %lf", &v, &p, &cnt, &inv);
        if (p >= 1.0) {
            assert_int_equal(n, 3);
            assert_true(fabs(v - (double)h->max / 1e6) < 1e-3);
            assert_int_equal(cnt, h->count);
            saw_final = 1;
        } else {
            assert_int_equal(n, 4);
            assert_true(fabs(inv - 1.0 / (1.0 - p)) < 0.01);
            /* The value agrees with the summary's percentile at that level. */
            if (p > 0)
                assert_true(fabs(v - (double)sk_hist_percentile(h, p * 100) / 1e6) < 1e-3);
            saw_half |= fabs(p - 0.5) < 1e-9;
            saw_ninety |= fabs(p - 0.9) < 1e-9;
        }
        assert_true(p > last_pct);
        assert_true(v >= last_val);
        assert_true(cnt >= last_cnt);
        last_pct = p, last_val = v, last_cnt = cnt;
        rows++;
        line = nl + 1;
    }
    assert_true(saw_final && saw_half && saw_ninety);
    assert_true(rows > 40);
    assert_non_null(strstr(line, "#[Mean    = "));
    assert_non_null(strstr(line, "#[Max     = "));
    assert_non_null(strstr(line, "Total count    =        20000]"));
    assert_non_null(strstr(line, "#[Buckets = "));
    free(buf);

    /* Empty: the header and the footer only. */
    sk_hist_init(h);
    f = open_memstream(&buf, &len);
    assert_int_equal(sk_hist_write_hgrm(f, h, 1e6), 0);
    fclose(f);
    assert_true(strncmp(buf + strlen(hdr), "#[Mean", 6) == 0);
    free(buf);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(percentiles_within_one_percent),
        cmocka_unit_test(merge_equals_recording_all),
        cmocka_unit_test(bounds_and_empty),
        cmocka_unit_test(buckets_tile_the_range),
        cmocka_unit_test(hgrm_shape_and_agreement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
