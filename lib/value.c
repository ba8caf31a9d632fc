/*
 * The value model: constructors, containers, accessors, equality and the
 * non-recursive free. See value.h for the node layout.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "value.h"

static mcring_value *node_new(mcring_value_kind kind)
{
    mcring_value *v = calloc(1, sizeof(*v));
    if (v != NULL)
        v->kind = (uint8_t)kind;
    return v;
}

mcring_value *value_alloc_payload(mcring_value_kind kind, size_t cap)
{
    if (cap > SIZE_MAX - sizeof(mcring_value) - 1)
        return NULL;
    mcring_value *v = malloc(sizeof(*v) + cap + 1);
    if (v == NULL)
        return NULL;
    memset(v, 0, sizeof(*v));
    v->kind = (uint8_t)kind;
    v->as.bytes = v->payload;
    v->payload[0] = '\0';
    return v;
}

mcring_value *value_new_payload(mcring_value_kind kind, const void *data,
                                size_t len)
{
    mcring_value *v = value_alloc_payload(kind, len);
    if (v == NULL)
        return NULL;
    if (len > 0)
        memcpy(v->payload, data, len);
    v->payload[len] = '\0';
    v->len = len;
    return v;
}

/* ---- constructors ------------------------------------------------------- */

mcring_value *mcring_value_new_null(void)
{
    return node_new(MCRING_VALUE_NULL);
}

mcring_value *mcring_value_new_bool(int b)
{
    mcring_value *v = node_new(MCRING_VALUE_BOOL);
    if (v != NULL)
        v->as.b = b != 0;
    return v;
}

mcring_value *mcring_value_new_int(int64_t i)
{
    mcring_value *v = node_new(MCRING_VALUE_INT);
    if (v != NULL)
        v->as.i = i;
    return v;
}

mcring_value *mcring_value_new_uint(uint64_t u)
{
    if (u <= (uint64_t)INT64_MAX)
        return mcring_value_new_int((int64_t)u);
    mcring_value *v = node_new(MCRING_VALUE_UINT);
    if (v != NULL)
        v->as.u = u;
    return v;
}

mcring_value *mcring_value_new_double(double d)
{
    mcring_value *v = node_new(MCRING_VALUE_DOUBLE);
    if (v != NULL)
        v->as.d = d;
    return v;
}

mcring_value *mcring_value_new_string(const char *s, size_t len)
{
    if (s == NULL && len > 0)
        return NULL;
    if (len > 0 && !utf8_valid((const unsigned char *)s, len))
        return NULL;
    return value_new_payload(MCRING_VALUE_STRING, s, len);
}

mcring_value *mcring_value_new_bytes(const void *data, size_t len)
{
    if (data == NULL && len > 0)
        return NULL;
    return value_new_payload(MCRING_VALUE_BYTES, data, len);
}

mcring_value *mcring_value_new_ext(int8_t type, const void *data, size_t len)
{
    if ((data == NULL && len > 0) || len > UINT32_MAX)
        return NULL;
    mcring_value *v = value_new_payload(MCRING_VALUE_EXT, data, len);
    if (v != NULL)
        v->ext_type = type;
    return v;
}

mcring_value *mcring_value_new_timestamp(int64_t sec, uint32_t nsec)
{
    if (nsec >= 1000000000u)
        return NULL;
    mcring_value *v = node_new(MCRING_VALUE_TIMESTAMP);
    if (v != NULL) {
        v->as.sec = sec;
        v->nsec = nsec;
    }
    return v;
}

mcring_value *mcring_value_new_array(void)
{
    return node_new(MCRING_VALUE_ARRAY);
}

mcring_value *mcring_value_new_map(void)
{
    return node_new(MCRING_VALUE_MAP);
}

/* ---- freeing ------------------------------------------------------------ */

void mcring_value_free(mcring_value *v)
{
    if (v == NULL)
        return;
    if (!value_is_container(v)) {
        free(v);
        return;
    }
    /* Containers whose children are still to be freed form a list through
     * u.link (their capacity is no longer needed), so any depth is freed
     * in constant stack. */
    v->u.link = NULL;
    mcring_value *todo = v;
    while (todo != NULL) {
        mcring_value *c = todo;
        todo = c->u.link;
        size_t n = c->kind == MCRING_VALUE_MAP ? 2 * c->len : c->len;
        for (size_t i = 0; i < n; i++) {
            mcring_value *child = c->as.items[i];
            if (value_is_container(child)) {
                child->u.link = todo;
                todo = child;
            } else {
                free(child);
            }
        }
        free(c->as.items);
        free(c);
    }
}

/* ---- containers --------------------------------------------------------- */

