#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "mcring.h"
#include "watch.h"

struct watcher {
    char *path;
    int64_t interval_ns;
    watch_reload_fn reload;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_bool stop; /* written under lock; read by reloads without it */
    struct stat seen; /* identity of the file last reloaded */
    bool have_seen;
};

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static bool stopping(struct watcher *w)
{
    return atomic_load_explicit(&w->stop, memory_order_acquire);
}

static void *watch_main(void *arg)
{
    struct watcher *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!stopping(w)) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + w->interval_ns % NS_PER_SEC;
        until.tv_sec += (time_t)(w->interval_ns / NS_PER_SEC + ns / NS_PER_SEC);
        until.tv_nsec = (long)(ns % NS_PER_SEC);
        while (!stopping(w) &&
               pthread_cond_timedwait(&w->cond, &w->lock, &until) != ETIMEDOUT)
            ;
        if (stopping(w))
            break;
        struct stat now;
        if (stat(w->path, &now) != 0)
            continue; /* mid-replace or removed: keep the running config */
        if (w->have_seen && same_file(&now, &w->seen))
            continue;
        /* Remember the file even when it fails to load, so that a broken
         * file is reported once, not every interval. */
        w->seen = now;
        w->have_seen = true;
        pthread_mutex_unlock(&w->lock);
        w->reload(w->ctx, w->path, &w->stop);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int watch_start(watcher **out, const char *path, double interval_s,
                const struct stat *seen, watch_reload_fn fn, void *ctx)
{
    struct watcher *w = calloc(1, sizeof(*w));
    if (w == NULL || (w->path = strdup(path)) == NULL) {
        free(w);
        return MCRING_ENOMEM;
    }
    w->interval_ns = clock_s_to_ns(interval_s);
    w->reload = fn;
    w->ctx = ctx;
    atomic_init(&w->stop, false);
    if (seen != NULL) {
        w->seen = *seen;
        w->have_seen = true;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w->path);
        free(w);
        return MCRING_ESYS;
    }
    *out = w;
    return 0;
}

void watch_stop(watcher *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    atomic_store_explicit(&w->stop, true, memory_order_release);
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w->path);
    free(w);
}

const char *watch_path(const watcher *w)
{
    return w->path;
}
