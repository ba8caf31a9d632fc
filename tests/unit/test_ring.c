/* Placement: Swift's ring bit for bit, and the native consistent ring. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "ring.h"

static mcring_ring *build(ring_mode mode, const char *list, size_t tries)
{
    server_list l;
    char err[256];
    cr_assert_eq(server_list_parse(list, &l, err, sizeof(err)), 0, "%s", err);
    mcring_ring *r;
    cr_assert_eq(ring_build(ring_config_of(mode), &l, tries, &r, err, sizeof(err)), 0, "%s",
                 err);
    server_list_free(&l);
    return r;
}

static void order_str(mcring_ring *r, const char *key, char *out, size_t len)
{
    keyhash k;
    keyhash_init(&k, key, strlen(key));
    uint32_t idx[64];
    size_t n = ring_locate(r, &k, idx, 64);
    out[0] = '\0';
    size_t off = 0;
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(out + off, len - off, "%s%s", i ? "," : "",
                                r->names[idx[i]]);
}

Test(hash, md5_vectors)
{
    unsigned char d[16];
    char hex[33] = {0};
    hash_md5("some_key", 8, d);
    hash_hex(d, hex);
    cr_assert_str_eq(hex, "3d70412c7e9ea2d96fa23d4f1f1f0a1c");
    hash_md5("", 0, d);
    hash_hex(d, hex);
    cr_assert_str_eq(hex, "d41d8cd98f00b204e9800998ecf8427e");
}

Test(ring_swift, reference_vectors)
{
    mcring_ring *r =
        build(RING_SWIFT, "10.0.0.1:11211,10.0.0.2:11211,10.0.0.3:11211", 3);
    static const struct {
        const char *key, *order;
    } v[] = {
        {"some_key0", "10.0.0.1:11211,10.0.0.3:11211,10.0.0.2:11211"},
        {"multi_key", "10.0.0.3:11211,10.0.0.1:11211,10.0.0.2:11211"},
        {"a", "10.0.0.3:11211,10.0.0.2:11211,10.0.0.1:11211"},
        {"c", "10.0.0.2:11211,10.0.0.3:11211,10.0.0.1:11211"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char got[256];
        order_str(r, v[i].key, got, sizeof(got));
        cr_assert_str_eq(got, v[i].order, "key %s", v[i].key);
    }
    ring_unref(r);
}

Test(ring_swift, fifty_points_per_server)
{
    mcring_ring *r = build(RING_SWIFT, "a,b,c,d", 2);
    cr_assert_eq(r->nservers, 4);
    cr_assert_eq(r->npoints, 200);
    ring_unref(r);
}

Test(ring_swift, duplicates_count_once_for_tries)
{
    /* Swift caps tries with duplicates counted and then spins forever
     * looking for a third distinct server (bug 1). */
    mcring_ring *r = build(RING_SWIFT, "a:1,b:2,a:1", 3);
    cr_assert_eq(r->nservers, 2);
    cr_assert_eq(r->tries, 2);
    char got[256];
    order_str(r, "anything", got, sizeof(got));
    cr_assert(strcmp(got, "a:1,b:2") == 0 || strcmp(got, "b:2,a:1") == 0,
              "%s", got);
    ring_unref(r);
}

Test(ring_swift, same_host_written_differently_is_a_different_member)
{
    mcring_ring *r = build(RING_SWIFT, "127.0.0.1,127.0.0.1:11211", 2);
    cr_assert_eq(r->nservers, 2);
    ring_unref(r);
}

Test(ring_swift, tries_capped_and_order_is_a_permutation)
{
    mcring_ring *r = build(RING_SWIFT, "s1,s2,s3,s4,s5", 10);
    cr_assert_eq(r->tries, 5);
    for (int k = 0; k < 200; k++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", k);
        keyhash kh;
        keyhash_init(&kh, key, strlen(key));
        uint32_t idx[8];
        cr_assert_eq(ring_locate(r, &kh, idx, 8), 5);
        unsigned seen = 0;
        for (int i = 0; i < 5; i++)
            seen |= 1u << idx[i];
        cr_assert_eq(seen, 31u);
    }
    ring_unref(r);
}

Test(ring_swift, large_tries_walk_uses_every_server_once)
{
    char list[200 * 12];
    size_t off = 0;
    for (int i = 0; i < 200; i++)
        off += (size_t)snprintf(list + off, sizeof(list) - off, "%sh%d",
                                i ? "," : "", i);
    mcring_ring *r = build(RING_SWIFT, list, 200);
    keyhash kh;
    keyhash_init(&kh, "x", 1);
    uint32_t idx[200];
    cr_assert_eq(ring_locate(r, &kh, idx, 200), 200);
    char seen[200] = {0};
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(seen[idx[i]], 0);
        seen[idx[i]] = 1;
    }
    ring_unref(r);
}

