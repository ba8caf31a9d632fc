/*
 * ThreadSanitizer annotations for the two hand-offs it cannot see itself:
 * concurrencykit's stack (its CAS is inline assembly) and liburcu's
 * publication and grace periods (xchg in assembly, membarrier). Each
 * RELEASE/ACQUIRE pair states a happens-before edge that the real
 * primitive guarantees. Without TSan these compile to nothing.
 */
#ifndef MCRING_TSAN_H
#define MCRING_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define MCRING_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MCRING_TSAN 1
#endif
#endif

#ifdef MCRING_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define TSAN_ACQUIRE(p) __tsan_acquire((void *)(p))
#define TSAN_RELEASE(p) __tsan_release((void *)(p))
#else
#define TSAN_ACQUIRE(p) ((void)0)
#define TSAN_RELEASE(p) ((void)0)
#endif

#endif
