/*
 * The codec vtable's plumbing: encoding and decoding through any codec,
 * the per-client registry and the choice of codec by flags. The codecs
 * themselves (codec_raw.c, codec_json.c, codec_msgpack.c) know nothing of
 * this file: the registry reaches the built-in ones through the table
 * below, and added ones through the slots mcring_client_add_codec fills.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "value.h"

/* ---- through any codec -------------------------------------------------- */

int mcring_codec_encode(const mcring_codec *codec, const mcring_value *value,
                        mcring_item *out)
{
    if (codec == NULL || codec->encode == NULL || value == NULL || out == NULL)
        return MCRING_EINVAL;
    out->len = 0;
    out->flags = codec->flags;
    int rc = codec->encode(codec->userdata, value, out);
    if (rc > 0)
        rc = MCRING_EENCODE; /* a codec must not invent outcomes */
    if (rc != 0) {
        out->len = 0;
        if (out->data != NULL)
            out->data[0] = '\0';
        return rc;
    }
    if (out->data != NULL)
        out->data[out->len] = '\0';
    return 0;
}

int mcring_codec_decode(const mcring_codec *codec, const void *data,
                        size_t len, mcring_value **out)
{
    if (out != NULL)
        *out = NULL;
    if (codec == NULL || codec->decode == NULL || out == NULL ||
        (data == NULL && len > 0))
        return MCRING_EINVAL;
    int rc = codec->decode(codec->userdata, data != NULL ? data : "", len, out);
    if (rc == 0 && *out == NULL)
        rc = MCRING_EDECODE;
    if (rc > 0)
        rc = MCRING_EDECODE;
    if (rc != 0 && *out != NULL) {
        mcring_value_free(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- a client's codecs -------------------------------------------------- */

/* The built-in codecs, in the order a name or flags are matched against
 * them: raw first, whose flags (0) no item's flags claim. */
static const mcring_codec *(*const builtins[])(void) = {
    mcring_codec_raw,
    mcring_codec_json,
    mcring_codec_msgpack,
};
#define BUILTINS (sizeof(builtins) / sizeof(builtins[0]))

static const mcring_codec *builtin(size_t i)
{
    return builtins[i]();
}

const mcring_codec *codec_registry_find(codec_registry *r, const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < BUILTINS; i++)
        if (strcmp(builtin(i)->name, name) == 0)
            return builtin(i);
    size_t n = atomic_load_explicit(&r->count, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (strcmp(r->slots[i].name, name) == 0)
            return &r->slots[i].codec;
    return NULL;
}

/* Whether an item with `flags` is marked with codec c's bits. */
static int claims(const mcring_codec *c, uint32_t flags)
{
    return c->flags != 0 && (flags & c->flags) == c->flags;
}

const mcring_codec *codec_registry_for_flags(codec_registry *r,
                                             uint32_t flags)
{
    /* Pickle is never decoded, whatever else is set (Swift treats flags 3
     * as pickled too). */
    if (flags & MCRING_FLAG_PICKLE)
        return NULL;
    const mcring_codec *found = NULL;
    for (size_t i = 1; i < BUILTINS; i++)
        if (claims(builtin(i), flags)) {
            if (found != NULL)
                return NULL;
            found = builtin(i);
        }
    size_t n = atomic_load_explicit(&r->count, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (claims(&r->slots[i].codec, flags)) {
            if (found != NULL)
                return NULL; /* the bits of two codecs: which one wrote it? */
            found = &r->slots[i].codec;
        }
    return found != NULL ? found : mcring_codec_raw();
}

/* Checks codec against the built-ins and slots[0..n). */
static int check_new(codec_registry *r, size_t n, const mcring_codec *codec,
                     char *err, size_t errlen)
{
    if (codec->name == NULL || codec->name[0] == '\0' ||
        strlen(codec->name) >= MCRING_CODEC_NAME_MAX)
        return err_set(err, errlen, MCRING_ECODEC,
                       "a codec name is 1 to %d bytes",
                       MCRING_CODEC_NAME_MAX - 1);
    if (codec->encode == NULL || codec->decode == NULL)
        return err_set(err, errlen, MCRING_ECODEC,
                       "codec %s: encode and decode are both required",
                       codec->name);
    if (codec->flags == 0)
        return err_set(err, errlen, MCRING_ECODEC,
                       "codec %s: needs at least one flag bit of its own "
                       "(flags 0 are raw bytes)",
                       codec->name);
    if (codec->flags & MCRING_FLAG_PICKLE)
        return err_set(err, errlen, MCRING_ECODEC,
                       "codec %s: flag bit 1 is Swift's pickle and is never "
                       "decoded",
                       codec->name);
    if (codec->flags & (MCRING_FLAG_ZLIB | MCRING_FLAG_ZSTD))
        return err_set(err, errlen, MCRING_ECODEC,
                       "codec %s: flags 0x%x share bits 0x%x with the "
                       "compression layer (zlib 0x%x, zstd 0x%x)",
                       codec->name, (unsigned)codec->flags,
                       (unsigned)(codec->flags &
                                  (MCRING_FLAG_ZLIB | MCRING_FLAG_ZSTD)),
                       MCRING_FLAG_ZLIB, MCRING_FLAG_ZSTD);
    for (size_t i = 0; i < BUILTINS + n; i++) {
        const mcring_codec *c =
            i < BUILTINS ? builtin(i) : &r->slots[i - BUILTINS].codec;
        if (strcmp(c->name, codec->name) == 0)
            return err_set(err, errlen, MCRING_ECODEC,
                           "codec %s: the name is taken", codec->name);
        if (c->flags & codec->flags)
            return err_set(err, errlen, MCRING_ECODEC,
                           "codec %s: flags 0x%x share bits 0x%x with codec "
                           "%s",
                           codec->name, (unsigned)codec->flags,
                           (unsigned)(c->flags & codec->flags), c->name);
    }
    if (n == CODEC_ADDED_MAX)
        return err_set(err, errlen, MCRING_ECODEC,
                       "codec %s: no room for more codecs", codec->name);
    return 0;
}

int codec_registry_add(codec_registry *r, const mcring_codec *codec,
                       char *err, size_t errlen)
{
    if (r == NULL || codec == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    int expected = 0;
    while (!atomic_compare_exchange_weak_explicit(
        &r->busy, &expected, 1, memory_order_acquire, memory_order_relaxed)) {
        expected = 0;
        sched_yield();
    }
    size_t n = atomic_load_explicit(&r->count, memory_order_relaxed);
    int rc = check_new(r, n, codec, err, errlen);
    if (rc == 0) {
        codec_slot *s = &r->slots[n];
        s->codec = *codec;
        strcpy(s->name, codec->name);
        s->codec.name = s->name;
        /* The slot is complete before readers can see it. */
        atomic_store_explicit(&r->count, n + 1, memory_order_release);
    }
    atomic_store_explicit(&r->busy, 0, memory_order_release);
    return rc;
}
