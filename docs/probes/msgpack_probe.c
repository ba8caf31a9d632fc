/*
 * What msgpack-c's unpacker does with deep nesting and with a container
 * whose claimed size the input cannot hold (docs/codecs.md, "Why not
 * msgpack-c's unpacker"). Not part of the build; run under
 * AddressSanitizer so the size of the allocation is reported:
 *
 *   cc -fsanitize=address docs/probes/msgpack_probe.c \
 *      $(pkg-config --cflags --libs msgpack) -o /tmp/msgpack_probe && \
 *      /tmp/msgpack_probe
 */
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

static int unpack(const char *buf, size_t len)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int r = msgpack_unpack_next(&u, buf, len, &off);
    msgpack_unpacked_destroy(&u);
    return r;
}

int main(void)
{
    printf("msgpack-c %s (MSGPACK_UNPACK_SUCCESS = %d, NOMEM_ERROR = %d)\n",
           msgpack_version(), MSGPACK_UNPACK_SUCCESS,
           MSGPACK_UNPACK_NOMEM_ERROR);
    char b[64];
    for (int depth = 31; depth <= 34; depth++) {
        memset(b, 0x91, (size_t)depth); /* fixarray of one item */
        b[depth] = (char)0xc0;          /* nil */
        printf("%d nested arrays -> %d\n", depth, unpack(b, (size_t)depth + 1));
    }
    printf("5 bytes, an array32 claiming 2^32-1 items:\n");
    fflush(stdout);
    printf("-> %d\n", unpack("\xdd\xff\xff\xff\xff", 5));
    return 0;
}
