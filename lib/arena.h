/*
 * A per-thread scratch arena for the multi-key calls: everything a call
 * needs (per-key arrays, groups, request buffers) comes from one block
 * that the thread keeps for its next call, so steady-state multi-gets do
 * not allocate. A call that needs more than the block takes extra chunks;
 * at its end the block grows to what that call used. Freed when the thread
 * exits.
 */
#ifndef MCRING_ARENA_H
#define MCRING_ARENA_H

#include <stddef.h>

typedef struct arena arena;

/* This thread's arena, emptied. NULL if it cannot be set up. */
arena *arena_begin(void);
/* size bytes, 16-byte aligned, valid until arena_end(). NULL: no memory. */
void *arena_alloc(arena *a, size_t size);
/* Like arena_alloc, zeroed. */
void *arena_zalloc(arena *a, size_t size);
/* Ends the call: releases extra chunks, keeping room for next time. */
void arena_end(arena *a);

#endif
