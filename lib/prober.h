/*
 * The prober: one background thread per client that decides when a down
 * server (health.h) is back. It starts the first time a server goes down
 * (a client whose servers never fail has no such thread), sleeps until the
 * earliest probe due among the servers of the current state, and probes
 * each due server on a connection of its own: connect, `version`, a
 * `VERSION ...` line back, all within health_probe_timeout. A success
 * brings the server up (its pool then refills gradually: pool_recovered);
 * a failure schedules the next probe further off. Live requests never
 * touch a down server, so they never decide its recovery.
 *
 * The thread reads the published state like any call (inside the RCU read
 * side for one probe at a time), so a probe in progress holds up the
 * reclamation of a retired state by at most health_probe_timeout.
 */
#ifndef MCRING_PROBER_H
#define MCRING_PROBER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "conn.h"

struct state;

typedef struct prober {
    pthread_mutex_t lock;
    pthread_cond_t cond;   /* CLOCK_MONOTONIC */
    pthread_t thread;      /* [lock] valid while running */
    bool running;          /* [lock] */
    bool stop;             /* [lock] */
    bool kicked;           /* [lock] a server went down since it looked */
    struct state **current; /* the client's published state */
    conn c;                /* the probe's connection (prober thread) */
} prober;

/* Sets up a prober of the states published at *current; starts nothing. */
void prober_init(prober *p, struct state **current);

/*
 * A server went down: starts the thread if it is not running and wakes it
 * to look at the schedule. Returns false when the thread cannot be started
 * (the caller brings the server back up: nothing would). Thread-safe; not
 * from the prober's own thread.
 */
bool prober_kick(prober *p);

/* Stops and joins the thread (waiting for a probe in progress) and frees
 * what it holds. Call once, with no more kicks to come. */
void prober_destroy(prober *p);

/* In a child of fork(): the parent's thread is not there. Forgets it and
 * the probe connection inherited (closing the child's copy); the next
 * kick starts a thread of the child's own. Nothing else may run in the
 * client. */
void prober_after_fork(prober *p);

#endif
