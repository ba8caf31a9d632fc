/*
 * mcring monitor --prometheus: a tiny HTTP/1.0 responder serving the
 * client's metrics (mcring_client_write_prometheus) on /metrics, one
 * connection at a time, from the monitor's own thread between its probes.
 * A scrape that stalls is given up after two seconds, so it cannot hold
 * the monitor for long.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define REQUEST_MAX 8192
#define SCRAPE_TIMEOUT_S 2

int metrics_http_listen(const char *spec)
{
    char host[256] = "";
    const char *port = spec;
    const char *colon = strrchr(spec, ':');
    if (colon != NULL) {
        size_t n = (size_t)(colon - spec);
        if (n >= sizeof(host)) {
            cli_fail("--prometheus", "address too long");
            return -1;
        }
        memcpy(host, spec, n);
        host[n] = '\0';
        port = colon + 1;
        /* [v6]:PORT */
        if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
            memmove(host, host + 1, n - 2);
            host[n - 2] = '\0';
        }
    }
    struct addrinfo hints = {0}, *res;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (gai != 0) {
        cli_fail("--prometheus", gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    int last_errno = 0;
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
                    a->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 16) != 0) {
            last_errno = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        cli_fail("--prometheus", strerror(last_errno));
    return fd;
}

/* Writes all of buf; false when the peer went or stalled. */
static bool send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

static void respond(int fd, const char *status, const char *type,
                    const char *body, size_t len, bool head)
{
    char header[256];
    int n = snprintf(header, sizeof(header),
                     "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, type, len);
    if (send_all(fd, header, (size_t)n) && !head)
        send_all(fd, body, len);
}

/* The client's whole exposition in a malloc'd buffer (*len), or NULL. */
static char *exposition(mcring_client *client, size_t *len)
{
    size_t cap = 65536;
    for (;;) {
        char *buf = malloc(cap);
        if (buf == NULL)
            return NULL;
        size_t n = mcring_client_write_prometheus(client, buf, cap);
        if (n < cap) {
            *len = n;
            return buf;
        }
        free(buf);
        cap = n + n / 4 + 1024; /* it may grow before the next try */
    }
}

/* Reads the request head (up to the blank line) and answers it. */
static void serve_one(int fd, mcring_client *client)
{
    struct timeval tv = {SCRAPE_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char req[REQUEST_MAX + 1];
    size_t got = 0;
    while (got < REQUEST_MAX) {
        ssize_t n = recv(fd, req + got, REQUEST_MAX - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL)
            break;
    }
    req[got] = '\0';
    static const char text[] = "text/plain; charset=utf-8";
    char method[16], path[1024];
    if (sscanf(req, "%15s %1023s", method, path) != 2) {
        respond(fd, "400 Bad Request", text, "bad request\n", 12, false);
        return;
    }
    bool head = strcmp(method, "HEAD") == 0;
    if (!head && strcmp(method, "GET") != 0) {
        respond(fd, "405 Method Not Allowed", text, "GET or HEAD\n", 12,
                false);
        return;
    }
    size_t plen = strcspn(path, "?");
    if (plen != 8 || strncmp(path, "/metrics", 8) != 0) {
        respond(fd, "404 Not Found", text, "see /metrics\n", 13, head);
        return;
    }
    size_t len;
    char *body = exposition(client, &len);
    if (body == NULL) {
        respond(fd, "500 Internal Server Error", text, "out of memory\n",
                14, head);
        return;
    }
    respond(fd, "200 OK", MCRING_PROMETHEUS_CONTENT_TYPE, body, len, head);
    free(body);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void metrics_http_serve(int fd, mcring_client *client, double seconds)
{
    double end = now_s() + seconds;
    for (;;) {
        double left = end - now_s();
        if (left <= 0)
            return;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0)
            return; /* a signal: the monitor looks at it */
        if (r == 0)
            continue;
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        serve_one(c, client);
        close(c);
    }
}
