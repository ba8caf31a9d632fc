/* Linux futexes on a 32-bit word, process-private. */
#ifndef MCRING_FUTEX_H
#define MCRING_FUTEX_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

/* Sleeps while *word == val, at most timeout_ns (> 0). May return early
 * for any reason: callers re-check what they wait for. */
static inline void futex_wait(_Atomic uint32_t *word, uint32_t val,
                              int64_t timeout_ns)
{
    struct timespec ts = {(time_t)(timeout_ns / NS_PER_SEC),
                          (long)(timeout_ns % NS_PER_SEC)};
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

/* Wakes up to n sleepers on word. The word may belong to memory that was
 * freed since: the call touches no memory, and a sleeper woken for
 * nothing re-checks and sleeps again. */
static inline void futex_wake(_Atomic uint32_t *word, int n)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

#endif
