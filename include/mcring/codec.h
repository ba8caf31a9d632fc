/*
 * mcring/codec.h — codecs, which turn values (mcring/value.h) into item
 * bytes and back: raw bytes (flags 0), JSON (flag 2, written as Swift
 * writes it) or msgpack (MCRING_FLAG_MSGPACK), or a codec of the caller's
 * own registered with a client. Then the value-level operations, which
 * encode and call the byte-level ones (mcring/client.h), or call them and
 * decode by the item's flags. docs/codecs.md has the details and reasons.
 */
#ifndef MCRING_PUBLIC_CODEC_H
#define MCRING_PUBLIC_CODEC_H

#include "mcring/client.h"
#include "mcring/common.h"
#include "mcring/item.h"
#include "mcring/value.h"

MCRING_BEGIN_DECLS

/* Longest codec name, NUL included. */
#define MCRING_CODEC_NAME_MAX 32

/*
 * A codec: how values become bytes and back, and the flag bits that mark
 * its items. Items are stored with `flags` and read back through the codec
 * whose flags are all set in the item's flags. Both functions may be called
 * from many threads at once and must not keep pointers to their arguments.
 *
 *  encode  writes the encoding of value into out with mcring_item_append()
 *          (out arrives with len 0). Returns 0, MCRING_EENCODE (a value
 *          this codec cannot represent) or MCRING_ENOMEM.
 *  decode  sets *out to a new value decoded from data[0..len). Returns 0,
 *          MCRING_EDECODE or MCRING_ENOMEM, leaving *out NULL on failure.
 */
typedef struct mcring_codec {
    const char *name; /* 1..31 bytes, unique per client */
    uint32_t flags;   /* written on set, recognised on get */
    int (*encode)(void *userdata, const mcring_value *value,
                  mcring_item *out);
    int (*decode)(void *userdata, const void *data, size_t len,
                  mcring_value **out);
    void *userdata;
} mcring_codec;

/* ---- the built-in codecs ------------------------------------------------ */

/*
 * The built-in codecs:
 *  raw      flags 0: BYTES and STRING values as their bytes; decodes to
 *           BYTES.
 *  json     flag 2: Swift's JSON (json.dumps defaults, NaN and Infinity
 *           included); see mcring_json_encode().
 *  msgpack  MCRING_FLAG_MSGPACK: shortest forms, ext and timestamps.
 * Threads: thread-safe.
 * Ownership: static objects, valid forever; never freed.
 */
MCRING_API const mcring_codec *mcring_codec_raw(void);
MCRING_API const mcring_codec *mcring_codec_json(void);
MCRING_API const mcring_codec *mcring_codec_msgpack(void);

/*
 * Encodes value with codec into out (reused like a read item):
 * out->flags becomes codec->flags. Returns 0 or the codec's failure, after
 * which out->len is 0.
 * Threads: thread-safe; one thread at a time per out item.
 * Ownership: out is the caller's buffer, grown as needed; value is only
 * read.
 */
MCRING_API int mcring_codec_encode(const mcring_codec *codec,
                                   const mcring_value *value,
                                   mcring_item *out);

/*
 * Decodes data with codec: 0 and a new value in *out, or the codec's
 * failure with *out NULL.
 * Threads: thread-safe.
 * Ownership: *out is the caller's (free it with mcring_value_free()); data
 * is read during the call only.
 */
MCRING_API int mcring_codec_decode(const mcring_codec *codec,
                                   const void *data, size_t len,
                                   mcring_value **out);

/* Options of mcring_json_encode() and mcring_json_decode(). */
/* RFC 8259 only: NaN and the infinities are rejected (MCRING_EDECODE,
 * MCRING_EENCODE) instead of read and written as Python does. */
#define MCRING_JSON_STRICT 1u
/* Encode only, for display: values JSON cannot hold are written as
 * {"$bytes": "<base64>"}, {"$ext": [type, "<base64>"]},
 * {"$timestamp": [sec, nsec]}, and a map with a key Python would refuse
 * (an array, a map, bytes...) as {"$map": [[key, value], ...]}. Not
 * Swift's format: never stored by the json codec. */
#define MCRING_JSON_EXTENDED 2u

/*
 * Writes value as JSON into out exactly as Python's json.dumps() with its
 * defaults writes the same value: ASCII only (\u escapes of four hex
 * digits, surrogate pairs for astral characters), ", " and ": "
 * separators, shortest round-trip floats, NaN, Infinity, -Infinity. Map
 * keys that are integers, doubles, booleans or null become strings as in
 * Python; other keys, BYTES, EXT and TIMESTAMP values are MCRING_EENCODE
 * (unless MCRING_JSON_EXTENDED). out->flags becomes MCRING_FLAG_JSON.
 * Returns 0, MCRING_EENCODE, MCRING_ENOMEM or MCRING_EINVAL (unknown opts
 * bits).
 * Threads: thread-safe; one thread at a time per out item.
 * Ownership: out is the caller's buffer, grown as needed; value is only
 * read.
 */
MCRING_API int mcring_json_encode(const mcring_value *value, unsigned opts,
                                  mcring_item *out);

/*
 * Parses one JSON text (UTF-8, an optional leading UTF-8 BOM, surrounding
 * whitespace) into a new value in *out. Reads everything Python's
 * json.dumps writes: integers in the int64 and uint64 ranges exactly (as
 * INT or UINT), other numbers as doubles (overflow gives an infinity as in
 * Python), NaN, Infinity and -Infinity unless MCRING_JSON_STRICT. Integers
 * beyond the uint64 range, lone surrogates and invalid UTF-8 are
 * MCRING_EDECODE (docs/codecs.md lists every difference from Python).
 * Returns 0, MCRING_EDECODE (with the offending byte offset in err),
 * MCRING_ENOMEM or MCRING_EINVAL.
 * Threads: thread-safe.
 * Ownership: *out is the caller's (free it with mcring_value_free()), NULL
 * on failure; data is read during the call only.
 */
