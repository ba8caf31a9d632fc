/*
 * The stress scenario: many threads (256 by default) sharing one client
 * with 2 connections per server — every server's requests pipelined —
 * doing mixed get, multi-get, set, delete and incr against six real
 * memcached servers, while another thread swaps the server list (adding,
 * removing, replacing, and flipping the ring mode) as fast as it can,
 * stops a server in the list for a moment now and then (SIGSTOP: its
 * replies are delayed while requests pile up behind them), and kills a
 * server that has left the list, restarting it before it may come back.
 *
 * Data integrity: each key has one writer thread, which numbers its
 * values; a value names its key, its writer and its number, and carries a
 * checksum. A read must return that key's value with a number no newer
 * than the last one written (an older one is fine: a key may be read from
 * a server it was written to before a swap) — never another key's, never
 * a torn one. It measures; the front-ends judge: test_stress.c (the
 * Criterion test) and tsan_stress.c (a plain driver for ThreadSanitizer,
 * whose runtime Criterion's runner cannot live with).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "scenario.h"

static mc_server srv[NSERVERS];

/* Server lists by index into srv; KILLABLE appears in some. */
static const int lists[][NSERVERS + 1] = {
    {0, 1, 2, 3, -1},       {0, 1, 2, 4, -1},    {0, 1, -1},
    {0, 1, 2, 3, 4, 5, -1}, {2, 3, 4, 5, -1},    {1, 3, 5, -1},
    {4, 0, -1},             {3, 2, 1, 0, 4, -1},
};
#define NLISTS (int)(sizeof(lists) / sizeof(lists[0]))

static bool has(int l, int s)
{
    for (int i = 0; lists[l][i] >= 0; i++)
        if (lists[l][i] == s)
            return true;
    return false;
}

static void list_text(int l, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; lists[l][i] >= 0; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "",
                                srv[lists[l][i]].name);
}

typedef struct shared {
    mcring_client *client;
    int threads;
    atomic_bool stop;
    atomic_long failures, bad_values, bad_counters, over_limit;
    atomic_long ops, multi_gets, deletes;
    atomic_long last_seq[NKEYS]; /* the newest number written per key */
    int first_failure;
} shared;

static shared S;

/* Error log lines: each must name the killable server. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static long log_lines, log_foreign;
static char foreign_example[256];

static void stress_log(void *ud, mcring_log_level level, const char *server,
                       const char *msg)
{
    (void)ud;
    (void)level;
    pthread_mutex_lock(&log_lock);
    log_lines++;
    bool killable = (server != NULL && strcmp(server, srv[KILLABLE].name) == 0);
    /* "All memcached servers error-limited" names none; it may only come
     * with the killable server's failures, which the count above shows. */
    if (!killable && strstr(msg, "All memcached servers") == NULL) {
        log_foreign++;
        snprintf(foreign_example, sizeof(foreign_example), "%s", msg);
    }
    pthread_mutex_unlock(&log_lock);
}

