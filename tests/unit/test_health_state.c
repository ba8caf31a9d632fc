/* A server's health (lib/health.h) on synthetic times: the transitions,
 * the fleet cap, the probes' backoff, jitter and flapping. No sockets, no
 * sleeping. */
#include <criterion/criterion.h>

#include "clock.h"
#include "health.h"

#define SEC(x) ((int64_t)((x) * 1e9))

static health_params params(void)
{
    health_params hp = {
        .probe = true,
        .timeouts_until_down = 3,
        .probe_interval_ns = SEC(1),
        .probe_max_interval_ns = SEC(8),
        .probe_timeout_ns = SEC(1),
        .jitter = 0,
        .max_down = 10,
    };
    return hp;
}

static health_status fail(health *h, health_fleet *f, const health_params *hp,
                          health_failure kind, int64_t now)
{
    bool capped;
    return health_failed(h, f, hp, kind, false, now, &capped);
}

Test(health, a_failed_connect_marks_it_hard_down_at_once)
{
    health h;
    health_fleet f = {0};
    health_params hp = params();
    health_init(&h, 1);
    cr_assert_not(health_is_down(&h));
    cr_assert_eq(fail(&h, &f, &hp, FAILURE_CONNECT, SEC(100)),
                 HEALTH_HARD_DOWN);
    cr_assert(health_is_down(&h));
    cr_assert_eq(atomic_load(&f.down), 1);
    cr_assert_eq(health_next_probe(&h), SEC(101), "first probe after 1 s");
    /* Further failures of a down server change nothing. */
    cr_assert_eq(fail(&h, &f, &hp, FAILURE_CONNECT, SEC(100.5)), HEALTH_UP);
    cr_assert_eq(atomic_load(&h.downs), 1);
    health_forget(&h, &f);
    cr_assert_eq(atomic_load(&f.down), 0);
    health_destroy(&h);
}

Test(health, timeouts_in_a_row_mark_it_soft_down_and_a_reply_resets_them)
{
    health h;
    health_fleet f = {0};
    health_params hp = params();
    health_init(&h, 1);
    cr_assert_eq(fail(&h, &f, &hp, FAILURE_TIMEOUT, SEC(1)), HEALTH_UP);
    cr_assert_eq(fail(&h, &f, &hp, FAILURE_TIMEOUT, SEC(2)), HEALTH_UP);
    health_ok(&h); /* a reply in between */
    cr_assert_eq(fail(&h, &f, &hp, FAILURE_TIMEOUT, SEC(3)), HEALTH_UP);
    cr_assert_eq(fail(&h, &f, &hp, FAILURE_OTHER, SEC(3.5)), HEALTH_UP,
                 "other failures neither count nor reset");
    cr_assert_eq(fail(&h, &f, &hp, FAILURE_TIMEOUT, SEC(4)), HEALTH_UP);
    cr_assert_eq(fail(&h, &f, &hp, FAILURE_TIMEOUT, SEC(5)),
                 HEALTH_SOFT_DOWN, "the third in a row");
    health_forget(&h, &f);
    health_destroy(&h);
}

Test(health, passing_the_error_limit_marks_it_soft_down)
{
    health h;
    health_fleet f = {0};
    health_params hp = params();
    health_init(&h, 1);
    bool capped;
    cr_assert_eq(health_failed(&h, &f, &hp, FAILURE_OTHER, true, SEC(1),
                               &capped),
                 HEALTH_SOFT_DOWN);
    health_forget(&h, &f);
    health_destroy(&h);
}

Test(health, probes_back_off_to_the_maximum_and_a_success_brings_it_up)
{
    health h;
    health_fleet f = {0};
    health_params hp = params();
    health_init(&h, 1);
    fail(&h, &f, &hp, FAILURE_CONNECT, SEC(0));
    int64_t t = SEC(1);
    int64_t waits[] = {SEC(2), SEC(4), SEC(8), SEC(8), SEC(8)};
    for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
        cr_assert_eq(health_next_probe(&h), t, "probe %zu", i);
        health_probe_done(&h, &f, &hp, false, t);
        t += waits[i];
    }
    cr_assert_eq(atomic_load(&h.probe_failures), 5);
    health_probe_done(&h, &f, &hp, true, t);
    cr_assert_not(health_is_down(&h));
    cr_assert_eq(health_next_probe(&h), INT64_MAX);
    cr_assert_eq(atomic_load(&f.down), 0);
    cr_assert_eq(atomic_load(&h.recoveries), 1);
    cr_assert_eq(atomic_load(&h.probes), 6);
    /* Stable for longer than the maximum interval: a new outage starts
     * from the first interval again. */
    t += SEC(20);
    fail(&h, &f, &hp, FAILURE_CONNECT, t);
    cr_assert_eq(health_next_probe(&h), t + SEC(1));
    health_forget(&h, &f);
    health_destroy(&h);
}

