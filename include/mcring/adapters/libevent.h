/*
 * mcring/adapters/libevent.h — drives an mcring_async from a libevent
 * event_base: an event per connection and one timer event. Header only:
 * the program links libevent, mcring does not.
 *
 *     struct event_base *base = event_base_new();
 *     mcring_async *async;
 *     mcring_async_new_libevent(&async, client, base);
 *     mcring_async_get(async, "key", 3, on_value, NULL);
 *     event_base_dispatch(base);      (returns once nothing is pending)
 *     mcring_async_free(async);
 */
#ifndef MCRING_ADAPTERS_LIBEVENT_H
#define MCRING_ADAPTERS_LIBEVENT_H

#include <event2/event.h>
#include <stdlib.h>

#include "mcring/async.h"

typedef struct mcring_libevent {
    struct event_base *base;
    struct event *timer;
    mcring_async *async;
} mcring_libevent;

typedef struct mcring_libevent_watch {
    struct event *ev;
    mcring_libevent *owner;
    void *cookie;
    int fd;
    int events;
} mcring_libevent_watch;

static void mcring_libevent_on_io_(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    mcring_libevent_watch *w = (mcring_libevent_watch *)arg;
    int ready = ((what & EV_READ) ? MCRING_EV_READ : 0) |
                ((what & EV_WRITE) ? MCRING_EV_WRITE : 0);
    if (w->owner != NULL && w->owner->async != NULL)
        mcring_async_on_io(w->owner->async, w->cookie, ready);
}

static void mcring_libevent_finalize_(struct event *ev, void *arg)
{
    (void)ev;
    free(arg); /* the watch: its event is gone by now */
}

static void mcring_libevent_retire_(struct event *ev, void *arg)
{
    (void)ev;
    (void)arg; /* an event replaced by another for the same watch */
}

static void mcring_libevent_watch_(void *loop, int fd, int events,
                                   void *cookie, void **slot)
{
    mcring_libevent *l = (mcring_libevent *)loop;
    mcring_libevent_watch *w = (mcring_libevent_watch *)*slot;
    if (w == NULL) {
        w = (mcring_libevent_watch *)calloc(1, sizeof(*w));
        if (w == NULL)
            return; /* nothing is watched: the request times out */
        w->owner = l;
        w->fd = fd;
        *slot = w;
    }
    w->cookie = cookie;
    if (w->ev != NULL && w->events == events)
        return;
    if (w->ev != NULL) {
        /* Changing what is watched: a new event; the old one goes once any
         * callback it is running returns. */
        event_free_finalize(0, w->ev, mcring_libevent_retire_);
    }
    w->ev = NULL;
    w->events = events;
    short what = (short)(((events & MCRING_EV_READ) ? EV_READ : 0) |
                         ((events & MCRING_EV_WRITE) ? EV_WRITE : 0));
    if (what == 0)
        return;
    w->ev = event_new(l->base, fd, (short)(what | EV_PERSIST),
                      mcring_libevent_on_io_, w);
    if (w->ev != NULL)
        event_add(w->ev, NULL);
}

static void mcring_libevent_forget_(void *loop, int fd, void **slot)
{
    (void)loop;
    (void)fd;
    mcring_libevent_watch *w = (mcring_libevent_watch *)*slot;
    *slot = NULL;
    if (w == NULL)
        return;
    w->owner = NULL;
    if (w->ev == NULL) {
        free(w);
        return;
    }
    /* The event may be the one whose callback is running: libevent frees
     * it, and the finalizer the watch, once that callback has returned. */
    event_free_finalize(0, w->ev, mcring_libevent_finalize_);
}

static void mcring_libevent_on_timer_(evutil_socket_t fd, short what,
                                      void *arg)
{
    (void)fd;
    (void)what;
    mcring_libevent *l = (mcring_libevent *)arg;
    if (l->async != NULL)
        mcring_async_on_timer(l->async);
}

static void mcring_libevent_timer_(void *loop, long ms)
{
    mcring_libevent *l = (mcring_libevent *)loop;
    if (ms < 0) {
        evtimer_del(l->timer);
        return;
    }
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(l->timer, &tv);
}

static void mcring_libevent_cleanup_(void *loop)
{
    mcring_libevent *l = (mcring_libevent *)loop;
    event_free(l->timer);
    free(l);
}

/* An async object driven by base. Returns as mcring_async_new(). */
static inline int mcring_async_new_libevent(mcring_async **out,
                                            mcring_client *client,
                                            struct event_base *base)
{
    mcring_libevent *l = (mcring_libevent *)calloc(1, sizeof(*l));
    if (l == NULL)
        return -2; /* MCRING_ENOMEM */
    l->base = base;
    l->timer = evtimer_new(base, mcring_libevent_on_timer_, l);
    if (l->timer == NULL) {
        free(l);
        return -2;
    }
    mcring_async_hooks h;
    h.loop = l;
    h.watch = mcring_libevent_watch_;
    h.forget = mcring_libevent_forget_;
    h.timer = mcring_libevent_timer_;
    h.cleanup = mcring_libevent_cleanup_;
    int rc = mcring_async_new(out, client, &h);
    if (rc != 0) {
        event_free(l->timer);
        free(l);
        return rc;
    }
    l->async = *out;
    return 0;
}

#endif /* MCRING_ADAPTERS_LIBEVENT_H */
