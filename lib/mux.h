/*
 * Many threads' requests on a few connections: how blocking callers share
 * a pipelined connection (pipeline.h) without a thread of mcring's own and
 * without spinning.
 *
 * A connection slot has two roles, each held by at most one caller at a
 * time: the writer, who sends everything queued with one sendmsg (so the
 * requests of every thread that arrived meanwhile go out together), and
 * the reader, who reads the replies for everyone and completes each
 * request, waking its caller. A caller that finds a role free takes it;
 * one that finds both taken sleeps on its own futex word until its request
 * completes or a role is handed to it. A lone thread therefore writes its
 * request and reads its reply itself, with no hand-off; under load the
 * work of reading is passed along (leader/follower) instead of to a
 * dedicated thread.
 *
 * Hand-offs. A reader whose own requests are done gives the role up and
 * wakes the owner of the oldest request that is not busy reading another
 * connection; a writer whose own requests are out but whose socket is full
 * hands its role to the owner of the first request still unsent. A reader
 * keeps the role while the writer is blocked on a full socket and no one
 * else could take over (someone must drain the replies, or the server
 * stops reading and the writer never finishes).
 *
 * Failure. Whoever finds the connection broken (I/O error, timeout, a
 * reply that does not fit) marks it and shuts the socket down, which
 * wakes the other role holder out of its system call; the last role holder
 * to leave completes every request with the failure and closes the
 * connection. A caller past its deadline whose reply has not come ends the
 * connection the same way (its reply is behind every earlier one, so the
 * server is not answering): each request keeps its own io deadline. The
 * failure is counted once, with one request (mux_req.count_it).
 *
 * Memory. A request lives on its caller's stack. Everything written to it
 * or to its waiter by another thread is written under the slot's lock, and
 * its caller returns only after seeing it done under that lock; the futex
 * wake that follows may reach a word that is gone, which is harmless
 * (futex.h).
 */
#ifndef MCRING_MUX_H
#define MCRING_MUX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pipeline.h"

/* A blocking call waiting for its requests. Lives on its stack. */
typedef struct waiter {
    _Atomic uint32_t word; /* bumped by 2 for every event; bit 0: asleep */
    atomic_int reading;    /* slots whose replies it is reading */
} waiter;

static inline void waiter_init(waiter *w)
{
    atomic_init(&w->word, 0);
    atomic_init(&w->reading, 0);
}

struct mux_slot;

/* One request of a blocking call on one slot. */
typedef struct mux_req {
    pipe_req pr; /* first: the pipeline hands this back */
    struct mux_slot *slot;
    waiter *w;
    bool done;     /* [slot lock] completed: pr.result holds how */
    int64_t queued_at; /* when it joined the connection (monotonic ns) */
    bool no_defer; /* written at once, never left for the reader to write
                    * with its next turn: its caller also waits on other
                    * slots and may be blocked reading one of them (a
                    * multi-key call's requests, multi.c) */
    bool count_it; /* the connection failed, and that failure is counted
                    * with this request (its own result may be 0: the
                    * connection ended after its reply was read) */
    /* A failure of the connection: what the log says of it. */
    int uncounted_rc; /* the failure, when not its own result */
    int fail_errno;
    const char *fail_why;
    char fail_detail[96];
} mux_req;

typedef enum slot_status {
    SLOT_CLOSED = 0,
    SLOT_CONNECTING = 1,
    SLOT_OPEN = 2,
} slot_status;

/* Place-waiting: what a slot tells its pool when a place frees up. */
typedef struct mux_places {
    _Atomic uint32_t seq; /* futex word, bumped when a place frees up */
    atomic_int waiters;   /* callers waiting for a place */
} mux_places;

/* One connection shared by many callers. */
typedef struct mux_slot {
    pthread_mutex_t lock;
    pipeline pl;        /* [lock] and the roles' parts (pipeline.h) */
    waiter *reader;     /* [lock] role holders, NULL: free */
    waiter *writer;
    slot_status status; /* [lock] */
    atomic_int status_hint; /* status, for choosing a slot without the lock */
    unsigned load;          /* [lock] requests placed here (claimed,
                             * queued, in flight) */
    atomic_uint load_hint;
    int64_t connect_deadline; /* [lock] while SLOT_CONNECTING: when the
                               * connect gives up */
    int broken;          /* [lock] 0, or the failure ending the connection */
    int closed_rc;       /* [lock] why the last connection (or connect)
                          * ended */
    int uncounted;       /* [lock] a failure that ended the connection when
                          * no request was on it: counted with the next
                          * request that looks at the slot */
    bool expired;        /* [lock] a caller passed its deadline */
    bool writer_blocked; /* [lock] the writer waits for the socket */
    /* [lock] what ended the connection, for the log */
    int fail_errno;
    const char *fail_why;
    char fail_detail[96];
    mux_places *places;
    atomic_int *fence_hint; /* where what the server said of fences is
                             * remembered for its next connections */
} mux_slot;

/* Sets up a closed slot whose freed places are announced on places, and
 * which records in *fence_hint whether its server answers fences. */
void mux_slot_init(mux_slot *s, mux_places *places, atomic_int *fence_hint);
/* Closes its connection. No request may be on it. */
void mux_slot_destroy(mux_slot *s);

/* [lock] Claims a place for one request (the pool checked there is room). */
static inline void mux_slot_claim(mux_slot *s)
{
    s->load++;
    atomic_store_explicit(&s->load_hint, s->load, memory_order_relaxed);
}

/* Gives back a place claimed but not used (the request never went on). */
void mux_slot_unclaim(mux_slot *s);

/*
 * Ends a connect the caller started on a slot it set SLOT_CONNECTING
 * (holding a claimed place): rc 0 opens it with the given fence mode;
 * otherwise every request queued on it meanwhile fails with rc (they are
 * not counted: the connecting caller counts the failure) and its place is
 * given back. Thread-safe.
 */
void mux_slot_connected(mux_slot *s, int rc, fence_mode fence);

/*
 * Puts r on slot s, on the place the caller claimed, and writes what can
 * be written now when no one else is writing. r->pr's iov, iovcnt and
 * reader are set; everything they point to stays valid until r is done.
 * Its reply must be read within io_timeout_ns (counted from the end of the
 * connect when the slot is still connecting). Thread-safe.
 */
void mux_submit(mux_slot *s, mux_req *r, waiter *w, int64_t io_timeout_ns);

/*
 * Returns when every one of reqs[0..n) is done (each on a different
 * slot), having written and read for others whenever a role was free,
 * and holding no role. Thread-safe.
 */
void mux_wait(mux_req **reqs, size_t n, waiter *w);

/* Wakes one caller waiting for a place. */
void mux_places_wake(mux_places *p);

#endif
