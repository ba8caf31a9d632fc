/* Error limiting: Swift's arithmetic on synthetic error times. */
#include <criterion/criterion.h>

#include "clock.h"
#include "server.h"

static server *make(void)
{
    server *s;
    cr_assert_eq(server_new("10.0.0.1:11211", 2, &s), 0);
    return s;
}

static limit_params params(uint64_t limit, double window)
{
    limit_params lp = {limit, (int64_t)(window * 1e9), (int64_t)(window * 1e9),
                       window > 0};
    return lp;
}

#define SEC(x) ((int64_t)((x) * 1e9))

Test(error_limit, the_eleventh_error_in_a_minute_bans)
{
    server *s = make();
    limit_params lp = params(10, 60);
    cr_assert_eq(server_prepare_limit(s, &lp), 0);
    int64_t t0 = SEC(1000);
    for (int i = 0; i < 10; i++) {
        cr_assert_not(server_record_error(s, &lp, t0 + SEC(i)), "error %d", i + 1);
        cr_assert_not(server_limited_at(s, t0 + SEC(i)));
    }
    cr_assert(server_record_error(s, &lp, t0 + SEC(10)));
    cr_assert(server_limited_at(s, t0 + SEC(11)));
    cr_assert(server_limited_at(s, t0 + SEC(69.9)));
    cr_assert_not(server_limited_at(s, t0 + SEC(70)), "ban lasts 60 s");
    cr_assert_eq(atomic_load(&s->errors), 11);
    server_free(s);
}

Test(error_limit, errors_spread_over_the_window_do_not_ban)
{
    server *s = make();
    limit_params lp = params(10, 60);
    cr_assert_eq(server_prepare_limit(s, &lp), 0);
    /* One error every 6.1 s: the 11th-newest is always older than 60 s. */
    for (int i = 0; i < 100; i++)
        cr_assert_not(server_record_error(s, &lp, SEC(6.1 * i)), "error %d", i);
    server_free(s);
}

Test(error_limit, exactly_window_old_errors_are_pruned)
{
    server *s = make();
    limit_params lp = params(1, 10);
    cr_assert_eq(server_prepare_limit(s, &lp), 0);
    cr_assert_not(server_record_error(s, &lp, SEC(100)));
    /* Swift keeps errors strictly newer than now - window. */
    cr_assert_not(server_record_error(s, &lp, SEC(110)));
    cr_assert(server_record_error(s, &lp, SEC(110.5)));
    server_free(s);
}

Test(error_limit, limit_zero_bans_on_the_first_error)
{
    server *s = make();
    limit_params lp = params(0, 60);
    cr_assert_eq(server_prepare_limit(s, &lp), 0);
    cr_assert(server_record_error(s, &lp, SEC(5)));
    server_free(s);
}

Test(error_limit, zero_window_turns_limiting_off)
{
    server *s = make();
    limit_params lp = params(0, 0);
    cr_assert_eq(server_prepare_limit(s, &lp), 0);
    for (int i = 0; i < 50; i++)
        cr_assert_not(server_record_error(s, &lp, SEC(i)));
    cr_assert_eq(atomic_load(&s->errors), 50, "still counted");
    server_free(s);
}

Test(error_limit, a_larger_limit_after_a_reload_keeps_history)
{
    server *s = make();
    limit_params small = params(2, 60), big = params(4, 60);
    cr_assert_eq(server_prepare_limit(s, &small), 0);
    cr_assert_not(server_record_error(s, &small, SEC(1)));
    cr_assert_not(server_record_error(s, &small, SEC(2)));
    cr_assert_eq(server_prepare_limit(s, &big), 0);
    cr_assert_not(server_record_error(s, &big, SEC(3)));
    cr_assert_not(server_record_error(s, &big, SEC(4)));
    cr_assert(server_record_error(s, &big, SEC(5)), "5 errors > limit 4");
    server_free(s);
}
