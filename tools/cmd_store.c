/* add, replace, append, prepend, gets, cas, touch, gat: one key each
 * (mcring/commands.h). Exit 0 done, 1 another outcome (a miss, not
 * stored, exists, not found), 2 an error. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int usage(const char *text)
{
    fprintf(stderr, "usage: mcring %s\n", text);
    return EXIT_ERR;
}

/* The exit status for rc: outcomes other than success say what happened
 * on stderr and exit 1; failures exit 2. */
static int status_of(const char *what, int rc)
{
    if (rc == MCRING_OK)
        return 0;
    fprintf(stderr, "mcring: %s: %s (%s)\n", what, mcring_strerror(rc),
            mcring_err_name(rc));
    return rc > 0 ? EXIT_MISS : EXIT_ERR;
}

static int parse_ttl(const char *what, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno != 0)
        return cli_fail(what, "not a number");
    *out = v;
    return 0;
}

typedef int (*store_fn)(mcring_client *, const char *, const char *, double);

static int store(cli *c, const char *name, store_fn fn)
{
    char text[64];
    snprintf(text, sizeof(text), "%s KEY VALUE [--ttl N]", name);
    if (c->argc != 2)
        return usage(text);
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    int rc = fn(client, c->argv[0], c->argv[1], c->ttl);
    mcring_client_free(client);
    return status_of(name, rc);
}

static int do_add(mcring_client *cl, const char *k, const char *v, double t)
{
    return mcring_add(cl, k, strlen(k), v, strlen(v), 0, t);
}

static int do_replace(mcring_client *cl, const char *k, const char *v,
                      double t)
{
    return mcring_replace(cl, k, strlen(k), v, strlen(v), 0, t);
}

static int do_append(mcring_client *cl, const char *k, const char *v,
                     double t)
{
    (void)t;
    return mcring_append(cl, k, strlen(k), v, strlen(v));
}

static int do_prepend(mcring_client *cl, const char *k, const char *v,
                      double t)
{
    (void)t;
    return mcring_prepend(cl, k, strlen(k), v, strlen(v));
}

int cmd_add(cli *c)
{
    return store(c, "add", do_add);
}

int cmd_replace(cli *c)
{
    return store(c, "replace", do_replace);
}

int cmd_append(cli *c)
{
    return store(c, "append", do_append);
}

int cmd_prepend(cli *c)
{
    return store(c, "prepend", do_prepend);
}

/* Writes the item's bytes to stdout. */
static int print_item(const mcring_item *it)
{
    fwrite(it->data, 1, it->len, stdout);
    return fflush(stdout) == 0 ? 0 : EXIT_ERR;
}

int cmd_gets(cli *c)
{
    if (c->argc != 1)
        return usage("gets KEY");
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    mcring_item it = MCRING_ITEM_INIT;
    const char *key = c->argv[0];
    int rc = mcring_gets(client, key, strlen(key), &it);
    int status;
    if (rc == MCRING_OK || rc == MCRING_UNDECODABLE) {
        fprintf(stderr, "cas=%" PRIu64 "\n", it.cas);
        status = print_item(&it);
    } else {
        status = rc == MCRING_MISS ? EXIT_MISS : status_of("gets", rc);
    }
    mcring_item_release(&it);
    mcring_client_free(client);
    return status;
}

int cmd_cas(cli *c)
{
    if (c->argc != 3)
        return usage("cas KEY VALUE TOKEN [--ttl N]");
    const char *key = c->argv[0], *value = c->argv[1], *t = c->argv[2];
    char *end;
    errno = 0;
    unsigned long long token = strtoull(t, &end, 10);
    if (*t == '\0' || *t == '-' || *end != '\0' || errno != 0)
        return cli_fail("TOKEN", "not a 64-bit unsigned number");
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    int rc = mcring_cas(client, key, strlen(key), value, strlen(value), 0,
                        c->ttl, (uint64_t)token);
    mcring_client_free(client);
    return status_of("cas", rc);
}

int cmd_touch(cli *c)
{
    double ttl;
    if (c->argc != 2)
        return usage("touch KEY TTL");
    if (parse_ttl("TTL", c->argv[1], &ttl))
        return EXIT_ERR;
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    const char *key = c->argv[0];
    int rc = mcring_touch(client, key, strlen(key), ttl);
    mcring_client_free(client);
    return status_of("touch", rc);
}

int cmd_gat(cli *c)
{
    double ttl;
    if (c->argc != 2)
        return usage("gat KEY TTL");
    if (parse_ttl("TTL", c->argv[1], &ttl))
        return EXIT_ERR;
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    mcring_item it = MCRING_ITEM_INIT;
    const char *key = c->argv[0];
    int rc = mcring_gat(client, key, strlen(key), ttl, &it);
    int status = rc == MCRING_OK || rc == MCRING_UNDECODABLE
                     ? print_item(&it)
                 : rc == MCRING_MISS ? EXIT_MISS
                                     : status_of("gat", rc);
    mcring_item_release(&it);
    mcring_client_free(client);
    return status;
}
