/*
 * mcring/adapters/libuv.h — drives an mcring_async from a libuv loop: a
 * uv_poll_t per connection and one uv_timer_t. Header only: the program
 * links libuv, mcring does not.
 *
 *     uv_loop_t *loop = uv_default_loop();
 *     mcring_async *async;
 *     mcring_async_new_uv(&async, client, loop);
 *     mcring_async_get(async, "key", 3, on_value, NULL);
 *     uv_run(loop, UV_RUN_DEFAULT);   (returns once nothing is pending)
 *     mcring_async_free(async);       (its handles close on the loop's
 *                                      next turn: run it once more)
 */
#ifndef MCRING_ADAPTERS_LIBUV_H
#define MCRING_ADAPTERS_LIBUV_H

#include <stdlib.h>
#include <uv.h>

#include "mcring/async.h"

typedef struct mcring_uv {
    uv_loop_t *loop;
    uv_timer_t *timer;
    mcring_async *async;
} mcring_uv;

typedef struct mcring_uv_poll {
    uv_poll_t poll; /* first: the handle is the slot */
    mcring_uv *owner;
    void *cookie;
} mcring_uv_poll;

static void mcring_uv_on_poll_(uv_poll_t *p, int status, int events)
{
    mcring_uv_poll *w = (mcring_uv_poll *)p;
    int ready = 0;
    if (status < 0)
        ready = MCRING_EV_READ | MCRING_EV_WRITE; /* let the read fail */
    if (events & UV_READABLE)
        ready |= MCRING_EV_READ;
    if (events & (UV_WRITABLE | UV_DISCONNECT))
        ready |= MCRING_EV_WRITE;
    if (w->owner->async != NULL)
        mcring_async_on_io(w->owner->async, w->cookie, ready);
}

static void mcring_uv_free_handle_(uv_handle_t *h)
{
    free(h);
}

static void mcring_uv_watch_(void *loop, int fd, int events, void *cookie,
                             void **slot)
{
    mcring_uv *u = (mcring_uv *)loop;
    mcring_uv_poll *w = (mcring_uv_poll *)*slot;
    if (w == NULL) {
        w = (mcring_uv_poll *)calloc(1, sizeof(*w));
        if (w == NULL)
            return; /* nothing is watched: the request times out */
        if (uv_poll_init(u->loop, &w->poll, fd) != 0) {
            free(w);
            return;
        }
        w->owner = u;
        *slot = w;
    }
    w->cookie = cookie;
    int uvev = ((events & MCRING_EV_READ) ? UV_READABLE : 0) |
               ((events & MCRING_EV_WRITE) ? UV_WRITABLE : 0);
    if (uvev == 0)
        uv_poll_stop(&w->poll);
    else
        uv_poll_start(&w->poll, uvev, mcring_uv_on_poll_);
}

static void mcring_uv_forget_(void *loop, int fd, void **slot)
{
    (void)loop;
    (void)fd;
    mcring_uv_poll *w = (mcring_uv_poll *)*slot;
    *slot = NULL;
    if (w == NULL)
        return;
    uv_poll_stop(&w->poll); /* no callback after this */
    uv_close((uv_handle_t *)&w->poll, mcring_uv_free_handle_);
}

static void mcring_uv_on_timer_(uv_timer_t *t)
{
    mcring_uv *u = (mcring_uv *)t->data;
    if (u->async != NULL)
        mcring_async_on_timer(u->async);
}

static void mcring_uv_timer_(void *loop, long ms)
{
    mcring_uv *u = (mcring_uv *)loop;
    if (ms < 0)
        uv_timer_stop(u->timer);
    else
        uv_timer_start(u->timer, mcring_uv_on_timer_, (uint64_t)ms, 0);
}

static void mcring_uv_free_owner_(uv_handle_t *h)
{
    free(h->data); /* the mcring_uv */
    free(h);
}

static void mcring_uv_cleanup_(void *loop)
{
    mcring_uv *u = (mcring_uv *)loop;
    u->async = NULL;
    uv_timer_stop(u->timer);
    uv_close((uv_handle_t *)u->timer, mcring_uv_free_owner_);
}

/* An async object driven by loop (one per loop is the usual; several work
 * too). Returns as mcring_async_new(). */
static inline int mcring_async_new_uv(mcring_async **out,
                                      mcring_client *client, uv_loop_t *loop)
{
    mcring_uv *u = (mcring_uv *)calloc(1, sizeof(*u));
    uv_timer_t *t = (uv_timer_t *)calloc(1, sizeof(*t));
    if (u == NULL || t == NULL || uv_timer_init(loop, t) != 0) {
        free(u);
        free(t);
        return -2; /* MCRING_ENOMEM */
    }
    u->loop = loop;
    u->timer = t;
    t->data = u;
    mcring_async_hooks h;
    h.loop = u;
    h.watch = mcring_uv_watch_;
    h.forget = mcring_uv_forget_;
    h.timer = mcring_uv_timer_;
    h.cleanup = mcring_uv_cleanup_;
    int rc = mcring_async_new(out, client, &h);
    if (rc != 0) {
        uv_close((uv_handle_t *)t, mcring_uv_free_owner_);
        return rc;
    }
    u->async = *out;
    return 0;
}

#endif /* MCRING_ADAPTERS_LIBUV_H */
