/*
 * The comparison suite: the same workloads through mcring, libmemcached's
 * memcached_pool, and a bare loop of blocking sockets writing the same
 * ASCII requests (the floor: no client library at all), alternating the
 * three within each round against the same servers.
 *
 *   compare --servers LIST [--swap-list LIST2] [--duration S] [--rounds R]
 *           [--threads 1,2,4,8,16] [--batches 10,100,1000] [--csv FILE]
 *           [--out DIR]     (medians for the charts: DIR/mix.dat, mget.dat)
 *   compare --servers LIST --driver NAME --ops N        (one sequential
 *           run, for instruction counts under callgrind)
 *
 * Every driver sends the same bytes: mcring hashes "key:<i>" to its hex MD5
 * (Swift's wire key) and pays for that; the others are handed those hex
 * keys ready-made. Each driver stores the keys first, by its own placement,
 * so that gets hit. Writes one CSV line per run and prints medians and the
 * ratios to libmemcached and to the floor.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libmemcached/memcached.h>
#include <libmemcachedutil-1.0/pool.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/md5.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "benchcore.h"

#define MAX_SERVERS 16

static struct {
    const char *servers;
    const char *swap_list;
    double duration;
    int rounds;
    int threads[16], nthreads;
    int batches[16], nbatches;
    const char *csv;
    const char *out_dir; /* mix.dat, mget.dat for the charts */
    const char *one_driver;
    long one_ops;
    int keys;
    size_t value_size;
} opt = {.duration = 2, .rounds = 3, .keys = 2000, .value_size = 100};

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
    for (char *t = strtok_r(copy, ",", &save); t && n < 16;
         t = strtok_r(NULL, ",", &save))
        out[n++] = atoi(t);
    free(copy);
    return n;
}

/* ---- the floor: blocking sockets, the same requests -------------------- */

