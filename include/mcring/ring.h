/*
 * mcring/ring.h — placement, for inspection: which servers a key would be
 * tried on, in which mode and with which hashes. The client places keys by
 * itself; these calls are for tools (mcring locate, ring-diff) and for
 * checking placement against other clients.
 */
#ifndef MCRING_PUBLIC_RING_H
#define MCRING_PUBLIC_RING_H

#include "mcring/common.h"

MCRING_BEGIN_DECLS

/*
 * mcring_ring: an immutable placement — the server list, the ring built
 * from it and the try count. Any number of threads may read one at once.
 * It is reference-counted: a ring built here or taken from a client is
 * freed when its last reference is dropped with mcring_ring_free().
 */

/*
 * Builds the ring the options describe (servers, ring_mode, ring hashes,
 * tries) without touching the network. Returns 0, MCRING_ENOMEM,
 * MCRING_ECONFIG, MCRING_EADDR or MCRING_ENOSERVERS.
 * Threads: thread-safe (opts is only read).
 * Ownership: *out is the caller's, dropped with mcring_ring_free(); opts
 * may be freed at once.
 */
MCRING_API int mcring_ring_new(mcring_ring **out, const mcring_options *opts,
                               char *err, size_t errlen);

/*
 * Takes a reference to the ring the client uses at this moment. A later
 * reconfiguration does not change it: it is a snapshot.
 * Threads: thread-safe, and safe while other threads reconfigure.
 * Ownership: the caller owns the reference and drops it with
 * mcring_ring_free(); the ring may outlive the client.
 */
MCRING_API mcring_ring *mcring_client_ring_ref(mcring_client *client);

/*
 * Drops a reference; the ring is freed with its last one. Accepts NULL.
 * Threads: thread-safe (other references may be used or dropped at once).
 * Ownership: takes the caller's reference; the strings the ring gave out
 * die with the ring.
 */
MCRING_API void mcring_ring_free(mcring_ring *ring);

/*
 * Distinct servers in the ring (duplicates in the list count once).
 * Threads: thread-safe.
 * Ownership: nothing changes hands.
 */
MCRING_API size_t mcring_ring_size(const mcring_ring *ring);

/*
 * Server i's address as configured, without a weight or twemproxy server
 * name; NULL when i >= mcring_ring_size().
 * Threads: thread-safe.
 * Ownership: borrowed from the ring, valid while the ring lives.
 */
MCRING_API const char *mcring_ring_server(const mcring_ring *ring, size_t i);

/*
 * How many servers a call tries: the tries option capped at the distinct
 * servers.
 * Threads: thread-safe.
 * Ownership: nothing changes hands.
 */
MCRING_API size_t mcring_ring_tries(const mcring_ring *ring);

/*
 * The name of the ring mode ("swift", "consistent", "twemproxy", ...).
 * Threads: thread-safe.
 * Ownership: a static string.
 */
MCRING_API const char *mcring_ring_mode_name(const mcring_ring *ring);

/*
 * The name of the hash a key gets ("md5" for swift and consistent,
 * "murmur3" for pymemcache, the configured or default one otherwise).
 * Threads: thread-safe.
 * Ownership: a static string.
 */
MCRING_API const char *mcring_ring_hash_name(const mcring_ring *ring);

/*
 * The name of the hash of the ring's points ("md5" except in
 * libmemcached-ketama, where it is ring_point_hash).
 * Threads: thread-safe.
 * Ownership: a static string.
 */
MCRING_API const char *mcring_ring_point_hash_name(const mcring_ring *ring);

/*
 * The servers a call for key would try, in order: writes up to max server
 * indexes (as for mcring_ring_server()) into idx and returns how many
 * (mcring_ring_tries() when max is large enough; 0 if memory ran out for
 * max > 64).
 * Threads: thread-safe.
 * Ownership: idx is the caller's array; key is read during the call only.
 */
MCRING_API size_t mcring_ring_locate(const mcring_ring *ring, const void *key,
                                     size_t key_len, size_t *idx, size_t max);

MCRING_END_DECLS

#endif /* MCRING_PUBLIC_RING_H */
