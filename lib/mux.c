#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "futex.h"
#include "mcring.h"
#include "mux.h"

/* ---- waking callers after the lock is dropped ---------------------------- */

#define WAKE_MAX 32

typedef struct wake_list {
    waiter *w[WAKE_MAX];
    int n;
    mux_places *place; /* a place freed up while callers wait for one */
} wake_list;

static void wake_add(wake_list *wl, waiter *w)
{
    if (wl->n == WAKE_MAX) {
        /* Rare (a very large batch completing at once): wake now. */
        futex_wake(&w->word, 1);
        return;
    }
    wl->w[wl->n++] = w;
}

/* Called with no lock held. The waiters may have returned already: only
 * their words' addresses are used (futex.h). */
static void wake_flush(wake_list *wl)
{
    for (int i = 0; i < wl->n; i++)
        futex_wake(&wl->w[i]->word, 1);
    wl->n = 0;
    if (wl->place != NULL) {
        mux_places_wake(wl->place);
        wl->place = NULL;
    }
}

/* ---- waiters ------------------------------------------------------------ */

/* The event count before the caller checks its requests (an RMW, so that
 * none of the checks can be ordered before it). */
static uint32_t waiter_snapshot(waiter *w)
{
    return atomic_fetch_or_explicit(&w->word, 0, memory_order_acq_rel) & ~1u;
}

/* Sleeps until an event after snap, or deadline. */
static void waiter_sleep(waiter *w, uint32_t snap, int64_t deadline)
{
    int64_t left = deadline - clock_now_ns();
    if (left <= 0)
        left = NS_PER_MS; /* past it: the connection is being ended for
                           * us; look again soon */
    uint32_t seen = snap;
    if (!atomic_compare_exchange_strong(&w->word, &seen, snap | 1u) &&
        seen != (snap | 1u))
        return; /* something happened since the snapshot */
    futex_wait(&w->word, snap | 1u, left);
    atomic_fetch_and(&w->word, ~1u);
}

/* [slot lock, a request of w's on it] One event for w. True when w is
 * asleep and must be woken (after the lock is dropped). */
static bool waiter_bump(waiter *w)
{
    return atomic_fetch_add(&w->word, 2) & 1u;
}

static void bump(wake_list *wl, waiter *w)
{
    if (waiter_bump(w))
        wake_add(wl, w);
}

/* ---- slots ---------------------------------------------------------------*/

void mux_slot_init(mux_slot *s, mux_places *places, atomic_int *fence_hint)
{
    memset(s, 0, sizeof(*s));
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    /* Critical sections are a few list operations: spin a little before
     * sleeping, since the holder is usually running. */
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&s->lock, &a);
    pthread_mutexattr_destroy(&a);
    pipeline_init(&s->pl);
    atomic_init(&s->status_hint, SLOT_CLOSED);
    atomic_init(&s->load_hint, 0);
    s->places = places;
    s->fence_hint = fence_hint;
}

void mux_slot_destroy(mux_slot *s)
{
    pipeline_destroy(&s->pl);
    pthread_mutex_destroy(&s->lock);
}

static void set_status(mux_slot *s, slot_status st)
{
    s->status = st;
    atomic_store_explicit(&s->status_hint, st, memory_order_relaxed);
}

/* How long a request may wait to be written behind replies that are slow
 * to come: past it, its own caller writes it. */
#define DEFER_MAX_NS (2 * NS_PER_MS)

/* [lock] Whether requests written to the connection still await their
 * replies. Requests queued meanwhile are not written at once: the reader
 * writes them all together when those replies wake it (combining), so a
 * busy connection takes one write per round trip, not one per request.
 * (A server that holds replies until more requests come would stall
 * that; DEFER_MAX_NS bounds the wait.) */
static bool awaiting_replies(const pipeline *p)
{
    pipe_req *h = pipeline_head(p);
    return h != NULL && h != p->wnext && !p->read_idle;
}

/* [lock] One place given back: tell a caller waiting for one. */
static void place_freed(mux_slot *s, wake_list *wl)
{
    s->load--;
    atomic_store_explicit(&s->load_hint, s->load, memory_order_relaxed);
    /* Pairs with the waiter's announce-then-look (pool.c): either it sees
     * the lower load, or this sees it waiting. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&s->places->waiters, memory_order_relaxed) > 0)
        wl->place = s->places;
}

void mux_places_wake(mux_places *p)
{
    atomic_fetch_add(&p->seq, 1);
    futex_wake(&p->seq, 1);
}

typedef struct complete_ctx {
    wake_list *wl;
    bool count_first; /* the first failed request carries the count */
} complete_ctx;

