/*
 * The single-key operations: get, set, delete, incr, decr. Each prepares
 * its key, enters the RCU read side, and walks the key's servers
 * (with_failover, request.h) with an attempt that sends its command and
 * reads the reply. With protocol = meta they go through command.h as
 * mg/ms/md/ma instead; the text attempts here are the default path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "clock.h"
#include "command.h"
#include "flight.h"
#include "request.h"

/* ---- get ----------------------------------------------------------------*/

typedef struct get_ctx {
    mcring_key key;
    mcring_item *item;
} get_ctx;

static int attempt_get(const state *st, server *sv, void *ctx,
                       bool *connected)
{
    get_ctx *g = ctx;
    char line[PROTO_HEADER_MAX];
    struct iovec iov = {line, proto_get(line, g->key.data, g->key.len)};
    return server_read_one(st, sv, &iov, &g->key, g->item, connected);
}

int ops_get_once(const state *st, const key_op *k, mcring_item *out)
{
    if (st->set.protocol == PROTOCOL_META) {
        command cmd = {.kind = CMD_GET, .item = out};
        return command_run(st, k, &k->kh, &cmd);
    }
    get_ctx g = {{k->wire, k->wire_len}, out};
    return with_failover(st, MCRING_OP_GET, k->kh.len, &k->kh, attempt_get,
                         &g);
}

int mcring_get(mcring_client *c, const void *key, size_t key_len,
               mcring_item *out)
{
    if (c == NULL || out == NULL)
        return MCRING_EINVAL;
    out->len = 0;
    out->flags = 0;
    out->cas = 0;
    state *st = client_enter(c);
    key_op k;
    int rc = key_prepare(&st->set, key, key_len, &k);
    if (rc == 0 && st->set.single_flight)
        rc = flight_get(c, st, &k, out);
    else if (rc == 0)
        rc = ops_get_once(st, &k, out);
    rc = compress_unpack(&c->compress, &st->set.compress, out, rc);
    state_leave();
    if (rc != MCRING_OK && rc != MCRING_UNDECODABLE)
        out->len = 0;
    return rc;
}

/* ---- set ----------------------------------------------------------------*/

typedef struct set_ctx {
    const char *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    uint32_t flags;
    int64_t exptime;
} set_ctx;

static int attempt_set(const state *st, server *sv, void *ctx,
                       bool *connected)
{
    set_ctx *s = ctx;
    char head[PROTO_HEADER_MAX];
    struct iovec iov[3] = {
        {head, proto_storage_header(head, "set", s->key, s->key_len, s->flags,
                                    s->exptime, s->value_len)},
        {(void *)s->value, s->value_len},
        {(void *)"\r\n", 2},
    };
    int result;
    line_reader rd;
    line_reader_init(&rd, 1, classify_store, &result, NULL);
    int rc = server_roundtrip(st, sv, iov, 3, &rd.base, connected);
    if (rc != 0)
        return rc;
    if (!rc_is_final(result)) /* the server answered, but not STORED */
        return server_failed(st, sv, result, PHASE_SET, 0, NULL,
                             rd.base.detail);
    return result;
}

int mcring_set(mcring_client *c, const void *key, size_t key_len,
               const void *value, size_t value_len, uint32_t flags, double ttl)
{
    if (c == NULL || (value == NULL && value_len > 0))
        return MCRING_EINVAL;
    state *st = client_enter(c);
    int64_t exptime;
    key_op k;
    int rc = request_exptime(st, ttl, &exptime);
    if (rc == 0)
        rc = key_prepare(&st->set, key, key_len, &k);
    packed_value p;
    if (rc == 0)
        rc = client_pack_value(c, st, value, value_len, flags, &p);
    if (rc == 0) {
        if (st->set.protocol == PROTOCOL_META) {
            command cmd = {.kind = CMD_STORE, .mode = STORE_SET,
                           .value = p.data, .value_len = p.len,
                           .flags = p.flags, .exptime = exptime};
            rc = command_run(st, &k, &k.kh, &cmd);
        } else {
            set_ctx s = {k.wire, k.wire_len, p.data, p.len, p.flags, exptime};
            set_ctx gutter = s;
            gutter.exptime = request_gutter_exptime(st, exptime);
            rc = with_failover_gutter(st, MCRING_OP_SET, key_len, &k.kh,
                                      attempt_set, &s, &gutter);
        }
        flight_wrote(c, st, &k);
        if (rc == MCRING_OK)
            warn_item_size(st, p.len);
        packed_release(&p);
    }
    state_leave();
    return rc;
}

/* ---- delete ------------------------------------------------------------- */

static int attempt_delete(const state *st, server *sv, void *ctx,
                          bool *connected)
{
    const key_op *k = ctx;
    char line[PROTO_HEADER_MAX];
    struct iovec iov = {line, proto_delete(line, k->wire, k->wire_len)};
    int result;
    line_reader rd;
    line_reader_init(&rd, 1, classify_delete, &result, NULL);
    int rc = server_roundtrip(st, sv, &iov, 1, &rd.base, connected);
    if (rc != 0)
        return rc;
    if (!rc_is_final(result))
        return server_failed(st, sv, result, PHASE_TALK, 0, NULL,
                             rd.base.detail);
    return result;
}

