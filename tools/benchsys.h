/*
 * What a benchmark run cost the process, as the kernel counts it: system
 * calls by kind (perf_event_open on the syscalls:sys_enter_* tracepoints,
 * inherited by every thread started after the counters were opened),
 * sockets open, CPU time and context switches (getrusage). Shared by
 * `mcring bench` and the comparison suite through benchcore.
 *
 * The counters need perf events on tracepoints: root (or CAP_PERFMON) and
 * tracefs (/sys/kernel/tracing or /sys/kernel/debug/tracing). Without
 * them the counts are unavailable (negative) and everything else works.
 * Linux only.
 */
#ifndef MCRING_BENCHSYS_H
#define MCRING_BENCHSYS_H

#include <stdbool.h>

/* The kinds of system call counted. */
enum {
    BENCH_SC_SOCKET = 0, /* sendmsg, sendto, recvfrom, recvmsg, read, write,
                          * writev, readv */
    BENCH_SC_POLL = 1,   /* poll, ppoll */
    BENCH_SC_EPOLL = 2,  /* epoll_wait, epoll_pwait */
    BENCH_SC_FUTEX = 3,  /* futex */
    BENCH_SC_KINDS = 4,
};

#define BENCH_SC_MAX 16

/* Open tracepoint counters of the calling thread and the threads it starts
 * afterwards. */
typedef struct bench_syscounter {
    int fd[BENCH_SC_MAX];
    int kind[BENCH_SC_MAX];
    int n;
} bench_syscounter;

/*
 * Opens the counters, stopped, for the calling thread and every thread (or
 * child process) it starts later; threads that already run are not
 * counted. Returns 0, or -1 when perf events on the syscall tracepoints are
 * not available (why, if not NULL, says what failed); the counter then
 * reads as unavailable. Call from the thread that will start the workers.
 */
int bench_syscounter_open(bench_syscounter *c, const char **why);

/* Starts counting, in the opening thread and in the threads it started
 * since. */
void bench_syscounter_start(bench_syscounter *c);

/* The counts since starting into out[BENCH_SC_KINDS] (summed over the
 * threads, running or ended); every out[i] is -1 when not available. */
void bench_syscounter_read(const bench_syscounter *c,
                           double out[BENCH_SC_KINDS]);

/* Closes the counters. Accepts a counter that failed to open. */
void bench_syscounter_close(bench_syscounter *c);

/* Sockets this process has open now (entries of /proc/self/fd that are
 * sockets), or -1 when /proc cannot be read. */
long bench_count_sockets(void);

/* CPU seconds of the whole process (every thread, running or ended) and
 * its context switches, voluntary and not. */
typedef struct bench_cpu {
    double user, sys;
    long switches;
} bench_cpu;

void bench_cpu_now(bench_cpu *out);

#endif
