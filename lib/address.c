#include <arpa/inet.h>
#include <stdio.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "error.h"
#include "utf8.h"

static bool is_host_char(unsigned char ch)
{
    return isalnum(ch) || ch == '-' || ch == '.' || ch == '_';
}

/* Port text: one or more ASCII digits (leading zeros allowed, as Swift
 * passes the text to getaddrinfo), after a '+' where allow_sign (glibc's
 * getaddrinfo reads a numeric service with strtoul, which takes one), value
 * 1..65535. */
static int parse_port(const char *s, size_t len, bool allow_sign, address *out,
                      const char *all, size_t all_len, char *err,
                      size_t errlen)
{
    unsigned long v = 0;
    if (allow_sign && len > 0 && s[0] == '+') {
        s++;
        len--;
    }
    if (len == 0)
        return err_set(err, errlen, MCRING_EADDR,
                       "server '%.*s': empty port", (int)all_len, all);
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return err_set(err, errlen, MCRING_EADDR,
                           "server '%.*s': port is not a number (service "
                           "names are not looked up)",
                           (int)all_len, all);
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v > 65535)
            break;
    }
    if (v == 0 || v > 65535)
        return err_set(err, errlen, MCRING_EADDR,
                       "server '%.*s': port must be 1-65535", (int)all_len,
                       all);
    out->port_num = (uint16_t)v;
    snprintf(out->port, sizeof(out->port), "%lu", v);
    return 0;
}

static bool is_host_name(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_host_char((unsigned char)s[i]))
            return false;
    return true;
}

/* "[inside]" or "[inside]:port", as Swift's IPV6_RE
 * ^\[(?P<address>.*)\](:(?P<port>[0-9]+))?$ reads it: the address runs to
 * the last ']' that only a port follows. Swift then hands the inside to
 * getaddrinfo, so besides an IPv6 literal (with a %scope) it may be an
 * IPv4 address or a host name: "[127.0.0.1]:11211", "[localhost]". */
static int parse_bracketed(const char *s, size_t len, address *out, char *err,
                           size_t errlen)
{
    const char *close = NULL;
    for (size_t i = len; i-- > 1;) {
        if (s[i] != ']')
            continue;
        size_t j = i + 1;
        bool port_only = j == len;
        if (!port_only && s[j] == ':' && j + 1 < len) {
            port_only = true;
            for (size_t k = j + 1; k < len; k++)
                port_only = port_only && s[k] >= '0' && s[k] <= '9';
        }
        if (port_only) {
            close = s + i;
            break;
        }
    }
    if (close == NULL)
        return err_set(err, errlen, MCRING_EADDR,
                       "server '%.*s': expected [address] or [address]:port",
                       (int)len, s);
    size_t alen = (size_t)(close - s) - 1;
    const char *rest = close + 1;
    size_t rlen = len - (size_t)(rest - s);
    if (alen == 0 || alen >= sizeof(out->host))
        return err_set(err, errlen, MCRING_EADDR,
                       "server '%.*s': bad address in brackets", (int)len, s);
    memcpy(out->host, s + 1, alen);
    out->host[alen] = '\0';

    if (memchr(out->host, ':', alen) == NULL) {
        /* No colon: an IPv4 address or a host name. */
        if (!is_host_name(out->host, alen))
            return err_set(err, errlen, MCRING_EADDR,
                           "server '%.*s': bad host name in brackets",
                           (int)len, s);
    } else {
        char plain[INET6_ADDRSTRLEN + 1];
        const char *pct = strchr(out->host, '%');
        size_t plen = pct ? (size_t)(pct - out->host) : alen;
        if (pct != NULL) {
            if (pct[1] == '\0')
                return err_set(err, errlen, MCRING_EADDR,
                               "server '%.*s': empty IPv6 scope", (int)len,
                               s);
            for (const char *p = pct + 1; *p; p++)
                if (!is_host_char((unsigned char)*p))
                    return err_set(err, errlen, MCRING_EADDR,
                                   "server '%.*s': bad IPv6 scope", (int)len,
                                   s);
        }
        struct in6_addr a6;
        if (plen >= sizeof(plain))
            return err_set(err, errlen, MCRING_EADDR,
                           "server '%.*s': bad IPv6 address", (int)len, s);
        memcpy(plain, out->host, plen);
        plain[plen] = '\0';
        if (inet_pton(AF_INET6, plain, &a6) != 1)
            return err_set(err, errlen, MCRING_EADDR,
                           "server '%.*s': bad IPv6 address", (int)len, s);
        out->is_ipv6_literal = true;
    }

    if (rlen == 0)
        return parse_port("11211", 5, false, out, s, len, err, errlen);
    return parse_port(rest + 1, rlen - 1, false, out, s, len, err, errlen);
}

