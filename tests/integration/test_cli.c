/* The mcring command line against real servers. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Runs mcring --servers <ours> args...; returns the exit status. */
static int mcring(char **out, const char *input, ...)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)env_path("MCRING_CLI");
    argv[n++] = "--servers";
    argv[n++] = servers;
    va_list ap;
    va_start(ap, input);
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && n < 31)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    size_t len;
    char *buf;
    int rc = run_capture(argv, input, input ? strlen(input) : 0, &buf, &len);
    if (out != NULL)
        *out = buf;
    else
        free(buf);
    return rc;
}

Test(cli, set_get_delete_and_exit_codes)
{
    char *out;
    cr_assert_eq(mcring(NULL, NULL, "set", "greeting", "hello world", NULL), 0);
    cr_assert_eq(mcring(&out, NULL, "get", "greeting", NULL), 0);
    cr_assert_str_eq(out, "hello world");
    free(out);
    cr_assert_eq(mcring(&out, NULL, "get", "nothing", NULL), 1, "a miss");
    cr_assert_str_eq(out, "", "prints nothing");
    free(out);
    cr_assert_eq(mcring(NULL, NULL, "delete", "greeting", NULL), 0);
    cr_assert_eq(mcring(NULL, NULL, "delete", "greeting", NULL), 1);
    cr_assert_eq(mcring(NULL, NULL, "get", NULL), 2, "usage error");
    cr_assert_eq(mcring(NULL, NULL, "frobnicate", NULL), 2);
}

Test(cli, incr_decr_print_the_number)
{
    char *out;
    cr_assert_eq(mcring(&out, NULL, "incr", "hits", "5", "--ttl", "60", NULL), 0);
    cr_assert_str_eq(out, "5\n");
    free(out);
    cr_assert_eq(mcring(&out, NULL, "incr", "hits", "10", NULL), 0);
    cr_assert_str_eq(out, "15\n");
    free(out);
    cr_assert_eq(mcring(&out, NULL, "decr", "hits", "20", NULL), 0);
    cr_assert_str_eq(out, "0\n");
    free(out);
    cr_assert_eq(mcring(NULL, NULL, "incr", "hits", "lots", NULL), 2);
    cr_assert_eq(mcring(NULL, NULL, "set", "word", "abc", NULL), 0);
    cr_assert_eq(mcring(NULL, NULL, "incr", "word", "1", NULL), 2);
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
    cr_assert_eq(mcring(&a, NULL, "locate", "k1", "k2", "k3", NULL), 0);
    cr_assert_eq(mcring(&b, "k1\nk2\nk3\n", "locate", NULL), 0);
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
    cr_assert_eq(mcring(&out, NULL, "stats", "--keys", "60", NULL), 0);
    for (int i = 0; i < 3; i++)
        cr_assert(strstr(out, srv[i].name) != NULL, "%s", out);
    cr_assert(strstr(out, "probes=60 hits=0 misses=60 errors=0") != NULL, "%s",
              out);
    free(out);
}
