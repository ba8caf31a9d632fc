/*
 * Server strings as Swift writes them (swift.common.utils.parse_socket_string)
 * and server lists as memcache.conf holds them. Pure; thread-safe.
 *
 *   host | host:port | 1.2.3.4[:port] | [v6addr][:port] | [fe80::1%eth0]:port
 *   /path/to/socket                     (mcring extension: a Unix socket)
 */
#ifndef MCRING_ADDRESS_H
#define MCRING_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcring.h"

#define ADDRESS_DEFAULT_PORT 11211

typedef struct address {
    char host[MCRING_NAME_MAX]; /* without brackets; keeps an IPv6 %scope */
    char port[8];               /* the port in decimal, for getaddrinfo */
    uint16_t port_num;
    bool is_unix;               /* host is a filesystem path */
    bool is_ipv6_literal;       /* was written in brackets */
} address;

/* Parses one server string (no surrounding spaces). Returns 0 or
 * MCRING_EADDR with the reason in err. */
int address_parse(const char *s, size_t len, address *out, char *err,
                  size_t errlen);

/* A parsed server list: the server strings exactly as configured, in order,
 * empty entries dropped, duplicates kept (the ring decides what they mean).
 * An entry may end in a weight after its port, "host:port:weight" or
 * "[v6]:port:weight" (rings that use weights; Swift's does not), and a
 * weight may be followed by a server name after spaces, as twemproxy
 * writes servers: "host:port:weight name". names[] hold the entries without
 * weight and name (the address, which identifies the server's connections);
 * labels[] hold the names. */
typedef struct server_list {
    char **names;
    unsigned *weights; /* 1 where none was given */
    char **labels;     /* NULL where no name was given */
    size_t count;
    bool has_weights;  /* some entry gave a weight */
    bool has_labels;   /* some entry gave a name */
} server_list;

#define MAX_WEIGHT 1000

/* Splits on commas, strips whitespace around each entry, skips empty ones,
 * validates each with address_parse. Returns 0, MCRING_EADDR (an entry is
 * bad; err names it), MCRING_ENOSERVERS (nothing left) or MCRING_ENOMEM. */
int server_list_parse(const char *text, server_list *out, char *err,
                      size_t errlen);
void server_list_free(server_list *list);

#endif
