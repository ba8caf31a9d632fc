/*
 * The meta protocol against scripted servers: a server too old for meta
 * commands (it answers ERROR) gives a clear failure; a reply carrying
 * another request's opaque token, or none, ends the connection; with three
 * threads' gets pipelined on one connection, replies whose tokens are
 * swapped between them, or a quiet batch answered with a token that is
 * not its own, fail every request on it over to a real server, so no
 * caller ever gets another's value. Runs with pipelining on and off (the
 * pipelined cases only on).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake.h"
#include "harness.h"
#include "hash.h"

/* The O token of a request line, or "" when it has none. */
static void token_of(const char *line, size_t len, char *tok, size_t cap)
{
    tok[0] = '\0';
    for (size_t i = 0; i + 1 < len; i++)
        if (line[i] == ' ' && line[i + 1] == 'O') {
            size_t e = i + 2;
            while (e < len && line[e] != ' ')
                e++;
            snprintf(tok, cap, "%.*s", (int)(e - i - 2), line + i + 2);
            return;
        }
}

/* The key of "mg <key> ...". */
static void key_of(const char *line, size_t len, char *key, size_t cap)
{
    const char *sp = memchr(line + 3, ' ', len - 3);
    size_t kl = sp ? (size_t)(sp - line - 3) : len - 3;
    snprintf(key, cap, "%.*s", (int)kl, line + 3);
}

/* ---- a server without meta commands -------------------------------------*/

static fake_action old_server(int fd, const char *line, size_t len, void *ud)
{
    (void)line;
    (void)len;
    (void)ud;
    fake_puts(fd, "ERROR\r\n");
    return FAKE_KEEP;
}

Test(meta_faults, a_server_without_meta_commands_says_so, .timeout = 30)
{
    fake_server *f = fake_start(old_server, NULL);
    fake_set_old_server(f, true);
    log_capture lc = {.n = 0};
    mcring_options *o = opts_for(fake_name(f), "protocol", "meta", NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    double t0 = now_s();
    cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_ENOMETA);
    cr_assert_lt(now_s() - t0, 0.5, "at once, not after a timeout");
    cr_assert_eq(mcring_set(c, "k", 1, "v", 1, 0, 0), MCRING_ENOMETA);
    cr_assert_eq(log_count(&lc, "does not know meta commands"), 2,
                 "the log says why");
    cr_assert_str_eq(mcring_strerror(MCRING_ENOMETA),
                     "the server does not understand meta commands "
                     "(memcached 1.6 or later needed)");
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
}

/* ---- single replies with the wrong token ---------------------------------*/

typedef enum token_fault {
    T_RIGHT,   /* echoes the token */
    T_OTHER,   /* another token */
    T_NONE,    /* no token */
    T_E_FLAG,  /* a server that knows E: versioned writes work */
} token_fault;

typedef struct scripted {
    token_fault fault;
    pthread_mutex_t lock;
    int stored_version; /* T_E_FLAG: the item's CAS, 0: absent */
    int data_lines;     /* ms data lines still to swallow */
} scripted;

