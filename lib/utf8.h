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

/* Python's str.isspace() (and re's \s): the 29 code points of Python 3.11
 * (Unicode 14): ASCII \t \n \v \f \r, \x1c-\x1f and space, U+0085,
 * U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. */
bool utf8_is_py_space(uint32_t cp);

/* The length in bytes of the Python white space that s[0..len) starts
 * with, and that it ends with. Bytes that are not valid UTF-8 count as
 * text. */
size_t utf8_space_prefix(const char *s, size_t len);
size_t utf8_space_suffix(const char *s, size_t len);

/* Python's str.strip(): sets *len to the length of s without the white
 * space around it and returns where it starts. */
const char *utf8_strip(const char *s, size_t *len);

/* The value 0-9 of a Unicode decimal digit (general category Nd, as
 * Python's int() and float() accept them), or -1. */
int utf8_decimal(uint32_t cp);

#endif
