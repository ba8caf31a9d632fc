/* The command line's metrics: `mcring stats` prints latency per server and
 * op, and `mcring monitor --prometheus` serves the Prometheus text over
 * HTTP while it runs, scraped here while other threads load the server;
 * every scrape is read back by prometheus_client's parser. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "harness.h"

static mc_server srv;

static void setup(void)
{
    mc_start(&srv, NULL);
}

static void teardown(void)
{
    mc_stop(&srv);
}

TestSuite(cli_metrics, .init = setup, .fini = teardown, .timeout = 120);

Test(cli_metrics, stats_prints_latency_per_op)
{
    char *out;
    cr_assert_eq(cli_run(&out, srv.name, NULL, "stats", "--keys", "30", NULL),
                 0);
    cr_assert_not_null(strstr(out, "p99.9"), "%s", out);
    char row[128];
    snprintf(row, sizeof(row), "%s", srv.name);
    const char *table = strstr(out, "attempts failures");
    cr_assert_not_null(table, "%s", out);
    const char *r = strstr(table, row);
    cr_assert_not_null(r, "%s", out);
    char op[16];
    unsigned long attempts, failures;
    cr_assert_eq(sscanf(r + strlen(row), " %15s %lu %lu", op, &attempts,
                        &failures),
                 3, "%s", out);
    cr_assert_str_eq(op, "get");
    cr_assert_eq(attempts, 30);
    cr_assert_eq(failures, 0);
    free(out);
}

/* ---- monitor --prometheus ------------------------------------------------ */

/* One HTTP/1.0 exchange: the whole response, NUL-terminated (free it). */
static char *http(int port, const char *request)
{
    int fd = -1;
    for (int i = 0; i < 50 && fd < 0; i++) {
        fd = connect_tcp_loopback(port);
        if (fd < 0)
            usleep(100000);
    }
    cr_assert_geq(fd, 0, "nothing listens on %d", port);
    cr_assert_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

/* Not inlined: GCC 12 then takes the address of `out` below for where the
 * result points (-Wdangling-pointer). */
__attribute__((noinline)) static char *checked(const char *body)
{
    char script[512];
    snprintf(script, sizeof(script), "%s/support/prometheus_check.py",
             env_path("MCRING_TEST_SOURCE"));
    char *argv[] = {(char *)env_path("MCRING_TEST_PYTHON"), script, NULL};
    char *out;
    size_t len;
    cr_assert_eq(run_capture(argv, body, strlen(body), &out, &len), 0,
                 "prometheus_client refused the scrape");
    return out;
}

typedef struct load {
    atomic_bool stop;
    atomic_long ops;
} load;

static void *load_run(void *arg)
{
    load *l = arg;
    mcring_options *o = opts_for(srv.name, NULL);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    char key[32], value[512];
    memset(value, 'v', sizeof(value));
    for (long i = 0; !atomic_load(&l->stop); i++) {
        snprintf(key, sizeof(key), "load-%ld", i % 500);
        if (i % 10 == 0)
            mcring_set(c, key, strlen(key), value, sizeof(value), 0, 0);
        else
            mcring_get(c, key, strlen(key), &it);
        atomic_fetch_add(&l->ops, 1);
    }
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    return NULL;
}

/* The monitor's get attempts in a checked scrape. */
static unsigned long get_attempts(const char *samples)
{
    char want[128];
    snprintf(want, sizeof(want),
             "mcring_attempt_duration_seconds_count{op=get,server=%s} ",
             srv.name);
    const char *p = strstr(samples, want);
    unsigned long n = p != NULL ? strtoul(p + strlen(want), NULL, 10) : 0;
    cr_assert(p != NULL, "no get attempts in\n%s", samples);
    return n;
}

Test(cli_metrics, monitor_serves_prometheus_while_load_runs)
{
    load l;
    atomic_init(&l.stop, false);
    atomic_init(&l.ops, 0);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, load_run, &l);

    int port = free_port();
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    char *argv[] = {(char *)env_path("MCRING_CLI"), "--servers", srv.name,
                    "monitor", "--interval", "0.2", "--keys", "20",
                    "--duration", "60", "--prometheus", addr, NULL};
    pid_t pid = spawn_process(argv, true);
    cr_assert(wait_listening(pid, port, NULL), "the monitor did not listen");

    unsigned long last = 0;
    for (int scrape = 0; scrape < 4; scrape++) {
        usleep(500000);
        char *resp = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
        cr_assert(strncmp(resp, "HTTP/1.0 200 OK\r\n", 17) == 0, "%s", resp);
        cr_assert_not_null(strstr(resp, "Content-Type: text/plain; "
                                         "version=0.0.4; charset=utf-8\r\n"));
        char *body = strstr(resp, "\r\n\r\n");
        cr_assert_not_null(body);
        body += 4;
        const char *cl = strstr(resp, "Content-Length: ");
        cr_assert_not_null(cl);
        cr_assert_eq(strtoul(cl + 16, NULL, 10), strlen(body));
        char *samples = checked(body);
        unsigned long n = get_attempts(samples);
        cr_assert_gt(n, last, "the monitor keeps probing between scrapes");
        last = n;
        free(samples);
        free(resp);
    }
    cr_assert_gt(atomic_load(&l.ops), 100, "the load ran meanwhile");

    char *resp = http(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
    cr_assert(strncmp(resp, "HTTP/1.0 200 OK\r\n", 17) == 0, "%s", resp);
    cr_assert_str_eq(strstr(resp, "\r\n\r\n"), "\r\n\r\n", "no body");
    free(resp);
    resp = http(port, "GET /other HTTP/1.0\r\n\r\n");
    cr_assert(strncmp(resp, "HTTP/1.0 404", 12) == 0, "%s", resp);
    free(resp);
    resp = http(port, "POST /metrics HTTP/1.0\r\n\r\n");
    cr_assert(strncmp(resp, "HTTP/1.0 405", 12) == 0, "%s", resp);
    free(resp);
    resp = http(port, "GET /metrics?name[]=x HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert(strncmp(resp, "HTTP/1.0 200 OK", 15) == 0, "%s", resp);
    free(resp);

    /* It stops on SIGTERM like the plain monitor, exiting 0. */
    kill(pid, SIGTERM);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    atomic_store(&l.stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
}

Test(cli_metrics, a_port_that_cannot_be_had_is_an_error)
{
    int busy = free_port();
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", busy);
    /* Held by a listener of this test. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)busy),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fd, 1), 0);
    cr_assert_eq(cli_run(NULL, srv.name, NULL, "monitor", "--duration", "1",
                         "--prometheus", addr, NULL),
                 2);
    cr_assert_eq(cli_run(NULL, srv.name, NULL, "monitor", "--duration", "1",
                         "--prometheus", "127.0.0.1:notaport", NULL),
                 2);
    close(fd);
}
