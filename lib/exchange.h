/*
 * Exchanges: one request and its replies on one connection. A reply reader
 * consumes whatever input the connection has buffered and says "done",
 * "need more" or fails; it never does I/O itself, so the same reader runs
 * under the blocking driver (one connection: exchange_run) and under the
 * poll() driver (many connections at once: exchange_run_many).
 *
 * Readers validate everything: a reply for a key that was not asked for, a
 * VALUE larger than item_size_max, data not followed by CRLF, or any
 * unexpected line fails the exchange, and the connection must then be
 * closed (its stream may be out of step).
 */
#ifndef MCRING_EXCHANGE_H
#define MCRING_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "conn.h"
#include "mcring.h"
#include "proto.h"

#define X_MORE 0
#define X_DONE 1

typedef struct exchange exchange;

struct exchange {
    conn *conn;
    struct iovec *iov; /* output still to send */
    int iovcnt;
    int (*read)(exchange *x); /* X_DONE, X_MORE or a negative failure */
    void *ctx;
    /* Set by a reader returning X_MORE when the next bytes should go
     * straight into a buffer (a large value) instead of the conn's. */
    char *direct;
    size_t direct_len;
    size_t *direct_count; /* advanced by the driver after a direct read */
    char detail[96];      /* what went wrong, for the log */
};

/* Reads the replies to a get of n keys (wire keys in request order).
 * status[i] ends as MCRING_OK, MCRING_UNDECODABLE (pickle flag) or
 * MCRING_MISS. */
typedef struct get_reader {
    const mcring_key *keys;
    const uint32_t *idx; /* the keys asked for: keys[idx[i]]; NULL: all */
    size_t n;
    mcring_item *items;
    int *status;
    size_t item_max;
    /* progress */
    size_t next, cur, expect;
    int state;
} get_reader;

void get_reader_init(get_reader *g, const mcring_key *keys,
                     const uint32_t *idx, size_t n, mcring_item *items,
                     int *status, size_t item_max);
/* Puts every key back to "no answer" (len 0, status MCRING_MISS), so that
 * nothing from a server that then failed can leak into the result. */
void get_reader_reset(get_reader *g);
int get_reader_read(exchange *x);

/* Turns one reply line into an outcome (>= 0) or failure, while the line's
 * text is still in the buffer; may store a number (incr/decr). */
typedef int (*line_classify_fn)(exchange *x, const reply *r, uint64_t *number);

/* Reads n one-line replies, classifying each into results[i] (and
 * numbers[i] when numbers is not NULL). */
typedef struct line_reader {
    size_t n, got;
    line_classify_fn classify;
    int *results;
    uint64_t *numbers;
} line_reader;

int line_reader_read(exchange *x);

/* Sends x's output and runs its reader to the end, blocking, everything by
 * deadline. Returns 0 (the reader finished) or a negative failure. */
int exchange_run(exchange *x, int64_t deadline);

/* The reading half of exchange_run, for an exchange whose output is all
 * sent. */
int exchange_finish(exchange *x, int64_t deadline);

/* Sends one request and reads one reply line into *result (and *number).
 * Returns 0 when a line was read, else the I/O or protocol failure. */
int exchange_line(conn *c, struct iovec *iov, int iovcnt,
                  line_classify_fn classify, int *result, uint64_t *number,
                  int64_t deadline, char *detail, size_t detail_len);

/*
 * Runs n exchanges on distinct connections at once: all output is written
 * (as the sockets take it) while replies are read as they arrive, until
 * every exchange is done or the deadline passes. results[i] is 0 or the
 * failure of exchange i; a failed exchange does not stop the others.
 * Returns 0, or MCRING_ENOMEM/MCRING_ESYS when poll itself failed.
 */
int exchange_run_many(exchange **xs, size_t n, int *results,
                      int64_t deadline);

/* Maps an error/unexpected reply line to a failure code and detail text. */
int exchange_reply_failure(exchange *x, const reply *r);

#endif
