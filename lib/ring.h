/*
 * Placement: which servers a key is tried on, in order. Each ring mode is an
 * immutable object behind one interface (struct placement_ops), built once
 * from a server list and then only read, by any number of threads at once.
 * The client publishes the current ring under RCU (see client.c); this layer
 * knows nothing about that.
 *
 * Modes: Swift's ring (ring_swift.c), mcring's consistent ring
 * (ring_consistent.c), and other clients' placements, bit for bit:
 * libmemcached's and twemproxy's ketama continuum (ring_ketama.c) and
 * pymemcache's rendezvous hashing (ring_rendezvous.c); docs/placement.md.
 * This header and ring.c are the dispatcher: mode names, checking a
 * configuration, building the mode it names, reference counting and the
 * public mcring_ring_* calls. What the modes share with it and with each
 * other is in ring_common.h.
 */
#ifndef MCRING_RING_H
#define MCRING_RING_H

#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "mcring.h"
#include "ring_common.h"

/* Name <-> mode; ring_mode_parse returns -1 for an unknown name. */
const char *ring_mode_name(ring_mode mode);
int ring_mode_parse(const char *name);
/* Every mode name, comma-separated, for error messages. */
const char *ring_mode_names(void);

/* Builds a ring. names may hold duplicates (kept out of nservers). Returns
 * 0, MCRING_ENOMEM, MCRING_ENOSERVERS or MCRING_ECONFIG (a setting the
 * mode cannot honour: weights, server names or a hash it does not have;
 * err says which). */
int ring_build(ring_config config, const server_list *servers, size_t tries,
               mcring_ring **out, char *err, size_t errlen);

/* Reference counting for rings shared between the client and callers. */
mcring_ring *ring_ref(mcring_ring *ring);
void ring_unref(mcring_ring *ring);

/* Try order for a key (ring->tries entries at most n). */
static inline size_t ring_locate(const mcring_ring *ring, const keyhash *key,
                                 uint32_t *out, size_t n)
{
    return ring->ops->locate(ring, key, out, n);
}

#endif
