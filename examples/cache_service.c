/*
 * A small libuv TCP service in front of a slow "origin", with mcring as its
 * cache — the kind of program the async API is for. One event loop thread
 * serves every client connection and every memcached connection.
 *
 * Each client line "GET <key>" is answered with
 *   "HIT <value>"     when memcached has the key, or
 *   "ORIGIN <value>"  after asking the origin (50 ms here, simulated with a
 *                     timer) and caching its answer for 60 s;
 * "STATS" answers with how many lookups hit, missed and failed.
 *
 *   cache_service [--port P] [--servers LIST]
 *   printf 'GET user:1\nGET user:1\n' | nc 127.0.0.1 P
 *
 * Build: meson builds it when libuv is installed (examples/meson.build).
 */
#include <getopt.h>
#include <mcring.h>
#include <mcring/adapters/libuv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static mcring_async *cache;
static long hits, misses, failures;

/* One client connection. */
typedef struct client {
    uv_tcp_t tcp;
    char buf[4096];
    size_t len;
    int refs; /* the connection plus each lookup in flight */
    int closed;
} client;

/* One lookup: the client, the key, and (on a miss) the origin's timer. */
typedef struct lookup {
    client *c;
    char key[256];
    size_t key_len;
    uv_timer_t origin;
} lookup;

static void client_unref(client *c)
{
    if (--c->refs == 0)
        free(c);
}

static void on_closed(uv_handle_t *h)
{
    client_unref((client *)h);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static void reply(client *c, const char *word, const char *text, size_t len)
{
    if (c->closed)
        return;
    size_t wl = strlen(word);
    char *out = malloc(wl + 1 + len + 1);
    memcpy(out, word, wl);
    out[wl] = ' ';
    memcpy(out + wl + 1, text, len);
    out[wl + 1 + len] = '\n';
    uv_write_t *w = malloc(sizeof(*w));
    w->data = out;
    uv_buf_t b = uv_buf_init(out, (unsigned)(wl + len + 2));
    uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written);
}

/* The origin answered (a timer standing in for a slow database). */
static void on_cached(mcring_async *a, int rc, void *ud)
{
    (void)a;
    (void)ud;
    if (rc != MCRING_OK)
        fprintf(stderr, "cache_service: caching failed: %s\n",
                mcring_strerror(rc));
}

static void lookup_free(uv_handle_t *h)
{
    lookup *l = h->data;
    client_unref(l->c);
    free(l);
}

static void on_origin(uv_timer_t *t)
{
    lookup *l = t->data;
    char value[300];
    int n = snprintf(value, sizeof(value), "value-of-%.*s", (int)l->key_len,
                     l->key);
    mcring_async_set(cache, l->key, l->key_len, value, (size_t)n, 0, 60,
                     on_cached, NULL);
    reply(l->c, "ORIGIN", value, (size_t)n);
    uv_close((uv_handle_t *)t, lookup_free);
}

static void on_value(mcring_async *a, int rc, const mcring_item *item,
                     void *ud)
{
    (void)a;
    lookup *l = ud;
    if (rc == MCRING_OK) {
        hits++;
        reply(l->c, "HIT", item->data, item->len);
        client_unref(l->c);
        free(l);
        return;
    }
    if (rc == MCRING_MISS)
        misses++;
    else
        failures++; /* the cache is down: the origin still answers */
    uv_timer_init(uv_default_loop(), &l->origin);
    l->origin.data = l;
    uv_timer_start(&l->origin, on_origin, 50, 0);
}

static void handle_line(client *c, char *line, size_t len)
{
    if (len == 5 && memcmp(line, "STATS", 5) == 0) {
        char s[128];
        int n = snprintf(s, sizeof(s), "hits=%ld misses=%ld failures=%ld",
                         hits, misses, failures);
        reply(c, "STATS", s, (size_t)n);
        return;
    }
    if (len < 5 || memcmp(line, "GET ", 4) != 0 || len - 4 > 255) {
        reply(c, "ERROR", "expected: GET <key>", 19);
        return;
    }
    lookup *l = calloc(1, sizeof(*l));
    l->c = c;
    l->key_len = len - 4;
    memcpy(l->key, line + 4, l->key_len);
    c->refs++;
    int rc = mcring_async_get(cache, l->key, l->key_len, on_value, l);
    if (rc != 0) { /* never called back */
        reply(c, "ERROR", mcring_strerror(rc), strlen(mcring_strerror(rc)));
        client_unref(c);
        free(l);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    client *c = (client *)h;
    b->base = c->buf + c->len;
    b->len = sizeof(c->buf) - c->len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    client *c = (client *)s;
    if (n < 0 || (n == 0 && c->len == sizeof(c->buf))) {
        c->closed = 1;
        uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    c->len += (size_t)n;
    char *start = c->buf, *nl;
    while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
        size_t len = (size_t)(nl - start);
        if (len > 0 && start[len - 1] == '\r')
            len--;
        handle_line(c, start, len);
        start = nl + 1;
    }
    c->len -= (size_t)(start - c->buf);
    memmove(c->buf, start, c->len);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    client *c = calloc(1, sizeof(*c));
    c->refs = 1;
    uv_tcp_init(uv_default_loop(), &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0)
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    else
        uv_close((uv_handle_t *)&c->tcp, on_closed);
}

int main(int argc, char **argv)
{
    int port = 7000;
    const char *servers = getenv("MCRING_SERVERS");
    static const struct option lo[] = {{"port", required_argument, NULL, 'p'},
                                       {"servers", required_argument, NULL, 's'},
                                       {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "p:s:", lo, NULL)) != -1) {
        if (ch == 'p')
            port = atoi(optarg);
        else if (ch == 's')
            servers = optarg;
        else
            return 2;
    }
    mcring_options *opts;
    mcring_client *client;
    char err[256];
    mcring_options_new(&opts);
    if (servers != NULL &&
        mcring_options_set(opts, "memcache_servers", servers, err,
                           sizeof(err)) != 0) {
        fprintf(stderr, "cache_service: %s\n", err);
        return 2;
    }
    if (mcring_client_new(&client, opts, err, sizeof(err)) != 0) {
        fprintf(stderr, "cache_service: %s\n", err);
        return 2;
    }
    mcring_options_free(opts);

    uv_loop_t *loop = uv_default_loop();
    if (mcring_async_new_uv(&cache, client, loop) != 0)
        return 2;
    uv_tcp_t server;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    uv_tcp_init(loop, &server);
    if (uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&server, 128, on_connection) != 0) {
        fprintf(stderr, "cache_service: cannot listen on port %d\n", port);
        return 2;
    }
    printf("cache_service: listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    mcring_async_free(cache);
    mcring_client_free(client);
    return 0;
}
