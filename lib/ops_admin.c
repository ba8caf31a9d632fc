/*
 * Commands addressed to servers rather than keys: flush_all, version,
 * stats (mcring/commands.h). Each goes to a server named as configured
 * (or to every server of the ring), on its pooled connections like any
 * request, as a text command in either protocol (meta has none of its
 * own for these).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "request.h"
#include "ring_common.h"

/* The server of the current ring named name, or NULL. */
static server *find_server(const state *st, const char *name)
{
    for (size_t i = 0; i < st->ring->nservers; i++)
        if (strcmp(st->servers[i]->name, name) == 0)
            return st->servers[i];
    return NULL;
}

/* One request on sv: its reply read into rd, or the failure (logged and
 * counted). An error-limited server is not asked. */
static int admin_roundtrip(const state *st, server *sv, struct iovec *iov,
                           reply_reader *rd)
{
    if (server_is_limited(sv))
        return MCRING_ELIMITED;
    bool connected = false;
    return server_roundtrip(st, sv, iov, 1, rd, &connected);
}

static int flush_one(const state *st, server *sv, int64_t delay)
{
    char line[64];
    struct iovec iov = {line, proto_flush_all(line, delay)};
    text_reader rd;
    text_reader_init(&rd, REPLY_OK);
    int rc = admin_roundtrip(st, sv, &iov, &rd.base);
    if (rc == 0 && rd.outcome != 0)
        rc = server_failed(st, sv, rd.outcome, PHASE_TALK, 0, NULL,
                           rd.base.detail);
    return rc;
}

int mcring_flush_all(mcring_client *c, const char *server_name, double delay)
{
    if (c == NULL || !(delay >= 0) || delay > 2147483647.0)
        return MCRING_EINVAL;
    state *st = client_enter(c);
    /* memcached reads the delay as an exptime: over 30 days it would be
     * an absolute time, long past. Swift's TTL rule makes it one. */
    int64_t when;
    int rc = request_exptime(st, delay, &when);
    if (rc == 0 && server_name != NULL) {
        server *sv = find_server(st, server_name);
        rc = sv != NULL ? flush_one(st, sv, when) : MCRING_EINVAL;
    } else if (rc == 0) {
        for (size_t i = 0; i < st->ring->nservers; i++) {
            int r = flush_one(st, st->servers[i], when);
            if (rc == 0)
                rc = r;
        }
    }
    state_leave();
    return rc;
}

int mcring_server_version(mcring_client *c, const char *server_name,
                          char *out, size_t len)
{
    if (c == NULL || server_name == NULL || out == NULL || len == 0)
        return MCRING_EINVAL;
    out[0] = '\0';
    state *st = client_enter(c);
    server *sv = find_server(st, server_name);
    int rc = MCRING_EINVAL;
    if (sv != NULL) {
        static char line[] = "version\r\n";
        struct iovec iov = {line, sizeof(line) - 1};
        text_reader rd;
        text_reader_init(&rd, REPLY_VERSION);
        rc = admin_roundtrip(st, sv, &iov, &rd.base);
        if (rc == 0 && rd.outcome != 0)
            rc = server_failed(st, sv, rd.outcome, PHASE_TALK, 0, NULL,
                               rd.base.detail);
        if (rc == 0)
            snprintf(out, len, "%s", rd.text);
    }
    state_leave();
    return rc;
}

/* Groups whose reply is STAT lines and END: one word of lowercase letters
 * and underscores, other than those answering something else. */
static bool stats_group_ok(const char *g)
{
    static const char *const not_stats[] = {"reset", "detail", "cachedump"};
    if (*g == '\0' || strlen(g) > 32)
        return false;
    for (const char *p = g; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            return false;
    for (size_t i = 0; i < sizeof(not_stats) / sizeof(not_stats[0]); i++)
        if (strcmp(g, not_stats[i]) == 0)
            return false;
    return true;
}

int mcring_server_stats_read(mcring_client *c, const char *server_name,
                             const char *group, mcring_stat_fn fn,
                             void *userdata)
{
    if (c == NULL || server_name == NULL || fn == NULL ||
        (group != NULL && !stats_group_ok(group)))
        return MCRING_EINVAL;
    char line[64];
    int n = snprintf(line, sizeof(line), "stats%s%s\r\n", group ? " " : "",
                     group ? group : "");
    struct iovec iov = {line, (size_t)n};
    stats_reader rd;
    stats_reader_init(&rd);
    char name[MCRING_NAME_MAX];
    state *st = client_enter(c);
    server *sv = find_server(st, server_name);
    int rc = MCRING_EINVAL;
    if (sv != NULL) {
        snprintf(name, sizeof(name), "%s", sv->name);
        rc = admin_roundtrip(st, sv, &iov, &rd.base);
        if (rc == 0 && rd.outcome != 0)
            rc = rd.outcome == MCRING_EREJECTED || rd.outcome == MCRING_ENOMEM
                     ? rd.outcome
                     : server_failed(st, sv, rd.outcome, PHASE_TALK, 0, NULL,
                                     rd.base.detail);
    }
    state_leave();
    /* The callback runs outside the client: it may call into it. */
    for (size_t off = 0, i = 0; rc == 0 && i < rd.count; i++) {
        const char *k = rd.buf + off;
        const char *v = k + strlen(k) + 1;
        fn(userdata, name, k, v);
        off = (size_t)(v + strlen(v) + 1 - rd.buf);
    }
    stats_reader_free(&rd);
    return rc;
}
