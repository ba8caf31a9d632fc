/*
 * Placement interop: a real twemproxy (nutcracker) on loopback in front of
 * real memcached servers. Keys are written through the proxy; then every
 * backend is asked directly which keys it holds, and mcring's twemproxy
 * mode must name that backend for each key, and an mcring client in that
 * mode must read a fifth of them back. One case per hash function
 * twemproxy offers, plus server names, a host name and a Unix socket.
 * nutcracker and the memcached servers die with the test process
 * (PR_SET_PDEATHSIG).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "peer_keys.h"
#include "ring.h"

#define NBACKENDS 4
static const unsigned weights[NBACKENDS] = {1, 2, 3, 1};

static mc_server tcp[NBACKENDS];
static mc_server unix_srv;
static long total_compared;

/* ---- processes ---------------------------------------------------------- */

static void start_backends(void)
{
    for (int i = 0; i < NBACKENDS; i++)
        mc_start(&tcp[i], NULL);
    char path[64];
    snprintf(path, sizeof(path), "/tmp/mcring-twemproxy-%d.sock",
             (int)getpid());
    mc_start_unix(&unix_srv, path);
}

static void stop_backends(void)
{
    for (int i = 0; i < NBACKENDS; i++)
        mc_stop(&tcp[i]);
    mc_stop(&unix_srv);
    unlink(unix_srv.path);
}

TestSuite(twemproxy_placement, .init = start_backends, .fini = stop_backends,
          .timeout = 600);

/* Starts nutcracker with one pool of the given servers; returns its pid and
 * the pool's port. */
static pid_t start_proxy(const char *hash, char *const servers[], int n,
                         int *port, char *conf, size_t conflen)
{
    static int serial;
    snprintf(conf, conflen, "/tmp/mcring-twemproxy-%d-%d.yml", (int)getpid(),
             serial++);
    for (int attempt = 0; attempt < 5; attempt++) {
        *port = free_port();
        FILE *f = fopen(conf, "w");
        cr_assert_not_null(f);
        fprintf(f,
                "pool:\n"
                "  listen: 127.0.0.1:%d\n"
                "  hash: %s\n"
                "  distribution: ketama\n"
                "  auto_eject_hosts: false\n"
                "  timeout: 2000\n"
                "  servers:\n",
                *port, hash);
        for (int i = 0; i < n; i++)
            fprintf(f, "   - %s\n", servers[i]);
        fclose(f);
        char statsport[16];
        snprintf(statsport, sizeof(statsport), "%d", free_port());
        char *argv[] = {(char *)env_path("MCRING_TEST_NUTCRACKER"),
                        "-c", conf, "-s", statsport, "-a", "127.0.0.1",
                        "-v", "0", "-o", "/dev/null", NULL};
        pid_t pid = spawn_process(argv, true);
        if (wait_listening(pid, *port, NULL))
            return pid;
        stop_process(pid);
    }
    cr_assert_fail("nutcracker did not start (config %s)", conf);
    return -1;
}

/* ---- the memcached text protocol, just enough --------------------------- */

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        cr_assert(w > 0 || errno == EINTR, "write: %s", strerror(errno));
        if (w > 0) {
            buf += w;
            len -= (size_t)w;
        }
    }
}

/* Reads until the buffer ends with `until` `count` times over. */
static size_t read_replies(int fd, char *buf, size_t cap, const char *until,
                           int count)
{
    size_t n = 0, ulen = strlen(until);
    int seen = 0;
    while (seen < count) {
        cr_assert_lt(n, cap - 1, "reply too long");
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        cr_assert(r > 0, "connection closed or failed after %zu bytes", n);
        n += (size_t)r;
        buf[n] = '\0';
        seen = 0;
        for (char *p = buf; (p = strstr(p, until)) != NULL; p += ulen)
            seen++;
    }
    return n;
}

#define BATCH 100

