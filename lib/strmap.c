#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "mcring.h"
#include "strmap.h"

/* ---- SipHash-1-3 (Aumasson and Bernstein), the variant Python uses ---- */

static inline uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#define SIP_ROUND(v0, v1, v2, v3)                                              \
    do {                                                                       \
        v0 += v1;                                                              \
        v1 = rotl(v1, 13);                                                     \
        v1 ^= v0;                                                              \
        v0 = rotl(v0, 32);                                                     \
        v2 += v3;                                                              \
        v3 = rotl(v3, 16);                                                     \
        v3 ^= v2;                                                              \
        v0 += v3;                                                              \
        v3 = rotl(v3, 21);                                                     \
        v3 ^= v0;                                                              \
        v2 += v1;                                                              \
        v1 = rotl(v1, 17);                                                     \
        v1 ^= v2;                                                              \
        v2 = rotl(v2, 32);                                                     \
    } while (0)

uint64_t strmap_siphash13(const unsigned char k[16], const void *data,
                          size_t len)
{
    const unsigned char *p = data;
    uint64_t k0 = load_le64(k), k1 = load_le64(k + 8);
    uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
    uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
    uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
    uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(p + i);
        v3 ^= m;
        SIP_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)p[full + i] << (8 * i);
    v3 ^= b;
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- the process's hash key --------------------------------------------- */

static unsigned char hash_key[16];
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;

static void hash_key_init(void)
{
    size_t got = 0;
    while (got < sizeof(hash_key)) {
        ssize_t n = getrandom(hash_key + got, sizeof(hash_key) - got,
                              GRND_NONBLOCK);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < sizeof(hash_key)) {
        /* No entropy yet (early boot): the clock and addresses still make
         * the key unpredictable enough for table balance. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t a = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                     (uint64_t)(uintptr_t)&ts;
        uint64_t b = (uint64_t)getpid() ^ (uint64_t)(uintptr_t)&hash_key;
        memcpy(hash_key, &a, 8);
        memcpy(hash_key + 8, &b, 8);
    }
}

uint64_t strmap_hash(uint32_t tag, const void *key, size_t len)
{
    pthread_once(&hash_key_once, hash_key_init);
    uint64_t h = strmap_siphash13(hash_key, key, len);
    /* The tag is mixed in after the keyed hash: tags are the caller's small
     * integers, not input an adversary picks. */
    return h ^ ((uint64_t)tag * UINT64_C(0x9e3779b97f4a7c15));
}

/* ---- the table ------------------------------------------------------------ */

int strmap_init(strmap *m, size_t expected)
{
    size_t cap = 16;
    while (cap / 2 < expected)
        cap *= 2;
    m->slots = calloc(cap, sizeof(*m->slots));
    if (m->slots == NULL) {
        m->mask = 0;
        m->count = 0;
        return MCRING_ENOMEM;
    }
    m->mask = cap - 1;
    m->count = 0;
    return 0;
}

void strmap_free(strmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->mask = 0;
    m->count = 0;
}

static bool slot_is(const strmap_slot *s, uint64_t h, uint32_t tag,
                    const void *key, size_t len)
{
    return s->hash == h && s->tag == tag && s->len == len &&
           (len == 0 || memcmp(s->key, key, len) == 0);
}

/* The slot holding the key, or the empty slot where it would go. */
static size_t find_slot(const strmap *m, uint64_t h, uint32_t tag,
                        const void *key, size_t len)
{
    size_t i = (size_t)h & m->mask;
    while (m->slots[i].key != NULL && !slot_is(&m->slots[i], h, tag, key, len))
        i = (i + 1) & m->mask;
    return i;
}

void *strmap_get(const strmap *m, uint32_t tag, const void *key, size_t len)
{
    if (m->slots == NULL)
        return NULL;
    uint64_t h = strmap_hash(tag, key, len);
    size_t i = find_slot(m, h, tag, key, len);
    return m->slots[i].key != NULL ? m->slots[i].value : NULL;
}

static int grow(strmap *m)
{
    size_t cap = (m->mask + 1) * 2;
    strmap_slot *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return MCRING_ENOMEM;
    for (size_t i = 0; i <= m->mask; i++) {
        const strmap_slot *s = &m->slots[i];
        if (s->key == NULL)
            continue;
        size_t j = (size_t)s->hash & (cap - 1);
        while (slots[j].key != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->mask = cap - 1;
    return 0;
}

int strmap_put(strmap *m, uint32_t tag, const void *key, size_t len,
               void *value, void **existing)
{
    if (m->slots == NULL && strmap_init(m, 0) != 0)
        return MCRING_ENOMEM;
    uint64_t h = strmap_hash(tag, key, len);
    size_t i = find_slot(m, h, tag, key, len);
    if (m->slots[i].key != NULL) {
        if (existing != NULL)
            *existing = m->slots[i].value;
        return 1;
    }
    if ((m->count + 1) * 2 > m->mask + 1) {
        if (grow(m) != 0)
            return MCRING_ENOMEM;
        i = find_slot(m, h, tag, key, len);
    }
    /* An empty key still needs a non-NULL pointer to mark the slot used. */
    m->slots[i] = (strmap_slot){len ? key : (const void *)"", len, h, tag,
                                value};
    m->count++;
    return 0;
}

void *strmap_remove(strmap *m, uint32_t tag, const void *key, size_t len)
{
    if (m->slots == NULL)
        return NULL;
    uint64_t h = strmap_hash(tag, key, len);
    size_t i = find_slot(m, h, tag, key, len);
    if (m->slots[i].key == NULL)
        return NULL;
    void *value = m->slots[i].value;
    /* Backward-shift deletion: pull later members of the probe run into
     * the hole when their home slot is not between the hole and them. */
    size_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        if (m->slots[j].key == NULL)
            break;
        size_t home = (size_t)m->slots[j].hash & m->mask;
        bool movable = hole <= j ? (home <= hole || home > j)
                                 : (home <= hole && home > j);
        if (movable) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole] = (strmap_slot){0};
    m->count--;
    return value;
}

void strmap_each(const strmap *m, void (*fn)(void *value, void *ctx),
                 void *ctx)
{
    if (m->slots == NULL)
        return;
    for (size_t i = 0; i <= m->mask; i++)
        if (m->slots[i].key != NULL)
            fn(m->slots[i].value, ctx);
}