/* The share of `keys` random keys whose first server differs. */
static void movement(ring_mode mode, int n, bool add, double *moved,
                     double *between_unchanged)
{
    char before[4096], after[4096];
    size_t ob = 0, oa = 0;
    for (int i = 0; i < n; i++)
        ob += (size_t)snprintf(before + ob, sizeof(before) - ob,
                               "%s10.1.%d.%d:11211", i ? "," : "", i / 250,
                               i % 250);
    memcpy(after, before, ob + 1);
    oa = ob;
    if (add)
        snprintf(after + oa, sizeof(after) - oa, ",10.9.9.9:11211");
    else {
        /* drop the last server */
        char *comma = strrchr(after, ',');
        *comma = '\0';
    }
    mcring_ring *a = build(mode, before, 1), *b = build(mode, after, 1);
    int keys = 20000, m = 0, between = 0;
    for (int k = 0; k < keys; k++) {
        char key[24];
        snprintf(key, sizeof(key), "key-%d", k);
        keyhash kh;
        keyhash_init(&kh, key, strlen(key));
        uint32_t x, y;
        ring_locate(a, &kh, &x, 1);
        ring_locate(b, &kh, &y, 1);
        const char *from = a->names[x], *to = b->names[y];
        if (strcmp(from, to) != 0) {
            m++;
            bool from_kept = false, to_kept = false;
            for (size_t i = 0; i < b->nservers; i++)
                from_kept |= strcmp(b->names[i], from) == 0;
            for (size_t i = 0; i < a->nservers; i++)
                to_kept |= strcmp(a->names[i], to) == 0;
            between += from_kept && to_kept;
        }
    }
    *moved = (double)m / keys;
    *between_unchanged = (double)between / keys;
    ring_unref(a);
    ring_unref(b);
}

Test(ring_consistent, adding_or_removing_moves_only_that_servers_keys)
{
    int sizes[] = {3, 10, 50};
    for (int i = 0; i < 3; i++) {
        for (int add = 0; add <= 1; add++) {
            double moved, between;
            movement(RING_CONSISTENT, sizes[i], add, &moved, &between);
            cr_assert_eq(between, 0.0, "n=%d add=%d: %f moved between "
                                       "unchanged servers",
                         sizes[i], add, between);
            double expect = 1.0 / (sizes[i] + (add ? 1 : 0));
            cr_assert(moved > expect * 0.5 && moved < expect * 1.6,
                      "n=%d add=%d: moved %f, about %f expected", sizes[i],
                      add, moved, expect);
        }
    }
}

Test(ring_swift, adding_a_server_moves_keys_between_unchanged_ones)
{
    /* Swift's +1 skip makes a new server's points also shift keys between
     * old servers: measured about 8% to the new server and 10% between old
     * ones for 10 -> 11. Swift mode must reproduce that, not fix it. */
    double moved, between;
    movement(RING_SWIFT, 10, true, &moved, &between);
    cr_assert(between > 0.05, "between unchanged: %f", between);
    cr_assert(moved > 0.12, "moved: %f", moved);
}

Test(ring_swift, weights_are_refused)
{
    server_list l;
    cr_assert_eq(server_list_parse("a:1:2,b:1", &l, NULL, 0), 0);
    mcring_ring *r;
    char err[256] = "";
    cr_assert_eq(ring_build(ring_config_of(RING_SWIFT), &l, 2, &r, err, sizeof(err)),
                 MCRING_ECONFIG);
    cr_assert(strstr(err, "weight") != NULL);
    server_list_free(&l);
}

Test(ring_consistent, weights_scale_the_share)
{
    mcring_ring *r = build(RING_CONSISTENT, "a:1:1,b:1:3", 1);
    cr_assert_eq(r->npoints, 4 * 160);
    int count[2] = {0, 0};
    for (int k = 0; k < 40000; k++) {
        char key[16];
        snprintf(key, sizeof(key), "w%d", k);
        keyhash kh;
        keyhash_init(&kh, key, strlen(key));
        uint32_t s;
        ring_locate(r, &kh, &s, 1);
        count[s]++;
    }
    double share = count[1] / 40000.0;
    cr_assert(share > 0.68 && share < 0.82, "weight 3 of 4: %f", share);
    ring_unref(r);
}