static uint32_t fnv(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

/* value = "<key>|<writer>|<seq>|<payload>#<fnv of everything before #>" */
static size_t make_value(char *buf, const char *key, int t, long seq,
                         unsigned *rng)
{
    int n = snprintf(buf, 64, "%s|%d|%ld|", key, t, seq);
    size_t len = (size_t)n + (rand_r(rng) % 1500);
    for (size_t i = (size_t)n; i < len; i++)
        buf[i] = (char)('a' + (i * 7 + (size_t)seq) % 26);
    len += (size_t)sprintf(buf + len, "#%08x", fnv(buf, len));
    return len;
}

/* Key k's one writer. */
static int owner_of(int k)
{
    return k % S.threads;
}

/* A value read for key k: whole (checksum), for k, by its writer, and
 * numbered no later than the last write of k. */
static bool value_ok(int k, const mcring_item *it)
{
    char key[16];
    int kl = snprintf(key, sizeof(key), "k%d", k);
    if (it->len < (size_t)kl + 10 || memcmp(it->data, key, (size_t)kl) != 0 ||
        it->data[kl] != '|')
        return false;
    const char *hash = it->data + it->len - 9;
    if (hash[0] != '#')
        return false;
    char want[10];
    snprintf(want, sizeof(want), "#%08x",
             fnv(it->data, (size_t)(hash - it->data)));
    if (memcmp(hash, want, 9) != 0)
        return false;
    int writer = -1;
    long seq = -1;
    if (sscanf(it->data + kl + 1, "%d|%ld|", &writer, &seq) != 2)
        return false;
    return writer == owner_of(k) &&
           seq <= atomic_load_explicit(&S.last_seq[k], memory_order_acquire);
}

static void record_failure(int rc)
{
    if (atomic_fetch_add(&S.failures, 1) == 0)
        S.first_failure = rc;
}

/* A key this thread writes (it owns k when k % threads == t). */
static int my_key(int t, unsigned *rng)
{
    int per = (NKEYS - 1 - t) / S.threads + 1;
    return t + S.threads * (int)(rand_r(rng) % (unsigned)per);
}

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    unsigned rng = (unsigned)t * 7919u + 1;
    long seq = 0;
    uint64_t mine[NCOUNTERS] = {0};
    char key[32], *value = malloc(2048);
    mcring_item it = MCRING_ITEM_INIT;
    enum { BATCH = 8 };
    mcring_item items[BATCH];
    for (int i = 0; i < BATCH; i++)
        items[i] = (mcring_item)MCRING_ITEM_INIT;
    while (!atomic_load(&S.stop)) {
        int op = rand_r(&rng) % 100;
        int rc = 0;
        if (op < 10) {
            int j = rand_r(&rng) % NCOUNTERS;
            snprintf(key, sizeof(key), "ctr-%d-%d", t, j);
            uint64_t v;
            mine[j]++;
            rc = mcring_incr(S.client, key, strlen(key), 1, 0, &v);
            /* Only this thread adds to its counters: a counter may have
             * been lost (its server left) but never exceed our total. */
            if (rc == MCRING_OK && (v < 1 || v > mine[j]))
                atomic_fetch_add(&S.bad_counters, 1);
        } else if (op < 30 && t < NKEYS) {
            int k = my_key(t, &rng);
            snprintf(key, sizeof(key), "k%d", k);
            if (op < 27) {
                /* Announce the number before writing it: a reader that
                 * sees the new value already sees the number. */
                long n = ++seq;
                atomic_store_explicit(&S.last_seq[k], n, memory_order_release);
                size_t len = make_value(value, key, t, n, &rng);
                rc = mcring_set(S.client, key, strlen(key), value, len, 0, 0);
            } else {
                rc = mcring_delete(S.client, key, strlen(key), NULL, 0);
                atomic_fetch_add(&S.deletes, 1);
            }
        } else if (op < 45) {
            int ks[BATCH];
            char names[BATCH][16];
            mcring_key keys[BATCH];
            int st[BATCH];
            for (int i = 0; i < BATCH; i++) {
                ks[i] = rand_r(&rng) % NKEYS;
                int n = snprintf(names[i], sizeof(names[i]), "k%d", ks[i]);
                keys[i] = (mcring_key){names[i], (size_t)n};
            }
            rc = mcring_get_multi(S.client, keys, BATCH, NULL, 0, items, st);
            for (int i = 0; i < BATCH; i++)
                if (st[i] == MCRING_OK && !value_ok(ks[i], &items[i]))
                    atomic_fetch_add(&S.bad_values, 1);
            atomic_fetch_add(&S.multi_gets, 1);
        } else {
            int k = rand_r(&rng) % NKEYS;
            snprintf(key, sizeof(key), "k%d", k);
            rc = mcring_get(S.client, key, strlen(key), &it);
            if (rc == MCRING_OK && !value_ok(k, &it))
                atomic_fetch_add(&S.bad_values, 1);
        }
        if (rc < 0)
            record_failure(rc);
        atomic_fetch_add_explicit(&S.ops, 1, memory_order_relaxed);
    }
    for (int i = 0; i < BATCH; i++)
        mcring_item_release(&items[i]);
    mcring_item_release(&it);
    free(value);
    return NULL;
}

/* The killable server leaves (SIGKILL) and comes back on the same port;
 * process teardown can be slow, so coming back happens on its own thread
 * and the swapper only picks lists with it while it is up. */
static atomic_bool killable_up = true;

static void *restarter(void *arg)
{
    (void)arg;
    usleep(300000); /* stay gone for a while */
    mc_restart(&srv[KILLABLE]);
    atomic_store(&killable_up, true);
    return NULL;
}