/* [lock] The pipeline completed r. */
static void on_complete(pipe_req *pr, void *ctx)
{
    complete_ctx *cc = ctx;
    mux_req *r = (mux_req *)pr;
    mux_slot *s = r->slot;
    waiter *w = r->w;
    place_freed(s, cc->wl);
    if (pr->conn_failure) {
        r->fail_errno = s->fail_errno;
        r->fail_why = s->fail_why;
        memcpy(r->fail_detail, s->fail_detail, sizeof(r->fail_detail));
        if (cc->count_first) {
            r->count_it = true;
            cc->count_first = false;
        }
    }
    r->done = true;
    bump(cc->wl, w); /* r may be gone once the lock is dropped */
}

/* [lock] Ends the connection: every request fails with rc; the slot is
 * closed and ready for a new connection. No role may be held. */
static void slot_cleanup(mux_slot *s, int rc, bool count, wake_list *wl)
{
    complete_ctx cc = {wl, count};
    pipeline_fail_all(&s->pl, rc, on_complete, &cc);
    if (cc.count_first) /* no request was on it to carry the count */
        s->uncounted = rc;
    conn_close(&s->pl.conn);
    s->closed_rc = rc;
    s->broken = 0;
    s->expired = false;
    s->writer_blocked = false;
    set_status(s, SLOT_CLOSED);
}

/* [lock] Marks the connection broken (the first failure wins) and wakes
 * the other role holder out of its system call. */
static void slot_break(mux_slot *s, int rc, int sys_errno, const char *why,
                       const char *detail)
{
    if (s->broken != 0)
        return;
    if (s->expired && (rc == MCRING_ECLOSED || rc == MCRING_EIO)) {
        /* The shutdown a caller past its deadline did. */
        rc = MCRING_ETIMEOUT;
        sys_errno = 0;
        why = NULL;
        detail = NULL;
    }
    s->broken = rc;
    s->fail_errno = sys_errno;
    s->fail_why = why;
    snprintf(s->fail_detail, sizeof(s->fail_detail), "%s",
             detail != NULL ? detail : "");
    conn_shutdown(&s->pl.conn);
}

/* [lock] The owner to hand the reader role to: the first request's owner
 * that is not `leaving` and not reading elsewhere (else any other). */
static waiter *reader_candidate(mux_slot *s, waiter *leaving)
{
    waiter *fallback = NULL;
    for (pipe_req *pr = pipeline_head(&s->pl); pr != NULL;
         pr = atomic_load_explicit(&pr->next, memory_order_relaxed)) {
        waiter *w = ((mux_req *)pr)->w;
        if (w == leaving)
            continue;
        if (atomic_load_explicit(&w->reading, memory_order_relaxed) == 0)
            return w;
        if (fallback == NULL)
            fallback = w;
    }
    return fallback;
}

/* [lock] After w gave a role up: the last one out of a broken connection
 * cleans it up; otherwise a role still needed goes to a caller who will
 * take it. */
static void after_release(mux_slot *s, waiter *w, wake_list *wl)
{
    if ((s->broken != 0 || s->expired) && s->reader == NULL &&
        s->writer == NULL) {
        if (s->broken == 0)
            slot_break(s, MCRING_ETIMEOUT, 0, NULL, NULL);
        slot_cleanup(s, s->broken, true, wl);
        return;
    }
    if (s->broken != 0 || s->expired)
        return; /* the holder still inside will clean up */
    if (s->reader == NULL && s->pl.count > 0 && !s->pl.read_idle) {
        waiter *c = reader_candidate(s, w);
        if (c != NULL)
            bump(wl, c);
    }
    if (s->writer == NULL && pipeline_has_output(&s->pl)) {
        waiter *c = ((mux_req *)s->pl.wnext)->w;
        if (c != w)
            bump(wl, c);
    }
}

static void release_reader(mux_slot *s, waiter *w)
{
    s->reader = NULL;
    atomic_fetch_sub_explicit(&w->reading, 1, memory_order_relaxed);
}

/* ---- the writer role ----------------------------------------------------- */

/* Lock held: gives up the writer role, hands on what is due, and returns
 * with the lock released and the wake-ups done. */
