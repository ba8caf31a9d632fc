/*
 * memcached's other single-key commands: add, replace, append, prepend,
 * cas, gets, gat, gats, touch (mcring/commands.h). Each is a command
 * (command.h) sent in the client's protocol on the key's servers.
 */
#include <string.h>

#include "client.h"
#include "command.h"
#include "compress.h"
#include "flight.h"
#include "request.h"

/* Runs cmd for key: exptime from ttl when uses_ttl, value size checked,
 * gets in flight closed to newcomers when it writes. */
static int run(mcring_client *c, const void *key, size_t key_len, double ttl,
               bool uses_ttl, bool writes, command *cmd)
{
    if (c == NULL || (cmd->value == NULL && cmd->value_len > 0))
        return MCRING_EINVAL;
    state *st = client_enter(c);
    key_op k;
    int rc = uses_ttl ? request_exptime(st, ttl, &cmd->exptime) : 0;
    if (rc == 0)
        rc = key_prepare(&st->set, key, key_len, &k);
    if (rc == 0 && cmd->kind == CMD_STORE && st->set.item_size_max != 0 &&
        cmd->value_len > st->set.item_size_max)
        rc = MCRING_ETOOLARGE;
    if (rc == 0) {
        rc = command_run(st, &k, &k.kh, cmd);
        /* Reads hand values on decompressed, as mcring_get does. */
        if (cmd->kind == CMD_GET)
            rc = compress_unpack(&c->compress, &st->set.compress, cmd->item,
                                 rc);
        if (writes)
            flight_wrote(c, st, &k);
        if (rc == MCRING_OK && cmd->kind == CMD_STORE &&
            cmd->mode != STORE_APPEND && cmd->mode != STORE_PREPEND)
            warn_item_size(st, cmd->value_len);
    }
    state_leave();
    return rc;
}

static int store(mcring_client *c, store_mode mode, const void *key,
                 size_t key_len, const void *value, size_t value_len,
                 uint32_t flags, double ttl, uint64_t cas)
{
    command cmd = {.kind = CMD_STORE, .mode = mode,
                   .value = value != NULL ? value : "",
                   .value_len = value_len, .flags = flags, .cas = cas};
    if (value == NULL && value_len > 0)
        return MCRING_EINVAL;
    /* append and prepend keep the stored flags and TTL (the server
     * ignores what is sent). */
    bool uses_ttl = mode != STORE_APPEND && mode != STORE_PREPEND;
    return run(c, key, key_len, ttl, uses_ttl, true, &cmd);
}

int mcring_add(mcring_client *c, const void *key, size_t key_len,
               const void *value, size_t value_len, uint32_t flags, double ttl)
{
    return store(c, STORE_ADD, key, key_len, value, value_len, flags, ttl, 0);
}

int mcring_replace(mcring_client *c, const void *key, size_t key_len,
                   const void *value, size_t value_len, uint32_t flags,
                   double ttl)
{
    return store(c, STORE_REPLACE, key, key_len, value, value_len, flags, ttl,
                 0);
}

int mcring_append(mcring_client *c, const void *key, size_t key_len,
                  const void *value, size_t value_len)
{
    return store(c, STORE_APPEND, key, key_len, value, value_len, 0, 0, 0);
}

int mcring_prepend(mcring_client *c, const void *key, size_t key_len,
                   const void *value, size_t value_len)
{
    return store(c, STORE_PREPEND, key, key_len, value, value_len, 0, 0, 0);
}

int mcring_cas(mcring_client *c, const void *key, size_t key_len,
               const void *value, size_t value_len, uint32_t flags,
               double ttl, uint64_t cas)
{
    return store(c, STORE_CAS, key, key_len, value, value_len, flags, ttl,
                 cas);
}

/* gets, gat, gats. */
static int read_item(mcring_client *c, const void *key, size_t key_len,
                     bool touch, double ttl, bool want_cas, mcring_item *out)
{
    if (out == NULL)
        return MCRING_EINVAL;
    out->len = 0;
    out->flags = 0;
    out->cas = 0;
    command cmd = {.kind = CMD_GET, .item = out, .want_cas = want_cas,
                   .touch = touch};
    int rc = run(c, key, key_len, ttl, touch, false, &cmd);
    if (rc != MCRING_OK && rc != MCRING_UNDECODABLE)
        out->len = 0;
    return rc;
}

int mcring_gets(mcring_client *c, const void *key, size_t key_len,
                mcring_item *out)
{
    return read_item(c, key, key_len, false, 0, true, out);
}

int mcring_gat(mcring_client *c, const void *key, size_t key_len, double ttl,
               mcring_item *out)
{
    return read_item(c, key, key_len, true, ttl, false, out);
}

int mcring_gats(mcring_client *c, const void *key, size_t key_len,
                double ttl, mcring_item *out)
{
    return read_item(c, key, key_len, true, ttl, true, out);
}

int mcring_touch(mcring_client *c, const void *key, size_t key_len,
                 double ttl)
{
    command cmd = {.kind = CMD_TOUCH};
    return run(c, key, key_len, ttl, true, false, &cmd);
}
