/*
 * Fuzz target: the msgpack decoder. Whatever the bytes, decoding returns a
 * value or MCRING_EDECODE without crashing, leaking or reserving memory
 * the input cannot account for; every value it returns encodes again in
 * no more bytes than it came in (the encoder writes shortest forms) and
 * decodes to an equal value, and can be shown as extended JSON.
 */
#include <stdint.h>
#include <stdlib.h>

#include <mcring.h>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mcring_value *v;
    char err[128];
    int rc = mcring_msgpack_decode(data, size, &v, err, sizeof(err));
    CHECK(rc == 0 || rc == MCRING_EDECODE || rc == MCRING_ENOMEM);
    if (rc != 0)
        return 0;
    mcring_item out = MCRING_ITEM_INIT;
    CHECK(mcring_codec_encode(mcring_codec_msgpack(), v, &out) == 0);
    CHECK(out.len <= size);
    mcring_value *back;
    CHECK(mcring_msgpack_decode(out.data, out.len, &back, NULL, 0) == 0);
    CHECK(mcring_value_equal(v, back));
    mcring_value_free(back);
    CHECK(mcring_json_encode(v, MCRING_JSON_EXTENDED, &out) == 0);
    mcring_item_release(&out);
    mcring_value_free(v);
    return 0;
}
