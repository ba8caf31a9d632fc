/*
 * Single flight for gets (option single_flight): a get of a key for which
 * another get of the same client is already waiting on a server does not
 * send a request of its own; it waits for that one's reply and gets a copy
 * of its result. Hot keys then cost the servers one request per reply
 * rather than one per caller.
 *
 * Read your writes. A get in flight may have been read by the server
 * before a write of the same key that has completed since. A caller whose
 * own write (set, add, delete, incr, a lease fill, ...) returned must not
 * be answered by such a get, so every write of a key, when it completes,
 * closes the key's gets in flight to newcomers (flight_wrote): a get that
 * starts after the write's completion joins only a get sent after it too,
 * which the server read after the write. A get that overlaps a write of
 * another caller may see either value, as without single flight.
 *
 * Flights live on their leaders' stacks, in a table of striped locks
 * shared by every client (keyed by client and wire key). Thread-safe.
 */
#ifndef MCRING_FLIGHT_H
#define MCRING_FLIGHT_H

#include "request.h"

/* A get through single flight: joins a get of the key in flight, or leads
 * one (ops_get_once) and hands its result to whoever joined. Call inside
 * the RCU read side. */
int flight_get(const mcring_client *c, const state *st, const key_op *k,
               mcring_item *out);

/* After a write of key k completed (whatever its outcome): gets of k in
 * flight take no more joiners. Nothing to do unless st has single_flight
 * on. */
void flight_wrote(const mcring_client *c, const state *st, const key_op *k);

/* One get on k's servers, either protocol, without single flight
 * (ops.c). */
int ops_get_once(const state *st, const key_op *k, mcring_item *out);

#endif
