/*
 * The value model's node, and the helpers the decoders build trees with.
 *
 * A node is one allocation: scalars in the union, strings, bytes and ext
 * data in the trailing payload (NUL-terminated), containers as a vector of
 * child pointers (a map stores key, value, key, value, ...). A container
 * owns its children; mcring_value_free() walks the tree without recursion
 * by threading containers still to free through their `link` field.
 */
#ifndef MCRING_VALUE_H
#define MCRING_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcring.h"

struct mcring_value {
    uint8_t kind;    /* mcring_value_kind */
    int8_t ext_type; /* EXT */
    uint32_t nsec;   /* TIMESTAMP */
    size_t len;      /* payload bytes; array items; map pairs */
    union {
        size_t cap;                /* containers: pairs/items allocated */
        struct mcring_value *link; /* containers, while being freed */
    } u;
    union {
        int b;
        int64_t i;
        uint64_t u;
        double d;
        int64_t sec;                  /* TIMESTAMP */
        char *bytes;                  /* STRING, BYTES, EXT: the payload */
        struct mcring_value **items;  /* ARRAY, MAP */
    } as;
    char payload[];
};

static inline bool value_is_container(const mcring_value *v)
{
    return v->kind == MCRING_VALUE_ARRAY || v->kind == MCRING_VALUE_MAP;
}

/* A STRING, BYTES or EXT node with room for cap payload bytes (plus a
 * NUL), len 0: the caller writes the payload and sets len and the NUL.
 * NULL when out of memory. */
mcring_value *value_alloc_payload(mcring_value_kind kind, size_t cap);

/* A STRING, BYTES or EXT node holding a copy of data[0..len), unchecked
 * (the caller has validated a string's UTF-8). */
mcring_value *value_new_payload(mcring_value_kind kind, const void *data,
                                size_t len);

/* Makes room for n more items (pairs for a map). 0 or MCRING_ENOMEM. */
int value_reserve(mcring_value *c, size_t n);

/* Appends without taking ownership on failure: 0 or MCRING_ENOMEM, and
 * the caller still owns item (key, value) when it fails. */
int value_array_append(mcring_value *array, mcring_value *item);
int value_map_append(mcring_value *map, mcring_value *key,
                     mcring_value *value);

#endif