Test(health, a_flapping_server_keeps_its_longer_wait)
{
    health h;
    health_fleet f = {0};
    health_params hp = params();
    health_init(&h, 1);
    int64_t t = SEC(0);
    int64_t expect[] = {SEC(1), SEC(2), SEC(4), SEC(8), SEC(8)};
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        fail(&h, &f, &hp, FAILURE_CONNECT, t);
        cr_assert_eq(health_next_probe(&h) - t, expect[i], "outage %zu", i);
        t = health_next_probe(&h);
        health_probe_done(&h, &f, &hp, true, t);
        t += SEC(2); /* down again 2 s after coming back */
    }
    health_destroy(&h);
}

Test(health, jitter_shortens_waits_by_at_most_its_share)
{
    health h;
    health_fleet f = {0};
    health_params hp = params();
    hp.jitter = 0.5;
    hp.probe_max_interval_ns = SEC(1);
    health_init(&h, 42);
    bool varied = false;
    int64_t first = -1;
    for (int i = 0; i < 200; i++) {
        int64_t t = SEC(100 * i);
        fail(&h, &f, &hp, FAILURE_CONNECT, t);
        int64_t w = health_next_probe(&h) - t;
        cr_assert(w > SEC(0.5) - 1 && w <= SEC(1), "wait %lld",
                  (long long)w);
        if (first < 0)
            first = w;
        varied |= w != first;
        health_probe_done(&h, &f, &hp, true, t + w);
    }
    cr_assert(varied, "jitter varies the waits");
    health_destroy(&h);
}

Test(health, the_fleet_cap_keeps_servers_in_use)
{
    health h[4];
    health_fleet f = {0};
    health_params hp = params();
    hp.max_down = 2;
    for (int i = 0; i < 4; i++)
        health_init(&h[i], (uint64_t)i + 1);
    cr_assert_eq(fail(&h[0], &f, &hp, FAILURE_CONNECT, SEC(1)),
                 HEALTH_HARD_DOWN);
    cr_assert_eq(fail(&h[1], &f, &hp, FAILURE_CONNECT, SEC(1)),
                 HEALTH_HARD_DOWN);
    bool capped;
    cr_assert_eq(health_failed(&h[2], &f, &hp, FAILURE_CONNECT, false,
                               SEC(1), &capped),
                 HEALTH_UP);
    cr_assert(capped);
    cr_assert_not(health_is_down(&h[2]));
    cr_assert_eq(atomic_load(&h[2].capped), 1);
    /* One comes back: room for another. */
    health_probe_done(&h[0], &f, &hp, true, SEC(2));
    cr_assert_eq(fail(&h[2], &f, &hp, FAILURE_CONNECT, SEC(3)),
                 HEALTH_HARD_DOWN);
    cr_assert_eq(atomic_load(&f.down), 2);
    for (int i = 0; i < 4; i++) {
        health_forget(&h[i], &f);
        health_destroy(&h[i]);
    }
    cr_assert_eq(atomic_load(&f.down), 0);
}

Test(health, a_successor_inherits_the_outage)
{
    health old, h;
    health_fleet f = {0};
    health_params hp = params();
    health_init(&old, 1);
    health_init(&h, 2);
    fail(&old, &f, &hp, FAILURE_CONNECT, SEC(5));
    health_inherit(&h, &old, &f);
    cr_assert(health_is_down(&h));
    cr_assert_eq(health_next_probe(&h), SEC(6));
    cr_assert_eq(atomic_load(&f.down), 2, "both count until the old goes");
    health_forget(&old, &f);
    health_destroy(&old);
    cr_assert_eq(atomic_load(&f.down), 1);
    health_restore(&h, &f, SEC(7));
    cr_assert_not(health_is_down(&h));
    cr_assert_eq(atomic_load(&f.down), 0);
    health_destroy(&h);
}
