/*
 * The value-level operations: encode, then the byte-level call; or the
 * byte-level call, then decode by the item's flags. They go through
 * mcring_set, mcring_get, mcring_set_multi and mcring_get_multi, so the
 * byte path stays the one fast path and the request logic lives only
 * there. Also the client's codec registry (codec.c holds the rules).
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "codec.h"
#include "error.h"

int mcring_client_add_codec(mcring_client *c, const mcring_codec *codec,
                            char *err, size_t errlen)
{
    if (c == NULL || codec == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    return codec_registry_add(&c->codecs, codec, err, errlen);
}

const mcring_codec *mcring_client_codec(mcring_client *c, const char *name)
{
    return c != NULL ? codec_registry_find(&c->codecs, name) : NULL;
}

const mcring_codec *mcring_client_codec_for_flags(mcring_client *c,
                                                  uint32_t flags)
{
    return c != NULL ? codec_registry_for_flags(&c->codecs, flags) : NULL;
}

/* Decodes a found item by its flags: MCRING_OK with *out, or
 * MCRING_UNDECODABLE, or MCRING_ENOMEM; the item is left as it was. */
static int decode_item(mcring_client *c, const mcring_item *item,
                       mcring_value **out)
{
    const mcring_codec *codec = codec_registry_for_flags(&c->codecs,
                                                         item->flags);
    if (codec == NULL)
        return MCRING_UNDECODABLE;
    int rc = mcring_codec_decode(codec, item->data, item->len, out);
    if (rc == 0)
        return MCRING_OK;
    return rc == MCRING_ENOMEM ? MCRING_ENOMEM : MCRING_UNDECODABLE;
}

int mcring_set_value(mcring_client *c, const void *key, size_t key_len,
                     const mcring_value *value, const char *codec_name,
                     double ttl)
{
    if (c == NULL || value == NULL)
        return MCRING_EINVAL;
    const mcring_codec *codec =
        codec_registry_find(&c->codecs, codec_name ? codec_name : "json");
    if (codec == NULL)
        return MCRING_ECODEC;
    mcring_item buf = MCRING_ITEM_INIT;
    int rc = mcring_codec_encode(codec, value, &buf);
    if (rc == 0)
        rc = mcring_set(c, key, key_len, buf.data, buf.len, buf.flags, ttl);
    mcring_item_release(&buf);
    return rc;
}

int mcring_get_value(mcring_client *c, const void *key, size_t key_len,
                     mcring_item *item, mcring_value **out)
{
    if (out != NULL)
        *out = NULL;
    if (c == NULL || out == NULL)
        return MCRING_EINVAL;
    mcring_item own = MCRING_ITEM_INIT;
    mcring_item *it = item != NULL ? item : &own;
    int rc = mcring_get(c, key, key_len, it);
    if (rc == MCRING_OK)
        rc = decode_item(c, it, out);
    mcring_item_release(&own);
    return rc;
}

int mcring_get_multi_values(mcring_client *c, const mcring_key *keys,
                            size_t n, const void *server_key,
                            size_t server_key_len, mcring_item *items,
                            mcring_value **values, int *status)
{
    if (c == NULL || values == NULL || status == NULL ||
        (keys == NULL && n > 0))
        return MCRING_EINVAL;
    for (size_t i = 0; i < n; i++)
        values[i] = NULL;
    if (n == 0)
        return 0;
    mcring_item *its = items;
    if (its == NULL) {
        its = calloc(n, sizeof(*its));
        if (its == NULL)
            return MCRING_ENOMEM;
    }
    int rc = mcring_get_multi(c, keys, n, server_key, server_key_len, its,
                              status);
    for (size_t i = 0; i < n; i++) {
        if (status[i] == MCRING_OK)
            status[i] = decode_item(c, &its[i], &values[i]);
        if (rc == 0 && status[i] < 0)
            rc = status[i];
    }
    if (items == NULL) {
        for (size_t i = 0; i < n; i++)
            mcring_item_release(&its[i]);
        free(its);
    }
    return rc;
}

int mcring_set_multi_values(mcring_client *c, const mcring_value_kv *kvs,
                            size_t n, const char *codec_name,
                            const void *server_key, size_t server_key_len,
                            double ttl, int *status)
{
    if (c == NULL || (kvs == NULL && n > 0))
        return MCRING_EINVAL;
    const mcring_codec *codec =
        codec_registry_find(&c->codecs, codec_name ? codec_name : "json");
    if (codec == NULL)
        return MCRING_ECODEC;
    if (n == 0)
        return mcring_set_multi(c, NULL, 0, server_key, server_key_len, ttl,
                                status);
    mcring_item *bufs = calloc(n, sizeof(*bufs));
    mcring_kv *kv = calloc(n, sizeof(*kv));
    int rc = bufs != NULL && kv != NULL ? 0 : MCRING_ENOMEM;
    size_t bad = n;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = kvs[i].value != NULL
                 ? mcring_codec_encode(codec, kvs[i].value, &bufs[i])
                 : MCRING_EINVAL;
        if (rc != 0) {
            bad = i;
            break;
        }
        kv[i] = (mcring_kv){kvs[i].key, kvs[i].key_len, bufs[i].data,
                            bufs[i].len, bufs[i].flags};
    }
    if (rc == 0) {
        rc = mcring_set_multi(c, kv, n, server_key, server_key_len, ttl,
                              status);
    } else if (status != NULL) {
        /* As for a bad key in mcring_set_multi: nothing was sent. */
        for (size_t i = 0; i < n; i++)
            status[i] = i == bad || bad == n ? rc : MCRING_ECANCELED;
    }
    if (bufs != NULL)
        for (size_t i = 0; i < n; i++)
            mcring_item_release(&bufs[i]);
    free(bufs);
    free(kv);
    return rc;
}