/* Stores key i with its number as the value, through the proxy. */
static void write_keys(int port, unsigned char (*keys)[PEER_KEY_MAX],
                       const size_t *lens, int nkeys)
{
    int fd = connect_tcp_loopback(port);
    cr_assert(fd >= 0);
    static char req[BATCH * (PEER_KEY_MAX + 48)], rep[BATCH * 64];
    for (int b = 0; b < nkeys; b += BATCH) {
        size_t off = 0;
        int n = nkeys - b < BATCH ? nkeys - b : BATCH;
        for (int i = b; i < b + n; i++) {
            char val[16];
            int vlen = snprintf(val, sizeof(val), "%d", i);
            off += (size_t)sprintf(req + off, "set ");
            memcpy(req + off, keys[i], lens[i]);
            off += lens[i];
            off += (size_t)sprintf(req + off, " 0 0 %d\r\n%s\r\n", vlen, val);
        }
        write_all(fd, req, off);
        read_replies(fd, rep, sizeof(rep), "\r\n", n);
        int stored = 0;
        for (char *p = rep; (p = strstr(p, "STORED\r\n")) != NULL; p += 8)
            stored++;
        cr_assert_eq(stored, n, "the proxy did not store every key: %.200s",
                     rep);
    }
    close(fd);
}

/* Asks backend `fd` for every key; sets holder[i] = who for those it has. */
static void collect(int fd, int who, unsigned char (*keys)[PEER_KEY_MAX],
                    const size_t *lens, int nkeys, int *holder)
{
    static char req[BATCH * (PEER_KEY_MAX + 1) + 16];
    static char rep[BATCH * (PEER_KEY_MAX + 64) + 16];
    for (int b = 0; b < nkeys; b += BATCH) {
        int n = nkeys - b < BATCH ? nkeys - b : BATCH;
        size_t off = (size_t)sprintf(req, "get");
        for (int i = b; i < b + n; i++) {
            req[off++] = ' ';
            memcpy(req + off, keys[i], lens[i]);
            off += lens[i];
        }
        memcpy(req + off, "\r\n", 2);
        write_all(fd, req, off + 2);
        size_t len = read_replies(fd, rep, sizeof(rep), "END\r\n", 1);
        /* VALUE <key> <flags> <bytes>\r\n<number>\r\n ... END\r\n; keys
         * hold no spaces, so the number follows the line's end. */
        for (char *p = rep; p < rep + len && strncmp(p, "VALUE ", 6) == 0;) {
            char *eol = strstr(p, "\r\n");
            cr_assert_not_null(eol);
            int i = atoi(eol + 2);
            cr_assert(i >= b && i < b + n, "unexpected value %d", i);
            cr_assert_eq(holder[i], -1, "key %d on two backends", i);
            holder[i] = who;
            p = strstr(eol + 2, "\r\n") + 2;
        }
    }
}

static void flush_backend(int fd)
{
    char rep[64];
    write_all(fd, "flush_all\r\n", 11);
    read_replies(fd, rep, sizeof(rep), "OK\r\n", 1);
}

/* ---- the comparison ----------------------------------------------------- */

typedef struct tcase {
    const char *hash;
    bool named;     /* "host:port:weight name" */
    bool hostname;  /* the first backend as localhost */
    bool unix_sock; /* a fifth backend on a Unix socket */
    int nkeys;
} tcase;

