/*
 * mcring/errors.h — every code a call of this library returns, and their
 * text. Non-negative codes are outcomes (the call worked and this is what
 * happened); negative codes are failures. Each code's comment says which
 * calls return it; a code no call returns is not listed.
 *
 * "The key operations" below are mcring_get, mcring_set, mcring_delete,
 * mcring_incr, mcring_decr, mcring_get_multi, mcring_set_multi and the
 * value-level calls built on them (mcring_get_value, mcring_set_value,
 * mcring_get_multi_values, mcring_set_multi_values). After trying every
 * server for a key they return the last server failure, and the multi-key
 * calls report per key in their status arrays.
 */
#ifndef MCRING_PUBLIC_ERRORS_H
#define MCRING_PUBLIC_ERRORS_H

#include "mcring/common.h"

MCRING_BEGIN_DECLS

/* ---- outcomes ----------------------------------------------------------- */

/* Done: stored, found, deleted, counted. Every call. */
#define MCRING_OK 0
/* No such key: mcring_get, mcring_get_value and the multi-key reads (per
 * key); mcring_delete when there was nothing to delete. Never a
 * failure in disguise: only a server's "not there" gives it. */
#define MCRING_MISS 1
/* Found, but not decodable (Swift's pickle flag, the bits of two codecs,
 * bytes the codec rejected); the bytes and flags are still returned:
 * mcring_get and mcring_get_multi (pickle-flagged items), mcring_get_value
 * and mcring_get_multi_values (any of those). */
#define MCRING_UNDECODABLE 2
/* Not stored because of the key's state (add: it exists; replace, append,
 * prepend: it does not): mcring_add, mcring_replace, mcring_append,
 * mcring_prepend. */
#define MCRING_NOT_STORED 3
/* A memcache.conf that does not exist: nothing was read and nothing
 * changed (Swift's loader silently keeps its defaults; mcring also says so
 * in the log). Returned by mcring_options_load, mcring_client_watch (which
 * then watches for the file to appear) and mcring_client_reload. */
#define MCRING_CONF_MISSING 4
/* The CAS token no longer matches: someone stored the key since it was
 * read (nothing stored). mcring_cas; mcring_lease_fill (the value was
 * changed or invalidated during the refill); mcring_set_versioned (a
 * version at least as new is stored). */
#define MCRING_EXISTS 5
/* The key is not there: mcring_cas, mcring_touch, mcring_lease_fill (the
 * lease ran out and the key went), mcring_lease_invalidate; per key,
 * mcring_touch_multi. */
#define MCRING_NOT_FOUND 6
/* mcring_lease_get, mcring_lease_wait: a value is there but stale (it was
 * invalidated, or its time is nearly up) and another caller is refreshing
 * it: serve it (the item holds it). */
#define MCRING_STALE 7
/* mcring_lease_get, mcring_lease_wait: this caller won the right to
 * refill the key: compute the value and store it with mcring_lease_fill.
 * The item holds the stale value, if there is one, to serve meanwhile
 * (len 0 otherwise). */
#define MCRING_WON 8
/* mcring_lease_get, mcring_lease_wait: another caller is filling the key
 * and there is nothing to serve yet: wait and ask again
 * (mcring_lease_wait does). */
#define MCRING_WAIT 9

/*
 * ---- failures: XX(name, value, message) --------------------------------
 *
 * Who returns what:
 *  EINVAL      any call given a NULL object or an argument out of its
 *              domain (documented per call).
 *  ENOMEM      any call that allocates.
 *  EKEY        the key operations in raw key mode, for a key memcached
 *              cannot take (nothing is sent): with protocol = text, one
 *              outside 1-250 bytes without spaces or control bytes; with
 *              meta, one that is neither that nor 1-186 bytes of anything
 *              (sent in base64).
 *  ETOOLARGE   mcring_set, mcring_set_multi, mcring_set_value,
 *              mcring_set_multi_values: a value above item_size_max
 *              (nothing sent) or refused by the server for its size;
 *              the reads (per key for the multi-key ones): a value above
 *              item_size_max, or a compressed one that would expand past
 *              it (MCRING_DECOMPRESSED_MAX_DEFAULT without one).
 *  ECONFIG     mcring_options_set, mcring_options_load, mcring_client_new,
 *              mcring_client_reconfigure, mcring_client_watch,
 *              mcring_client_reload, mcring_ring_new: a bad option or file.
 *  EADDR       the same calls and mcring_client_set_servers: a server
 *              string that does not parse, or an empty server list.
 *  ENOSERVERS  mcring_ring_new, mcring_client_new, mcring_client_reconfigure:
 *              options whose server list is empty.
 *  ERESOLVE, ECONNREFUSED, ECONNECT, ECONNTIMEOUT, EPOOLTIMEOUT, ETIMEOUT,
 *  EIO, ECLOSED, EPROTO, ESERVER, EREJECTED, ETLS, ECERT
 *              the key operations: the server's failure, counted against
 *              it for error limiting (ETLS also from mcring_client_new and
 *              the reconfiguring calls when TLS files cannot be loaded).
 *  ELIMITED    the key operations: every server for the key was passed
 *              by without a socket: error-limited (server_health =
 *              swift), marked down (server_health = probe), or allowed no
 *              connect (connect_rate).
 *  ENOTNUM     mcring_incr, mcring_decr: the stored value is not a number.
 *  ERACE       mcring_incr, mcring_decr: the key kept disappearing between
 *              the incr and the add that creates it; trying again is fine.
 *  ESYS        the key operations (a socket call failed: out of
 *              descriptors, ...) and mcring_client_watch (no thread).
 *  ECANCELED   mcring_get_multi, mcring_set_multi, mcring_set_multi_values
 *              (per key): not sent because another entry was invalid.
 *  EDECODE     mcring_codec_decode, mcring_json_decode,
 *              mcring_msgpack_decode, and codecs' decode functions.
 *  EENCODE     mcring_codec_encode, mcring_json_encode, mcring_set_value,
 *              mcring_set_multi_values, and codecs' encode functions.
 *  ECODEC      mcring_client_add_codec (a codec that conflicts),
 *              mcring_set_value and mcring_set_multi_values (no such codec).
 *  ENOMETA     the key operations with protocol = meta: the server answered
 *              a meta command with ERROR (memcached before 1.6, or a proxy
 *              without meta commands); counted as its failure.
 *  ETEXTMODE   the lease calls and mcring_set_versioned on a client with
 *              protocol = text (nothing is sent).
 *  ENOTSUP     mcring_set_versioned: the server does not know the E flag
 *              (memcached before 1.6.2x answers "CLIENT_ERROR invalid
 *              flag"); not counted against it.
 */
