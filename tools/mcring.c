/*
 * mcring — command-line client for memcached pools, placement-compatible
 * with OpenStack Swift. Options follow libmemcached's tools:
 *
 *   mcring [--servers LIST] [--config FILE] [--tries N] SUBCOMMAND ...
 *
 * The server list comes from --servers, else MCRING_SERVERS, else the
 * config file, else Swift's default (127.0.0.1:11211).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fputs(
        "usage: mcring [options] COMMAND [args]\n"
        "\n"
        "commands:\n"
        "  locate [KEY...]            servers each key is tried on, in order\n"
        "                             (keys from stdin, one per line, if none)\n"
        "  get KEY                    print the value (exit 1 on a miss):\n"
        "                             JSON and msgpack values as one line of\n"
        "                             JSON, raw values as their bytes\n"
        "  set [--ttl N] [--codec C] KEY VALUE\n"
        "                             store VALUE; C is raw (the default:\n"
        "                             VALUE's bytes), json or msgpack (VALUE\n"
        "                             is JSON text)\n"
        "  delete KEY                 delete (exit 1 if it was not there)\n"
        "  incr KEY DELTA [--ttl N]   add DELTA, print the result\n"
        "  decr KEY DELTA [--ttl N]   subtract DELTA, print the result\n"
        "  add KEY VALUE [--ttl N]    store only if absent (exit 1: not stored)\n"
        "  replace KEY VALUE [--ttl N]\n"
        "                             store only if present (exit 1: not stored)\n"
        "  append KEY VALUE           add bytes after the value (exit 1: no key)\n"
        "  prepend KEY VALUE          add bytes before the value (exit 1: no key)\n"
        "  gets KEY                   the value's bytes on stdout, cas=N on stderr\n"
        "  cas KEY VALUE TOKEN [--ttl N]\n"
        "                             store only if the CAS token still matches\n"
        "                             (exit 1: exists or not found)\n"
        "  touch KEY TTL              a new TTL (exit 1: not found)\n"
        "  gat KEY TTL                print the value and give it a new TTL\n"
        "  flush [--delay N] [SERVER] flush_all on one server or all\n"
        "  version [SERVER]           each server's version\n"
        "  server-stats [GROUP]       each server's own statistics (stats\n"
        "                             [GROUP]): server, name, value per line\n"
        "  stats [--keys N]           probe the pool with N gets, print\n"
        "                             per-server counters and latency\n"
        "  ring-diff OLD NEW [--keys N] [--seed S] [--old-ring SPEC]\n"
        "            [--new-ring SPEC]\n"
        "                             how many keys change server between two\n"
        "                             (ring, server list) pairs; SPEC is\n"
        "                             MODE[:HASH[:POINT_HASH]] (each side\n"
        "                             defaults to --ring, --hash, --point-hash)\n"
        "  bench [--threads T] [--ops N | --duration S] [--keys K]\n"
        "        [--key-dist uniform|zipf:S] [--value-size V|MIN-MAX]\n"
        "        [--get-ratio R] [--batch B]\n"
        "        [--swap LIST2 [--swap-interval-ms MS]] [--max-conns C]\n"
        "        [--async N]\n"
        "                             load the pool and report throughput,\n"
        "                             latency, system calls and sockets per\n"
        "                             run (last line: key=value); C is\n"
        "                             memcache_max_connections, or 'threads'\n"
        "                             (one socket per thread and server, for\n"
        "                             -o pipelining=false); --async N: one\n"
        "                             event loop keeping N requests in flight\n"
        "                             through the async API, not threads\n"
        "  bench --herd [--lease] [--threads T] [--duration S]\n"
        "        [--herd-every-ms MS] [--origin-ms MS] [--herd-ttl S]\n"
        "        [--think-ms MS]\n"
        "                             T readers of one hot key whose value\n"
        "                             costs an origin call; the key is\n"
        "                             invalidated every MS (or expires after\n"
        "                             S); plain get/set, or leases (--lease\n"
        "                             speaks meta); counts origin calls\n"
        "  monitor [--interval S] [--duration S]\n"
        "          [--prometheus [ADDR:]PORT]\n"
        "                             probe and print counters and latency\n"
        "                             every S seconds; reloads --config when it\n"
        "                             changes or on SIGHUP; serves Prometheus\n"
        "                             metrics on http://ADDR:PORT/metrics (PORT\n"
        "                             alone: every interface)\n"
        "  options [--markdown]       every option (-o NAME=VALUE), its\n"
        "                             default and what it takes\n"
        "\n"
        "Server lists take host:port:weight for weighted rings and\n"
        "host:port:weight name for twemproxy's named servers. locate prints\n"
        "servers by address (host:port as written), in every mode.\n"
        "\n"
        "options:\n"
        "  -s, --servers LIST   comma-separated servers (or MCRING_SERVERS)\n"
        "  -c, --config FILE    a Swift memcache.conf ([memcache] section)\n"
        "  -t, --tries N        servers tried per call\n"
        "  -r, --ring MODE      placement: swift (default), consistent, or where\n"
        "                       another client puts keys: libmemcached-ketama,\n"
        "                       libmemcached-ketama-weighted, twemproxy,\n"
        "                       pymemcache (see docs/placement.md)\n"
        "      --hash NAME      key hash of the libmemcached and twemproxy modes:\n"
        "                       one_at_a_time, md5, crc16, crc32, crc32a,\n"
        "                       fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, hsieh,\n"
        "                       murmur, jenkins, murmur3\n"
        "      --point-hash NAME\n"
        "                       libmemcached-ketama's hash of its points when it\n"
        "                       differs from the key hash\n"
        "      --unsigned-bytes hash bytes >= 0x80 as unsigned-char builds of\n"
        "                       the peers do (default: as x86-64, signed)\n"
        "  -k, --key-mode MODE  swift (MD5 on the wire, default) or raw; raw is\n"
        "                       the natural pairing with another client's ring\n"
        "                       (in swift mode the peers see the hex MD5)\n"
        "  -p, --protocol P     text (default) or meta (memcached 1.6+)\n"
        "  -o, --option NAME=VALUE\n"
        "                       any memcache.conf option (io_timeout=0.5 ...)\n"
        "  -v, --verbose        print what the library logs to stderr\n"
        "  -h, --help           this text\n"
        "      --version        print the library version\n"
        "Exit status: 0 done, 1 another outcome (a miss, not stored, exists,\n"
        "not found), 2 error.\n"
        "\n"
        "memcache.conf options (-o NAME=VALUE; [mcring]: not Swift's):\n",
        f);
    cli_print_options(f);
}

int cli_fail(const char *what, const char *why)
{
    fprintf(stderr, "mcring: %s: %s\n", what, why);
    return EXIT_ERR;
}

void cli_log(void *ud, mcring_log_level level, const char *server,
             const char *msg)
{
    (void)ud;
    (void)server;
    static const char *const names[] = {"error", "warning", "info"};
    fprintf(stderr, "mcring: %s: %s\n", names[level], msg);
}

mcring_client *cli_client(cli *c)
{
    char err[512];
    mcring_client *client;
    if (mcring_client_new(&client, c->opts, err, sizeof(err)) != 0) {
        cli_fail("cannot create the client", err);
        return NULL;
    }
    return client;
}

static int set_opt(cli *c, const char *name, const char *value)
{
    char err[512];
    if (mcring_options_set(c->opts, name, value, err, sizeof(err)) != 0)
        return cli_fail("bad option", err);
    return 0;
}

static int parse_number(const char *what, const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0')
        return cli_fail(what, "not a number");
    *out = v;
    return 0;
}

enum {
    OPT_VERSION = 1000,
    OPT_MARKDOWN,
    OPT_TTL,
    OPT_KEYS,
    OPT_SEED,
    OPT_OLD_RING,
    OPT_NEW_RING,
    OPT_INTERVAL,
    OPT_DURATION,
    OPT_THREADS,
    OPT_OPS,
    OPT_VALUE_SIZE,
    OPT_KEY_DIST,
    OPT_GET_RATIO,
    OPT_BATCH,
    OPT_SWAP,
    OPT_SWAP_INTERVAL,
    OPT_MAX_CONNS,
    OPT_HASH,
    OPT_POINT_HASH,
    OPT_UNSIGNED_BYTES,
    OPT_CODEC,
    OPT_PROMETHEUS,
    OPT_DELAY,
    OPT_HERD,
    OPT_LEASE,
    OPT_HERD_EVERY,
    OPT_ORIGIN_MS,
    OPT_HERD_TTL,
    OPT_THINK_MS,
    OPT_ASYNC,
};

static const struct option long_opts[] = {
    {"servers", required_argument, NULL, 's'},
    {"config", required_argument, NULL, 'c'},
    {"tries", required_argument, NULL, 't'},
    {"ring", required_argument, NULL, 'r'},
    {"key-mode", required_argument, NULL, 'k'},
    {"option", required_argument, NULL, 'o'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"markdown", no_argument, NULL, OPT_MARKDOWN},
    {"ttl", required_argument, NULL, OPT_TTL},
    {"keys", required_argument, NULL, OPT_KEYS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"old-ring", required_argument, NULL, OPT_OLD_RING},
    {"new-ring", required_argument, NULL, OPT_NEW_RING},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"ops", required_argument, NULL, OPT_OPS},
    {"value-size", required_argument, NULL, OPT_VALUE_SIZE},
    {"key-dist", required_argument, NULL, OPT_KEY_DIST},
    {"get-ratio", required_argument, NULL, OPT_GET_RATIO},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"swap", required_argument, NULL, OPT_SWAP},
    {"swap-interval-ms", required_argument, NULL, OPT_SWAP_INTERVAL},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {"hash", required_argument, NULL, OPT_HASH},
    {"point-hash", required_argument, NULL, OPT_POINT_HASH},
    {"unsigned-bytes", no_argument, NULL, OPT_UNSIGNED_BYTES},
    {"codec", required_argument, NULL, OPT_CODEC},
    {"prometheus", required_argument, NULL, OPT_PROMETHEUS},
    {"protocol", required_argument, NULL, 'p'},
    {"delay", required_argument, NULL, OPT_DELAY},
    {"herd", no_argument, NULL, OPT_HERD},
    {"lease", no_argument, NULL, OPT_LEASE},
    {"herd-every-ms", required_argument, NULL, OPT_HERD_EVERY},
    {"origin-ms", required_argument, NULL, OPT_ORIGIN_MS},
    {"herd-ttl", required_argument, NULL, OPT_HERD_TTL},
    {"think-ms", required_argument, NULL, OPT_THINK_MS},
    {"async", required_argument, NULL, OPT_ASYNC},
    {NULL, 0, NULL, 0},
};

static const struct {
    const char *name;
    int (*run)(cli *c);
} commands[] = {
    {"get", cmd_get},           {"set", cmd_set},
    {"delete", cmd_delete},     {"incr", cmd_incr},
    {"decr", cmd_decr},         {"locate", cmd_locate},
    {"ring-diff", cmd_ring_diff}, {"stats", cmd_stats},
    {"monitor", cmd_monitor},   {"bench", cmd_bench},
    {"options", cmd_options},   {"add", cmd_add},
    {"replace", cmd_replace},   {"append", cmd_append},
    {"prepend", cmd_prepend},   {"gets", cmd_gets},
    {"cas", cmd_cas},           {"touch", cmd_touch},
    {"gat", cmd_gat},           {"flush", cmd_flush},
    {"version", cmd_version},   {"server-stats", cmd_server_stats},
};

/* Options apply in a fixed order whatever the command line's order:
 * config file, MCRING_SERVERS, --servers, then the rest as given. */
