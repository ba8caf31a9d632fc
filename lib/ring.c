#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ring.h"

static const char *const mode_names[] = {
    [RING_SWIFT] = "swift",
    [RING_CONSISTENT] = "consistent",
};

const char *ring_mode_name(ring_mode mode)
{
    if ((size_t)mode < sizeof(mode_names) / sizeof(mode_names[0]))
        return mode_names[mode];
    return "unknown";
}

int ring_mode_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
        if (mode_names[i] != NULL && strcmp(name, mode_names[i]) == 0)
            return (int)i;
    return -1;
}

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

int ring_build(ring_mode mode, const server_list *servers, size_t tries,
               mcring_ring **out, char *err, size_t errlen)
{
    int rc;
    if (servers->count == 0)
        return err_set(err, errlen, MCRING_ENOSERVERS, "no servers");
    if (servers->has_weights && mode == RING_SWIFT)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "server weights (host:port:weight) need a ring mode "
                       "that uses them, such as consistent; Swift's ring "
                       "has none");
    switch (mode) {
    case RING_SWIFT:
        rc = ring_swift_build(servers, tries, out);
        break;
    case RING_CONSISTENT:
        rc = ring_consistent_build(servers, tries, out);
        break;
    default:
        return err_set(err, errlen, MCRING_ECONFIG, "unknown ring mode");
    }
    if (rc != 0)
        return err_set(err, errlen, rc, "building the ring: %s",
                       mcring_strerror(rc));
    return 0;
}

mcring_ring *ring_ref(mcring_ring *ring)
{
    atomic_fetch_add_explicit(&ring->refs, 1, memory_order_relaxed);
    return ring;
}

void ring_unref(mcring_ring *ring)
{
    if (ring == NULL)
        return;
    if (atomic_fetch_sub_explicit(&ring->refs, 1, memory_order_acq_rel) == 1)
        ring->ops->destroy(ring);
}

void walk_set_init(walk_set *w, uint32_t *out, size_t want, size_t nservers)
{
    w->out = out;
    w->n = 0;
    w->want = want;
    w->bits = NULL;
    w->nservers = nservers;
}

bool walk_set_add(walk_set *w, uint32_t s)
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

void walk_set_done(walk_set *w)
{
    free(w->bits);
    w->bits = NULL;
}

/* ---- the public face of a ring ------------------------------------------ */

void mcring_ring_free(mcring_ring *ring)
{
    ring_unref(ring);
}

size_t mcring_ring_size(const mcring_ring *ring)
{
    return ring->nservers;
}

const char *mcring_ring_server(const mcring_ring *ring, size_t i)
{
    return i < ring->nservers ? ring->names[i] : NULL;
}

size_t mcring_ring_tries(const mcring_ring *ring)
{
    return ring->tries;
}

const char *mcring_ring_mode(const mcring_ring *ring)
{
    return ring_mode_name(ring->mode);
}

size_t mcring_ring_locate(const mcring_ring *ring, const void *key,
                          size_t key_len, size_t *idx, size_t max)
{
    uint32_t small[64];
    size_t want = max < ring->tries ? max : ring->tries;
    uint32_t *order = small;
    if (want > 64) {
        order = malloc(want * sizeof(*order));
        if (order == NULL)
            return 0;
    }
    keyhash k;
    keyhash_init(&k, key, key_len);
    size_t n = ring_locate(ring, &k, order, want);
    for (size_t i = 0; i < n; i++)
        idx[i] = order[i];
    if (order != small)
        free(order);
    return n;
}
