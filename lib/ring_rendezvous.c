/*
 * pymemcache's HashClient placement, bit for bit: rendezvous (highest random
 * weight) hashing with murmur3 (pymemcache.client.rendezvous, as in
 * pymemcache 3.5.2).
 *
 * Each server is a node string, "host:port" (the port always written, 11211
 * when not given; IPv6 without brackets) or a Unix socket's path. A key's
 * score on a node is murmur3_32 (seed 0) of the text "node-key", computed by
 * pymemcache on a Python str: each character contributes its code point's
 * low 8 bits and the length is counted in characters. mcring's keys are
 * bytes, read as the UTF-8 a Python str key becomes on the wire; a byte
 * that is not part of valid UTF-8 counts as one character of that value
 * (what Python's surrogateescape decoding gives). The highest score wins;
 * on a tie, the larger node string. The try order goes on by descending
 * score, with the same tie rule (then list order, for two servers written
 * differently that are the same node).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring_common.h"

/* Keys up to this many bytes (raw keys are at most 250; in swift key mode
 * the 32-byte hex is hashed) are converted once per lookup on the stack.
 * Longer ones, which only mcring_ring_locate() passes on unvalidated, are
 * converted again for every node. */
#define KEY_STACK_MAX 256
/* Scores of this many servers are kept on the stack for a try order
 * longer than one server; more are allocated. */
#define SCORES_STACK_MAX 256

