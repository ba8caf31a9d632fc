/*
 * Watching a file: a background thread looks at the file's identity
 * (device, inode, size, change times) every interval and, when it changed,
 * calls the owner's reload function with the path. The watcher knows
 * nothing of what the file configures: the client's glue (reload.c) loads
 * and applies it.
 *
 * A reload may be slow (a large file, a large ring to build), so the owner
 * must be able to stop the watcher without waiting for one to finish: the
 * reload function receives the watcher's stop flag and should check it
 * between its phases and give up when it is set.
 */
#ifndef MCRING_WATCH_H
#define MCRING_WATCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>

typedef struct watcher watcher;

/* Called on the watcher's thread when the file changed. `stop` turns true
 * once watch_stop() is waiting for the thread. */
typedef void (*watch_reload_fn)(void *ctx, const char *path,
                                const atomic_bool *stop);

/* Starts a watcher of path every interval_s seconds; `seen` is the file's
 * identity as last loaded (NULL: none yet, so the first look reloads).
 * Returns 0, MCRING_ENOMEM or MCRING_ESYS (no thread). */
int watch_start(watcher **out, const char *path, double interval_s,
                const struct stat *seen, watch_reload_fn fn, void *ctx);

/* Asks the thread to stop (setting the flag a running reload checks),
 * joins it and frees the watcher. Accepts NULL. Not from the watcher's own
 * thread. */
void watch_stop(watcher *w);

/* The watched path (valid until watch_stop). */
const char *watch_path(const watcher *w);

#endif