static void writer_leave(mux_slot *s, waiter *w, wake_list *wl)
{
    s->writer = NULL;
    s->writer_blocked = false;
    after_release(s, w, wl);
    pthread_mutex_unlock(&s->lock);
    wake_flush(wl);
}

/* Writer role held, lock not held: sends what is queued until all is sent
 * (the role is then given up) or the socket is full (the role is kept,
 * writer_blocked set), or the connection broke. */
static void slot_write(mux_slot *s, waiter *w, wake_list *wl)
{
    pipeline *p = &s->pl;
    complete_ctx cc = {wl, false};
    for (;;) {
        pthread_mutex_lock(&s->lock);
        struct iovec *iov = NULL;
        int n = s->broken != 0 || s->expired ? 0 : pipeline_gather(p, &iov);
        if (n < 0)
            slot_break(s, n, 0, NULL, "out of memory");
        if (n <= 0) {
            writer_leave(s, w, wl);
            return;
        }
        s->writer_blocked = false;
        pthread_mutex_unlock(&s->lock);

        ssize_t sent = conn_send_some(&p->conn, iov, n);

        pthread_mutex_lock(&s->lock);
        if (sent > 0)
            pipeline_sent(p, (size_t)sent, on_complete, &cc);
        if (sent == 0 && s->broken == 0 && !s->expired) {
            s->writer_blocked = true;
            pthread_mutex_unlock(&s->lock);
            wake_flush(wl);
            return;
        }
        if (sent < 0) {
            slot_break(s, (int)sent, p->conn.werrno, p->conn.wwhy, NULL);
            writer_leave(s, w, wl);
            return;
        }
        pthread_mutex_unlock(&s->lock);
        wake_flush(wl);
    }
}

/* ---- the reader role ----------------------------------------------------- */

enum { DRAIN_NEED = 0, DRAIN_PROGRESS = 1, DRAIN_IDLE = 2 };

/* Reader role held, lock not held: parses what is buffered, completing
 * requests. DRAIN_NEED: more input is needed; DRAIN_PROGRESS: requests
 * completed; DRAIN_IDLE: every request's reply has been read; < 0: the
 * stream is out of step (p->why). */
static int drain(mux_slot *s, wake_list *wl)
{
    pipeline *p = &s->pl;
    complete_ctx cc = {wl, false};
    int result = DRAIN_NEED;
    for (;;) {
        int step = pipeline_parse(p);
        if (step < 0)
            return step;
        if (step == PARSE_READ)
            return result;
        pthread_mutex_lock(&s->lock);
        if (step == PARSE_CONFIRM) {
            if (pipeline_confirm(p, on_complete, &cc) > 0)
                result = DRAIN_PROGRESS;
            int mode = atomic_load_explicit(&p->fence, memory_order_relaxed);
            if (s->fence_hint != NULL && mode != FENCE_PROBE)
                atomic_store_explicit(s->fence_hint, mode,
                                      memory_order_relaxed);
        } else if (!pipeline_advance(p)) {
            bool extra = conn_buffered(&p->conn) > 0;
            if (!extra)
                p->read_idle = true;
            pthread_mutex_unlock(&s->lock);
            wake_flush(wl);
            if (extra) {
                snprintf(p->why, sizeof(p->why),
                         "a reply that no request asked for");
                return MCRING_EPROTO;
            }
            return DRAIN_IDLE;
        }
        pthread_mutex_unlock(&s->lock);
        wake_flush(wl);
    }
}

/* Reader role held, lock not held: parses what is buffered; if that
 * completed nothing, reads once (waiting until deadline when block) and
 * parses again. A failure breaks the connection. */
static void slot_read(mux_slot *s, bool block, int64_t deadline,
                      wake_list *wl)
{
    pipeline *p = &s->pl;
    conn *c = &p->conn;
    int rc = drain(s, wl);
    if (rc == DRAIN_NEED) {
        size_t dlen = 0;
        char *d = pipeline_direct(p, &dlen);
        if (d != NULL) {
            ssize_t n = block ? conn_read_direct(c, d, dlen, deadline)
                              : conn_try_read_direct(c, d, dlen);
            if (n > 0)
                pipeline_direct_done(p, (size_t)n);
            rc = n < 0 ? (int)n : 0;
        } else {
            rc = block ? conn_fill(c, deadline) : conn_try_fill(c);
            if (rc > 0)
                rc = 0;
        }
        if (rc == 0)
            rc = drain(s, wl);
        else {
            pthread_mutex_lock(&s->lock);
            slot_break(s, rc, c->rerrno, c->rwhy, NULL);
            pthread_mutex_unlock(&s->lock);
            return;
        }
    }
    if (rc < 0) {
        pthread_mutex_lock(&s->lock);
        slot_break(s, rc, 0, NULL, p->why);
        pthread_mutex_unlock(&s->lock);
    }
}

