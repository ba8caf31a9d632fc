/*
 * Watching a memcache.conf: a background thread looks at the file's
 * identity (device, inode, size, change times) every interval and, when it
 * changed, rebuilds the client's configuration from it and publishes the
 * new ring. A file that fails to load is logged and leaves the running
 * configuration alone.
 */
#ifndef MCRING_WATCH_H
#define MCRING_WATCH_H

#include "mcring.h"

/* Stops and joins the client's watcher, if any. */
void watch_stop(mcring_client *c);

#endif
