/* The async API through the libuv adapter (mcring/adapters/libuv.h). */
#include <mcring.h>
#include <mcring/adapters/libuv.h>
#include <stdlib.h>

#define ASYNC_SUITE async_uv
#include "async_cases.h"

static void *make(void)
{
    uv_loop_t *l = malloc(sizeof(*l));
    cr_assert_eq(uv_loop_init(l), 0);
    return l;
}

static int new_async(mcring_async **out, mcring_client *c, void *l)
{
    return mcring_async_new_uv(out, c, l);
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

/* One turn that waits at most about 10 ms. */
static void turn(void *l)
{
    uv_timer_t tick;
    uv_timer_init(l, &tick);
    uv_timer_start(&tick, on_tick, 10, 0);
    uv_run(l, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(l, UV_RUN_NOWAIT);
}

static void destroy(void *l)
{
    uv_run(l, UV_RUN_NOWAIT);
    cr_assert_eq(uv_loop_close(l), 0, "a handle was left open");
    free(l);
}

static const loop_driver driver = {"libuv", make, new_async, turn, destroy};
