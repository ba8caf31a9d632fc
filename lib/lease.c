/*
 * Herd protection on the meta protocol (mcring/lease.h, docs/meta.md):
 * lease reads (mg with N and R), fills checked against the lease's CAS,
 * invalidation to stale (md I), and versioned writes (E).
 */
#include <time.h>

#include "client.h"
#include "clock.h"
#include "command.h"
#include "compress.h"
#include "flight.h"
#include "request.h"

/* Enters the client for a meta-only call: the state, or NULL with *rc
 * set (then the read side was not entered). */
static state *enter_meta(mcring_client *c, const void *key, size_t key_len,
                         key_op *k, int *rc)
{
    if (c == NULL || (key == NULL && key_len > 0)) {
        *rc = MCRING_EINVAL;
        return NULL;
    }
    state *st = client_enter(c);
    if (st->set.protocol != PROTOCOL_META)
        *rc = MCRING_ETEXTMODE;
    else
        *rc = key_prepare(&st->set, key, key_len, k);
    if (*rc != 0) {
        state_leave();
        return NULL;
    }
    return st;
}

int mcring_lease_get(mcring_client *c, const void *key, size_t key_len,
                     mcring_item *item, mcring_lease *lease)
{
    if (item == NULL || lease == NULL)
        return MCRING_EINVAL;
    item->len = 0;
    item->flags = 0;
    item->cas = 0;
    lease->token = 0;
    lease->ttl_left = -1;
    key_op k;
    int rc;
    state *st = enter_meta(c, key, key_len, &k, &rc);
    if (st == NULL)
        return rc;
    command cmd = {.kind = CMD_LEASE_GET, .item = item,
                   .vivify = st->set.lease_ttl,
                   .recache = st->set.lease_recache};
    rc = command_run(st, &k, &k.kh, &cmd);
    /* A value read compressed is handed on decompressed, as by mcring_get
     * (compress.h); a stale one or a winner's old one too, keeping what
     * the lease says unless memory ran out. */
    if (rc == MCRING_OK || rc == MCRING_UNDECODABLE) {
        rc = compress_unpack(&c->compress, &st->set.compress, item, rc);
    } else if (rc == MCRING_STALE || rc == MCRING_WON) {
        int u = compress_unpack(&c->compress, &st->set.compress, item,
                                MCRING_OK);
        if (u == MCRING_ENOMEM)
            rc = u;
    }
    state_leave();
    if (rc == MCRING_OK || rc == MCRING_UNDECODABLE || rc == MCRING_STALE ||
        rc == MCRING_WON || rc == MCRING_WAIT) {
        lease->token = cmd.cas_read;
        lease->ttl_left = cmd.ttl_left;
    } else {
        item->len = 0;
    }
    return rc;
}

/* Sleeps for ns nanoseconds. */
static void pause_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / NS_PER_SEC), (long)(ns % NS_PER_SEC)};
    nanosleep(&ts, NULL);
}

#define WAIT_FIRST_NS (NS_PER_MS / 2)
#define WAIT_MAX_NS (4 * NS_PER_MS)

int mcring_lease_wait(mcring_client *c, const void *key, size_t key_len,
                      double max_wait, mcring_item *item, mcring_lease *lease)
{
    if (!(max_wait >= 0) || max_wait > 1e9)
        return MCRING_EINVAL;
    int64_t end = clock_now_ns() + clock_s_to_ns(max_wait);
    int64_t step = WAIT_FIRST_NS;
    for (;;) {
        int rc = mcring_lease_get(c, key, key_len, item, lease);
        if (rc != MCRING_WAIT)
            return rc;
        int64_t left = end - clock_now_ns();
        if (left <= 0)
            return rc;
        pause_ns(step < left ? step : left);
        if (step < WAIT_MAX_NS)
            step *= 2;
    }
}

