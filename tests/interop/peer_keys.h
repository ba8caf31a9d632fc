/*
 * Keys for the placement interop suites: ASCII names, UTF-8 text (2-, 3-
 * and 4-byte characters), random bytes >= 0x80 (which the peers' signed
 * char arithmetic sign-extends) and long keys. Deterministic.
 */
#ifndef MCRING_TEST_PEER_KEYS_H
#define MCRING_TEST_PEER_KEYS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PEER_KEY_MAX 250

static inline uint64_t peer_rnd(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/*
 * Key number i into out[PEER_KEY_MAX]; returns its length. Distinct i give
 * distinct keys. wire_safe keeps
 * to what memcached's text protocol takes as a key (no bytes <= 0x20 or
 * 0x7f); otherwise any byte but NUL may appear.
 */
static inline size_t peer_key(uint64_t *rng, int i, bool wire_safe,
                              unsigned char *out)
{
    static const char *const text[] = {"caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac",
                                       "na\xc3\xafve-\xe2\x82\xac",
                                       "\xf0\x9f\x98\x80"};
    int n;
    switch (i % 6) {
    case 0:
        n = snprintf((char *)out, PEER_KEY_MAX, "key%d", i);
        break;
    case 1:
        n = snprintf((char *)out, PEER_KEY_MAX, "user:%d:session:%llx", i,
                     (unsigned long long)(peer_rnd(rng) >> 20));
        break;
    case 2:
        n = snprintf((char *)out, PEER_KEY_MAX, "%s-%d", text[(i / 6) % 4], i);
        break;
    case 3:
    case 4: {
        /* The key's number (so that keys are distinct), then random bytes,
         * at least a third of them >= 0x80, so that the last bytes, which
         * the hashes' tail code reads, are often not ASCII. */
        int pre = snprintf((char *)out, PEER_KEY_MAX, "%d#", i);
        n = pre + 1 + (int)(peer_rnd(rng) % 40);
        for (int j = pre; j < n; j++) {
            uint64_t r = peer_rnd(rng);
            unsigned char b = (unsigned char)(r & 0xff);
            if ((j - pre) % 3 == 0)
                b |= 0x80;
            if (wire_safe && (b <= 0x20 || b == 0x7f))
                b = (unsigned char)('a' + r % 26);
            if (b == 0)
                b = 'z';
            out[j] = b;
        }
        break;
    }
    default:
        /* Long keys, up to memcached's 250 bytes. */
        n = 100 + (int)(peer_rnd(rng) % 151);
        for (int j = 0; j < n; j++)
            out[j] = (unsigned char)('!' + (peer_rnd(rng) % 94));
        break;
    }
    return (size_t)n;
}

#endif
