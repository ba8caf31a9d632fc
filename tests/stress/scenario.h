/* The stress scenario shared by the Criterion test and the TSan driver. */
#ifndef MCRING_TEST_SCENARIO_H
#define MCRING_TEST_SCENARIO_H

#define NSERVERS 6
#define KILLABLE 5
#define MAX_THREADS 1024
#define NKEYS 500
#define NCOUNTERS 4
#define MAX_CONNS 2

typedef struct stress_report {
    double seconds;
    int threads;
    long ops, swaps, mode_flips, kills, stops, log_lines;
    long multi_gets, deletes;
    long swap_errors;
    char swap_error[256];
    long failures;
    int first_failure;
    long foreign_logs; /* errors naming a server that never left */
    char foreign_example[256];
    long bad_values, bad_counters, over_limit;
    long leaked_connections; /* worst server, over its baseline */
    int fds_before, fds_after;
    double join_seconds, free_seconds;
} stress_report;

/* Starts the servers, runs the scenario for `seconds` with `threads`
 * callers (at most MAX_THREADS), stops everything. */
void stress_run(double seconds, int threads, stress_report *rep);

/* Prints the report and returns the number of checks that failed. */
int stress_judge(const stress_report *rep);

#endif
