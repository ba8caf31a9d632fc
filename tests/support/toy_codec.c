/* The tests' "decimal" codec (toy_codec.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toy_codec.h"

int decimal_encode(void *ud, const mcring_value *v, mcring_item *out)
{
    (void)ud;
    int64_t i;
    if (mcring_value_get_int(v, &i) != 0)
        return MCRING_EENCODE;
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%lld", (long long)i);
    return mcring_item_append(out, buf, (size_t)n);
}

int decimal_decode(void *ud, const void *data, size_t len,
                   mcring_value **out)
{
    (void)ud;
    char buf[24];
    if (len == 0 || len >= sizeof(buf))
        return MCRING_EDECODE;
    memcpy(buf, data, len);
    buf[len] = '\0';
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (*end != '\0')
        return MCRING_EDECODE;
    *out = mcring_value_new_int(v);
    return *out != NULL ? 0 : MCRING_ENOMEM;
}

mcring_codec decimal_codec(const char *name, uint32_t flags)
{
    return (mcring_codec){name, flags, decimal_encode, decimal_decode, NULL};
}