int mcring_delete(mcring_client *c, const void *key, size_t key_len,
                  const void *server_key, size_t server_key_len)
{
    if (c == NULL)
        return MCRING_EINVAL;
    state *st = client_enter(c);
    key_op k;
    int rc = key_prepare(&st->set, key, key_len, &k);
    if (rc == 0) {
        /* Swift: md5hash(server_key) if server_key else key. */
        keyhash where = k.kh;
        if (server_key != NULL && server_key_len > 0)
            keyhash_init(&where, server_key, server_key_len);
        /* With a gutter, on both: a value stored there while the key's
         * server was down must not outlive the delete. */
        if (st->set.protocol == PROTOCOL_META) {
            command cmd = {.kind = CMD_DELETE};
            rc = command_run(st, &k, &where, &cmd);
        } else {
            rc = with_failover_both(st, MCRING_OP_DELETE, key_len, &where,
                                    attempt_delete, &k);
        }
        flight_wrote(c, st, &k);
    }
    state_leave();
    return rc;
}

/* ---- incr / decr -------------------------------------------------------- */

/* Rounds of incr → add → incr before giving up on a key that keeps being
 * created and deleted under us. */
#define ARITH_ROUNDS 3

typedef struct arith_ctx {
    const key_op *key;
    bool incr;
    uint64_t delta;
    int64_t exptime;
    uint64_t *result; /* shared by the ring's and the gutter's context */
} arith_ctx;

/* One command whose reply is one line, classified; failures of the server
 * logged and counted. Returns the outcome. */
static int one_line(const state *st, server *sv, struct iovec *iov,
                    int iovcnt, line_classify_fn classify, uint64_t *number,
                    bool *connected)
{
    int result;
    line_reader rd;
    line_reader_init(&rd, 1, classify, &result, number);
    int rc = server_roundtrip(st, sv, iov, iovcnt, &rd.base, connected);
    if (rc != 0)
        return rc;
    if (!rc_is_final(result))
        return server_failed(st, sv, result, PHASE_TALK, 0, NULL,
                             rd.base.detail);
    return result;
}

static int attempt_arith(const state *st, server *sv, void *ctx,
                         bool *connected)
{
    arith_ctx *a = ctx;
    const key_op *k = a->key;
    char line[PROTO_HEADER_MAX];
    /* The value a missing key is created with: the delta, or 0 for decr. */
    char init[24];
    size_t init_len = proto_u64(init, a->incr ? a->delta : 0);

    for (int round = 0; round < ARITH_ROUNDS; round++) {
        struct iovec iov = {line, proto_arith(line, a->incr, k->wire,
                                              k->wire_len, a->delta)};
        int result = one_line(st, sv, &iov, 1, classify_arith, a->result,
                              connected);
        if (result != MCRING_MISS)
            return result; /* OK with a->result, ENOTNUM, or a failure */

        /* NOT_FOUND: create it with add, the TTL applying only here. */
        struct iovec add[3] = {
            {line, proto_storage_header(line, "add", k->wire, k->wire_len, 0,
                                        a->exptime, init_len)},
            {init, init_len},
            {(void *)"\r\n", 2},
        };
        result = one_line(st, sv, add, 3, classify_add, NULL, connected);
        if (result == MCRING_OK) {
            *a->result = a->incr ? a->delta : 0;
            return MCRING_OK;
        }
        if (result != MCRING_NOT_STORED)
            return result;
        /* Somebody else created it in between: count on theirs. */
    }
    return MCRING_ERACE;
}

/* incr/decr as one ma: a missing key is created holding the delta (0 for
 * decr) with the TTL, as Swift's incr then add does, in one step. NS (the
 * create raced with another) is tried again, as Swift's NOT_STORED is. */
static int meta_arith(const state *st, const key_op *k, bool incr,
                      uint64_t delta, int64_t exptime, uint64_t *result)
{
    for (int round = 0; round < ARITH_ROUNDS; round++) {
        command cmd = {.kind = CMD_ARITH, .incr = incr, .delta = delta,
                       .initial = incr ? delta : 0, .exptime = exptime};
        int rc = command_run(st, k, &k->kh, &cmd);
        if (rc == MCRING_OK && result != NULL)
            *result = cmd.number;
        if (rc != MCRING_NOT_STORED && rc != MCRING_MISS)
            return rc;
    }
    return MCRING_ERACE;
}

static int arith(mcring_client *c, const void *key, size_t key_len, bool incr,
                 uint64_t delta, double ttl, uint64_t *result)
{
    if (c == NULL)
        return MCRING_EINVAL;
    state *st = client_enter(c);
    int64_t exptime;
    key_op k;
    int rc = request_exptime(st, ttl, &exptime);
    if (rc == 0)
        rc = key_prepare(&st->set, key, key_len, &k);
    if (rc == 0 && st->set.protocol == PROTOCOL_META) {
        rc = meta_arith(st, &k, incr, delta, exptime, result);
        flight_wrote(c, st, &k);
    } else if (rc == 0) {
        uint64_t value = 0;
        arith_ctx a = {&k, incr, delta, exptime, &value};
        arith_ctx gutter = a;
        gutter.exptime = request_gutter_exptime(st, exptime);
        rc = with_failover_gutter(st, incr ? MCRING_OP_INCR : MCRING_OP_DECR,
                                  key_len, &k.kh, attempt_arith, &a, &gutter);
        if (rc == MCRING_OK && result != NULL)
            *result = value;
        flight_wrote(c, st, &k);
    }
    state_leave();
    return rc;
}

/* |v| for any int64, INT64_MIN included. */
static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

int mcring_incr(mcring_client *c, const void *key, size_t key_len,
                int64_t delta, double ttl, uint64_t *result)
{
    return arith(c, key, key_len, delta >= 0, magnitude(delta), ttl, result);
}

int mcring_decr(mcring_client *c, const void *key, size_t key_len,
                int64_t delta, double ttl, uint64_t *result)
{
    /* Swift: decr(delta) is incr(-delta); decr(-5) adds 5. */
    return arith(c, key, key_len, delta <= 0, magnitude(delta), ttl, result);
}
