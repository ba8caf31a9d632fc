#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_MIN (64 * 1024)

typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
    /* data follows, 16-byte aligned */
} chunk;

struct arena {
    chunk *head;    /* the block kept between calls */
    chunk *extra;   /* chunks of this call beyond it */
    size_t wanted;  /* what this call asked for in all */
};

static pthread_key_t arena_key;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;

static void arena_destroy(void *p)
{
    arena *a = p;
    arena_end(a);
    free(a->head);
    free(a);
}

static void arena_key_init(void)
{
    pthread_key_create(&arena_key, arena_destroy);
}

#define HDR ((sizeof(chunk) + 15) & ~(size_t)15)

static chunk *chunk_new(size_t cap)
{
    chunk *c = malloc(HDR + cap);
    if (c != NULL) {
        c->next = NULL;
        c->cap = cap;
        c->used = 0;
    }
    return c;
}

arena *arena_begin(void)
{
    pthread_once(&arena_once, arena_key_init);
    arena *a = pthread_getspecific(arena_key);
    if (a == NULL) {
        a = calloc(1, sizeof(*a));
        if (a == NULL || (a->head = chunk_new(ARENA_MIN)) == NULL) {
            free(a);
            return NULL;
        }
        pthread_setspecific(arena_key, a);
    }
    a->head->used = 0;
    a->wanted = 0;
    return a;
}

void *arena_alloc(arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    a->wanted += size;
    chunk *c = a->head;
    if (c->cap - c->used < size) {
        c = a->extra;
        if (c == NULL || c->cap - c->used < size) {
            size_t cap = size > ARENA_MIN ? size : ARENA_MIN;
            chunk *n = chunk_new(cap);
            if (n == NULL)
                return NULL;
            n->next = a->extra;
            a->extra = n;
            c = n;
        }
    }
    void *p = (char *)c + HDR + c->used;
    c->used += size;
    return p;
}

void *arena_zalloc(arena *a, size_t size)
{
    void *p = arena_alloc(a, size);
    if (p != NULL)
        memset(p, 0, size);
    return p;
}

void arena_end(arena *a)
{
    if (a->extra == NULL)
        return;
    while (a->extra != NULL) {
        chunk *n = a->extra->next;
        free(a->extra);
        a->extra = n;
    }
    /* Next time the whole call fits in the block. */
    chunk *bigger = chunk_new(a->wanted);
    if (bigger != NULL) {
        free(a->head);
        a->head = bigger;
    }
}
