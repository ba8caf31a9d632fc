/* mcring set --codec and mcring get of coded values, against real
 * memcached. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "harness.h"

static mc_fleet fleet;

static void setup(void)
{
    fleet_start(&fleet, 2);
}

static void teardown(void)
{
    fleet_stop(&fleet);
}

TestSuite(cli_codec, .init = setup, .fini = teardown, .timeout = 60);

static void expect_item(const char *key, uint32_t flags, const void *bytes,
                        size_t len)
{
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(fleet.client, key, strlen(key), &it), MCRING_OK,
                 "%s", key);
    cr_assert_eq(it.flags, flags, "%s", key);
    cr_assert_eq(it.len, len, "%s: %zu bytes", key, it.len);
    cr_assert(memcmp(it.data, bytes, len) == 0, "%s", key);
    mcring_item_release(&it);
}

Test(cli_codec, json_values_are_stored_as_swift_stores_them)
{
    char *out;
    cr_assert_eq(cli_run(NULL, fleet.names, NULL, "set", "--codec", "json", "j",
                         "{\"a\":[1,2.5,\"caf\xc3\xa9\"],\"n\":NaN}", NULL),
                 0);
    const char *swift = "{\"a\": [1, 2.5, \"caf\\u00e9\"], \"n\": NaN}";
    expect_item("j", MCRING_FLAG_JSON, swift, strlen(swift));
    cr_assert_eq(cli_run(&out, fleet.names, NULL, "get", "j", NULL), 0);
    cr_assert_str_eq(out, "{\"a\": [1, 2.5, \"caf\\u00e9\"], \"n\": NaN}\n");
    free(out);
}

Test(cli_codec, msgpack_values_print_as_one_line_of_json)
{
    char *out;
    cr_assert_eq(cli_run(NULL, fleet.names, NULL, "set", "--ttl", "60",
                         "--codec", "msgpack", "m",
                         "[1, {\"b\": null}, -1.5, 18446744073709551615]",
                         NULL),
                 0);
    expect_item("m", MCRING_FLAG_MSGPACK,
                "\x94\x01\x81\xa1" "b\xc0\xca\xbf\xc0\x00\x00"
                "\xcf\xff\xff\xff\xff\xff\xff\xff\xff",
                20);
    cr_assert_eq(cli_run(&out, fleet.names, NULL, "get", "m", NULL), 0);
    cr_assert_str_eq(out, "[1, {\"b\": null}, -1.5, 18446744073709551615]\n");
    free(out);

    /* What JSON cannot hold still prints, in the extended form. */
    mcring_value *v = mcring_value_new_array();
    mcring_value_array_push(v, mcring_value_new_bytes("\x00\xff", 2));
    mcring_value_array_push(v, mcring_value_new_timestamp(1514862245, 0));
    cr_assert_eq(mcring_set_value(fleet.client, "mb", 2, v, "msgpack", 0),
                 MCRING_OK);
    mcring_value_free(v);
    cr_assert_eq(cli_run(&out, fleet.names, NULL, "get", "mb", NULL), 0);
    cr_assert_str_eq(out, "[{\"$bytes\": \"AP8=\"}, {\"$timestamp\": "
                          "[1514862245, 0]}]\n");
    free(out);
}

Test(cli_codec, raw_stays_the_default_and_prints_exact_bytes)
{
    char *out;
    cr_assert_eq(cli_run(NULL, fleet.names, NULL, "set", "r1",
                         "{\"not\": \"parsed\"}", NULL),
                 0);
    cr_assert_eq(cli_run(NULL, fleet.names, NULL, "set", "--codec", "raw", "r2",
                         "bytes", NULL),
                 0);
    expect_item("r1", 0, "{\"not\": \"parsed\"}", 17);
    cr_assert_eq(cli_run(&out, fleet.names, NULL, "get", "r1", NULL), 0);
    cr_assert_str_eq(out, "{\"not\": \"parsed\"}", "no newline added");
    free(out);
    cr_assert_eq(cli_run(&out, fleet.names, NULL, "get", "r2", NULL), 0);
    cr_assert_str_eq(out, "bytes");
    free(out);
}

Test(cli_codec, bad_input_exits_2_and_stores_nothing)
{
    char *out;
    cr_assert_eq(cli_run(NULL, fleet.names, NULL, "set", "--codec", "json",
                         "bad", "{\"a\":", NULL),
                 2);
    cr_assert_eq(cli_run(NULL, fleet.names, NULL, "set", "--codec", "msgpack",
                         "bad", "[1,]", NULL),
                 2);
    cr_assert_eq(cli_run(NULL, fleet.names, NULL, "set", "--codec", "yaml",
                         "bad", "1", NULL),
                 2);
    cr_assert_eq(cli_run(&out, fleet.names, NULL, "get", "bad", NULL), 1,
                 "nothing was stored");
    cr_assert_str_eq(out, "");
    free(out);
}

Test(cli_codec, values_that_do_not_decode_exit_2)
{
    char *out;
    cr_assert_eq(mcring_set(fleet.client, "pk", 2, "\x80\x04.", 3, 1, 0),
                 MCRING_OK);
    cr_assert_eq(cli_run(&out, fleet.names, NULL, "get", "pk", NULL), 2,
                 "pickled");
    cr_assert_str_eq(out, "");
    free(out);
    cr_assert_eq(mcring_set(fleet.client, "bj", 2, "{oops", 5, 2, 0),
                 MCRING_OK);
    cr_assert_eq(cli_run(&out, fleet.names, NULL, "get", "bj", NULL), 2,
                 "broken JSON");
    cr_assert_str_eq(out, "");
    free(out);
    cr_assert_eq(mcring_set(fleet.client, "uf", 2, "odd", 3, 0x800, 0),
                 MCRING_OK);
    cr_assert_eq(cli_run(&out, fleet.names, NULL, "get", "uf", NULL), 0,
                 "unknown flags: bytes");
    cr_assert_str_eq(out, "odd");
    free(out);
}
