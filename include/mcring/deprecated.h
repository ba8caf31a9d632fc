/*
 * mcring/deprecated.h — the 0.1.0 names of renamed functions, kept for
 * one release so that programs written against 0.1.0 build and run unchanged
 * (with a warning naming the replacement). They behave exactly as the
 * function named in their warning and are still exported by the library.
 * They go in the next release that may break the ABI (CHANGELOG.md lists
 * every rename). <mcring.h> includes this header: 0.1.0 had no other.
 */
#ifndef MCRING_PUBLIC_DEPRECATED_H
#define MCRING_PUBLIC_DEPRECATED_H

#include "mcring/client.h"
#include "mcring/common.h"
#include "mcring/item.h"
#include "mcring/ring.h"

MCRING_BEGIN_DECLS

/*
 * Deprecated: mcring_item_release(). The old name read as if it freed the
 * item, but it frees only the item's buffer.
 * Threads: one thread at a time per item.
 * Ownership: as mcring_item_release().
 */
MCRING_API MCRING_DEPRECATED("use mcring_item_release")
void mcring_item_free(mcring_item *item);

/*
 * Deprecated: mcring_client_set_servers(), named like the other calls
 * that act on the client.
 * Threads: thread-safe, and safe while other threads make calls.
 * Ownership: as mcring_client_set_servers().
 */
MCRING_API MCRING_DEPRECATED("use mcring_client_set_servers")
int mcring_set_servers(mcring_client *client, const char *servers, char *err,
                       size_t errlen);

/*
 * Deprecated: mcring_client_server_stats(); the old name did not say that
 * it fills per-server counters.
 * Threads: thread-safe.
 * Ownership: as mcring_client_server_stats().
 */
MCRING_API MCRING_DEPRECATED("use mcring_client_server_stats")
size_t mcring_client_stats(mcring_client *client, mcring_server_stats *out,
                           size_t max);

/*
 * Deprecated: mcring_client_ring_ref(); the old name did not say that the
 * caller gets a reference to drop.
 * Threads: thread-safe.
 * Ownership: as mcring_client_ring_ref().
 */
MCRING_API MCRING_DEPRECATED("use mcring_client_ring_ref")
mcring_ring *mcring_client_ring(mcring_client *client);

/*
 * Deprecated: mcring_ring_mode_name(), mcring_ring_hash_name(),
 * mcring_ring_point_hash_name(); the old names read as if they returned a
 * mode or computed a hash, but they return names.
 * Threads: thread-safe.
 * Ownership: static strings.
 */
MCRING_API MCRING_DEPRECATED("use mcring_ring_mode_name")
const char *mcring_ring_mode(const mcring_ring *ring);
MCRING_API MCRING_DEPRECATED("use mcring_ring_hash_name")
const char *mcring_ring_hash(const mcring_ring *ring);
MCRING_API MCRING_DEPRECATED("use mcring_ring_point_hash_name")
const char *mcring_ring_point_hash(const mcring_ring *ring);

MCRING_END_DECLS

#endif /* MCRING_PUBLIC_DEPRECATED_H */
