/*
 * The stress scenario under ThreadSanitizer, without Criterion (its runner
 * cannot start under the TSan runtime). The library is built with the
 * annotations in lib/tsan.h so that TSan sees the two hand-offs it cannot
 * see by itself: RCU publication and reclamation through liburcu.
 * Exit status: the number of failed checks (TSan reports fail the build
 * through TSAN_OPTIONS=exitcode, see tools/check).
 */
#include <stdio.h>
#include <stdlib.h>

#include "scenario.h"

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 5;
    int threads = argc > 2 ? atoi(argv[2]) : 256;
    stress_report r;
    stress_run(seconds, threads, &r);
    int bad = stress_judge(&r);
    fprintf(stderr, "tsan stress: %s\n", bad ? "FAILED" : "passed");
    return bad;
}
