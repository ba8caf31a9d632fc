/*
 * The comparison suite: the same workloads through mcring in its two
 * models, libmemcached's memcached_pool, a bare loop of blocking sockets
 * writing the same ASCII requests (the floor: no client library at all)
 * and, optionally, the mcring of an older tree, alternating the drivers
 * within each round against the same servers.
 *
 *   compare --servers LIST [--swap-list LIST2] [--duration S] [--rounds R]
 *           [--threads 1,4,16,64,256] [--batches 10,100,1000]
 *           [--key-dists uniform,zipf:0.99] [--value-size V|MIN-MAX]
 *           [--keys K] [--drivers pipelined,meta,per-thread,libmemcached,floor]
 *           [--old-mcring PATH] [--server-pids P1,P2,...]
 *           [--swap-threads T] [--no-syscalls] [--csv FILE]
 *           [--out DIR]     (medians for the charts: DIR/mix-<dist>.dat,
 *                            DIR/mget.dat)
 *   compare --servers LIST --driver NAME --ops N        (one sequential
 *           run, for instruction counts under callgrind)
 *
 * The drivers:
 *   pipelined     mcring as configured by default: pipelining on, 2
 *                 connections per server (Swift's memcache_max_connections)
 *                 shared by every thread, text protocol;
 *   meta          the same with protocol = meta (tokens instead of fences;
 *                 memcached answers a batch of meta gets with one write);
 *   per-thread    mcring with pipelining = false and memcache_max_connections
 *                 equal to the thread count: one request per socket at a
 *                 time, a socket per thread and server (the model of mcring
 *                 before pipelining);
 *   libmemcached  memcached_pool sized to the thread count;
 *   floor         blocking sockets, one per thread and server;
 *   old           PATH's `mcring bench` in a child process (an mcring built
 *                 from an older tree, one connection per thread): the same
 *                 workload, uniform keys and one value size only; its
 *                 throughput and latency, none of the costs.
 *
 * Every driver sends the same bytes: mcring hashes "key:<i>" to its hex MD5
 * (Swift's wire key) and pays for that; the others are handed those hex
 * keys ready-made. Each driver stores the keys first, by its own placement,
 * so that gets hit. Besides throughput and latency, each run records what
 * it cost (benchsys.h): the sockets open at its end, system calls per
 * operation by kind, context switches and client CPU per operation, and
 * the servers' CPU per operation when their pids are given. Writes one CSV
 * line per run and prints medians, the cost table and the issue's targets.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libmemcached/memcached.h>
#include <libmemcachedutil-1.0/pool.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/md5.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchcore.h"

#define MAX_SERVERS 16
#define MAX_LIST 16

enum { D_PIPELINED, D_PERTHREAD, D_LMC, D_FLOOR, D_OLD, D_META, D_COUNT };

static const char *const driver_names[D_COUNT] = {
    "pipelined", "per-thread", "libmemcached", "floor", "old", "meta",
};

static struct {
    const char *servers;
    const char *swap_list;
    double duration;
    int rounds;
    int threads[MAX_LIST], nthreads;
    int batches[MAX_LIST], nbatches;
    double dists[MAX_LIST]; /* Zipf exponents, 0: uniform */
    int ndists;
    int drivers[D_COUNT], ndrivers;
    const char *csv;
    const char *out_dir;
    const char *one_driver;
    long one_ops;
    int keys;
    size_t value_min, value_max;
    const char *old_mcring;
    int server_pids[MAX_SERVERS], npids;
    int swap_threads;
    bool count_syscalls;
} opt = {.duration = 2, .rounds = 3, .keys = 2000, .value_min = 100,
         .value_max = 100, .swap_threads = 16, .count_syscalls = true};

typedef struct server_addr {
    char host[64];
    int port;
} server_addr;

static server_addr addrs[MAX_SERVERS];
static int naddrs;
static char (*hexkey)[33]; /* md5hex("key:<i>") */

static void parse_servers(const char *list)
{
    char *copy = strdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && naddrs < MAX_SERVERS;
         tok = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(tok, ':');
        if (colon == NULL) {
            fprintf(stderr, "compare: servers must be host:port\n");
            exit(2);
        }
        *colon = '\0';
        snprintf(addrs[naddrs].host, sizeof(addrs[naddrs].host), "%s", tok);
        addrs[naddrs].port = atoi(colon + 1);
        naddrs++;
    }
    free(copy);
}

static int parse_list(const char *s, int *out)
{
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && n < MAX_LIST;
         t = strtok_r(NULL, ",", &save))
        out[n++] = atoi(t);
    free(copy);
    return n;
}

static int parse_dists(const char *s, double *out)
{
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && n < MAX_LIST;
         t = strtok_r(NULL, ",", &save))
        if (bench_parse_key_dist(t, &out[n++]) != 0) {
            fprintf(stderr, "compare: key distribution '%s' is not uniform "
                            "or zipf:S\n", t);
            exit(2);
        }
    free(copy);
    return n;
}

static int parse_drivers(const char *s, int *out)
{
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && n < D_COUNT;
         t = strtok_r(NULL, ",", &save)) {
        int d = 0;
        while (d < D_COUNT && strcmp(t, driver_names[d]) != 0)
            d++;
        if (d == D_COUNT || d == D_OLD) {
            fprintf(stderr, "compare: unknown driver '%s' (the old one is "
                            "added by --old-mcring)\n", t);
            exit(2);
        }
        out[n++] = d;
    }
    free(copy);
    return n;
}

/* "uniform" or "zipf0.99": a distribution's name fit for a file name. */
static void dist_file_name(double zipf_s, char *buf, size_t len)
{
    if (zipf_s > 0)
        snprintf(buf, len, "zipf%g", zipf_s);
    else
        snprintf(buf, len, "uniform");
}

/* ---- the floor: blocking sockets, the same requests -------------------- */

typedef struct floor_thread {
    int fd[MAX_SERVERS];
    char *buf; /* floor_buf_size bytes: a whole reply, requests */
} floor_thread;

/* Room for the largest reply of the workload (a multi-get's values). */
static size_t floor_buf_size = 1 << 20;

