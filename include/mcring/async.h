/*
 * mcring/async.h — operations that never block, for event-loop servers
 * (one loop per core: libuv, libevent, epoll). An mcring_async belongs to
 * one event loop and is driven by it, as hiredis's async context is: the
 * core never waits, never polls and starts no thread; it asks the loop,
 * through a few hooks, to watch its descriptors and to arm one timer, and
 * the loop calls it back when one is ready. Small headers under
 * mcring/adapters/ fill the hooks in for libuv, libevent and a plain
 * epoll loop; the library links none of them.
 *
 * An mcring_async is made from a shared mcring_client: it uses the
 * client's configuration and follows its live ring swaps, and it shares
 * each server's error limiting with the client's blocking calls. It opens
 * its own connections — one per server it talks to — and pipelines its
 * requests on them under the same rules as the blocking calls (a reply
 * that does not fit ends the connection; every request on it fails over
 * or fails).
 *
 * The rules a caller can rely on:
 *  - A call that returns an error never calls its callback; a call that
 *    returns 0 calls it exactly once, later — never from inside the call
 *    that queued it, always from inside one of the mcring_async_on_*
 *    functions the loop calls (or mcring_async_cancel/mcring_async_free).
 *  - Keys and values are copied by the call: the caller's buffers are free
 *    when it returns. Results (items, status arrays) are the library's and
 *    valid only during the callback: copy what you keep.
 *  - A callback may start new operations, cancel them all, and free the
 *    mcring_async (the object goes once the callback returns).
 *  - Each request has its own deadline (io_timeout, pool_timeout and
 *    connect_timeout mean what they mean for the blocking calls); when a
 *    connection fails or times out, every request on it fails over along
 *    its key's servers or ends with the failure.
 *  - A ring swap does not disturb requests in flight: they finish on the
 *    ring they started with; new requests use the new one.
 *  - Host names are resolved when a connection is opened, with
 *    getaddrinfo, which may block the loop: give servers as addresses (or
 *    Unix socket paths) to keep the loop from ever waiting.
 *
 * What it shares with the blocking calls: each server's error limiting
 * and health (a server the client's prober holds down is passed by), the
 * compression layer (set and set_multi compress, every read decompresses,
 * as mcring_set and mcring_get do), its counters, histograms and trace
 * hook (mcring/metrics.h: every attempt is
 * recorded, on the loop's thread), and the protocol option: with
 * protocol = meta its single-key operations go as meta commands whose
 * replies carry their tokens, while its multi-key ones stay classic
 * get, set and touch lines — so they refuse, with MCRING_EKEY, a raw key
 * those lines cannot carry (a space, a control byte) that meta mode would
 * otherwise send base64-encoded. What it does not do (yet): it has no gutter pool, no leases and no single flight (its writes do close the
 * blocking calls' gets in flight to newcomers), the connect limits
 * (connect_rate, connect_concurrency) do not bound its connects (which are
 * counted in connect_attempts all the same), and of the commands it
 * offers those below: not the per-server ones (flush_all, version,
 * stats).
 *
 * Threads: an mcring_async is used by one thread at a time — its loop's.
 * Several loops make one each from the same client; the client itself
 * may be used by other threads meanwhile, and must outlive them all.
 */
#ifndef MCRING_PUBLIC_ASYNC_H
#define MCRING_PUBLIC_ASYNC_H

#include "mcring/client.h"
#include "mcring/common.h"
#include "mcring/item.h"

MCRING_BEGIN_DECLS

typedef struct mcring_async mcring_async;

/* What to watch a descriptor for (or-ed), and what became ready. */
#define MCRING_EV_READ 1
#define MCRING_EV_WRITE 2

/*
 * The event loop, as the core sees it. An adapter fills this in; every
 * hook is called from the loop's thread, from inside a call into the
 * async object.
 *
 *  watch    start or change watching fd: events is MCRING_EV_READ and/or
 *           MCRING_EV_WRITE, or 0 to stop watching it for now. When it
 *           becomes ready, the loop calls mcring_async_on_io(async, cookie,
 *           ready). *slot is a place the adapter may keep its watcher in
 *           (NULL the first time fd is seen); the core keeps it with fd.
 *  forget   fd is about to be closed: stop watching it and free what
 *           *slot holds.
 *  timer    arm the one timer of this async object to fire in ms
 *           milliseconds (replacing an earlier arming), or disarm it when
 *           ms < 0. When it fires, the loop calls mcring_async_on_timer().
 *  cleanup  the async object is going: free what the adapter made for it
 *           (its timer; every fd has had its forget already).
 */
