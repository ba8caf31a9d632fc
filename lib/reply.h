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
#include "meta.h"
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
    /* Every line of this request's reply carries its own opaque token
     * (a single meta command): a reply that is not this request's is
     * caught by the reader itself, so its batch needs no fence
     * (pipeline.h). A quiet batch's reader is not: its closing MN has no
     * token. */
    bool self_matched;
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

/* touch: TOUCHED, or NOT_FOUND (MCRING_NOT_FOUND). */
int classify_touch(const reply *r, uint64_t *number, bool *in_step,
                   char *detail, size_t dlen);
/* add, replace, append, prepend, cas: STORED, or the outcomes
 * MCRING_NOT_STORED, MCRING_EXISTS and MCRING_NOT_FOUND. */
int classify_storage(const reply *r, uint64_t *number, bool *in_step,
                     char *detail, size_t dlen);
/* flush_all: OK. */
int classify_ok(const reply *r, uint64_t *number, bool *in_step,
                char *detail, size_t dlen);

/*
 * The failure an error line (or a line the request cannot receive) means,
 * with its text in detail. ERROR and CLIENT_ERROR put the stream out of
 * step (memcached sends them when it could not make sense of a command, and
 * may then read the command's data as commands); SERVER_ERROR does not.
 */
int reply_failure(const reply *r, bool *in_step, char *detail, size_t dlen);

/* ---- meta replies -------------------------------------------------------- */

/*
 * Each meta request carries an opaque token (meta.h) that its reply must
 * echo: a reply with another token, or none, does not fit the request and
 * ends the connection, whatever its place in the stream. Error lines carry
 * no token and are taken by place: SERVER_ERROR is the request's failure
 * (in step); a bare ERROR means the server does not know meta commands
 * (MCRING_ENOMETA, out of step: memcached before 1.6); CLIENT_ERROR is out
 * of step, except two in-step answers: "invalid flag" (the server is too
 * old for a flag mcring sent: MCRING_ENOTSUP) and incr/decr on text
 * (MCRING_ENOTNUM).
 */

/* Value reading shared by the meta readers: where a VA's data goes. */
typedef struct value_in {
    mcring_item *item;
    size_t expect, skip;
    int state;
} value_in;

/*
 * Reads the one reply of a non-quiet mg, ms, md or ma. head holds the
 * reply line (its key pointer is not kept valid); a VA's data goes into
 * item, or, when item is NULL, is read as ma's decimal number into
 * number. outcome is 0 or an in-step failure (ESERVER, ETOOLARGE — also
 * for a value over item_max, which is skipped — ENOTSUP, ENOTNUM).
 */
typedef struct meta_reader {
    reply_reader base;
    uint64_t opaque;
    const char *key; /* checked against a returned k; NULL: not asked */
    size_t key_len;
    mcring_item *item;
    size_t item_max; /* 0: no limit */
    meta_reply head;
    int outcome;
    uint64_t number;
    /* progress */
    bool have_head;
    value_in v;
    mcring_item numitem;
    char numbuf[24];
} meta_reader;

void meta_reader_init(meta_reader *r, uint64_t opaque, const char *key,
                      size_t key_len, mcring_item *item, size_t item_max);

/* What each command of a quiet batch is, for the meaning of its reply. */
typedef enum batch_kind {
    BATCH_GET,   /* mg k v f q (c): VA is a hit, nothing a miss */
    BATCH_SET,   /* ms q: nothing is stored, NS a failure (as set's) */
    BATCH_TOUCH, /* mg T q: HD touched, nothing not found */
} batch_kind;

/*
 * Reads the replies to a quiet batch: n commands of one kind, position i
 * carrying opaque + i, and the batch's own "mn" after them. Quiet commands
 * send nothing for their common case (a miss, a store, ...), so the reply
 * is closed by the batch's MN, which makes it self-delimiting: whatever
 * comes before that MN belongs to the batch, whatever comes after does
 * not, with or without fences. Each reply's token names its position;
 * positions must come in order, and a position not answered by the MN is
 * one whose command sent nothing. status[] (indexed like get_reader's,
 * through idx) starts as that silent outcome: MCRING_MISS, MCRING_OK or
 * MCRING_NOT_FOUND. A SERVER_ERROR cannot be told apart between positions:
 * it sets outcome (the whole batch failed, in step).
 */
typedef struct meta_batch_reader {
    reply_reader base;
    batch_kind kind;
    uint64_t opaque;
    const mcring_key *keys; /* wire keys, checked against returned k */
    const uint32_t *idx;    /* position -> index; NULL: identity */
    size_t n;
    mcring_item *items; /* BATCH_GET */
    int *status;
    size_t item_max;
    int outcome;
    /* progress */
    size_t next; /* positions before this one are settled */
    size_t cur;  /* index of the value being read */
    bool in_value;
    value_in v;
} meta_batch_reader;

void meta_batch_reader_init(meta_batch_reader *b, batch_kind kind,
                            uint64_t opaque, const mcring_key *keys,
                            const uint32_t *idx, size_t n,
                            mcring_item *items, int *status,
                            size_t item_max);
/* As get_reader_reset: no answer for any position, nothing from a server
 * that failed reaches the caller. */
void meta_batch_reader_reset(meta_batch_reader *b);

/* ---- admin replies ------------------------------------------------------- */

/*
 * One line of text: version's "VERSION <text>" (text copied into text) or
 * flush_all's "OK". outcome: 0 or an in-step failure (SERVER_ERROR).
 */
typedef struct text_reader {
    reply_reader base;
    reply_kind expect; /* REPLY_VERSION or REPLY_OK */
    int outcome;
    char text[128];
} text_reader;

void text_reader_init(text_reader *t, reply_kind expect);

/*
 * "STAT <name> <value>" lines until END, kept as "name\0value\0" pairs
 * in a buffer the reader allocates (stats_reader_free releases it).
 * outcome: 0, MCRING_EREJECTED (ERROR: no such group, in step),
 * MCRING_ESERVER, MCRING_ENOMEM.
 */
typedef struct stats_reader {
    reply_reader base;
    char *buf;
    size_t len, cap;
    size_t count;
    int outcome;
} stats_reader;

void stats_reader_init(stats_reader *s);
void stats_reader_free(stats_reader *s);

#endif
