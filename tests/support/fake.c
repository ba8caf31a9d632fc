#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake.h"

struct fake_server {
    int lfd;
    int port;
    char name[32];
    fake_handler handler;
    void *ud;
    pthread_t thread;
    atomic_bool stop;
    atomic_int accepted;
    atomic_int lines;
    atomic_int serving; /* connection threads still running */
    atomic_bool old_server; /* answer mn as memcached before 1.6 does */
    atomic_bool raw_fences; /* pass mn to the handler */
    const char *greeting;   /* written at accept, or NULL */
};

void fake_write(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

void fake_puts(int fd, const char *s)
{
    fake_write(fd, s, strlen(s));
}

typedef struct conn_arg {
    fake_server *f;
    int fd;
} conn_arg;

static void *serve(void *arg)
{
    conn_arg *ca = arg;
    fake_server *f = ca->f;
    int fd = ca->fd;
    free(ca);
    char buf[1 << 16];
    size_t n = 0;
    bool open = true;
    while (open && !atomic_load(&f->stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t r = recv(fd, buf + n, sizeof(buf) - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        char *start = buf;
        char *nl;
        while (open && (nl = memchr(start, '\n', n - (size_t)(start - buf)))) {
            size_t len = (size_t)(nl - start);
            if (len > 0 && start[len - 1] == '\r')
                len--;
            if (len == 2 && memcmp(start, "mn", 2) == 0 &&
                !atomic_load(&f->raw_fences)) {
                /* mcring's fence after each batch (lib/pipeline.h):
                 * answered as memcached does, unless scripted. */
                fake_puts(fd, atomic_load(&f->old_server) ? "ERROR\r\n"
                                                          : "MN\r\n");
            } else {
                atomic_fetch_add(&f->lines, 1);
                if (f->handler(fd, start, len, f->ud) == FAKE_CLOSE)
                    open = false;
            }
            start = nl + 1;
        }
        n -= (size_t)(start - buf);
        memmove(buf, start, n);
        if (n == sizeof(buf))
            n = 0;
    }
    close(fd);
    atomic_fetch_sub(&f->serving, 1);
    return NULL;
}

static void *accept_loop(void *arg)
{
    fake_server *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {f->lfd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&f->accepted, 1);
        if (f->greeting != NULL && atomic_load(&f->accepted) == 1)
            fake_puts(fd, f->greeting);
        atomic_fetch_add(&f->serving, 1);
        conn_arg *ca = malloc(sizeof(*ca));
        ca->f = f;
        ca->fd = fd;
        pthread_t t;
        pthread_create(&t, NULL, serve, ca);
        pthread_detach(t);
    }
    return NULL;
}

fake_server *fake_start(fake_handler h, void *ud)
{
    fake_server *f = calloc(1, sizeof(*f));
    f->handler = h;
    f->ud = ud;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
    cr_assert(listen(f->lfd, 64) == 0);
    socklen_t l = sizeof(a);
    getsockname(f->lfd, (struct sockaddr *)&a, &l);
    f->port = ntohs(a.sin_port);
    snprintf(f->name, sizeof(f->name), "127.0.0.1:%d", f->port);
    pthread_create(&f->thread, NULL, accept_loop, f);
    return f;
}

void fake_set_raw_fences(fake_server *f, bool raw)
{
    atomic_store(&f->raw_fences, raw);
}

void fake_set_greeting(fake_server *f, const char *text)
{
    f->greeting = text;
}

void fake_set_old_server(fake_server *f, bool old)
{
    atomic_store(&f->old_server, old);
}

const char *fake_name(const fake_server *f)
{
    return f->name;
}

int fake_port(const fake_server *f)
{
    return f->port;
}

int fake_accepted(const fake_server *f)
{
    return atomic_load(&((fake_server *)f)->accepted);
}

int fake_lines(const fake_server *f)
{
    return atomic_load(&((fake_server *)f)->lines);
}

void fake_stop(fake_server *f)
{
    if (f == NULL)
        return;
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    close(f->lfd);
    /* Connection threads notice stop within 50 ms of their handler
     * returning (a handler may be sleeping on purpose): wait for all. */
    while (atomic_load(&f->serving) > 0)
        usleep(10000);
    free(f);
}
