/* locate and ring-diff: placement only, no network. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A ring-diff side: "MODE[:HASH[:POINT_HASH]]", split. Absent parts are
 * NULL. */
typedef struct ring_spec {
    char text[128];
    const char *mode, *hash, *point_hash;
} ring_spec;

static void spec_parse(ring_spec *r, const char *text)
{
    snprintf(r->text, sizeof(r->text), "%s", text);
    r->mode = r->text;
    r->hash = r->point_hash = NULL;
    char *colon = strchr(r->text, ':');
    if (colon != NULL) {
        *colon = '\0';
        r->hash = colon + 1;
        colon = strchr(colon + 1, ':');
        if (colon != NULL) {
            *colon = '\0';
            r->point_hash = colon + 1;
        }
    }
}

static bool set_or_fail(cli *c, const char *name, const char *value,
                        const char *what)
{
    char err[512];
    if (value != NULL &&
        mcring_options_set(c->opts, name, value, err, sizeof(err)) != 0) {
        cli_fail(what, err);
        return false;
    }
    return true;
}

/* The ring for the command line's options, with the server list, ring mode
 * and hashes replaced where given (the options are the CLI's own). */
static mcring_ring *ring_for(cli *c, const char *servers, const char *mode,
                             const char *hash, const char *point_hash)
{
    char err[512];
    mcring_ring *ring = NULL;
    if (!set_or_fail(c, "memcache_servers", servers, "bad server list") ||
        !set_or_fail(c, "ring_mode", mode, "bad ring mode") ||
        !set_or_fail(c, "ring_hash", hash, "bad hash") ||
        !set_or_fail(c, "ring_point_hash", point_hash, "bad point hash"))
        return NULL;
    if (mcring_ring_new(&ring, c->opts, err, sizeof(err)) != 0)
        cli_fail("cannot build the ring", err);
    return ring;
}

static void print_order(const mcring_ring *ring, const char *key, size_t len,
                        size_t *idx)
{
    size_t n = mcring_ring_locate(ring, key, len, idx, mcring_ring_tries(ring));
    fwrite(key, 1, len, stdout);
    putchar('\t');
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            putchar(',');
        fputs(mcring_ring_server(ring, idx[i]), stdout);
    }
    putchar('\n');
}

int cmd_locate(cli *c)
{
    mcring_ring *ring = ring_for(c, NULL, NULL, NULL, NULL);
    if (ring == NULL)
        return EXIT_ERR;
    size_t *idx = malloc(mcring_ring_tries(ring) * sizeof(*idx));
    if (idx == NULL) {
        mcring_ring_free(ring);
        return cli_fail("locate", "out of memory");
    }
    if (c->argc > 0) {
        for (int i = 0; i < c->argc; i++)
            print_order(ring, c->argv[i], strlen(c->argv[i]), idx);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, stdin)) >= 0) {
            if (n > 0 && line[n - 1] == '\n')
                n--;
            print_order(ring, line, (size_t)n, idx);
        }
        free(line);
    }
    free(idx);
    mcring_ring_free(ring);
    return fflush(stdout) == 0 ? 0 : EXIT_ERR;
}

/* ---- ring-diff ---------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

typedef struct tally {
    const char *name;
    int in_old, in_new; /* index in each ring, or -1 */
    long before, after, gained, lost;
} tally;

static int find_or_add(tally *t, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(t[i].name, name) == 0)
            return i;
    t[*n] = (tally){name, -1, -1, 0, 0, 0, 0};
    return (*n)++;
}

static void shares(const tally *t, int n, bool after, long keys, double *max,
                   double *min)
{
    *max = 0;
    *min = 1;
    for (int i = 0; i < n; i++) {
        if ((after ? t[i].in_new : t[i].in_old) < 0)
            continue;
        double s = (double)(after ? t[i].after : t[i].before) / (double)keys;
        if (s > *max)
            *max = s;
        if (s < *min)
            *min = s;
    }
}

/* "swift ring", "twemproxy ring, hash md5", "libmemcached-ketama ring,
 * hash md5, points one_at_a_time". */
static const char *describe(const mcring_ring *r, char *buf, size_t len)
{
    const char *mode = mcring_ring_mode_name(r);
    if (strcmp(mode, "swift") == 0 || strcmp(mode, "consistent") == 0 ||
        strcmp(mode, "pymemcache") == 0)
        snprintf(buf, len, "%s ring", mode);
    else if (strcmp(mcring_ring_hash_name(r),
                    mcring_ring_point_hash_name(r)) == 0 ||
             strcmp(mode, "libmemcached-ketama") != 0)
        snprintf(buf, len, "%s ring, hash %s", mode, mcring_ring_hash_name(r));
    else
        snprintf(buf, len, "%s ring, hash %s, points %s", mode,
                 mcring_ring_hash_name(r), mcring_ring_point_hash_name(r));
    return buf;
}

