/* get, set, delete, incr, decr: one key each. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int need_args(cli *c, int n, const char *usage)
{
    if (c->argc != n) {
        fprintf(stderr, "usage: mcring %s\n", usage);
        return EXIT_ERR;
    }
    return 0;
}

static int report(const char *what, int rc)
{
    fprintf(stderr, "mcring: %s: %s (%s)\n", what, mcring_strerror(rc),
            mcring_err_name(rc));
    return EXIT_ERR;
}

/* Prints a decoded value: raw ones as their exact bytes, the others as one
 * line of JSON (extended, so that msgpack's bytes, ext and timestamps show
 * too). */
static int print_value(mcring_client *client, const mcring_item *item,
                       const mcring_value *value)
{
    const mcring_codec *codec =
        mcring_client_codec_for_flags(client, item->flags);
    if (codec == mcring_codec_raw()) {
        fwrite(item->data, 1, item->len, stdout);
    } else {
        mcring_item text = MCRING_ITEM_INIT;
        int rc = mcring_json_encode(value, MCRING_JSON_EXTENDED, &text);
        if (rc != 0) {
            mcring_item_release(&text);
            return report("get", rc);
        }
        fwrite(text.data, 1, text.len, stdout);
        fputc('\n', stdout);
        mcring_item_release(&text);
    }
    return fflush(stdout) == 0 ? 0 : EXIT_ERR;
}

int cmd_get(cli *c)
{
    if (need_args(c, 1, "get KEY"))
        return EXIT_ERR;
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    mcring_item item = MCRING_ITEM_INIT;
    mcring_value *value;
    const char *key = c->argv[0];
    int rc = mcring_get_value(client, key, strlen(key), &item, &value);
    int status;
    if (rc == MCRING_OK) {
        status = print_value(client, &item, value);
    } else if (rc == MCRING_MISS) {
        status = EXIT_MISS;
    } else if (rc == MCRING_UNDECODABLE && (item.flags & MCRING_FLAG_PICKLE)) {
        fprintf(stderr, "mcring: get: the value's flags (%" PRIu32
                        ") say it is pickled; not printed\n",
                item.flags);
        status = EXIT_ERR;
    } else if (rc == MCRING_UNDECODABLE) {
        const mcring_codec *codec =
            mcring_client_codec_for_flags(client, item.flags);
        fprintf(stderr, "mcring: get: the value's flags (%" PRIu32 ") say "
                        "it is %s, but its %zu bytes do not decode; not "
                        "printed\n",
                item.flags, codec ? codec->name : "in two codecs at once",
                item.len);
        status = EXIT_ERR;
    } else {
        status = report("get", rc);
    }
    mcring_value_free(value);
    mcring_item_release(&item);
    mcring_client_free(client);
    return status;
}

/* set --codec json|msgpack: VALUE is JSON text, stored through the codec. */
static int set_coded(cli *c, const char *key, const char *text)
{
    mcring_value *value;
    char err[256];
    if (mcring_json_decode(text, strlen(text), 0, &value, err, sizeof(err)) !=
        0)
        return cli_fail("VALUE is not JSON", err);
    mcring_client *client = cli_client(c);
    int rc = MCRING_OK;
    if (client != NULL)
        rc = mcring_set_value(client, key, strlen(key), value, c->codec,
                              c->ttl);
    mcring_client_free(client);
    mcring_value_free(value);
    if (client == NULL)
        return EXIT_ERR;
    return rc == MCRING_OK ? 0 : report("set", rc);
}

int cmd_set(cli *c)
{
    if (need_args(c, 2, "set [--ttl N] [--codec raw|json|msgpack] KEY VALUE"))
        return EXIT_ERR;
    const char *key = c->argv[0], *value = c->argv[1];
    if (c->codec != NULL && strcmp(c->codec, "raw") != 0) {
        if (strcmp(c->codec, "json") != 0 && strcmp(c->codec, "msgpack") != 0)
            return cli_fail("--codec", "must be raw, json or msgpack");
        return set_coded(c, key, value);
    }
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    int rc = mcring_set(client, key, strlen(key), value, strlen(value), 0,
                        c->ttl);
    mcring_client_free(client);
    return rc == MCRING_OK ? 0 : report("set", rc);
}

int cmd_delete(cli *c)
{
    if (need_args(c, 1, "delete KEY"))
        return EXIT_ERR;
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    const char *key = c->argv[0];
    int rc = mcring_delete(client, key, strlen(key), NULL, 0);
    mcring_client_free(client);
    if (rc == MCRING_MISS)
        return EXIT_MISS;
    return rc == MCRING_OK ? 0 : report("delete", rc);
}

static int arith(cli *c, bool incr)
{
    if (need_args(c, 2, incr ? "incr KEY DELTA [--ttl N]"
                             : "decr KEY DELTA [--ttl N]"))
        return EXIT_ERR;
    const char *key = c->argv[0], *d = c->argv[1];
    char *end;
    errno = 0;
    long long delta = strtoll(d, &end, 10);
    if (*d == '\0' || *end != '\0' || errno != 0)
        return cli_fail("DELTA", "not a 64-bit integer");
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    uint64_t result;
    int rc = incr ? mcring_incr(client, key, strlen(key), delta, c->ttl,
                                &result)
                  : mcring_decr(client, key, strlen(key), delta, c->ttl,
                                &result);
    mcring_client_free(client);
    if (rc != MCRING_OK)
        return report(incr ? "incr" : "decr", rc);
    printf("%" PRIu64 "\n", result);
    return 0;
}

int cmd_incr(cli *c)
{
    return arith(c, true);
}

int cmd_decr(cli *c)
{
    return arith(c, false);
}
