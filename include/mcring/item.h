/*
 * mcring/item.h — an item: a value as bytes plus memcached's 32-bit flags,
 * in a buffer the caller owns and reuses. Reads fill one; codecs encode
 * into one.
 */
#ifndef MCRING_PUBLIC_ITEM_H
#define MCRING_PUBLIC_ITEM_H

#include "mcring/common.h"

MCRING_BEGIN_DECLS

/*
 * Reads fill a caller-owned item, growing `data` with realloc as needed,
 * so one item reused across calls stops allocating once it is large
 * enough. `data` is NUL-terminated (the NUL is not counted in len). Start
 * from MCRING_ITEM_INIT; give the buffer back with mcring_item_release().
 * An item is used by one thread at a time.
 */
typedef struct mcring_item {
    char *data;
    size_t len;
    size_t cap; /* bytes allocated at data; managed by the library */
    uint32_t flags;
    /* The item's CAS token, for mcring_cas(): set by the calls that ask
     * for it (mcring_gets, mcring_gats, mcring_gets_multi,
     * mcring_lease_get); 0 after any other read. Added in 0.2.0. */
    uint64_t cas;
} mcring_item;

#define MCRING_ITEM_INIT {NULL, 0, 0, 0, 0}

/*
 * Frees the item's buffer and resets the item to MCRING_ITEM_INIT, ready
 * to be filled again. The item itself is not freed (it is usually on the
 * caller's stack or in the caller's array). Accepts NULL.
 * Threads: one thread at a time per item.
 * Ownership: frees item->data; the struct stays the caller's.
 */
MCRING_API void mcring_item_release(mcring_item *item);

/*
 * Appends len bytes to item->data, growing it; data stays NUL-terminated.
 * Returns 0, MCRING_ENOMEM (item unchanged) or MCRING_EINVAL (item NULL,
 * or data NULL with len > 0). For codecs' encode functions.
 * Threads: one thread at a time per item.
 * Ownership: data is copied; the buffer stays the item's.
 */
MCRING_API int mcring_item_append(mcring_item *item, const void *data,
                                  size_t len);

/* Swift's flag bits. */
#define MCRING_FLAG_PICKLE 1u
#define MCRING_FLAG_JSON 2u
/* mcring's msgpack codec (docs/codecs.md explains the choice of bit). */
#define MCRING_FLAG_MSGPACK 32u

/* The compression layer (docs/codecs.md), under every codec: a value
 * stored compressed carries one of these bits besides its codec's, and a
 * client whose option compression is not none decompresses it on read
 * and clears the bit. zlib is the bit pymemcache's
 * CompressedSerde, pylibmc and python-memcached mark zlib data with; zstd's
 * is mcring's own, clear of the bits Swift (1, 2), mcring's msgpack (32),
 * those clients (1 to 16) and spymemcached (1, 2, 256 to 2048) use. A
 * codec cannot be registered on either bit. */
#define MCRING_FLAG_ZLIB 8u
#define MCRING_FLAG_ZSTD 4096u
/* The most a compressed value may expand to when the option item_size_max
 * is 0 (no limit); with a limit, the limit bounds it. */
#define MCRING_DECOMPRESSED_MAX_DEFAULT (64u * 1024u * 1024u)

MCRING_END_DECLS

#endif /* MCRING_PUBLIC_ITEM_H */
