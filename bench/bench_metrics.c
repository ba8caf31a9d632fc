/*
 * What metrics and compression cost (issue 16), three tables:
 *
 *  1. recording: the request path's hook exactly as with_failover runs it
 *     around each attempt (lib/request.c), on a stand-alone state and
 *     server, in ns of the thread's CPU time per attempt: histograms off
 *     and no trace hook (one branch), histograms, a trace hook, both; and
 *     the pieces (the clock, the histogram update alone), and two threads
 *     recording at once.
 *  2. per request: gets of 100-byte values from a real memcached, one
 *     thread, with the same four settings, wall and CPU time per get.
 *  3. compression: JSON values of about 1, 10 and 100 KB (container
 *     listings: names, hashes, sizes, dates) stored and read with none,
 *     zstd and zlib: bytes stored per value, sets and gets per second,
 *     CPU per operation in the client (getrusage) and in memcached (its
 *     rusage stats).
 *
 *   bench_metrics [--runs N] [--memcached PATH] [--tables 123]
 *
 * Each figure is the median of N runs (default 7). Needs memcached for
 * tables 2 and 3 (skipped, with a note, when it cannot be started).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "metrics.h"
#include "request.h"
#include "server.h"
#include "state.h"

static int runs = 7;

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench_metrics: %s failed\n", what);
        exit(1);
    }
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- 1. recording -------------------------------------------------------- */

/* The calling thread's CPU time in ns: what a loop costs, whatever else
 * the machine runs meanwhile (it is shared). */
static double thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile long traced;

static void on_trace(void *ud, const mcring_trace_event *e)
{
    (void)ud;
    traced += (long)e->duration_ns & 1;
}

/* An attempt's outcome the compiler cannot see through. */
static volatile int outcome = MCRING_OK;

/* with_failover's hook around one attempt, n times. */
static void hook_loop(const state *st, server *sv, long n)
{
    attempt_info info = {MCRING_OP_GET, 10, 1, 0};
    for (long i = 0; i < n; i++) {
        int64_t start = metrics_attempt_start(st->set.timed);
        int rc = outcome;
        if (st->set.timed) {
            info.attempt++;
            metrics_attempt_end(st, sv, &info, rc, start);
        }
        info.attempt = 0;
    }
}

static void record_loop(server *sv, long n)
{
    for (long i = 0; i < n; i++)
        metrics_record(sv->metrics, MCRING_OP_GET, 20000 + (uint64_t)(i & 4095),
                       outcome, 1, 0);
}

static void clock_loop(long n)
{
    uint64_t sum = 0;
    for (long i = 0; i < n; i++)
        sum += (uint64_t)clock_now_ns();
    bench_use(sum);
}

typedef struct hook_case {
    const char *name;
    bool histograms, trace;
} hook_case;

typedef struct hook_thread {
    const state *st;
    server *sv;
    long n;
    double ns;
} hook_thread;

static void *hook_thread_run(void *arg)
{
    hook_thread *h = arg;
    double t0 = thread_cpu_ns();
    hook_loop(h->st, h->sv, h->n);
    h->ns = (thread_cpu_ns() - t0) / (double)h->n;
    return NULL;
}

static void table_recording(void)
{
    const long n = 5000000;
    server *sv;
    must(server_new("127.0.0.1:11211", 2, &sv) == 0, "server_new");
    state st;
    memset(&st, 0, sizeof(st));
    static const hook_case cases[] = {
        {"hook: histograms off, no trace hook", false, false},
        {"hook: histograms", true, false},
        {"hook: trace hook", false, true},
        {"hook: histograms + trace hook", true, true},
    };
    double *v = malloc((size_t)runs * sizeof(double));
    printf("1. recording cost, one thread, %ld attempts per run, thread "
           "CPU time (median of %d runs)\n\n",
           n, runs);
    printf("| what | ns per attempt |\n|---|---|\n");
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        st.set.histograms = cases[c].histograms;
        st.set.trace = cases[c].trace ? on_trace : NULL;
        st.set.timed = st.set.histograms || st.set.trace != NULL;
        hook_loop(&st, sv, n / 10); /* warm: shards allocated */
        for (int r = 0; r < runs; r++) {
            double t0 = thread_cpu_ns();
            hook_loop(&st, sv, n);
            v[r] = (thread_cpu_ns() - t0) / (double)n;
        }
        printf("| %s | %.2f |\n", cases[c].name, bench_median(v, (size_t)runs));
    }
    for (int r = 0; r < runs; r++) {
        double t0 = thread_cpu_ns();
        clock_loop(n);
        v[r] = (thread_cpu_ns() - t0) / (double)n;
    }
    printf("| of which: clock_gettime(CLOCK_MONOTONIC) | %.2f |\n",
           bench_median(v, (size_t)runs));
    for (int r = 0; r < runs; r++) {
        double t0 = thread_cpu_ns();
        record_loop(sv, n);
        v[r] = (thread_cpu_ns() - t0) / (double)n;
    }
    printf("| of which: the histogram update (metrics_record) | %.2f |\n",
           bench_median(v, (size_t)runs));
    /* Two threads on the same server, each in its own shard. */
    st.set.histograms = true;
    st.set.trace = NULL;
    st.set.timed = true;
    for (int r = 0; r < runs; r++) {
        hook_thread h[2] = {{&st, sv, n, 0}, {&st, sv, n, 0}};
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, hook_thread_run, &h[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        v[r] = (h[0].ns + h[1].ns) / 2;
    }
    printf("| hook: histograms, 2 threads at once (each) | %.2f |\n\n",
           bench_median(v, (size_t)runs));
    free(v);
    server_free(sv);
}