/* ---- submitting ----------------------------------------------------------*/

void mux_slot_unclaim(mux_slot *s)
{
    wake_list wl = {.n = 0};
    pthread_mutex_lock(&s->lock);
    place_freed(s, &wl);
    pthread_mutex_unlock(&s->lock);
    wake_flush(&wl);
}

void mux_slot_connected(mux_slot *s, int rc, fence_mode fence)
{
    wake_list wl = {.n = 0};
    pthread_mutex_lock(&s->lock);
    if (rc == 0) {
        atomic_store_explicit(&s->pl.fence, fence, memory_order_relaxed);
        set_status(s, SLOT_OPEN);
    } else {
        /* The connecting caller counts the failure (not one per request
         * that queued behind it). */
        s->fail_errno = 0;
        s->fail_why = NULL;
        s->fail_detail[0] = '\0';
        place_freed(s, &wl);
        slot_cleanup(s, rc, false, &wl);
    }
    pthread_mutex_unlock(&s->lock);
    wake_flush(&wl);
}

void mux_submit(mux_slot *s, mux_req *r, waiter *w, int64_t io_timeout_ns)
{
    wake_list wl = {.n = 0};
    r->slot = s;
    r->w = w;
    r->done = false;
    r->count_it = false;
    r->uncounted_rc = 0;
    r->pr.owner = r;
    pthread_mutex_lock(&s->lock);
    if (s->status == SLOT_CLOSED) {
        /* Its connection (or connect) ended between the claim and now:
         * the request fails with that, counted by whoever saw it end. */
        r->pr.result = s->closed_rc != 0 ? s->closed_rc : MCRING_ECLOSED;
        r->pr.conn_failure = true;
        r->done = true;
        place_freed(s, &wl);
        pthread_mutex_unlock(&s->lock);
        wake_flush(&wl);
        return;
    }
    int64_t now = clock_now_ns();
    int64_t from = s->status == SLOT_CONNECTING ? s->connect_deadline : now;
    r->pr.deadline = from + io_timeout_ns;
    r->queued_at = now;
    bool was_idle = s->pl.count == 0;
    pipeline_push(&s->pl, &r->pr);
    s->pl.read_idle = false;
    bool write = false;
    if (s->status == SLOT_OPEN && s->broken == 0 && !s->expired) {
        if (was_idle && !r->pr.reader->self_matched &&
            atomic_load_explicit(&s->pl.fence, memory_order_relaxed) ==
                FENCE_OFF &&
            s->reader == NULL && pipeline_idle_check(&s->pl) != 0) {
            /* Without fences, bytes waiting on an idle connection are a
             * late extra reply: this connection is out of step. (A
             * request whose reply carries its token needs no look: such
             * bytes fail its reader.) */
            slot_break(s, MCRING_EPROTO, 0, NULL, s->pl.why);
            if (s->writer == NULL)
                slot_cleanup(s, MCRING_EPROTO, true, &wl);
        } else if (s->writer == NULL &&
                   (r->no_defer || !awaiting_replies(&s->pl))) {
            s->writer = w;
            write = true;
        }
    }
    pthread_mutex_unlock(&s->lock);
    wake_flush(&wl);
    if (write)
        slot_write(s, w, &wl);
}

/* ---- waiting -------------------------------------------------------------*/

#define ROLE_READ 1
#define ROLE_WRITE 2

typedef struct held {
    mux_slot *s;
    int roles;
    bool blocked;     /* the writer role waits for the socket */
    int64_t deadline; /* when its reply reading must end */
} held;

/* [lock] Whether w, whose requests here are done, may give the reader
 * role up now: not while the writer waits for a full socket and no one
 * but the writer could read after us. */
static bool reader_may_leave(mux_slot *s, waiter *w)
{
    if (!s->writer_blocked || s->pl.count == 0)
        return true;
    for (pipe_req *pr = pipeline_head(&s->pl); pr != NULL;
         pr = atomic_load_explicit(&pr->next, memory_order_relaxed)) {
        waiter *o = ((mux_req *)pr)->w;
        if (o != w && o != s->writer)
            return true;
    }
    return false;
}

