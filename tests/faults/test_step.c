/*
 * Connections in step or closed: a server (or proxy) that sends one reply
 * too many — with the reply or late —, lines before any request, replies
 * for keys not asked for. No call may ever get an answer that is not the
 * reply to its own request: it gets its own answer or a failure, the
 * connection that went out of step is closed (never reused) and counted
 * against the server once, and the next call is answered right. Run with
 * pipelining on and off (tests/meson.build), against a fake memcached
 * that speaks the meta no-op (fences) and one that does not.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake.h"
#include "harness.h"

/* ---- a small memcached with one fault ----------------------------------- */

/* Answers get, set, delete and incr as memcached would, for raw keys: the
 * value of key K is "v:K"; incr of K by D answers 1000 * len(K) + D. After
 * the reply to request number `extra_after` (1-based), it sends `extra`:
 * with the reply, or extra_delay_ms later. */
typedef struct mini {
    int extra_after;
    const char *extra;
    int extra_delay_ms;
    atomic_int requests;
    bool in_data; /* the next line is a set's data block */
} mini;

typedef struct late {
    int fd;
    const char *text;
    int delay_ms;
} late;

static void *write_late(void *p)
{
    late *l = p;
    usleep((useconds_t)l->delay_ms * 1000);
    fake_puts(l->fd, l->text);
    free(l);
    return NULL;
}

/* Writes reply, with the extra behind it in the same write when it is
 * due now, or starts its late write. */
static void send_reply(mini *m, int fd, int n, char *reply, size_t cap)
{
    bool due = n == m->extra_after && m->extra != NULL;
    if (due && m->extra_delay_ms == 0)
        strncat(reply, m->extra, cap - strlen(reply) - 1);
    fake_puts(fd, reply);
    if (due && m->extra_delay_ms > 0) {
        late *l = malloc(sizeof(*l));
        *l = (late){fd, m->extra, m->extra_delay_ms};
        pthread_t t;
        pthread_create(&t, NULL, write_late, l);
        pthread_detach(t);
    }
}

static fake_action mini_handler(int fd, const char *line, size_t len, void *ud)
{
    mini *m = ud;
    char out[2048] = "";
    if (m->in_data) {
        m->in_data = false;
        strcpy(out, "STORED\r\n");
        send_reply(m, fd, atomic_load(&m->requests), out, sizeof(out));
        return FAKE_KEEP;
    }
    int n = atomic_fetch_add(&m->requests, 1) + 1;
    if (len > 4 && memcmp(line, "get ", 4) == 0) {
        const char *p = line + 4, *end = line + len;
        while (p < end) {
            const char *sp = memchr(p, ' ', (size_t)(end - p));
            size_t kl = sp ? (size_t)(sp - p) : (size_t)(end - p);
            size_t o = strlen(out);
            snprintf(out + o, sizeof(out) - o, "VALUE %.*s 0 %zu\r\nv:%.*s\r\n",
                     (int)kl, p, kl + 2, (int)kl, p);
            p += kl + (sp ? 1 : 0);
        }
        strcat(out, "END\r\n");
    } else if (len > 4 && memcmp(line, "set ", 4) == 0) {
        m->in_data = true;
        return FAKE_KEEP; /* answered after the data line */
    } else if (len > 7 && memcmp(line, "delete ", 7) == 0) {
        strcpy(out, "DELETED\r\n");
    } else if (len > 5 && memcmp(line, "incr ", 5) == 0) {
        const char *k = line + 5, *sp = memchr(k, ' ', len - 5);
        size_t kl = (size_t)(sp - k);
        snprintf(out, sizeof(out), "%zu\r\n", 1000 * kl + (size_t)atol(sp + 1));
    } else {
        strcpy(out, "ERROR\r\n");
    }
    send_reply(m, fd, n, out, sizeof(out));
    return FAKE_KEEP;
}

/* A client on f with one connection, one try, raw keys and no error
 * limiting (every failure counts, none bans). */
static mcring_client *client_on(fake_server *f, mcring_options **o,
                                log_capture *lc)
{
    *o = opts_for(fake_name(f), "tries", "1", "memcache_max_connections", "1",
                  "key_mode", "raw", "error_suppression_interval", "0",
                  "io_timeout", "1", NULL);
    if (lc != NULL)
        mcring_options_set_log(*o, log_capture_fn, lc);
    return client_for(*o);
}

static mcring_server_stats stats_of(mcring_client *c)
{
    mcring_server_stats st;
    mcring_client_server_stats(c, &st, 1);
    return st;
}

/* ---- the operations, each with its right answer ------------------------- */

typedef enum op { OP_GET, OP_SET, OP_DELETE, OP_INCR } op;

/* Runs op on key and says whether the outcome is the right answer (true)
 * or a failure (false); anything else fails the test. */
