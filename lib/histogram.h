/*
 * Latency histograms: log-linear buckets over nanoseconds, pure arithmetic
 * (no atomics, no clock) so that the bucket bounds, merging and quantiles
 * can be unit-tested on their own. metrics.h keeps the live, sharded
 * counters and merges them into a histogram_snapshot on read.
 *
 * Buckets hold ranges (lower, upper], upper included, which is what
 * Prometheus's "le" (less or equal) buckets count: bucket 0 holds
 * [0, 1024 ns]; then every power of two from 2^10 ns (1.024 us) to 2^36 ns
 * (68.7 s) is split into 8 equal buckets (HIST_SUB), so a bucket is at
 * most 1/8 of its lower bound wide; the last bucket holds everything above
 * 2^36 ns. A value's bucket is a count of leading zeros and two shifts.
 */
#ifndef MCRING_HISTOGRAM_H
#define MCRING_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 3
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MIN_EXP 10 /* bucket 0 is [0, 2^10 ns] */
#define HIST_MAX_EXP 36 /* the last bucket is (2^36 ns, infinity) */
#define HIST_BUCKETS (2 + (HIST_MAX_EXP - HIST_MIN_EXP) * HIST_SUB)
#define HIST_OVERFLOW (HIST_BUCKETS - 1)

/* The bucket of a value in nanoseconds. */
static inline unsigned hist_bucket(uint64_t ns)
{
    /* (lower, upper] of ns is [lower, upper) of ns - 1. */
    uint64_t x = ns - (ns != 0);
    if (x < (UINT64_C(1) << HIST_MIN_EXP))
        return 0;
    unsigned e = 63u - (unsigned)__builtin_clzll(x);
    if (e >= HIST_MAX_EXP)
        return HIST_OVERFLOW;
    unsigned m = (unsigned)(x >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1);
    return 1 + (e - HIST_MIN_EXP) * HIST_SUB + m;
}

/* Bucket b holds (hist_lower(b), hist_upper(b)] (bucket 0 also holds 0);
 * hist_upper of the last bucket is UINT64_MAX, standing for infinity. */
uint64_t hist_lower(unsigned b);
uint64_t hist_upper(unsigned b);

/* A histogram as read: plain counts. */
typedef struct histogram_snapshot {
    uint64_t buckets[HIST_BUCKETS];
    uint64_t count;  /* sum of buckets */
    uint64_t sum_ns; /* sum of the values recorded */
} histogram_snapshot;

/* Adds src into dst (merging shards, or servers). */
void hist_merge(histogram_snapshot *dst, const histogram_snapshot *src);

/*
 * The q-quantile (0 < q <= 1) in nanoseconds: the value below which a
 * fraction q of the recorded values lie, interpolated linearly inside the
 * bucket holding that rank (as Prometheus's histogram_quantile() does), so
 * it is off by at most one bucket's width (1/8 of the value). 0 for an
 * empty histogram; the last bucket, which has no upper bound, answers its
 * lower bound.
 */
double hist_quantile(const histogram_snapshot *h, double q);

/* How many recorded values are at most `upper` ns, counting the buckets
 * whose upper bound is at most `upper`: exact when upper is a bucket's
 * upper bound (every power of two from 2^10 to 2^36 is one; those are the
 * exposition's "le" buckets). */
uint64_t hist_count_le(const histogram_snapshot *h, uint64_t upper);

#endif
