/*
 * One server's outage, second by second (issue 15): N memcached servers
 * (and G gutter servers) started here on free loopback ports, a key set
 * stored in them, then a paced 90% get / 10% set workload that reads
 * through the cache (a miss or a failed get is an origin fetch, whose
 * value is then stored). After `before` seconds one server is killed
 * (SIGKILL; or stopped, SIGSTOP) for `outage` seconds — the server whose
 * share of the keys is nearest an even one — then started again
 * on its port (or resumed), and the run goes on for `after` seconds.
 *
 * Per second it writes: gets, hits, misses, client-visible errors (calls
 * that returned a failure: a failed get and the failed store of the value
 * fetched for it are two), origin fetches, the hit rate (all keys,
 * and the dead server's keys alone), the mean latency, connect attempts
 * (all servers, and the dead one's), probes of the dead one. Then one
 * summary line of key=value pairs over the outage window.
 *
 *   outage [--servers N] [--gutter G] [--threads T] [--rate OPS] [--keys K]
 *          [--before S] [--outage S] [--after S] [--kind kill|stop]
 *          [--label NAME] [--csv FILE] [-o NAME=VALUE ...]
 *
 * Public API only. memcached comes from $MCRING_MEMCACHED or PATH.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcring.h"

#define MAX_SERVERS 64
#define MAX_SECONDS 600

typedef struct mc_proc {
    int port;
    pid_t pid;
    char name[32];
} mc_proc;

typedef struct bin {
    atomic_long gets, hits, misses, errors, victim_gets, victim_hits;
    atomic_long calls, latency_ns;
} bin;

typedef struct config {
    int servers, gutter, threads, keys;
    double rate, before, outage, after;
    bool stop; /* SIGSTOP instead of SIGKILL */
    const char *label, *csv;
} config;

static config cfg = {8, 0, 8, 20000, 8000, 10, 30, 20, false, "run", NULL};
static bin bins[MAX_SECONDS];
static double start_s;
static atomic_bool done;
static bool *victim_key; /* the dead server's keys */
static mcring_client *client;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
        perror("outage: free port");
        exit(2);
    }
    close(fd);
    return ntohs(a.sin_port);
}

