/* flush, version, server-stats: commands to servers rather than keys
 * (mcring/commands.h). Each prints one line per server (and statistic),
 * tab-separated, the server first. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Calls fn for each server of the client's ring (or only `only`); returns
 * the worst exit status. */
static int each_server(mcring_client *client, const char *only,
                       int (*fn)(mcring_client *, const char *, void *),
                       void *ud)
{
    if (only != NULL)
        return fn(client, only, ud);
    mcring_ring *ring = mcring_client_ring_ref(client);
    int status = 0;
    for (size_t i = 0; i < mcring_ring_size(ring); i++) {
        int s = fn(client, mcring_ring_server(ring, i), ud);
        if (s > status)
            status = s;
    }
    mcring_ring_free(ring);
    return status;
}

static int report(const char *what, const char *server, int rc)
{
    fprintf(stderr, "mcring: %s %s: %s (%s)\n", what, server,
            mcring_strerror(rc), mcring_err_name(rc));
    return EXIT_ERR;
}

int cmd_flush(cli *c)
{
    if (c->argc > 1) {
        fputs("usage: mcring flush [--delay N] [SERVER]\n", stderr);
        return EXIT_ERR;
    }
    if (c->delay < 0)
        return cli_fail("--delay", "must be >= 0");
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    const char *server = c->argc == 1 ? c->argv[0] : NULL;
    int rc = mcring_flush_all(client, server, c->delay);
    mcring_client_free(client);
    if (rc == MCRING_EINVAL && server != NULL)
        return cli_fail(server, "not a server of the ring (as configured)");
    return rc == 0 ? 0 : report("flush", server ? server : "(all)", rc);
}

static int version_of(mcring_client *client, const char *server, void *ud)
{
    (void)ud;
    char v[128];
    int rc = mcring_server_version(client, server, v, sizeof(v));
    if (rc != 0)
        return report("version", server, rc);
    printf("%s\t%s\n", server, v);
    return 0;
}

int cmd_version(cli *c)
{
    if (c->argc > 1) {
        fputs("usage: mcring version [SERVER]\n", stderr);
        return EXIT_ERR;
    }
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    int status =
        each_server(client, c->argc ? c->argv[0] : NULL, version_of, NULL);
    mcring_client_free(client);
    return status;
}

static void print_stat(void *ud, const char *server, const char *name,
                       const char *value)
{
    (void)ud;
    printf("%s\t%s\t%s\n", server, name, value);
}

static int stats_of(mcring_client *client, const char *server, void *ud)
{
    int rc = mcring_server_stats_read(client, server, ud, print_stat, NULL);
    return rc == 0 ? 0 : report("server-stats", server, rc);
}

int cmd_server_stats(cli *c)
{
    if (c->argc > 1) {
        fputs("usage: mcring server-stats [GROUP]\n", stderr);
        return EXIT_ERR;
    }
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    int status = each_server(client, NULL, stats_of,
                             c->argc ? (void *)c->argv[0] : NULL);
    mcring_client_free(client);
    return status;
}
