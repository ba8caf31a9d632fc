/* Error text helpers shared by the layers. */
#ifndef MCRING_ERROR_H
#define MCRING_ERROR_H

#include <stddef.h>

#include "mcring.h"

/* Writes a formatted one-line message into err (if not NULL) and returns
 * code, so that callers can write `return err_set(err, len, CODE, ...)`. */
int err_set(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