int value_reserve(mcring_value *c, size_t n)
{
    size_t per = c->kind == MCRING_VALUE_MAP ? 2 : 1;
    if (n <= c->u.cap - c->len)
        return 0;
    if (n > SIZE_MAX / (2 * per * sizeof(mcring_value *)) - c->len)
        return MCRING_ENOMEM;
    size_t want = c->len + n;
    size_t cap = c->u.cap < 4 ? 4 : c->u.cap * 2;
    if (cap < want)
        cap = want;
    mcring_value **items = realloc(c->as.items, cap * per * sizeof(*items));
    if (items == NULL)
        return MCRING_ENOMEM;
    c->as.items = items;
    c->u.cap = cap;
    return 0;
}

int value_array_append(mcring_value *array, mcring_value *item)
{
    if (array->len == array->u.cap && value_reserve(array, 1) != 0)
        return MCRING_ENOMEM;
    array->as.items[array->len++] = item;
    return 0;
}

int value_map_append(mcring_value *map, mcring_value *key, mcring_value *value)
{
    if (map->len == map->u.cap && value_reserve(map, 1) != 0)
        return MCRING_ENOMEM;
    map->as.items[2 * map->len] = key;
    map->as.items[2 * map->len + 1] = value;
    map->len++;
    return 0;
}

int mcring_value_array_push(mcring_value *array, mcring_value *item)
{
    if (array == NULL || array->kind != MCRING_VALUE_ARRAY || item == NULL ||
        item == array) {
        if (item != array)
            mcring_value_free(item);
        return MCRING_EINVAL;
    }
    int rc = value_array_append(array, item);
    if (rc != 0)
        mcring_value_free(item);
    return rc;
}

int mcring_value_map_add(mcring_value *map, mcring_value *key,
                         mcring_value *value)
{
    if (map == NULL || map->kind != MCRING_VALUE_MAP || key == NULL ||
        value == NULL || key == map || value == map || key == value) {
        if (key != map)
            mcring_value_free(key);
        if (value != map && value != key)
            mcring_value_free(value);
        return MCRING_EINVAL;
    }
    int rc = value_map_append(map, key, value);
    if (rc != 0) {
        mcring_value_free(key);
        mcring_value_free(value);
    }
    return rc;
}

int mcring_value_map_add_str(mcring_value *map, const char *key,
                             mcring_value *value)
{
    if (key == NULL) {
        if (value != map)
            mcring_value_free(value);
        return MCRING_EINVAL;
    }
    mcring_value *k = mcring_value_new_string(key, strlen(key));
    if (k == NULL) {
        if (value != map)
            mcring_value_free(value);
        return utf8_valid((const unsigned char *)key, strlen(key))
                   ? MCRING_ENOMEM
                   : MCRING_EINVAL;
    }
    return mcring_value_map_add(map, k, value);
}

/* ---- accessors ---------------------------------------------------------- */

mcring_value_kind mcring_value_kind_of(const mcring_value *v)
{
    return v == NULL ? MCRING_VALUE_NULL : (mcring_value_kind)v->kind;
}

