/*
 * Stress, as a Criterion test: see scenario.c for what runs. Checks that no
 * call fails (a server that really left may only appear in error logs),
 * that every value read is one that was written, that counters stay within
 * what was added, that no server's open connections exceed
 * max_connections, and that nothing — connection, descriptor, or (under
 * ASan) allocation — is left behind. Length: MCRING_STRESS_SECONDS (the
 * meson option stress_seconds); callers: MCRING_STRESS_THREADS (the meson
 * option stress_threads).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "scenario.h"

Test(stress, swaps_under_load, .timeout = 1800)
{
    const char *env = getenv("MCRING_STRESS_SECONDS");
    const char *threads = getenv("MCRING_STRESS_THREADS");
    stress_report r;
    stress_run(env ? atof(env) : 8, threads ? atoi(threads) : 256, &r);
    cr_assert_eq(stress_judge(&r), 0, "see the report above");
}