int address_parse(const char *s, size_t len, address *out, char *err,
                  size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return err_set(err, errlen, MCRING_EADDR, "empty server string");
    if (len >= MCRING_NAME_MAX)
        return err_set(err, errlen, MCRING_EADDR,
                       "server '%.40s...': longer than %d bytes", s,
                       MCRING_NAME_MAX - 1);
    for (size_t i = 0; i < len; i++)
        if (iscntrl((unsigned char)s[i]) || s[i] == ' ')
            return err_set(err, errlen, MCRING_EADDR,
                           "server '%.*s': contains a space or control "
                           "character",
                           (int)len, s);

    if (s[0] == '[')
        return parse_bracketed(s, len, out, err, errlen);

    if (s[0] == '/') {
        memcpy(out->host, s, len);
        out->host[len] = '\0';
        out->is_unix = true;
        return 0;
    }

    const char *colon = memchr(s, ':', len);
    size_t hlen = colon ? (size_t)(colon - s) : len;
    if (colon != NULL && memchr(colon + 1, ':', len - hlen - 1) != NULL)
        return err_set(err, errlen, MCRING_EADDR,
                       "server '%.*s': IPv6 addresses must be between '[]'",
                       (int)len, s);
    if (hlen == 0)
        return err_set(err, errlen, MCRING_EADDR, "server '%.*s': empty host",
                       (int)len, s);
    for (size_t i = 0; i < hlen; i++)
        if (!is_host_char((unsigned char)s[i]))
            return err_set(err, errlen, MCRING_EADDR,
                           "server '%.*s': bad character '%c' in host name",
                           (int)len, s, s[i]);
    memcpy(out->host, s, hlen);
    out->host[hlen] = '\0';
    if (colon == NULL)
        return parse_port("11211", 5, false, out, s, len, err, errlen);
    return parse_port(colon + 1, len - hlen - 1, true, out, s, len, err,
                      errlen);
}

void server_list_free(server_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++) {
        free(list->names[i]);
        free(list->labels[i]);
    }
    free(list->names);
    free(list->weights);
    free(list->labels);
    list->names = NULL;
    list->weights = NULL;
    list->labels = NULL;
    list->count = 0;
    list->has_weights = false;
    list->has_labels = false;
}

/* A trailing ":weight" after a port: "h:p:w" (exactly two colons) or
 * "[v6]:p:w". Sets *len to the entry without it. 0: none; 1: found;
 * MCRING_EADDR: a weight out of range. */