static int dial(const server_addr *a)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)a->port)};
    inet_pton(AF_INET, a->host, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void *floor_start(void *ctx, int thread)
{
    (void)ctx;
    (void)thread;
    floor_thread *t = calloc(1, sizeof(*t));
    t->buf = malloc(floor_buf_size);
    for (int i = 0; i < naddrs; i++)
        if ((t->fd[i] = dial(&addrs[i])) < 0) {
            for (int j = 0; j < i; j++)
                close(t->fd[j]);
            free(t->buf);
            free(t);
            return NULL;
        }
    return t;
}

static void floor_stop(void *th)
{
    floor_thread *t = th;
    for (int i = 0; i < naddrs; i++)
        close(t->fd[i]);
    free(t->buf);
    free(t);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until the reply ends with `end` (values here never do). */
static ssize_t read_until(int fd, char *buf, size_t cap, const char *end)
{
    size_t n = 0, el = strlen(end);
    for (;;) {
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        if (n >= el && memcmp(buf + n - el, end, el) == 0)
            return (ssize_t)n;
        if (n == cap)
            return -1;
    }
}

static int floor_get(void *th, int key)
{
    floor_thread *t = th;
    int fd = t->fd[key % naddrs];
    char req[48];
    memcpy(req, "get ", 4);
    memcpy(req + 4, hexkey[key], 32);
    memcpy(req + 36, "\r\n", 2);
    if (write_all(fd, req, 38) != 0)
        return -1;
    ssize_t n = read_until(fd, t->buf, floor_buf_size, "END\r\n");
    if (n < 0)
        return -1;
    return n == 5 ? 1 : 0;
}

static int floor_set(void *th, int key, const char *value, size_t len)
{
    floor_thread *t = th;
    int fd = t->fd[key % naddrs];
    char head[64];
    int hl = snprintf(head, sizeof(head), "set %s 0 0 %zu\r\n", hexkey[key], len);
    struct iovec iov[3] = {{head, (size_t)hl}, {(void *)value, len},
                           {(void *)"\r\n", 2}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 3};
    if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)(hl + len + 2))
        return -1;
    return read_until(fd, t->buf, floor_buf_size, "\r\n") == 8 ? 0 : -1;
}

static int floor_mget(void *th, const int *keys, int n, int *misses,
                      int *errors)
{
    floor_thread *t = th;
    /* One "get k1 k2 ..." per server, all written, then each read. */
    for (int s = 0; s < naddrs; s++) {
        char *p = t->buf;
        memcpy(p, "get", 3);
        p += 3;
        int count = 0;
        for (int i = 0; i < n; i++)
            if (keys[i] % naddrs == s) {
                *p++ = ' ';
                memcpy(p, hexkey[keys[i]], 32);
                p += 32;
                count++;
            }
        if (count == 0)
            continue;
        memcpy(p, "\r\n", 2);
        p += 2;
        if (write_all(t->fd[s], t->buf, (size_t)(p - t->buf)) != 0)
            return -1;
    }
    int found = 0;
    for (int s = 0; s < naddrs; s++) {
        int count = 0;
        for (int i = 0; i < n; i++)
            count += keys[i] % naddrs == s;
        if (count == 0)
            continue;
        ssize_t got = read_until(t->fd[s], t->buf, floor_buf_size, "END\r\n");
        if (got < 0) {
            *errors += count;
            continue;
        }
        for (char *p = t->buf; (p = memmem(p, (size_t)(t->buf + got - p),
                                           "VALUE ", 6)) != NULL;
             p += 6)
            found++;
    }
    *misses += n - found > 0 ? n - found : 0;
    return 0;
}

/* ---- libmemcached's memcached_pool --------------------------------------*/

typedef struct lmc {
    memcached_pool_st *pool;
} lmc;

typedef struct lmc_thread {
    lmc *l;
    const char **keys;
    size_t *lens;
    int cap;
} lmc_thread;

static void *lmc_start(void *ctx, int thread)
{
    (void)thread;
    lmc_thread *t = calloc(1, sizeof(*t));
    t->l = ctx;
    return t;
}

static void lmc_stop(void *th)
{
    lmc_thread *t = th;
    free(t->keys);
    free(t->lens);
    free(t);
}

static int lmc_get(void *th, int key)
{
    lmc_thread *t = th;
    memcached_return_t rc;
    memcached_st *mc = memcached_pool_pop(t->l->pool, true, &rc);
    if (mc == NULL)
        return -1;
    size_t len;
    uint32_t flags;
    char *v = memcached_get(mc, hexkey[key], 32, &len, &flags, &rc);
    free(v);
    memcached_pool_push(t->l->pool, mc);
    if (rc == MEMCACHED_SUCCESS)
        return 0;
    return rc == MEMCACHED_NOTFOUND ? 1 : -1;
}

static int lmc_set(void *th, int key, const char *value, size_t len)
{
    lmc_thread *t = th;
    memcached_return_t rc;
    memcached_st *mc = memcached_pool_pop(t->l->pool, true, &rc);
    if (mc == NULL)
        return -1;
    rc = memcached_set(mc, hexkey[key], 32, value, len, 0, 0);
    memcached_pool_push(t->l->pool, mc);
    return rc == MEMCACHED_SUCCESS ? 0 : -1;
}

static int lmc_mget(void *th, const int *keys, int n, int *misses, int *errors)
{
    lmc_thread *t = th;
    if (n > t->cap) {
        t->keys = realloc(t->keys, (size_t)n * sizeof(*t->keys));
        t->lens = realloc(t->lens, (size_t)n * sizeof(*t->lens));
        t->cap = n;
    }
    for (int i = 0; i < n; i++) {
        t->keys[i] = hexkey[keys[i]];
        t->lens[i] = 32;
    }
    memcached_return_t rc;
    memcached_st *mc = memcached_pool_pop(t->l->pool, true, &rc);
    if (mc == NULL)
        return -1;
    rc = memcached_mget(mc, t->keys, t->lens, (size_t)n);
    int found = 0;
    if (rc == MEMCACHED_SUCCESS) {
        /* A result on the stack: libmemcached frees the ones it allocated
         * itself when the fetch loop ends. */
        memcached_result_st res;
        memcached_result_create(mc, &res);
        while (memcached_fetch_result(mc, &res, &rc) != NULL)
            found++;
        memcached_result_free(&res);
    } else {
        *errors += n;
    }
    memcached_pool_push(t->l->pool, mc);
    *misses += n - found;
    return 0;
}

static memcached_pool_st *lmc_pool(int size)
{
    char config[1024];
    size_t off = 0;
    for (int i = 0; i < naddrs; i++)
        off += (size_t)snprintf(config + off, sizeof(config) - off,
                                "--SERVER=%s:%d ", addrs[i].host, addrs[i].port);
    snprintf(config + off, sizeof(config) - off,
             "--POOL-MIN=%d --POOL-MAX=%d --TCP-NODELAY", size, size);
    memcached_pool_st *pool = memcached_pool(config, strlen(config));
    if (pool == NULL) {
        fprintf(stderr, "compare: libmemcached rejected '%s'\n", config);
        exit(2);
    }
    return pool;
}

/* ---- the servers' CPU -----------------------------------------------------*/

