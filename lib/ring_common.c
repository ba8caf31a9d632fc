/*
 * The helpers every placement mode uses (ring_common.h): filling the ring
 * head with the distinct servers, mapping list entries to them, sorting
 * and hashing points in bulk, and the clockwise walk over a ring of
 * points.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcring.h"
#include "ring_common.h"
#include "strmap.h"

int ring_head_init(mcring_ring *ring, const struct placement_ops *ops,
                   ring_mode mode, const server_list *servers, size_t tries)
{
    ring->ops = ops;
    atomic_init(&ring->refs, 1);
    ring->mode = mode;
    ring->nservers = 0;
    ring->names = calloc(servers->count ? servers->count : 1, sizeof(char *));
    ring->weights = calloc(servers->count ? servers->count : 1, sizeof(unsigned));
    strmap seen;
    if (ring->names == NULL || ring->weights == NULL ||
        strmap_init(&seen, servers->count) != 0) {
        free(ring->names);
        free(ring->weights);
        return MCRING_ENOMEM;
    }
    /* First-seen order; a hash of the names so far keeps this linear in
     * the list's length (100,000 servers are a configuration too). */
    for (size_t i = 0; i < servers->count; i++) {
        const char *name = servers->names[i];
        if (strmap_get(&seen, 0, name, strlen(name)) != NULL)
            continue;
        ring->weights[ring->nservers] = servers->weights ? servers->weights[i] : 1;
        ring->names[ring->nservers] = strdup(name);
        if (ring->names[ring->nservers] == NULL ||
            strmap_put(&seen, 0, name, strlen(name),
                       (void *)(uintptr_t)(ring->nservers + 1), NULL) < 0) {
            if (ring->names[ring->nservers] != NULL)
                ring->nservers++;
            strmap_free(&seen);
            ring_head_destroy(ring);
            return MCRING_ENOMEM;
        }
        ring->nservers++;
    }
    strmap_free(&seen);
    /* Swift caps tries at the list length with duplicates counted, which
     * makes its walk spin forever when a duplicated server fails; capping at
     * the distinct servers is the fix (docs/swift-compat.md, bug 1). */
    ring->tries = tries < ring->nservers ? tries : ring->nservers;
    return 0;
}

void ring_head_destroy(mcring_ring *ring)
{
    if (ring->names != NULL)
        for (size_t i = 0; i < ring->nservers; i++)
            free(ring->names[i]);
    free(ring->names);
    free(ring->weights);
    ring->names = NULL;
    ring->weights = NULL;
}

uint32_t *ring_entry_servers(const mcring_ring *ring,
                             const server_list *servers)
{
    uint32_t *map = malloc((servers->count ? servers->count : 1) *
                           sizeof(*map));
    strmap index;
    if (map == NULL || strmap_init(&index, ring->nservers) != 0) {
        free(map);
        return NULL;
    }
    for (size_t s = 0; s < ring->nservers; s++)
        if (strmap_put(&index, 0, ring->names[s], strlen(ring->names[s]),
                       (void *)(uintptr_t)(s + 1), NULL) < 0) {
            strmap_free(&index);
            free(map);
            return NULL;
        }
    for (size_t e = 0; e < servers->count; e++) {
        const char *name = servers->names[e];
        uintptr_t s = (uintptr_t)strmap_get(&index, 0, name, strlen(name));
        map[e] = s > 0 ? (uint32_t)(s - 1) : 0;
    }
    strmap_free(&index);
    return map;
}


/* ---- building blocks of the rings' builders ------------------------------ */

/* Insertion sort of n elements at base with cmp; tmp holds one element. */
static void insertion_sort(unsigned char *base, size_t n, size_t size,
                           int (*cmp)(const void *, const void *, void *),
                           void *ctx, unsigned char *tmp)
{
    for (size_t i = 1; i < n; i++) {
        size_t j = i;
        if (cmp(base + (j - 1) * size, base + i * size, ctx) <= 0)
            continue;
        memcpy(tmp, base + i * size, size);
        while (j > 0 && cmp(base + (j - 1) * size, tmp, ctx) > 0) {
            memcpy(base + j * size, base + (j - 1) * size, size);
            j--;
        }
        memcpy(base + j * size, tmp, size);
    }
}

