/* The codec vtable and a client's registry: the raw codec, adding codecs
 * and the conflicts refused, which codec reads which flags, and readers
 * running while codecs are added. A client opens no socket until a call
 * needs one, so these stay pure. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <mcring.h>

#include "harness.h"
#include "toy_codec.h"

static mcring_options *opts;
static mcring_client *client;

static void setup(void)
{
    opts = opts_for("127.0.0.1:1", NULL);
    client = client_for(opts);
}

static void teardown(void)
{
    mcring_client_free(client);
    mcring_options_free(opts);
}

TestSuite(codec, .init = setup, .fini = teardown);

Test(codec, raw_carries_bytes_and_strings)
{
    mcring_value *b = mcring_value_new_bytes("\x00\x01", 2);
    mcring_item out = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_codec_encode(mcring_codec_raw(), b, &out), 0);
    cr_assert_eq(out.flags, 0);
    cr_assert_eq(out.len, 2);
    cr_assert(memcmp(out.data, "\x00\x01", 2) == 0);
    mcring_value *s = mcring_value_new_string("hi", 2);
    cr_assert_eq(mcring_codec_encode(mcring_codec_raw(), s, &out), 0);
    cr_assert_str_eq(out.data, "hi");
    mcring_value *n = mcring_value_new_int(1);
    cr_assert_eq(mcring_codec_encode(mcring_codec_raw(), n, &out),
                 MCRING_EENCODE, "raw has no integers");
    cr_assert_eq(out.len, 0);
    mcring_value *back;
    cr_assert_eq(mcring_codec_decode(mcring_codec_raw(), "\xff", 1, &back), 0);
    cr_assert_eq(mcring_value_kind_of(back), MCRING_VALUE_BYTES);
    mcring_value_free(back);
    cr_assert_eq(mcring_codec_decode(mcring_codec_raw(), NULL, 1, &back),
                 MCRING_EINVAL);
    mcring_value_free(b);
    mcring_value_free(s);
    mcring_value_free(n);
    mcring_item_release(&out);
}

Test(codec, built_ins_are_there_by_name)
{
    cr_assert_eq(mcring_client_codec(client, "raw"), mcring_codec_raw());
    cr_assert_eq(mcring_client_codec(client, "json"), mcring_codec_json());
    cr_assert_eq(mcring_client_codec(client, "msgpack"), mcring_codec_msgpack());
    cr_assert_null(mcring_client_codec(client, "pickle"));
    cr_assert_null(mcring_client_codec(client, NULL));
    cr_assert_eq(mcring_codec_json()->flags, MCRING_FLAG_JSON);
    cr_assert_eq(mcring_codec_msgpack()->flags, MCRING_FLAG_MSGPACK);
}

Test(codec, flags_choose_the_codec)
{
    cr_assert_eq(mcring_client_codec_for_flags(client, 0), mcring_codec_raw());
    cr_assert_eq(mcring_client_codec_for_flags(client, 2), mcring_codec_json());
    cr_assert_eq(mcring_client_codec_for_flags(client, 32),
                 mcring_codec_msgpack());
    cr_assert_null(mcring_client_codec_for_flags(client, 1), "pickle");
    cr_assert_null(mcring_client_codec_for_flags(client, 3),
                   "pickle wins over JSON, as in Swift");
    cr_assert_null(mcring_client_codec_for_flags(client, 2 | 32),
                   "two codecs' bits: no guessing");
    cr_assert_eq(mcring_client_codec_for_flags(client, 2 | 0x100),
                 mcring_codec_json(), "Swift reads bit 2 whatever else is set");
    cr_assert_eq(mcring_client_codec_for_flags(client, 0x100),
                 mcring_codec_raw(), "unknown flags: bytes");
}

Test(codec, conflicting_codecs_are_refused)
{
    char err[256];
    struct {
        mcring_codec c;
        const char *why;
    } bad[] = {
        {decimal_codec("d", 0), "at least one flag bit"},
        {decimal_codec("d", 1), "pickle"},
        {decimal_codec("d", 2), "share bits 0x2 with codec json"},
        {decimal_codec("d", 32 | 64), "share bits 0x20 with codec msgpack"},
        {decimal_codec("d", 8 | 64), "share bits 0x8 with the compression"},
        {decimal_codec("d", 0x1000), "share bits 0x1000 with the compression"},
        {decimal_codec("json", 64), "name is taken"},
        {decimal_codec("", 64), "1 to 31 bytes"},
        {decimal_codec("a-name-that-is-far-too-long-for-it", 64),
         "1 to 31 bytes"},
        {{"d", 64, NULL, decimal_decode, NULL}, "encode and decode"},
        {{NULL, 64, decimal_encode, decimal_decode, NULL}, "1 to 31 bytes"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        cr_assert_eq(mcring_client_add_codec(client, &bad[i].c, err,
                                             sizeof(err)),
                     MCRING_ECODEC, "case %zu", i);
        cr_assert(strstr(err, bad[i].why) != NULL, "case %zu: %s", i, err);
    }
    mcring_codec ok = decimal_codec("decimal", 64 | 128);
    cr_assert_eq(mcring_client_add_codec(client, &ok, err, sizeof(err)), 0);
    mcring_codec again = decimal_codec("other", 128);
    cr_assert_eq(mcring_client_add_codec(client, &again, err, sizeof(err)),
                 MCRING_ECODEC);
    cr_assert(strstr(err, "share bits 0x80 with codec decimal"), "%s", err);
    cr_assert_eq(mcring_client_add_codec(client, NULL, err, sizeof(err)),
                 MCRING_EINVAL);
}

Test(codec, an_added_codec_is_found_and_reads_its_flags)
{
    char name[8] = "decimal";
    mcring_codec c = decimal_codec(name, 64);
    cr_assert_eq(mcring_client_add_codec(client, &c, NULL, 0), 0);
    name[0] = 'X'; /* the registry keeps its own copy of the name */
    const mcring_codec *got = mcring_client_codec(client, "decimal");
    cr_assert_not_null(got);
    cr_assert_str_eq(got->name, "decimal");
    cr_assert_eq(mcring_client_codec_for_flags(client, 64), got);
    cr_assert_eq(mcring_client_codec_for_flags(client, 64 | 0x1000), got);
    cr_assert_null(mcring_client_codec_for_flags(client, 64 | 2));

    mcring_value *v = mcring_value_new_int(-17), *back;
    mcring_item out = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_codec_encode(got, v, &out), 0);
    cr_assert_str_eq(out.data, "-17");
    cr_assert_eq(out.flags, 64);
    cr_assert_eq(mcring_codec_decode(got, out.data, out.len, &back), 0);
    cr_assert(mcring_value_equal(v, back));
    mcring_value_free(back);
    cr_assert_eq(mcring_codec_decode(got, "x", 1, &back), MCRING_EDECODE);
    mcring_item_release(&out);
    mcring_value_free(v);
}