static fake_action meta_answers(int fd, const char *line, size_t len,
                                void *ud)
{
    scripted *s = ud;
    char tok[40], key[260], out[512];
    pthread_mutex_lock(&s->lock);
    if (s->data_lines > 0) {
        s->data_lines--;
        pthread_mutex_unlock(&s->lock);
        return FAKE_KEEP;
    }
    token_of(line, len, tok, sizeof(tok));
    if (s->fault == T_OTHER)
        snprintf(tok, sizeof(tok), "ffff");
    const char *o = s->fault == T_NONE ? "" : " O";
    const char *t = s->fault == T_NONE ? "" : tok;
    if (s->fault == T_E_FLAG && len > 3 && memcmp(line, "ms ", 3) == 0) {
        /* C<cas> must match, ME must find it absent; E sets the CAS. */
        s->data_lines = 1;
        const char *c = strstr(line, " C"), *e = strstr(line, " E");
        const char *add = strstr(line, " ME");
        int have = s->stored_version;
        const char *code = "HD";
        if (add != NULL && have != 0)
            code = "NS";
        else if (c != NULL && atoi(c + 2) != have)
            code = "EX";
        if (strcmp(code, "HD") == 0)
            s->stored_version = atoi(e + 2);
        snprintf(out, sizeof(out), "%s O%s\r\n", code, tok);
    } else if (s->fault == T_E_FLAG && len > 3 &&
               memcmp(line, "mg ", 3) == 0) {
        if (s->stored_version == 0)
            snprintf(out, sizeof(out), "EN O%s\r\n", tok);
        else
            snprintf(out, sizeof(out), "HD c%d O%s\r\n", s->stored_version,
                     tok);
    } else if (len > 3 && memcmp(line, "mg ", 3) == 0) {
        key_of(line, len, key, sizeof(key));
        snprintf(out, sizeof(out), "VA 2 k%s%s%s\r\nhi\r\n", key, o, t);
    } else {
        snprintf(out, sizeof(out), "ERROR\r\n");
    }
    pthread_mutex_unlock(&s->lock);
    fake_puts(fd, out);
    return FAKE_KEEP;
}

static int get_with(token_fault ft, int *accepted, uint64_t *errors)
{
    scripted s = {.fault = ft};
    pthread_mutex_init(&s.lock, NULL);
    fake_server *f = fake_start(meta_answers, &s);
    mcring_options *o = opts_for(fake_name(f), "protocol", "meta",
                                 "error_suppression_interval", "0", NULL);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    int rc = mcring_get(c, "k", 1, &it);
    mcring_get(c, "k", 1, &it);
    *accepted = fake_accepted(f);
    mcring_server_stats st;
    mcring_client_server_stats(c, &st, 1);
    *errors = st.errors;
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    pthread_mutex_destroy(&s.lock);
    return rc;
}

Test(meta_faults, a_reply_with_another_token_ends_the_connection,
     .timeout = 30)
{
    int accepted;
    uint64_t errors;
    cr_assert_eq(get_with(T_RIGHT, &accepted, &errors), MCRING_OK);
    cr_assert_eq(accepted, 1);
    cr_assert_eq(errors, 0);
    cr_assert_eq(get_with(T_OTHER, &accepted, &errors), MCRING_EPROTO);
    cr_assert_eq(accepted, 2, "each get on a new connection");
    cr_assert_eq(errors, 2);
    cr_assert_eq(get_with(T_NONE, &accepted, &errors), MCRING_EPROTO);
    cr_assert_eq(accepted, 2);
}

Test(meta_faults, versioned_writes_on_a_server_with_E, .timeout = 30)
{
    /* memcached 1.6.18, which the other suites run, has no E flag: this
     * server plays the documented semantics (E sets the CAS). */
    scripted s = {.fault = T_E_FLAG};
    pthread_mutex_init(&s.lock, NULL);
    fake_server *f = fake_start(meta_answers, &s);
    mcring_options *o = opts_for(fake_name(f), "protocol", "meta", NULL);
    mcring_client *c = client_for(o);
    cr_assert_eq(mcring_set_versioned(c, "v", 1, "five", 4, 0, 0, 5),
                 MCRING_OK, "absent: added with version 5");
    cr_assert_eq(s.stored_version, 5);
    cr_assert_eq(mcring_set_versioned(c, "v", 1, "three", 5, 0, 0, 3),
                 MCRING_EXISTS, "a late writer of version 3 is refused");
    cr_assert_eq(mcring_set_versioned(c, "v", 1, "five", 4, 0, 0, 5),
                 MCRING_EXISTS, "the same version is not written twice");
    cr_assert_eq(mcring_set_versioned(c, "v", 1, "nine", 4, 0, 0, 9),
                 MCRING_OK);
    cr_assert_eq(s.stored_version, 9);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    pthread_mutex_destroy(&s.lock);
}

/* ---- tokens swapped between pipelined requests -------------------------- */

#define THREADS 3

typedef struct held {
    bool swap_tokens;   /* the first two gets' tokens exchanged */
    bool foreign_quiet; /* a quiet batch answered with a foreign token */
    pthread_mutex_t lock;
    char lines[16][300];
    int n, gets;
    bool answered;
} held;

