/*
 * mcring/value.h — the value model: null, booleans, 64-bit integers,
 * doubles, UTF-8 strings, bytes, arrays, maps, msgpack ext and timestamps.
 * Codecs (mcring/codec.h) turn values into bytes and back.
 *
 * A value is a tree of nodes. A container (array or map) owns what is put
 * into it, so one mcring_value_free() on the root frees the whole tree.
 * Children returned by the accessors are borrowed: valid until the root is
 * freed. Any number of threads may read one value at once; changing a value
 * (push, add) needs the caller to serialise access to it.
 */
#ifndef MCRING_PUBLIC_VALUE_H
#define MCRING_PUBLIC_VALUE_H

#include "mcring/common.h"

MCRING_BEGIN_DECLS

typedef enum mcring_value_kind {
    MCRING_VALUE_NULL = 0,
    MCRING_VALUE_BOOL,
    MCRING_VALUE_INT,       /* every integer that fits int64_t */
    MCRING_VALUE_UINT,      /* integers above INT64_MAX only */
    MCRING_VALUE_DOUBLE,    /* NaN and the infinities included */
    MCRING_VALUE_STRING,    /* valid UTF-8 (no surrogates); may hold NUL */
    MCRING_VALUE_BYTES,     /* any bytes */
    MCRING_VALUE_ARRAY,
    MCRING_VALUE_MAP,       /* ordered pairs; keys of any kind, repeats kept */
    MCRING_VALUE_EXT,       /* a msgpack extension: type and bytes */
    MCRING_VALUE_TIMESTAMP  /* the msgpack timestamp extension (type -1) */
} mcring_value_kind;

/* Deepest nesting of arrays and maps that the decoders accept and the
 * encoders write; deeper input is MCRING_EDECODE, deeper values
 * MCRING_EENCODE. */
#define MCRING_VALUE_DEPTH_MAX 512
/* Largest input the decoders accept (64 MiB): MCRING_EDECODE above it. */
#define MCRING_VALUE_INPUT_MAX ((size_t)64 << 20)

/* ---- constructors and destructor ---------------------------------------- */

/*
 * Constructors. Each returns a new value, or NULL when memory ran out or
 * the argument is invalid: a string that is not valid UTF-8, a timestamp
 * with nsec >= 1e9. mcring_value_new_uint() of a number that fits int64_t
 * gives an MCRING_VALUE_INT, so each integer has exactly one
 * representation.
 * Threads: thread-safe.
 * Ownership: the new value is the caller's: free it with
 * mcring_value_free() or hand it to a container. Strings, bytes and ext
 * data are copied.
 */
MCRING_API mcring_value *mcring_value_new_null(void);
MCRING_API mcring_value *mcring_value_new_bool(int b);
MCRING_API mcring_value *mcring_value_new_int(int64_t v);
MCRING_API mcring_value *mcring_value_new_uint(uint64_t v);
MCRING_API mcring_value *mcring_value_new_double(double v);
MCRING_API mcring_value *mcring_value_new_string(const char *s, size_t len);
MCRING_API mcring_value *mcring_value_new_bytes(const void *data, size_t len);
MCRING_API mcring_value *mcring_value_new_ext(int8_t type, const void *data,
                                              size_t len);
MCRING_API mcring_value *mcring_value_new_timestamp(int64_t sec,
                                                    uint32_t nsec);
MCRING_API mcring_value *mcring_value_new_array(void);
MCRING_API mcring_value *mcring_value_new_map(void);

/*
 * Frees v and everything inside it (any depth, without recursion).
 * Accepts NULL.
 * Threads: one thread at a time per value, and no other thread may be
 * reading it.
 * Ownership: takes v, which must be a root (not inside a container).
 */
MCRING_API void mcring_value_free(mcring_value *v);

/* ---- building containers ------------------------------------------------ */

/*
 * Appends item to an array. Returns 0, MCRING_EINVAL (array is not an
 * array, item is NULL or the array itself) or MCRING_ENOMEM. A
 * constructor can be passed directly:
 *     mcring_value_array_push(a, mcring_value_new_int(5));
 * Threads: one thread at a time per array.
 * Ownership: the array takes item in every case; on failure item is freed.
 * A value may be put into one container only.
 */
MCRING_API int mcring_value_array_push(mcring_value *array,
                                       mcring_value *item);

/*
 * Appends a key/value pair to a map. Keys are not checked for repeats (a
 * lookup finds the last). Returns as mcring_value_array_push().
 * Threads: one thread at a time per map.
 * Ownership: the map takes key and value in every case, as
 * mcring_value_array_push() takes its item.
 */
