/* Growing an item's buffer (item.h). */
#include <stdlib.h>
#include <string.h>

#include "item.h"

int item_reserve(mcring_item *item, size_t extra)
{
    if (extra > SIZE_MAX - item->len - 1)
        return MCRING_ENOMEM;
    size_t need = item->len + extra + 1;
    if (need <= item->cap)
        return 0;
    size_t cap = item->cap < 64 ? 64 : item->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *data = realloc(item->data, cap);
    if (data == NULL)
        return MCRING_ENOMEM;
    item->data = data;
    item->cap = cap;
    return 0;
}

int mcring_item_append(mcring_item *item, const void *data, size_t len)
{
    if (item == NULL || (data == NULL && len > 0))
        return MCRING_EINVAL;
    if (item_reserve(item, len) != 0)
        return MCRING_ENOMEM;
    if (len > 0)
        memcpy(item->data + item->len, data, len);
    item->len += len;
    item->data[item->len] = '\0';
    return 0;
}
