/* Fuzz target: server strings and server lists, as memcache.conf and the
 * API take them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    address a;
    address_parse(text, size, &a, NULL, 0);
    server_list l;
    char err[256];
    if (server_list_parse(text, &l, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < l.count; i++)
            if (l.names[i][0] == '\0' || l.weights[i] < 1)
                abort(); /* an accepted entry must be usable */
        server_list_free(&l);
    }
    free(text);
    return 0;
}