MCRING_API int mcring_value_map_add(mcring_value *map, mcring_value *key,
                                    mcring_value *value);

/*
 * mcring_value_map_add() with a string key copied from NUL-terminated
 * UTF-8 (MCRING_EINVAL if it is not UTF-8).
 * Threads: one thread at a time per map.
 * Ownership: key is copied; the map takes value in every case (freed on
 * failure).
 */
MCRING_API int mcring_value_map_add_str(mcring_value *map, const char *key,
                                        mcring_value *value);

/* ---- reading ------------------------------------------------------------ */

/*
 * The kind of v (MCRING_VALUE_NULL for a NULL pointer).
 * Threads: thread-safe.
 * Ownership: nothing changes hands.
 */
MCRING_API mcring_value_kind mcring_value_kind_of(const mcring_value *v);

/*
 * "null", "bool", "int", ... ; never NULL.
 * Threads: thread-safe.
 * Ownership: a static string.
 */
MCRING_API const char *mcring_value_kind_name(mcring_value_kind kind);

/*
 * Scalar accessors: 0 with *out set, or MCRING_EINVAL when v is not of a
 * fitting kind (out untouched). get_uint accepts non-negative INTs and
 * UINTs; get_double accepts DOUBLEs and converts integers to the nearest
 * double.
 * Threads: thread-safe.
 * Ownership: nothing changes hands.
 */
MCRING_API int mcring_value_get_bool(const mcring_value *v, int *out);
MCRING_API int mcring_value_get_int(const mcring_value *v, int64_t *out);
MCRING_API int mcring_value_get_uint(const mcring_value *v, uint64_t *out);
MCRING_API int mcring_value_get_double(const mcring_value *v, double *out);

/*
 * The string's bytes (NUL-terminated; the NUL is not counted in *len) or
 * NULL when v is not a string. len may be NULL.
 * Threads: thread-safe.
 * Ownership: borrowed from v, valid until its root is freed.
 */
MCRING_API const char *mcring_value_get_string(const mcring_value *v,
                                               size_t *len);

/*
 * The bytes of a BYTES value (NULL when v is not one). len may be NULL.
 * Threads: thread-safe.
 * Ownership: borrowed from v, valid until its root is freed.
 */
MCRING_API const void *mcring_value_get_bytes(const mcring_value *v,
                                              size_t *len);

/*
 * An EXT value's type and bytes: 0 or MCRING_EINVAL. Any out pointer may
 * be NULL.
 * Threads: thread-safe.
 * Ownership: *data is borrowed from v, valid until its root is freed.
 */
MCRING_API int mcring_value_get_ext(const mcring_value *v, int8_t *type,
                                    const void **data, size_t *len);

/*
 * A TIMESTAMP's seconds since the epoch and nanoseconds: 0 or
 * MCRING_EINVAL.
 * Threads: thread-safe.
 * Ownership: nothing changes hands.
 */
MCRING_API int mcring_value_get_timestamp(const mcring_value *v,
                                          int64_t *sec, uint32_t *nsec);

/*
 * Items of an array, pairs of a map; 0 for other kinds.
 * Threads: thread-safe.
 * Ownership: nothing changes hands.
 */
MCRING_API size_t mcring_value_count(const mcring_value *v);

/*
 * Item i of an array, key or value of pair i of a map; NULL when v is not
 * of that kind or i is out of range.
 * Threads: thread-safe.
 * Ownership: borrowed from v, valid until its root is freed.
 */
MCRING_API const mcring_value *mcring_value_array_at(const mcring_value *v,
                                                     size_t i);
MCRING_API const mcring_value *mcring_value_map_key_at(const mcring_value *v,
                                                       size_t i);
MCRING_API const mcring_value *
mcring_value_map_value_at(const mcring_value *v, size_t i);

/*
 * The value of the last pair whose key is the string key[0..len), or
 * NULL. Linear in the map's size.
 * Threads: thread-safe.
 * Ownership: borrowed from v, valid until its root is freed.
 */
MCRING_API const mcring_value *mcring_value_map_find(const mcring_value *v,
                                                     const char *key,
                                                     size_t len);

/*
 * 1 when a and b are the same value: same kind and contents, arrays and
 * maps item by item in order, doubles by == except that NaN equals NaN.
 * Values nested deeper than MCRING_VALUE_DEPTH_MAX compare unequal.
 * Threads: thread-safe.
 * Ownership: nothing changes hands.
 */
MCRING_API int mcring_value_equal(const mcring_value *a,
                                  const mcring_value *b);

MCRING_END_DECLS

#endif /* MCRING_PUBLIC_VALUE_H */
