/*
 * A client's memcache.conf, reloaded: mcring_client_watch and
 * mcring_client_reload. The watcher (watch.c) notices changes; this glue
 * loads the file on top of the client's base options and publishes the
 * result through client_publish, which builds the ring outside the
 * registry lock. A reload is abandoned, between its phases, as soon as the
 * watcher is asked to stop, so mcring_client_free never waits for a slow
 * one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client.h"
#include "error.h"
#include "request.h"
#include "watch.h"

/* Loads path over the base options and publishes them. Returns 0, a
 * failure, MCRING_CONF_MISSING (nothing changed) or CLIENT_ABANDONED. */
static int reload_from(mcring_client *c, const char *path,
                       const atomic_bool *stop, char *err, size_t errlen)
{
    for (;;) {
        mcring_options o;
        uint64_t gen;
        if (client_snapshot(c, NULL, &o, &gen) != 0)
            return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
        /* The outcome is logged once, by log_reload, not by the loader. */
        mcring_log_fn log = o.log;
        o.log = NULL;
        int rc = mcring_options_load(&o, path, err, errlen);
        o.log = log;
        if (rc == 0 && stop != NULL && atomic_load(stop))
            rc = CLIENT_ABANDONED;
        if (rc == 0)
            rc = client_publish(c, &o, NULL, gen, stop, err, errlen);
        if (rc != 0)
            options_clear(&o);
        if (rc != CLIENT_STALE)
            return rc;
    }
}

static void log_reload(mcring_client *c, int rc, const char *path,
                       const char *err)
{
    const state *st = state_enter(&c->current);
    if (rc == 0)
        client_log(st, MCRING_LOG_INFO, NULL,
                   "Reloaded memcache config %s: %zu servers, ring %s", path,
                   st->ring->nservers, ring_mode_name(st->ring->mode));
    else if (rc == MCRING_CONF_MISSING)
        client_log(st, MCRING_LOG_WARNING, NULL,
                   "Memcache config %s not found, keeping the running one",
                   path);
    else if (rc == CLIENT_ABANDONED)
        client_log(st, MCRING_LOG_INFO, NULL,
                   "Reload of memcache config %s abandoned: the watcher is "
                   "stopping",
                   path);
    else
        client_log(st, MCRING_LOG_ERROR, NULL,
                   "Reload of memcache config %s failed, keeping the "
                   "running one: %s",
                   path, err);
    state_leave();
}

/* The watcher's callback (watcher thread). */
static void watched_file_changed(void *ctx, const char *path,
                                 const atomic_bool *stop)
{
    mcring_client *c = ctx;
    const state *st = state_enter(&c->current);
    client_log(st, MCRING_LOG_INFO, NULL, "Reloading memcache config %s",
               path);
    state_leave();
    char err[256] = "";
    int rc = reload_from(c, path, stop, err, sizeof(err));
    log_reload(c, rc, path, err);
}

int mcring_client_watch(mcring_client *c, const char *path, double interval,
                        char *err, size_t errlen)
{
    if (c == NULL || path == NULL || !(interval > 0) || interval > 86400)
        return err_set(err, errlen, MCRING_EINVAL,
                       "watch needs a path and an interval of (0, 86400] s");
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (!exists && errno != ENOENT && errno != ENOTDIR)
        return err_set(err, errlen, MCRING_ECONFIG, "%s: %s", path,
                       strerror(errno));
    int loaded = MCRING_CONF_MISSING;
    if (exists) {
        loaded = reload_from(c, path, NULL, err, errlen);
        if (loaded < 0)
            return loaded;
        /* Raced with the file's removal: watch it all the same. */
        exists = loaded == 0;
    }
    if (!exists)
        log_reload(c, MCRING_CONF_MISSING, path, NULL);

    pthread_mutex_lock(&c->reg.lock);
    watcher *old = c->watch;
    c->watch = NULL;
    pthread_mutex_unlock(&c->reg.lock);
    watch_stop(old); /* without the lock: its reload may be taking it */
    watcher *w;
    int rc = watch_start(&w, path, interval, exists ? &st : NULL,
                         watched_file_changed, c);
    if (rc != 0)
        return err_set(err, errlen, rc,
                       rc == MCRING_ENOMEM ? "out of memory"
                                           : "cannot start the watcher thread");
    pthread_mutex_lock(&c->reg.lock);
    c->watch = w;
    pthread_mutex_unlock(&c->reg.lock);
    return exists ? 0 : MCRING_CONF_MISSING;
}

int mcring_client_reload(mcring_client *c, char *err, size_t errlen)
{
    if (c == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    char *path = NULL;
    pthread_mutex_lock(&c->reg.lock);
    const char *p = c->watch ? watch_path(c->watch) : c->opts.config_path;
    if (p != NULL)
        path = strdup(p);
    pthread_mutex_unlock(&c->reg.lock);
    if (path == NULL)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "no memcache.conf to reload: the options were not "
                       "loaded from a file and nothing is watched");
    int rc = reload_from(c, path, NULL, err, errlen);
    log_reload(c, rc, path, err);
    free(path);
    return rc;
}
