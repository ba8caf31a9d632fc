/*
 * Fuzz target: the JSON decoder. Whatever the bytes, decoding returns a
 * value or MCRING_EDECODE without crashing or leaking; and every value it
 * returns survives the trip back: encoded as JSON (strict or not) and as
 * msgpack, it decodes to an equal value.
 */
#include <stdint.h>
#include <stdlib.h>

#include <mcring.h>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

/* v encoded with codec reads back equal. */
static void round_trips(const mcring_codec *codec, const mcring_value *v)
{
    mcring_item out = MCRING_ITEM_INIT;
    CHECK(mcring_codec_encode(codec, v, &out) == 0);
    mcring_value *back;
    CHECK(mcring_codec_decode(codec, out.data, out.len, &back) == 0);
    CHECK(mcring_value_equal(v, back));
    mcring_value_free(back);
    mcring_item_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mcring_value *v, *strict;
    char err[128];
    int rc = mcring_json_decode(data, size, 0, &v, err, sizeof(err));
    int rs = mcring_json_decode(data, size, MCRING_JSON_STRICT, &strict, NULL,
                                0);
    CHECK(rc == 0 || rc == MCRING_EDECODE || rc == MCRING_ENOMEM);
    CHECK(rs == 0 || rs == MCRING_EDECODE || rs == MCRING_ENOMEM);
    if (rs == 0) {
        /* Strict JSON is a subset: the same text, the same value. */
        CHECK(rc == 0 && mcring_value_equal(v, strict));
        mcring_item out = MCRING_ITEM_INIT;
        CHECK(mcring_json_encode(strict, MCRING_JSON_STRICT, &out) == 0);
        mcring_item_release(&out);
        mcring_value_free(strict);
    }
    if (rc != 0)
        return 0;
    round_trips(mcring_codec_json(), v);
    round_trips(mcring_codec_msgpack(), v);
    mcring_value_free(v);
    return 0;
}
