/*
 * The client object: its published state, the writer side that builds new
 * states, and what every call does on entry (client_enter). Its life cycle
 * and reconfiguration are in client.c; the operations in ops.c and multi.c
 * on top of request.h.
 */
#ifndef MCRING_CLIENT_H
#define MCRING_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "codec.h"
#include "compress.h"
#include "config.h"
#include "prober.h"
#include "ring.h"
#include "state.h"
#include "watch.h"

struct mcring_client {
    state *current; /* RCU-published; see state.h */
    registry reg;   /* writer side: server registry and its lock */
    mcring_options opts; /* what `current` was built from (registry lock) */
    mcring_options base; /* what reloads of a file start from (same lock) */
    uint64_t generation; /* states published so far (same lock) */
    watcher *watch; /* config file watcher, or NULL (reload.c) */
    codec_registry codecs; /* added codecs; all-zero is empty (codec.h) */
    compress_stats compress; /* all-zero to start with (compress.h) */
    struct call_rcu_data *crdp; /* its own call_rcu worker: reclaims its
                                 * retired states */
    atomic_uint fork_gen;  /* client_fork_generation its connections are
                            * from */
    atomic_uint fork_reset; /* the generation whose reset is finished */
    prober prober; /* brings down servers back (server_health = probe) */
};

/* client_publish outcomes besides 0 and failures. */
#define CLIENT_STALE 1     /* another state was published since `since` */
#define CLIENT_ABANDONED 2 /* *abandon was set: nothing was published */
#define CLIENT_ANY_GENERATION UINT64_MAX

/* Copies the running options and/or the base (either may be NULL) and the
 * generation they belong to. 0 or MCRING_ENOMEM. Thread-safe. */
int client_snapshot(struct mcring_client *c, mcring_options *opts,
                    mcring_options *base, uint64_t *generation);

/*
 * Builds a state for *o without the registry lock, then (unless *abandon,
 * when not NULL, became true meanwhile) takes the lock only to attach its
 * servers and publish it, provided no other state was published since
 * generation `since` (CLIENT_ANY_GENERATION: whatever was). On success the
 * client owns *o as its running options and *base, when not NULL, as its
 * base; otherwise the caller still owns them. Returns 0, CLIENT_STALE (start
 * again from a new snapshot), CLIENT_ABANDONED, or the build's failure.
 * Thread-safe.
 */
int client_publish(struct mcring_client *c, mcring_options *o,
                   mcring_options *base, uint64_t since,
                   const atomic_bool *abandon, char *err, size_t errlen);

/* Publishes a copy of o; as_base also makes it the base that file reloads
 * start from. 0 or the build failure (nothing changed). */
int client_apply(struct mcring_client *c, const mcring_options *o,
                 bool as_base, char *err, size_t errlen);

/* Incremented in every child process fork() creates (pthread_atfork). */
extern atomic_uint client_fork_generation;

/* Makes the client usable in a child of fork(): its connections, which it
 * shares with the parent, are forgotten (closed in the child only) and
 * reopened on demand. */
void client_after_fork(struct mcring_client *c, unsigned gen);

/* A value on its way to a write that stores what the caller gives (set,
 * a lease fill, a versioned write): refused past the caller's
 * item_size_max (MCRING_ETOOLARGE, checked before compression), else
 * compressed when the layer wants it, into *out (compress.h; release it
 * with packed_release). 0 or a failure. */
static inline int client_pack_value(struct mcring_client *c, const state *st,
                                    const void *value, size_t len,
                                    uint32_t flags, packed_value *out)
{
    if (st->set.item_size_max != 0 && len > st->set.item_size_max)
        return MCRING_ETOOLARGE;
    return compress_pack(&c->compress, &st->set.compress,
                         value != NULL ? value : "", len, flags, out);
}

/* Every call's entry: the current state, inside the RCU read side (leave
 * with state_leave()). The first call in a child process first drops the
 * connections inherited from the parent. */
static inline state *client_enter(struct mcring_client *c)
{
    unsigned gen =
        atomic_load_explicit(&client_fork_generation, memory_order_acquire);
    if (__builtin_expect(gen != atomic_load_explicit(&c->fork_gen,
                                                      memory_order_acquire),
                         0))
        client_after_fork(c, gen);
    return state_enter(&c->current);
}

#endif
