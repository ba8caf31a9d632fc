/*
 * One command on one key, in either protocol: the single-key operations
 * (ops.c, ops_store.c, lease.c) describe what they want as a command, and
 * this file sends it — as a text command or as a meta command with its
 * opaque token, per the client's `protocol` option — on the key's servers
 * (with_failover, request.h), reads the reply with the matching reader
 * (reply.h) and maps it to an outcome.
 *
 * Outcomes are the public codes (mcring/errors.h). A reply that says the
 * server failed (SERVER_ERROR, a set answered NOT_STORED) is logged and
 * counted against that server and the next one is tried, as for the
 * original five operations.
 */
#ifndef MCRING_COMMAND_H
#define MCRING_COMMAND_H

#include <stdbool.h>
#include <stdint.h>

#include "meta.h"
#include "request.h"

typedef enum cmd_kind {
    CMD_GET,       /* get gets gat gats     | mg v f k [c] [T] */
    CMD_TOUCH,     /* touch                 | mg T */
    CMD_STORE,     /* set add replace append prepend cas | ms [M] [C] [E] */
    CMD_DELETE,    /* delete                | md [I T] */
    CMD_ARITH,     /* (meta only)           | ma N J D M v */
    CMD_LEASE_GET, /* (meta only)           | mg v f c t k N [R] */
    CMD_CAS_READ,  /* (meta only)           | mg c: the CAS alone */
} cmd_kind;

typedef enum store_mode {
    STORE_SET,
    STORE_ADD,
    STORE_REPLACE,
    STORE_APPEND,
    STORE_PREPEND,
    STORE_CAS, /* compare with cmd.cas */
} store_mode;

typedef struct command {
    cmd_kind kind;
    mcring_item *item;  /* CMD_GET, CMD_LEASE_GET: filled */
    bool want_cas;      /* CMD_GET: gets, gats */
    bool touch;         /* CMD_GET: gat, gats (exptime applies) */
    store_mode mode;    /* CMD_STORE */
    const void *value;
    size_t value_len;
    uint32_t flags;
    int64_t exptime;    /* CMD_STORE, CMD_TOUCH, CMD_GET with touch,
                         * CMD_ARITH (on creation), CMD_DELETE with
                         * invalidate (0: unchanged) */
    uint64_t cas;       /* STORE_CAS; CMD_STORE with compare_cas */
    bool compare_cas;   /* CMD_STORE in another mode: C as well (meta) */
    bool has_version;   /* CMD_STORE: E<version> (meta) */
    uint64_t version;
    bool invalidate;    /* CMD_DELETE: mark stale instead (md I, meta) */
    bool incr;          /* CMD_ARITH */
    uint64_t delta, initial;
    int64_t vivify, recache; /* CMD_LEASE_GET: N and R (0: no R) */
    /* results */
    uint64_t number;    /* CMD_ARITH: the new value */
    uint64_t cas_read;  /* CMD_CAS_READ, CMD_LEASE_GET: the item's CAS */
    int64_t ttl_left;   /* CMD_LEASE_GET: t (-1: none) */
    bool won, stale, other_won; /* CMD_LEASE_GET: W, X, Z */
} command;

/*
 * Runs cmd for key k on the servers of the try order for where (k's own
 * hash, or a server key's; request_order): with a gutter, its TTL is
 * capped there, and a delete goes to both the key's server and the
 * gutter (with_failover_gutter, with_failover_both). Call inside the RCU
 * read side (client_enter). Returns the outcome or the last failure.
 */
int command_run(const state *st, const key_op *k, const keyhash *where,
                command *cmd);

/* n consecutive opaque tokens, unique in this process (meta.h): a
 * request's replies are matched by them. */
uint64_t command_opaque(size_t n);

/* True when cmd's reply carries a value (into cmd->item). */
static inline bool command_has_value(const command *cmd)
{
    return cmd->kind == CMD_GET || cmd->kind == CMD_LEASE_GET;
}

/*
 * The two halves of a meta attempt, for drivers that send and read apart
 * (lib/async.c); command_run does both. command_meta_request writes cmd's
 * meta request line for key k with the token opaque into line
 * (META_HEADER_MAX bytes) and returns its length (a store's value and
 * CRLF follow it on the wire). Once a meta_reader initialised with that
 * token (and k's wire key and cmd->item when command_has_value) has read
 * the reply, command_meta_outcome maps it to the command's outcome: a
 * reply that says the server failed is logged and counted against sv and
 * its failure returned (the next server is then tried); a reply the
 * command cannot receive is EPROTO, counted likewise.
 */
size_t command_meta_request(const command *cmd, const key_op *k,
                            uint64_t opaque, char *line);
int command_meta_outcome(const state *st, server *sv, command *cmd,
                         const meta_reader *rd);

#endif
