/*
 * Fuzz target: the reply readers behind a connection's pipeline, fed as a
 * server would send, split at arbitrary points. The first 8 bytes seed the
 * chunk sizes and the fence mode; the rest is the byte stream. Six
 * requests are in flight, as written by the pipeline (fences included
 * unless off): a get of three keys with a 4 KiB limit, a set, an incr, a
 * get of one key without a limit, then meta commands: a quiet batch of
 * three mg (tokens 0x10-0x12, closed by its own mn, values up to 4 KiB)
 * and one mg with token 0x20 and key k. Values are read through the buffer or
 * straight into items, as the real driver does. Nothing may crash or leak,
 * no request may complete twice, and no reader may take a key it did not
 * ask for or a value above its limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

static uint32_t next(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(*s >> 33);
}

typedef struct req {
    pipe_req pr;
    int completions;
} req;

static void on_done(pipe_req *r, void *ctx)
{
    (void)ctx;
    ((req *)r)->completions++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t seed;
    memcpy(&seed, data, 8);
    data += 8;
    size -= 8;

    pipeline p;
    pipeline_init(&p);
    p.conn.rbuf = malloc(CONN_RBUF_SIZE);
    p.conn.rcap = CONN_RBUF_SIZE;
    atomic_store(&p.fence, (seed & 1) ? FENCE_OFF : FENCE_PROBE);

    mcring_key keys[3] = {{"k1", 2}, {"k2", 2}, {"k1", 2}};
    mcring_item items[4] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT,
                            MCRING_ITEM_INIT, MCRING_ITEM_INIT};
    int status[4];
    get_reader g1, g2;
    get_reader_init(&g1, keys, NULL, 3, items, status, 4096);
    mcring_key k3 = {"k3", 2};
    get_reader_init(&g2, &k3, NULL, 1, &items[3], &status[3], 0);
    int set_result, incr_result;
    uint64_t number;
    line_reader set, incr;
    line_reader_init(&set, 1, classify_store, &set_result, NULL);
    line_reader_init(&incr, 1, classify_arith, &incr_result, &number);

    static char get3[] = "get k1 k2 k1\r\n", setl[] = "set k 0 0 1\r\nx\r\n",
                incl[] = "incr k 1\r\n", get1[] = "get k3\r\n";
    struct iovec iov[4] = {{get3, sizeof(get3) - 1},
                           {setl, sizeof(setl) - 1},
                           {incl, sizeof(incl) - 1},
                           {get1, sizeof(get1) - 1}};
    mcring_key mkeys[3] = {{"a", 1}, {"b", 1}, {"a", 1}};
    mcring_item mitems[4] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT,
                             MCRING_ITEM_INIT, MCRING_ITEM_INIT};
    int mstatus[3];
    meta_batch_reader batch;
    meta_batch_reader_init(&batch, BATCH_GET, 0x10, mkeys, NULL, 3, mitems,
                           mstatus, 4096);
    meta_reader single;
    meta_reader_init(&single, 0x20, "k", 1, &mitems[3], 0);
    static char mq[] = "mg a v k q O10\r\nmg b v k q O11\r\nmg a v k q "
                       "O12\r\nmn\r\n",
                mg[] = "mg k v k O20\r\n";
    struct iovec miov[2] = {{mq, sizeof(mq) - 1}, {mg, sizeof(mg) - 1}};

    reply_reader *readers[6] = {&g1.base, &set.base,   &incr.base,
                                &g2.base, &batch.base, &single.base};
    req r[6];
    for (int i = 0; i < 6; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].pr.iov = i < 4 ? &iov[i] : &miov[i - 4];
        r[i].pr.iovcnt = 1;
        r[i].pr.reader = readers[i];
        pipeline_push(&p, &r[i].pr);
    }
    /* As the writer would: everything sent, fences placed. */
    struct iovec *out;
    int n;
    while ((n = pipeline_gather(&p, &out)) > 0) {
        size_t bytes = 0;
        for (int i = 0; i < n; i++)
            bytes += out[i].iov_len;
        pipeline_sent(&p, bytes, on_done, NULL);
    }

    size_t off = 0;
    int failed = 0;
    for (;;) {
        int step = pipeline_parse(&p);
        if (step < 0) {
            failed = step;
            break;
        }
        if (step == PARSE_CONFIRM) {
            pipeline_confirm(&p, on_done, NULL);
            continue;
        }
        if (step == PARSE_ADVANCE) {
            if (!pipeline_advance(&p)) {
                if (conn_buffered(&p.conn) > 0)
                    failed = MCRING_EPROTO; /* unsolicited */
                break;
            }
            continue;
        }
        if (off == size)
            break;
        size_t chunk = 1 + next(&seed) % 64;
        if (chunk > size - off)
            chunk = size - off;
        size_t dlen;
        char *d = pipeline_direct(&p, &dlen);
        if (d != NULL) {
            if (chunk > dlen)
                chunk = dlen;
            memcpy(d, data + off, chunk);
            pipeline_direct_done(&p, chunk);
            off += chunk;
            continue;
        }
        conn_make_room(&p.conn);
        if (chunk > p.conn.rcap - p.conn.rlen)
            chunk = p.conn.rcap - p.conn.rlen;
        memcpy(p.conn.rbuf + p.conn.rlen, data + off, chunk);
        p.conn.rlen += chunk;
        off += chunk;
    }
    pipeline_fail_all(&p, failed ? failed : MCRING_ECLOSED, on_done, NULL);
    for (int i = 0; i < 6; i++)
        if (r[i].completions != 1)
            abort(); /* every request completes exactly once */
    for (int i = 0; i < 3; i++)
        if ((status[i] == MCRING_OK && items[i].len > 4096) ||
            (mstatus[i] == MCRING_OK && mitems[i].len > 4096))
            abort(); /* a value above the limit was accepted */
    for (int i = 0; i < 4; i++) {
        mcring_item_release(&items[i]);
        mcring_item_release(&mitems[i]);
    }
    pipeline_destroy(&p);
    return 0;
}
