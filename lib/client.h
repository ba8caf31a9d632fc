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
#include "config.h"
#include "ring.h"
#include "state.h"

struct watcher;

struct mcring_client {
    state *current; /* RCU-published; see state.h */
    registry reg;   /* writer side: server registry and its lock */
    mcring_options opts; /* what `current` was built from (registry lock) */
    mcring_options base; /* what reloads of a file start from (same lock) */
    struct watcher *watch; /* config file watcher, or NULL */
    codec_registry codecs; /* added codecs; all-zero is empty (codec.h) */
    struct call_rcu_data *crdp; /* its own call_rcu worker: reclaims its
                                 * retired states */
    atomic_uint fork_gen;  /* client_fork_generation its connections are
                            * from */
    atomic_uint fork_reset; /* the generation whose reset is finished */
};

registry *client_registry(struct mcring_client *c);

/* Builds a state from o and publishes it; as_base also makes o the base
 * that file reloads start from. 0 or the build failure (nothing changed). */
int client_apply(struct mcring_client *c, const mcring_options *o,
                 bool as_base, char *err, size_t errlen);

/* Incremented in every child process fork() creates (pthread_atfork). */
extern atomic_uint client_fork_generation;

/* Makes the client usable in a child of fork(): its connections, which it
 * shares with the parent, are forgotten (closed in the child only) and
 * reopened on demand. */
void client_after_fork(struct mcring_client *c, unsigned gen);

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
