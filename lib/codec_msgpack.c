/*
 * msgpack: encoding through msgpack-c's packer, which picks the shortest
 * form of every integer and header; doubles that a float holds exactly
 * are written as float32, so every value gets its shortest encoding.
 *
 * Decoding is our own: msgpack-c's unpacker stops at 32 levels (reported
 * as out of memory) and allocates a container's claimed size before the
 * bytes exist (five input bytes ask for 128 GiB); docs/codecs.md shows
 * both. This decoder accepts every valid form, keeps ext types as EXT and
 * reads timestamps (ext -1, all three lengths); it walks the input once
 * with an explicit stack of open containers, so depth costs no C stack,
 * and never reserves more items than the remaining bytes could hold.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include <msgpack/pack.h>

#include "error.h"
#include "item.h"
#include "utf8.h"
#include "value.h"

/* ---- encoding ----------------------------------------------------------- */

typedef struct mpwriter {
    mcring_item *out;
    int rc; /* sticky: msgpack-c ignores some of the writer's answers */
} mpwriter;

static int mp_write(void *data, const char *buf, size_t len)
{
    mpwriter *w = data;
    if (w->rc == 0 && item_put(w->out, buf, len) != 0)
        w->rc = MCRING_ENOMEM;
    return w->rc == 0 ? 0 : -1;
}

static void pack_double(msgpack_packer *pk, double d)
{
    /* A float holds NaN, the infinities and some finite doubles exactly;
     * the range check keeps the conversion defined. */
    if (isnan(d) || isinf(d) || (fabs(d) <= FLT_MAX && (double)(float)d == d))
        msgpack_pack_float(pk, (float)d);
    else
        msgpack_pack_double(pk, d);
}

static int pack_value(msgpack_packer *pk, mpwriter *w, const mcring_value *v,
                      int depth)
{
    if (w->rc != 0)
        return w->rc;
    switch ((mcring_value_kind)v->kind) {
    case MCRING_VALUE_NULL:
        msgpack_pack_nil(pk);
        break;
    case MCRING_VALUE_BOOL:
        if (v->as.b)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        break;
    case MCRING_VALUE_INT:
        msgpack_pack_int64(pk, v->as.i);
        break;
    case MCRING_VALUE_UINT:
        msgpack_pack_uint64(pk, v->as.u);
        break;
    case MCRING_VALUE_DOUBLE:
        pack_double(pk, v->as.d);
        break;
    case MCRING_VALUE_STRING:
        if (v->len > UINT32_MAX)
            return MCRING_EENCODE;
        msgpack_pack_str_with_body(pk, v->as.bytes, v->len);
        break;
    case MCRING_VALUE_BYTES:
        if (v->len > UINT32_MAX)
            return MCRING_EENCODE;
        msgpack_pack_bin_with_body(pk, v->as.bytes, v->len);
        break;
    case MCRING_VALUE_EXT:
        if (v->len > UINT32_MAX)
            return MCRING_EENCODE;
        msgpack_pack_ext_with_body(pk, v->as.bytes, v->len, v->ext_type);
        break;
    case MCRING_VALUE_TIMESTAMP: {
        msgpack_timestamp ts = {v->as.sec, v->nsec};
        msgpack_pack_timestamp(pk, &ts);
        break;
    }
    case MCRING_VALUE_ARRAY:
        if (v->len > UINT32_MAX || depth >= MCRING_VALUE_DEPTH_MAX)
            return MCRING_EENCODE;
        msgpack_pack_array(pk, v->len);
        for (size_t i = 0; i < v->len; i++) {
            int rc = pack_value(pk, w, v->as.items[i], depth + 1);
            if (rc != 0)
                return rc;
        }
        break;
    case MCRING_VALUE_MAP:
        if (v->len > UINT32_MAX || depth >= MCRING_VALUE_DEPTH_MAX)
            return MCRING_EENCODE;
        msgpack_pack_map(pk, v->len);
        for (size_t i = 0; i < 2 * v->len; i++) {
            int rc = pack_value(pk, w, v->as.items[i], depth + 1);
            if (rc != 0)
                return rc;
        }
        break;
    default:
        return MCRING_EENCODE;
    }
    return w->rc;
}

static int msgpack_encode(const mcring_value *v, mcring_item *out)
{
    mpwriter w = {out, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &w, mp_write);
    return pack_value(&pk, &w, v, 0);
}

/* ---- decoding ----------------------------------------------------------- */

typedef struct mpframe {
    mcring_value *c;   /* the open container (owned by its parent) */
    size_t left;       /* items still to come; a map counts keys and values */
    mcring_value *key; /* map: a key waiting for its value, owned here */
} mpframe;

typedef struct mpreader {
    const unsigned char *start, *p, *end;
    char *err;
    size_t errlen;
} mpreader;

static int bad(mpreader *r, const unsigned char *at, const char *why)
{
    return err_set(r->err, r->errlen, MCRING_EDECODE,
                   "invalid msgpack at byte %zu: %s", (size_t)(at - r->start),
                   why);
}

