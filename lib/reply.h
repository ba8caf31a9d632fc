/*
 * Reply readers: what one request expects back, read from bytes as they
 * arrive. Pure, as hiredis's read.c: no sockets, no locks, no clock. A
 * reader is fed whatever bytes are buffered and says how many it used and
 * whether the reply is complete; "need more" is a normal answer. Nothing
 * read from the network is trusted: every line is checked against what the
 * request can legitimately receive, and a VALUE must name the next key the
 * request asked for (memcached answers in request order).
 *
 * Two kinds of bad replies are told apart:
 *  - a reply that fits the request but says it failed (SERVER_ERROR,
 *    NOT_STORED to a set, a value larger than the caller accepts): the
 *    stream is still in step; it is an outcome of the request;
 *  - a reply that does not fit (a key not asked for, an unexpected line,
 *    ERROR or CLIENT_ERROR that memcached sends when it lost track of a
 *    command, garbage, data not followed by CRLF): the stream may be out of
 *    step, and feed returns a negative failure. The connection must then be
 *    closed and every request on it failed (pipeline.h).
 *
 * Values are copied into the caller's items, which grow as data arrives
 * (never ahead of it: a header announcing a huge value costs nothing until
 * the bytes come), or are read straight into them (reply_reader.direct).
 */
#ifndef MCRING_REPLY_H
#define MCRING_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcring.h"
#include "proto.h"

#define READ_MORE 0
#define READ_DONE 1

typedef struct reply_reader reply_reader;

struct reply_reader {
    /*
     * Consumes a prefix of buf[0..len) into the request's results and sets
     * *used to its length. Returns READ_DONE (this request's reply is
     * complete), READ_MORE (all that could be used was used; feed more
     * bytes), or a negative failure when the bytes cannot be this
     * request's reply (the stream is out of step; detail says why).
     */
    int (*feed)(reply_reader *r, const char *buf, size_t len, size_t *used);
    /* After READ_MORE: where the next bytes of a large value may be read
     * straight to (direct_len of them), or NULL. A driver that does so
     * reports the count with reply_direct_done(). */
    char *direct;
    size_t direct_len;
    size_t *direct_count;
    char detail[96]; /* what was wrong, for the log */
};

/* Accounts n bytes read straight into r->direct. */
static inline void reply_direct_done(reply_reader *r, size_t n)
{
    *r->direct_count += n;
    r->direct = NULL;
}

/* ---- get: VALUE blocks until END ---------------------------------------- */

/*
 * Reads the reply to "get k1 k2 ...". status[i] ends as MCRING_OK,
 * MCRING_UNDECODABLE (pickle flag), MCRING_MISS, or MCRING_ETOOLARGE (a
 * value longer than item_max, skipped: the caller's limit, not the
 * server's fault). outcome is 0, or MCRING_ESERVER when the server ended
 * the reply with SERVER_ERROR (in step; the keys then count as failed).
 */
typedef struct get_reader {
    reply_reader base;
    const mcring_key *keys;
    const uint32_t *idx; /* the keys asked for: keys[idx[i]]; NULL: all */
    size_t n;
    mcring_item *items;
    int *status;
    size_t item_max; /* 0: no limit */
    int outcome;
    /* progress */
    size_t next, cur, expect, skip;
    int state;
} get_reader;

void get_reader_init(get_reader *g, const mcring_key *keys,
                     const uint32_t *idx, size_t n, mcring_item *items,
                     int *status, size_t item_max);
/* Puts every key back to "no answer" (len 0, status MCRING_MISS), so that
 * nothing from a server that then failed can reach the caller. */
void get_reader_reset(get_reader *g);

/* ---- one-line replies ---------------------------------------------------- */

/*
 * Maps one reply line to the outcome of the request it answers: >= 0, or a
 * failure < 0 (which may still leave the stream in step). Sets *in_step to
 * false when the line cannot be an answer to the request (the connection
 * must close). May store a number (incr/decr) and write detail.
 */
typedef int (*line_classify_fn)(const reply *r, uint64_t *number,
                                bool *in_step, char *detail, size_t dlen);

/* Reads n one-line replies, classifying each into results[i] (and
 * numbers[i] when numbers is not NULL). */
typedef struct line_reader {
    reply_reader base;
    size_t n, got;
    line_classify_fn classify;
    int *results;
    uint64_t *numbers;
} line_reader;

void line_reader_init(line_reader *l, size_t n, line_classify_fn classify,
                      int *results, uint64_t *numbers);

/* The classifications of the ASCII commands. */
int classify_store(const reply *r, uint64_t *number, bool *in_step,
                   char *detail, size_t dlen); /* set: STORED */
int classify_add(const reply *r, uint64_t *number, bool *in_step,
                 char *detail, size_t dlen); /* add: NOT_STORED an outcome */
int classify_delete(const reply *r, uint64_t *number, bool *in_step,
                    char *detail, size_t dlen);
int classify_arith(const reply *r, uint64_t *number, bool *in_step,
                   char *detail, size_t dlen);

/*
 * The failure an error line (or a line the request cannot receive) means,
 * with its text in detail. ERROR and CLIENT_ERROR put the stream out of
 * step (memcached sends them when it could not make sense of a command, and
 * may then read the command's data as commands); SERVER_ERROR does not.
 */
int reply_failure(const reply *r, bool *in_step, char *detail, size_t dlen);

#endif