static void run_case(const tcase *t, uint64_t seed)
{
    char entries[NBACKENDS + 1][128], listed[NBACKENDS + 1][128];
    char *yaml[NBACKENDS + 1];
    int n = 0;
    for (int i = 0; i < NBACKENDS; i++, n++) {
        const char *host = t->hostname && i == 0 ? "localhost" : "127.0.0.1";
        snprintf(entries[n], sizeof(entries[n]), "%s:%d:%u", host, tcp[i].port,
                 weights[i]);
        if (t->named)
            snprintf(entries[n] + strlen(entries[n]), 32, " cache-%c",
                     'a' + i);
        snprintf(listed[n], sizeof(listed[n]), "%s", entries[n]);
    }
    if (t->unix_sock) {
        snprintf(entries[n], sizeof(entries[n]), "%s:1", unix_srv.path);
        snprintf(listed[n], sizeof(listed[n]), "%s", unix_srv.path);
        n++;
    }
    char list[1024];
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        yaml[i] = entries[i];
        off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
                                i ? "," : "", listed[i]);
    }

    /* Keys, tagged with the case so no two cases write the same one. */
    uint64_t rng = seed;
    unsigned char (*keys)[PEER_KEY_MAX] = malloc((size_t)t->nkeys * PEER_KEY_MAX);
    size_t *lens = malloc((size_t)t->nkeys * sizeof(*lens));
    int *holder = malloc((size_t)t->nkeys * sizeof(*holder));
    for (int i = 0; i < t->nkeys; i++) {
        lens[i] = peer_key(&rng, i, true, keys[i]);
        holder[i] = -1;
    }

    int fds[NBACKENDS + 1];
    for (int i = 0; i < n; i++) {
        fds[i] = i < NBACKENDS ? connect_tcp_loopback(tcp[i].port)
                               : connect_unix_socket(unix_srv.path);
        cr_assert(fds[i] >= 0);
        flush_backend(fds[i]);
    }
    int port;
    char conf[128];
    pid_t proxy = start_proxy(t->hash, yaml, n, &port, conf, sizeof(conf));
    write_keys(port, keys, lens, t->nkeys);
    stop_process(proxy);
    unlink(conf);
    for (int i = 0; i < n; i++) {
        collect(fds[i], i, keys, lens, t->nkeys, holder);
        close(fds[i]);
    }

    server_list l;
    char err[256];
    cr_assert_eq(server_list_parse(list, &l, err, sizeof(err)), 0, "%s", err);
    ring_config c = ring_config_of(RING_TWEMPROXY);
    c.key_hash = hash_fn_parse(t->hash, strlen(t->hash));
    mcring_ring *ring;
    cr_assert_eq(ring_build(c, &l, 1, &ring, err, sizeof(err)), 0, "%s", err);
    server_list_free(&l);
    cr_assert_eq(ring->nservers, (size_t)n);
    for (int i = 0; i < t->nkeys; i++) {
        cr_assert_neq(holder[i], -1, "key %d is on no backend", i);
        keyhash kh;
        keyhash_init(&kh, keys[i], lens[i]);
        uint32_t mine;
        cr_assert_eq(ring_locate(ring, &kh, &mine, 1), 1);
        if ((int)mine != holder[i]) {
            char hex[2 * PEER_KEY_MAX + 1];
            for (size_t j = 0; j < lens[i]; j++)
                sprintf(hex + 2 * j, "%02x", keys[i][j]);
            hex[2 * lens[i]] = '\0';
            cr_assert_fail("hash %s, servers %s, key %s: mcring %s, twemproxy "
                           "stored it on %s",
                           t->hash, list, hex, ring->names[mine],
                           ring->names[holder[i]]);
        }
    }
    total_compared += t->nkeys;
    ring_unref(ring);

    /* End to end: an mcring client in this mode, with raw keys, reads what
     * went in through the proxy from the backend it picks itself. */
    mcring_options *o = opts_for(list, "ring_mode", "twemproxy", "ring_hash",
                                 t->hash, "key_mode", "raw", "tries", "1",
                                 NULL);
    mcring_client *client = client_for(o);
    mcring_options_free(o);
    mcring_item item = MCRING_ITEM_INIT;
    for (int i = 0; i < t->nkeys; i += 5) {
        int rc = mcring_get(client, keys[i], lens[i], &item);
        cr_assert_eq(rc, MCRING_OK, "hash %s, key %d: %s", t->hash, i,
                     mcring_strerror(rc));
        cr_assert_eq(atoi(item.data), i);
    }
    mcring_item_release(&item);
    mcring_client_free(client);
    free(holder);
    free(lens);
    free(keys);
}

Test(twemproxy_placement, every_hash_function)
{
    static const char *const hashes[] = {
        "one_at_a_time", "md5",      "crc16",    "crc32",
        "crc32a",        "fnv1_64",  "fnv1a_64", "fnv1_32",
        "fnv1a_32",      "hsieh",    "murmur",   "jenkins"};
    for (size_t h = 0; h < sizeof(hashes) / sizeof(hashes[0]); h++) {
        tcase t = {hashes[h], false, false, false, 1500};
        run_case(&t, 100 + h);
    }
    fprintf(stderr, "twemproxy, every hash: %ld keys compared\n",
            total_compared);
}

Test(twemproxy_placement, named_servers_host_names_and_a_unix_socket)
{
    tcase named = {"fnv1a_64", true, false, false, 4000};
    run_case(&named, 200);
    tcase md5_named = {"md5", true, false, true, 4000};
    run_case(&md5_named, 201);
    tcase host = {"fnv1a_64", false, true, true, 4000};
    run_case(&host, 202);
    fprintf(stderr, "twemproxy, names/host name/socket: %ld keys compared\n",
            total_compared);
}
