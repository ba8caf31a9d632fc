/*
 * Swift's ring, bit for bit (swift.common.memcached.MemcacheRing):
 * 50 points per server, point i of server S at md5hex("S-i"), points in
 * digest order; a key at md5hex(key) starts at the point after the one
 * bisect_right() finds (Swift skips one point) and walks clockwise over
 * distinct servers.
 */
#include <stdio.h>
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
    const char *name;
} swift_point;

static int point_cmp(const void *a, const void *b)
{
    const swift_point *x = a, *y = b;
    int c = hash128_cmp(x->h, y->h);
    return c != 0 ? c : strcmp(x->name, y->name);
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
    swift_point *pts = malloc(total * sizeof(*pts));
    r->points = malloc(total * sizeof(*r->points));
    r->owner = malloc(total * sizeof(*r->owner));
    if (pts == NULL || r->points == NULL || r->owner == NULL) {
        free(pts);
        swift_destroy(&r->head);
        return MCRING_ENOMEM;
    }

    char buf[MCRING_NAME_MAX + 16];
    size_t k = 0;
    for (size_t s = 0; s < r->head.nservers; s++) {
        for (int i = 0; i < SWIFT_POINTS_PER_SERVER; i++) {
            int len = snprintf(buf, sizeof(buf), "%s-%d", r->head.names[s], i);
            unsigned char d[MD5_LEN];
            hash_md5(buf, (size_t)len, d);
            pts[k].h = hash128_from_digest(d);
            pts[k].server = (uint32_t)s;
            pts[k].name = r->head.names[s];
            k++;
        }
    }
    qsort(pts, total, sizeof(*pts), point_cmp);

    /* Swift keeps points in a dict filled in sorted(servers) order, so of two
     * servers with the same point the later name owns it. Equal digests sort
     * by name here, so keeping the last of a run does the same. */
    size_t n = 0;
    for (size_t i = 0; i < total; i++) {
        if (i + 1 < total && hash128_cmp(pts[i].h, pts[i + 1].h) == 0)
            continue;
        r->points[n] = pts[i].h;
        r->owner[n] = pts[i].server;
        n++;
    }
    r->head.npoints = n;
    size_t p = 0;
    for (unsigned b = 0; b <= 256; b++) {
        while (p < n && (b == 256 || (r->points[p].hi >> 56) < b))
            p++;
        r->first[b] = (uint32_t)p;
    }
    free(pts);
    *out = &r->head;
    return 0;
}
