/* Small timing helpers for the benchmarks: monotonic ns and medians. */
#ifndef MCRING_BENCH_UTIL_H
#define MCRING_BENCH_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v and returns its median. */
static inline double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline double bench_quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof(*v), bench_cmp_double);
    size_t i = (size_t)(q * (double)(n - 1));
    return v[i];
}

/* Keeps the compiler from dropping a computed value. */
static inline void bench_use(uint64_t v)
{
    __asm__ volatile("" : : "r"(v) : "memory");
}

#endif