typedef struct mcring_async_hooks {
    void *loop; /* the adapter's, passed to every hook */
    void (*watch)(void *loop, int fd, int events, void *cookie, void **slot);
    void (*forget)(void *loop, int fd, void **slot);
    void (*timer)(void *loop, long ms);
    void (*cleanup)(void *loop);
} mcring_async_hooks;

/*
 * Makes an async object for one event loop. Returns 0, MCRING_EINVAL (a
 * hook missing) or MCRING_ENOMEM.
 * Threads: thread-safe (the client may be in use by other threads).
 * Ownership: hooks is copied; *out is the caller's, freed with
 * mcring_async_free() before the client is freed.
 */
MCRING_API int mcring_async_new(mcring_async **out, mcring_client *client,
                                const mcring_async_hooks *hooks);

/*
 * Ends every pending request (its callback runs now, with MCRING_ECANCELED,
 * unless it already ran), closes the connections, calls the cleanup hook
 * and frees the object. Safe from inside a callback: the object goes
 * when that callback returns. Accepts NULL.
 * Threads: the loop's thread.
 * Ownership: takes async.
 */
MCRING_API void mcring_async_free(mcring_async *async);

/*
 * Ends every pending request: each callback that has not run runs now
 * with MCRING_ECANCELED. Requests already written still get their replies
 * read (and dropped), so connections stay in step. Safe from inside a
 * callback.
 * Threads: the loop's thread.
 * Ownership: nothing changes hands.
 */
MCRING_API void mcring_async_cancel(mcring_async *async);

/*
 * For the adapter: fd (the cookie given to the watch hook) is ready for
 * `ready` (MCRING_EV_READ and/or MCRING_EV_WRITE; an error or hang-up is
 * reported as both).
 * Threads: the loop's thread.
 * Ownership: nothing changes hands.
 */
MCRING_API void mcring_async_on_io(mcring_async *async, void *cookie,
                                   int ready);

/*
 * For the adapter: the timer armed with the timer hook fired.
 * Threads: the loop's thread.
 * Ownership: nothing changes hands.
 */
MCRING_API void mcring_async_on_timer(mcring_async *async);

/*
 * Operations started and not yet called back (for draining before a free).
 * Threads: the loop's thread.
 * Ownership: nothing changes hands.
 */
MCRING_API size_t mcring_async_pending(const mcring_async *async);

/* ---- operations ---------------------------------------------------------- */

/* get, gets, gat, gats: rc is MCRING_OK (item filled; item->cas too for
 * gets and gats), MCRING_MISS, MCRING_UNDECODABLE or a failure; item is
 * valid during the callback only (NULL on a failure). */
typedef void (*mcring_async_get_cb)(mcring_async *async, int rc,
                                    const mcring_item *item, void *userdata);
/* set, delete, the other storage commands, touch: rc as the blocking call
 * returns. */
typedef void (*mcring_async_done_cb)(mcring_async *async, int rc,
                                     void *userdata);
/* incr, decr: rc MCRING_OK with the counter's new value, or a failure. */
typedef void (*mcring_async_count_cb)(mcring_async *async, int rc,
                                      uint64_t value, void *userdata);
/* get_multi: rc 0 when every key got an answer, else the first key's
 * failure; items[i] and status[i] answer keys[i] as for
 * mcring_get_multi(); valid during the callback only. */
typedef void (*mcring_async_multi_cb)(mcring_async *async, int rc, size_t n,
                                      const mcring_item *items,
                                      const int *status, void *userdata);
/* set_multi, touch_multi: rc as mcring_set_multi or mcring_touch_multi
 * returns; status[i] for kvs[i] or keys[i]. */
typedef void (*mcring_async_set_multi_cb)(mcring_async *async, int rc,
                                          size_t n, const int *status,
                                          void *userdata);

/*
 * The blocking operations' asynchronous forms: same keys, placement,
 * failover, error limiting and result codes (mcring/client.h), the outcome
 * delivered to cb. Each returns 0 (cb will run exactly once) or, without
 * calling cb, MCRING_EINVAL, MCRING_EKEY (raw key mode, a bad key),
 * MCRING_ETOOLARGE (a value over item_size_max) or MCRING_ENOMEM.
 * Threads: the loop's thread.
 * Ownership: key, value, keys and kvs are copied (free once the call
 * returns); userdata is passed to cb untouched.
 */
MCRING_API int mcring_async_get(mcring_async *async, const void *key,
                                size_t key_len, mcring_async_get_cb cb,
                                void *userdata);
MCRING_API int mcring_async_set(mcring_async *async, const void *key,
                                size_t key_len, const void *value,
                                size_t value_len, uint32_t flags, double ttl,
                                mcring_async_done_cb cb, void *userdata);