int mcring_lease_fill(mcring_client *c, const void *key, size_t key_len,
                      const mcring_lease *lease, const void *value,
                      size_t value_len, uint32_t flags, double ttl)
{
    if (lease == NULL || (value == NULL && value_len > 0))
        return MCRING_EINVAL;
    key_op k;
    int rc;
    state *st = enter_meta(c, key, key_len, &k, &rc);
    if (st == NULL)
        return rc;
    command cmd = {.kind = CMD_STORE, .mode = STORE_SET,
                   .compare_cas = true, .cas = lease->token};
    rc = request_exptime(st, ttl, &cmd.exptime);
    /* Compressed on the way, as by mcring_set. */
    packed_value p;
    if (rc == 0)
        rc = client_pack_value(c, st, value, value_len, flags, &p);
    if (rc == 0) {
        cmd.value = p.data;
        cmd.value_len = p.len;
        cmd.flags = p.flags;
        rc = command_run(st, &k, &k.kh, &cmd);
        flight_wrote(c, st, &k);
        if (rc == MCRING_OK)
            warn_item_size(st, p.len);
        packed_release(&p);
    }
    state_leave();
    return rc;
}

int mcring_lease_invalidate(mcring_client *c, const void *key, size_t key_len,
                            double stale_ttl)
{
    if (!(stale_ttl >= 0))
        return MCRING_EINVAL;
    key_op k;
    int rc;
    state *st = enter_meta(c, key, key_len, &k, &rc);
    if (st == NULL)
        return rc;
    command cmd = {.kind = CMD_DELETE, .invalidate = true};
    rc = stale_ttl > 0 ? request_exptime(st, stale_ttl, &cmd.exptime) : 0;
    if (rc == 0) {
        rc = command_run(st, &k, &k.kh, &cmd);
        flight_wrote(c, st, &k);
    }
    state_leave();
    return rc;
}

/* Rounds of read-then-compare-and-swap before giving up on a key that
 * keeps changing. */
#define VERSION_ROUNDS 3

int mcring_set_versioned(mcring_client *c, const void *key, size_t key_len,
                         const void *value, size_t value_len, uint32_t flags,
                         double ttl, uint64_t version)
{
    if (value == NULL && value_len > 0)
        return MCRING_EINVAL;
    key_op k;
    int rc;
    state *st = enter_meta(c, key, key_len, &k, &rc);
    if (st == NULL)
        return rc;
    int64_t exptime;
    rc = request_exptime(st, ttl, &exptime);
    packed_value p = {NULL, 0, 0, NULL};
    if (rc == 0)
        rc = client_pack_value(c, st, value, value_len, flags, &p);
    for (int round = 0; rc == 0 && round < VERSION_ROUNDS; round++) {
        command read = {.kind = CMD_CAS_READ};
        rc = command_run(st, &k, &k.kh, &read);
        if (rc != MCRING_OK && rc != MCRING_MISS)
            break;
        if (rc == MCRING_OK && read.cas_read >= version) {
            rc = MCRING_EXISTS; /* as new or newer is there */
            break;
        }
        /* Absent: add it; present and older: swap it if unchanged. */
        command put = {.kind = CMD_STORE,
                       .mode = rc == MCRING_MISS ? STORE_ADD : STORE_SET,
                       .compare_cas = rc == MCRING_OK,
                       .cas = read.cas_read,
                       .has_version = true,
                       .version = version,
                       .value = p.data,
                       .value_len = p.len,
                       .flags = p.flags,
                       .exptime = exptime};
        rc = command_run(st, &k, &k.kh, &put);
        if (rc == MCRING_NOT_STORED || rc == MCRING_EXISTS ||
            rc == MCRING_NOT_FOUND)
            rc = round + 1 < VERSION_ROUNDS ? 0 : MCRING_ERACE;
        else
            break;
    }
    packed_release(&p);
    flight_wrote(c, st, &k);
    state_leave();
    return rc;
}
