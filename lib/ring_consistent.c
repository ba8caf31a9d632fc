/*
 * mcring's native consistent ring: the textbook next-point rule. Point i of
 * server S sits at the first 64 bits of md5("S-i"), 160 points per server;
 * a key at the first 64 bits of md5(key) belongs to the first point at or
 * after it, wrapping past the end. A weight w gives a server 160 * w points. A server's points depend only on its own
 * name, so adding or removing a server moves only keys to or from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring_common.h"

#define CONSISTENT_POINTS_PER_SERVER 160

typedef struct consistent_ring {
    mcring_ring head;
    uint64_t *points; /* sorted */
    uint32_t *owner;
    uint32_t first[257]; /* as in ring_swift.c: points by top byte */
} consistent_ring;

typedef struct cpoint {
    uint64_t v;
    uint32_t server;
} cpoint;

static int cpoint_cmp(const void *a, const void *b, void *ctx)
{
    const cpoint *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    /* Tie-break by name, not index: an index shifts when the list changes,
     * a name does not, so ties cannot move keys between unchanged servers. */
    char *const *names = ctx;
    return strcmp(names[x->server], names[y->server]);
}

static uint64_t cpoint_key(const void *p)
{
    return ((const cpoint *)p)->v;
}

static uint64_t first64(const unsigned char d[MD5_LEN])
{
    return hash128_from_digest(d).hi;
}

static size_t consistent_locate(const mcring_ring *ring, const keyhash *key,
                                uint32_t *out, size_t n)
{
    const consistent_ring *r = (const consistent_ring *)ring;
    uint64_t h = first64(key->md5);
    size_t want = n < ring->tries ? n : ring->tries;
    if (want == 0)
        return 0;

    /* lower bound: the first point >= h. */
    unsigned top = (unsigned)(h >> 56);
    size_t lo = r->first[top], hi = r->first[top + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->points[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }

    size_t pos = lo % r->head.npoints;
    if (want == 1) {
        out[0] = r->owner[pos];
        return 1;
    }
    return ring_walk(r->owner, r->head.npoints, pos, out, want,
                     ring->nservers, false);
}

static void consistent_destroy(mcring_ring *ring)
{
    consistent_ring *r = (consistent_ring *)ring;
    free(r->points);
    free(r->owner);
    ring_head_destroy(ring);
    free(r);
}

static const struct placement_ops consistent_ops = {
    .name = "consistent",
    .locate = consistent_locate,
    .destroy = consistent_destroy,
};

int ring_consistent_build(const server_list *servers, size_t tries,
                          mcring_ring **out)
{
    consistent_ring *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return MCRING_ENOMEM;
    int rc = ring_head_init(&r->head, &consistent_ops, RING_CONSISTENT,
                            servers, tries);
    if (rc != 0) {
        free(r);
        return rc;
    }
    size_t total = 0;
    for (size_t s = 0; s < r->head.nservers; s++)
        total += (size_t)r->head.weights[s] * CONSISTENT_POINTS_PER_SERVER;
    cpoint *pts = malloc(total * sizeof(*pts));
    r->points = malloc(total * sizeof(*r->points));
    r->owner = malloc(total * sizeof(*r->owner));
    if (pts == NULL || r->points == NULL || r->owner == NULL) {
        free(pts);
        consistent_destroy(&r->head);
        return MCRING_ENOMEM;
    }
    /* Digests in batches (AVX2 MD5), then a bucket sort: linear in the
     * number of points (docs/benchmarks.md). */
    size_t most = 0;
    for (size_t s = 0; s < r->head.nservers; s++)
        if (r->head.weights[s] > most)
            most = r->head.weights[s];
    unsigned char (*d)[MD5_LEN] =
        malloc(most * CONSISTENT_POINTS_PER_SERVER * MD5_LEN);
    if (d == NULL) {
        free(pts);
        consistent_destroy(&r->head);
        return MCRING_ENOMEM;
    }
    size_t k = 0;
    for (size_t s = 0; s < r->head.nservers; s++) {
        size_t points = (size_t)r->head.weights[s] * CONSISTENT_POINTS_PER_SERVER;
        ring_md5_points(r->head.names[s], points, d);
        for (size_t i = 0; i < points; i++) {
            pts[k].v = first64(d[i]);
            pts[k].server = (uint32_t)s;
            k++;
        }
    }
    free(d);
    if (ring_sort(pts, total, sizeof(*pts), cpoint_key, cpoint_cmp,
                  r->head.names) != 0) {
        free(pts);
        consistent_destroy(&r->head);
        return MCRING_ENOMEM;
    }
    for (size_t i = 0; i < total; i++) {
        r->points[i] = pts[i].v;
        r->owner[i] = pts[i].server;
    }
    r->head.npoints = total;
    size_t p = 0;
    for (unsigned b = 0; b <= 256; b++) {
        while (p < total && (b == 256 || (r->points[p] >> 56) < b))
            p++;
        r->first[b] = (uint32_t)p;
    }
    free(pts);
    *out = &r->head;
    return 0;
}