/* CPU seconds the servers given by --server-pids have used, or -1. */
static double servers_cpu_seconds(void)
{
    if (opt.npids == 0)
        return -1;
    double total = 0;
    long hz = sysconf(_SC_CLK_TCK);
    for (int i = 0; i < opt.npids; i++) {
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", opt.server_pids[i]);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            return -1;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* The fields after the command name's closing parenthesis:
         * state is the 3rd field of the line, utime the 14th, stime the
         * 15th. */
        char *p = strrchr(buf, ')');
        unsigned long utime, stime;
        if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
                                       "%*u %*u %lu %lu", &utime, &stime) != 2)
            return -1;
        total += (double)(utime + stime) / (double)hz;
    }
    return total;
}

/* ---- runs and their records --------------------------------------------- */

/* What each run costs per operation (key). */
enum { C_SOCKET, C_POLL, C_FUTEX, C_SWITCH, C_CPU, C_SERVER, C_COUNT };

static const char *const cost_names[C_COUNT] = {
    "socket_calls_per_op", "poll_per_op", "futex_per_op",
    "switches_per_op", "client_cpu_us_per_op", "server_cpu_us_per_op",
};

typedef struct run {
    const char *workload; /* mix, mget, noswap, swap10ms, callgrind */
    double zipf_s;
    int driver;
    int threads, batch, round;
    double ops_per_sec, p50, p99, p999;
    long errors;
    long sockets;         /* open to the servers at the end; -1: unknown */
    double cost[C_COUNT]; /* per operation; -1: not measured */
} run;

static run runs[8192];
static int nruns;
static FILE *csv;
static const char *syscalls_why; /* why system calls were not counted */

static const char *cell(char *buf, size_t len, double v, int width,
                        int decimals);

static double per_op(double v, long ops, double scale)
{
    return v < 0 || ops <= 0 ? -1 : v * scale / (double)ops;
}

/* Fills x's measurements from a bench_run result. */
static void from_result(run *x, const bench_result *r, long socket_base,
                        double server_cpu)
{
    x->ops_per_sec = (double)r->ops / r->seconds;
    x->p50 = bench_hist_quantile_us(&r->hist, 0.5);
    x->p99 = bench_hist_quantile_us(&r->hist, 0.99);
    x->p999 = bench_hist_quantile_us(&r->hist, 0.999);
    x->errors = r->errors;
    x->sockets = r->sockets >= 0 && socket_base >= 0 ? r->sockets - socket_base
                                                     : -1;
    x->cost[C_SOCKET] = per_op(r->syscalls[BENCH_SC_SOCKET], r->ops, 1);
    double polls = r->syscalls[BENCH_SC_POLL] < 0
                       ? -1
                       : r->syscalls[BENCH_SC_POLL] +
                             r->syscalls[BENCH_SC_EPOLL];
    x->cost[C_POLL] = per_op(polls, r->ops, 1);
    x->cost[C_FUTEX] = per_op(r->syscalls[BENCH_SC_FUTEX], r->ops, 1);
    x->cost[C_SWITCH] = per_op((double)r->cpu.switches, r->ops, 1);
    x->cost[C_CPU] = per_op(r->cpu.user + r->cpu.sys, r->ops, 1e6);
    x->cost[C_SERVER] = per_op(server_cpu, r->ops, 1e6);
    if (r->syscalls_why != NULL && syscalls_why == NULL)
        syscalls_why = r->syscalls_why;
}

static void record(const run *x)
{
    if (nruns == (int)(sizeof(runs) / sizeof(runs[0]))) {
        fprintf(stderr, "compare: too many runs\n");
        exit(2);
    }
    runs[nruns++] = *x;
    char dist[32];
    bench_key_dist_name(x->zipf_s, dist, sizeof(dist));
    fprintf(csv, "%s,%s,%s,%d,%d,%d,%.0f,%.1f,%.1f,%.1f,%ld,%ld", x->workload,
            dist, driver_names[x->driver], x->threads, x->batch, x->round,
            x->ops_per_sec, x->p50, x->p99, x->p999, x->errors, x->sockets);
    for (int c = 0; c < C_COUNT; c++)
        if (x->cost[c] < 0)
            fprintf(csv, ",NA");
        else
            fprintf(csv, ",%.4f", x->cost[c]);
    fprintf(csv, "\n");
    fflush(csv);
    char b[3][32];
    fprintf(stderr, "  %-8s %-9s %-12s threads %3d batch %4d round %d: %9.0f "
                    "ops/s  p99 %8.1f us  sockets %s  socket calls/op %s  "
                    "futex/op %s  errors %ld\n",
            x->workload, dist, driver_names[x->driver], x->threads, x->batch,
            x->round, x->ops_per_sec, x->p99,
            cell(b[0], sizeof(b[0]), (double)x->sockets, 4, 0),
            cell(b[1], sizeof(b[1]), x->cost[C_SOCKET], 6, 3),
            cell(b[2], sizeof(b[2]), x->cost[C_FUTEX], 6, 3), x->errors);
}

/* ---- the drivers ---------------------------------------------------------*/

/* A client of the driver's model: pipelined takes every default (2
 * connections per server, text protocol); meta is the same with
 * protocol = meta; per-thread turns pipelining off and gives each thread
 * a connection per server. */
static mcring_client *mcring_for(int driver, int threads, const char *servers)
{
    mcring_options *o;
    mcring_options_new(&o);
    char conns[16], err[256];
    snprintf(conns, sizeof(conns), "%d", threads);
    if (mcring_options_set(o, "memcache_servers", servers, err, sizeof(err)) ||
        (driver == D_META &&
         mcring_options_set(o, "protocol", "meta", err, sizeof(err))) ||
        (driver == D_PERTHREAD &&
         (mcring_options_set(o, "pipelining", "false", err, sizeof(err)) ||
          mcring_options_set(o, "memcache_max_connections", conns, err,
                             sizeof(err))))) {
        fprintf(stderr, "compare: %s\n", err);
        exit(2);
    }
    mcring_client *c;
    if (mcring_client_new(&c, o, err, sizeof(err)) != 0) {
        fprintf(stderr, "compare: %s\n", err);
        exit(2);
    }
    mcring_options_free(o);
    return c;
}

/* bench_run with the servers' CPU read around it. */
static void measure(const bench_workload *w, const bench_driver *d,
                    bench_result *r, double *server_cpu)
{
    double s0 = servers_cpu_seconds();
    bench_run(w, d, r);
    double s1 = servers_cpu_seconds();
    *server_cpu = s0 >= 0 && s1 >= 0 ? s1 - s0 : -1;
}

