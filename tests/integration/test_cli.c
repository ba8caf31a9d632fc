/* The mcring command line against real servers. */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "harness.h"

static mc_server srv[3];
static char servers[256];

static void three(void)
{
    for (int i = 0; i < 3; i++)
        mc_start(&srv[i], NULL);
    names_of(servers, sizeof(servers), srv, 3);
}

static void stop_all(void)
{
    for (int i = 0; i < 3; i++)
        mc_stop(&srv[i]);
}

TestSuite(cli, .init = three, .fini = stop_all, .timeout = 60);

Test(cli, set_get_delete_and_exit_codes)
{
    char *out;
    cr_assert_eq(
        cli_run(NULL, servers, NULL, "set", "greeting", "hello world", NULL),
        0);
    cr_assert_eq(cli_run(&out, servers, NULL, "get", "greeting", NULL), 0);
    cr_assert_str_eq(out, "hello world");
    free(out);
    cr_assert_eq(cli_run(&out, servers, NULL, "get", "nothing", NULL), 1,
                 "a miss");
    cr_assert_str_eq(out, "", "prints nothing");
    free(out);
    cr_assert_eq(cli_run(NULL, servers, NULL, "delete", "greeting", NULL), 0);
    cr_assert_eq(cli_run(NULL, servers, NULL, "delete", "greeting", NULL), 1);
    cr_assert_eq(cli_run(NULL, servers, NULL, "get", NULL), 2, "usage error");
    cr_assert_eq(cli_run(NULL, servers, NULL, "frobnicate", NULL), 2);
}

Test(cli, incr_decr_print_the_number)
{
    char *out;
    cr_assert_eq(
        cli_run(&out, servers, NULL, "incr", "hits", "5", "--ttl", "60", NULL),
        0);
    cr_assert_str_eq(out, "5\n");
    free(out);
    cr_assert_eq(cli_run(&out, servers, NULL, "incr", "hits", "10", NULL), 0);
    cr_assert_str_eq(out, "15\n");
    free(out);
    cr_assert_eq(cli_run(&out, servers, NULL, "decr", "hits", "20", NULL), 0);
    cr_assert_str_eq(out, "0\n");
    free(out);
    cr_assert_eq(cli_run(NULL, servers, NULL, "incr", "hits", "lots", NULL), 2);
    cr_assert_eq(cli_run(NULL, servers, NULL, "set", "word", "abc", NULL), 0);
    cr_assert_eq(cli_run(NULL, servers, NULL, "incr", "word", "1", NULL), 2);
}

Test(cli, errors_exit_2)
{
    char *argv[] = {(char *)env_path("MCRING_CLI"), "--servers", "127.0.0.1:1",
                    "get", "k", NULL};
    char *out;
    size_t len;
    cr_assert_eq(run_capture(argv, NULL, 0, &out, &len), 2);
    free(out);
    char *bad[] = {(char *)env_path("MCRING_CLI"), "--servers", "::1", "get",
                   "k", NULL};
    cr_assert_eq(run_capture(bad, NULL, 0, &out, &len), 2);
    free(out);
}

Test(cli, locate_from_arguments_and_from_stdin)
{
    char *a, *b;
    cr_assert_eq(cli_run(&a, servers, NULL, "locate", "k1", "k2", "k3", NULL),
                 0);
    cr_assert_eq(cli_run(&b, servers, "k1\nk2\nk3\n", "locate", NULL), 0);
    cr_assert_str_eq(a, b);
    int lines = 0;
    for (char *p = a; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 3);
    cr_assert(strncmp(a, "k1\t127.0.0.1:", 13) == 0, "%s", a);
    free(a);
    free(b);
}

Test(cli, the_servers_environment_variable)
{
    setenv("MCRING_SERVERS", servers, 1);
    char *argv[] = {(char *)env_path("MCRING_CLI"), "set", "e", "nv", NULL};
    char *out;
    size_t len;
    cr_assert_eq(run_capture(argv, NULL, 0, &out, &len), 0);
    free(out);
    char *get[] = {(char *)env_path("MCRING_CLI"), "get", "e", NULL};
    cr_assert_eq(run_capture(get, NULL, 0, &out, &len), 0);
    cr_assert_str_eq(out, "nv");
    free(out);
    unsetenv("MCRING_SERVERS");
}

Test(cli, stats_counts_every_server)
{
    char *out;
    cr_assert_eq(cli_run(&out, servers, NULL, "stats", "--keys", "60", NULL),
                 0);
    for (int i = 0; i < 3; i++)
        cr_assert(strstr(out, srv[i].name) != NULL, "%s", out);
    cr_assert(strstr(out, "probes=60 hits=0 misses=60 errors=0") != NULL, "%s",
              out);
    free(out);
}

/* Reads what the child wrote to the pipe until `text` shows up or the time
 * runs out; returns whether it did. */
static bool wait_output(int fd, char *buf, size_t cap, size_t *len,
                        const char *text, double seconds)
{
    double end = now_s() + seconds;
    while (now_s() < end) {
        buf[*len] = '\0';
        if (strstr(buf, text) != NULL)
            return true;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) > 0) {
            ssize_t n = read(fd, buf + *len, cap - *len - 1);
            if (n <= 0)
                break;
            *len += (size_t)n;
        }
    }
    buf[*len] = '\0';
    return strstr(buf, text) != NULL;
}

Test(cli, monitor_reloads_its_config_on_sighup)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/mcring-cli-%d.conf", getpid());
    FILE *f = fopen(path, "w");
    fprintf(f, "[memcache]\nmemcache_servers = %s\n", srv[0].name);
    fclose(f);
    int out[2];
    cr_assert_eq(pipe(out), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        execl(env_path("MCRING_CLI"), "mcring", "--config", path, "monitor",
              "--interval", "0.2", "--keys", "5", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char buf[65536];
    size_t len = 0;
    cr_assert(wait_output(out[0], buf, sizeof(buf), &len, "1 servers", 5),
              "%s", buf);
    f = fopen(path, "w");
    fprintf(f, "[memcache]\nmemcache_servers = %s,%s,%s\n", srv[0].name,
            srv[1].name, srv[2].name);
    fclose(f);
    kill(pid, SIGHUP);
    cr_assert(wait_output(out[0], buf, sizeof(buf), &len, "reloaded on SIGHUP",
                          5),
              "%s", buf);
    cr_assert(wait_output(out[0], buf, sizeof(buf), &len, "3 servers", 5), "%s",
              buf);
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(out[0]);
    unlink(path);
}
