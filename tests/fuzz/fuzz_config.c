/* Fuzz target: memcache.conf text, through the same reader as files. A
 * failed load must leave the options as they were. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mcring_options *o;
    if (mcring_options_new(&o) != 0)
        return 0;
    char err[512];
    if (options_load_text(o, "fuzz.conf", (const char *)data, size, err,
                          sizeof(err)) != 0) {
        if (strcmp(o->servers, "127.0.0.1:11211") != 0 || o->tries != 3)
            abort(); /* a failed load changed the options */
    } else if (o->tries < 1 || o->max_connections < 1 || o->servers == NULL) {
        abort(); /* a load let an invalid value through */
    }
    mcring_options_free(o);
    return 0;
}