typedef struct floor_thread {
    int fd[MAX_SERVERS];
    char buf[1 << 20];
    struct iovec *iov;
    int *by_server;
} floor_thread;

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
    for (int i = 0; i < naddrs; i++)
        if ((t->fd[i] = dial(&addrs[i])) < 0) {
            for (int j = 0; j < i; j++)
                close(t->fd[j]);
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
    free(t->iov);
    free(t->by_server);
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
    ssize_t n = read_until(fd, t->buf, sizeof(t->buf), "END\r\n");
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
    return read_until(fd, t->buf, sizeof(t->buf), "\r\n") == 8 ? 0 : -1;
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
        ssize_t got = read_until(t->fd[s], t->buf, sizeof(t->buf), "END\r\n");
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

/* ---- running ------------------------------------------------------------ */

typedef struct run {
    const char *workload, *driver;
    int threads, batch;
    double ops_per_sec, p50, p99, p999;
    long errors;
} run;

static run runs[4096];
static int nruns;
static FILE *csv;

static mcring_client *mcring_for(int threads, const char *servers)
{
    mcring_options *o;
    mcring_options_new(&o);
    char conns[16], err[256];
    snprintf(conns, sizeof(conns), "%d", threads);
    if (mcring_options_set(o, "memcache_servers", servers, err, sizeof(err)) ||
        mcring_options_set(o, "memcache_max_connections", conns, err,
                           sizeof(err))) {
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

static void record(const char *workload, const char *driver, int round,
                   const bench_workload *w, const bench_result *r)
{
    run *x = &runs[nruns++];
    x->workload = workload;
    x->driver = driver;
    x->threads = w->threads;
    x->batch = w->batch;
    x->ops_per_sec = (double)r->ops / r->seconds;
    x->p50 = bench_hist_quantile_us(&r->hist, 0.5);
    x->p99 = bench_hist_quantile_us(&r->hist, 0.99);
    x->p999 = bench_hist_quantile_us(&r->hist, 0.999);
    x->errors = r->errors;
    fprintf(csv, "%s,%s,%d,%d,%d,%.0f,%.1f,%.1f,%.1f,%ld\n", workload, driver,
            w->threads, w->batch, round, x->ops_per_sec, x->p50, x->p99,
            x->p999, r->errors);
    fflush(csv);
    fprintf(stderr, "  %-8s %-13s threads %2d batch %4d round %d: %9.0f "
                    "ops/s  p99 %7.1f us  errors %ld\n",
            workload, driver, w->threads, w->batch, round, x->ops_per_sec,
            x->p99, r->errors);
}

/* Runs one driver through one workload (storing the keys first). */
static void run_driver(const char *workload, const char *name, int round,
                       const bench_workload *w)
{
    bench_result r;
    bench_driver d;
    if (strcmp(name, "mcring") == 0) {
        mcring_client *c = mcring_for(w->threads, opt.servers);
        bench_mcring m;
        bench_mcring_init(&m, c, w->keys);
        d = bench_mcring_driver(&m);
        bench_prepare(w, &d);
        bench_run(w, &d, &r);
        bench_mcring_free(&m);
        mcring_client_free(c);
    } else if (strcmp(name, "libmemcached") == 0) {
        lmc l = {lmc_pool(w->threads)};
        d = (bench_driver){"libmemcached", &l, lmc_start, lmc_stop, lmc_get,
                           lmc_set, lmc_mget};
        bench_prepare(w, &d);
        bench_run(w, &d, &r);
        memcached_pool_destroy(l.pool);
    } else {
        d = (bench_driver){"floor", NULL, floor_start, floor_stop, floor_get,
                           floor_set, floor_mget};
        bench_prepare(w, &d);
        bench_run(w, &d, &r);
    }
    record(workload, name, round, w, &r);
}

static double median_of(const char *workload, const char *driver, int threads,
                        int batch, int field)
{
    double v[64];
    int n = 0;
    for (int i = 0; i < nruns && n < 64; i++) {
        run *x = &runs[i];
        if (strcmp(x->workload, workload) || strcmp(x->driver, driver) ||
            x->threads != threads || x->batch != batch)
            continue;
        v[n++] = field == 0 ? x->ops_per_sec : x->p99;
    }
    if (n == 0)
        return 0;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *const drivers[] = {"mcring", "libmemcached", "floor"};

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

static void summary(void)
{
    FILE *mix = open_dat("mix.dat"), *mget = open_dat("mget.dat");
    if (mix != NULL)
        fprintf(mix, "# threads mcring libmemcached floor (ops/s) "
                     "p99_us: mcring libmemcached floor\n");
    if (mget != NULL)
        fprintf(mget, "# batch mcring libmemcached floor (keys/s)\n");
    printf("\n# single-key mix: 90%% get / 10%% set, %d keys of %zu bytes; "
           "medians of %d rounds of %.1f s\n",
           opt.keys, opt.value_size, opt.rounds, opt.duration);
    printf("%7s %12s %12s %12s %9s %9s %9s %9s\n", "threads", "mcring",
           "libmemcached", "floor", "vs_lmc", "vs_floor", "p99_mc",
           "p99_lmc");
    for (int i = 0; i < opt.nthreads; i++) {
        int t = opt.threads[i];
        double m = median_of("mix", "mcring", t, 1, 0),
               l = median_of("mix", "libmemcached", t, 1, 0),
               f = median_of("mix", "floor", t, 1, 0);
        printf("%7d %12.0f %12.0f %12.0f %9.3f %9.3f %9.1f %9.1f\n", t, m, l, f,
               m / l, m / f, median_of("mix", "mcring", t, 1, 1),
               median_of("mix", "libmemcached", t, 1, 1));
        if (mix != NULL)
            fprintf(mix, "%d %.0f %.0f %.0f %.1f %.1f %.1f\n", t, m, l, f,
                    median_of("mix", "mcring", t, 1, 1),
                    median_of("mix", "libmemcached", t, 1, 1),
                    median_of("mix", "floor", t, 1, 1));
    }
    printf("\n# multi-get: keys per second, one thread\n");
    printf("%7s %12s %12s %12s %9s %9s\n", "batch", "mcring", "libmemcached",
           "floor", "vs_lmc", "vs_floor");
    for (int i = 0; i < opt.nbatches; i++) {
        int b = opt.batches[i];
        double m = median_of("mget", "mcring", 1, b, 0),
               l = median_of("mget", "libmemcached", 1, b, 0),
               f = median_of("mget", "floor", 1, b, 0);
        printf("%7d %12.0f %12.0f %12.0f %9.3f %9.3f\n", b, m, l, f, m / l,
               m / f);
        if (mget != NULL)
            fprintf(mget, "%d %.0f %.0f %.0f\n", b, m, l, f);
    }
    if (mix != NULL)
        fclose(mix);
    if (mget != NULL)
        fclose(mget);
}

/* mcring alone with and without a ring swap every 10 ms. */
typedef struct swap_arg {
    mcring_client *c;
    volatile int stop;
    long swaps;
} swap_arg;

static void *swapper(void *p)
{
    swap_arg *a = p;
    while (!a->stop) {
        usleep(10000);
        mcring_client_set_servers(
            a->c, a->swaps++ % 2 ? opt.servers : opt.swap_list, NULL, 0);
    }
    return NULL;
}

static void swap_runs(int threads)
{
    for (int round = 1; round <= opt.rounds; round++) {
        for (int swapping = 0; swapping <= 1; swapping++) {
            bench_workload w = {.threads = threads, .duration = opt.duration,
                                .keys = opt.keys, .value_size = opt.value_size,
                                .get_ratio = 0.9, .batch = 1, .seed = 1};
            mcring_client *c = mcring_for(threads, opt.servers);
            bench_mcring m;
            bench_mcring_init(&m, c, w.keys);
            bench_driver d = bench_mcring_driver(&m);
            bench_prepare(&w, &d);
            swap_arg sa = {c, 0, 0};
            pthread_t th;
            if (swapping)
                pthread_create(&th, NULL, swapper, &sa);
            bench_result r;
            bench_run(&w, &d, &r);
            if (swapping) {
                sa.stop = 1;
                pthread_join(th, NULL);
            }
            record(swapping ? "swap10ms" : "noswap", "mcring", round, &w, &r);
            bench_mcring_free(&m);
            mcring_client_free(c);
        }
    }
    double a = median_of("noswap", "mcring", threads, 1, 0),
           b = median_of("swap10ms", "mcring", threads, 1, 0);
    long errors = 0;
    for (int i = 0; i < nruns; i++)
        if (strcmp(runs[i].workload, "swap10ms") == 0)
            errors += runs[i].errors;
    printf("\n# mcring, %d threads, a ring swap every 10 ms (to a list with "
           "one more server and back)\n",
           threads);
    printf("%14s %14s %9s %7s\n", "no_swaps", "swap_10ms", "ratio", "errors");
    printf("%14.0f %14.0f %9.3f %7ld\n", a, b, b / a, errors);
}

/* One sequential run of one driver, for instruction counts: callgrind the
 * whole program at two --ops and divide the difference. */
static int one_run(void)
{
    bench_workload w = {.threads = 1, .ops = opt.one_ops, .keys = opt.keys,
                        .value_size = opt.value_size, .get_ratio = 1.0,
                        .batch = 1, .seed = 1};
    run_driver("callgrind", opt.one_driver, 1, &w);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"servers", required_argument, NULL, 's'},
        {"swap-list", required_argument, NULL, 'w'},
        {"duration", required_argument, NULL, 'd'},
        {"rounds", required_argument, NULL, 'r'},
        {"threads", required_argument, NULL, 't'},
        {"batches", required_argument, NULL, 'b'},
        {"csv", required_argument, NULL, 'c'},
        {"driver", required_argument, NULL, 'D'},
        {"ops", required_argument, NULL, 'o'},
        {"out", required_argument, NULL, 'O'},
        {NULL, 0, NULL, 0},
    };
    opt.nthreads = parse_list("1,2,4,8,16", opt.threads);
    opt.nbatches = parse_list("10,100,1000", opt.batches);
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 's': opt.servers = optarg; break;
        case 'w': opt.swap_list = optarg; break;
        case 'd': opt.duration = atof(optarg); break;
        case 'r': opt.rounds = atoi(optarg); break;
        case 't': opt.nthreads = parse_list(optarg, opt.threads); break;
        case 'b': opt.nbatches = parse_list(optarg, opt.batches); break;
        case 'c': opt.csv = optarg; break;
        case 'D': opt.one_driver = optarg; break;
        case 'o': opt.one_ops = atol(optarg); break;
        case 'O': opt.out_dir = optarg; break;
        default:
            fprintf(stderr, "usage: see the comment at the top of compare.c\n");
            return 2;
        }
    }
    if (opt.servers == NULL) {
        fprintf(stderr, "compare: --servers is required\n");
        return 2;
    }
    parse_servers(opt.servers);
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
    fprintf(csv, "workload,driver,threads,batch,round,ops_per_sec,p50_us,"
                 "p99_us,p999_us,errors\n");
    if (opt.one_driver != NULL)
        return one_run();

    for (int i = 0; i < opt.nthreads; i++)
        for (int round = 1; round <= opt.rounds; round++)
            for (int k = 0; k < 3; k++) {
                /* Rotate who goes first, so no driver always runs on a
                 * freshly idle machine. */
                const char *name = drivers[(k + round) % 3];
                bench_workload w = {.threads = opt.threads[i],
                                    .duration = opt.duration,
                                    .keys = opt.keys,
                                    .value_size = opt.value_size,
                                    .get_ratio = 0.9,
                                    .batch = 1,
                                    .seed = (unsigned)round};
                run_driver("mix", name, round, &w);
            }
    for (int i = 0; i < opt.nbatches; i++)
        for (int round = 1; round <= opt.rounds; round++)
            for (int k = 0; k < 3; k++) {
                const char *name = drivers[(k + round) % 3];
                bench_workload w = {.threads = 1,
                                    .duration = opt.duration,
                                    .keys = opt.keys,
                                    .value_size = opt.value_size,
                                    .get_ratio = 1.0,
                                    .batch = opt.batches[i],
                                    .seed = (unsigned)round};
                run_driver("mget", name, round, &w);
            }
    summary();
    if (opt.swap_list != NULL)
        swap_runs(opt.threads[opt.nthreads - 1]);
    fclose(csv);
    return 0;
}
