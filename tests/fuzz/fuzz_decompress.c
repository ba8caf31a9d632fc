/*
 * Fuzz target: bounded decompression (compress.c), the path every value
 * read with a compression bit takes. Byte 0 picks the algorithm (bit 0:
 * zstd, else zlib), bytes 1-2 the bound (in 64-byte units, so up to 4 MiB);
 * the rest is the stream as a server would hand it over. Nothing may
 * crash, leak or allocate past the bound (libFuzzer's malloc limit would
 * catch a bomb let through); the outcome is a value no longer than the
 * bound, MCRING_ETOOLARGE, MCRING_EDECODE or MCRING_ENOMEM. A value
 * compresses and decompresses back to itself; a refusal for size is
 * confirmed by a larger bound (which may then find the stream broken
 * further on, but never a value within the first bound). The same bytes
 * through compress_unpack as a read item agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"

static compress_stats stats;

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    compress_algo algo = data[0] & 1 ? COMPRESS_ZSTD : COMPRESS_ZLIB;
    size_t bound = ((size_t)data[1] << 8 | data[2]) * 64;
    const uint8_t *src = data + 3;
    size_t len = size - 3;

    char *out;
    size_t out_len;
    int rc = decompress_bounded(algo, src, len, bound, &out, &out_len);
    check(rc == 0 || rc == MCRING_ETOOLARGE || rc == MCRING_EDECODE ||
          rc == MCRING_ENOMEM);
    if (rc == 0) {
        check(out_len <= bound);
        check(out[out_len] == '\0');
        /* Back and forth: the same bytes. */
        compress_config cfg = {algo, 0, bound};
        packed_value p;
        check(compress_pack(&stats, &cfg, out, out_len, 0, &p) == 0);
        if (p.owned != NULL) {
            char *again;
            size_t again_len;
            check(decompress_bounded(algo, p.data, p.len, bound, &again,
                                     &again_len) == 0);
            check(again_len == out_len && memcmp(again, out, out_len) == 0);
            free(again);
        }
        packed_release(&p);
    } else if (rc == MCRING_ETOOLARGE && bound < (4u << 20)) {
        char *more;
        size_t more_len;
        int r2 = decompress_bounded(algo, src, len, 4u << 20, &more,
                                    &more_len);
        if (r2 == 0) {
            check(more_len > bound);
            free(more);
        }
    }

    /* As a read item: decompressed in place, or the status says why. */
    mcring_item it = MCRING_ITEM_INIT;
    check(mcring_item_append(&it, src, len) == 0);
    it.flags = 2 | (algo == COMPRESS_ZSTD ? MCRING_FLAG_ZSTD
                                          : MCRING_FLAG_ZLIB);
    compress_config cfg = {COMPRESS_ZSTD, 400, bound};
    int status = compress_unpack(&stats, &cfg, &it, MCRING_OK);
    if (rc == 0) {
        check(status == MCRING_OK && it.flags == 2 && it.len == out_len &&
              memcmp(it.data, out, out_len) == 0);
        free(out);
    } else if (rc == MCRING_ETOOLARGE) {
        check(status == MCRING_ETOOLARGE && it.len == 0);
    } else if (rc == MCRING_EDECODE) {
        check(status == MCRING_UNDECODABLE && it.len == len &&
              it.flags != 2);
    }
    mcring_item_release(&it);
    return 0;
}
