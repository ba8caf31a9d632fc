#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "prober.h"
#include "request.h"

void prober_init(prober *p, struct state **current)
{
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    p->running = p->stop = p->kicked = false;
    p->current = current;
    conn_init(&p->c);
}

/* Writes all of "version\r\n" and reads one line back by deadline; true
 * when it is a VERSION line. */
static bool ask_version(conn *c, int64_t deadline)
{
    static const char req[] = "version\r\n";
    size_t len = sizeof(req) - 1, sent = 0;
    while (sent < len) {
        struct iovec iov = {(char *)req + sent, len - sent};
        ssize_t n = conn_send_some(c, &iov, 1);
        if (n < 0)
            return false;
        if (n == 0) {
            struct pollfd pfd = {c->fd, conn_poll_events(c, true), 0};
            int ms = clock_ms_left(deadline, clock_now_ns());
            if (ms == 0 || (poll(&pfd, 1, ms) < 0 && errno != EINTR))
                return false;
        }
        sent += (size_t)n;
    }
    for (;;) {
        const char *line = c->rbuf + c->rpos;
        size_t have = conn_buffered(c);
        if (memchr(line, '\n', have) != NULL)
            return have >= 8 && memcmp(line, "VERSION ", 8) == 0;
        if (have > 1024)
            return false;
        conn_make_room(c);
        if (conn_fill(c, deadline) != 0)
            return false;
    }
}

/* One probe of sv on the prober's own connection. */
static bool probe_server(prober *p, const state *st, server *sv)
{
    const health_params *hp = &st->set.health;
    int64_t deadline = clock_now_ns() + hp->probe_timeout_ns;
    int64_t connect_timeout = st->set.connect_timeout_ns;
    if (connect_timeout > hp->probe_timeout_ns)
        connect_timeout = hp->probe_timeout_ns;
    bool ok = conn_connect(&p->c, &sv->addr, st->tls, connect_timeout,
                           hp->probe_timeout_ns, deadline) == 0 &&
              ask_version(&p->c, deadline);
    conn_close(&p->c);
    return ok;
}

static bool stopping(prober *p)
{
    pthread_mutex_lock(&p->lock);
    bool stop = p->stop;
    pthread_mutex_unlock(&p->lock);
    return stop;
}

/*
 * Probes every server of the current state whose probe is due, one read
 * side each; returns when the next one is due (INT64_MAX: none is down).
 * A state swapped in meanwhile is followed from the same position on.
 */
static int64_t probe_round(prober *p)
{
    int64_t earliest = INT64_MAX;
    size_t i = 0;
    bool more = true;
    while (more && !stopping(p)) {
        state *st = state_enter(p->current);
        more = false;
        if (st == NULL || !st->set.health.probe) {
            state_leave();
            break;
        }
        for (; i < st->nservers; i++) {
            server *sv = st->servers[i];
            int64_t due = health_next_probe(&sv->health);
            if (due != INT64_MAX && due <= clock_now_ns()) {
                bool ok = probe_server(p, st, sv);
                int64_t now = clock_now_ns();
                health_probe_done(&sv->health, sv->fleet, &st->set.health,
                                  ok, now);
                if (ok) {
                    connect_limits lim = state_connect_limits(st, sv);
                    pool_recovered(&sv->pool, &lim, now);
                    client_log(st, MCRING_LOG_INFO, sv,
                               "memcached server %s answered a probe: back "
                               "in use",
                               sv->name);
                }
                due = health_next_probe(&sv->health);
                i++;
                more = true; /* leave the read side between probes */
            }
            if (due < earliest)
                earliest = due;
            if (more)
                break;
        }
        state_leave();
    }
    return earliest;
}

static void *prober_main(void *arg)
{
    prober *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        p->kicked = false;
        pthread_mutex_unlock(&p->lock);
        int64_t next = probe_round(p);
        pthread_mutex_lock(&p->lock);
        if (p->stop || p->kicked)
            continue;
        if (next == INT64_MAX) {
            pthread_cond_wait(&p->cond, &p->lock);
        } else {
            struct timespec ts = {(time_t)(next / NS_PER_SEC),
                                  (long)(next % NS_PER_SEC)};
            pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

bool prober_kick(prober *p)
{
    bool ok = true;
    pthread_mutex_lock(&p->lock);
    if (!p->stop && !p->running) {
        /* The thread takes no signals meant for the application. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        ok = pthread_create(&p->thread, NULL, prober_main, p) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        p->running = ok;
    }
    p->kicked = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return ok;
}

void prober_destroy(prober *p)
{
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    bool running = p->running;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    if (running)
        pthread_join(p->thread, NULL);
    conn_destroy(&p->c);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
}

void prober_after_fork(prober *p)
{
    /* The parent's thread may have held the lock or been mid-probe: both
     * are made afresh. The child's copy of the probe socket is closed; a
     * TLS object a parent thread was inside is abandoned, not freed. */
    if (p->c.fd >= 0)
        close(p->c.fd);
    free(p->c.rbuf);
    free(p->c.wbuf);
    struct state **current = p->current;
    prober_init(p, current);
}