static int split_weight(const char *s, size_t *len, unsigned *weight,
                        char *err, size_t errlen)
{
    size_t n = *len;
    const char *last = NULL;
    size_t colons = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ':') {
            colons++;
            last = s + i;
        }
    bool bracketed = n > 0 && s[0] == '[';
    const char *close = bracketed ? memchr(s, ']', n) : NULL;
    if (bracketed) {
        /* "]:port:weight": two colons after the bracket. */
        colons = 0;
        for (const char *p = close ? close : s + n; p < s + n; p++)
            colons += *p == ':';
    }
    if (colons != 2 || last == NULL)
        return 0;
    /* The port before the weight must be digits after a host (or ']'):
     * anything else ("::1", "a:b:c") is left to the address parser. */
    const char *port_end = last, *port = port_end;
    while (port > s && port[-1] != ':')
        port--;
    if (port == port_end || port - 1 == s || (bracketed && port[-2] != ']'))
        return 0;
    for (const char *p = port; p < port_end; p++)
        if (*p < '0' || *p > '9')
            return 0;
    size_t wl = n - (size_t)(last - s) - 1;
    if (wl == 0 || wl > 7)
        return err_set(err, errlen, MCRING_EADDR,
                       "server '%.*s': bad weight", (int)n, s);
    unsigned w = 0;
    for (size_t i = 0; i < wl; i++) {
        if (last[1 + i] < '0' || last[1 + i] > '9')
            return 0; /* not a weight: let the address parser say why */
        w = w * 10 + (unsigned)(last[1 + i] - '0');
    }
    if (w < 1 || w > MAX_WEIGHT)
        return err_set(err, errlen, MCRING_EADDR,
                       "server '%.*s': weight must be 1-%d", (int)n, s,
                       MAX_WEIGHT);
    *weight = w;
    *len = (size_t)(last - s);
    return 1;
}

/* A server name after the weight: "host:port:weight name" (twemproxy).
 * When the entry has a space, sets *len to the text before it and *label to
 * what follows the spaces, and returns true; the caller checks both. */
static bool split_label(const char *s, size_t *len, const char **label,
                        size_t *label_len)
{
    const char *sp = memchr(s, ' ', *len);
    if (sp == NULL)
        return false;
    const char *name = sp;
    while (*name == ' ')
        name++; /* the entry is trimmed, so a name follows */
    *label = name;
    *label_len = *len - (size_t)(name - s);
    *len = (size_t)(sp - s);
    return true;
}

static bool label_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (iscntrl((unsigned char)s[i]) || s[i] == ' ')
            return false;
    return true;
}

int server_list_parse(const char *text, server_list *out, char *err,
                      size_t errlen)
{
    server_list list = {NULL, NULL, NULL, 0, false, false};
    size_t cap = 0;
    const char *p = text ? text : "";

    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        s = utf8_strip(s, &len); /* Python's str.strip() */
        if (len > 0) {
            address a;
            unsigned weight = 1;
            const char *label = NULL;
            size_t label_len = 0, full_len = len;
            split_label(s, &len, &label, &label_len);
            int rc = split_weight(s, &len, &weight, err, errlen);
            if (rc == 0 && label != NULL) {
                /* Not "host:port:weight name": a space where none may be;
                 * the address parser says so about the whole entry. */
                label = NULL;
                len = full_len;
            }
            if (rc == 1 && label != NULL && !label_ok(label, label_len))
                rc = err_set(err, errlen, MCRING_EADDR,
                             "server '%.*s': a server name (after the "
                             "weight) cannot contain spaces or control "
                             "characters",
                             (int)full_len, s);
            if (rc == 1)
                list.has_weights = true;
            if (rc >= 0)
                rc = address_parse(s, len, &a, err, errlen);
            if (rc != 0) {
                server_list_free(&list);
                return rc;
            }
            if (list.count == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                char **n = realloc(list.names, ncap * sizeof(*n));
                if (n == NULL)
                    goto nomem;
                list.names = n;
                unsigned *w = realloc(list.weights, ncap * sizeof(*w));
                if (w == NULL)
                    goto nomem;
                list.weights = w;
                char **l = realloc(list.labels, ncap * sizeof(*l));
                if (l == NULL)
                    goto nomem;
                list.labels = l;
                cap = ncap;
            }
            list.weights[list.count] = weight;
            list.labels[list.count] = NULL;
            if (label != NULL) {
                list.labels[list.count] = strndup(label, label_len);
                if (list.labels[list.count] == NULL)
                    goto nomem;
                list.has_labels = true;
            }
            char *name = malloc(len + 1);
            if (name == NULL) {
                free(list.labels[list.count]);
                goto nomem;
            }
            memcpy(name, s, len);
            name[len] = '\0';
            list.names[list.count++] = name;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    if (list.count == 0)
        return err_set(err, errlen, MCRING_ENOSERVERS,
                       "no servers in the server list");
    *out = list;
    return 0;
nomem:
    server_list_free(&list);
    return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
}