int cmd_ring_diff(cli *c)
{
    if (c->argc != 2) {
        fputs("usage: mcring ring-diff OLD_LIST NEW_LIST [--keys N] "
              "[--seed S] [--old-ring MODE[:HASH[:POINT_HASH]]] "
              "[--new-ring MODE[:HASH[:POINT_HASH]]]\n",
              stderr);
        return EXIT_ERR;
    }
    const char *base = c->ring_mode ? c->ring_mode : "swift";
    ring_spec o, n;
    spec_parse(&o, c->old_ring ? c->old_ring : base);
    spec_parse(&n, c->new_ring ? c->new_ring : base);
    /* A hash named for one side is set for both: the other gets --hash,
     * else its mode's own (""). Named for neither, the options' own hash
     * (--hash or the config file) applies to both. */
    if (o.hash != NULL || n.hash != NULL) {
        const char *dflt = c->hash ? c->hash : "";
        o.hash = o.hash ? o.hash : dflt;
        n.hash = n.hash ? n.hash : dflt;
    }
    if (o.point_hash != NULL || n.point_hash != NULL) {
        const char *dflt = c->point_hash ? c->point_hash : "";
        o.point_hash = o.point_hash ? o.point_hash : dflt;
        n.point_hash = n.point_hash ? n.point_hash : dflt;
    }
    mcring_ring *old = ring_for(c, c->argv[0], o.mode, o.hash, o.point_hash);
    mcring_ring *new =
        old ? ring_for(c, c->argv[1], n.mode, n.hash, n.point_hash) : NULL;
    if (new == NULL) {
        mcring_ring_free(old);
        return EXIT_ERR;
    }
    size_t nold = mcring_ring_size(old), nnew = mcring_ring_size(new);
    tally *t = calloc(nold + nnew, sizeof(*t));
    int *old_map = malloc(nold * sizeof(int)), *new_map = malloc(nnew * sizeof(int));
    if (t == NULL || old_map == NULL || new_map == NULL) {
        free(t);
        free(old_map);
        free(new_map);
        mcring_ring_free(old);
        mcring_ring_free(new);
        return cli_fail("ring-diff", "out of memory");
    }
    int nt = 0;
    for (size_t i = 0; i < nold; i++) {
        old_map[i] = find_or_add(t, &nt, mcring_ring_server(old, i));
        t[old_map[i]].in_old = (int)i;
    }
    for (size_t i = 0; i < nnew; i++) {
        new_map[i] = find_or_add(t, &nt, mcring_ring_server(new, i));
        t[new_map[i]].in_new = (int)i;
    }

    long keys = c->keys > 0 ? c->keys : 100000;
    uint64_t seed = c->seed;
    long moved = 0, between_kept = 0;
    char key[40];
    for (long k = 0; k < keys; k++) {
        int len = snprintf(key, sizeof(key), "key-%016" PRIx64,
                           splitmix64(&seed));
        size_t a, b;
        mcring_ring_locate(old, key, (size_t)len, &a, 1);
        mcring_ring_locate(new, key, (size_t)len, &b, 1);
        tally *from = &t[old_map[a]], *to = &t[new_map[b]];
        from->before++;
        to->after++;
        if (from != to) {
            moved++;
            from->lost++;
            to->gained++;
            if (from->in_new >= 0 && to->in_old >= 0)
                between_kept++;
        }
    }

    char dold[160], dnew[160];
    printf("ring-diff: %ld random keys (seed %lu), %s (%zu servers) -> "
           "%s (%zu servers)\n",
           keys, c->seed, describe(old, dold, sizeof(dold)), nold,
           describe(new, dnew, sizeof(dnew)), nnew);
    printf("first server changed: %ld keys (%.2f%%)\n", moved,
           100.0 * (double)moved / (double)keys);
    printf("  of which moved between servers in both lists: %ld (%.2f%%)\n",
           between_kept, 100.0 * (double)between_kept / (double)keys);
    printf("%-40s %8s %8s %8s %8s\n", "server", "before", "after", "gained",
           "lost");
    for (int i = 0; i < nt; i++)
        printf("%-40s %8ld %8ld %8ld %8ld%s\n", t[i].name, t[i].before,
               t[i].after, t[i].gained, t[i].lost,
               t[i].in_old < 0   ? "  (added)"
               : t[i].in_new < 0 ? "  (removed)"
                                 : "");
    double omax, omin, nmax, nmin;
    shares(t, nt, false, keys, &omax, &omin);
    shares(t, nt, true, keys, &nmax, &nmin);
    printf("keys=%ld moved=%ld moved_fraction=%.6f moved_between_kept=%ld "
           "moved_between_kept_fraction=%.6f old_max_share=%.6f "
           "old_min_share=%.6f new_max_share=%.6f new_min_share=%.6f\n",
           keys, moved, (double)moved / (double)keys, between_kept,
           (double)between_kept / (double)keys, omax, omin, nmax, nmin);
    free(t);
    free(old_map);
    free(new_map);
    mcring_ring_free(old);
    mcring_ring_free(new);
    return 0;
}
