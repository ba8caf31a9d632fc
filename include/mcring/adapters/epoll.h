/*
 * mcring/adapters/epoll.h — a minimal event loop on Linux's epoll for
 * programs without a loop library, driving one mcring_async. Header only;
 * nothing but libc.
 *
 *     mcring_epoll loop;
 *     mcring_async *async;
 *     mcring_epoll_init(&loop);
 *     mcring_async_new_epoll(&async, client, &loop);
 *     mcring_async_get(async, "key", 3, on_value, NULL);
 *     while (mcring_async_pending(async) > 0)
 *         mcring_epoll_run_once(&loop, -1);
 *     mcring_async_free(async);
 *     mcring_epoll_close(&loop);
 *
 * A program with descriptors of its own can add them to loop.epfd with
 * data.ptr = NULL and handle them when mcring_epoll_run_once() reports
 * them through its `other` callback.
 */
#ifndef MCRING_ADAPTERS_EPOLL_H
#define MCRING_ADAPTERS_EPOLL_H

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "mcring/async.h"

typedef struct mcring_epoll_slot {
    int fd;
    void *cookie;
    int dead; /* forgotten during a dispatch: freed after it */
    struct mcring_epoll_slot *next_dead;
} mcring_epoll_slot;

typedef struct mcring_epoll {
    int epfd;
    mcring_async *async;
    long long timer_at_ms; /* monotonic ms, or -1 */
    int dispatching;
    mcring_epoll_slot *dead;
} mcring_epoll;

static inline long long mcring_epoll_now_ms_(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 0, or -1 with errno set (epoll_create1 failed). */
static inline int mcring_epoll_init(mcring_epoll *l)
{
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->async = NULL;
    l->timer_at_ms = -1;
    l->dispatching = 0;
    l->dead = NULL;
    return l->epfd >= 0 ? 0 : -1;
}

static inline void mcring_epoll_free_dead_(mcring_epoll *l)
{
    while (l->dead != NULL) {
        mcring_epoll_slot *s = l->dead;
        l->dead = s->next_dead;
        free(s);
    }
}

static inline void mcring_epoll_watch_(void *loop, int fd, int events,
                                       void *cookie, void **slot)
{
    mcring_epoll *l = (mcring_epoll *)loop;
    mcring_epoll_slot *s = (mcring_epoll_slot *)*slot;
    struct epoll_event ev;
    ev.events = ((events & MCRING_EV_READ) ? EPOLLIN : 0) |
                ((events & MCRING_EV_WRITE) ? EPOLLOUT : 0);
    if (s == NULL) {
        s = (mcring_epoll_slot *)calloc(1, sizeof(*s));
        if (s == NULL)
            return; /* nothing is watched: the request times out */
        s->fd = fd;
        s->cookie = cookie;
        ev.data.ptr = s;
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            free(s);
            return;
        }
        *slot = s;
        return;
    }
    s->cookie = cookie;
    ev.data.ptr = s;
    epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
}

static inline void mcring_epoll_forget_(void *loop, int fd, void **slot)
{
    mcring_epoll *l = (mcring_epoll *)loop;
    mcring_epoll_slot *s = (mcring_epoll_slot *)*slot;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    *slot = NULL;
    if (s == NULL)
        return;
    /* An event for it may still be in the batch being dispatched. */
    s->dead = 1;
    s->next_dead = l->dead;
    l->dead = s;
    if (!l->dispatching)
        mcring_epoll_free_dead_(l);
}

static inline void mcring_epoll_timer_(void *loop, long ms)
{
    mcring_epoll *l = (mcring_epoll *)loop;
    l->timer_at_ms = ms < 0 ? -1 : mcring_epoll_now_ms_() + ms;
}

static inline void mcring_epoll_cleanup_(void *loop)
{
    mcring_epoll *l = (mcring_epoll *)loop;
    l->async = NULL;
    l->timer_at_ms = -1;
}

/* An async object driven by loop l (one per loop). Returns as
 * mcring_async_new(). */
static inline int mcring_async_new_epoll(mcring_async **out,
                                         mcring_client *client,
                                         mcring_epoll *l)
{
    mcring_async_hooks h;
    h.loop = l;
    h.watch = mcring_epoll_watch_;
    h.forget = mcring_epoll_forget_;
    h.timer = mcring_epoll_timer_;
    h.cleanup = mcring_epoll_cleanup_;
    int rc = mcring_async_new(out, client, &h);
    if (rc == 0)
        l->async = *out;
    return rc;
}

/*
 * Waits for events (at most timeout_ms; -1: until the timer or an event)
 * and dispatches them; other: called for descriptors the program added
 * itself (data.ptr NULL), may be NULL. Returns the number of events
 * handled, or -1 with errno set.
 */
static inline int mcring_epoll_run_once_ex(mcring_epoll *l, int timeout_ms,
                                           void (*other)(struct epoll_event *))
{
    if (l->timer_at_ms >= 0) {
        long long left = l->timer_at_ms - mcring_epoll_now_ms_();
        if (left < 0)
            left = 0;
        if (timeout_ms < 0 || left < timeout_ms)
            timeout_ms = (int)left;
    }
    struct epoll_event evs[64];
    int n = epoll_wait(l->epfd, evs, 64, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    l->dispatching = 1;
    for (int i = 0; i < n; i++) {
        mcring_epoll_slot *s = (mcring_epoll_slot *)evs[i].data.ptr;
        if (s == NULL) {
            if (other != NULL)
                other(&evs[i]);
            continue;
        }
        if (s->dead || l->async == NULL)
            continue;
        int ready = 0;
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            ready |= MCRING_EV_READ;
        if (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            ready |= MCRING_EV_WRITE;
        mcring_async_on_io(l->async, s->cookie, ready);
    }
    if (l->async != NULL && l->timer_at_ms >= 0 &&
        mcring_epoll_now_ms_() >= l->timer_at_ms) {
        l->timer_at_ms = -1;
        mcring_async_on_timer(l->async);
    }
    l->dispatching = 0;
    mcring_epoll_free_dead_(l);
    return n;
}

static inline int mcring_epoll_run_once(mcring_epoll *l, int timeout_ms)
{
    return mcring_epoll_run_once_ex(l, timeout_ms, NULL);
}

/* Closes the loop (free its async object first). */
static inline void mcring_epoll_close(mcring_epoll *l)
{
    mcring_epoll_free_dead_(l);
    if (l->epfd >= 0)
        close(l->epfd);
    l->epfd = -1;
}

#endif /* MCRING_ADAPTERS_EPOLL_H */
