/*
 * The memcache.conf reader (the options themselves are in options.h). It
 * follows Python's ConfigParser as Swift uses it: [sections], "key =
 * value" or "key: value", keys case-insensitive, full-line comments with # or ;, indented continuation
 * lines, a [DEFAULT] section whose keys every section inherits, %(name)s
 * interpolation and %% for a percent sign; duplicate sections or keys are
 * errors (ConfigParser's strict mode).
 */
#ifndef MCRING_CONFIG_H
#define MCRING_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcring.h"
#include "options.h"

/* mcring_options_load on text already in memory (n bytes; no NUL needed);
 * path only names it in messages. */
int options_load_text(mcring_options *o, const char *path, const char *text,
                      size_t n, char *err, size_t errlen);

#endif