static void *watcher(void *arg)
{
    (void)arg;
    mcring_server_stats st[NSERVERS];
    while (!atomic_load(&S.stop)) {
        size_t n = mcring_client_server_stats(S.client, st, NSERVERS);
        for (size_t i = 0; i < n && i < NSERVERS; i++)
            if (st[i].conns_open > st[i].max_connections)
                atomic_fetch_add(&S.over_limit, 1);
        usleep(500);
    }
    return NULL;
}

static long curr_connections(const mc_server *s)
{
    const char *r = mc_raw(s, "stats\r\n", 7, "END\r\n");
    const char *p = strstr(r, "STAT curr_connections ");
    return p ? atol(p + 22) : -1;
}

void stress_run(double seconds, int threads, stress_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    rep->seconds = seconds;
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    rep->threads = threads;
    S.threads = threads;
    for (int i = 0; i < NSERVERS; i++)
        mc_start(&srv[i], NULL);
    long baseline[NSERVERS];
    for (int i = 0; i < NSERVERS; i++)
        baseline[i] = curr_connections(&srv[i]);
    int fds_before = count_open_fds();

    char text[512], maxc[8];
    snprintf(maxc, sizeof(maxc), "%d", MAX_CONNS);
    list_text(0, text, sizeof(text));
    mcring_options *o = opts_for(text, "memcache_max_connections", maxc,
                                 "pool_timeout", "5", "io_timeout", "5", NULL);
    mcring_options_set_log(o, stress_log, NULL);
    S.client = client_for(o);

    static pthread_t workers[MAX_THREADS];
    pthread_t watch;
    pthread_attr_t small;
    pthread_attr_init(&small);
    pthread_attr_setstacksize(&small, 256 * 1024);
    for (int t = 0; t < threads; t++)
        pthread_create(&workers[t], &small, worker, (void *)(intptr_t)t);
    pthread_attr_destroy(&small);
    pthread_create(&watch, NULL, watcher, NULL);

    unsigned rng = 12345;
    long swaps = 0, kills = 0, mode_flips = 0, stops = 0;
    double last_kill = 0, last_stop = now_s();
    pthread_t restart_thread;
    bool restarting = false;
    double end = now_s() + seconds;
    char err[256];
    while (now_s() < end) {
        int next = rand_r(&rng) % NLISTS;
        if (has(next, KILLABLE) && !atomic_load(&killable_up))
            continue;
        list_text(next, text, sizeof(text));
        if (swaps % 25 == 24) {
            /* Now and then replace everything: new list and ring mode. */
            mcring_options *n = opts_for(text, "memcache_max_connections", maxc,
                                         "pool_timeout", "5", "io_timeout", "5",
                                         "ring_mode",
                                         mode_flips % 2 ? "swift" : "consistent",
                                         NULL);
            mcring_options_set_log(n, stress_log, NULL);
            if (mcring_client_reconfigure(S.client, n, err, sizeof(err)) != 0 &&
                rep->swap_errors++ == 0)
                snprintf(rep->swap_error, sizeof(rep->swap_error), "%s", err);
            mcring_options_free(n);
            mode_flips++;
        } else {
            if (mcring_client_set_servers(S.client, text, err,
                                          sizeof(err)) != 0 &&
                rep->swap_errors++ == 0)
                snprintf(rep->swap_error, sizeof(rep->swap_error), "%s", err);
        }
        swaps++;
        if (!has(next, KILLABLE) && atomic_load(&killable_up) &&
            now_s() - last_kill > 1.0 && rand_r(&rng) % 20 == 0) {
            if (restarting)
                pthread_join(restart_thread, NULL);
            atomic_store(&killable_up, false);
            mc_kill_nowait(&srv[KILLABLE]); /* it really leaves */
            pthread_create(&restart_thread, NULL, restarter, NULL);
            restarting = true;
            last_kill = now_s();
            kills++;
        }
        if (now_s() - last_stop > 0.25) {
            /* A server in the list stops answering for a moment: its
             * replies come late, with requests piled up behind them. */
            int victim = lists[next][rand_r(&rng) % 2];
            mc_pause(&srv[victim]);
            usleep((useconds_t)(20000 + rand_r(&rng) % 60000));
            mc_resume(&srv[victim]);
            last_stop = now_s();
            stops++;
        }
        /* Mostly back to back: under load a sleeping swapper waits long
         * for a time slice, and the point is to swap while calls run. */
        if (rand_r(&rng) % 8 == 0)
            usleep((useconds_t)(rand_r(&rng) % 1000));
    }
    atomic_store(&S.stop, true);
    double t_stop = now_s();
    for (int t = 0; t < threads; t++)
        pthread_join(workers[t], NULL);
    pthread_join(watch, NULL);
    double t_joined = now_s();
    mcring_client_free(S.client);
    rep->join_seconds = t_joined - t_stop;
    rep->free_seconds = now_s() - t_joined;
    mcring_options_free(o);
    if (restarting)
        pthread_join(restart_thread, NULL);

    rep->ops = atomic_load(&S.ops);
    rep->multi_gets = atomic_load(&S.multi_gets);
    rep->deletes = atomic_load(&S.deletes);
    rep->stops = stops;
    rep->swaps = swaps;
    rep->mode_flips = mode_flips;
    rep->kills = kills;
    rep->log_lines = log_lines;
    rep->failures = atomic_load(&S.failures);
    rep->first_failure = S.first_failure;
    rep->foreign_logs = log_foreign;
    snprintf(rep->foreign_example, sizeof(rep->foreign_example), "%s",
             foreign_example);
    rep->bad_values = atomic_load(&S.bad_values);
    rep->bad_counters = atomic_load(&S.bad_counters);
    rep->over_limit = atomic_load(&S.over_limit);

    /* Nothing left open: memcached sees its connection count back at the
     * baseline (it notices our closes asynchronously), and this process
     * holds the same descriptors as before. */
    for (int i = 0; i < NSERVERS; i++) {
        if (i == KILLABLE)
            continue; /* restarted: its baseline is gone */
        double deadline = now_s() + 5;
        long now = curr_connections(&srv[i]);
        while (now > baseline[i] && now_s() < deadline) {
            usleep(20000);
            now = curr_connections(&srv[i]);
        }
        if (now - baseline[i] > rep->leaked_connections)
            rep->leaked_connections = now - baseline[i];
    }
    rep->fds_before = fds_before;
    rep->fds_after = count_open_fds();
    for (int i = 0; i < NSERVERS; i++)
        mc_stop(&srv[i]);
}

