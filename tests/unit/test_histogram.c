/* Latency histograms: bucket bounds, merging, quantiles (histogram.h), and
 * the sharded counters threads record into (metrics.h). No sockets. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"
#include "metrics.h"

Test(histogram, buckets_tile_the_range_without_gaps)
{
    cr_assert_eq(HIST_BUCKETS, 210);
    cr_assert_eq(hist_lower(0), 0);
    for (unsigned b = 0; b + 1 < HIST_BUCKETS; b++) {
        uint64_t lo = hist_lower(b), hi = hist_upper(b);
        cr_assert_lt(lo, hi, "bucket %u", b);
        cr_assert_eq(hi, hist_lower(b + 1), "bucket %u ends where %u starts",
                     b, b + 1);
        /* (lo, hi]: both ends land where they should. */
        cr_assert_eq(hist_bucket(hi), b, "upper bound of %u", b);
        cr_assert_eq(hist_bucket(hi + 1), b + 1, "just above %u", b);
        if (b > 0) {
            cr_assert_eq(hist_bucket(lo + 1), b, "just above lower of %u", b);
            /* Log-linear: no bucket wider than 1/8 of where it starts. */
            cr_assert_leq(hi - lo, lo / 8, "width of %u", b);
        }
    }
    cr_assert_eq(hist_upper(HIST_OVERFLOW), UINT64_MAX);
    cr_assert_eq(hist_lower(HIST_OVERFLOW), UINT64_C(1) << 36);
}

Test(histogram, edges)
{
    cr_assert_eq(hist_bucket(0), 0);
    cr_assert_eq(hist_bucket(1), 0);
    cr_assert_eq(hist_bucket(1024), 0);
    cr_assert_eq(hist_bucket(1025), 1);
    cr_assert_eq(hist_bucket(1152), 1);
    cr_assert_eq(hist_bucket(1153), 2);
    cr_assert_eq(hist_bucket(2048), 8);
    cr_assert_eq(hist_bucket(2049), 9);
    cr_assert_eq(hist_bucket(UINT64_C(1) << 36), HIST_OVERFLOW - 1);
    cr_assert_eq(hist_bucket((UINT64_C(1) << 36) + 1), HIST_OVERFLOW);
    cr_assert_eq(hist_bucket(UINT64_MAX), HIST_OVERFLOW);
}

Test(histogram, every_power_of_two_is_an_upper_bound)
{
    /* The exposition's "le" buckets: 2^10 .. 2^36 ns. */
    int found = 0;
    for (unsigned b = 0; b < HIST_OVERFLOW; b++) {
        uint64_t hi = hist_upper(b);
        if ((hi & (hi - 1)) == 0)
            found++;
    }
    cr_assert_eq(found, 27);
    for (int k = 10; k <= 36; k++) {
        uint64_t p = UINT64_C(1) << k;
        cr_assert_eq(hist_upper(hist_bucket(p)), p, "2^%d", k);
    }
}

static void add(histogram_snapshot *h, uint64_t ns, uint64_t times)
{
    h->buckets[hist_bucket(ns)] += times;
    h->count += times;
    h->sum_ns += ns * times;
}

Test(histogram, count_le_counts_values_at_or_below)
{
    histogram_snapshot h;
    memset(&h, 0, sizeof(h));
    add(&h, 1024, 1);
    add(&h, 1025, 2);
    add(&h, 2048, 4);
    add(&h, 2049, 8);
    cr_assert_eq(hist_count_le(&h, 1024), 1);
    cr_assert_eq(hist_count_le(&h, 2048), 7);
    cr_assert_eq(hist_count_le(&h, 4096), 15);
    cr_assert_eq(hist_count_le(&h, UINT64_MAX), 15);
}

Test(histogram, merge_adds_everything)
{
    histogram_snapshot a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    add(&a, 5000, 3);
    add(&b, 5000, 2);
    add(&b, UINT64_C(1) << 40, 1);
    hist_merge(&a, &b);
    cr_assert_eq(a.count, 6);
    cr_assert_eq(a.sum_ns, 25000 + (UINT64_C(1) << 40));
    cr_assert_eq(a.buckets[hist_bucket(5000)], 5);
    cr_assert_eq(a.buckets[HIST_OVERFLOW], 1);
}

