/*
 * The client's published configuration ("state"): a ring, the server
 * objects it names, and the settings every call reads. A state is immutable
 * once published; a reconfiguration builds a new one and publishes it with
 * one pointer swap under RCU.
 *
 * RCU flavour: urcu-bp ("bulletproof"). Threads register themselves on
 * their first read-side lock and are unregistered when they exit, so
 * application threads need no setup; with the kernel's membarrier the read
 * lock costs a thread-local load and store. A call holds the read lock for
 * its whole duration, so a call in flight finishes on the state it started
 * with, and a state (with any server only it names) is reclaimed by
 * call_rcu after a grace period — when every call that could have seen it
 * has returned, and so has given its connections back.
 *
 * A state may name a second list, the gutter (gutter_servers), with a ring
 * of its own over it (same mode, hashes and tries): the keys of a down or
 * failing server go there instead of to the ring's next server. Gutter
 * servers are server objects like the others, after the ring's in
 * `servers`.
 *
 * Servers outlive states: the client keeps a registry of server objects
 * by name, each counting the states that name it. A server in the old and
 * the new list is shared, with its pool, connections, error history and
 * counters. A server only the old state named is closed and freed when
 * that state is reclaimed.
 */
#ifndef MCRING_STATE_H
#define MCRING_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define URCU_INLINE_SMALL_FUNCTIONS 1
#include <urcu/urcu-bp.h>

#include "compress.h"
#include "config.h"
#include "ring.h"
#include "server.h"
#include "strmap.h"
#include "tls.h"
#include "tsan.h"

typedef struct settings {
    int64_t connect_timeout_ns, pool_timeout_ns, io_timeout_ns;
    limit_params limits;
    int64_t item_size_warning_threshold;
    size_t item_size_max; /* 0: no limit */
    unsigned depth;       /* requests in flight per connection (1 when
                           * pipelining is off) */
    bool fences;          /* end each batch with a fence (pipeline.h) */
    key_mode keys;
    protocol_mode protocol; /* text or meta commands */
    bool single_flight;     /* gets of one key share a request in flight */
    int64_t lease_ttl;      /* lease calls: seconds a winner has to fill */
    int64_t lease_recache;  /* lease calls: remaining TTL below which one
                             * reader refreshes early (0: never) */
    health_params health; /* health.probe: server_health = probe */
    unsigned connect_concurrency; /* per server; 0: no limit */
    int64_t connect_interval_ns;  /* 1 s / connect_rate; 0: no limit */
    int64_t gutter_ttl;           /* seconds */
    mcring_log_fn log;
    void *log_userdata;
    /* Metrics (metrics.h): timed is histograms || trace, the one test the
     * request path makes when neither is wanted. */
    bool histograms, timed;
    mcring_trace_fn trace;
    void *trace_userdata;
    compress_config compress; /* compress.h */
} settings;

typedef struct registry registry;

typedef struct state {
    mcring_ring *ring;  /* referenced */
    mcring_ring *gutter; /* the gutter's ring (referenced), or NULL */
    size_t nservers;    /* the ring's servers, then the gutter's */
    server **servers;   /* ring server index -> server, then gutter ring
                         * index + ring->nservers -> server (referenced);
                         * NULL until state_attach */
    uint32_t max_connections; /* for servers this state creates */
    settings set;
    tls_ctx *tls;       /* NULL: plain TCP */
    registry *reg;      /* where its servers are registered (the reclaimer
                         * drops its references there) */
    atomic_uint pins;   /* 1 while published or waiting for its grace
                         * period, plus one per state_pin */
    struct rcu_head rcu;
} state;

/* The writer side of a client: the registry of server objects by name and
 * the lock serialising the attachment of states and their reclamation. */
struct registry {
    pthread_mutex_t lock;
    strmap servers; /* name -> server */
    health_fleet fleet; /* what its servers share (health.h) */
};

void registry_init(registry *r);
/* Frees every server still registered (client teardown). */
void registry_destroy(registry *r);

/*
 * Building a state, in two steps so that the expensive one runs without the
 * registry lock (a reconfiguration to 100,000 servers must not stall
 * another writer, the reclaimer, or a client being freed):
 *
 * state_prepare parses the server lists, builds the rings and the TLS
 * context. No lock; any thread. Returns 0, MCRING_ENOMEM,
 * MCRING_ECONFIG/EADDR/ENOSERVERS (bad options; a server in both lists is
 * MCRING_ECONFIG) or MCRING_ETLS.
 *
 * state_attach gives the prepared state its server objects, reusing
 * registered ones by name and registering new ones. Call with the registry
 * locked. 0 or MCRING_ENOMEM; on failure the state is as prepared.
 *
 * state_discard frees a prepared state that was never attached. Any thread.
 */
int state_prepare(const mcring_options *o, state **out, char *err,
                  size_t errlen);
int state_attach(state *st, registry *reg, char *err, size_t errlen);
void state_discard(state *st);

/* Publishes st as *slot and hands the previous state to call_rcu for
 * reclamation, on the client's own call_rcu worker (crdp). Call with the
 * registry locked. */
void state_publish(state **slot, state *st, struct call_rcu_data *crdp);

/* Waits until every state handed to crdp so far has been reclaimed. */
void state_reclaim_barrier(struct call_rcu_data *crdp);

/* Reclaims a state no reader can see any more (after a grace period, or at
 * client teardown): drops its server references, freeing servers no state
 * names — unless something pinned it, in which case the last state_unpin
 * does that. Takes the registry lock. */
void state_reclaim_now(state *st, registry *reg);

/* Keeps st (its ring, servers, settings and TLS context) alive past the
 * read side, for work that outlives a call: an event loop's request in
 * flight (async.c). Call inside the read side that returned st; any
 * thread. */
static inline void state_pin(state *st)
{
    atomic_fetch_add_explicit(&st->pins, 1, memory_order_relaxed);
}

/* Lets go of a pin; the last one out of a retired state frees it. Any
 * thread, no lock held. */
void state_unpin(state *st);

/* Stands for every reader's grace-period hand-off to reclamation in
 * ThreadSanitizer's eyes (see tsan.h). */
extern char state_grace_token;

/* The gutter server at position i of the gutter ring. */
static inline struct server *state_gutter_server(const state *st, size_t i)
{
    return st->servers[st->ring->nservers + i];
}

/* The limits on connecting to a server under these settings. */
static inline connect_limits state_connect_limits(const state *st,
                                                  struct server *sv)
{
    connect_limits lim = {st->set.connect_concurrency,
                          st->set.connect_interval_ns,
                          st->set.health.probe ? &sv->health.status : NULL};
    return lim;
}

/* Enters the RCU read side and returns the current state, valid until
 * state_leave(). Nests. Lock-free; any thread, no registration needed. */
static inline state *state_enter(state **slot)
{
    urcu_bp_read_lock();
    state *st = rcu_dereference(*slot);
    TSAN_ACQUIRE(slot);
    return st;
}

/* Leaves the read side: the state may be reclaimed after this. */
static inline void state_leave(void)
{
    TSAN_RELEASE(&state_grace_token);
    urcu_bp_read_unlock();
}

#endif