MCRING_API int mcring_json_decode(const void *data, size_t len, unsigned opts,
                                  mcring_value **out, char *err,
                                  size_t errlen);

/*
 * mcring_codec_decode(mcring_codec_msgpack(), ...) that also says what was
 * wrong in err.
 * Threads: thread-safe.
 * Ownership: as mcring_json_decode().
 */
MCRING_API int mcring_msgpack_decode(const void *data, size_t len,
                                     mcring_value **out, char *err,
                                     size_t errlen);

/* ---- a client's codecs -------------------------------------------------- */

/*
 * Registers a codec with the client, next to the built-in raw, json and
 * msgpack. Rejected with MCRING_ECODEC (and why, in err): no flags, the
 * pickle bit, a compression bit (MCRING_FLAG_ZLIB, MCRING_FLAG_ZSTD),
 * flags that share a bit with a registered codec, a name that is empty,
 * too long or taken, no encode or decode function. At most 27 codecs can
 * be added (one per free flag bit). Codecs cannot be removed.
 * Threads: thread-safe, also while other threads make calls: a codec is
 * published whole and used from then on.
 * Ownership: the codec struct and its name are copied; userdata and the
 * functions stay the caller's and must stay valid while the client lives.
 */
MCRING_API int mcring_client_add_codec(mcring_client *client,
                                       const mcring_codec *codec, char *err,
                                       size_t errlen);

/*
 * The client's codec of that name (built-in or added), or NULL.
 * Threads: thread-safe.
 * Ownership: borrowed from the client, valid while it lives; not freed.
 */
MCRING_API const mcring_codec *mcring_client_codec(mcring_client *client,
                                                   const char *name);

/*
 * The codec that decodes items with these flags: NULL when the pickle bit
 * is set (never decoded, as in Swift) or when the flags hold the bits of
 * two codecs; else the codec whose flags are all set; else raw (unknown
 * flags come back as bytes).
 * Threads: thread-safe.
 * Ownership: borrowed from the client, valid while it lives; not freed.
 */
MCRING_API const mcring_codec *
mcring_client_codec_for_flags(mcring_client *client, uint32_t flags);

/* ---- value-level operations --------------------------------------------- */

/*
 * Encodes value with the client's codec of that name (NULL means "json",
 * Swift's default) and stores it with mcring_set(). Returns what mcring_set
 * returns, or MCRING_ECODEC (no such codec), MCRING_EENCODE, MCRING_ENOMEM
 * before anything is sent.
 * Threads: thread-safe.
 * Ownership: value stays the caller's, only read.
 */
MCRING_API int mcring_set_value(mcring_client *client, const void *key,
                                size_t key_len, const mcring_value *value,
                                const char *codec, double ttl);

/*
 * Reads a key with mcring_get() and decodes it by its flags
 * (mcring_client_codec_for_flags). Returns:
 *  MCRING_OK           *out is a new value;
 *  MCRING_MISS;
 *  MCRING_UNDECODABLE  pickle-flagged, flags of two codecs, or bytes the
 *                      codec rejected: *out is NULL, the bytes and flags
 *                      are in item (flags & MCRING_FLAG_PICKLE tells which);
 *  a failure           (MCRING_ENOMEM while decoding keeps the bytes too).
 * Threads: thread-safe; one thread at a time per item.
 * Ownership: *out is the caller's on MCRING_OK (free it with
 * mcring_value_free()) and NULL otherwise. item is a caller-owned reusable
 * buffer as for mcring_get(), filled on OK and UNDECODABLE; it may be NULL
 * when the bytes are not wanted.
 */
MCRING_API int mcring_get_value(mcring_client *client, const void *key,
                                size_t key_len, mcring_item *item,
                                mcring_value **out);

/*
 * mcring_get_multi() followed by decoding every item found: values[i] is a
 * new value when status[i] is MCRING_OK and NULL otherwise; status[i]
 * becomes MCRING_UNDECODABLE (bytes kept in items[i]) or MCRING_ENOMEM for
 * an item that does not decode. Returns 0 when every key got an answer,
 * else the first key's failure code.
 * Threads: thread-safe; one thread at a time per items array.
 * Ownership: the caller frees every values[i]. items may be NULL (the
 * bytes are then not kept); otherwise as for mcring_get_multi().
 */
MCRING_API int mcring_get_multi_values(mcring_client *client,
                                       const mcring_key *keys, size_t n,
                                       const void *server_key,
                                       size_t server_key_len,
                                       mcring_item *items,
                                       mcring_value **values, int *status);

typedef struct mcring_value_kv {
    const void *key;
    size_t key_len;
    const mcring_value *value;
} mcring_value_kv;

/*
 * Encodes every value with the named codec (NULL: "json") and stores them
 * with mcring_set_multi(). If any value fails to encode nothing is sent:
 * that entry's status is the codec's failure, the others'
 * MCRING_ECANCELED. status (may be NULL) and the return value are as for
 * mcring_set_multi().
 * Threads: thread-safe.
 * Ownership: the values stay the caller's, only read.
 */
MCRING_API int mcring_set_multi_values(mcring_client *client,
                                       const mcring_value_kv *kvs, size_t n,
                                       const char *codec,
                                       const void *server_key,
                                       size_t server_key_len, double ttl,
                                       int *status);

MCRING_END_DECLS

#endif /* MCRING_PUBLIC_CODEC_H */
