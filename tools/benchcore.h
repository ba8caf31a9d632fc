/*
 * The benchmark core shared by `mcring bench` (tools/cmd_bench.c) and the
 * comparison suite (bench/compare.c): a workload, per-thread timing into a
 * log-linear latency histogram, and a driver interface so that mcring,
 * libmemcached and a bare socket loop run exactly the same operations.
 * Uses only mcring's public API.
 */
#ifndef MCRING_BENCHCORE_H
#define MCRING_BENCHCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mcring.h>

/* Latencies in ns, 64 linear steps per power of two from 64 ns: within
 * 1.6% of the true value, 2 KiB per histogram. */
#define BENCH_SUB 64
#define BENCH_HIST_BUCKETS (32 * BENCH_SUB)

typedef struct bench_hist {
    uint64_t count[BENCH_HIST_BUCKETS];
    uint64_t n;
} bench_hist;

void bench_hist_add(bench_hist *h, uint64_t ns);
void bench_hist_merge(bench_hist *dst, const bench_hist *src);
/* The q-quantile (0..1) in microseconds. */
double bench_hist_quantile_us(const bench_hist *h, double q);

typedef struct bench_workload {
    int threads;
    long ops;         /* total operations (keys) when duration is 0 */
    double duration;  /* seconds; > 0 runs for this long instead */
    int keys;         /* key space: key:0 .. key:<keys-1> */
    size_t value_size;
    double get_ratio; /* share of operations that are gets */
    int batch;        /* > 1: gets are multi-gets of this many keys */
    bool progress;    /* draw a progress bar on stdout */
    unsigned seed;
} bench_workload;

/* One client under test. Each call returns 0 on success (a hit, or a
 * stored value), 1 for a miss, < 0 for an error. */
typedef struct bench_driver {
    const char *name;
    void *ctx;
    void *(*thread_start)(void *ctx, int thread);
    void (*thread_stop)(void *th);
    int (*get)(void *th, int key);
    int (*set)(void *th, int key, const char *value, size_t len);
    /* A multi-get of n keys: adds to *misses and *errors per key. Returns
     * 0, or < 0 when the call as a whole failed. */
    int (*mget)(void *th, const int *keys, int n, int *misses, int *errors);
} bench_driver;

typedef struct bench_result {
    long ops;    /* keys operated on (a multi-get of B keys counts B) */
    long calls;  /* driver calls (latency samples) */
    long errors; /* keys that failed */
    long misses;
    double seconds;
    bench_hist hist; /* per call */
} bench_result;

/* Stores every key of the workload (so that gets hit) through the driver.
 * Returns how many sets failed. */
long bench_prepare(const bench_workload *w, const bench_driver *d);
/* Runs the workload. 0, or -1 when threads could not start. */
int bench_run(const bench_workload *w, const bench_driver *d,
              bench_result *out);

/* "key:<i>" into buf (>= 24 bytes); returns its length. */
size_t bench_key(int i, char *buf);

/* The mcring driver (public API). */
typedef struct bench_mcring {
    mcring_client *client;
    int keys;
    char (*key)[24];
    size_t *klen;
} bench_mcring;

int bench_mcring_init(bench_mcring *m, mcring_client *client, int keys);
void bench_mcring_free(bench_mcring *m);
bench_driver bench_mcring_driver(bench_mcring *m);

#endif