static size_t left_bytes(const mpreader *r)
{
    return (size_t)(r->end - r->p);
}

/* A big-endian unsigned integer of n bytes (1, 2, 4 or 8), if present. */
static bool take_uint(mpreader *r, size_t n, uint64_t *out)
{
    if (left_bytes(r) < n)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | r->p[i];
    r->p += n;
    *out = v;
    return true;
}

static int64_t sign_extend(uint64_t v, size_t bytes)
{
    unsigned shift = 64 - 8 * (unsigned)bytes;
    return (int64_t)(v << shift) >> shift;
}

/* An ext payload of type -1 that is a valid timestamp becomes one; any
 * other ext (timestamps of the wrong length or with nsec >= 1e9 included)
 * stays EXT with its bytes, so re-encoding gives them back unchanged. */
static mcring_value *new_ext(int8_t type, const unsigned char *p, size_t n)
{
    if (type == -1 && (n == 4 || n == 8 || n == 12)) {
        int64_t sec;
        uint64_t nsec = 0, w = 0;
        for (size_t i = 0; i < (n == 12 ? 4 : n); i++)
            w = (w << 8) | p[i];
        if (n == 4) {
            sec = (int64_t)w;
        } else if (n == 8) {
            nsec = w >> 34;
            sec = (int64_t)(w & 0x3FFFFFFFFull);
        } else {
            nsec = w;
            uint64_t s = 0;
            for (size_t i = 4; i < 12; i++)
                s = (s << 8) | p[i];
            sec = (int64_t)s;
        }
        if (nsec < 1000000000u)
            return mcring_value_new_timestamp(sec, (uint32_t)nsec);
    }
    mcring_value *v = value_new_payload(MCRING_VALUE_EXT, p, n);
    if (v != NULL)
        v->ext_type = type;
    return v;
}

/*
 * Reads one item header at r->p into *v. For arrays and maps *v is the
 * new, empty container and *count the items to come (keys and values
 * counted separately), already checked against the bytes left.
 */
