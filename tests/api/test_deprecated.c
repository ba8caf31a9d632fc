/* The 0.1.0 names of renamed functions (mcring/deprecated.h) still link
 * against the shared library and do what their replacements do. No server
 * is contacted. */
#define MCRING_NO_DEPRECATION_WARNINGS
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <mcring.h>

static mcring_options *opts;
static mcring_client *client;

static void setup(void)
{
    cr_assert_eq(mcring_options_new(&opts), 0);
    cr_assert_eq(mcring_options_set(opts, "memcache_servers", "127.0.0.1:1",
                                    NULL, 0),
                 0);
    cr_assert_eq(mcring_client_new(&client, opts, NULL, 0), 0);
}

static void teardown(void)
{
    mcring_client_free(client);
    mcring_options_free(opts);
}

TestSuite(deprecated, .init = setup, .fini = teardown);

Test(deprecated, item_free_releases_the_buffer)
{
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_item_append(&it, "abc", 3), 0);
    mcring_item_free(&it);
    cr_assert_null(it.data);
    cr_assert_eq(it.len, 0);
    cr_assert_eq(it.cap, 0);
    mcring_item_free(NULL);
}

Test(deprecated, set_servers_and_client_stats)
{
    char err[128];
    cr_assert_eq(mcring_set_servers(client, "127.0.0.1:1,127.0.0.1:2", err,
                                    sizeof(err)),
                 0, "%s", err);
    mcring_server_stats st[2], st_new[2];
    cr_assert_eq(mcring_client_stats(client, st, 2), 2);
    cr_assert_eq(mcring_client_server_stats(client, st_new, 2), 2);
    cr_assert_str_eq(st[0].name, st_new[0].name);
    cr_assert_str_eq(st[1].name, st_new[1].name);
    cr_assert_eq(mcring_set_servers(client, "not a server list", NULL, 0),
                 mcring_client_set_servers(client, "not a server list", NULL,
                                           0));
}

Test(deprecated, ring_names)
{
    mcring_ring *old = mcring_client_ring(client);
    mcring_ring *now = mcring_client_ring_ref(client);
    cr_assert_eq(old, now, "the same ring, referenced twice");
    cr_assert_str_eq(mcring_ring_mode(old), mcring_ring_mode_name(now));
    cr_assert_str_eq(mcring_ring_hash(old), mcring_ring_hash_name(now));
    cr_assert_str_eq(mcring_ring_point_hash(old),
                     mcring_ring_point_hash_name(now));
    cr_assert_str_eq(mcring_ring_mode(old), "swift");
    mcring_ring_free(old);
    mcring_ring_free(now);
}
