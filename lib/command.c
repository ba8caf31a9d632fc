#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "command.h"

/* Tokens start at 1: a reply carrying O0 was never asked for. */
static _Atomic uint64_t opaque_next = 1;

uint64_t command_opaque(size_t n)
{
    return atomic_fetch_add_explicit(&opaque_next, n, memory_order_relaxed);
}

/* A reply the server may send but this command never receives (HD to a
 * get that asked for the value, ...): the server is misbehaving. */
static int unexpected(const state *st, server *sv)
{
    return server_failed(st, sv, MCRING_EPROTO, PHASE_TALK, 0, NULL,
                         "a reply code the command cannot receive");
}

/* ---- the text protocol -------------------------------------------------- */

static int text_get(const state *st, server *sv, const key_op *k,
                    command *c, bool *connected)
{
    char line[PROTO_HEADER_MAX];
    size_t n = c->touch ? proto_gat(line, c->want_cas ? "gats" : "gat",
                                    c->exptime, k->wire, k->wire_len)
                        : proto_retrieve(line, c->want_cas ? "gets" : "get",
                                         k->wire, k->wire_len);
    struct iovec iov = {line, n};
    mcring_key key = {k->wire, k->wire_len};
    return server_read_one(st, sv, &iov, &key, c->item, connected);
}

/* A command whose reply is one line: its outcome, with a reply that says
 * the server failed logged and counted in phase ph. */
static int text_line(const state *st, server *sv, struct iovec *iov,
                     int iovcnt, line_classify_fn classify, phase ph,
                     bool *connected)
{
    int result;
    line_reader rd;
    line_reader_init(&rd, 1, classify, &result, NULL);
    int rc = server_roundtrip(st, sv, iov, iovcnt, &rd.base, connected);
    if (rc != 0)
        return rc;
    if (!rc_is_final(result))
        return server_failed(st, sv, result, ph, 0, NULL, rd.base.detail);
    return result;
}

static int text_attempt(const state *st, server *sv, const key_op *k,
                        command *c, bool *connected)
{
    static const char *const store_cmd[] = {
        [STORE_SET] = "set",         [STORE_ADD] = "add",
        [STORE_REPLACE] = "replace", [STORE_APPEND] = "append",
        [STORE_PREPEND] = "prepend",
    };
    char line[PROTO_HEADER_MAX];
    struct iovec iov[3] = {{line, 0}};
    switch (c->kind) {
    case CMD_GET:
        return text_get(st, sv, k, c, connected);
    case CMD_TOUCH:
        iov[0].iov_len = proto_touch(line, k->wire, k->wire_len, c->exptime);
        return text_line(st, sv, iov, 1, classify_touch, PHASE_TALK,
                         connected);
    case CMD_STORE:
        iov[0].iov_len =
            c->mode == STORE_CAS
                ? proto_cas_header(line, k->wire, k->wire_len, c->flags,
                                   c->exptime, c->value_len, c->cas)
                : proto_storage_header(line, store_cmd[c->mode], k->wire,
                                       k->wire_len, c->flags, c->exptime,
                                       c->value_len);
        iov[1] = (struct iovec){(void *)c->value, c->value_len};
        iov[2] = (struct iovec){(void *)"\r\n", 2};
        /* set: anything but STORED is the server's failure (Swift's
         * rule); the others' NOT_STORED, EXISTS, NOT_FOUND are outcomes. */
        return text_line(st, sv, iov, 3,
                         c->mode == STORE_SET ? classify_store
                                              : classify_storage,
                         c->mode == STORE_SET ? PHASE_SET : PHASE_TALK,
                         connected);
    case CMD_DELETE:
        iov[0].iov_len = proto_delete(line, k->wire, k->wire_len);
        return text_line(st, sv, iov, 1, classify_delete, PHASE_TALK,
                         connected);
    default:
        return MCRING_ETEXTMODE;
    }
}

/* ---- the meta protocol -------------------------------------------------- */

