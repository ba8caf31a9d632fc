#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "flight.h"
#include "futex.h"
#include "item.h"

#define FLIGHT_BUCKETS 256

/* A get waiting for another's reply. Lives on its caller's stack. */
typedef struct joiner {
    struct joiner *next;
    mcring_item *item;
    int rc;
    _Atomic uint32_t done;
} joiner;

/* A get in flight that others may join. Lives on its leader's stack. */
typedef struct flight {
    struct flight *next;
    const mcring_client *client;
    const char *key; /* the wire key, valid while the leader's call runs */
    size_t key_len;
    bool joinable;
    joiner *joiners; /* [bucket lock] */
} flight;

static struct bucket {
    pthread_mutex_t lock;
    flight *head;
} buckets[FLIGHT_BUCKETS] = {
    [0 ... FLIGHT_BUCKETS - 1] = {PTHREAD_MUTEX_INITIALIZER, NULL},
};

static struct bucket *bucket_of(const mcring_client *c, const key_op *k)
{
    uint64_t h;
    memcpy(&h, k->kh.md5, sizeof(h));
    h ^= (uint64_t)(uintptr_t)c * UINT64_C(0x9E3779B97F4A7C15);
    return &buckets[(h ^ (h >> 32)) % FLIGHT_BUCKETS];
}

static bool same(const flight *f, const mcring_client *c, const key_op *k)
{
    return f->client == c && f->key_len == k->wire_len &&
           memcmp(f->key, k->wire, k->wire_len) == 0;
}

/* Gives a joiner the leader's result. */
static void hand_over(joiner *j, int rc, const mcring_item *from)
{
    mcring_item *to = j->item;
    to->len = 0;
    to->flags = 0;
    to->cas = 0;
    if (rc == MCRING_OK || rc == MCRING_UNDECODABLE) {
        if (item_reserve(to, from->len) != 0) {
            rc = MCRING_ENOMEM;
        } else {
            if (from->len > 0)
                memcpy(to->data, from->data, from->len);
            to->len = from->len;
            to->data[to->len] = '\0';
            to->flags = from->flags;
        }
    }
    j->rc = rc;
}

int flight_get(const mcring_client *c, const state *st, const key_op *k,
               mcring_item *out)
{
    struct bucket *b = bucket_of(c, k);
    pthread_mutex_lock(&b->lock);
    for (flight *f = b->head; f != NULL; f = f->next) {
        if (!f->joinable || !same(f, c, k))
            continue;
        joiner j = {.next = f->joiners, .item = out};
        atomic_init(&j.done, 0);
        f->joiners = &j;
        pthread_mutex_unlock(&b->lock);
        /* The leader's get ends within its own timeouts. */
        while (atomic_load_explicit(&j.done, memory_order_acquire) == 0)
            futex_wait(&j.done, 0, NS_PER_SEC);
        return j.rc;
    }
    flight me = {.next = b->head, .client = c, .key = k->wire,
                 .key_len = k->wire_len, .joinable = true};
    b->head = &me;
    pthread_mutex_unlock(&b->lock);

    int rc = ops_get_once(st, k, out);

    pthread_mutex_lock(&b->lock);
    for (flight **p = &b->head; *p != NULL; p = &(*p)->next)
        if (*p == &me) {
            *p = me.next;
            break;
        }
    joiner *list = me.joiners;
    pthread_mutex_unlock(&b->lock);
    while (list != NULL) {
        joiner *next = list->next; /* list is gone once done is set */
        hand_over(list, rc, out);
        atomic_store_explicit(&list->done, 1, memory_order_release);
        futex_wake(&list->done, 1);
        list = next;
    }
    return rc;
}

void flight_wrote(const mcring_client *c, const state *st, const key_op *k)
{
    if (!st->set.single_flight)
        return;
    struct bucket *b = bucket_of(c, k);
    pthread_mutex_lock(&b->lock);
    for (flight *f = b->head; f != NULL; f = f->next)
        if (same(f, c, k))
            f->joinable = false;
    pthread_mutex_unlock(&b->lock);
}