/* ---- a memcached of our own ---------------------------------------------- */

static pid_t mc_pid;
static int mc_port;
static char mc_name[64];

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    must(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind");
    must(getsockname(fd, (struct sockaddr *)&a, &len) == 0, "getsockname");
    close(fd);
    return ntohs(a.sin_port);
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool start_memcached(const char *path)
{
    mc_port = free_port();
    snprintf(mc_name, sizeof(mc_name), "127.0.0.1:%d", mc_port);
    char port[16];
    snprintf(port, sizeof(port), "%d", mc_port);
    mc_pid = fork();
    if (mc_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char *argv[] = {(char *)path, "-u", "root", "-l", "127.0.0.1", "-p",
                        port,         "-U", "0",    "-m", "2048",      "-t",
                        "1",          NULL};
        execvp(path, argv);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        int fd = connect_port(mc_port);
        if (fd >= 0) {
            close(fd);
            return true;
        }
        if (waitpid(mc_pid, NULL, WNOHANG) == mc_pid)
            return false;
        usleep(50000);
    }
    return false;
}

static void stop_memcached(void)
{
    kill(mc_pid, SIGKILL);
    waitpid(mc_pid, NULL, 0);
}

/* A statistic of memcached's "stats" (a number), or -1. */
static double mc_stat(const char *name)
{
    int fd = connect_port(mc_port);
    must(fd >= 0, "connect to memcached");
    must(write(fd, "stats\r\n", 7) == 7, "stats");
    char buf[8192];
    size_t n = 0;
    while (n < sizeof(buf) - 1) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
        if (strstr(buf, "END\r\n") != NULL)
            break;
    }
    buf[n] = '\0';
    close(fd);
    char pat[64];
    snprintf(pat, sizeof(pat), "STAT %s ", name);
    const char *p = strstr(buf, pat);
    return p != NULL ? strtod(p + strlen(pat), NULL) : -1;
}

static double mc_cpu_s(void)
{
    return mc_stat("rusage_user") + mc_stat("rusage_system");
}

static void mc_flush(void)
{
    int fd = connect_port(mc_port);
    must(fd >= 0 && write(fd, "flush_all\r\n", 11) == 11, "flush_all");
    char ok[8];
    must(read(fd, ok, sizeof(ok)) > 0, "flush_all reply");
    close(fd);
}

static mcring_client *client_with(const char *a, const char *b,
                                  const char *c, const char *d,
                                  mcring_trace_fn trace)
{
    mcring_options *o;
    must(mcring_options_new(&o) == 0, "options");
    must(mcring_options_set(o, "memcache_servers", mc_name, NULL, 0) == 0,
         "servers");
    if (a != NULL)
        must(mcring_options_set(o, a, b, NULL, 0) == 0, a);
    if (c != NULL)
        must(mcring_options_set(o, c, d, NULL, 0) == 0, c);
    mcring_options_set_trace(o, trace, NULL);
    mcring_client *client;
    char err[256];
    must(mcring_client_new(&client, o, err, sizeof(err)) == 0, err);
    mcring_options_free(o);
    return client;
}

/* ---- 2. per request ------------------------------------------------------ */