/* [lock] A caller past its deadline on an open slot: the connection ends
 * (at once if no one is inside it, else through its role holders). */
static void expire(mux_slot *s, wake_list *wl)
{
    if (s->reader == NULL && s->writer == NULL) {
        slot_break(s, MCRING_ETIMEOUT, 0, NULL, NULL);
        slot_cleanup(s, MCRING_ETIMEOUT, true, wl);
        return;
    }
    if (!s->expired) {
        s->expired = true;
        conn_shutdown(&s->pl.conn);
    }
}

/* [lock] What settle_roles does, without the counting. */
static int settle(mux_slot *s, waiter *w, bool done, int64_t my_deadline,
                  int64_t now, wake_list *wl)
{
    bool usable = s->status == SLOT_OPEN && s->broken == 0 && !s->expired;
    bool gave = false;
    /* A reader leaves a broken connection, one whose every reply has been
     * read (what is left completes as the writer accounts for its bytes),
     * or, its own request done, when others can read after it. */
    if (s->reader == w &&
        (!usable || s->pl.read_idle || (done && reader_may_leave(s, w)))) {
        release_reader(s, w);
        gave = true;
    }
    /* A writer whose request is done leaves others' bytes to their owners
     * when the socket is full; a broken connection is left at once. */
    if (s->writer == w && (!usable || (done && s->writer_blocked))) {
        s->writer = NULL;
        s->writer_blocked = false;
        gave = true;
    }
    bool orphaned = s->status == SLOT_OPEN && (s->broken != 0 || s->expired) &&
                    s->reader == NULL && s->writer == NULL;
    if (gave || orphaned)
        after_release(s, w, wl); /* the last one out cleans up */
    if (!done && s->status == SLOT_OPEN && s->broken == 0 && !s->expired) {
        if (s->reader == NULL && s->pl.count > 0 && !s->pl.read_idle) {
            s->reader = w;
            atomic_fetch_add_explicit(&w->reading, 1, memory_order_relaxed);
        }
        /* What was queued while replies are awaited goes out with the
         * reader's next turn, in one write with all queued since (or, if
         * the replies are slow, once the oldest has waited DEFER_MAX_NS). */
        if (s->writer == NULL && pipeline_has_output(&s->pl) &&
            (s->reader == w || !awaiting_replies(&s->pl) ||
             ((mux_req *)s->pl.wnext)->no_defer ||
             now - ((mux_req *)s->pl.wnext)->queued_at >= DEFER_MAX_NS))
            s->writer = w;
        if (now >= my_deadline && s->reader != w && s->writer != w)
            expire(s, wl);
    }
    return (s->reader == w ? ROLE_READ : 0) | (s->writer == w ? ROLE_WRITE : 0);
}

/* Under s's lock: settles w's roles on s given whether its request there
 * is done, and takes free roles it can use. Returns the roles held. */
static int settle_roles(mux_slot *s, mux_req *r, bool done,
                        int64_t my_deadline, int64_t now, wake_list *wl)
{
    waiter *w = r->w;
    int roles = settle(s, w, done, my_deadline, now, wl);
    if (s->uncounted != 0 && !r->count_it) {
        /* The connection this slot had ended with no request on it (a
         * reply nobody asked for, found after the last one): count it
         * with this request, keeping its own result. */
        r->count_it = true;
        r->fail_errno = s->fail_errno;
        r->fail_why = s->fail_why;
        memcpy(r->fail_detail, s->fail_detail, sizeof(r->fail_detail));
        r->uncounted_rc = s->uncounted;
        s->uncounted = 0;
    }
    return roles;
}

/* Drives the slots where w holds roles, once: writes what it can, then
 * reads (blocking on the one slot when that is all it has to do, else
 * polling them all). */