const char *mcring_value_kind_name(mcring_value_kind kind)
{
    static const char *const names[] = {
        [MCRING_VALUE_NULL] = "null",       [MCRING_VALUE_BOOL] = "bool",
        [MCRING_VALUE_INT] = "int",         [MCRING_VALUE_UINT] = "uint",
        [MCRING_VALUE_DOUBLE] = "double",   [MCRING_VALUE_STRING] = "string",
        [MCRING_VALUE_BYTES] = "bytes",     [MCRING_VALUE_ARRAY] = "array",
        [MCRING_VALUE_MAP] = "map",         [MCRING_VALUE_EXT] = "ext",
        [MCRING_VALUE_TIMESTAMP] = "timestamp",
    };
    if ((unsigned)kind >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[kind];
}

int mcring_value_get_bool(const mcring_value *v, int *out)
{
    if (v == NULL || v->kind != MCRING_VALUE_BOOL || out == NULL)
        return MCRING_EINVAL;
    *out = v->as.b;
    return 0;
}

int mcring_value_get_int(const mcring_value *v, int64_t *out)
{
    if (v == NULL || v->kind != MCRING_VALUE_INT || out == NULL)
        return MCRING_EINVAL;
    *out = v->as.i;
    return 0;
}

int mcring_value_get_uint(const mcring_value *v, uint64_t *out)
{
    if (v == NULL || out == NULL)
        return MCRING_EINVAL;
    if (v->kind == MCRING_VALUE_UINT) {
        *out = v->as.u;
        return 0;
    }
    if (v->kind == MCRING_VALUE_INT && v->as.i >= 0) {
        *out = (uint64_t)v->as.i;
        return 0;
    }
    return MCRING_EINVAL;
}

int mcring_value_get_double(const mcring_value *v, double *out)
{
    if (v == NULL || out == NULL)
        return MCRING_EINVAL;
    switch (v->kind) {
    case MCRING_VALUE_DOUBLE:
        *out = v->as.d;
        return 0;
    case MCRING_VALUE_INT:
        *out = (double)v->as.i;
        return 0;
    case MCRING_VALUE_UINT:
        *out = (double)v->as.u;
        return 0;
    default:
        return MCRING_EINVAL;
    }
}

const char *mcring_value_get_string(const mcring_value *v, size_t *len)
{
    if (v == NULL || v->kind != MCRING_VALUE_STRING)
        return NULL;
    if (len != NULL)
        *len = v->len;
    return v->as.bytes;
}

const void *mcring_value_get_bytes(const mcring_value *v, size_t *len)
{
    if (v == NULL || v->kind != MCRING_VALUE_BYTES)
        return NULL;
    if (len != NULL)
        *len = v->len;
    return v->as.bytes;
}

int mcring_value_get_ext(const mcring_value *v, int8_t *type,
                         const void **data, size_t *len)
{
    if (v == NULL || v->kind != MCRING_VALUE_EXT)
        return MCRING_EINVAL;
    if (type != NULL)
        *type = v->ext_type;
    if (data != NULL)
        *data = v->as.bytes;
    if (len != NULL)
        *len = v->len;
    return 0;
}

int mcring_value_get_timestamp(const mcring_value *v, int64_t *sec,
                               uint32_t *nsec)
{
    if (v == NULL || v->kind != MCRING_VALUE_TIMESTAMP)
        return MCRING_EINVAL;
    if (sec != NULL)
        *sec = v->as.sec;
    if (nsec != NULL)
        *nsec = v->nsec;
    return 0;
}

size_t mcring_value_count(const mcring_value *v)
{
    return v != NULL && value_is_container(v) ? v->len : 0;
}

const mcring_value *mcring_value_array_at(const mcring_value *v, size_t i)
{
    if (v == NULL || v->kind != MCRING_VALUE_ARRAY || i >= v->len)
        return NULL;
    return v->as.items[i];
}

const mcring_value *mcring_value_map_key_at(const mcring_value *v, size_t i)
{
    if (v == NULL || v->kind != MCRING_VALUE_MAP || i >= v->len)
        return NULL;
    return v->as.items[2 * i];
}

const mcring_value *mcring_value_map_value_at(const mcring_value *v, size_t i)
{
    if (v == NULL || v->kind != MCRING_VALUE_MAP || i >= v->len)
        return NULL;
    return v->as.items[2 * i + 1];
}

const mcring_value *mcring_value_map_find(const mcring_value *v,
                                          const char *key, size_t len)
{
    if (v == NULL || v->kind != MCRING_VALUE_MAP || (key == NULL && len > 0))
        return NULL;
    /* From the end: with repeated keys the last one wins, as in a Python
     * dict built from the same pairs. */
    for (size_t i = v->len; i-- > 0;) {
        const mcring_value *k = v->as.items[2 * i];
        if (k->kind == MCRING_VALUE_STRING && k->len == len &&
            (len == 0 || memcmp(k->as.bytes, key, len) == 0))
            return v->as.items[2 * i + 1];
    }
    return NULL;
}

/* ---- equality ----------------------------------------------------------- */

static int equal_at(const mcring_value *a, const mcring_value *b, int depth)
{
    if (a->kind != b->kind)
        return 0;
    switch ((mcring_value_kind)a->kind) {
    case MCRING_VALUE_NULL:
        return 1;
    case MCRING_VALUE_BOOL:
        return a->as.b == b->as.b;
    case MCRING_VALUE_INT:
        return a->as.i == b->as.i;
    case MCRING_VALUE_UINT:
        return a->as.u == b->as.u;
    case MCRING_VALUE_DOUBLE:
        return a->as.d == b->as.d || (isnan(a->as.d) && isnan(b->as.d));
    case MCRING_VALUE_EXT:
        if (a->ext_type != b->ext_type)
            return 0;
        /* fall through */
    case MCRING_VALUE_STRING:
    case MCRING_VALUE_BYTES:
        return a->len == b->len &&
               (a->len == 0 || memcmp(a->as.bytes, b->as.bytes, a->len) == 0);
    case MCRING_VALUE_TIMESTAMP:
        return a->as.sec == b->as.sec && a->nsec == b->nsec;
    case MCRING_VALUE_ARRAY:
    case MCRING_VALUE_MAP: {
        if (a->len != b->len || depth >= MCRING_VALUE_DEPTH_MAX)
            return 0;
        size_t n = a->kind == MCRING_VALUE_MAP ? 2 * a->len : a->len;
        for (size_t i = 0; i < n; i++)
            if (!equal_at(a->as.items[i], b->as.items[i], depth + 1))
                return 0;
        return 1;
    }
    }
    return 0;
}

int mcring_value_equal(const mcring_value *a, const mcring_value *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return equal_at(a, b, 0);
}