Test(codec, every_free_bit_can_be_taken_once)
{
    int added = 0;
    for (int bit = 0; bit < 32; bit++) {
        char name[16];
        snprintf(name, sizeof(name), "bit%d", bit);
        mcring_codec c = decimal_codec(name, 1u << bit);
        if (mcring_client_add_codec(client, &c, NULL, 0) == 0)
            added++;
    }
    cr_assert_eq(added, 27,
                 "32 bits less pickle, JSON, msgpack, zlib and zstd");
    cr_assert_eq(mcring_client_codec_for_flags(client, 1u << 31),
                 mcring_client_codec(client, "bit31"));
}

/* Readers look codecs up while a writer adds them: each lookup sees a
 * codec whole or not at all. */
static atomic_int stop;

static void *reader(void *arg)
{
    (void)arg;
    long seen = 0;
    while (!atomic_load(&stop)) {
        for (int bit = 6; bit < 31; bit++) {
            if ((1u << bit) == MCRING_FLAG_ZSTD)
                continue;
            const mcring_codec *c =
                mcring_client_codec_for_flags(client, 1u << bit);
            if (c != mcring_codec_raw()) {
                char want[16];
                snprintf(want, sizeof(want), "bit%d", bit);
                cr_assert_str_eq(c->name, want);
                cr_assert_eq(c->flags, 1u << bit);
                cr_assert_eq(c->encode, decimal_encode);
                seen++;
            }
        }
    }
    return (void *)seen;
}

Test(codec, lookups_run_while_codecs_are_added)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, reader, NULL);
    for (int bit = 6; bit < 31; bit++) {
        if ((1u << bit) == MCRING_FLAG_ZSTD)
            continue; /* the compression layer's */
        char name[16];
        snprintf(name, sizeof(name), "bit%d", bit);
        mcring_codec c = decimal_codec(name, 1u << bit);
        cr_assert_eq(mcring_client_add_codec(client, &c, NULL, 0), 0);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    cr_assert_not_null(mcring_client_codec(client, "bit30"));
}

Test(codec, new_error_codes_have_names_and_messages)
{
    cr_assert_str_eq(mcring_err_name(MCRING_EDECODE), "MCRING_EDECODE");
    cr_assert_str_eq(mcring_err_name(MCRING_EENCODE), "MCRING_EENCODE");
    cr_assert_str_eq(mcring_err_name(MCRING_ECODEC), "MCRING_ECODEC");
    cr_assert(strstr(mcring_strerror(MCRING_EDECODE), "codec") != NULL);
    cr_assert(strstr(mcring_strerror(MCRING_ECODEC), "codec") != NULL);
}

Test(codec, item_append_grows_and_terminates)
{
    mcring_item it = MCRING_ITEM_INIT;
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(mcring_item_append(&it, "abc", 3), 0);
    cr_assert_eq(it.len, 3000);
    cr_assert_eq(it.data[3000], '\0');
    cr_assert(it.cap > it.len);
    cr_assert_eq(mcring_item_append(&it, NULL, 1), MCRING_EINVAL);
    cr_assert_eq(mcring_item_append(&it, NULL, 0), 0);
    mcring_item_release(&it);
}
