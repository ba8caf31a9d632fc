/*
 * mcring/common.h — what every public header of mcring shares: the export
 * and deprecation markers, the C++ guards, the opaque object types and a
 * few limits. Included by each of them; a program includes <mcring.h>.
 *
 * Conventions used throughout the public headers:
 *
 *  - Functions that can fail return int: 0 or another non-negative outcome
 *    on success, a negative MCRING_E* code on failure (mcring/errors.h).
 *  - Every function's comment ends with two lines:
 *      Threads:   "thread-safe" (any number of threads may call it on the
 *                 same object at once), or "one thread at a time per X"
 *                 (the caller serialises calls on one X), plus any call it
 *                 must not overlap with;
 *      Ownership: who frees what it returns, what it takes over, what it
 *                 borrows and for how long, and what is left on failure.
 *  - No function of this library may be called from a signal handler.
 *  - Functions taking (char *err, size_t errlen) write a one-line message
 *    into err on failure when err is not NULL; err is left untouched on
 *    success.
 *  - Destructors (mcring_*_free, mcring_item_release) accept NULL.
 */
#ifndef MCRING_PUBLIC_COMMON_H
#define MCRING_PUBLIC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define MCRING_BEGIN_DECLS extern "C" {
#define MCRING_END_DECLS }
#else
#define MCRING_BEGIN_DECLS
#define MCRING_END_DECLS
#endif

/* Marks the functions the shared library exports (lib/mcring.map lists
 * the same names; tools/check compares the two). */
#if defined(MCRING_BUILDING) && defined(__GNUC__)
#define MCRING_API __attribute__((visibility("default")))
#else
#define MCRING_API
#endif

/* Marks a name kept for one release after a rename (mcring/deprecated.h).
 * Define MCRING_NO_DEPRECATION_WARNINGS to silence the warnings while
 * moving to the new names. */
#if (defined(__GNUC__) || defined(__clang__)) &&                             \
    !defined(MCRING_NO_DEPRECATION_WARNINGS)
#define MCRING_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define MCRING_DEPRECATED(msg)
#endif

MCRING_BEGIN_DECLS

/* The library's objects, opaque: each has a constructor and a destructor
 * in its own header (options.h, client.h, ring.h, value.h). */
typedef struct mcring_options mcring_options;
typedef struct mcring_client mcring_client;
typedef struct mcring_ring mcring_ring;
typedef struct mcring_value mcring_value;

/* Longest server string accepted (host, brackets, scope, port), plus NUL. */
#define MCRING_NAME_MAX 320
/* Longest key accepted in raw key mode (memcached's limit). */
#define MCRING_KEY_MAX 250

MCRING_END_DECLS

#endif /* MCRING_PUBLIC_COMMON_H */