static int read_item(mpreader *r, mcring_value **v, size_t *count)
{
    const unsigned char *at = r->p;
    unsigned char b = *r->p++;
    uint64_t n = 0, u;
    mcring_value_kind kind;
    *v = NULL;
    *count = 0;

    if (b <= 0x7f) {
        *v = mcring_value_new_int(b);
        goto made;
    }
    if (b >= 0xe0) {
        *v = mcring_value_new_int((int8_t)b);
        goto made;
    }
    if (b <= 0x8f) {
        n = b & 0x0f;
        goto map;
    }
    if (b <= 0x9f) {
        n = b & 0x0f;
        goto array;
    }
    if (b <= 0xbf) {
        n = b & 0x1f;
        kind = MCRING_VALUE_STRING;
        goto payload;
    }
    switch (b) {
    case 0xc0:
        *v = mcring_value_new_null();
        goto made;
    case 0xc1:
        return bad(r, at, "0xc1 is never used");
    case 0xc2:
    case 0xc3:
        *v = mcring_value_new_bool(b == 0xc3);
        goto made;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        if (!take_uint(r, (size_t)1 << (b - 0xc4), &n))
            goto truncated;
        kind = MCRING_VALUE_BYTES;
        goto payload;
    case 0xc7:
    case 0xc8:
    case 0xc9:
        if (!take_uint(r, (size_t)1 << (b - 0xc7), &n))
            goto truncated;
        goto ext;
    case 0xca: {
        if (!take_uint(r, 4, &u))
            goto truncated;
        uint32_t bits = (uint32_t)u;
        float f;
        memcpy(&f, &bits, sizeof(f));
        *v = mcring_value_new_double(f);
        goto made;
    }
    case 0xcb: {
        if (!take_uint(r, 8, &u))
            goto truncated;
        double d;
        memcpy(&d, &u, sizeof(d));
        *v = mcring_value_new_double(d);
        goto made;
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        if (!take_uint(r, (size_t)1 << (b - 0xcc), &u))
            goto truncated;
        *v = mcring_value_new_uint(u);
        goto made;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
        size_t bytes = (size_t)1 << (b - 0xd0);
        if (!take_uint(r, bytes, &u))
            goto truncated;
        *v = mcring_value_new_int(sign_extend(u, bytes));
        goto made;
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        n = (uint64_t)1 << (b - 0xd4);
        goto ext;
    case 0xd9:
    case 0xda:
    case 0xdb:
        if (!take_uint(r, (size_t)1 << (b - 0xd9), &n))
            goto truncated;
        kind = MCRING_VALUE_STRING;
        goto payload;
    case 0xdc:
    case 0xdd:
        if (!take_uint(r, b == 0xdc ? 2 : 4, &n))
            goto truncated;
        goto array;
    case 0xde:
    case 0xdf:
        if (!take_uint(r, b == 0xde ? 2 : 4, &n))
            goto truncated;
        goto map;
    }
    return bad(r, at, "unknown type byte"); /* not reached: all 256 covered */

payload:
    if (n > left_bytes(r))
        goto truncated;
    if (kind == MCRING_VALUE_STRING && !utf8_valid(r->p, n))
        return bad(r, at, "a str that is not valid UTF-8");
    *v = value_new_payload(kind, r->p, n);
    r->p += n;
    goto made;

ext: {
    uint64_t type;
    if (!take_uint(r, 1, &type) || n > left_bytes(r))
        goto truncated;
    *v = new_ext((int8_t)(uint8_t)type, r->p, n);
    r->p += n;
    goto made;
}

array:
    /* Every item takes at least one byte: a count the rest of the input
     * cannot hold is refused before anything is reserved for it. */
    if (n > left_bytes(r))
        goto truncated;
    *v = mcring_value_new_array();
    if (*v == NULL || value_reserve(*v, n) != 0)
        goto nomem;
    *count = n;
    return 0;

map:
    if (n > left_bytes(r) / 2)
        goto truncated;
    *v = mcring_value_new_map();
    if (*v == NULL || value_reserve(*v, n) != 0)
        goto nomem;
    *count = 2 * n;
    return 0;

made:
    if (*v == NULL)
        goto nomem;
    return 0;

truncated:
    return bad(r, at, "truncated");

nomem:
    mcring_value_free(*v);
    *v = NULL;
    return MCRING_ENOMEM;
}

/* Puts v into the innermost open container (or makes it the root). On
 * failure the caller still owns v. */
static int attach(mpframe *stack, size_t depth, mcring_value **root,
                  mcring_value *v)
{
    if (depth == 0) {
        *root = v;
        return 0;
    }
    mpframe *top = &stack[depth - 1];
    int rc = 0;
    if (top->c->kind == MCRING_VALUE_ARRAY) {
        rc = value_array_append(top->c, v);
    } else if (top->left % 2 == 0) {
        top->key = v; /* keys and values alternate, keys first */
    } else {
        rc = value_map_append(top->c, top->key, v);
        if (rc == 0)
            top->key = NULL;
    }
    if (rc == 0)
        top->left--;
    return rc;
}

static int msgpack_decode(const void *data, size_t len, mcring_value **out,
                          char *err, size_t errlen)
{
    mpreader r = {data, data, (const unsigned char *)data + len, err, errlen};
    *out = NULL;
    if (len > MCRING_VALUE_INPUT_MAX)
        return err_set(err, errlen, MCRING_EDECODE,
                       "msgpack of %zu bytes is larger than %zu", len,
                       MCRING_VALUE_INPUT_MAX);
    mpframe stack[MCRING_VALUE_DEPTH_MAX];
    size_t depth = 0;
    mcring_value *root = NULL;
    int rc;
    for (;;) {
        if (r.p == r.end) {
            rc = bad(&r, r.p, "truncated");
            goto fail;
        }
        const unsigned char *at = r.p;
        mcring_value *v = NULL;
        size_t count = 0;
        if ((rc = read_item(&r, &v, &count)) != 0)
            goto fail;
        if (value_is_container(v) && depth == MCRING_VALUE_DEPTH_MAX) {
            mcring_value_free(v);
            rc = bad(&r, at, "nested deeper than 512 levels");
            goto fail;
        }
        if (attach(stack, depth, &root, v) != 0) {
            mcring_value_free(v);
            rc = MCRING_ENOMEM;
            goto fail;
        }
        if (count > 0)
            stack[depth++] = (mpframe){v, count, NULL};
        while (depth > 0 && stack[depth - 1].left == 0)
            depth--;
        if (depth == 0) {
            if (r.p != r.end) {
                rc = bad(&r, r.p, "extra bytes after the value");
                goto fail;
            }
            *out = root;
            return 0;
        }
    }
fail:
    for (size_t i = 0; i < depth; i++)
        mcring_value_free(stack[i].key);
    mcring_value_free(root);
    return rc;
}

int mcring_msgpack_decode(const void *data, size_t len, mcring_value **out,
                          char *err, size_t errlen)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || (data == NULL && len > 0))
        return err_set(err, errlen, MCRING_EINVAL, "invalid argument");
    return msgpack_decode(data != NULL ? data : "", len, out, err, errlen);
}

/* ---- the codec ---------------------------------------------------------- */

static int msgpack_codec_encode(void *ud, const mcring_value *v,
                                mcring_item *out)
{
    (void)ud;
    return msgpack_encode(v, out);
}

static int msgpack_codec_decode(void *ud, const void *data, size_t len,
                                mcring_value **out)
{
    (void)ud;
    return msgpack_decode(data, len, out, NULL, 0);
}

static const mcring_codec msgpack_codec = {
    .name = "msgpack",
    .flags = MCRING_FLAG_MSGPACK,
    .encode = msgpack_codec_encode,
    .decode = msgpack_codec_decode,
};

const mcring_codec *mcring_codec_msgpack(void)
{
    return &msgpack_codec;
}
