/*
 * A client created before fork() and used in both processes: the child
 * never uses a connection inherited from the parent (it opens its own),
 * the parent's connections are left alone, and neither process ever
 * reads the other's replies — also when the parent's threads were in the
 * middle of requests at the fork, and when the child reconfigures and
 * frees the client.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static mc_server srv;

static void one_server(void)
{
    mc_start(&srv, NULL);
}

static void stop(void)
{
    mc_stop(&srv);
}

TestSuite(fork, .init = one_server, .fini = stop, .timeout = 60);

static long total_connections(void)
{
    const char *r = mc_raw(&srv, "stats\r\n", 7, "END\r\n");
    const char *p = strstr(r, "STAT total_connections ");
    return p ? atol(p + 23) : -1;
}

/* n rounds of set and read back of "<who>-<i>"; returns how many went
 * wrong (a failure, or a value that is not the one just written). */
static int round_trips(mcring_client *c, const char *who, int n)
{
    int bad = 0;
    mcring_item it = MCRING_ITEM_INIT;
    for (int i = 0; i < n; i++) {
        char k[64];
        int kl = snprintf(k, sizeof(k), "%s-%d", who, i % 50);
        char v[64];
        int vl = snprintf(v, sizeof(v), "%s-value-%d", who, i);
        if (mcring_set(c, k, (size_t)kl, v, (size_t)vl, 0, 0) != MCRING_OK)
            bad++;
        else if (mcring_get(c, k, (size_t)kl, &it) != MCRING_OK ||
                 it.len != (size_t)vl || memcmp(it.data, v, (size_t)vl) != 0)
            bad++;
        uint64_t ctr;
        if (mcring_incr(c, who, strlen(who), 1, 0, &ctr) != MCRING_OK)
            bad++;
    }
    mcring_item_release(&it);
    return bad;
}

static int child_status(pid_t pid)
{
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "the child died (signal %d)",
              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return WEXITSTATUS(status);
}

Test(fork, parent_and_child_never_read_each_others_replies)
{
    mcring_options *o = opts_for(srv.name, NULL);
    mcring_client *c = client_for(o);
    cr_assert_eq(round_trips(c, "before", 10), 0);
    long conns_before = total_connections();
    mcring_server_stats st;
    mcring_client_server_stats(c, &st, 1);
    uint64_t parent_connects = st.connects;

    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        alarm(20);
        /* Both processes at once, on what was one connection. */
        int bad = round_trips(c, "child", 3000);
        mcring_server_stats cs;
        mcring_client_server_stats(c, &cs, 1);
        _exit(bad != 0 ? 1 : cs.connects < 1 ? 2 : 0);
    }
    int bad = round_trips(c, "parent", 3000);
    cr_assert_eq(child_status(pid), 0, "the child saw wrong answers");
    cr_assert_eq(bad, 0, "the parent saw %d wrong answers", bad);
    mcring_client_server_stats(c, &st, 1);
    cr_assert_eq(st.connects, parent_connects,
                 "the parent kept its connections");
    cr_assert_gt(total_connections(), conns_before,
                 "the child opened its own connection");
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, "child-0", 7, &it), MCRING_OK);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

typedef struct busy {
    mcring_client *c;
    atomic_bool stop;
    atomic_int bad;
    int id;
} busy;

static void *keep_busy(void *p)
{
    busy *b = p;
    char who[32];
    snprintf(who, sizeof(who), "busy%d", b->id);
    while (!atomic_load(&b->stop))
        atomic_fetch_add(&b->bad, round_trips(b->c, who, 20));
    return NULL;
}

Test(fork, a_fork_while_other_threads_are_mid_request)
{
    mcring_options *o = opts_for(srv.name, "memcache_max_connections", "2",
                                 NULL);
    mcring_client *c = client_for(o);
    enum { T = 8 };
    busy b[T];
    pthread_t t[T];
    for (int i = 0; i < T; i++) {
        b[i] = (busy){.c = c, .id = i};
        pthread_create(&t[i], NULL, keep_busy, &b[i]);
    }
    for (int round = 0; round < 5; round++) {
        usleep(50000);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            /* Locks the parent's threads held, requests they had in
             * flight: none of it may hold the child up. */
            alarm(20);
            int bad = round_trips(c, "forked", 500);
            mcring_client_free(c);
            _exit(bad != 0);
        }
        cr_assert_eq(child_status(pid), 0, "round %d", round);
    }
    for (int i = 0; i < T; i++) {
        atomic_store(&b[i].stop, true);
        pthread_join(t[i], NULL);
        cr_assert_eq(atomic_load(&b[i].bad), 0);
    }
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(fork, a_child_reconfigures_and_frees_the_client)
{
    mc_server other;
    mc_start(&other, NULL);
    mcring_options *o = opts_for(srv.name, NULL);
    mcring_client *c = client_for(o);
    cr_assert_eq(round_trips(c, "before", 5), 0);
    /* A swap in the parent just before the fork leaves a state waiting
     * for reclamation on the parent's worker. */
    cr_assert_eq(mcring_client_set_servers(c, other.name, NULL, 0), 0);
    cr_assert_eq(mcring_client_set_servers(c, srv.name, NULL, 0), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        alarm(20);
        int bad = round_trips(c, "child", 50);
        for (int i = 0; i < 20; i++)
            if (mcring_client_set_servers(c, i % 2 ? srv.name : other.name,
                                          NULL, 0) != 0)
                bad++;
        bad += round_trips(c, "child2", 50);
        mcring_client_free(c); /* must not wait for the parent's threads */
        _exit(bad != 0);
    }
    cr_assert_eq(child_status(pid), 0);
    cr_assert_eq(round_trips(c, "parent", 50), 0);
    mcring_client_free(c);
    mcring_options_free(o);
    mc_stop(&other);
}