int ring_sort(void *base, size_t n, size_t size, uint64_t (*key)(const void *),
              int (*cmp)(const void *, const void *, void *), void *ctx)
{
    unsigned char one[64];
    if (n < 2)
        return 0;
    if (size > sizeof(one))
        return MCRING_EINVAL;
    unsigned bits = 8;
    while (bits < 24 && ((size_t)16 << bits) < n)
        bits++;
    size_t nb = (size_t)1 << bits;
    unsigned shift = 64 - bits;
    size_t *start = calloc(nb + 1, sizeof(*start));
    unsigned char *tmp = malloc(n * size);
    if (start == NULL || tmp == NULL) {
        free(start);
        free(tmp);
        return MCRING_ENOMEM;
    }
    unsigned char *in = base;
    for (size_t i = 0; i < n; i++)
        start[(key(in + i * size) >> shift) + 1]++;
    for (size_t b = 0; b < nb; b++)
        start[b + 1] += start[b];
    /* Scatter into buckets; start[b] ends as bucket b's end, which is
     * bucket b + 1's start: sort each [end of b - 1, end of b). */
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)(key(in + i * size) >> shift);
        memcpy(tmp + start[b]++ * size, in + i * size, size);
    }
    size_t from = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t len = start[b] - from;
        if (len > 32)
            qsort_r(tmp + from * size, len, size, cmp, ctx);
        else if (len > 1)
            insertion_sort(tmp + from * size, len, size, cmp, ctx, one);
        from = start[b];
    }
    memcpy(base, tmp, n * size);
    free(tmp);
    free(start);
    return 0;
}

void ring_md5_points(const char *prefix, size_t count,
                     unsigned char (*out)[MD5_LEN])
{
    enum { BATCH = 64, ROOM = MCRING_NAME_MAX + 40 };
    char text[BATCH][ROOM];
    mcring_key keys[BATCH];
    size_t plen = strlen(prefix);
    if (plen > ROOM - 22)
        plen = ROOM - 22; /* longer names were refused before this */
    /* "<prefix>-" once per slot; only the number changes (snprintf per
     * point was a third of building a large ring). */
    for (size_t i = 0; i < BATCH && i < count; i++) {
        memcpy(text[i], prefix, plen);
        text[i][plen] = '-';
    }
    for (size_t done = 0; done < count;) {
        size_t n = count - done < BATCH ? count - done : BATCH;
        for (size_t i = 0; i < n; i++) {
            char digits[24];
            size_t nd = 0, v = done + i;
            do {
                digits[nd++] = (char)('0' + v % 10);
                v /= 10;
            } while (v > 0);
            char *p = text[i] + plen + 1;
            for (size_t j = 0; j < nd; j++)
                p[j] = digits[nd - 1 - j];
            keys[i] = (mcring_key){text[i], plen + 1 + nd};
        }
        hash_md5_many(keys, n, out + done);
        done += n;
    }
}

/* Collects distinct servers while walking a ring. For the usual handful of
 * tries it scans the few chosen so far; past 64 it switches to a bitmap. */
typedef struct walk_set {
    uint32_t *out;
    size_t n, want;
    uint64_t *bits; /* NULL until needed */
    size_t nservers;
} walk_set;

static void walk_set_init(walk_set *w, uint32_t *out, size_t want, size_t nservers)
{
    w->out = out;
    w->n = 0;
    w->want = want;
    w->bits = NULL;
    w->nservers = nservers;
}

/* Adds server s if not chosen yet; true when the walk is done. */
static bool walk_set_add(walk_set *w, uint32_t s)
{
    if (w->bits != NULL) {
        if (w->bits[s / 64] & (UINT64_C(1) << (s % 64)))
            return false;
    } else {
        for (size_t i = 0; i < w->n; i++)
            if (w->out[i] == s)
                return false;
        if (w->n == 64) {
            /* Past 64 chosen, a scan per step would make the walk
             * quadratic; index the chosen set instead. If the bitmap
             * cannot be had, keep scanning: slower, still correct. */
            w->bits = calloc((w->nservers + 63) / 64, sizeof(uint64_t));
            for (size_t i = 0; w->bits != NULL && i < w->n; i++)
                w->bits[w->out[i] / 64] |= UINT64_C(1) << (w->out[i] % 64);
        }
    }
    if (w->bits != NULL)
        w->bits[s / 64] |= UINT64_C(1) << (s % 64);
    w->out[w->n++] = s;
    return w->n >= w->want;
}

static void walk_set_done(walk_set *w)
{
    free(w->bits);
    w->bits = NULL;
}

size_t ring_walk(const uint32_t *owner, size_t npoints, size_t start,
                 uint32_t *out, size_t want, size_t nservers,
                 bool fill_unowned)
{
    walk_set w;
    walk_set_init(&w, out, want, nservers);
    bool done = want == 0;
    size_t pos = start;
    for (size_t step = 0; step < npoints && !done; step++) {
        done = walk_set_add(&w, owner[pos]);
        pos = pos + 1 < npoints ? pos + 1 : 0;
    }
    for (uint32_t s = 0; fill_unowned && s < nservers && !done; s++)
        done = walk_set_add(&w, s);
    walk_set_done(&w);
    return w.n;
}