static void reply_for(const char *line, const char *tok, char *out,
                      size_t cap)
{
    char key[260];
    key_of(line, strlen(line), key, sizeof(key));
    snprintf(out, cap, "VA %zu k%s O%s\r\nv:%s\r\n", strlen(key) + 2, key,
             tok, key);
}

static fake_action holding(int fd, const char *line, size_t len, void *ud)
{
    held *h = ud;
    pthread_mutex_lock(&h->lock);
    char out[4096];
    size_t n = 0;
    char tok[40];
    if (h->answered) {
        pthread_mutex_unlock(&h->lock);
        if (len == 2 && memcmp(line, "mn", 2) == 0) {
            fake_puts(fd, "MN\r\n");
        } else {
            char l[300];
            snprintf(l, sizeof(l), "%.*s", (int)len, line);
            token_of(l, len, tok, sizeof(tok));
            reply_for(l, tok, out, sizeof(out));
            fake_puts(fd, out);
        }
        return FAKE_KEEP;
    }
    snprintf(h->lines[h->n++], sizeof(h->lines[0]), "%.*s", (int)len, line);
    if (len > 3 && memcmp(line, "mg ", 3) == 0 && ++h->gets == THREADS) {
        h->answered = true;
        char toks[THREADS][40];
        int g = 0;
        for (int i = 0; i < h->n; i++)
            if (strncmp(h->lines[i], "mg ", 3) == 0)
                token_of(h->lines[i], strlen(h->lines[i]), toks[g++], 40);
        g = 0;
        for (int i = 0; i < h->n; i++) {
            if (strcmp(h->lines[i], "mn") == 0) {
                n += (size_t)snprintf(out + n, sizeof(out) - n, "MN\r\n");
                continue;
            }
            int mine = g++;
            int use = h->swap_tokens && mine < 2 ? 1 - mine : mine;
            reply_for(h->lines[i], toks[use], out + n, sizeof(out) - n);
            n += strlen(out + n);
        }
        fake_write(fd, out, n);
    }
    pthread_mutex_unlock(&h->lock);
    return FAKE_KEEP;
}

typedef struct caller {
    mcring_client *c;
    char key[64];
    int rc;
    char got[80];
} caller;

static void *call(void *p)
{
    caller *a = p;
    mcring_item it = MCRING_ITEM_INIT;
    a->rc = mcring_get(a->c, a->key, strlen(a->key), &it);
    snprintf(a->got, sizeof(a->got), "%s", a->rc == MCRING_OK ? it.data : "");
    mcring_item_release(&it);
    return NULL;
}

static void expected(const char *key, char *out, size_t cap)
{
    unsigned char d[MD5_LEN];
    char hex[MD5_HEX_LEN + 1];
    hash_md5(key, strlen(key), d);
    hash_hex(d, hex);
    hex[MD5_HEX_LEN] = '\0';
    snprintf(out, cap, "v:%s", hex);
}