/* The request line of c into m (m->O set by the caller). */
static void meta_build(const command *c, const key_op *k, meta_cmd *m)
{
    static const char store_mode_letter[] = {
        [STORE_SET] = 0,       [STORE_ADD] = 'E',     [STORE_REPLACE] = 'R',
        [STORE_APPEND] = 'A',  [STORE_PREPEND] = 'P', [STORE_CAS] = 0,
    };
    m->key = k->wire;
    m->key_len = k->wire_len;
    switch (c->kind) {
    case CMD_GET:
        m->cmd = "mg";
        m->flags = c->want_cas ? "vfck" : "vfk";
        if (c->touch) {
            m->tokens |= META_TOKEN_T;
            m->T = c->exptime;
        }
        break;
    case CMD_TOUCH:
        m->cmd = "mg";
        m->tokens |= META_TOKEN_T;
        m->T = c->exptime;
        break;
    case CMD_STORE:
        m->cmd = "ms";
        m->has_datalen = true;
        m->datalen = c->value_len;
        m->tokens |= META_TOKEN_T | META_TOKEN_F;
        m->T = c->exptime;
        m->F = c->flags;
        if (store_mode_letter[c->mode] != 0) {
            m->tokens |= META_TOKEN_M;
            m->M = store_mode_letter[c->mode];
        }
        if (c->mode == STORE_CAS || c->compare_cas) {
            m->tokens |= META_TOKEN_C;
            m->C = c->cas;
        }
        if (c->has_version) {
            m->tokens |= META_TOKEN_E;
            m->E = c->version;
        }
        break;
    case CMD_DELETE:
        m->cmd = "md";
        if (c->invalidate) {
            m->flags = "I";
            if (c->exptime != 0) {
                m->tokens |= META_TOKEN_T;
                m->T = c->exptime;
            }
        }
        break;
    case CMD_ARITH:
        m->cmd = "ma";
        m->flags = "v";
        m->tokens |= META_TOKEN_N | META_TOKEN_J | META_TOKEN_D |
                     META_TOKEN_M;
        m->N = c->exptime;
        m->J = c->initial;
        m->D = c->delta;
        m->M = c->incr ? 'I' : 'D';
        break;
    case CMD_LEASE_GET:
        m->cmd = "mg";
        m->flags = "vfctk";
        m->tokens |= META_TOKEN_N;
        m->N = c->vivify;
        if (c->recache > 0) {
            m->tokens |= META_TOKEN_R;
            m->R = c->recache;
        }
        break;
    case CMD_CAS_READ:
        m->cmd = "mg";
        m->flags = "c";
        break;
    }
}

/* The outcome of a lease get's hit, from its flags (docs/meta.md). */
static int lease_outcome(command *c, const meta_reply *h)
{
    c->won = meta_has(h, 'W');
    c->stale = meta_has(h, 'X');
    c->other_won = meta_has(h, 'Z');
    c->cas_read = h->cas;
    c->ttl_left = h->ttl;
    if (c->won)
        return MCRING_WON; /* with N's empty placeholder, or the old value */
    if (c->stale)
        return MCRING_STALE;
    if (c->other_won && c->item->len == 0)
        return MCRING_WAIT; /* another caller's placeholder */
    return (c->item->flags & MCRING_FLAG_PICKLE) ? MCRING_UNDECODABLE
                                                 : MCRING_OK;
}

size_t command_meta_request(const command *c, const key_op *k,
                            uint64_t opaque, char *line)
{
    meta_cmd m = {.tokens = META_TOKEN_O, .O = opaque};
    meta_build(c, k, &m);
    return meta_encode(line, &m);
}

