/* The command line's subcommands for memcached's other commands, in both
 * protocols, and their exit statuses: 0 done, 1 another outcome, 2 an
 * error. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "harness.h"

static mc_server srv[2];
static char servers[160];

static void two(void)
{
    for (int i = 0; i < 2; i++)
        mc_start(&srv[i], NULL);
    names_of(servers, sizeof(servers), srv, 2);
}

static void stop_all(void)
{
    for (int i = 0; i < 2; i++)
        mc_stop(&srv[i]);
}

TestSuite(cli_commands, .init = two, .fini = stop_all, .timeout = 60);

/* mcring --servers ... [--protocol P] ARGS with stderr captured (stdout
 * dropped). */
static int run_stderr(char **err, const char *protocol, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' --servers '%s' --protocol %s %s 2>&1 "
             ">/dev/null",
             env_path("MCRING_CLI"), servers, protocol, args);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    size_t len;
    return run_capture(argv, NULL, 0, err, &len);
}

static void storage_and_cas(const char *protocol)
{
    char *out;
    const char *p = protocol;
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "add", "k",
                         "one", NULL),
                 0);
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "add", "k",
                         "two", NULL),
                 1, "add on an existing key: not stored");
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "replace", "r",
                         "x", NULL),
                 1);
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "replace", "k",
                         "mid", "--ttl", "100", NULL),
                 0);
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "append", "k",
                         ">", NULL),
                 0);
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "prepend", "k",
                         "<", NULL),
                 0);
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "append", "no",
                         ">", NULL),
                 1);
    cr_assert_eq(cli_run(&out, servers, NULL, "--protocol", p, "get", "k",
                         NULL),
                 0);
    cr_assert_str_eq(out, "<mid>");
    free(out);

    char *err;
    cr_assert_eq(run_stderr(&err, p, "gets k"), 0);
    cr_assert(strncmp(err, "cas=", 4) == 0, "%s", err);
    char token[32];
    snprintf(token, sizeof(token), "%s", err + 4);
    token[strcspn(token, "\n")] = '\0';
    free(err);
    cr_assert_eq(cli_run(&out, servers, NULL, "--protocol", p, "gets", "k",
                         NULL),
                 0);
    cr_assert_str_eq(out, "<mid>", "the value on stdout");
    free(out);
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "cas", "k",
                         "new", token, NULL),
                 0);
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "cas", "k",
                         "newer", token, NULL),
                 1, "the token is spent: exists");
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "cas", "gone",
                         "v", "7", NULL),
                 1, "not found");
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "cas", "k",
                         "v", "-1", NULL),
                 2);
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "gets", "none",
                         NULL),
                 1);

    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "touch", "k",
                         "100", NULL),
                 0);
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "touch",
                         "none", "100", NULL),
                 1);
    cr_assert_eq(cli_run(&out, servers, NULL, "--protocol", p, "gat", "k",
                         "50", NULL),
                 0);
    cr_assert_str_eq(out, "new");
    free(out);
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "gat", "none",
                         "50", NULL),
                 1);
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "touch", "k",
                         "soon", NULL),
                 2, "a TTL that is not a number");
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "flush", NULL),
                 0);
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", p, "get", "k",
                         NULL),
                 1, "flushed");
}

Test(cli_commands, storage_cas_touch_gat_text)
{
    storage_and_cas("text");
}

Test(cli_commands, storage_cas_touch_gat_meta)
{
    storage_and_cas("meta");
}

Test(cli_commands, servers_version_stats_flush)
{
    char *out;
    cr_assert_eq(cli_run(&out, servers, NULL, "version", NULL), 0);
    char want[128];
    snprintf(want, sizeof(want), "%s\t1.6.18\n", srv[0].name);
    cr_assert(strstr(out, want) != NULL, "%s", out);
    snprintf(want, sizeof(want), "%s\t1.6.18\n", srv[1].name);
    cr_assert(strstr(out, want) != NULL, "%s", out);
    free(out);
    cr_assert_eq(cli_run(&out, servers, NULL, "server-stats", NULL), 0);
    snprintf(want, sizeof(want), "%s\tpid\t%d\n", srv[1].name, (int)srv[1].pid);
    cr_assert(strstr(out, want) != NULL, "%s", out);
    free(out);
    cr_assert_eq(cli_run(&out, servers, NULL, "server-stats", "settings",
                         NULL),
                 0);
    cr_assert(strstr(out, "\tmaxbytes\t67108864\n") != NULL, "%s", out);
    free(out);
    cr_assert_eq(cli_run(NULL, servers, NULL, "server-stats", "bogus", NULL),
                 2);
    cr_assert_eq(cli_run(NULL, servers, NULL, "set", "f", "v", NULL), 0);
    cr_assert_eq(cli_run(NULL, servers, NULL, "flush", "--delay", "100",
                         srv[0].name, NULL),
                 0);
    cr_assert_eq(cli_run(NULL, servers, NULL, "flush", "127.0.0.1:1", NULL),
                 2, "not a server of the ring");
    cr_assert_eq(cli_run(NULL, servers, NULL, "flush", "--delay", "-1", NULL),
                 2);
    cr_assert_eq(cli_run(NULL, servers, NULL, "--protocol", "binary", "get",
                         "k", NULL),
                 2, "not a protocol");
}

Test(cli_commands, herd_bench_runs_and_counts)
{
    char *out;
    cr_assert_eq(cli_run(&out, servers, NULL, "bench", "--herd", "--lease",
                         "--threads", "8", "--duration", "0.5",
                         "--herd-every-ms", "50", NULL),
                 0);
    const char *last = strstr(out, "mode=lease ");
    cr_assert_not_null(last, "%s", out);
    cr_assert(strstr(last, "errors=0") != NULL, "%s", last);
    cr_assert(strstr(last, "origin_calls=") != NULL, "%s", last);
    cr_assert(strstr(last, "stale_reads=") != NULL, "%s", last);
    cr_assert(strstr(last, "p99_us=") != NULL, "%s", last);
    free(out);
}