static void swapped(bool swap, uint64_t expect_errors)
{
    if (!test_pipelining())
        cr_skip_test("requests are never in flight together without "
                     "pipelining");
    held h = {.swap_tokens = swap};
    pthread_mutex_init(&h.lock, NULL);
    fake_server *f = fake_start(holding, &h);
    fake_set_raw_fences(f, true);
    mc_server real;
    mc_start(&real, NULL);
    char servers[160];
    snprintf(servers, sizeof(servers), "%s,%s", fake_name(f), real.name);
    mcring_options *o = opts_for(servers, "protocol", "meta",
                                 "memcache_max_connections", "1", "tries",
                                 "2", "io_timeout", "1",
                                 "error_suppression_interval", "0", NULL);
    mcring_client *c = client_for(o);
    mcring_options *ro = opts_for(real.name, NULL);
    mcring_client *rc = client_for(ro);
    caller a[THREADS];
    mcring_ring *ring = mcring_client_ring_ref(c);
    for (int i = 0, n = 0; i < THREADS; n++) {
        a[i] = (caller){.c = c};
        snprintf(a[i].key, sizeof(a[i].key), "key-%d", n);
        size_t order[2];
        mcring_ring_locate(ring, a[i].key, strlen(a[i].key), order, 2);
        if (strcmp(mcring_ring_server(ring, order[0]), fake_name(f)) != 0)
            continue;
        char v[80];
        expected(a[i].key, v, sizeof(v));
        cr_assert_eq(mcring_set(rc, a[i].key, strlen(a[i].key), v, strlen(v),
                                0, 0),
                     MCRING_OK);
        i++;
    }
    mcring_ring_free(ring);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, call, &a[i]);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        char want[80];
        expected(a[i].key, want, sizeof(want));
        cr_assert_eq(a[i].rc, MCRING_OK, "caller %d: %s", i,
                     mcring_err_name(a[i].rc));
        cr_assert_str_eq(a[i].got, want, "caller %d got another's value", i);
    }
    mcring_server_stats st[2];
    mcring_client_server_stats(c, st, 2);
    int fi = strcmp(st[0].name, fake_name(f)) == 0 ? 0 : 1;
    cr_assert_eq(st[fi].errors, expect_errors, "%llu",
                 (unsigned long long)st[fi].errors);
    mcring_client_free(rc);
    mcring_options_free(ro);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    mc_stop(&real);
    pthread_mutex_destroy(&h.lock);
}

Test(meta_faults, pipelined_gets_with_their_own_tokens, .timeout = 60)
{
    swapped(false, 0);
}

Test(meta_faults, pipelined_gets_with_swapped_tokens_fail_over,
     .timeout = 60)
{
    swapped(true, 1);
}

/* ---- a quiet batch answered with a foreign token -------------------------*/

static fake_action quiet_foreign(int fd, const char *line, size_t len,
                                 void *ud)
{
    (void)ud;
    if (len == 2 && memcmp(line, "mn", 2) == 0) {
        fake_puts(fd, "MN\r\n");
        return FAKE_KEEP;
    }
    char l[300], key[260], out[600];
    snprintf(l, sizeof(l), "%.*s", (int)len, line);
    key_of(l, len, key, sizeof(key));
    /* A hit for every key, under a token no request of this client has
     * (and a real one would never send). */
    snprintf(out, sizeof(out), "VA 1 k%s O%s\r\nx\r\n", key,
             "fffffffffffffff0");
    fake_puts(fd, out);
    return FAKE_KEEP;
}

Test(meta_faults, a_quiet_batch_with_a_foreign_token_fails_over,
     .timeout = 30)
{
    fake_server *f = fake_start(quiet_foreign, NULL);
    fake_set_raw_fences(f, true);
    mc_server real;
    mc_start(&real, NULL);
    char servers[160];
    snprintf(servers, sizeof(servers), "%s,%s", fake_name(f), real.name);
    mcring_options *o = opts_for(servers, "protocol", "meta", "tries", "2",
                                 "error_suppression_interval", "0", NULL);
    mcring_client *c = client_for(o);
    mcring_key keys[8];
    char names[8][16];
    mcring_item items[8];
    int st[8];
    for (int i = 0; i < 8; i++) {
        snprintf(names[i], sizeof(names[i]), "q%d", i);
        keys[i] = (mcring_key){names[i], strlen(names[i])};
        items[i] = (mcring_item)MCRING_ITEM_INIT;
    }
    mcring_options *ro = opts_for(real.name, NULL);
    mcring_client *rc = client_for(ro);
    cr_assert_eq(mcring_set(rc, "q3", 2, "real", 4, 0, 0), MCRING_OK);
    mcring_client_free(rc);
    mcring_options_free(ro);
    /* A server key whose first server is the fake: the batch goes there
     * first, then to the real server. */
    char sk[64];
    key_on(c, fake_name(f), real.name, sk, sizeof(sk));
    mcring_server_stats before[2];
    mcring_client_server_stats(c, before, 2);
    cr_assert_eq(mcring_get_multi(c, keys, 8, sk, strlen(sk), items, st), 0);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(st[i], i == 3 ? MCRING_OK : MCRING_MISS,
                     "%d: %s (nothing the fake sent is taken)", i,
                     mcring_err_name(st[i]));
    cr_assert_eq(items[3].len, 4);
    mcring_server_stats after[2];
    mcring_client_server_stats(c, after, 2);
    int fi = strcmp(after[0].name, fake_name(f)) == 0 ? 0 : 1;
    cr_assert_eq(after[fi].errors - before[fi].errors, 1,
                 "the batch's failure counted against the fake");
    for (int i = 0; i < 8; i++)
        mcring_item_release(&items[i]);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    mc_stop(&real);
}

