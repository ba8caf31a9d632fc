#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client.h"
#include "clock.h"
#include "error.h"
#include "request.h"
#include "watch.h"

struct watcher {
    mcring_client *client;
    char *path;
    int64_t interval_ns;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    struct stat seen; /* identity of the file last loaded */
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

/* Builds options from the client's base options plus the file, and
 * publishes them. Registry lock not held on entry. */
static int reload_from(mcring_client *c, const char *path, char *err,
                       size_t errlen)
{
    mcring_options o;
    pthread_mutex_lock(&c->reg.lock);
    int rc = options_copy(&o, &c->base);
    pthread_mutex_unlock(&c->reg.lock);
    if (rc != 0)
        return err_set(err, errlen, rc, "out of memory");
    rc = mcring_options_load(&o, path, err, errlen);
    if (rc == 0)
        rc = client_apply(c, &o, false, err, errlen);
    options_clear(&o);
    return rc;
}

static void log_reload(mcring_client *c, int rc, const char *path,
                       const char *err)
{
    const state *st = state_enter(&c->current);
    if (rc == 0)
        client_log(st, MCRING_LOG_INFO, NULL,
                   "Reloaded memcache config %s: %zu servers, ring %s", path,
                   st->ring->nservers, ring_mode_name(st->ring->mode));
    else
        client_log(st, MCRING_LOG_ERROR, NULL,
                   "Reload of memcache config %s failed, keeping the "
                   "running one: %s",
                   path, err);
    state_leave();
}

static void *watch_main(void *arg)
{
    struct watcher *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + w->interval_ns % NS_PER_SEC;
        until.tv_sec += (time_t)(w->interval_ns / NS_PER_SEC + ns / NS_PER_SEC);
        until.tv_nsec = (long)(ns % NS_PER_SEC);
        while (!w->stop &&
               pthread_cond_timedwait(&w->cond, &w->lock, &until) != ETIMEDOUT)
            ;
        if (w->stop)
            break;
        struct stat now;
        if (stat(w->path, &now) != 0)
            continue; /* mid-replace or removed: keep the running config */
        if (w->have_seen && same_file(&now, &w->seen))
            continue;
        pthread_mutex_unlock(&w->lock);
        char err[256] = "";
        int rc = reload_from(w->client, w->path, err, sizeof(err));
        log_reload(w->client, rc, w->path, err);
        pthread_mutex_lock(&w->lock);
        /* Remember the file even when it failed to load, so that a broken
         * file is reported once, not every interval. */
        w->seen = now;
        w->have_seen = true;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

void watch_stop(mcring_client *c)
{
    struct watcher *w = c->watch;
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_lock(&c->reg.lock);
    c->watch = NULL;
    pthread_mutex_unlock(&c->reg.lock);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w->path);
    free(w);
}

int mcring_client_watch(mcring_client *c, const char *path, double interval,
                        char *err, size_t errlen)
{
    if (c == NULL || path == NULL || !(interval > 0) || interval > 86400)
        return err_set(err, errlen, MCRING_EINVAL,
                       "watch needs a path and an interval of (0, 86400] s");
    struct stat st;
    if (stat(path, &st) != 0)
        return err_set(err, errlen, MCRING_ECONFIG, "%s: %s", path,
                       strerror(errno));
    int rc = reload_from(c, path, err, errlen);
    if (rc != 0)
        return rc;

    struct watcher *w = calloc(1, sizeof(*w));
    if (w == NULL || (w->path = strdup(path)) == NULL) {
        free(w);
        return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    }
    w->client = c;
    w->interval_ns = clock_s_to_ns(interval);
    w->seen = st;
    w->have_seen = true;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);

    watch_stop(c);
    pthread_mutex_lock(&c->reg.lock);
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w->path);
        free(w);
        pthread_mutex_unlock(&c->reg.lock);
        return err_set(err, errlen, MCRING_ESYS,
                       "cannot start the watcher thread");
    }
    c->watch = w;
    pthread_mutex_unlock(&c->reg.lock);
    return 0;
}

int mcring_client_reload(mcring_client *c, char *err, size_t errlen)
{
    if (c == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    char *path = NULL;
    pthread_mutex_lock(&c->reg.lock);
    const char *p = c->watch ? c->watch->path : c->opts.config_path;
    if (p != NULL)
        path = strdup(p);
    pthread_mutex_unlock(&c->reg.lock);
    if (path == NULL)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "no memcache.conf to reload: the options were not "
                       "loaded from a file and nothing is watched");
    int rc = reload_from(c, path, err, errlen);
    log_reload(c, rc, path, err);
    free(path);
    return rc;
}