int command_meta_outcome(const state *st, server *sv, command *c,
                         const meta_reader *rd)
{
    mcring_item *item = command_has_value(c) ? c->item : NULL;
    if (rd->outcome != 0) {
        if (item != NULL)
            item->len = 0;
        if (rc_is_final(rd->outcome))
            return rd->outcome;
        return server_failed(st, sv, rd->outcome,
                             c->kind == CMD_STORE && c->mode == STORE_SET
                                 ? PHASE_SET
                                 : PHASE_TALK,
                             0, NULL, rd->base.detail);
    }
    meta_code code = rd->head.code;
    switch (c->kind) {
    case CMD_GET:
        if (code == META_EN)
            return MCRING_MISS;
        if (code != META_VA)
            break;
        return (item->flags & MCRING_FLAG_PICKLE) ? MCRING_UNDECODABLE
                                                  : MCRING_OK;
    case CMD_TOUCH:
        if (code == META_HD)
            return MCRING_OK;
        if (code == META_EN)
            return MCRING_NOT_FOUND;
        break;
    case CMD_STORE:
        if (code == META_HD)
            return MCRING_OK;
        if (code == META_NS)
            return c->mode == STORE_SET
                       ? server_failed(st, sv, MCRING_EREJECTED, PHASE_SET, 0,
                                       NULL, "NS (not stored)")
                       : MCRING_NOT_STORED;
        if (code == META_EX)
            return MCRING_EXISTS;
        if (code == META_NF)
            return MCRING_NOT_FOUND;
        break;
    case CMD_DELETE:
        if (code == META_HD)
            return MCRING_OK;
        if (code == META_NF)
            return c->invalidate ? MCRING_NOT_FOUND : MCRING_MISS;
        if (code == META_EX)
            return MCRING_EXISTS;
        break;
    case CMD_ARITH:
        if (code == META_VA) {
            c->number = rd->number;
            return MCRING_OK;
        }
        if (code == META_NF)
            return MCRING_MISS;
        if (code == META_NS)
            return MCRING_NOT_STORED;
        break;
    case CMD_LEASE_GET:
        if (code == META_EN)
            return MCRING_MISS;
        if (code != META_VA)
            break;
        return lease_outcome(c, &rd->head);
    case CMD_CAS_READ:
        if (code == META_EN)
            return MCRING_MISS;
        if (code != META_HD)
            break;
        c->cas_read = rd->head.cas;
        return MCRING_OK;
    }
    if (item != NULL)
        item->len = 0;
    return unexpected(st, sv);
}

static int meta_attempt(const state *st, server *sv, const key_op *k,
                        command *c, bool *connected)
{
    char line[META_HEADER_MAX];
    uint64_t opaque = command_opaque(1);
    struct iovec iov[3] = {{line, command_meta_request(c, k, opaque, line)}};
    int iovcnt = 1;
    if (c->kind == CMD_STORE) {
        iov[1] = (struct iovec){(void *)c->value, c->value_len};
        iov[2] = (struct iovec){(void *)"\r\n", 2};
        iovcnt = 3;
    }
    mcring_item *item = command_has_value(c) ? c->item : NULL;
    meta_reader rd;
    meta_reader_init(&rd, opaque, item != NULL ? k->wire : NULL, k->wire_len,
                     item, st->set.item_size_max);
    int rc = server_roundtrip(st, sv, iov, iovcnt, &rd.base, connected);
    if (rc != 0) {
        if (item != NULL)
            item->len = 0;
        return rc;
    }
    return command_meta_outcome(st, sv, c, &rd);
}

/* ---- running a command --------------------------------------------------- */

typedef struct run_ctx {
    const key_op *k;
    command *cmd;
    bool gutter; /* a gutter server's: the TTL capped at gutter_ttl */
} run_ctx;

static int attempt_command(const state *st, server *sv, void *ctx,
                           bool *connected)
{
    run_ctx *r = ctx;
    int64_t exptime = r->cmd->exptime;
    if (r->gutter)
        r->cmd->exptime = request_gutter_exptime(st, exptime);
    int rc = st->set.protocol == PROTOCOL_META
                 ? meta_attempt(st, sv, r->k, r->cmd, connected)
                 : text_attempt(st, sv, r->k, r->cmd, connected);
    r->cmd->exptime = exptime;
    return rc;
}

/* The kind of operation cmd is counted as (metrics.h): every storage
 * command as a set, every read as a get. */
static mcring_op command_op(const command *cmd)
{
    switch (cmd->kind) {
    case CMD_TOUCH:
        return MCRING_OP_TOUCH;
    case CMD_STORE:
        return MCRING_OP_SET;
    case CMD_DELETE:
        return MCRING_OP_DELETE;
    case CMD_ARITH:
        return cmd->incr ? MCRING_OP_INCR : MCRING_OP_DECR;
    default:
        return MCRING_OP_GET;
    }
}

int command_run(const state *st, const key_op *k, const keyhash *where,
                command *cmd)
{
    run_ctx r = {k, cmd, false}, gutter = {k, cmd, true};
    /* A delete goes to the gutter too: a value stored there while the
     * key's server was down must not outlive it. */
    if (cmd->kind == CMD_DELETE)
        return with_failover_both(st, command_op(cmd), k->kh.len, where,
                                  attempt_command, &r);
    return with_failover_gutter(st, command_op(cmd), k->kh.len, where,
                                attempt_command, &r, &gutter);
}