typedef struct rendezvous_ring {
    mcring_ring head;
    murmur3_state *prefix; /* per server: the hash state after "node-" */
    char **node;           /* per server: the node string */
    bool key_md5hex;
} rendezvous_ring;

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if none starts
 * there. The rules of Python's strict decoder: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static size_t utf8_sequence(const unsigned char *p, size_t len,
                            uint32_t *cp)
{
    unsigned char b = p[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        if (b == 0xe0)
            lo = 0xa0;
        else if (b == 0xed)
            hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        if (b == 0xf0)
            lo = 0x90;
        else if (b == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (len < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    uint32_t v = b & (0x7fu >> n);
    for (size_t i = 1; i < n; i++)
        v = (v << 6) | (p[i] & 0x3fu);
    *cp = v;
    return n;
}

/* The characters of text as pymemcache hashes them (low 8 bits of each code
 * point) into out, which has room for len bytes; returns how many. */
static size_t text_bytes(const unsigned char *text, size_t len,
                         unsigned char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l = utf8_sequence(text + i, len - i, &cp);
        if (l == 0) {
            cp = text[i]; /* not UTF-8: the byte itself */
            l = 1;
        }
        out[n++] = (unsigned char)(cp & 0xff);
        i += l;
    }
    return n;
}

/* Feeds text's characters to s without a buffer as long as the text. */
static void feed_text(murmur3_state *s, const unsigned char *text, size_t len)
{
    unsigned char chunk[64];
    size_t i = 0;
    while (i < len) {
        /* Up to 60 bytes of input, extended to the end of a sequence. */
        size_t end = i + 60 < len ? i + 60 : len;
        while (end < len && (text[end] & 0xc0) == 0x80 && end - i < 63)
            end++;
        size_t n = text_bytes(text + i, end - i, chunk);
        murmur3_update(s, chunk, n);
        i = end;
    }
}

/* Is server a ahead of server b in the try order? */
static bool ahead(const rendezvous_ring *r, uint32_t sa, uint32_t a,
                  uint32_t sb, uint32_t b)
{
    if (sa != sb)
        return sa > sb;
    int c = strcmp(r->node[a], r->node[b]);
    if (c != 0)
        return c > 0;
    return a < b;
}

typedef struct scorer {
    const rendezvous_ring *r;
    const unsigned char *key; /* converted key, or NULL: convert per node */
    size_t key_len;
    const unsigned char *raw; /* the key as given, for the slow path */
    size_t raw_len;
} scorer;

static uint32_t score(const scorer *sc, uint32_t s)
{
    murmur3_state st = sc->r->prefix[s];
    if (sc->key != NULL)
        murmur3_update(&st, sc->key, sc->key_len);
    else
        feed_text(&st, sc->raw, sc->raw_len);
    return murmur3_final(&st);
}

static bool chosen(const uint32_t *out, size_t n, uint32_t s)
{
    for (size_t i = 0; i < n; i++)
        if (out[i] == s)
            return true;
    return false;
}

static size_t rendezvous_locate(const mcring_ring *ring, const keyhash *key,
                                uint32_t *out, size_t n)
{
    const rendezvous_ring *r = (const rendezvous_ring *)ring;
    size_t want = n < ring->tries ? n : ring->tries;
    if (want == 0)
        return 0;

    char hex[MD5_HEX_LEN];
    unsigned char conv[KEY_STACK_MAX];
    scorer sc = {r, NULL, 0, key->key, key->len};
    if (r->key_md5hex) {
        hash_hex(key->md5, hex);
        sc.key = (const unsigned char *)hex;
        sc.key_len = sizeof(hex); /* ASCII: characters are the bytes */
    } else if (key->len <= sizeof(conv)) {
        sc.key_len = text_bytes(key->key, key->len, conv);
        sc.key = conv;
    }

    size_t ns = ring->nservers;
    if (want == 1) {
        uint32_t best = 0, best_score = score(&sc, 0);
        for (uint32_t s = 1; s < ns; s++) {
            uint32_t v = score(&sc, s);
            if (ahead(r, v, s, best_score, best)) {
                best = s;
                best_score = v;
            }
        }
        out[0] = best;
        return 1;
    }

    /* A longer try order: score every server once, then pick the best
     * remaining `want` times. Without memory for the scores (only past
     * SCORES_STACK_MAX servers), score again on every pick. */
    uint32_t stack_scores[SCORES_STACK_MAX];
    bool stack_taken[SCORES_STACK_MAX];
    uint32_t *scores = stack_scores;
    bool *taken = stack_taken;
    void *heap = NULL;
    if (ns > SCORES_STACK_MAX) {
        heap = malloc(ns * (sizeof(*scores) + sizeof(*taken)));
        scores = heap;
        taken = heap ? (bool *)(scores + ns) : NULL;
    }
    if (scores != NULL)
        for (uint32_t s = 0; s < ns; s++) {
            scores[s] = score(&sc, s);
            taken[s] = false;
        }
    size_t got = 0;
    for (; got < want; got++) {
        uint32_t best = 0, best_score = 0;
        bool any = false;
        for (uint32_t s = 0; s < ns; s++) {
            if (scores != NULL ? taken[s] : chosen(out, got, s))
                continue;
            uint32_t v = scores != NULL ? scores[s] : score(&sc, s);
            if (!any || ahead(r, v, s, best_score, best)) {
                best = s;
                best_score = v;
                any = true;
            }
        }
        out[got] = best;
        if (scores != NULL)
            taken[best] = true;
    }
    free(heap);
    return got;
}

static void rendezvous_destroy(mcring_ring *ring)
{
    rendezvous_ring *r = (rendezvous_ring *)ring;
    if (r->node != NULL)
        for (size_t s = 0; s < ring->nservers; s++)
            free(r->node[s]);
    free(r->node);
    free(r->prefix);
    ring_head_destroy(ring);
    free(r);
}

static const struct placement_ops rendezvous_ops = {
    .name = "rendezvous",
    .locate = rendezvous_locate,
    .destroy = rendezvous_destroy,
};

int ring_rendezvous_build(const ring_config *config,
                          const server_list *servers, size_t tries,
                          mcring_ring **out)
{
    rendezvous_ring *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return MCRING_ENOMEM;
    int rc = ring_head_init(&r->head, &rendezvous_ops, config->mode, servers,
                            tries);
    if (rc != 0) {
        free(r);
        return rc;
    }
    r->key_md5hex = config->key_md5hex;
    size_t ns = r->head.nservers;
    r->node = calloc(ns, sizeof(*r->node));
    r->prefix = malloc(ns * sizeof(*r->prefix));
    if (r->node == NULL || r->prefix == NULL) {
        rendezvous_destroy(&r->head);
        return MCRING_ENOMEM;
    }
    for (size_t s = 0; s < ns; s++) {
        address a;
        const char *name = r->head.names[s];
        char node[MCRING_NAME_MAX + 8];
        if (address_parse(name, strlen(name), &a, NULL, 0) != 0) {
            rendezvous_destroy(&r->head); /* cannot happen: validated */
            return MCRING_ECONFIG;
        }
        if (a.is_unix)
            snprintf(node, sizeof(node), "%s", a.host);
        else
            snprintf(node, sizeof(node), "%s:%u", a.host, a.port_num);
        r->node[s] = strdup(node);
        if (r->node[s] == NULL) {
            rendezvous_destroy(&r->head);
            return MCRING_ENOMEM;
        }
        murmur3_init(&r->prefix[s], 0);
        feed_text(&r->prefix[s], (const unsigned char *)node, strlen(node));
        murmur3_update(&r->prefix[s], "-", 1);
    }
    r->head.npoints = 0; /* no points: every server is scored per key */
    *out = &r->head;
    return 0;
}