#define MCRING_ERRNO_MAP(XX)                                                   \
    XX(EINVAL, -1, "invalid argument")                                         \
    XX(ENOMEM, -2, "out of memory")                                            \
    XX(EKEY, -3, "invalid key: raw keys are 1-250 bytes with no spaces or "    \
                 "control characters")                                         \
    XX(ETOOLARGE, -4, "value larger than the server's item size limit")        \
    XX(ECONFIG, -5, "invalid configuration")                                   \
    XX(EADDR, -6, "invalid server address")                                    \
    XX(ERESOLVE, -7, "server host name did not resolve")                       \
    XX(ECONNREFUSED, -8, "connection refused")                                 \
    XX(ECONNECT, -9, "could not connect to the server")                        \
    XX(ECONNTIMEOUT, -10, "timed out connecting to the server")                \
    XX(EPOOLTIMEOUT, -11, "timed out waiting for a pooled connection")         \
    XX(ETIMEOUT, -12, "timed out talking to the server")                       \
    XX(EIO, -13, "I/O error talking to the server")                            \
    XX(ECLOSED, -14, "connection closed by the server")                        \
    XX(EPROTO, -15, "malformed or unexpected reply from the server")           \
    XX(ESERVER, -16, "the server reported an error (SERVER_ERROR)")            \
    XX(EREJECTED, -17, "the server rejected the request (ERROR/CLIENT_ERROR)") \
    XX(ENOTNUM, -18, "incr/decr on a value that is not a number")              \
    XX(ELIMITED, -19, "every server for this key is error-limited or down")    \
    XX(ENOSERVERS, -20, "no servers configured")                               \
    XX(ETLS, -21, "TLS handshake or I/O failed")                               \
    XX(ECERT, -22, "TLS certificate verification failed")                      \
    XX(ERACE, -23, "the key kept changing under incr/decr; try again")         \
    XX(ESYS, -24, "system call failed")                                        \
    XX(ECANCELED, -25, "not sent: another entry of the batch was invalid")     \
    XX(EDECODE, -26, "the bytes are not a valid encoding for the codec")       \
    XX(EENCODE, -27, "the value cannot be encoded by this codec")              \
    XX(ECODEC, -28, "no such codec, or its name or flags conflict with a "     \
                    "registered one")                                          \
    XX(ENOMETA, -29, "the server does not understand meta commands "           \
                     "(memcached 1.6 or later needed)")                        \
    XX(ETEXTMODE, -30, "this call needs the meta protocol (option "            \
                       "protocol = meta)")                                     \
    XX(ENOTSUP, -31, "the server does not support a meta flag this call "      \
                     "needs (a newer memcached is needed)")

enum mcring_errno {
#define MCRING_XX_ENUM_(name, val, msg) MCRING_##name = (val),
    MCRING_ERRNO_MAP(MCRING_XX_ENUM_)
#undef MCRING_XX_ENUM_
};

/*
 * Text for any code this library returns, outcomes included ("not
 * found"); unknown codes give "unknown error".
 * Threads: thread-safe.
 * Ownership: a static string; never NULL, never freed, never allocates.
 */
MCRING_API const char *mcring_strerror(int code);

/*
 * The code's name ("MCRING_ETIMEOUT", "MCRING_MISS"; "MCRING_UNKNOWN" for
 * a code not listed here).
 * Threads: thread-safe.
 * Ownership: a static string; never NULL, never freed, never allocates.
 */
MCRING_API const char *mcring_err_name(int code);

MCRING_END_DECLS

#endif /* MCRING_PUBLIC_ERRORS_H */
