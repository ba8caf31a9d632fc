/*
 * Test harness: real memcached processes on free loopback ports, started
 * and stopped by the tests themselves, and small helpers shared by the
 * suites. Each memcached dies with the test process that started it
 * (PR_SET_PDEATHSIG), so a crashed test leaves nothing behind.
 */
#ifndef MCRING_TEST_HARNESS_H
#define MCRING_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <mcring.h>

typedef struct mc_server {
    pid_t pid;
    pid_t dying; /* killed, not reaped yet */
    int port;      /* 0 for a Unix socket */
    char path[108]; /* the Unix socket's path, or "" */
    char name[64]; /* "127.0.0.1:PORT", or the socket's path */
    char extra[512];
} mc_server;

/* Starts memcached on a free port; extra: more arguments, space-separated
 * (may be NULL). Aborts the test on failure. */
void mc_start(mc_server *s, const char *extra);
/* Starts memcached listening on the Unix socket at path (removed first;
 * the caller unlinks it after mc_stop). mc_raw does not reach it. */
void mc_start_unix(mc_server *s, const char *path);
/* Starts it again on the same port or socket (after mc_kill). */
void mc_restart(mc_server *s);
void mc_stop(mc_server *s);  /* SIGTERM and reap */
void mc_kill(mc_server *s);  /* SIGKILL and reap */
/* SIGKILL without waiting for the process to go (reaped by mc_restart or
 * mc_stop): process teardown can be slow on some kernels. */
void mc_kill_nowait(mc_server *s);
void mc_pause(mc_server *s); /* SIGSTOP */
void mc_resume(mc_server *s); /* SIGCONT */

/* A free loopback port nobody listens on (bound and released). */
int free_port(void);

/* Other processes a test runs (proxies, peers): forks and execs argv
 * (argv[0] a path, or a name looked up in PATH) with stdin and stdout on
 * /dev/null, and stderr too when quiet. The child dies with the test
 * process (PR_SET_PDEATHSIG). */
pid_t spawn_process(char *const argv[], bool quiet);
/* SIGKILL and reap (pid <= 0: nothing). */
void stop_process(pid_t pid);
/* Waits up to 5 s until a connection to the loopback port (unix_path
 * NULL) or to the Unix socket unix_path succeeds; false if pid exited
 * first or time ran out. */
bool wait_listening(pid_t pid, int port, const char *unix_path);
/* A connected socket to the loopback port or the Unix socket, or -1. */
int connect_tcp_loopback(int port);
int connect_unix_socket(const char *path);

/* Sends a raw request to the server and reads until `until` appears in the
 * reply (or 2 s pass). Returns the reply, NUL-terminated, in a static
 * buffer. For checking what mcring put on the wire. */
const char *mc_raw(const mc_server *s, const char *request, size_t len,
                   const char *until);

/* Options for a list of servers, with extra name=value pairs (NULL-ended).
 * Aborts on error. */
mcring_options *opts_for(const char *servers, ...);
/* Whether this run's clients pipeline (the fault suites run both ways:
 * MCRING_TEST_OPTS, tests/meson.build). opts_for applies the run's
 * options before the test's own. */
bool test_pipelining(void);

/* A client for those options. */
mcring_client *client_for(const mcring_options *o);

/* "a,b,c" of the servers' names into buf. */
const char *names_of(char *buf, size_t len, mc_server *s, size_t n);

/* A suite's fixture: n (up to FLEET_MAX) memcached servers on free ports
 * and a client with default options on all of them. */
#define FLEET_MAX 4
typedef struct mc_fleet {
    mc_server srv[FLEET_MAX];
    size_t n;
    char names[FLEET_MAX * 64]; /* "a,b,c", as mcring takes it */
    char json[FLEET_MAX * 68];  /* ["a", "b", "c"], for Python peers */
    mcring_options *opts;
    mcring_client *client;
} mc_fleet;
void fleet_start(mc_fleet *f, size_t n);
void fleet_stop(mc_fleet *f);

/* Captures log lines (thread-safe) for assertions. */
typedef struct log_capture {
    char lines[256][256];
    int n;
} log_capture;
void log_capture_fn(void *ud, mcring_log_level level, const char *server,
                    const char *msg);
/* How many captured lines contain text. */
int log_count(log_capture *lc, const char *text);

/* Paths given by meson through the environment. */
const char *env_path(const char *name);

/* Runs a command (argv, NULL-ended) with stdin from `input` (may be NULL),
 * collecting stdout into a malloc'd buffer (*out, *out_len). Returns the
 * exit status, or -1. */
int run_capture(char *const argv[], const char *input, size_t input_len,
                char **out, size_t *out_len);

double now_s(void);

/* A timed mcring_get from a thread of its own:
 *     timed_get g = {client, "k", 0, 0};
 *     pthread_create(&t, NULL, timed_get_run, &g);
 * and after pthread_join, g.rc is what mcring_get returned and g.took how
 * long it took, in seconds. */
typedef struct timed_get {
    mcring_client *client;
    const char *key;
    int rc;
    double took;
} timed_get;
void *timed_get_run(void *arg);

/* File descriptors this process has open (for leak checks). */
int count_open_fds(void);

/* A key (written into buf) whose try order starts with `first` (and, when
 * second is not NULL, continues with it). */
const char *key_on(mcring_client *c, const char *first, const char *second,
                   char *buf, size_t len);

#endif
