/*
 * mcring/commands.h — memcached's other commands on a client: add,
 * replace, append, prepend, compare-and-swap (gets and cas), touch, get
 * and touch (gat, gats), and the commands addressed to servers rather
 * than keys (flush_all, version, stats).
 *
 * Keys, TTLs, placement and failover are as for mcring_get and mcring_set
 * (mcring/client.h). With protocol = text they go as memcached's text
 * commands; with protocol = meta as mg/ms/md/ma (docs/meta.md), with the
 * same results. NOT_STORED, EXISTS and NOT_FOUND are outcomes a caller
 * tests (non-negative codes, mcring/errors.h), neither failures nor
 * misses: the server answered, and is not counted as failing.
 */
#ifndef MCRING_PUBLIC_COMMANDS_H
#define MCRING_PUBLIC_COMMANDS_H

#include "mcring/client.h"
#include "mcring/common.h"
#include "mcring/item.h"

MCRING_BEGIN_DECLS

/* ---- conditional stores ------------------------------------------------- */

/*
 * Stores the value only if the key is not there (an add-if-absent lock).
 * Returns MCRING_OK, MCRING_NOT_STORED (the key exists) or a failure
 * (as mcring_set's).
 * Threads: thread-safe.
 * Ownership: key and value are read during the call only.
 */
MCRING_API int mcring_add(mcring_client *client, const void *key,
                          size_t key_len, const void *value, size_t value_len,
                          uint32_t flags, double ttl);

/*
 * Stores the value only if the key is there. Returns MCRING_OK,
 * MCRING_NOT_STORED (no such key) or a failure.
 * Threads: thread-safe.
 * Ownership: key and value are read during the call only.
 */
MCRING_API int mcring_replace(mcring_client *client, const void *key,
                              size_t key_len, const void *value,
                              size_t value_len, uint32_t flags, double ttl);

/*
 * Adds bytes after the stored value (its flags and TTL stay). Returns
 * MCRING_OK, MCRING_NOT_STORED (no such key) or a failure.
 * Threads: thread-safe.
 * Ownership: key and value are read during the call only.
 */
MCRING_API int mcring_append(mcring_client *client, const void *key,
                             size_t key_len, const void *value,
                             size_t value_len);

/*
 * Adds bytes before the stored value. Returns as mcring_append().
 * Threads: thread-safe.
 * Ownership: key and value are read during the call only.
 */
MCRING_API int mcring_prepend(mcring_client *client, const void *key,
                              size_t key_len, const void *value,
                              size_t value_len);

/*
 * Looks a key up with its CAS token (out->cas), for mcring_cas(). Returns
 * as mcring_get().
 * Threads: thread-safe; one thread at a time per item.
 * Ownership: as mcring_get().
 */
MCRING_API int mcring_gets(mcring_client *client, const void *key,
                           size_t key_len, mcring_item *out);

/*
 * Stores the value only if the key's CAS token is still cas (nobody stored
 * it since mcring_gets read it). Returns MCRING_OK, MCRING_EXISTS (it
 * changed), MCRING_NOT_FOUND (it is gone) or a failure.
 * Threads: thread-safe.
 * Ownership: key and value are read during the call only.
 */
MCRING_API int mcring_cas(mcring_client *client, const void *key,
                          size_t key_len, const void *value, size_t value_len,
                          uint32_t flags, double ttl, uint64_t cas);

/* ---- expiry ------------------------------------------------------------- */

/*
 * Gives a key a new TTL without reading it. Returns MCRING_OK,
 * MCRING_NOT_FOUND or a failure.
 * Threads: thread-safe.
 * Ownership: key is read during the call only.
 */
MCRING_API int mcring_touch(mcring_client *client, const void *key,
                            size_t key_len, double ttl);

/*
 * Looks a key up and gives it a new TTL (memcached's gat). Returns as
 * mcring_get() (out->cas is 0).
 * Threads: thread-safe; one thread at a time per item.
 * Ownership: as mcring_get().
 */
MCRING_API int mcring_gat(mcring_client *client, const void *key,
                          size_t key_len, double ttl, mcring_item *out);

/*
 * mcring_gat() with the CAS token in out->cas (memcached's gats).
 * Threads: thread-safe; one thread at a time per item.
 * Ownership: as mcring_get().
 */
MCRING_API int mcring_gats(mcring_client *client, const void *key,
                           size_t key_len, double ttl, mcring_item *out);

/* ---- multi-key forms ---------------------------------------------------- */

/*
 * mcring_get_multi() with each hit's CAS token in items[i].cas.
 * Threads: thread-safe; one thread at a time per items array.
 * Ownership: as mcring_get_multi().
 */
MCRING_API int mcring_gets_multi(mcring_client *client, const mcring_key *keys,
                                 size_t n, const void *server_key,
                                 size_t server_key_len, mcring_item *items,
                                 int *status);

/*
 * Touches n keys, grouped by server as mcring_get_multi() does (one batch
 * per server, written before any reply is read). status[i] is MCRING_OK,
 * MCRING_NOT_FOUND or a failure. Returns 0 when every key got an answer,
 * else the first key's failure.
 * Threads: thread-safe.
 * Ownership: keys are read during the call only; status is the caller's
 * array of n.
 */
MCRING_API int mcring_touch_multi(mcring_client *client,
                                  const mcring_key *keys, size_t n,
                                  const void *server_key,
                                  size_t server_key_len, double ttl,
                                  int *status);

/* ---- servers ------------------------------------------------------------ */

/*
 * flush_all: every item of one server (named as configured, e.g.
 * "10.0.0.1:11211"), or of every server of the ring when server is NULL,
 * is invalidated now, or after delay seconds (0: now; more than 30 days
 * is sent as an absolute time, as TTLs are).
 * Returns 0, MCRING_EINVAL (no such server, a negative delay), or the
 * first server's failure (the others are still flushed).
 * Threads: thread-safe.
 * Ownership: server is read during the call only.
 */
MCRING_API int mcring_flush_all(mcring_client *client, const char *server,
                                double delay);

/*
 * The version text one server reports ("1.6.18"), into out (len bytes,
 * NUL-terminated, truncated to fit). Returns 0, MCRING_EINVAL (no such
 * server) or a failure.
 * Threads: thread-safe.
 * Ownership: out is the caller's buffer.
 */
MCRING_API int mcring_server_version(mcring_client *client,
                                     const char *server, char *out,
                                     size_t len);

/* Receives one statistic of a server: every string is valid only during
 * the call. */
typedef void (*mcring_stat_fn)(void *userdata, const char *server,
                               const char *name, const char *value);

/*
 * A server's own statistics (memcached's "stats", or "stats <group>":
 * settings, items, slabs, sizes, conns), one fn call per "STAT name value"
 * line, in the server's order, after the whole reply was read (fn never
 * runs while the client holds anything). Returns 0, MCRING_EINVAL (no such
 * server, a group that is not one word of letters and underscores, or one
 * whose reply is not statistics: reset, detail, cachedump),
 * MCRING_EREJECTED (the server has no such group) or a failure.
 * Threads: thread-safe; fn is called on the calling thread.
 * Ownership: server and group are read during the call only; userdata is
 * passed to fn.
 */
MCRING_API int mcring_server_stats_read(mcring_client *client,
                                        const char *server, const char *group,
                                        mcring_stat_fn fn, void *userdata);

MCRING_END_DECLS

#endif /* MCRING_PUBLIC_COMMANDS_H */