int stress_judge(const stress_report *r)
{
    int bad = 0;
    fprintf(stderr,
            "stress: %.0f s, %d threads on %d connections per server, %ld "
            "ops (%ld multi-gets, %ld deletes), %ld swaps (%ld with a ring "
            "mode flip), %ld stops, %ld kills, %ld log lines; joined in %.3f "
            "s, freed in %.3f s\n",
            r->seconds, r->threads, MAX_CONNS, r->ops, r->multi_gets,
            r->deletes, r->swaps, r->mode_flips, r->stops, r->kills,
            r->log_lines, r->join_seconds, r->free_seconds);
#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "stress: FAILED: " __VA_ARGS__);                   \
            fputc('\n', stderr);                                               \
            bad++;                                                             \
        }                                                                      \
    } while (0)
    /* A starved swapper (ThreadSanitizer, 256 threads on 2 cores) still
     * swaps dozens of times a second. */
    CHECK(r->swaps >= (long)(25 * r->seconds), "only %ld swaps (at least 25 "
                                               "a second)",
          r->swaps);
    CHECK(r->ops > 10000, "only %ld calls", r->ops);
    CHECK(r->swap_errors == 0, "%ld swaps failed: %s", r->swap_errors,
          r->swap_error);
    CHECK(r->failures == 0, "%ld calls failed, the first with %s", r->failures,
          mcring_err_name(r->first_failure));
    CHECK(r->foreign_logs == 0, "an error named a server that never left: %s",
          r->foreign_example);
    CHECK(r->stops >= 2, "only %ld stops", r->stops);
    CHECK(r->bad_values == 0,
          "%ld values read were another key's, torn, or newer than written",
          r->bad_values);
    CHECK(r->bad_counters == 0, "%ld counters went beyond what was added",
          r->bad_counters);
    CHECK(r->over_limit == 0, "max_connections exceeded %ld times",
          r->over_limit);
    CHECK(r->leaked_connections <= 0, "a server keeps %ld connections open",
          r->leaked_connections);
    CHECK(r->fds_after == r->fds_before, "file descriptors: %d before, %d after",
          r->fds_before, r->fds_after);
#undef CHECK
    return bad;
}
