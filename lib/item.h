/*
 * Items as output buffers: growing an mcring_item and appending to it.
 * The encoders write through these (codec_json.c, codec_msgpack.c,
 * codec_raw.c and callers' codecs through mcring_item_append), so this
 * layer sits below the codecs and knows nothing about them.
 */
#ifndef MCRING_ITEM_H
#define MCRING_ITEM_H

#include <stddef.h>

#include "mcring.h"

/* Makes room for `extra` more bytes and a NUL after item->len.
 * 0 or MCRING_ENOMEM (item unchanged). */
int item_reserve(mcring_item *item, size_t extra);

/* Appends without re-terminating; the encoders terminate once at the end.
 * 0 or MCRING_ENOMEM (item unchanged). */
static inline int item_put(mcring_item *item, const void *data, size_t len)
{
    if (item->cap - item->len <= len && item_reserve(item, len) != 0)
        return MCRING_ENOMEM;
    __builtin_memcpy(item->data + item->len, data, len);
    item->len += len;
    return 0;
}

#endif
