/*
 * Fuzz target: the reply readers, fed as a server would send, split at
 * arbitrary points. The first 8 bytes seed the chunk sizes; the rest is the
 * byte stream. It runs through a get of three keys (with values read
 * through the connection's buffer or straight into the item, as the real
 * driver does) and through four one-line storage replies. Nothing from the
 * stream may crash, leak, or make a reader accept a key it did not ask for.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "exchange.h"

static uint32_t next(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(*s >> 33);
}

/* Feeds the stream to x until it is done, fails, or the stream runs out. */
static int feed(exchange *x, const uint8_t *data, size_t size, uint64_t seed)
{
    conn *c = x->conn;
    size_t off = 0;
    for (;;) {
        x->direct = NULL;
        int r = x->read(x);
        if (r != X_MORE)
            return r;
        if (off == size)
            return X_MORE;
        size_t chunk = 1 + next(&seed) % 64;
        if (chunk > size - off)
            chunk = size - off;
        if (x->direct != NULL && conn_buffered(c) == 0 && x->direct_len >= 8) {
            size_t n = chunk < x->direct_len ? chunk : x->direct_len;
            memcpy(x->direct, data + off, n);
            *x->direct_count += n;
            off += n;
            continue;
        }
        conn_make_room(c); /* as conn_fill does */
        if (chunk > c->rcap - c->rlen)
            chunk = c->rcap - c->rlen;
        memcpy(c->rbuf + c->rlen, data + off, chunk);
        c->rlen += chunk;
        off += chunk;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t seed;
    memcpy(&seed, data, 8);
    data += 8;
    size -= 8;

    conn c;
    conn_init(&c);
    c.rbuf = malloc(CONN_RBUF_SIZE);
    c.rcap = CONN_RBUF_SIZE;

    mcring_key keys[3] = {{"k1", 2}, {"k2", 2}, {"k1", 2}};
    mcring_item items[3] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT, MCRING_ITEM_INIT};
    int status[3];
    get_reader g;
    get_reader_init(&g, keys, NULL, 3, items, status, 4096);
    exchange x = {.conn = &c, .read = get_reader_read, .ctx = &g};
    int r = feed(&x, data, size, seed);
    if (r == X_DONE) {
        for (int i = 0; i < 3; i++)
            if (status[i] == MCRING_OK && items[i].len > 4096)
                abort(); /* a value above the limit was accepted */
    } else if (r < 0) {
        get_reader_reset(&g);
    }
    for (int i = 0; i < 3; i++)
        mcring_item_release(&items[i]);

    c.rpos = c.rlen = 0;
    int results[4];
    line_reader l = {.n = 4, .classify = classify_store, .results = results};
    exchange y = {.conn = &c, .read = line_reader_read, .ctx = &l};
    feed(&y, data, size, seed ^ 0x5555);

    free(c.rbuf);
    return 0;
}