/* ---- a reply too many that carries no token ------------------------------*/

/* Answers every mg with a hit under its own token, but first sends one
 * "MN" too many (a stray no-op reply, which carries no token). */
static fake_action stray_mn(int fd, const char *line, size_t len, void *ud)
{
    atomic_int *first = ud;
    if (len == 2 && memcmp(line, "mn", 2) == 0) {
        fake_puts(fd, "MN\r\n");
        return FAKE_KEEP;
    }
    char l[300], key[260], tok[40], out[700];
    snprintf(l, sizeof(l), "%.*s", (int)len, line);
    key_of(l, len, key, sizeof(key));
    token_of(l, len, tok, sizeof(tok));
    int n = 0;
    if (atomic_exchange(first, 0))
        n = snprintf(out, sizeof(out), "MN\r\n");
    snprintf(out + n, sizeof(out) - n, "VA 1 k%s O%s\r\nx\r\n", key, tok);
    fake_puts(fd, out);
    return FAKE_KEEP;
}

Test(meta_faults, a_stray_mn_is_not_taken_for_a_quiet_batch,
     .timeout = 30)
{
    atomic_int first = 1;
    fake_server *f = fake_start(stray_mn, &first);
    fake_set_raw_fences(f, true);
    mcring_options *o = opts_for(fake_name(f), "protocol", "meta", "tries",
                                 "1", "error_suppression_interval", "0",
                                 NULL);
    mcring_client *c = client_for(o);
    mcring_key keys[4];
    char names[4][16];
    mcring_item items[4];
    int st[4];
    for (int i = 0; i < 4; i++) {
        snprintf(names[i], sizeof(names[i]), "q%d", i);
        keys[i] = (mcring_key){names[i], strlen(names[i])};
        items[i] = (mcring_item)MCRING_ITEM_INIT;
    }
    int rc = mcring_get_multi(c, keys, 4, "", 0, items, st);
    for (int i = 0; i < 4; i++)
        cr_expect(rc != 0 || st[i] != MCRING_MISS,
                  "rc %s, key %d: %s -- the stray MN was taken as the "
                  "batch's answer (every key a miss; the server has them)",
                  mcring_err_name(rc), i, mcring_err_name(st[i]));
    for (int i = 0; i < 4; i++)
        mcring_item_release(&items[i]);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
}

/* ---- a deferred request behind a caller reading elsewhere ----------------*/

#include <time.h>

static double t_start;
static _Atomic double s_got_multi = -1; /* when S received the multi's key */

/* S: answers each get 100 ms after it came, in order (fences with it). */
typedef struct later { int fd; double at; char out[600]; } later;
static later q[64];
static int qh, qt;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool q_run;

static void *s_writer(void *p)
{
    (void)p;
    while (atomic_load(&q_run)) {
        pthread_mutex_lock(&qlock);
        if (qh < qt && now_s() >= q[qh].at) {
            later l = q[qh++];
            pthread_mutex_unlock(&qlock);
            fake_puts(l.fd, l.out);
            continue;
        }
        pthread_mutex_unlock(&qlock);
        usleep(1000);
    }
    return NULL;
}

