/* The raw codec: BYTES and STRING values as their bytes, flags 0. */
#include "value.h"

static int raw_encode(void *ud, const mcring_value *v, mcring_item *out)
{
    (void)ud;
    if (v->kind != MCRING_VALUE_BYTES && v->kind != MCRING_VALUE_STRING)
        return MCRING_EENCODE;
    return mcring_item_append(out, v->as.bytes, v->len);
}

static int raw_decode(void *ud, const void *data, size_t len,
                      mcring_value **out)
{
    (void)ud;
    *out = mcring_value_new_bytes(data, len);
    return *out != NULL ? 0 : MCRING_ENOMEM;
}

static const mcring_codec raw_codec = {
    .name = "raw",
    .flags = 0,
    .encode = raw_encode,
    .decode = raw_decode,
};

const mcring_codec *mcring_codec_raw(void)
{
    return &raw_codec;
}