static void table_requests(void)
{
    const long n = 20000;
    static const hook_case cases[] = {
        {"histograms off, no trace hook", false, false},
        {"histograms (the default)", true, false},
        {"trace hook", false, true},
        {"histograms + trace hook", true, true},
    };
    enum { NC = sizeof(cases) / sizeof(cases[0]) };
    mcring_client *clients[NC];
    for (int c = 0; c < NC; c++)
        clients[c] = client_with("latency_histograms",
                                 cases[c].histograms ? "true" : "false",
                                 NULL, NULL,
                                 cases[c].trace ? on_trace : NULL);
    char value[100];
    memset(value, 'v', sizeof(value));
    must(mcring_set(clients[0], "bench", 5, value, sizeof(value), 0, 0) ==
             MCRING_OK,
         "set");
    mcring_item it = MCRING_ITEM_INIT;
    double *wall = malloc((size_t)(runs * NC) * sizeof(double));
    double *cpu = malloc((size_t)(runs * NC) * sizeof(double));
    for (int c = 0; c < NC; c++)
        for (long i = 0; i < n / 10; i++)
            mcring_get(clients[c], "bench", 5, &it);
    /* The settings take turns within each run, each run starting with the
     * next one, so that neither drift in the machine's speed nor a place
     * in the order favours any. */
    for (int r = 0; r < runs; r++)
        for (int k = 0; k < NC; k++) {
            int c = (r + k) % NC;
            double t0 = bench_now_ns(), c0 = cpu_s();
            for (long i = 0; i < n; i++)
                must(mcring_get(clients[c], "bench", 5, &it) == MCRING_OK,
                     "get");
            wall[c * runs + r] = (bench_now_ns() - t0) / (double)n;
            cpu[c * runs + r] = (cpu_s() - c0) * 1e9 / (double)n;
        }
    printf("2. per get from memcached, one thread, 100-byte value, %ld gets "
           "per run (median of %d runs)\n\n",
           n, runs);
    printf("| setting | wall ns/get | client CPU ns/get |\n|---|---|---|\n");
    for (int c = 0; c < NC; c++)
        printf("| %s | %.0f | %.0f |\n", cases[c].name,
               bench_median(wall + c * runs, (size_t)runs),
               bench_median(cpu + c * runs, (size_t)runs));
    printf("\n");
    free(wall);
    free(cpu);
    mcring_item_release(&it);
    for (int c = 0; c < NC; c++)
        mcring_client_free(clients[c]);
}

/* ---- 3. compression ------------------------------------------------------ */

/* A container listing as JSON, about `size` bytes: entries with a name, an
 * MD5-like hash (random hex: the part that does not compress), a size, a
 * type and a date. */
static void listing(size_t size, mcring_item *out)
{
    mcring_value *a = mcring_value_new_array();
    uint64_t s = 0x9e3779b97f4a7c15u;
    mcring_item probe = MCRING_ITEM_INIT;
    for (int i = 0;; i++) {
        char name[64], hash[33], date[32];
        snprintf(name, sizeof(name), "photos/2023/%02d/IMG_%05d.jpg",
                 i % 12 + 1, i * 7);
        for (int h = 0; h < 32; h++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            hash[h] = "0123456789abcdef"[s & 15];
        }
        hash[32] = '\0';
        snprintf(date, sizeof(date), "2023-%02d-%02dT%02d:%02d:%02d.000000",
                 i % 12 + 1, i % 28 + 1, i % 24, i % 60, (i * 7) % 60);
        mcring_value *e = mcring_value_new_map();
        mcring_value_map_add_str(e, "name",
                                 mcring_value_new_string(name, strlen(name)));
        mcring_value_map_add_str(e, "hash", mcring_value_new_string(hash, 32));
        mcring_value_map_add_str(e, "bytes",
                                 mcring_value_new_int((int64_t)(s % 5000000)));
        mcring_value_map_add_str(e, "content_type",
                                 mcring_value_new_string("image/jpeg", 10));
        mcring_value_map_add_str(e, "last_modified",
                                 mcring_value_new_string(date, strlen(date)));
        mcring_value_array_push(a, e);
        must(mcring_json_encode(a, 0, &probe) == 0, "json");
        if (probe.len >= size)
            break;
    }
    must(mcring_json_encode(a, 0, out) == 0, "json");
    mcring_item_release(&probe);
    mcring_value_free(a);
}

/* A client counter from the Prometheus text, by its whole sample name. */
static double prom_value(mcring_client *c, const char *sample)
{
    size_t need = mcring_client_write_prometheus(c, NULL, 0) + 4096;
    char *buf = malloc(need);
    mcring_client_write_prometheus(c, buf, need);
    const char *p = strstr(buf, sample);
    double v = p != NULL ? strtod(p + strlen(sample), NULL) : 0;
    free(buf);
    return v;
}

