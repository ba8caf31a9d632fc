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

#include "benchsys.h"

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

/* Which keys operations pick. */
typedef struct bench_keys {
    int keys;    /* key:0 .. key:<keys-1> */
    double *cdf; /* Zipf: cdf[i] is the chance of picking a key of rank
                  * <= i (key i has rank i); NULL: uniform */
} bench_keys;

/* Sets k up for keys keys, uniform when zipf_s is 0, else Zipf with
 * exponent zipf_s (the chance of key i is proportional to 1/(i+1)^s).
 * The table is built once and only read afterwards, so threads share it.
 * Returns 0 or -1 (out of memory). */
int bench_keys_init(bench_keys *k, int keys, double zipf_s);
void bench_keys_free(bench_keys *k);
/* The next key, drawing from the caller's generator. */
int bench_keys_next(const bench_keys *k, uint64_t *rng);
/* The chance that a draw picks one of the `top` most popular keys. */
double bench_keys_share(const bench_keys *k, int top);

/* A 64-bit pseudo-random number (splitmix64) from the caller's state:
 * each thread keeps its own, so drawing takes no lock. */
uint64_t bench_rand(uint64_t *state);

/* "uniform" (0) or "zipf:S" (S > 0, S <= 10) into *zipf_s. 0, or -1 when
 * s is neither. */
int bench_parse_key_dist(const char *s, double *zipf_s);
/* "N" (min = max = N) or "A-B" (A <= B), sizes up to 2^30 bytes. 0 or -1. */
int bench_parse_value_size(const char *s, size_t *min, size_t *max);
/* "uniform" or "zipf:S" into buf. */
void bench_key_dist_name(double zipf_s, char *buf, size_t len);

typedef struct bench_workload {
    int threads;
    long ops;         /* total operations (keys) when duration is 0 */
    double duration;  /* seconds; > 0 runs for this long instead */
    int keys;         /* key space: key:0 .. key:<keys-1> */
    double zipf_s;    /* 0: keys drawn uniformly; > 0: Zipf exponent */
    size_t value_min; /* each set stores a value of a size drawn */
    size_t value_max; /* uniformly from value_min..value_max */
    double get_ratio; /* share of operations that are gets */
    int batch;        /* > 1: gets are multi-gets of this many keys */
    bool progress;    /* draw a progress bar on stdout */
    bool count_syscalls; /* count system calls during the run (benchsys.h) */
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
    /* What the run cost the process, from the first worker's start to the
     * end of the last operation (thread_start and thread_stop are outside
     * it). System calls by kind (BENCH_SC_*), summed over the workers and
     * the main thread; -1 when not counted or not available. */
    double syscalls[BENCH_SC_KINDS];
    const char *syscalls_why; /* why they were not counted, or NULL */
    long sockets;     /* sockets the process had open as the last
                       * operation ended, before any thread_stop; -1:
                       * unknown. Subtract a baseline taken before the
                       * driver was created (bench_count_sockets). */
    bench_cpu cpu;    /* CPU seconds and context switches during the run */
} bench_result;

/* Stores every key of the workload (so that gets hit) through the driver.
 * Returns how many sets failed. */
long bench_prepare(const bench_workload *w, const bench_driver *d);
/* Runs the workload: starts the threads, runs the operations, and when
 * the last operation ended (before the drivers' thread_stop) takes the
 * measurements of bench_result. 0, or -1 when a driver thread could not
 * start. */
int bench_run(const bench_workload *w, const bench_driver *d,
              bench_result *out);

/* The workload through the async API instead (tools/bench_async.c): the
 * calling thread runs an epoll loop keeping `inflight` requests in flight
 * on client's servers (w->threads and w->batch are not used), and fills
 * out as bench_run does. 0, or -1 when out of memory. */
int bench_run_async(const bench_workload *w, mcring_client *client,
                    int inflight, bench_result *out);

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