static void drive(held *h, size_t nh, waiter *w, wake_list *wl)
{
    /* Writes first: they never wait. */
    bool any_blocked = false;
    for (size_t i = 0; i < nh; i++)
        if ((h[i].roles & ROLE_WRITE) && !h[i].blocked) {
            slot_write(h[i].s, w, wl);
            return; /* look again: roles and deadlines may have changed */
        } else if (h[i].roles & ROLE_WRITE) {
            any_blocked = true;
        }
    if (nh == 1 && !any_blocked) {
        slot_read(h[0].s, true, h[0].deadline, wl);
        return;
    }

    struct pollfd small[8];
    struct pollfd *pfd = nh <= 8 ? small : malloc(nh * sizeof(*pfd));
    if (pfd == NULL) {
        /* Out of memory for the poll set: serve the first slot alone. */
        if (h[0].roles & ROLE_READ)
            slot_read(h[0].s, true, h[0].deadline, wl);
        return;
    }
    int64_t earliest = INT64_MAX;
    bool ready_now = false;
    for (size_t i = 0; i < nh; i++) {
        conn *c = &h[i].s->pl.conn;
        short ev = 0;
        if (h[i].roles & ROLE_READ) {
            ev |= conn_poll_events(c, false);
            if (conn_buffered(c) > 0 || conn_readable_now(c))
                ready_now = true;
        }
        if (h[i].roles & ROLE_WRITE)
            ev |= conn_poll_events(c, true);
        pfd[i] = (struct pollfd){.fd = c->fd, .events = ev};
        if (h[i].deadline < earliest)
            earliest = h[i].deadline;
    }
    int64_t now = clock_now_ns();
    int n = poll(pfd, (nfds_t)nh,
                 ready_now ? 0 : clock_ms_left(earliest, now));
    now = clock_now_ns();
    for (size_t i = 0; i < nh; i++) {
        mux_slot *s = h[i].s;
        short re = n > 0 ? pfd[i].revents : 0;
        if ((h[i].roles & ROLE_WRITE) && (re & (POLLOUT | POLLERR | POLLHUP)))
            slot_write(s, w, wl);
        if (h[i].roles & ROLE_READ) {
            if (re != 0 || ready_now)
                slot_read(s, false, h[i].deadline, wl);
            else if (now >= h[i].deadline) {
                pthread_mutex_lock(&s->lock);
                slot_break(s, MCRING_ETIMEOUT, 0, NULL, NULL);
                pthread_mutex_unlock(&s->lock);
            }
        } else if ((h[i].roles & ROLE_WRITE) && re == 0 &&
                   now >= h[i].deadline) {
            pthread_mutex_lock(&s->lock);
            slot_break(s, MCRING_ETIMEOUT, 0, NULL, NULL);
            pthread_mutex_unlock(&s->lock);
        }
    }
    if (pfd != small)
        free(pfd);
}

void mux_wait(mux_req **reqs, size_t n, waiter *w)
{
    held small_h[8];
    held *h = n <= 8 ? small_h : malloc(n * sizeof(*h));
    if (h == NULL) {
        /* Out of memory for bookkeeping: wait for each in turn. */
        for (size_t i = 0; i < n; i++)
            mux_wait(&reqs[i], 1, w);
        return;
    }
    wake_list wl = {.n = 0};
    for (;;) {
        uint32_t snap = waiter_snapshot(w);
        size_t left = 0, nh = 0;
        int64_t now = clock_now_ns(), earliest = INT64_MAX;
        for (size_t i = 0; i < n; i++) {
            mux_req *r = reqs[i];
            mux_slot *s = r->slot;
            pthread_mutex_lock(&s->lock);
            bool done = r->done;
            int roles = settle_roles(s, r, done, r->pr.deadline, now, &wl);
            if (!done) {
                left++;
                if (r->pr.deadline < earliest)
                    earliest = r->pr.deadline;
                /* Not written yet (deferred behind replies): look again
                 * when it may write itself. */
                if (roles == 0 &&
                    atomic_load_explicit(&r->pr.wstate,
                                         memory_order_relaxed) ==
                        PIPE_QUEUED &&
                    r->queued_at + DEFER_MAX_NS < earliest)
                    earliest = r->queued_at + DEFER_MAX_NS;
            }
            if (roles != 0) {
                int64_t d = pipeline_deadline(&s->pl);
                if (!done && r->pr.deadline < d)
                    d = r->pr.deadline;
                h[nh++] = (held){s, roles, s->writer_blocked, d};
            }
            pthread_mutex_unlock(&s->lock);
            wake_flush(&wl);
        }
        if (left == 0 && nh == 0)
            break;
        if (nh == 0)
            waiter_sleep(w, snap, earliest);
        else
            drive(h, nh, w, &wl);
    }
    if (h != small_h)
        free(h);
}