static bool right_or_failed(mcring_client *c, op o, const char *key)
{
    size_t kl = strlen(key);
    int rc = MCRING_EINVAL;
    switch (o) {
    case OP_GET: {
        mcring_item it = MCRING_ITEM_INIT;
        rc = mcring_get(c, key, kl, &it);
        if (rc == MCRING_OK) {
            char want[64];
            snprintf(want, sizeof(want), "v:%s", key);
            cr_assert_str_eq(it.data, want, "get %s answered another reply",
                             key);
        }
        cr_assert_neq(rc, MCRING_MISS, "get %s: a miss that is not one", key);
        mcring_item_release(&it);
        break;
    }
    case OP_SET:
        rc = mcring_set(c, key, kl, "x", 1, 0, 0);
        break;
    case OP_DELETE:
        rc = mcring_delete(c, key, kl, NULL, 0);
        cr_assert_neq(rc, MCRING_MISS, "delete %s: NOT_FOUND was not its", key);
        break;
    case OP_INCR: {
        uint64_t v = 0;
        rc = mcring_incr(c, key, kl, 5, 0, &v);
        if (rc == MCRING_OK)
            cr_assert_eq(v, 1000 * kl + 5, "incr %s answered %llu, another "
                                           "request's counter",
                         key, (unsigned long long)v);
        break;
    }
    }
    cr_assert(rc == MCRING_OK || rc < 0, "%s: unexpected outcome %s", key,
              mcring_err_name(rc));
    return rc == MCRING_OK;
}

/* The reply each op's request can take for another's. */
static const char *plausible_extra(op o)
{
    switch (o) {
    case OP_GET:
        return "END\r\n";
    case OP_SET:
        return "STORED\r\n";
    case OP_DELETE:
        return "NOT_FOUND\r\n";
    case OP_INCR:
        return "7\r\n";
    }
    return "";
}

static const op all_ops[] = {OP_GET, OP_SET, OP_DELETE, OP_INCR};

/* ---- one reply too many, with the reply ---------------------------------- */

static void extra_at_once(bool old_server)
{
    for (size_t i = 0; i < 4; i++) {
        op o = all_ops[i];
        mini m = {.extra_after = 2, .extra = plausible_extra(o)};
        fake_server *f = fake_start(mini_handler, &m);
        fake_set_old_server(f, old_server);
        mcring_options *opts;
        mcring_client *c = client_on(f, &opts, NULL);
        /* The first call settles whether the server takes fences. */
        cr_assert(right_or_failed(c, o, "first"));
        bool right = right_or_failed(c, o, "second");
        /* With fences the extra is caught before the reply is handed
         * over; without them the reply (read first) is the right one and
         * the extra is caught after it. Either way the connection ends. */
        if (!old_server)
            cr_assert_not(right, "op %zu: a fenced batch with an extra reply "
                                 "must fail",
                          i);
        cr_assert(right_or_failed(c, o, "third"), "answered right after");
        mcring_server_stats st = stats_of(c);
        cr_assert_eq(st.errors, 1, "op %zu: counted once (%llu)", i,
                     (unsigned long long)st.errors);
        cr_assert_eq(st.connects, 2, "op %zu: the connection was replaced", i);
        mcring_client_free(c);
        mcring_options_free(opts);
        fake_stop(f);
    }
}

Test(step, one_reply_too_many_is_caught_before_it_answers_anyone)
{
    extra_at_once(false);
}

Test(step, one_reply_too_many_from_a_server_without_fences)
{
    extra_at_once(true);
}

/* ---- one reply too many, late -------------------------------------------- */

static void extra_late(bool old_server)
{
    for (size_t i = 0; i < 4; i++) {
        op o = all_ops[i];
        mini m = {.extra_after = 2, .extra = plausible_extra(o),
                  .extra_delay_ms = 50};
        fake_server *f = fake_start(mini_handler, &m);
        fake_set_old_server(f, old_server);
        mcring_options *opts;
        log_capture lc = {0};
        mcring_client *c = client_on(f, &opts, &lc);
        cr_assert(right_or_failed(c, o, "first"));
        cr_assert(right_or_failed(c, o, "second"), "answered before the extra");
        usleep(250000); /* the extra arrives on the idle connection */
        /* The next request must not take it for its reply. */
        cr_assert_not(right_or_failed(c, o, "after"),
                      "op %zu: a late extra reply cannot be told from an "
                      "answer here; the call must fail",
                      i);
        cr_assert(right_or_failed(c, o, "again"));
        mcring_server_stats st = stats_of(c);
        cr_assert_eq(st.errors, 1, "op %zu: counted once", i);
        cr_assert_eq(st.connects, 2);
        mcring_client_free(c);
        mcring_options_free(opts);
        fake_stop(f);
    }
}

Test(step, a_late_extra_reply_never_answers_the_next_request)
{
    extra_late(false);
}

Test(step, a_late_extra_reply_from_a_server_without_fences)
{
    extra_late(true);
}

/* ---- lines before any request -------------------------------------------- */