Test(histogram, quantiles_of_simple_shapes)
{
    histogram_snapshot h;
    memset(&h, 0, sizeof(h));
    cr_assert_eq(hist_quantile(&h, 0.5), 0, "empty");

    /* One value: every quantile is inside its bucket. */
    add(&h, 50000, 1);
    unsigned b = hist_bucket(50000);
    for (double q = 0.01; q <= 1.0; q += 0.07) {
        double v = hist_quantile(&h, q);
        cr_assert(v >= (double)hist_lower(b) && v <= (double)hist_upper(b),
                  "q %f: %f", q, v);
    }

    /* 90 fast and 10 slow: p50 and p90 fast, p99 slow. */
    memset(&h, 0, sizeof(h));
    add(&h, 20000, 90);
    add(&h, 8000000, 10);
    cr_assert_leq(hist_quantile(&h, 0.5), 20000 * 1.125);
    cr_assert_leq(hist_quantile(&h, 0.9), 20000 * 1.125);
    cr_assert_geq(hist_quantile(&h, 0.91), 8000000 / 1.125);
    cr_assert_geq(hist_quantile(&h, 0.99), 8000000 / 1.125);

    /* Above 2^36 ns there is no upper bound: the lower one answers. */
    memset(&h, 0, sizeof(h));
    add(&h, UINT64_C(1) << 40, 4);
    cr_assert_eq(hist_quantile(&h, 0.5), (double)(UINT64_C(1) << 36));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Against the exact quantiles of samples spread over six decades: each
 * estimate lies within the width of the bucket that holds the true value
 * (1/8 of it), plus the neighbouring rank's difference. */
Test(histogram, quantiles_track_exact_ones_within_a_bucket)
{
    enum { N = 200000 };
    uint64_t *v = malloc(N * sizeof(*v));
    histogram_snapshot h;
    memset(&h, 0, sizeof(h));
    uint64_t s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        double u = (double)(s >> 11) / 9007199254740992.0;
        v[i] = (uint64_t)(2000.0 * pow(10.0, 6.0 * u)); /* 2 us .. 2 s */
        add(&h, v[i], 1);
    }
    qsort(v, N, sizeof(*v), cmp_u64);
    const double qs[] = {0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        double exact = (double)v[(size_t)ceil(qs[i] * N) - 1];
        double est = hist_quantile(&h, qs[i]);
        cr_assert(fabs(est - exact) <= exact / 8 + 1,
                  "q %.3f: exact %.0f, estimate %.0f", qs[i], exact, est);
    }
    free(v);
}

/* ---- sharded recording ------------------------------------------------- */

typedef struct recorder {
    server_metrics *m;
    int n;
} recorder;

static void *record_many(void *arg)
{
    recorder *r = arg;
    for (int i = 0; i < r->n; i++)
        metrics_record(r->m, MCRING_OP_GET, 1000 + (uint64_t)i % 5000,
                       i % 10 == 0 ? MCRING_EIO : MCRING_OK, i % 2, 1 - i % 2);
    return NULL;
}

Test(metrics, threads_recording_at_once_lose_nothing)
{
    enum { THREADS = 8, EACH = 100000 };
    server_metrics *m = metrics_new();
    cr_assert_not_null(m);
    pthread_t t[THREADS];
    recorder r = {m, EACH};
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, record_many, &r);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    op_snapshot s;
    metrics_read(m, MCRING_OP_GET, &s);
    cr_assert_eq(s.hist.count, (uint64_t)THREADS * EACH);
    cr_assert_eq(s.failures, (uint64_t)THREADS * EACH / 10);
    cr_assert_eq(s.hits, (uint64_t)THREADS * EACH / 2);
    cr_assert_eq(s.misses, (uint64_t)THREADS * EACH / 2);
    uint64_t sum = 0;
    for (int i = 0; i < EACH; i++)
        sum += 1000 + (uint64_t)i % 5000;
    cr_assert_eq(s.hist.sum_ns, sum * THREADS);
    metrics_read(m, MCRING_OP_SET, &s);
    cr_assert_eq(s.hist.count, 0, "other ops untouched");
    metrics_unref(m);
}

Test(metrics, a_shared_object_goes_with_its_last_reference)
{
    server_metrics *m = metrics_new();
    metrics_record(m, MCRING_OP_SET, 5000, 0, 0, 0);
    server_metrics *again = metrics_ref(m);
    metrics_unref(m);
    op_snapshot s;
    metrics_read(again, MCRING_OP_SET, &s);
    cr_assert_eq(s.hist.count, 1);
    metrics_unref(again);
    metrics_unref(NULL);
}

Test(metrics, op_names)
{
    cr_assert_str_eq(mcring_op_name(MCRING_OP_GET), "get");
    cr_assert_str_eq(mcring_op_name(MCRING_OP_SET_MULTI), "set_multi");
    cr_assert_str_eq(mcring_op_name(MCRING_OP_DECR), "decr");
    cr_assert_null(mcring_op_name((mcring_op)METRICS_OPS));
    cr_assert_null(mcring_op_name((mcring_op)-1));
}
