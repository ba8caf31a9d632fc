/* The async API through the epoll adapter (mcring/adapters/epoll.h). */
#include <mcring.h>
#include <mcring/adapters/epoll.h>
#include <stdlib.h>

#define ASYNC_SUITE async_epoll
#include "async_cases.h"

static void *make(void)
{
    mcring_epoll *l = malloc(sizeof(*l));
    cr_assert_eq(mcring_epoll_init(l), 0);
    return l;
}

static int new_async(mcring_async **out, mcring_client *c, void *l)
{
    return mcring_async_new_epoll(out, c, l);
}

static void turn(void *l)
{
    mcring_epoll_run_once(l, 10);
}

static void destroy(void *l)
{
    mcring_epoll_close(l);
    free(l);
}

static const loop_driver driver = {"epoll", make, new_async, turn, destroy};
