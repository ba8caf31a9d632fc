/* The mcring command-line tool: shared pieces. Uses the public API only. */
#ifndef MCRING_CLI_H
#define MCRING_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <mcring.h>

/* Exit codes: 0 done, 1 another outcome (a miss, not stored, exists, not
 * found), 2 an error. */
#define EXIT_MISS 1
#define EXIT_ERR 2

typedef struct cli {
    mcring_options *opts;
    const char *config_path;
    bool verbose;
    bool markdown; /* options --markdown */
    double ttl;
    double delay;      /* flush --delay */
    bool herd, lease;  /* bench --herd [--lease] */
    double herd_every_ms, origin_ms, herd_ttl, think_ms;
    const char *codec; /* set --codec: raw (default), json, msgpack */
    long keys;          /* ring-diff, stats: how many keys */
    unsigned long seed; /* ring-diff */
    const char *ring_mode;           /* --ring */
    const char *hash, *point_hash;   /* --hash, --point-hash */
    const char *old_ring, *new_ring; /* ring-diff: MODE[:HASH[:POINT_HASH]] */
    double interval, duration;       /* monitor, bench */
    const char *prometheus;          /* monitor: [ADDR:]PORT to serve */
    int threads, batch;              /* bench */
    int async;                       /* bench: requests in flight on one
                                      * event loop (0: the blocking API) */
    const char *max_conns;           /* bench: a number or "threads" */
    const char *value_size, *key_dist;
    long ops;
    double get_ratio, swap_interval_ms;
    const char *swap_list;
    int argc;  /* positional arguments after the subcommand */
    char **argv;
} cli;

/* Prints "mcring: <what>: <why>" to stderr and returns EXIT_ERR. */
int cli_fail(const char *what, const char *why);
/* A client from cli->opts, or NULL after printing why. */
mcring_client *cli_client(cli *c);
/* Log callback printing to stderr (with --verbose). */
void cli_log(void *ud, mcring_log_level level, const char *server,
             const char *msg);

int cmd_get(cli *c);
int cmd_set(cli *c);
int cmd_delete(cli *c);
int cmd_incr(cli *c);
int cmd_decr(cli *c);
int cmd_locate(cli *c);
int cmd_ring_diff(cli *c);
int cmd_stats(cli *c);
int cmd_monitor(cli *c);
int cmd_bench(cli *c);
int cmd_options(cli *c);
int cmd_add(cli *c);
int cmd_replace(cli *c);
int cmd_append(cli *c);
int cmd_prepend(cli *c);
int cmd_gets(cli *c);
int cmd_cas(cli *c);
int cmd_touch(cli *c);
int cmd_gat(cli *c);
int cmd_flush(cli *c);
int cmd_version(cli *c);
int cmd_server_stats(cli *c);
/* bench --herd (tools/herd.c). */
int cmd_herd(cli *c);

/* The per-(server, op) latency table of `stats` and `monitor`. */
int cli_print_op_stats(mcring_client *client);

/* The monitor's Prometheus endpoint (metrics_http.c): a listening socket
 * for "[ADDR:]PORT" (PORT alone: every interface), or -1 after printing
 * why. */
int metrics_http_listen(const char *spec);
/* Answers scrapes on fd for up to `seconds`, one at a time: GET or HEAD
 * of /metrics gets mcring_client_write_prometheus()'s text. Returns
 * early when a signal arrives. */
void metrics_http_serve(int fd, mcring_client *client, double seconds);

/* Every option, two lines each, for --help. */
void cli_print_options(FILE *f);

#endif
