#include "histogram.h"

uint64_t hist_lower(unsigned b)
{
    if (b == 0)
        return 0;
    if (b >= HIST_OVERFLOW)
        return UINT64_C(1) << HIST_MAX_EXP;
    unsigned i = b - 1;
    unsigned e = HIST_MIN_EXP + i / HIST_SUB;
    uint64_t m = i % HIST_SUB;
    return (HIST_SUB + m) << (e - HIST_SUB_BITS);
}

uint64_t hist_upper(unsigned b)
{
    if (b >= HIST_OVERFLOW)
        return UINT64_MAX;
    if (b == 0)
        return UINT64_C(1) << HIST_MIN_EXP;
    unsigned i = b - 1;
    unsigned e = HIST_MIN_EXP + i / HIST_SUB;
    uint64_t m = i % HIST_SUB;
    return (HIST_SUB + m + 1) << (e - HIST_SUB_BITS);
}

void hist_merge(histogram_snapshot *dst, const histogram_snapshot *src)
{
    for (unsigned b = 0; b < HIST_BUCKETS; b++)
        dst->buckets[b] += src->buckets[b];
    dst->count += src->count;
    dst->sum_ns += src->sum_ns;
}

double hist_quantile(const histogram_snapshot *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q > 1)
        q = 1;
    /* The rank of the value wanted, 1-based: at least the first. */
    double rank = q * (double)h->count;
    if (rank < 1)
        rank = 1;
    uint64_t below = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        uint64_t n = h->buckets[b];
        if (n == 0)
            continue;
        if ((double)(below + n) >= rank) {
            double lo = (double)hist_lower(b);
            if (b == HIST_OVERFLOW)
                return lo;
            double hi = (double)hist_upper(b);
            return lo + (hi - lo) * ((rank - (double)below) / (double)n);
        }
        below += n;
    }
    /* Only if count disagrees with the buckets (a caller's snapshot). */
    return (double)hist_lower(HIST_OVERFLOW);
}

uint64_t hist_count_le(const histogram_snapshot *h, uint64_t upper)
{
    uint64_t n = 0;
    for (unsigned b = 0; b < HIST_BUCKETS && hist_upper(b) <= upper; b++)
        n += h->buckets[b];
    return n;
}
