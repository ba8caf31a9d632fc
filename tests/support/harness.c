#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* The harness runs under Criterion, and also in plain drivers (the
 * ThreadSanitizer stress driver: Criterion's runner does not work under
 * TSan). HARNESS_PLAIN selects printing and aborting instead. */
#ifdef HARNESS_PLAIN
#define H_ASSERT(cond, ...)                                                    \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "harness: " __VA_ARGS__);                          \
            fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__);                 \
            abort();                                                           \
        }                                                                      \
    } while (0)
#else
#include <criterion/criterion.h>
#define H_ASSERT(cond, ...) cr_assert(cond, __VA_ARGS__)
#endif
#define H_FAIL(...) H_ASSERT(0, __VA_ARGS__)

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void *timed_get_run(void *arg)
{
    timed_get *g = arg;
    mcring_item it = MCRING_ITEM_INIT;
    double t0 = now_s();
    g->rc = mcring_get(g->client, g->key, strlen(g->key), &it);
    g->took = now_s() - t0;
    mcring_item_release(&it);
    return NULL;
}

const char *env_path(const char *name)
{
    const char *v = getenv(name);
    H_ASSERT(v != NULL && *v, "environment variable %s is not set (run "
                               "the tests through meson test)",
              name);
    return v;
}

int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    H_ASSERT(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    H_ASSERT(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: %s",
             strerror(errno));
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

int connect_tcp_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int connect_unix_socket(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

pid_t spawn_process(char *const argv[], bool quiet)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    H_ASSERT(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(devnull, 1);
        if (quiet)
            dup2(devnull, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

void stop_process(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

bool wait_listening(pid_t pid, int port, const char *unix_path)
{
    for (int i = 0; i < 500; i++) {
        int fd = unix_path != NULL ? connect_unix_socket(unix_path)
                                   : connect_tcp_loopback(port);
        if (fd >= 0) {
            close(fd);
            return true;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return false;
        usleep(10000);
    }
    return false;
}

/* Starts memcached for s: on s->port, or on the Unix socket s->path when
 * it is set; s->extra holds more arguments. */
static pid_t spawn_memcached(const mc_server *s)
{
    const char *bin = getenv("MCRING_TEST_MEMCACHED");
    if (bin == NULL || *bin == '\0')
        bin = "memcached";
    char portbuf[16];
    snprintf(portbuf, sizeof(portbuf), "%d", s->port);
    char *args[64];
    int n = 0;
    args[n++] = (char *)bin;
    if (geteuid() == 0) {
        args[n++] = "-u";
        args[n++] = "root";
    }
    if (s->path[0] != '\0') {
        args[n++] = "-s";
        args[n++] = (char *)s->path;
    } else {
        args[n++] = "-l";
        args[n++] = "127.0.0.1";
        args[n++] = "-p";
        args[n++] = portbuf;
        args[n++] = "-U";
        args[n++] = "0";
    }
    args[n++] = "-t";
    args[n++] = "1";
    args[n++] = "-m";
    args[n++] = "64";
    char extra_copy[512];
    snprintf(extra_copy, sizeof(extra_copy), "%s", s->extra);
    for (char *tok = strtok(extra_copy, " "); tok && n < 62;
         tok = strtok(NULL, " "))
        args[n++] = tok;
    args[n] = NULL;
    return spawn_process(args, false);
}

/* Waits until s's memcached accepts connections; false if it died. */
static bool wait_ready(const mc_server *s)
{
    return wait_listening(s->pid, s->port, s->path[0] ? s->path : NULL);
}

void mc_start(mc_server *s, const char *extra)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->extra, sizeof(s->extra), "%s", extra ? extra : "");
    for (int attempt = 0; attempt < 10; attempt++) {
        s->port = free_port();
        s->pid = spawn_memcached(s);
        if (wait_ready(s)) {
            snprintf(s->name, sizeof(s->name), "127.0.0.1:%d", s->port);
            return;
        }
        stop_process(s->pid);
    }
    H_FAIL("could not start memcached");
}

void mc_start_unix(mc_server *s, const char *path)
{
    memset(s, 0, sizeof(*s));
    H_ASSERT(strlen(path) < sizeof(s->path) && strlen(path) < sizeof(s->name),
             "socket path too long: %s", path);
    snprintf(s->path, sizeof(s->path), "%s", path);
    snprintf(s->name, sizeof(s->name), "%s", path);
    unlink(path);
    s->pid = spawn_memcached(s);
    if (!wait_ready(s)) {
        stop_process(s->pid);
        H_FAIL("memcached on the Unix socket %s did not start", path);
    }
}

static void reap_dying(mc_server *s)
{
    if (s->dying > 0) {
        waitpid(s->dying, NULL, 0);
        s->dying = 0;
    }
}

void mc_kill_nowait(mc_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    s->dying = s->pid;
    s->pid = 0;
}

void mc_restart(mc_server *s)
{
    reap_dying(s);
    for (int attempt = 0; attempt < 50; attempt++) {
        s->pid = spawn_memcached(s);
        if (wait_ready(s))
            return;
        stop_process(s->pid);
        usleep(100000); /* the old socket may linger briefly */
    }
    H_FAIL("could not restart memcached on port %d", s->port);
}

void mc_stop(mc_server *s)
{
    reap_dying(s);
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGCONT);
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

void mc_kill(mc_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

/* True when every thread of pid is stopped ('T' in /proc/.../stat). */
static bool all_stopped(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    bool stopped = true;
    struct dirent *e;
    while (stopped && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[384], buf[512];
        snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *close = strrchr(buf, ')');
        stopped = close != NULL && close[1] == ' ' && close[2] == 'T';
    }
    closedir(d);
    return stopped;
}

void mc_pause(mc_server *s)
{
    /* SIGSTOP lands when each thread next leaves the kernel; wait until it
     * has, or a request sent right after could still be answered. */
    kill(s->pid, SIGSTOP);
    for (int i = 0; i < 500 && !all_stopped(s->pid); i++)
        usleep(2000);
}

void mc_resume(mc_server *s)
{
    kill(s->pid, SIGCONT);
}

const char *mc_raw(const mc_server *s, const char *request, size_t len,
                   const char *until)
{
    static char buf[1 << 16];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)s->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    H_ASSERT(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0,
             "connect to %s: %s", s->name, strerror(errno));
    H_ASSERT(write(fd, request, len) == (ssize_t)len, "write: %s",
             strerror(errno));
    size_t n = 0;
    double deadline = now_s() + 2;
    buf[0] = '\0';
    while (n < sizeof(buf) - 1 && now_s() < deadline &&
           (until == NULL || strstr(buf, until) == NULL)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
    }
    close(fd);
    return buf;
}

mcring_options *opts_for(const char *servers, ...)
{
    mcring_options *o;
    char err[256];
    H_ASSERT(mcring_options_new(&o) == 0, "out of memory");
    H_ASSERT(mcring_options_set(o, "memcache_servers", servers, err,
                                 sizeof(err)) == 0,
              "%s", err);
    /* The run's mode (tests/meson.build), before the test's own options. */
    const char *extra = getenv("MCRING_TEST_OPTS");
    if (extra != NULL && *extra != '\0') {
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", extra);
        char *save = NULL;
        for (char *kv = strtok_r(buf, ",", &save); kv != NULL;
             kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            H_ASSERT(eq != NULL, "MCRING_TEST_OPTS: '%s' is not name=value", kv);
            *eq = '\0';
            H_ASSERT(mcring_options_set(o, kv, eq + 1, err, sizeof(err)) == 0,
                     "%s", err);
        }
    }
    va_list ap;
    va_start(ap, servers);
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        H_ASSERT(mcring_options_set(o, name, value, err, sizeof(err)) == 0,
                  "%s", err);
    }
    va_end(ap);
    return o;
}

bool test_pipelining(void)
{
    const char *extra = getenv("MCRING_TEST_OPTS");
    return extra == NULL || strstr(extra, "pipelining=false") == NULL;
}

mcring_client *client_for(const mcring_options *o)
{
    mcring_client *c;
    char err[256];
    H_ASSERT(mcring_client_new(&c, o, err, sizeof(err)) == 0, "%s", err);
    return c;
}

const char *names_of(char *buf, size_t len, mc_server *s, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "",
                                s[i].name);
    return buf;
}

void fleet_start(mc_fleet *f, size_t n)
{
    H_ASSERT(n >= 1 && n <= FLEET_MAX, "fleet of %zu servers", n);
    f->n = n;
    for (size_t i = 0; i < n; i++)
        mc_start(&f->srv[i], NULL);
    names_of(f->names, sizeof(f->names), f->srv, n);
    size_t off = (size_t)snprintf(f->json, sizeof(f->json), "[");
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(f->json + off, sizeof(f->json) - off,
                                "%s\"%s\"", i ? ", " : "", f->srv[i].name);
    snprintf(f->json + off, sizeof(f->json) - off, "]");
    f->opts = opts_for(f->names, NULL);
    f->client = client_for(f->opts);
}

void fleet_stop(mc_fleet *f)
{
    mcring_client_free(f->client);
    mcring_options_free(f->opts);
    f->client = NULL;
    f->opts = NULL;
    for (size_t i = 0; i < f->n; i++)
        mc_stop(&f->srv[i]);
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_capture_fn(void *ud, mcring_log_level level, const char *server,
                    const char *msg)
{
    (void)level;
    (void)server;
    log_capture *lc = ud;
    pthread_mutex_lock(&log_lock);
    if (lc->n < 256)
        snprintf(lc->lines[lc->n++], sizeof(lc->lines[0]), "%s", msg);
    pthread_mutex_unlock(&log_lock);
}

int log_count(log_capture *lc, const char *text)
{
    int n = 0;
    pthread_mutex_lock(&log_lock);
    for (int i = 0; i < lc->n; i++)
        if (strstr(lc->lines[i], text) != NULL)
            n++;
    pthread_mutex_unlock(&log_lock);
    return n;
}

int run_capture(char *const argv[], const char *input, size_t input_len,
                char **out, size_t *out_len)
{
    int in[2], outp[2];
    if (pipe(in) != 0 || pipe(outp) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(outp[1], 1);
        close(in[1]);
        close(outp[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    /* Feed stdin from a thread-free loop: write what fits, read what comes,
     * so neither side blocks on a full pipe. */
    size_t cap = 1 << 16, n = 0, written = 0;
    char *buf = malloc(cap);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    if (input == NULL || input_len == 0) {
        close(in[1]);
        in[1] = -1;
    }
    for (;;) {
        struct pollfd p[2] = {{outp[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
        int np = in[1] >= 0 ? 2 : 1;
        if (poll(p, (nfds_t)np, 30000) <= 0)
            break;
        if (np == 2 && (p[1].revents & (POLLOUT | POLLERR))) {
            ssize_t w = write(in[1], input + written, input_len - written);
            if (w > 0)
                written += (size_t)w;
            if (w < 0 || written == input_len) {
                close(in[1]);
                in[1] = -1;
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP)) {
            if (n + 4096 > cap) {
                cap *= 2;
                buf = realloc(buf, cap);
            }
            ssize_t r = read(outp[0], buf + n, cap - n - 1);
            if (r <= 0)
                break;
            n += (size_t)r;
        }
    }
    if (in[1] >= 0)
        close(in[1]);
    close(outp[0]);
    buf[n] = '\0';
    int status;
    waitpid(pid, &status, 0);
    *out = buf;
    *out_len = n;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const char *key_on(mcring_client *c, const char *first, const char *second,
                   char *buf, size_t len)
{
    mcring_ring *r = mcring_client_ring_ref(c);
    for (int i = 0; i < 100000; i++) {
        snprintf(buf, len, "key-%d", i);
        size_t idx[8];
        size_t n = mcring_ring_locate(r, buf, strlen(buf), idx, 8);
        if (n > 0 && strcmp(mcring_ring_server(r, idx[0]), first) == 0 &&
            (second == NULL ||
             (n > 1 && strcmp(mcring_ring_server(r, idx[1]), second) == 0))) {
            mcring_ring_free(r);
            return buf;
        }
    }
    mcring_ring_free(r);
    H_FAIL("no key starts at %s", first);
    return NULL;
}

int count_open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    H_ASSERT(d != NULL, "/proc/self/fd: %s", strerror(errno));
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}
