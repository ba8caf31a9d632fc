/*
 * UTF-8 as Python's strict codec reads it: no overlong forms, no encoded
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF. Pure functions.
 */
#ifndef MCRING_UTF8_H
#define MCRING_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..len) is valid UTF-8. */
bool utf8_valid(const unsigned char *s, size_t len);

/* Reads the sequence at s (len > 0 bytes available): its length (1..4)
 * with the code point in *cp, or 0 when it is not valid UTF-8. */
size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp);

/* Writes code point cp (<= U+10FFFF, not a surrogate) to out (4 bytes of
 * room) and returns how many bytes it took. */
size_t utf8_put(uint32_t cp, unsigned char *out);

#endif