static fake_action slow_s(int fd, const char *line, size_t len, void *ud)
{
    (void)ud;
    char l[300];
    snprintf(l, sizeof(l), "%.*s", (int)len, line);
    pthread_mutex_lock(&qlock);
    later *lt = &q[qt++];
    lt->fd = fd;
    lt->at = now_s() + 0.1;
    if (strcmp(l, "mn") == 0) {
        snprintf(lt->out, sizeof(lt->out), "MN\r\n");
    } else {
        int n = 0;
        for (char *k = strtok(l + 4, " "); k != NULL; k = strtok(NULL, " "))
            n += snprintf(lt->out + n, sizeof(lt->out) - n,
                          "VALUE %s 0 1\r\nx\r\n", k);
        snprintf(lt->out + n, sizeof(lt->out) - n, "END\r\n");
    }
    pthread_mutex_unlock(&qlock);
    return FAKE_KEEP;
}

static fake_action hung_t(int fd, const char *line, size_t len, void *ud)
{
    (void)fd; (void)line; (void)len; (void)ud;
    return FAKE_KEEP; /* never answers */
}

static void *w1_get(void *p)
{
    caller *a = p;
    mcring_item it = MCRING_ITEM_INIT;
    a->rc = mcring_get(a->c, a->key, strlen(a->key), &it);
    mcring_item_release(&it);
    return NULL;
}

static void key_for(mcring_client *c, const char *srv, const char *prefix,
                    char *out, size_t cap)
{
    mcring_ring *ring = mcring_client_ring_ref(c);
    for (int n = 0;; n++) {
        snprintf(out, cap, "%s%d", prefix, n);
        size_t order[1];
        mcring_ring_locate(ring, out, strlen(out), order, 1);
        if (strcmp(mcring_ring_server(ring, order[0]), srv) == 0)
            break;
    }
    mcring_ring_free(ring);
}

Test(meta_faults, a_multi_key_request_is_not_stranded_behind_another_server,
     .timeout = 30)
{
    if (!test_pipelining())
        cr_skip_test("pipelining only");
    atomic_store(&q_run, true);
    pthread_t sw;
    pthread_create(&sw, NULL, s_writer, NULL);
    fake_server *s = fake_start(slow_s, NULL);
    fake_set_raw_fences(s, true);
    fake_server *t = fake_start(hung_t, NULL);
    fake_set_raw_fences(t, true);
    char servers[160];
    snprintf(servers, sizeof(servers), "%s,%s", fake_name(s), fake_name(t));
    mcring_options *o = opts_for(servers, "memcache_max_connections", "1",
                                 "tries", "1", "io_timeout", "0.6",
                                 "error_suppression_interval", "0", NULL);
    mcring_client *c = client_for(o);
    char ka[64], ks[64], kt[64];
    key_for(c, fake_name(s), "w1-", ka, sizeof(ka));
    key_for(c, fake_name(s), "ms-", ks, sizeof(ks));
    key_for(c, fake_name(t), "mt-", kt, sizeof(kt));
    /* Open S's connection first (so W1's get is a plain pipelined one). */
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, ka, strlen(ka), &it), MCRING_OK);
    mcring_item_release(&it);

    caller w1 = {.c = c};
    snprintf(w1.key, sizeof(w1.key), "%s", ka);
    pthread_t th;
    pthread_create(&th, NULL, w1_get, &w1);
    usleep(20 * 1000); /* W1's get now awaits its reply on S */
    mcring_key keys[2] = {{ks, strlen(ks)}, {kt, strlen(kt)}};
    mcring_item items[2] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT};
    int st[2];
    t_start = now_s();
    mcring_get_multi(c, keys, 2, NULL, 0, items, st);
    double took = now_s() - t_start;
    pthread_join(th, NULL);
    cr_expect_eq(w1.rc, MCRING_OK);
    cr_expect_eq(st[0], MCRING_OK,
                 "S's key: %s (S received it %.0f ms after the call; the "
                 "call took %.0f ms)", mcring_err_name(st[0]),
                 s_got_multi * 1e3, took * 1e3);
    cr_expect_lt(s_got_multi, 0.2, "S received the multi's key %.0f ms "
                 "after the call (DEFER_MAX_NS is 2 ms)", s_got_multi * 1e3);
    for (int i = 0; i < 2; i++)
        mcring_item_release(&items[i]);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(s);
    fake_stop(t);
    atomic_store(&q_run, false);
    pthread_join(sw, NULL);
}
