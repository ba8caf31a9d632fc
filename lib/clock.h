/* Time helpers: monotonic nanoseconds for deadlines, wall time for TTLs. */
#ifndef MCRING_CLOCK_H
#define MCRING_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_SEC INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)

/* Monotonic clock in nanoseconds; what every deadline is measured in. */
static inline int64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Wall-clock time in seconds, as Python's time.time(). */
static inline double clock_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds (validated finite and >= 0 by the caller) to nanoseconds,
 * saturating at about 292 years. */
static inline int64_t clock_s_to_ns(double s)
{
    if (s >= 9.2e9)
        return INT64_MAX / 2;
    return (int64_t)(s * 1e9);
}

/* Milliseconds left until deadline for poll(), rounded up, >= 0. */
static inline int clock_ms_left(int64_t deadline_ns, int64_t now_ns)
{
    int64_t left = deadline_ns - now_ns;
    if (left <= 0)
        return 0;
    left = (left + NS_PER_MS - 1) / NS_PER_MS;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

#endif
