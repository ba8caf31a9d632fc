/*
 * Hostile configuration, measured: how long loading a memcache.conf or
 * building a client takes, and the peak memory it needs, for inputs made to
 * be expensive (issue 10):
 *
 *   interp-0.5KB     a 513-byte file whose %(name)s references nest ten
 *                    levels deep, eight to a line
 *   interp-3KB       the same idea in 2,673 bytes, 48 to a line
 *   options-100k     100,000 options in [memcache]
 *   servers-100k-M   a file of 100,000 servers loaded and a client built
 *                    on it, in ring mode M (and freed)
 *   free-in-reload   mcring_client_free while the watcher reloads a file
 *                    just replaced by the 100,000-server one
 *   servers-in-reload  mcring_client_set_servers at the same moment
 *
 * Each case runs in a child process (so that its peak RSS is its own) with
 * 3 GiB of address space and 120 s at most. Uses the public API only, so
 * the same file builds against older versions for before/after figures.
 *
 *   bench_config [case ...]   (default: all)
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "mcring.h"

static char dir[64];

static char *path_of(const char *name)
{
    static char buf[160];
    snprintf(buf, sizeof(buf), "%s/%s", dir, name);
    return buf;
}

static void write_file(const char *path, const char *text)
{
    char tmp[200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
    if (rename(tmp, path) != 0) /* replace it whole, as an operator would */
        abort();
}

/* Ten levels a0..a9, each line `fan` references to the level below. */
static char *interp_bomb(int fan)
{
    size_t cap = 64 + (size_t)10 * (16 + (size_t)fan * 8), n = 0;
    char *t = malloc(cap);
    n += (size_t)sprintf(t + n, "[memcache]\na0 = 0123456789\n");
    for (int level = 1; level < 10; level++) {
        n += (size_t)sprintf(t + n, "a%d = ", level);
        for (int i = 0; i < fan; i++)
            n += (size_t)sprintf(t + n, "%%(a%d)s", level - 1);
        t[n++] = '\n';
    }
    t[n] = '\0';
    return t;
}

static char *many_options(int count)
{
    char *t = malloc((size_t)count * 32 + 32);
    size_t n = (size_t)sprintf(t, "[memcache]\n");
    for (int i = 0; i < count; i++)
        n += (size_t)sprintf(t + n, "option_%d = %d\n", i, i);
    return t;
}

static char *many_servers(int count, const char *mode)
{
    char *t = malloc((size_t)count * 24 + 128);
    size_t n = (size_t)sprintf(t, "[memcache]\nring_mode = %s\n"
                                  "memcache_servers = ", mode);
    for (int i = 0; i < count; i++)
        n += (size_t)sprintf(t + n, "%s10.%d.%d.%d:11211", i ? "," : "",
                             i / 65536 % 256, i / 256 % 256, i % 256);
    t[n++] = '\n';
    t[n] = '\0';
    return t;
}

static mcring_client *client_on(const char *text)
{
    mcring_options *o;
    mcring_options_new(&o);
    char err[256] = "";
    write_file(path_of("memcache.conf"), text);
    int rc = mcring_options_load(o, path_of("memcache.conf"), err, sizeof(err));
    mcring_client *c = NULL;
    if (rc == 0)
        rc = mcring_client_new(&c, o, err, sizeof(err));
    mcring_options_free(o);
    if (rc != 0)
        fprintf(stderr, "    (%s)\n", err);
    return c;
}

/* ---- the cases (each runs in its own child; returns a short outcome) --- */

static const char *load_only(const char *text)
{
    write_file(path_of("memcache.conf"), text);
    mcring_options *o;
    mcring_options_new(&o);
    char err[256] = "";
    int rc = mcring_options_load(o, path_of("memcache.conf"), err, sizeof(err));
    mcring_options_free(o);
    static char out[300];
    snprintf(out, sizeof(out), "%s%s%.60s", mcring_err_name(rc),
             rc ? ": " : "", rc ? err : "");
    return out;
}

static const char *case_interp(int fan)
{
    return load_only(interp_bomb(fan));
}

static const char *case_servers(const char *mode)
{
    mcring_client *c = client_on(many_servers(100000, mode));
    if (c == NULL)
        return "failed";
    mcring_client_free(c);
    return "built and freed";
}

/* Starts a client watching a small file, replaces the file with the
 * 100,000-server one, waits for the watcher to pick it up, then runs op
 * and reports how long op took. */