static void table_compression(void)
{
    static const size_t sizes[] = {1024, 10240, 102400};
    static const char *const algos[] = {"none", "zstd", "zlib"};
    printf("3. compression of JSON container listings, one thread, "
           "item_size_max 0 (median of %d runs)\n\n",
           runs);
    printf("| value | algorithm | stored bytes | ratio | sets/s | gets/s "
           "| client CPU us/set | client CPU us/get | memcached CPU us/op "
           "|\n|---|---|---|---|---|---|---|---|---|\n");
    double *v = malloc((size_t)runs * 6 * sizeof(double));
    for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        mcring_item json = MCRING_ITEM_INIT;
        listing(sizes[z], &json);
        /* About 20 MB moved per run and phase, at least 200 ops. */
        long n = (long)(20000000 / json.len);
        if (n < 200)
            n = 200;
        long keys = n < 2000 ? n : 2000;
        for (size_t a = 0; a < sizeof(algos) / sizeof(algos[0]); a++) {
            mcring_client *c = client_with("compression", algos[a],
                                           "key_mode", "raw", NULL);
            mc_flush();
            mcring_item it = MCRING_ITEM_INIT;
            char key[32];
            for (int r = 0; r < runs; r++) {
                double t0 = bench_now_ns(), c0 = cpu_s(), m0 = mc_cpu_s();
                for (long i = 0; i < n; i++) {
                    snprintf(key, sizeof(key), "v%ld", i % keys);
                    must(mcring_set(c, key, strlen(key), json.data, json.len,
                                    MCRING_FLAG_JSON, 0) == MCRING_OK,
                         "set");
                }
                double t1 = bench_now_ns(), c1 = cpu_s();
                for (long i = 0; i < n; i++) {
                    snprintf(key, sizeof(key), "v%ld", i % keys);
                    must(mcring_get(c, key, strlen(key), &it) == MCRING_OK &&
                             it.len == json.len,
                         "get");
                }
                double t2 = bench_now_ns(), c2 = cpu_s(), m2 = mc_cpu_s();
                v[0 * runs + r] = (double)n / ((t1 - t0) / 1e9);
                v[1 * runs + r] = (double)n / ((t2 - t1) / 1e9);
                v[2 * runs + r] = (c1 - c0) * 1e6 / (double)n;
                v[3 * runs + r] = (c2 - c1) * 1e6 / (double)n;
                v[4 * runs + r] = (m2 - m0) * 1e6 / (double)(2 * n);
            }
            double stored = (double)json.len;
            if (strcmp(algos[a], "none") != 0) {
                char s1[96], s2[96];
                snprintf(s1, sizeof(s1),
                         "mcring_compression_output_bytes_total{algorithm="
                         "\"%s\"} ",
                         algos[a]);
                snprintf(s2, sizeof(s2),
                         "mcring_compressed_values_total{algorithm=\"%s\"} ",
                         algos[a]);
                stored = prom_value(c, s1) / prom_value(c, s2);
            }
            printf("| %zu KB (%zu B) | %s | %.0f | %.2f | %.0f | %.0f | %.1f "
                   "| %.1f | %.1f |\n",
                   sizes[z] / 1024, json.len, algos[a], stored,
                   (double)json.len / stored,
                   bench_median(v, (size_t)runs),
                   bench_median(v + runs, (size_t)runs),
                   bench_median(v + 2 * runs, (size_t)runs),
                   bench_median(v + 3 * runs, (size_t)runs),
                   bench_median(v + 4 * runs, (size_t)runs));
            fflush(stdout);
            mcring_item_release(&it);
            mcring_client_free(c);
        }
        mcring_item_release(&json);
    }
    free(v);
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *memcached = "memcached";
    const char *tables = "123";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--memcached") == 0 && i + 1 < argc)
            memcached = argv[++i];
        else if (strcmp(argv[i], "--tables") == 0 && i + 1 < argc)
            tables = argv[++i];
        else {
            fprintf(stderr, "usage: bench_metrics [--runs N] "
                            "[--memcached PATH] [--tables 123]\n");
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;
    printf("mcring %s: metrics and compression\n\n", mcring_version());
    if (strchr(tables, '1') != NULL)
        table_recording();
    fflush(stdout);
    if (strpbrk(tables, "23") == NULL)
        return 0;
    if (!start_memcached(memcached)) {
        printf("(memcached could not be started: tables 2 and 3 skipped)\n");
        return 0;
    }
    if (strchr(tables, '2') != NULL)
        table_requests();
    fflush(stdout);
    if (strchr(tables, '3') != NULL)
        table_compression();
    stop_memcached();
    return 0;
}
