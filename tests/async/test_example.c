/* examples/cache_service, as a user would run it: a miss goes to the
 * origin and is cached, the next lookup hits, and with memcached gone the
 * service still answers from the origin. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static mc_server srv;
static pid_t service;
static int port;

static void start(void)
{
    mc_start(&srv, NULL);
    port = free_port();
    char p[16];
    snprintf(p, sizeof(p), "%d", port);
    service = fork();
    cr_assert_geq(service, 0);
    if (service == 0) {
        execl(env_path("MCRING_EXAMPLE"), "cache_service", "--port", p,
              "--servers", srv.name, (char *)NULL);
        _exit(127);
    }
}

static void stop(void)
{
    if (service > 0) {
        kill(service, SIGTERM);
        waitpid(service, NULL, 0);
    }
    mc_stop(&srv);
}

TestSuite(example, .init = start, .fini = stop, .timeout = 60);

static int dial(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return fd;
        close(fd);
        usleep(20000);
    }
    cr_assert_fail("the service never listened");
    return -1;
}

/* Sends a line, returns the reply line (static buffer, no newline). */
static const char *ask(int fd, const char *line)
{
    static char buf[512];
    char out[300];
    int n = snprintf(out, sizeof(out), "%s\n", line);
    cr_assert_eq(send(fd, out, (size_t)n, 0), n);
    size_t len = 0;
    while (len < sizeof(buf) - 1) {
        ssize_t r = recv(fd, buf + len, 1, 0);
        cr_assert_gt(r, 0, "the service hung up");
        if (buf[len] == '\n')
            break;
        len++;
    }
    buf[len] = '\0';
    return buf;
}

Test(example, a_miss_goes_to_the_origin_and_then_hits)
{
    int fd = dial();
    cr_assert_str_eq(ask(fd, "GET user:1"), "ORIGIN value-of-user:1");
    cr_assert_str_eq(ask(fd, "GET user:1"), "HIT value-of-user:1");
    mcring_options *o = opts_for(srv.name, NULL);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, "user:1", 6, &it), MCRING_OK,
                 "cached through the async API");
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    mc_kill(&srv);
    cr_assert_str_eq(ask(fd, "GET user:2"), "ORIGIN value-of-user:2",
                     "with memcached gone, the origin still answers");
    cr_assert_str_eq(ask(fd, "STATS"), "STATS hits=1 misses=1 failures=1");
    close(fd);
}
