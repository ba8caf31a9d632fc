/* The async API through the libevent adapter (mcring/adapters/libevent.h). */
#include <mcring.h>
#include <mcring/adapters/libevent.h>
#include <stdlib.h>

#define ASYNC_SUITE async_libevent
#include "async_cases.h"

static void *make(void)
{
    struct event_base *b = event_base_new();
    cr_assert_not_null(b);
    return b;
}

static int new_async(mcring_async **out, mcring_client *c, void *b)
{
    return mcring_async_new_libevent(out, c, b);
}

/* One turn that waits at most about 10 ms. */
static void turn(void *b)
{
    struct timeval tv = {0, 10000};
    event_base_loopexit(b, &tv);
    event_base_loop(b, EVLOOP_ONCE);
}

static void destroy(void *b)
{
    event_base_free(b);
}

static const loop_driver driver = {"libevent", make, new_async, turn,
                                   destroy};