static double during_reload(int op)
{
    mcring_client *c = client_on("[memcache]\nmemcache_servers = 10.0.0.1\n");
    if (c == NULL || mcring_client_watch(c, path_of("memcache.conf"), 0.05,
                                         NULL, 0) < 0)
        abort();
    usleep(20000);
    write_file(path_of("memcache.conf"), many_servers(100000, "swift"));
    /* Past the watcher's next look: the reload is under way, reading the
     * file (free) or, half a second on, building the ring (set_servers),
     * which older versions did under the registry lock. */
    usleep(op == 0 ? 80000 : 500000);
    double t0 = bench_now_ns();
    if (op == 0) {
        mcring_client_free(c);
    } else {
        mcring_client_set_servers(c, "10.0.0.2,10.0.0.3", NULL, 0);
    }
    double ms = (bench_now_ns() - t0) / 1e6;
    if (op != 0)
        mcring_client_free(c);
    return ms;
}

static const char *case_free_in_reload(void)
{
    static char out[64];
    snprintf(out, sizeof(out), "mcring_client_free took %.1f ms",
             during_reload(0));
    return out;
}

static const char *case_servers_in_reload(void)
{
    static char out[64];
    snprintf(out, sizeof(out), "mcring_client_set_servers took %.1f ms",
             during_reload(1));
    return out;
}

/* ---- running a case in a child --------------------------------------- */

static void run(const char *name, const char *(*fn)(const void *),
                const void *arg)
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        abort();
    double t0 = bench_now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        struct rlimit as = {3ull << 30, 3ull << 30};
        setrlimit(RLIMIT_AS, &as);
        alarm(120);
        const char *outcome = fn(arg);
        if (write(pipefd[1], outcome, strlen(outcome)) < 0)
            _exit(2);
        _exit(0);
    }
    close(pipefd[1]);
    char outcome[300] = "";
    ssize_t got = read(pipefd[0], outcome, sizeof(outcome) - 1);
    outcome[got > 0 ? got : 0] = '\0';
    close(pipefd[0]);
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    double s = (bench_now_ns() - t0) / 1e9;
    if (WIFSIGNALED(status))
        snprintf(outcome, sizeof(outcome), "killed by signal %d%s",
                 WTERMSIG(status),
                 WTERMSIG(status) == SIGALRM ? " (120 s limit)" : "");
    else if (outcome[0] == '\0')
        snprintf(outcome, sizeof(outcome), "exit %d (3 GiB limit?)",
                 WEXITSTATUS(status));
    printf("%-20s %9.3f %9.1f  %s\n", name, s, (double)ru.ru_maxrss / 1024,
           outcome);
    fflush(stdout);
}

static const char *run_interp(const void *arg)
{
    return case_interp(*(const int *)arg);
}

static const char *run_options(const void *arg)
{
    (void)arg;
    return load_only(many_options(100000));
}

static const char *run_servers(const void *arg)
{
    return case_servers(arg);
}

static const char *run_free(const void *arg)
{
    (void)arg;
    return case_free_in_reload();
}

static const char *run_set(const void *arg)
{
    (void)arg;
    return case_servers_in_reload();
}

static bool wanted(int argc, char **argv, const char *name)
{
    if (argc < 2)
        return true;
    for (int i = 1; i < argc; i++)
        if (strncmp(name, argv[i], strlen(argv[i])) == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    snprintf(dir, sizeof(dir), "/tmp/mcring-bench-config-%d", getpid());
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
    if (system(cmd) != 0)
        return 1;
    printf("# hostile configuration: wall time and peak RSS of a child "
           "process per case\n");
    printf("%-20s %9s %9s  %s\n", "case", "seconds", "peak_MiB", "outcome");
    static const int fan8 = 8, fan48 = 48;
    if (wanted(argc, argv, "interp-0.5KB")) {
        char *t = interp_bomb(fan8);
        printf("# interp-0.5KB: %zu bytes\n", strlen(t));
        free(t);
        run("interp-0.5KB", run_interp, &fan8);
    }
    if (wanted(argc, argv, "interp-3KB")) {
        char *t = interp_bomb(fan48);
        printf("# interp-3KB: %zu bytes\n", strlen(t));
        free(t);
        run("interp-3KB", run_interp, &fan48);
    }
    if (wanted(argc, argv, "options-100k"))
        run("options-100k", run_options, NULL);
    static const char *const modes[] = {
        "swift", "consistent", "libmemcached-ketama",
        "libmemcached-ketama-weighted", "twemproxy", "pymemcache"};
    for (int m = 0; m < 6; m++) {
        char name[64];
        snprintf(name, sizeof(name), "servers-100k-%s", modes[m]);
        if (wanted(argc, argv, name))
            run(name, run_servers, modes[m]);
    }
    if (wanted(argc, argv, "free-in-reload"))
        run("free-in-reload", run_free, NULL);
    if (wanted(argc, argv, "servers-in-reload"))
        run("servers-in-reload", run_set, NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
