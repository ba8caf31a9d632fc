/*
 * A map from byte strings to pointers: open addressing with linear probing,
 * kept at most half full, deletion by backward shift (no tombstones). Keys
 * are borrowed: the caller keeps each key's bytes alive and unchanged while
 * it is in the map. A key carries a small tag besides its bytes, so that one
 * map can hold several namespaces (the config reader's sections).
 *
 * Keys are hashed with SipHash-1-3 under a key drawn at random once per
 * process, so a hostile server list or config file cannot choose names that
 * all land in one probe chain: every operation stays O(1) on average
 * whatever the input.
 *
 * Not thread-safe: the owner serialises (the config reader is single
 * threaded; the ring builder owns its map; the registry's map is used
 * under the registry lock).
 */
#ifndef MCRING_STRMAP_H
#define MCRING_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct strmap_slot {
    const void *key; /* NULL: empty */
    size_t len;
    uint64_t hash;
    uint32_t tag;
    void *value;
} strmap_slot;

typedef struct strmap {
    strmap_slot *slots;
    size_t mask;  /* capacity - 1; capacity is a power of two */
    size_t count;
} strmap;

/* An empty map with room for `expected` keys before it grows. 0 or
 * MCRING_ENOMEM. */
int strmap_init(strmap *m, size_t expected);
/* Frees the table (not the keys or values). */
void strmap_free(strmap *m);

/* The value stored for (tag, key), or NULL. */
void *strmap_get(const strmap *m, uint32_t tag, const void *key, size_t len);

/* Adds (tag, key) -> value. Returns 0 (added), 1 (the key was there: its
 * value is left as it was and *existing, when not NULL, is set to it) or
 * MCRING_ENOMEM (map unchanged). */
int strmap_put(strmap *m, uint32_t tag, const void *key, size_t len,
               void *value, void **existing);

/* Removes (tag, key); returns its value, or NULL when absent. */
void *strmap_remove(strmap *m, uint32_t tag, const void *key, size_t len);

/* Calls fn(value, ctx) once per entry, in no particular order. fn must not
 * change the map. */
void strmap_each(const strmap *m, void (*fn)(void *value, void *ctx),
                 void *ctx);

/* SipHash-1-3 of (tag, key) under the process's random key. Exposed for the
 * unit tests' reference vectors through strmap_siphash13. */
uint64_t strmap_hash(uint32_t tag, const void *key, size_t len);
uint64_t strmap_siphash13(const unsigned char k[16], const void *data,
                          size_t len);

#endif
