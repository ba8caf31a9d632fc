/*
 * What pipelining buys from memcached itself (docs/benchmarks.md,
 * "Pipelining"): one connection, batches of D gets written with one
 * send, read back whole; the server's CPU per get (utime + stime from
 * /proc/PID/stat) and the gets per second, for the classic `get` and the
 * meta `mg <key> v`, with and without an `mn` fence after each batch.
 * Not part of the build:
 *
 *   cc -O2 docs/probes/memcached_flush_probe.c -o /tmp/flush_probe
 *   memcached -p 21300 -t 1 -U 0 & /tmp/flush_probe 21300 $! [SECONDS]
 *
 * Run against a memcached no one else uses. `strace -f -e trace=sendmsg
 * -p PID` on the server shows why the figures differ: memcached 1.6.18
 * sends each classic get's reply (and the MN after it) with a sendmsg of
 * its own, and a batch of meta gets with its MN in one.
 */
#define _GNU_SOURCE 1 /* memmem */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KEYS 100

static char buf[1 << 20];

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The server's CPU so far, in clock ticks. */
static long server_ticks(int pid)
{
    char path[64], stat[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    size_t n = fread(stat, 1, sizeof(stat) - 1, f);
    fclose(f);
    stat[n] = '\0';
    unsigned long utime = 0, stime = 0;
    char *p = strrchr(stat, ')');
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                                   "%*u %lu %lu", &utime, &stime) != 2) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    return (long)(utime + stime);
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, 0);
        if (w <= 0) {
            perror("send");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* How many times s occurs in buf[0..n). */
static int count(const char *s, size_t n)
{
    int c = 0;
    size_t len = strlen(s);
    for (char *p = buf; (p = memmem(p, n - (size_t)(p - buf), s, len)) != NULL;
         p += len)
        c++;
    return c;
}

/* Batches of depth gets for `seconds`; prints gets/s and server us/get. */
static void measure(int fd, int pid, bool meta, bool fence, int depth,
                    double seconds)
{
    long t0 = server_ticks(pid), gets = 0;
    double w0 = now_s();
    while (now_s() - w0 < seconds) {
        char *p = buf;
        for (int i = 0; i < depth; i++)
            p += sprintf(p, meta ? "mg key%d v\r\n" : "get key%d\r\n",
                         rand() % KEYS);
        if (fence)
            p += sprintf(p, "mn\r\n");
        send_all(fd, buf, (size_t)(p - buf));
        /* The batch is read when its fence is, or (no fence) when every
         * get's reply has ended. */
        size_t got = 0;
        for (;;) {
            ssize_t r = recv(fd, buf + got, sizeof(buf) - got, 0);
            if (r <= 0) {
                perror("recv");
                exit(1);
            }
            got += (size_t)r;
            if (fence ? got >= 4 && memcmp(buf + got - 4, "MN\r\n", 4) == 0
                      : count(meta ? "VA " : "END\r\n", got) == depth)
                break;
        }
        gets += depth;
    }
    double wall = now_s() - w0;
    long ticks = server_ticks(pid) - t0;
    printf("%-4s %-7s depth %3d: %9.0f gets/s, server %6.2f us CPU per get\n",
           meta ? "mg" : "get", fence ? "+ mn" : "", depth,
           (double)gets / wall,
           (double)ticks / (double)sysconf(_SC_CLK_TCK) * 1e6 / (double)gets);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT MEMCACHED_PID [SECONDS]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), pid = atoi(argv[2]);
    double seconds = argc > 3 ? atof(argv[3]) : 2;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("connect");
        return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (int i = 0; i < KEYS; i++) {
        int n = snprintf(buf, 256, "set key%d 0 0 100\r\n%0100d\r\n", i, i);
        send_all(fd, buf, (size_t)n);
        if (recv(fd, buf, 64, 0) <= 0) {
            perror("recv");
            return 1;
        }
    }
    int depths[] = {1, 16};
    for (int d = 0; d < 2; d++) {
        measure(fd, pid, false, false, depths[d], seconds);
        measure(fd, pid, false, true, depths[d], seconds);
        measure(fd, pid, true, true, depths[d], seconds);
    }
    close(fd);
    return 0;
}
