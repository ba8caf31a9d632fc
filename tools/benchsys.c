#define _GNU_SOURCE 1
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "benchsys.h"

static const struct {
    const char *name;
    int kind;
} traced[] = {
    {"sendmsg", BENCH_SC_SOCKET},   {"sendto", BENCH_SC_SOCKET},
    {"recvfrom", BENCH_SC_SOCKET},  {"recvmsg", BENCH_SC_SOCKET},
    {"read", BENCH_SC_SOCKET},      {"write", BENCH_SC_SOCKET},
    {"writev", BENCH_SC_SOCKET},    {"readv", BENCH_SC_SOCKET},
    {"poll", BENCH_SC_POLL},        {"ppoll", BENCH_SC_POLL},
    {"epoll_wait", BENCH_SC_EPOLL}, {"epoll_pwait", BENCH_SC_EPOLL},
    {"futex", BENCH_SC_FUTEX},
};

/* The tracepoint's id from tracefs, or -1. */
static long tracepoint_id(const char *syscall_name)
{
    static const char *const roots[] = {"/sys/kernel/tracing",
                                        "/sys/kernel/debug/tracing"};
    for (size_t r = 0; r < sizeof(roots) / sizeof(roots[0]); r++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/events/syscalls/sys_enter_%s/id",
                 roots[r], syscall_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        long id = -1;
        if (fscanf(f, "%ld", &id) != 1)
            id = -1;
        fclose(f);
        if (id >= 0)
            return id;
    }
    return -1;
}

int bench_syscounter_open(bench_syscounter *c, const char **why)
{
    c->n = 0;
    for (size_t i = 0; i < sizeof(traced) / sizeof(traced[0]); i++) {
        long id = tracepoint_id(traced[i].name);
        if (id < 0) {
            /* An architecture without this call (poll on arm64, say)
             * simply has nothing to count; without futex, the tracepoints
             * are not there at all. */
            if (traced[i].kind != BENCH_SC_FUTEX)
                continue;
            if (why != NULL)
                *why = "no syscall tracepoints in tracefs";
            goto fail;
        }
        struct perf_event_attr a;
        memset(&a, 0, sizeof(a));
        a.type = PERF_TYPE_TRACEPOINT;
        a.size = sizeof(a);
        a.config = (uint64_t)id;
        a.inherit = 1;  /* threads started from now on count too */
        a.disabled = 1; /* until bench_syscounter_start */
        int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1,
                              PERF_FLAG_FD_CLOEXEC);
        if (fd < 0) {
            if (why != NULL)
                *why = errno == EACCES || errno == EPERM
                           ? "perf_event_open: not permitted"
                           : "perf_event_open failed";
            goto fail;
        }
        c->fd[c->n] = fd;
        c->kind[c->n] = traced[i].kind;
        c->n++;
    }
    return 0;
fail:
    bench_syscounter_close(c);
    return -1;
}

void bench_syscounter_start(bench_syscounter *c)
{
    /* Enabling an inherited counter enables its copies in the threads
     * started since (the kernel applies the ioctl to each child). */
    for (int i = 0; i < c->n; i++)
        ioctl(c->fd[i], PERF_EVENT_IOC_ENABLE, 0);
}

void bench_syscounter_read(const bench_syscounter *c,
                           double out[BENCH_SC_KINDS])
{
    for (int k = 0; k < BENCH_SC_KINDS; k++)
        out[k] = c->n > 0 ? 0 : -1;
    for (int i = 0; i < c->n; i++) {
        uint64_t v = 0;
        if (read(c->fd[i], &v, sizeof(v)) != (ssize_t)sizeof(v)) {
            for (int k = 0; k < BENCH_SC_KINDS; k++)
                out[k] = -1;
            return;
        }
        out[c->kind[i]] += (double)v;
    }
}

void bench_syscounter_close(bench_syscounter *c)
{
    for (int i = 0; i < c->n; i++)
        close(c->fd[i]);
    c->n = 0;
}

long bench_count_sockets(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    long n = 0;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == self)
            continue;
        char path[300], target[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof(target) - 1);
        if (len <= 0)
            continue; /* closed meanwhile */
        target[len] = '\0';
        n += strncmp(target, "socket:", 7) == 0;
    }
    closedir(d);
    return n;
}

void bench_cpu_now(bench_cpu *out)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    out->user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    out->sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    out->switches = ru.ru_nvcsw + ru.ru_nivcsw;
}