MCRING_API int mcring_async_delete(mcring_async *async, const void *key,
                                   size_t key_len, mcring_async_done_cb cb,
                                   void *userdata);
MCRING_API int mcring_async_incr(mcring_async *async, const void *key,
                                 size_t key_len, int64_t delta, double ttl,
                                 mcring_async_count_cb cb, void *userdata);
MCRING_API int mcring_async_decr(mcring_async *async, const void *key,
                                 size_t key_len, int64_t delta, double ttl,
                                 mcring_async_count_cb cb, void *userdata);
/*
 * memcached's other single-key commands (mcring/commands.h) in the same
 * asynchronous form: the outcomes of the blocking calls (add: MCRING_OK
 * or MCRING_NOT_STORED; cas: MCRING_OK, MCRING_EXISTS or MCRING_NOT_FOUND;
 * ...) delivered to cb, and the returns of the calls above. append and
 * prepend keep the stored flags and TTL.
 * Threads: the loop's thread.
 * Ownership: key and value are copied (free once the call returns);
 * userdata is passed to cb untouched.
 */
MCRING_API int mcring_async_add(mcring_async *async, const void *key,
                                size_t key_len, const void *value,
                                size_t value_len, uint32_t flags, double ttl,
                                mcring_async_done_cb cb, void *userdata);
MCRING_API int mcring_async_replace(mcring_async *async, const void *key,
                                    size_t key_len, const void *value,
                                    size_t value_len, uint32_t flags,
                                    double ttl, mcring_async_done_cb cb,
                                    void *userdata);
MCRING_API int mcring_async_append(mcring_async *async, const void *key,
                                   size_t key_len, const void *value,
                                   size_t value_len, mcring_async_done_cb cb,
                                   void *userdata);
MCRING_API int mcring_async_prepend(mcring_async *async, const void *key,
                                    size_t key_len, const void *value,
                                    size_t value_len, mcring_async_done_cb cb,
                                    void *userdata);
MCRING_API int mcring_async_cas(mcring_async *async, const void *key,
                                size_t key_len, const void *value,
                                size_t value_len, uint32_t flags, double ttl,
                                uint64_t cas, mcring_async_done_cb cb,
                                void *userdata);
MCRING_API int mcring_async_gets(mcring_async *async, const void *key,
                                 size_t key_len, mcring_async_get_cb cb,
                                 void *userdata);
MCRING_API int mcring_async_gat(mcring_async *async, const void *key,
                                size_t key_len, double ttl,
                                mcring_async_get_cb cb, void *userdata);
MCRING_API int mcring_async_gats(mcring_async *async, const void *key,
                                 size_t key_len, double ttl,
                                 mcring_async_get_cb cb, void *userdata);
MCRING_API int mcring_async_touch(mcring_async *async, const void *key,
                                  size_t key_len, double ttl,
                                  mcring_async_done_cb cb, void *userdata);

/*
 * The multi-key calls' asynchronous forms, as the single-key ones above.
 * server_key as for mcring_get_multi(): NULL places each key on its own
 * servers; any other (including "") puts all where Swift puts it.
 * Threads: the loop's thread.
 * Ownership: keys, kvs (their keys and values) and server_key are copied
 * (free once the call returns); userdata is passed to cb untouched.
 */
MCRING_API int mcring_async_get_multi(mcring_async *async,
                                      const mcring_key *keys, size_t n,
                                      const void *server_key,
                                      size_t server_key_len,
                                      mcring_async_multi_cb cb,
                                      void *userdata);
MCRING_API int mcring_async_set_multi(mcring_async *async,
                                      const mcring_kv *kvs, size_t n,
                                      const void *server_key,
                                      size_t server_key_len, double ttl,
                                      mcring_async_set_multi_cb cb,
                                      void *userdata);
/*
 * mcring_gets_multi() and mcring_touch_multi() in the same asynchronous
 * form: items[i].cas filled for gets_multi; touch_multi's status[i] is
 * MCRING_OK, MCRING_NOT_FOUND or a failure.
 * Threads: the loop's thread.
 * Ownership: keys and server_key are copied (free once the call
 * returns); userdata is passed to cb untouched.
 */
MCRING_API int mcring_async_gets_multi(mcring_async *async,
                                       const mcring_key *keys, size_t n,
                                       const void *server_key,
                                       size_t server_key_len,
                                       mcring_async_multi_cb cb,
                                       void *userdata);
MCRING_API int mcring_async_touch_multi(mcring_async *async,
                                        const mcring_key *keys, size_t n,
                                        const void *server_key,
                                        size_t server_key_len, double ttl,
                                        mcring_async_set_multi_cb cb,
                                        void *userdata);

MCRING_END_DECLS

#endif /* MCRING_PUBLIC_ASYNC_H */
