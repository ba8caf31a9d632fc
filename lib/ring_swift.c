/*
 * Swift's ring, bit for bit (swift.common.memcached.MemcacheRing):
 * 50 points per server, point i of server S at md5hex("S-i"), points in
 * digest order; a key at md5hex(key) starts at the point after the one
 * bisect_right() finds (Swift skips one point) and walks clockwise over
 * distinct servers.
 */
#include <stdlib.h>
#include <string.h>

#include "ring_common.h"

#define SWIFT_POINTS_PER_SERVER 50

typedef struct swift_ring {
    mcring_ring head;
    hash128 *points; /* sorted, unique */
    uint32_t *owner; /* server index of each point */
    /* first[b]: the first point whose top byte is >= b; first[256] is the
     * number of points. A lookup bisects only between first[b] and
     * first[b + 1], one or two steps for rings of a few hundred points. */
    uint32_t first[257];
} swift_ring;

typedef struct swift_point {
    hash128 h;
    uint32_t server;
} swift_point;

/* Digest order; equal digests by server name (Swift's sorted(servers)). */
static int point_cmp(const void *a, const void *b, void *ctx)
{
    const swift_point *x = a, *y = b;
    int c = hash128_cmp(x->h, y->h);
    if (c != 0)
        return c;
    char *const *names = ctx;
    return strcmp(names[x->server], names[y->server]);
}

static size_t swift_locate(const mcring_ring *ring, const keyhash *key,
                           uint32_t *out, size_t n)
{
    const swift_ring *r = (const swift_ring *)ring;
    hash128 h = hash128_from_digest(key->md5);
    size_t want = n < ring->tries ? n : ring->tries;
    if (want == 0)
        return 0;

    /* bisect_right: the number of points <= h. */
    unsigned top = (unsigned)(h.hi >> 56);
    size_t lo = r->first[top], hi = r->first[top + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (hash128_cmp(h, r->points[mid]) < 0)
            hi = mid;
        else
            lo = mid + 1;
    }

    if (want == 1) { /* the usual question: just the first server */
        out[0] = r->owner[(lo + 1) % r->head.npoints];
        return 1;
    }
    return ring_walk(r->owner, r->head.npoints, (lo + 1) % r->head.npoints,
                     out, want, ring->nservers, false);
}

static void swift_destroy(mcring_ring *ring)
{
    swift_ring *r = (swift_ring *)ring;
    free(r->points);
    free(r->owner);
    ring_head_destroy(ring);
    free(r);
}

static const struct placement_ops swift_ops = {
    .name = "swift",
    .locate = swift_locate,
    .destroy = swift_destroy,
};

/* Sorts one bucket of points, with their owners, in place. Buckets hold a
 * few points each; a large one (only skewed input makes one) goes through
 * qsort_r. */
static int sort_bucket(hash128 *h, uint32_t *own, size_t n, char **names)
{
    if (n > 32) {
        swift_point *tmp = malloc(n * sizeof(*tmp));
        if (tmp == NULL)
            return MCRING_ENOMEM;
        for (size_t i = 0; i < n; i++)
            tmp[i] = (swift_point){h[i], own[i]};
        qsort_r(tmp, n, sizeof(*tmp), point_cmp, names);
        for (size_t i = 0; i < n; i++) {
            h[i] = tmp[i].h;
            own[i] = tmp[i].server;
        }
        free(tmp);
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        swift_point x = {h[i], own[i]};
        size_t j = i;
        while (j > 0 &&
               point_cmp(&(swift_point){h[j - 1], own[j - 1]}, &x, names) > 0) {
            h[j] = h[j - 1];
            own[j] = own[j - 1];
            j--;
        }
        h[j] = x.h;
        own[j] = x.server;
    }
    return 0;
}

/*
 * 50 digests per server, hashed in batches through the AVX2 MD5, then a
 * bucket sort on the digests' top bits straight into the ring's arrays:
 * 100,000 servers (5,000,000 points) build in about half a second with
 * 180 bytes per point at the peak (docs/benchmarks.md).
 */
int ring_swift_build(const server_list *servers, size_t tries,
                     mcring_ring **out)
{
    swift_ring *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return MCRING_ENOMEM;
    int rc = ring_head_init(&r->head, &swift_ops, RING_SWIFT, servers, tries);
    if (rc != 0) {
        free(r);
        return rc;
    }
    size_t total = r->head.nservers * SWIFT_POINTS_PER_SERVER;
    unsigned bits = 8;
    while (bits < 24 && ((size_t)8 << bits) < total)
        bits++;
    size_t nb = (size_t)1 << bits;
    unsigned shift = 64 - bits;
    hash128 *h = malloc(total * sizeof(*h)); /* server s's at s * 50 */
    unsigned char (*d)[MD5_LEN] = malloc(SWIFT_POINTS_PER_SERVER * MD5_LEN);
    size_t *end = calloc(nb + 1, sizeof(*end));
    r->points = malloc(total * sizeof(*r->points));
    r->owner = malloc(total * sizeof(*r->owner));
    if (h == NULL || d == NULL || end == NULL || r->points == NULL ||
        r->owner == NULL) {
        rc = MCRING_ENOMEM;
        goto done;
    }
    for (size_t s = 0; s < r->head.nservers; s++) {
        ring_md5_points(r->head.names[s], SWIFT_POINTS_PER_SERVER, d);
        for (int i = 0; i < SWIFT_POINTS_PER_SERVER; i++) {
            hash128 p = hash128_from_digest(d[i]);
            h[s * SWIFT_POINTS_PER_SERVER + (size_t)i] = p;
            end[(p.hi >> shift) + 1]++;
        }
    }
    for (size_t b = 0; b < nb; b++)
        end[b + 1] += end[b];
    /* Scatter by bucket; end[b] moves from bucket b's start to its end. */
    for (size_t k = 0; k < total; k++) {
        size_t pos = end[h[k].hi >> shift]++;
        r->points[pos] = h[k];
        r->owner[pos] = (uint32_t)(k / SWIFT_POINTS_PER_SERVER);
    }
    free(h);
    h = NULL;
    size_t from = 0;
    for (size_t b = 0; b < nb && rc == 0; b++) {
        rc = sort_bucket(r->points + from, r->owner + from, end[b] - from,
                         r->head.names);
        from = end[b];
    }
    if (rc != 0)
        goto done;

    /* Swift keeps points in a dict filled in sorted(servers) order, so of two
     * servers with the same point the later name owns it. Equal digests sort
     * by name here, so keeping the last of a run does the same. */
    size_t n = 0;
    for (size_t i = 0; i < total; i++) {
        if (i + 1 < total && hash128_cmp(r->points[i], r->points[i + 1]) == 0)
            continue;
        r->points[n] = r->points[i];
        r->owner[n] = r->owner[i];
        n++;
    }
    r->head.npoints = n;
    size_t p = 0;
    for (unsigned b = 0; b <= 256; b++) {
        while (p < n && (b == 256 || (r->points[p].hi >> 56) < b))
            p++;
        r->first[b] = (uint32_t)p;
    }
done:
    free(h);
    free(d);
    free(end);
    if (rc != 0) {
        swift_destroy(&r->head);
        return rc;
    }
    *out = &r->head;
    return 0;
}
