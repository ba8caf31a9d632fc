/*
 * mcring/lease.h — protection against thundering herds, on the meta
 * protocol (protocol = meta, memcached 1.6+). When a hot key is missing,
 * expiring or invalidated, exactly one caller wins the right to recompute
 * it; the others serve the old value meanwhile or wait for the new one,
 * instead of all of them asking the database at once. docs/meta.md shows
 * the patterns with code. In three lines:
 *
 *   rc = mcring_lease_get(client, key, len, &item, &lease);
 *   if (rc == MCRING_WON)   {compute v; mcring_lease_fill(client, key,
 *                            len, &lease, v, vlen, 0, ttl);}
 *   else if (rc == MCRING_WAIT) rc = mcring_lease_wait(..., 0.05, ...);
 *
 * MCRING_OK and MCRING_STALE hand back a value to serve.
 *
 * These calls return MCRING_ETEXTMODE on a client with protocol = text
 * (nothing is sent): the text protocol has no leases.
 */
#ifndef MCRING_PUBLIC_LEASE_H
#define MCRING_PUBLIC_LEASE_H

#include "mcring/common.h"
#include "mcring/item.h"

MCRING_BEGIN_DECLS

/* What a lease read learnt, for mcring_lease_fill(). */
typedef struct mcring_lease {
    uint64_t token;   /* the item's CAS when read: a fill is stored only if
                       * it is still that (no one stored, deleted or
                       * invalidated the key meanwhile) */
    int64_t ttl_left; /* seconds the value had left (-1: no expiry) */
} mcring_lease;

/*
 * Reads a key under herd protection. A missing key gets an empty
 * placeholder that lives lease_ttl seconds (option): the first caller to
 * miss wins it, later ones wait for its fill; a winner that never fills
 * is replaced when the placeholder expires. A value invalidated with
 * mcring_lease_invalidate(), or with less than lease_recache seconds
 * left (option; 0: off), is won by one caller while the others keep
 * serving it. Returns:
 *   MCRING_OK          a value (item filled);
 *   MCRING_STALE       a stale value to serve; another caller refreshes;
 *   MCRING_WON         refill it (mcring_lease_fill); item holds the old
 *                      value to serve meanwhile, if any (len 0: none);
 *   MCRING_WAIT        another caller is filling it; nothing to serve;
 *   MCRING_UNDECODABLE as mcring_get();
 * or a failure.
 * Threads: thread-safe; one thread at a time per item and lease.
 * Ownership: item as for mcring_get(); lease is the caller's.
 */
MCRING_API int mcring_lease_get(mcring_client *client, const void *key,
                                size_t key_len, mcring_item *item,
                                mcring_lease *lease);

/*
 * mcring_lease_get(), asked again while it says MCRING_WAIT, sleeping
 * between tries (from 0.5 ms, doubling up to 8 ms), for at most max_wait
 * seconds; returns the last answer (MCRING_WAIT when the time ran out).
 * Threads: as mcring_lease_get().
 * Ownership: as mcring_lease_get().
 */
MCRING_API int mcring_lease_wait(mcring_client *client, const void *key,
                                 size_t key_len, double max_wait,
                                 mcring_item *item, mcring_lease *lease);

/*
 * Stores the value a winner computed, only if the key is still as
 * mcring_lease_get() saw it (lease->token). Returns MCRING_OK,
 * MCRING_EXISTS (it was stored, deleted and recreated, or invalidated
 * since: this value may be older than the data, and was not stored; the
 * next reader recomputes), MCRING_NOT_FOUND (the placeholder expired) or
 * a failure.
 * Threads: thread-safe.
 * Ownership: key, value and lease are read during the call only.
 */
MCRING_API int mcring_lease_fill(mcring_client *client, const void *key,
                                 size_t key_len, const mcring_lease *lease,
                                 const void *value, size_t value_len,
                                 uint32_t flags, double ttl);

/*
 * Invalidates a key without deleting it (memcached's "md <key> I"): the
 * value stays, marked stale, so that readers serve it while the first
 * lease reader refreshes it; stale_ttl (> 0) bounds how long it may still
 * be served (0: its TTL stays). Returns MCRING_OK, MCRING_NOT_FOUND or a
 * failure.
 * Threads: thread-safe.
 * Ownership: key is read during the call only.
 */
MCRING_API int mcring_lease_invalidate(mcring_client *client, const void *key,
                                       size_t key_len, double stale_ttl);

/*
 * Stores a value with a version of the caller's (a row version, a
 * timestamp: larger is newer) as the item's CAS token (the E flag), unless
 * the stored item already has a version at least as new: a writer that
 * comes late cannot overwrite a newer value. Reads the stored version,
 * then stores with compare-and-swap, again if someone stored meanwhile.
 * Every writer of such a key must use versions. Returns MCRING_OK,
 * MCRING_EXISTS (a version >= this one is stored; nothing stored),
 * MCRING_ERACE (the key kept changing), MCRING_ENOTSUP (the server is too
 * old for E: memcached 1.6.18 and before answer "CLIENT_ERROR invalid
 * flag"), MCRING_ETEXTMODE, or a failure.
 * Threads: thread-safe.
 * Ownership: key and value are read during the call only.
 */
MCRING_API int mcring_set_versioned(mcring_client *client, const void *key,
                                    size_t key_len, const void *value,
                                    size_t value_len, uint32_t flags,
                                    double ttl, uint64_t version);

MCRING_END_DECLS

#endif /* MCRING_PUBLIC_LEASE_H */