/* The value of key=... in a `mcring bench` line, or NAN. */
static double field(const char *line, const char *key)
{
    char pat[48];
    int kl = snprintf(pat, sizeof(pat), " %s=", key);
    const char *p = strstr(line, pat);
    if (p != NULL)
        return strtod(p + kl, NULL);
    if (strncmp(line, pat + 1, (size_t)kl - 1) == 0)
        return strtod(line + kl - 1, NULL);
    return NAN;
}

/* The old tree's `mcring bench` in a child process, one connection per
 * thread as it sets by default. False when it could not run. */
static bool old_run(const bench_workload *w, run *x)
{
    char threads[16], dur[32], keys[16], size[32], ratio[32], batch[16],
        seed[16];
    snprintf(threads, sizeof(threads), "%d", w->threads);
    snprintf(dur, sizeof(dur), "%g", w->duration);
    snprintf(keys, sizeof(keys), "%d", w->keys);
    snprintf(size, sizeof(size), "%zu", w->value_min);
    snprintf(ratio, sizeof(ratio), "%g", w->get_ratio);
    snprintf(batch, sizeof(batch), "%d", w->batch);
    snprintf(seed, sizeof(seed), "%u", w->seed);
    char *argv[] = {(char *)opt.old_mcring, "-s", (char *)opt.servers, "bench",
                    "--threads", threads, "--duration", dur, "--keys", keys,
                    "--value-size", size, "--get-ratio", ratio, "--batch",
                    batch, "--max-conns", threads, "--seed", seed, NULL};
    int pfd[2];
    if (pipe(pfd) != 0)
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return false;
    }
    if (pid == 0) {
        dup2(pfd[1], STDOUT_FILENO);
        close(pfd[0]);
        close(pfd[1]);
        execv(opt.old_mcring, argv);
        _exit(127);
    }
    close(pfd[1]);
    char out[16384];
    size_t n = 0;
    ssize_t got;
    while ((got = read(pfd[0], out + n, sizeof(out) - 1 - n)) > 0)
        n += (size_t)got;
    close(pfd[0]);
    out[n] = '\0';
    int status;
    waitpid(pid, &status, 0);
    /* The last line holds the key=value pairs. */
    while (n > 0 && out[n - 1] == '\n')
        out[--n] = '\0';
    char *last = strrchr(out, '\n');
    last = last != NULL ? last + 1 : out;
    x->ops_per_sec = field(last, "ops_per_sec");
    x->p50 = field(last, "p50_us");
    x->p99 = field(last, "p99_us");
    x->p999 = field(last, "p999_us");
    double errors = field(last, "errors");
    if (isnan(x->ops_per_sec) || isnan(errors)) {
        fprintf(stderr, "compare: %s printed no result line\n",
                opt.old_mcring);
        return false;
    }
    x->errors = (long)errors;
    x->sockets = -1;
    for (int c = 0; c < C_COUNT; c++)
        x->cost[c] = -1;
    return true;
}

/* Whether the driver runs this workload: the old tree's bench knows
 * neither Zipf keys nor value ranges. */
static bool driver_fits(int driver, const bench_workload *w)
{
    return driver != D_OLD || (w->zipf_s == 0 && w->value_min == w->value_max);
}

/* Runs one driver through one workload (storing the keys first). */
static void run_driver(const char *workload, int driver, int round,
                       const bench_workload *w)
{
    run x = {.workload = workload, .zipf_s = w->zipf_s, .driver = driver,
             .threads = w->threads, .batch = w->batch, .round = round};
    if (driver == D_OLD) {
        if (old_run(w, &x))
            record(&x);
        return;
    }
    bench_result r;
    bench_driver d;
    double server_cpu;
    long socket_base = bench_count_sockets();
    if (driver == D_PIPELINED || driver == D_PERTHREAD || driver == D_META) {
        mcring_client *c = mcring_for(driver, w->threads, opt.servers);
        bench_mcring m;
        bench_mcring_init(&m, c, w->keys);
        d = bench_mcring_driver(&m);
        bench_prepare(w, &d);
        measure(w, &d, &r, &server_cpu);
        bench_mcring_free(&m);
        mcring_client_free(c);
    } else if (driver == D_LMC) {
        lmc l = {lmc_pool(w->threads)};
        d = (bench_driver){"libmemcached", &l, lmc_start, lmc_stop, lmc_get,
                           lmc_set, lmc_mget};
        bench_prepare(w, &d);
        measure(w, &d, &r, &server_cpu);
        memcached_pool_destroy(l.pool);
    } else {
        d = (bench_driver){"floor", NULL, floor_start, floor_stop, floor_get,
                           floor_set, floor_mget};
        bench_prepare(w, &d);
        measure(w, &d, &r, &server_cpu);
    }
    from_result(&x, &r, socket_base, server_cpu);
    record(&x);
}

/* The drivers of this run in the order of a round: rotated each round,
 * so that no driver always runs on a freshly idle machine. */
static int round_order(int round, int k, int *all, int n)
{
    return all[(k + round) % n];
}

/* ---- medians and ratios ------------------------------------------------- */

enum { F_OPS = 0, F_P50, F_P99, F_SOCKETS, F_COST };

static double value_of(const run *x, int f)
{
    switch (f) {
    case F_OPS: return x->ops_per_sec;
    case F_P50: return x->p50;
    case F_P99: return x->p99;
    case F_SOCKETS: return (double)x->sockets;
    default: return x->cost[f - F_COST];
    }
}

