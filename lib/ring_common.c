/*
 * The helpers every placement mode uses (ring_common.h): filling the ring
 * head with the distinct servers, mapping list entries to them, and the
 * clockwise walk over a ring of points.
 */
#include <stdlib.h>
#include <string.h>

#include "ring_common.h"

int ring_head_init(mcring_ring *ring, const struct placement_ops *ops,
                   ring_mode mode, const server_list *servers, size_t tries)
{
    ring->ops = ops;
    atomic_init(&ring->refs, 1);
    ring->mode = mode;
    ring->nservers = 0;
    ring->names = calloc(servers->count ? servers->count : 1, sizeof(char *));
    ring->weights = calloc(servers->count ? servers->count : 1, sizeof(unsigned));
    if (ring->names == NULL || ring->weights == NULL) {
        free(ring->names);
        free(ring->weights);
        return MCRING_ENOMEM;
    }
    for (size_t i = 0; i < servers->count; i++) {
        bool seen = false;
        for (size_t j = 0; j < ring->nservers && !seen; j++)
            seen = strcmp(ring->names[j], servers->names[i]) == 0;
        if (seen)
            continue;
        ring->weights[ring->nservers] = servers->weights ? servers->weights[i] : 1;
        ring->names[ring->nservers] = strdup(servers->names[i]);
        if (ring->names[ring->nservers] == NULL) {
            ring_head_destroy(ring);
            return MCRING_ENOMEM;
        }
        ring->nservers++;
    }
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
    uint32_t *map = malloc(servers->count * sizeof(*map));
    if (map == NULL)
        return NULL;
    for (size_t e = 0; e < servers->count; e++) {
        map[e] = 0;
        for (size_t s = 0; s < ring->nservers; s++)
            if (strcmp(ring->names[s], servers->names[e]) == 0) {
                map[e] = (uint32_t)s;
                break;
            }
    }
    return map;
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