static bool listening(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Starts memcached on p->port (dying with this process); waits until it
 * listens. */
static void mc_spawn(mc_proc *p)
{
    const char *bin = getenv("MCRING_MEMCACHED");
    if (bin == NULL || *bin == '\0')
        bin = "memcached";
    for (int attempt = 0; attempt < 100; attempt++) {
        char port[16];
        snprintf(port, sizeof(port), "%d", p->port);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(1);
            if (geteuid() == 0)
                execlp(bin, bin, "-u", "root", "-l", "127.0.0.1", "-p", port,
                       "-U", "0", "-t", "1", "-m", "64", (char *)NULL);
            else
                execlp(bin, bin, "-l", "127.0.0.1", "-p", port, "-U", "0",
                       "-t", "1", "-m", "64", (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 200; i++) {
            if (listening(p->port)) {
                p->pid = pid;
                return;
            }
            if (waitpid(pid, NULL, WNOHANG) == pid)
                break;
            sleep_s(0.01);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        sleep_s(0.1); /* the old socket may linger */
    }
    fprintf(stderr, "outage: memcached does not start on port %d\n",
            p->port);
    exit(2);
}

static void mc_end(mc_proc *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGCONT);
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
}

static size_t key_of(int i, char *buf)
{
    return (size_t)sprintf(buf, "outage:%d", i);
}

static void value_of(int i, char *buf, size_t len)
{
    memset(buf, 'a' + i % 26, len);
}

static bin *bin_now(void)
{
    long s = (long)(now_s() - start_s);
    return &bins[s < 0 ? 0 : s >= MAX_SECONDS ? MAX_SECONDS - 1 : s];
}

/* One worker: paced at rate/threads calls a second (a backlog of more than
 * half a second is dropped, not caught up). */
static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
    double interval = (double)cfg.threads / cfg.rate, next = now_s();
    mcring_item it = MCRING_ITEM_INIT;
    char key[32], value[100];
    while (!atomic_load(&done)) {
        double now = now_s();
        if (next > now)
            sleep_s(next - now);
        else if (now - next > 0.5)
            next = now;
        next += interval;
        int i = (int)(rand_r(&seed) % (unsigned)cfg.keys);
        size_t klen = key_of(i, key);
        value_of(i, value, sizeof(value));
        bool get = rand_r(&seed) % 10 != 0;
        double t0 = now_s();
        bin *b = bin_now();
        if (get) {
            int rc = mcring_get(client, key, klen, &it);
            atomic_fetch_add(&b->gets, 1);
            if (victim_key[i])
                atomic_fetch_add(&b->victim_gets, 1);
            if (rc == MCRING_OK) {
                atomic_fetch_add(&b->hits, 1);
                if (victim_key[i])
                    atomic_fetch_add(&b->victim_hits, 1);
            } else {
                /* An origin fetch, whose value is stored. */
                atomic_fetch_add(rc == MCRING_MISS ? &b->misses : &b->errors,
                                 1);
                if (mcring_set(client, key, klen, value, sizeof(value), 0,
                               0) < 0)
                    atomic_fetch_add(&b->errors, 1);
            }
        } else if (mcring_set(client, key, klen, value, sizeof(value), 0,
                              0) < 0) {
            atomic_fetch_add(&b->errors, 1);
        }
        atomic_fetch_add(&b->calls, 1);
        atomic_fetch_add(&b->latency_ns, (long)((now_s() - t0) * 1e9));
    }
    mcring_item_release(&it);
    return NULL;
}

/* Cumulative counters at the end of each second. */
typedef struct sample {
    uint64_t connects, victim_connects, victim_probes, victim_fast_fails;
    uint32_t victim_health;
} sample;

static sample samples[MAX_SECONDS];

static sample take_sample(const char *victim)
{
    sample s = {0};
    mcring_server_stats st[MAX_SERVERS];
    size_t n = mcring_client_server_stats(client, st, MAX_SERVERS);
    for (size_t i = 0; i < n && i < MAX_SERVERS; i++) {
        s.connects += st[i].connect_attempts;
        if (strcmp(st[i].name, victim) == 0) {
            s.victim_connects = st[i].connect_attempts;
            s.victim_probes = st[i].probes;
            s.victim_fast_fails = st[i].fast_fails;
            s.victim_health = st[i].health;
        }
    }
    return s;
}

static void usage(void)
{
    fputs("usage: outage [--servers N] [--gutter G] [--threads T] "
          "[--rate OPS] [--keys K] [--before S] [--outage S] [--after S] "
          "[--kind kill|stop] [--label NAME] [--csv FILE] "
          "[-o NAME=VALUE ...]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    mcring_options *o;
    char err[512];
    if (mcring_options_new(&o) != 0)
        return 2;
    const char *extra[64];
    int nextra = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        i++;
        if (strcmp(a, "--servers") == 0)
            cfg.servers = atoi(v);
        else if (strcmp(a, "--gutter") == 0)
            cfg.gutter = atoi(v);
        else if (strcmp(a, "--threads") == 0)
            cfg.threads = atoi(v);
        else if (strcmp(a, "--rate") == 0)
            cfg.rate = atof(v);
        else if (strcmp(a, "--keys") == 0)
            cfg.keys = atoi(v);
        else if (strcmp(a, "--before") == 0)
            cfg.before = atof(v);
        else if (strcmp(a, "--outage") == 0)
            cfg.outage = atof(v);
        else if (strcmp(a, "--after") == 0)
            cfg.after = atof(v);
        else if (strcmp(a, "--kind") == 0)
            cfg.stop = strcmp(v, "stop") == 0;
        else if (strcmp(a, "--label") == 0)
            cfg.label = v;
        else if (strcmp(a, "--csv") == 0)
            cfg.csv = v;
        else if (strcmp(a, "-o") == 0 && nextra < 64)
            extra[nextra++] = v;
        else
            usage();
    }
    double total = cfg.before + cfg.outage + cfg.after;
    if (cfg.servers < 1 || cfg.servers + cfg.gutter > MAX_SERVERS ||
        cfg.threads < 1 || cfg.keys < 1 || cfg.rate <= 0 ||
        total >= MAX_SECONDS - 5)
        usage();

    /* The servers, then the gutter's. */
    int nproc = cfg.servers + cfg.gutter;
    mc_proc procs[MAX_SERVERS];
    char list[MAX_SERVERS * 32] = "", glist[MAX_SERVERS * 32] = "";
    for (int i = 0; i < nproc; i++) {
        procs[i].port = free_port();
        mc_spawn(&procs[i]);
        snprintf(procs[i].name, sizeof(procs[i].name), "127.0.0.1:%d",
                 procs[i].port);
        char *to = i < cfg.servers ? list : glist;
        if (to[0] != '\0')
            strcat(to, ",");
        strcat(to, procs[i].name);
    }
    if (mcring_options_set(o, "memcache_servers", list, err, sizeof(err)) ||
        (cfg.gutter > 0 &&
         mcring_options_set(o, "gutter_servers", glist, err, sizeof(err)))) {
        fprintf(stderr, "outage: %s\n", err);
        return 2;
    }
    char conns[16];
    snprintf(conns, sizeof(conns), "%d", cfg.threads);
    mcring_options_set(o, "memcache_max_connections", conns, NULL, 0);
    for (int i = 0; i < nextra; i++) {
        char name[128];
        const char *eq = strchr(extra[i], '=');
        if (eq == NULL || (size_t)(eq - extra[i]) >= sizeof(name))
            usage();
        snprintf(name, sizeof(name), "%.*s", (int)(eq - extra[i]), extra[i]);
        if (mcring_options_set(o, name, eq + 1, err, sizeof(err)) != 0) {
            fprintf(stderr, "outage: %s\n", err);
            return 2;
        }
    }
    if (mcring_client_new(&client, o, err, sizeof(err)) != 0) {
        fprintf(stderr, "outage: %s\n", err);
        return 2;
    }

    /* The victim: the server whose share of the keys is closest to an
     * even one (ports, and so Swift's ring, differ between runs; this
     * keeps the dead server's share alike across them). */
    int *first = calloc((size_t)cfg.keys, sizeof(int));
    long share[MAX_SERVERS] = {0};
    victim_key = calloc((size_t)cfg.keys, sizeof(bool));
    mcring_ring *ring = mcring_client_ring_ref(client);
    char key[32], value[100];
    for (int i = 0; i < cfg.keys; i++) {
        size_t klen = key_of(i, key), idx = 0;
        mcring_ring_locate(ring, key, klen, &idx, 1);
        first[i] = (int)idx;
        share[idx]++;
        value_of(i, value, sizeof(value));
        if (mcring_set(client, key, klen, value, sizeof(value), 0, 0) != 0) {
            fprintf(stderr, "outage: cannot store the key set\n");
            return 2;
        }
    }
    int v = 0;
    double even = (double)cfg.keys / cfg.servers;
    for (int i = 1; i < cfg.servers; i++)
        if (fabs((double)share[i] - even) < fabs((double)share[v] - even))
            v = i;
    const char *victim_name = mcring_ring_server(ring, (size_t)v);
    mc_proc *victim = NULL;
    for (int i = 0; i < cfg.servers; i++)
        if (strcmp(procs[i].name, victim_name) == 0)
            victim = &procs[i];
    long victim_keys = share[v];
    for (int i = 0; i < cfg.keys; i++)
        victim_key[i] = first[i] == v;
    free(first);
    mcring_ring_free(ring);
    if (victim == NULL) {
        fprintf(stderr, "outage: the ring names a server not started\n");
        return 2;
    }

    start_s = now_s();
    pthread_t *t = calloc((size_t)cfg.threads, sizeof(*t));
    for (int i = 0; i < cfg.threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
    int seconds = (int)(total + 0.5);
    double down_at = cfg.before, up_at = cfg.before + cfg.outage;
    bool is_down = false, is_back = false;
    for (int s = 0; s < seconds; s++) {
        /* The second's events first, then the sample at its end. */
        while (now_s() - start_s < s + 1.0) {
            double el = now_s() - start_s;
            if (!is_down && el >= down_at) {
                if (cfg.stop) {
                    kill(victim->pid, SIGSTOP);
                } else {
                    kill(victim->pid, SIGKILL);
                    waitpid(victim->pid, NULL, 0);
                    victim->pid = 0;
                }
                is_down = true;
            }
            if (is_down && !is_back && el >= up_at) {
                if (cfg.stop)
                    kill(victim->pid, SIGCONT);
                else
                    mc_spawn(victim);
                is_back = true;
            }
            sleep_s(0.005);
        }
        samples[s] = take_sample(victim->name);
    }
    atomic_store(&done, true);
    for (int i = 0; i < cfg.threads; i++)
        pthread_join(t[i], NULL);
    free(t);

    FILE *csv = cfg.csv != NULL ? fopen(cfg.csv, "w") : stdout;
    if (csv == NULL) {
        perror(cfg.csv);
        return 2;
    }
    fprintf(csv, "# %s: %d servers%s, %d threads at %.0f calls/s, %d keys "
                 "(%ld on the dead server), %s at %.0f s for %.0f s\n",
            cfg.label, cfg.servers, cfg.gutter ? " + gutter" : "",
            cfg.threads, cfg.rate, cfg.keys, victim_keys,
            cfg.stop ? "stopped" : "killed", down_at, cfg.outage);
    fprintf(csv, "second gets hits misses errors origin hit_rate "
                 "victim_hit_rate mean_latency_us connects victim_connects "
                 "victim_probes victim_health\n");
    long w_gets = 0, w_hits = 0, w_misses = 0, w_errors = 0, w_vgets = 0,
         w_vhits = 0, all_errors = 0;
    uint64_t w_vconn = 0, w_vprobes = 0;
    for (int s = 0; s < seconds; s++) {
        bin *b = &bins[s];
        long gets = atomic_load(&b->gets), hits = atomic_load(&b->hits);
        long misses = atomic_load(&b->misses),
             errors = atomic_load(&b->errors);
        long vgets = atomic_load(&b->victim_gets),
             vhits = atomic_load(&b->victim_hits);
        long calls = atomic_load(&b->calls);
        sample prev = s > 0 ? samples[s - 1] : (sample){0};
        if (s == 0) {
            /* Connects made while storing the key set are not the run's. */
            prev.connects = samples[0].connects;
            prev.victim_connects = samples[0].victim_connects;
        }
        uint64_t conn = samples[s].connects - prev.connects;
        uint64_t vconn = samples[s].victim_connects - prev.victim_connects;
        uint64_t vprobes = samples[s].victim_probes - prev.victim_probes;
        fprintf(csv, "%d %ld %ld %ld %ld %ld %.4f %.4f %.1f %llu %llu %llu "
                     "%u\n",
                s, gets, hits, misses, errors, gets - hits,
                gets ? (double)hits / (double)gets : 0,
                vgets ? (double)vhits / (double)vgets : 0,
                calls ? (double)atomic_load(&b->latency_ns) / calls / 1e3 : 0,
                (unsigned long long)conn, (unsigned long long)vconn,
                (unsigned long long)vprobes, samples[s].victim_health);
        all_errors += errors;
        if (s >= (int)down_at && s < (int)up_at) {
            w_gets += gets;
            w_hits += hits;
            w_misses += misses;
            w_errors += errors;
            w_vgets += vgets;
            w_vhits += vhits;
            w_vconn += vconn;
            w_vprobes += vprobes;
        }
    }
    if (csv != stdout)
        fclose(csv);
    printf("label=%s errors=%ld outage_errors=%ld outage_gets=%ld "
           "outage_misses=%ld outage_origin=%ld outage_hit_rate=%.4f "
           "outage_victim_hit_rate=%.4f outage_victim_connects=%llu "
           "outage_victim_probes=%llu\n",
           cfg.label, all_errors, w_errors, w_gets, w_misses, w_gets - w_hits,
           w_gets ? (double)w_hits / (double)w_gets : 0,
           w_vgets ? (double)w_vhits / (double)w_vgets : 0,
           (unsigned long long)w_vconn, (unsigned long long)w_vprobes);
    mcring_client_free(client);
    mcring_options_free(o);
    for (int i = 0; i < nproc; i++)
        mc_end(&procs[i]);
    free(victim_key);
    return 0;
}