static void greeting(bool old_server, const char *text, op o, const char *key)
{
    mini m = {0};
    fake_server *f = fake_start(mini_handler, &m);
    fake_set_old_server(f, old_server);
    fake_set_greeting(f, text);
    mcring_options *opts;
    mcring_client *c = client_on(f, &opts, NULL);
    cr_assert_not(right_or_failed(c, o, key), "a greeting taken for a reply");
    cr_assert(right_or_failed(c, o, key));
    cr_assert_eq(stats_of(c).errors, 1);
    mcring_client_free(c);
    mcring_options_free(opts);
    fake_stop(f);
}

Test(step, unsolicited_lines_at_accept_answer_no_one)
{
    for (int old = 0; old < 2; old++) {
        greeting(old, "VALUE k 0 5\r\nwrong\r\nEND\r\n", OP_GET, "k");
        greeting(old, "END\r\n", OP_GET, "k");
        greeting(old, "STORED\r\n", OP_SET, "k");
        greeting(old, "3\r\n", OP_INCR, "k");
        greeting(old, "DELETED\r\n", OP_DELETE, "k");
    }
}

/* ---- multi-key calls ------------------------------------------------------ */

Test(step, a_multi_get_never_takes_a_reply_that_is_not_its_own)
{
    mini m = {.extra_after = 1, .extra = "VALUE b 0 5\r\nwrong\r\nEND\r\n"};
    fake_server *f = fake_start(mini_handler, &m);
    mcring_options *opts;
    mcring_client *c = client_on(f, &opts, NULL);
    mcring_key keys[2] = {{"a", 1}, {"b", 1}};
    mcring_item items[2] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT};
    int st[2];
    int rc = mcring_get_multi(c, keys, 2, NULL, 0, items, st);
    cr_assert_lt(rc, 0, "an extra reply behind a multi-get fails it");
    for (int i = 0; i < 2; i++) {
        cr_assert_lt(st[i], 0);
        cr_assert_eq(items[i].len, 0);
    }
    rc = mcring_get_multi(c, keys, 2, NULL, 0, items, st);
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(items[0].data, "v:a");
    cr_assert_str_eq(items[1].data, "v:b");
    mcring_item_release(&items[0]);
    mcring_item_release(&items[1]);
    cr_assert_eq(stats_of(c).errors, 1);
    mcring_client_free(c);
    mcring_options_free(opts);
    fake_stop(f);
}

/* A reply for a key asked for in a multi-get, but out of order, or for a
 * key of another request: the stream is out of step. */
static fake_action wrong_order(int fd, const char *line, size_t len, void *ud)
{
    (void)ud;
    if (len > 4 && memcmp(line, "get ", 4) == 0)
        fake_puts(fd, "VALUE b 0 3\r\nv:b\r\nVALUE a 0 3\r\nv:a\r\nEND\r\n");
    else
        fake_puts(fd, "ERROR\r\n");
    return FAKE_KEEP;
}

Test(step, values_out_of_request_order_are_refused)
{
    fake_server *f = fake_start(wrong_order, NULL);
    mcring_options *opts;
    mcring_client *c = client_on(f, &opts, NULL);
    mcring_key keys[2] = {{"a", 1}, {"b", 1}};
    mcring_item items[2] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT};
    int st[2];
    cr_assert_eq(mcring_get_multi(c, keys, 2, NULL, 0, items, st),
                 MCRING_EPROTO);
    cr_assert_eq(items[0].len, 0);
    cr_assert_eq(items[1].len, 0);
    mcring_item_release(&items[0]);
    mcring_item_release(&items[1]);
    mcring_client_free(c);
    mcring_options_free(opts);
    fake_stop(f);
}

/* ---- a reply nobody asked for, right after the last one ------------------ */

/* Answers each get, and each fence with MN followed at once by a line no
 * request asked for: found in the same read as the fence. */
static fake_action trailing(int fd, const char *line, size_t len, void *ud)
{
    (void)ud;
    if (len == 2 && memcmp(line, "mn", 2) == 0)
        fake_puts(fd, "MN\r\nSTORED\r\n");
    else if (len > 4 && memcmp(line, "get ", 4) == 0)
        fake_puts(fd, "VALUE k 0 3\r\nv:k\r\nEND\r\n");
    else
        fake_puts(fd, "ERROR\r\n");
    return FAKE_KEEP;
}

Test(step, a_reply_after_the_last_one_is_counted_when_found)
{
    fake_server *f = fake_start(trailing, NULL);
    fake_set_raw_fences(f, true);
    mcring_options *opts;
    log_capture lc = {0};
    mcring_client *c = client_on(f, &opts, &lc);
    /* The get's own reply and fence are right: it is answered. What
     * follows ends the connection and counts against the server. */
    cr_assert(right_or_failed(c, OP_GET, "k"));
    cr_assert_eq(stats_of(c).errors, 1);
    cr_assert_eq(log_count(&lc, "no request asked for"), 1);
    cr_assert(right_or_failed(c, OP_GET, "k"));
    cr_assert_eq(stats_of(c).connects, 2);
    mcring_client_free(c);
    mcring_options_free(opts);
    fake_stop(f);
}