typedef struct pending {
    const char *servers;
    const char *config;
    char *set_name[64];
    const char *set_value[64];
    int nset;
} pending;

static int queue(pending *p, const char *name, const char *value)
{
    if (p->nset >= 64)
        return cli_fail("too many options", name);
    p->set_name[p->nset] = strdup(name);
    p->set_value[p->nset] = value;
    p->nset++;
    return 0;
}

int main(int argc, char **argv)
{
    cli c = {.ttl = 0,
             .keys = -1,
             .seed = 1,
             .interval = 1.0,
             .get_ratio = -1,
             .swap_interval_ms = 10,
             .herd_every_ms = 100,
             .origin_ms = 5,
             .think_ms = 1};
    pending p = {0};
    int rc = EXIT_ERR;
    if (mcring_options_new(&c.opts) != 0)
        return cli_fail("startup", "out of memory");

    int opt;
    while ((opt = getopt_long(argc, argv, "s:c:t:r:k:p:o:vh", long_opts,
                              NULL)) != -1) {
        double d;
        switch (opt) {
        case 's':
            p.servers = optarg;
            break;
        case 'c':
            p.config = optarg;
            break;
        case 't':
            if (queue(&p, "tries", optarg))
                goto out;
            break;
        case 'r':
            c.ring_mode = optarg;
            if (queue(&p, "ring_mode", optarg))
                goto out;
            break;
        case 'k':
            if (queue(&p, "key_mode", optarg))
                goto out;
            break;
        case 'p':
            if (queue(&p, "protocol", optarg))
                goto out;
            break;
        case OPT_DELAY:
            if (parse_number("--delay", optarg, &c.delay) || c.delay < 0) {
                cli_fail("--delay", "must be >= 0");
                goto out;
            }
            break;
        case OPT_HERD:
            c.herd = true;
            break;
        case OPT_LEASE:
            c.lease = true;
            break;
        case OPT_HERD_EVERY:
            if (parse_number("--herd-every-ms", optarg, &c.herd_every_ms) ||
                !(c.herd_every_ms > 0)) {
                cli_fail("--herd-every-ms", "must be > 0");
                goto out;
            }
            break;
        case OPT_ORIGIN_MS:
            if (parse_number("--origin-ms", optarg, &c.origin_ms) ||
                c.origin_ms < 0) {
                cli_fail("--origin-ms", "must be >= 0");
                goto out;
            }
            break;
        case OPT_ASYNC: {
            double n;
            if (parse_number("--async", optarg, &n) || !(n >= 1) ||
                n > 1000000 || n != (int)n) {
                cli_fail("--async", "must be a whole number, 1 to 1000000");
                goto out;
            }
            c.async = (int)n;
            break;
        }
        case OPT_THINK_MS:
            if (parse_number("--think-ms", optarg, &c.think_ms) ||
                c.think_ms < 0) {
                cli_fail("--think-ms", "must be >= 0");
                goto out;
            }
            break;
        case OPT_HERD_TTL:
            if (parse_number("--herd-ttl", optarg, &c.herd_ttl) ||
                c.herd_ttl < 0) {
                cli_fail("--herd-ttl", "must be >= 0");
                goto out;
            }
            break;
        case OPT_HASH:
            c.hash = optarg;
            if (queue(&p, "ring_hash", optarg))
                goto out;
            break;
        case OPT_POINT_HASH:
            c.point_hash = optarg;
            if (queue(&p, "ring_point_hash", optarg))
                goto out;
            break;
        case OPT_UNSIGNED_BYTES:
            if (queue(&p, "ring_signed_bytes", "false"))
                goto out;
            break;
        case 'o': {
            char *eq = strchr(optarg, '=');
            if (eq == NULL) {
                cli_fail("--option", "expected NAME=VALUE");
                goto out;
            }
            *eq = '\0';
            if (queue(&p, optarg, eq + 1))
                goto out;
            break;
        }
        case 'v':
            c.verbose = true;
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto out;
        case OPT_MARKDOWN:
            c.markdown = true;
            break;
        case OPT_VERSION:
            printf("mcring %s\n", mcring_version());
            rc = 0;
            goto out;
        case OPT_TTL:
            if (parse_number("--ttl", optarg, &c.ttl))
                goto out;
            break;
        case OPT_KEYS:
            if (parse_number("--keys", optarg, &d) || d < 1 || d > 1e9) {
                cli_fail("--keys", "must be 1 to 1e9");
                goto out;
            }
            c.keys = (long)d;
            break;
        case OPT_SEED:
            if (parse_number("--seed", optarg, &d))
                goto out;
            c.seed = (unsigned long)d;
            break;
        case OPT_OLD_RING:
            c.old_ring = optarg;
            break;
        case OPT_NEW_RING:
            c.new_ring = optarg;
            break;
        case OPT_INTERVAL:
            if (parse_number("--interval", optarg, &c.interval) ||
                !(c.interval > 0)) {
                cli_fail("--interval", "must be > 0");
                goto out;
            }
            break;
        case OPT_DURATION:
            if (parse_number("--duration", optarg, &c.duration) ||
                c.duration < 0) {
                cli_fail("--duration", "must be >= 0");
                goto out;
            }
            break;
        case OPT_THREADS:
            if (parse_number("--threads", optarg, &d) || d < 1 || d > 4096) {
                cli_fail("--threads", "must be 1 to 4096");
                goto out;
            }
            c.threads = (int)d;
            break;
        case OPT_OPS:
            if (parse_number("--ops", optarg, &d) || d < 1 || d > 1e12) {
                cli_fail("--ops", "must be 1 to 1e12");
                goto out;
            }
            c.ops = (long)d;
            break;
        case OPT_VALUE_SIZE:
            c.value_size = optarg; /* checked by the command */
            break;
        case OPT_KEY_DIST:
            c.key_dist = optarg;
            break;
        case OPT_GET_RATIO:
            if (parse_number("--get-ratio", optarg, &c.get_ratio) ||
                c.get_ratio < 0 || c.get_ratio > 1) {
                cli_fail("--get-ratio", "must be 0 to 1");
                goto out;
            }
            break;
        case OPT_BATCH:
            if (parse_number("--batch", optarg, &d) || d < 1 || d > 100000) {
                cli_fail("--batch", "must be 1 to 100000");
                goto out;
            }
            c.batch = (int)d;
            break;
        case OPT_SWAP:
            c.swap_list = optarg;
            break;
        case OPT_SWAP_INTERVAL:
            if (parse_number("--swap-interval-ms", optarg,
                             &c.swap_interval_ms) ||
                !(c.swap_interval_ms > 0)) {
                cli_fail("--swap-interval-ms", "must be > 0");
                goto out;
            }
            break;
        case OPT_MAX_CONNS:
            if (strcmp(optarg, "threads") != 0 &&
                (parse_number("--max-conns", optarg, &d) || d < 1 ||
                 d > 65536)) {
                cli_fail("--max-conns", "must be 1 to 65536 or 'threads'");
                goto out;
            }
            c.max_conns = optarg;
            break;
        case OPT_CODEC:
            c.codec = optarg;
            break;
        case OPT_PROMETHEUS:
            c.prometheus = optarg;
            break;
        default:
            usage(stderr);
            goto out;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        goto out;
    }

    if (p.config != NULL) {
        char err[512];
        if (mcring_options_load(c.opts, p.config, err, sizeof(err)) != 0) {
            cli_fail("cannot load the config", err);
            goto out;
        }
        c.config_path = p.config;
    }
    const char *env = getenv("MCRING_SERVERS");
    if (p.servers == NULL && env != NULL && *env != '\0')
        p.servers = env;
    if (p.servers != NULL && set_opt(&c, "memcache_servers", p.servers))
        goto out;
    for (int i = 0; i < p.nset; i++)
        if (set_opt(&c, p.set_name[i], p.set_value[i]))
            goto out;
    if (c.verbose)
        mcring_options_set_log(c.opts, cli_log, NULL);

    const char *name = argv[optind];
    c.argc = argc - optind - 1;
    c.argv = argv + optind + 1;
    if (c.herd && strcmp(name, "bench") == 0) {
        rc = cmd_herd(&c);
        goto out;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(name, commands[i].name) == 0) {
            rc = commands[i].run(&c);
            goto out;
        }
    cli_fail(name, "unknown command (see mcring --help)");
out:
    for (int i = 0; i < p.nset; i++)
        free(p.set_name[i]);
    mcring_options_free(c.opts);
    return rc;
}
