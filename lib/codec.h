/*
 * The codec layer's internals: the registry of a client's own codecs, the
 * decision which codec reads an item (by its flags), and the growable
 * output buffer the encoders write into (an mcring_item).
 */
#ifndef MCRING_CODEC_H
#define MCRING_CODEC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mcring.h"

/* One codec per free flag bit: 32 bits less pickle, JSON and msgpack. */
#define CODEC_ADDED_MAX 29

typedef struct codec_slot {
    mcring_codec codec; /* codec.name points at name below */
    char name[MCRING_CODEC_NAME_MAX];
} codec_slot;

/*
 * The codecs added to one client. All zero is an empty registry, so a
 * client allocated with calloc needs no set-up and nothing to free.
 * Readers never block: slots[0..count) are complete and never change, and
 * count is published with release order after its slot is written.
 * Writers take `busy` (a spin flag: registration is rare and short).
 */
typedef struct codec_registry {
    atomic_size_t count;
    atomic_int busy;
    codec_slot slots[CODEC_ADDED_MAX];
} codec_registry;

/* Adds a codec (see mcring_client_add_codec). Thread-safe. */
int codec_registry_add(codec_registry *r, const mcring_codec *codec,
                       char *err, size_t errlen);
/* The built-in or added codec of that name, or NULL. Thread-safe. */
const mcring_codec *codec_registry_find(codec_registry *r, const char *name);
/* The codec that reads items with these flags, or NULL (pickle, or the
 * bits of two codecs); see mcring_client_codec_for_flags. Thread-safe. */
const mcring_codec *codec_registry_for_flags(codec_registry *r,
                                             uint32_t flags);

/* Makes room for `extra` more bytes and a NUL after item->len.
 * 0 or MCRING_ENOMEM (item unchanged). */
int item_reserve(mcring_item *item, size_t extra);

/* Appends without re-terminating; the encoders terminate once at the end. */
static inline int item_put(mcring_item *item, const void *data, size_t len)
{
    if (item->cap - item->len <= len && item_reserve(item, len) != 0)
        return MCRING_ENOMEM;
    __builtin_memcpy(item->data + item->len, data, len);
    item->len += len;
    return 0;
}

/* The encoders and decoders behind the built-in codecs (codec_json.c,
 * codec_msgpack.c). */
int json_encode(const mcring_value *v, unsigned opts, mcring_item *out);
int json_decode(const void *data, size_t len, unsigned opts,
                mcring_value **out, char *err, size_t errlen);
int msgpack_encode(const mcring_value *v, mcring_item *out);
int msgpack_decode(const void *data, size_t len, mcring_value **out,
                   char *err, size_t errlen);

#endif
