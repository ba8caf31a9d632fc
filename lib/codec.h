/*
 * The codec registry: the codecs a client knows (the built-in ones and
 * those added to it) and the decision which codec reads an item (by its
 * flags). The codecs themselves do not include this header.
 */
#ifndef MCRING_CODEC_H
#define MCRING_CODEC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mcring.h"

/* One codec per free flag bit: 32 bits less pickle, JSON, msgpack and the
 * compression layer's two (compress.h). */
#define CODEC_ADDED_MAX 27

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

#endif