static bool matches(const run *x, const char *workload, double zipf_s,
                    int driver, int threads, int batch)
{
    return strcmp(x->workload, workload) == 0 && x->zipf_s == zipf_s &&
           x->driver == driver && x->threads == threads && x->batch == batch;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    if (n == 0)
        return NAN;
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The median of field f over the rounds; NAN when there is no run or the
 * field was not measured. */
static double median_of(const char *workload, double zipf_s, int driver,
                        int threads, int batch, int f)
{
    double v[256];
    int n = 0;
    for (int i = 0; i < nruns && n < 256; i++) {
        if (!matches(&runs[i], workload, zipf_s, driver, threads, batch))
            continue;
        double y = value_of(&runs[i], f);
        if (y < 0 || isnan(y))
            return NAN;
        v[n++] = y;
    }
    return median(v, n);
}

/* Field f of driver a over driver b, round by round (both ran in the same
 * round, minutes apart at most): the median and the range of the ratios.
 * False when no round has both. */
static bool paired_ratio(const char *workload, double zipf_s, int a, int b,
                         int threads, int batch, int f, double *med,
                         double *lo, double *hi)
{
    double v[256];
    int n = 0;
    for (int i = 0; i < nruns && n < 256; i++) {
        if (!matches(&runs[i], workload, zipf_s, a, threads, batch))
            continue;
        for (int j = 0; j < nruns; j++)
            if (matches(&runs[j], workload, zipf_s, b, threads, batch) &&
                runs[j].round == runs[i].round) {
                double y = value_of(&runs[j], f);
                if (y > 0)
                    v[n++] = value_of(&runs[i], f) / y;
                break;
            }
    }
    if (n == 0)
        return false;
    *med = median(v, n);
    *lo = v[0];
    *hi = v[n - 1];
    return true;
}

static bool have_driver(int d)
{
    for (int i = 0; i < opt.ndrivers; i++)
        if (opt.drivers[i] == d)
            return true;
    return false;
}

/* v with the given decimals, or "-" when not measured, right-aligned. */
static const char *cell(char *buf, size_t len, double v, int width,
                        int decimals)
{
    if (isnan(v) || v < 0)
        snprintf(buf, len, "%*s", width, "-");
    else
        snprintf(buf, len, "%*.*f", width, decimals, v);
    return buf;
}

static const char *ratio_cell(char *buf, size_t len, double a, double b)
{
    return cell(buf, len, a > 0 && b > 0 ? a / b : NAN, 9, 3);
}

static FILE *open_dat(const char *name)
{
    if (opt.out_dir == NULL)
        return NULL;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", opt.out_dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        perror(path);
    return f;
}

/* The drivers of the summaries, in a fixed order (the ones that ran). */
static int shown[D_COUNT], nshown;

static void table_by_threads(double zipf_s, int f, int decimals,
                             bool ratios)
{
    char b[64];
    printf("%7s", "threads");
    for (int k = 0; k < nshown; k++)
        printf(" %12s", driver_names[shown[k]]);
    if (ratios) {
        printf(" %9s %9s", "pipe/pt", "pipe/lmc");
        printf(" %9s", "pipe/flr");
        if (have_driver(D_OLD))
            printf(" %9s", "pipe/old");
        if (have_driver(D_META))
            printf(" %9s %9s", "meta/pt", "meta/lmc");
    }
    printf("\n");
    for (int i = 0; i < opt.nthreads; i++) {
        int t = opt.threads[i];
        printf("%7d", t);
        for (int k = 0; k < nshown; k++)
            printf(" %s", cell(b, sizeof(b),
                               median_of("mix", zipf_s, shown[k], t, 1, f),
                               12, decimals));
        if (ratios) {
            double p = median_of("mix", zipf_s, D_PIPELINED, t, 1, f);
            printf(" %s", ratio_cell(b, sizeof(b), p,
                                     median_of("mix", zipf_s, D_PERTHREAD,
                                               t, 1, f)));
            printf(" %s", ratio_cell(b, sizeof(b), p,
                                     median_of("mix", zipf_s, D_LMC, t, 1,
                                               f)));
            printf(" %s", ratio_cell(b, sizeof(b), p,
                                     median_of("mix", zipf_s, D_FLOOR, t, 1,
                                               f)));
            if (have_driver(D_OLD))
                printf(" %s", ratio_cell(b, sizeof(b), p,
                                         median_of("mix", zipf_s, D_OLD, t,
                                                   1, f)));
            if (have_driver(D_META)) {
                double m = median_of("mix", zipf_s, D_META, t, 1, f);
                printf(" %s", ratio_cell(b, sizeof(b), m,
                                         median_of("mix", zipf_s, D_PERTHREAD,
                                                   t, 1, f)));
                printf(" %s", ratio_cell(b, sizeof(b), m,
                                         median_of("mix", zipf_s, D_LMC, t, 1,
                                                   f)));
            }
        }
        printf("\n");
    }
}

static void cost_table(double zipf_s)
{
    char b[7][64];
    printf("%7s %-12s %8s %12s %8s %8s %9s %10s %10s\n", "threads", "driver",
           "sockets", "socket_calls", "futex", "poll", "switches",
           "client_us", "server_us");
    for (int i = 0; i < opt.nthreads; i++) {
        int t = opt.threads[i];
        for (int k = 0; k < nshown; k++) {
            int d = shown[k];
            if (d == D_OLD)
                continue; /* measured in another process: no costs */
            printf("%7d %-12s %s %s %s %s %s %s %s\n", t, driver_names[d],
                   cell(b[0], 64, median_of("mix", zipf_s, d, t, 1, F_SOCKETS),
                        8, 0),
                   cell(b[1], 64, median_of("mix", zipf_s, d, t, 1,
                                            F_COST + C_SOCKET), 12, 3),
                   cell(b[2], 64, median_of("mix", zipf_s, d, t, 1,
                                            F_COST + C_FUTEX), 8, 3),
                   cell(b[3], 64, median_of("mix", zipf_s, d, t, 1,
                                            F_COST + C_POLL), 8, 3),
                   cell(b[4], 64, median_of("mix", zipf_s, d, t, 1,
                                            F_COST + C_SWITCH), 9, 3),
                   cell(b[5], 64, median_of("mix", zipf_s, d, t, 1,
                                            F_COST + C_CPU), 10, 2),
                   cell(b[6], 64, median_of("mix", zipf_s, d, t, 1,
                                            F_COST + C_SERVER), 10, 2));
        }
    }
}

/* Medians for the charts: threads, then for each driver in
 * driver_names order ops/s, p99, socket calls per op, futex per op. */
static void write_mix_dat(double zipf_s)
{
    char name[64], dn[32];
    dist_file_name(zipf_s, dn, sizeof(dn));
    snprintf(name, sizeof(name), "mix-%s.dat", dn);
    FILE *f = open_dat(name);
    if (f == NULL)
        return;
    int fields[] = {F_OPS, F_P99, F_COST + C_SOCKET, F_COST + C_FUTEX};
    fprintf(f, "# threads; ops/s, p99_us, socket calls/op, futex/op; each "
               "for pipelined per-thread libmemcached floor old meta (NaN: not "
               "run or not measured)\n");
    for (int i = 0; i < opt.nthreads; i++) {
        int t = opt.threads[i];
        fprintf(f, "%d", t);
        for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
            for (int d = 0; d < D_COUNT; d++) {
                double v = median_of("mix", zipf_s, d, t, 1, fields[k]);
                if (isnan(v))
                    fprintf(f, " NaN");
                else
                    fprintf(f, " %.6g", v);
            }
        fprintf(f, "\n");
    }
    fclose(f);
}

/* One line of the targets table: a paired ratio against a bound. */
static void target_ratio(const char *what, double zipf_s, int a, int b,
                         int threads, int batch, const char *workload, int f,
                         double bound, bool at_least)
{
    double med, lo, hi;
    if (!paired_ratio(workload, zipf_s, a, b, threads, batch, f, &med, &lo,
                      &hi))
        return;
    bool met = at_least ? med >= bound : med <= bound;
    char dist[32];
    bench_key_dist_name(zipf_s, dist, sizeof(dist));
    printf("  %-44s %-10s %5d %5d %7.3f  (%5.3f-%5.3f)  %s %-5g %s\n", what,
           dist, threads, batch, med, lo, hi, at_least ? ">=" : "<=", bound,
           met ? "met" : "MISSED");
}

static void targets(void)
{
    printf("\n# the issue's targets: ratios of paired runs (same round), "
           "median (range over rounds)\n");
    printf("  %-44s %-10s %5s %5s %7s  %13s  %-8s %s\n", "target", "keys",
           "thr", "batch", "ratio", "range", "bound", "");
    for (int di = 0; di < opt.ndists; di++) {
        double z = opt.dists[di];
        for (int i = 0; i < opt.nthreads; i++) {
            int t = opt.threads[i];
            if (t < 16)
                continue;
            target_ratio("ops/s pipelined / per-thread", z, D_PIPELINED,
                         D_PERTHREAD, t, 1, "mix", F_OPS, 1.5, true);
            target_ratio("ops/s pipelined / libmemcached", z, D_PIPELINED,
                         D_LMC, t, 1, "mix", F_OPS, 1.5, true);
            target_ratio("p99 pipelined / per-thread", z, D_PIPELINED,
                         D_PERTHREAD, t, 1, "mix", F_P99, 1.0, false);
            target_ratio("p99 pipelined / libmemcached", z, D_PIPELINED,
                         D_LMC, t, 1, "mix", F_P99, 1.0, false);
            target_ratio("ops/s meta / per-thread", z, D_META, D_PERTHREAD,
                         t, 1, "mix", F_OPS, 1.5, true);
            target_ratio("ops/s meta / libmemcached", z, D_META, D_LMC, t, 1,
                         "mix", F_OPS, 1.5, true);
            target_ratio("p99 meta / per-thread", z, D_META, D_PERTHREAD, t,
                         1, "mix", F_P99, 1.0, false);
            target_ratio("p99 meta / libmemcached", z, D_META, D_LMC, t, 1,
                         "mix", F_P99, 1.0, false);
        }
        for (int i = 0; i < opt.nthreads; i++)
            if (opt.threads[i] == 64) {
                char dist[32];
                bench_key_dist_name(z, dist, sizeof(dist));
                double s = median_of("mix", z, D_PIPELINED, 64, 1,
                                     F_COST + C_SOCKET);
                double fu = median_of("mix", z, D_PIPELINED, 64, 1,
                                      F_COST + C_FUTEX);
                if (isnan(s))
                    printf("  %-44s %-10s %5d %5d %7s  %13s  <= 0.5   n/a "
                           "(%s)\n", "socket calls/op, pipelined", dist, 64,
                           1, "-", "", syscalls_why ? syscalls_why : "?");
                else
                    printf("  %-44s %-10s %5d %5d %7.3f  %13s  <= 0.5   %s "
                           "(futex/op %.3f)\n", "socket calls/op, pipelined",
                           dist, 64, 1, s, "", s <= 0.5 ? "met" : "MISSED",
                           fu);
                double ms = median_of("mix", z, D_META, 64, 1,
                                      F_COST + C_SOCKET);
                double mf = median_of("mix", z, D_META, 64, 1,
                                      F_COST + C_FUTEX);
                if (have_driver(D_META) && !isnan(ms))
                    printf("  %-44s %-10s %5d %5d %7.3f  %13s  <= 0.5   %s "
                           "(futex/op %.3f)\n", "socket calls/op, meta",
                           dist, 64, 1, ms, "", ms <= 0.5 ? "met" : "MISSED",
                           mf);
            }
        for (int i = 0; i < opt.nthreads; i++)
            if (opt.threads[i] == 1) {
                target_ratio("1 thread: pipelined / per-thread", z,
                             D_PIPELINED, D_PERTHREAD, 1, 1, "mix", F_OPS,
                             0.95, true);
                target_ratio("1 thread: pipelined / old tree", z, D_PIPELINED,
                             D_OLD, 1, 1, "mix", F_OPS, 0.95, true);
                target_ratio("1 thread: meta / per-thread", z, D_META,
                             D_PERTHREAD, 1, 1, "mix", F_OPS, 0.95, true);
            }
    }
    for (int i = 0; i < opt.nbatches; i++) {
        int b = opt.batches[i];
        target_ratio("multi-get keys/s: pipelined / per-thread", 0,
                     D_PIPELINED, D_PERTHREAD, 1, b, "mget", F_OPS, 1.0, true);
        target_ratio("multi-get keys/s: pipelined / old tree", 0, D_PIPELINED,
                     D_OLD, 1, b, "mget", F_OPS, 1.0, true);
    }
}

static void summary(void)
{
    nshown = 0;
    for (int d = 0; d < D_COUNT; d++)
        if (have_driver(d))
            shown[nshown++] = d;
    char sizes[48];
    if (opt.value_min == opt.value_max)
        snprintf(sizes, sizeof(sizes), "%zu", opt.value_min);
    else
        snprintf(sizes, sizeof(sizes), "%zu-%zu", opt.value_min,
                 opt.value_max);
    for (int di = 0; di < opt.ndists; di++) {
        double z = opt.dists[di];
        char dist[32];
        bench_key_dist_name(z, dist, sizeof(dist));
        printf("\n## single-key mix, %s keys: 90%% get / 10%% set, %d keys, "
               "values of %s bytes; medians of %d rounds of %.1f s\n",
               dist, opt.keys, sizes, opt.rounds, opt.duration);
        if (z > 0) {
            bench_keys k;
            bench_keys_init(&k, opt.keys, z);
            int top = opt.keys / 100 > 0 ? opt.keys / 100 : 1;
            printf("# (the most popular key draws %.1f%% of the operations, "
                   "the top 1%% of keys %.1f%%)\n",
                   100 * bench_keys_share(&k, 1),
                   100 * bench_keys_share(&k, top));
            bench_keys_free(&k);
        }
        printf("# ops/s\n");
        table_by_threads(z, F_OPS, 0, true);
        printf("# p50 latency per call, us\n");
        table_by_threads(z, F_P50, 1, false);
        printf("# p99 latency per call, us\n");
        table_by_threads(z, F_P99, 1, true);
        printf("# cost: sockets open to the servers at the end of the run; "
               "per operation: socket calls (send/recv family), futex, "
               "poll+epoll_wait, context switches, CPU us of the client "
               "process and of the servers\n");
        cost_table(z);
        write_mix_dat(z);
    }
    if (syscalls_why != NULL)
        printf("\n(system calls not counted: %s)\n", syscalls_why);
    FILE *names = open_dat("dists");
    if (names != NULL) {
        /* For the charts: the names in the .dat files' names. */
        for (int di = 0; di < opt.ndists; di++) {
            char dn[32];
            dist_file_name(opt.dists[di], dn, sizeof(dn));
            fprintf(names, "%s%s", di ? " " : "", dn);
        }
        fprintf(names, "\n");
        fclose(names);
    }

    if (opt.nbatches > 0) {
        FILE *mget = open_dat("mget.dat");
        if (mget != NULL)
            fprintf(mget, "# batch; keys/s of pipelined per-thread "
                          "libmemcached floor old meta (NaN: not run)\n");
        char b[64];
        printf("\n## multi-get: keys per second, one thread, uniform keys; "
               "medians of %d rounds\n", opt.rounds);
        printf("%7s", "batch");
        for (int k = 0; k < nshown; k++)
            printf(" %12s", driver_names[shown[k]]);
        printf(" %9s %9s %9s%s\n", "pipe/pt", "pipe/lmc", "pipe/flr",
               have_driver(D_OLD) ? "  pipe/old" : "");
        for (int i = 0; i < opt.nbatches; i++) {
            int bt = opt.batches[i];
            printf("%7d", bt);
            for (int k = 0; k < nshown; k++)
                printf(" %s", cell(b, sizeof(b),
                                   median_of("mget", 0, shown[k], 1, bt,
                                             F_OPS), 12, 0));
            double p = median_of("mget", 0, D_PIPELINED, 1, bt, F_OPS);
            int others[] = {D_PERTHREAD, D_LMC, D_FLOOR, D_OLD};
            for (int k = 0; k < 4; k++)
                if (others[k] != D_OLD || have_driver(D_OLD))
                    printf(" %s", ratio_cell(b, sizeof(b), p,
                                             median_of("mget", 0, others[k],
                                                       1, bt, F_OPS)));
            printf("\n");
            if (mget != NULL) {
                fprintf(mget, "%d", bt);
                for (int d = 0; d < D_COUNT; d++) {
                    double v = median_of("mget", 0, d, 1, bt, F_OPS);
                    if (isnan(v))
                        fprintf(mget, " NaN");
                    else
                        fprintf(mget, " %.0f", v);
                }
                fprintf(mget, "\n");
            }
        }
        if (mget != NULL)
            fclose(mget);
    }
    targets();
    fflush(stdout);
}

/* ---- a ring swap every 10 ms --------------------------------------------*/

typedef struct swap_arg {
    mcring_client *c;
    atomic_bool stop;
    long swaps;
} swap_arg;

static void *swapper(void *p)
{
    swap_arg *a = p;
    while (!atomic_load(&a->stop)) {
        usleep(10000);
        mcring_client_set_servers(
            a->c, a->swaps++ % 2 ? opt.servers : opt.swap_list, NULL, 0);
    }
    return NULL;
}

/* mcring pipelined alone, with and without a ring swap every 10 ms (to a
 * list with one more server and back). */
static void swap_runs(int threads)
{
    long swaps = 0;
    for (int round = 1; round <= opt.rounds; round++) {
        for (int k = 0; k < 2; k++) {
            bool swapping = (k + round) % 2;
            bench_workload w = {.threads = threads, .duration = opt.duration,
                                .keys = opt.keys, .value_min = opt.value_min,
                                .value_max = opt.value_max, .get_ratio = 0.9,
                                .batch = 1, .count_syscalls = opt.count_syscalls,
                                .seed = (unsigned)round};
            long socket_base = bench_count_sockets();
            mcring_client *c = mcring_for(D_PIPELINED, threads, opt.servers);
            bench_mcring m;
            bench_mcring_init(&m, c, w.keys);
            bench_driver d = bench_mcring_driver(&m);
            bench_prepare(&w, &d);
            swap_arg sa = {.c = c};
            atomic_init(&sa.stop, false);
            pthread_t th;
            if (swapping)
                pthread_create(&th, NULL, swapper, &sa);
            bench_result r;
            double server_cpu;
            measure(&w, &d, &r, &server_cpu);
            if (swapping) {
                atomic_store(&sa.stop, true);
                pthread_join(th, NULL);
                swaps += sa.swaps;
            }
            run x = {.workload = swapping ? "swap10ms" : "noswap",
                     .driver = D_PIPELINED, .threads = threads, .batch = 1,
                     .round = round};
            from_result(&x, &r, socket_base, server_cpu);
            record(&x);
            bench_mcring_free(&m);
            mcring_client_free(c);
        }
    }
    double a = median_of("noswap", 0, D_PIPELINED, threads, 1, F_OPS),
           b = median_of("swap10ms", 0, D_PIPELINED, threads, 1, F_OPS);
    double pa = median_of("noswap", 0, D_PIPELINED, threads, 1, F_P99),
           pb = median_of("swap10ms", 0, D_PIPELINED, threads, 1, F_P99);
    long errors = 0;
    for (int i = 0; i < nruns; i++)
        if (strcmp(runs[i].workload, "swap10ms") == 0)
            errors += runs[i].errors;
    printf("\n## mcring pipelined, %d threads, a ring swap every 10 ms (to a "
           "list with one more server and back); medians of %d rounds\n",
           threads, opt.rounds);
    printf("%14s %14s %9s %10s %10s %7s %7s\n", "no_swaps", "swap_10ms",
           "ratio", "p99_no", "p99_swap", "swaps", "errors");
    printf("%14.0f %14.0f %9.3f %10.1f %10.1f %7ld %7ld\n", a, b, b / a, pa,
           pb, swaps, errors);
}

/* One sequential run of one driver, for instruction counts: callgrind the
 * whole program at two --ops and divide the difference. */
static int one_run(void)
{
    int d = 0;
    const char *name = strcmp(opt.one_driver, "mcring") == 0
                           ? "pipelined" /* the name before there were two */
                           : opt.one_driver;
    while (d < D_COUNT && strcmp(name, driver_names[d]) != 0)
        d++;
    if (d == D_COUNT || d == D_OLD) {
        fprintf(stderr, "compare: --driver must be pipelined, per-thread, "
                        "libmemcached or floor\n");
        return 2;
    }
    bench_workload w = {.threads = 1, .ops = opt.one_ops, .keys = opt.keys,
                        .value_min = opt.value_min,
                        .value_max = opt.value_max, .get_ratio = 1.0,
                        .batch = 1, .seed = 1};
    run_driver("callgrind", d, 1, &w);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"servers", required_argument, NULL, 's'},
        {"swap-list", required_argument, NULL, 'w'},
        {"swap-threads", required_argument, NULL, 'W'},
        {"duration", required_argument, NULL, 'd'},
        {"rounds", required_argument, NULL, 'r'},
        {"threads", required_argument, NULL, 't'},
        {"batches", required_argument, NULL, 'b'},
        {"key-dists", required_argument, NULL, 'k'},
        {"keys", required_argument, NULL, 'K'},
        {"value-size", required_argument, NULL, 'v'},
        {"drivers", required_argument, NULL, 'x'},
        {"old-mcring", required_argument, NULL, 'L'},
        {"server-pids", required_argument, NULL, 'p'},
        {"csv", required_argument, NULL, 'c'},
        {"driver", required_argument, NULL, 'D'},
        {"ops", required_argument, NULL, 'o'},
        {"out", required_argument, NULL, 'O'},
        {"no-syscalls", no_argument, NULL, 'N'},
        {NULL, 0, NULL, 0},
    };
    opt.nthreads = parse_list("1,4,16,64,256", opt.threads);
    opt.nbatches = parse_list("10,100,1000", opt.batches);
    opt.ndists = parse_dists("uniform,zipf:0.99", opt.dists);
    opt.ndrivers = parse_drivers("pipelined,meta,per-thread,libmemcached,floor",
                                 opt.drivers);
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 's': opt.servers = optarg; break;
        case 'w': opt.swap_list = optarg; break;
        case 'W': opt.swap_threads = atoi(optarg); break;
        case 'd': opt.duration = atof(optarg); break;
        case 'r': opt.rounds = atoi(optarg); break;
        case 't': opt.nthreads = parse_list(optarg, opt.threads); break;
        case 'b':
            opt.nbatches = strcmp(optarg, "none") == 0
                               ? 0
                               : parse_list(optarg, opt.batches);
            break;
        case 'k': opt.ndists = parse_dists(optarg, opt.dists); break;
        case 'K': opt.keys = atoi(optarg); break;
        case 'v':
            if (bench_parse_value_size(optarg, &opt.value_min,
                                       &opt.value_max) != 0) {
                fprintf(stderr, "compare: --value-size is N or MIN-MAX\n");
                return 2;
            }
            break;
        case 'x': opt.ndrivers = parse_drivers(optarg, opt.drivers); break;
        case 'L': opt.old_mcring = optarg; break;
        case 'p': opt.npids = parse_list(optarg, opt.server_pids); break;
        case 'c': opt.csv = optarg; break;
        case 'D': opt.one_driver = optarg; break;
        case 'o': opt.one_ops = atol(optarg); break;
        case 'O': opt.out_dir = optarg; break;
        case 'N': opt.count_syscalls = false; break;
        default:
            fprintf(stderr, "usage: see the comment at the top of compare.c\n");
            return 2;
        }
    }
    if (opt.servers == NULL) {
        fprintf(stderr, "compare: --servers is required\n");
        return 2;
    }
    if (opt.keys < 1 || opt.rounds < 1 || opt.nthreads < 1 ||
        opt.ndists < 1 || opt.ndrivers < 1) {
        fprintf(stderr, "compare: --keys, --rounds, --threads, --key-dists "
                        "and --drivers need at least one\n");
        return 2;
    }
    if (opt.old_mcring != NULL) {
        if (access(opt.old_mcring, X_OK) != 0) {
            perror(opt.old_mcring);
            return 2;
        }
        opt.drivers[opt.ndrivers++] = D_OLD;
    }
    parse_servers(opt.servers);
    /* The floor reads a whole reply into one buffer. */
    int max_batch = 1;
    for (int i = 0; i < opt.nbatches; i++)
        if (opt.batches[i] > max_batch)
            max_batch = opt.batches[i];
    size_t need = (size_t)max_batch * (opt.value_max + 96) + 64;
    if (need > floor_buf_size)
        floor_buf_size = need;
    /* Sockets: a connection per thread and server for three drivers. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    hexkey = malloc((size_t)opt.keys * sizeof(*hexkey));
    for (int i = 0; i < opt.keys; i++) {
        char k[24];
        size_t n = bench_key(i, k);
        unsigned char d[16];
        MD5((const unsigned char *)k, n, d);
        for (int j = 0; j < 16; j++)
            sprintf(hexkey[i] + 2 * j, "%02x", d[j]);
    }
    csv = opt.csv ? fopen(opt.csv, "w") : fopen("/dev/null", "w");
    if (csv == NULL) {
        perror(opt.csv);
        return 2;
    }
    fprintf(csv, "workload,key_dist,driver,threads,batch,round,ops_per_sec,"
                 "p50_us,p99_us,p999_us,errors,sockets");
    for (int k = 0; k < C_COUNT; k++)
        fprintf(csv, ",%s", cost_names[k]);
    fprintf(csv, "\n");
    if (opt.one_driver != NULL)
        return one_run();

    for (int di = 0; di < opt.ndists; di++)
        for (int i = 0; i < opt.nthreads; i++)
            for (int round = 1; round <= opt.rounds; round++)
                for (int k = 0; k < opt.ndrivers; k++) {
                    bench_workload w = {.threads = opt.threads[i],
                                        .duration = opt.duration,
                                        .keys = opt.keys,
                                        .zipf_s = opt.dists[di],
                                        .value_min = opt.value_min,
                                        .value_max = opt.value_max,
                                        .get_ratio = 0.9,
                                        .batch = 1,
                                        .count_syscalls = opt.count_syscalls,
                                        .seed = (unsigned)round};
                    int d = round_order(round, k, opt.drivers, opt.ndrivers);
                    if (driver_fits(d, &w))
                        run_driver("mix", d, round, &w);
                }
    for (int i = 0; i < opt.nbatches; i++)
        for (int round = 1; round <= opt.rounds; round++)
            for (int k = 0; k < opt.ndrivers; k++) {
                bench_workload w = {.threads = 1,
                                    .duration = opt.duration,
                                    .keys = opt.keys,
                                    .value_min = opt.value_min,
                                    .value_max = opt.value_max,
                                    .get_ratio = 1.0,
                                    .batch = opt.batches[i],
                                    .count_syscalls = opt.count_syscalls,
                                    .seed = (unsigned)round};
                int d = round_order(round, k, opt.drivers, opt.ndrivers);
                if (driver_fits(d, &w))
                    run_driver("mget", d, round, &w);
            }
    summary();
    if (opt.swap_list != NULL && opt.swap_threads > 0)
        swap_runs(opt.swap_threads);
    fclose(csv);
    return 0;
}
