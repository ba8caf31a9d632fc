/* Meta-protocol encoding and reply reading, pure (no sockets): request
 * lines, reply lines, the single-reply reader and quiet batches, fed whole
 * and byte by byte, alone and behind a pipeline with its fences. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"
#include "pipeline.h"
#include "reply.h"

/* Feeds text to r in chunks of `step` bytes (0: all at once), as a
 * connection buffer would: unused bytes stay for the next feed. Returns
 * the final feed result and sets *rest to the bytes not consumed. */
static int feed_all(reply_reader *r, const char *text, size_t step,
                    size_t *rest)
{
    size_t len = strlen(text), have = 0, off = 0;
    int rc = READ_MORE;
    while (rc == READ_MORE) {
        size_t add = step == 0 ? len - have : step;
        if (have + add > len)
            add = len - have;
        have += add;
        size_t used = 0;
        rc = r->feed(r, text + off, have - off, &used);
        off += used;
        if (rc == READ_MORE && have == len)
            break;
    }
    *rest = len - off;
    return rc;
}

Test(meta, encodes_request_lines)
{
    char buf[META_HEADER_MAX + 1];
    meta_cmd m = {.cmd = "mg", .key = "foo", .key_len = 3, .flags = "vfk",
                  .tokens = META_TOKEN_T | META_TOKEN_O, .T = -1, .O = 255};
    size_t n = meta_encode(buf, &m);
    buf[n] = '\0';
    cr_assert_str_eq(buf, "mg foo v f k T-1 Off\r\n");
    meta_cmd s = {.cmd = "ms", .key = "a b", .key_len = 3, .has_datalen = true,
                  .datalen = 5, .flags = "q",
                  .tokens = META_TOKEN_F | META_TOKEN_C | META_TOKEN_M |
                            META_TOKEN_O,
                  .F = 4294967295u, .C = UINT64_MAX, .M = 'E', .O = 1};
    n = meta_encode(buf, &s);
    buf[n] = '\0';
    cr_assert_str_eq(buf, "ms YSBi 5 b q F4294967295 C18446744073709551615 "
                          "ME O1\r\n",
                     "a key with a space goes in base64");
    char key[META_B64_KEY_BYTES + 1];
    memset(key, 0x01, sizeof(key)); /* control bytes: base64 */
    meta_cmd big = {.cmd = "md", .key = key, .key_len = META_B64_KEY_BYTES,
                    .tokens = META_TOKEN_O, .O = UINT64_MAX};
    cr_assert_lt(meta_encode(buf, &big), (size_t)META_HEADER_MAX);
    cr_assert(meta_key_valid(key, META_B64_KEY_BYTES));
    cr_assert_not(meta_key_valid(key, META_B64_KEY_BYTES + 1));
    cr_assert(meta_key_valid("k", 1));
    cr_assert_not(meta_key_valid("", 0));
}

Test(meta, base64_round_trips)
{
    char out[16];
    cr_assert_eq(meta_b64_encode(out, "f", 1), 4);
    cr_assert(memcmp(out, "Zg==", 4) == 0);
    cr_assert_eq(meta_b64_encode(out, "fo", 2), 4);
    cr_assert(memcmp(out, "Zm8=", 4) == 0);
    cr_assert_eq(meta_b64_encode(out, "foo", 3), 4);
    cr_assert(memcmp(out, "Zm9v", 4) == 0);
    meta_reply m;
    const char line[] = "EN kZm8= b O1\r\n";
    cr_assert_eq(meta_parse_line(line, strlen(line), 0, &m),
                 (ssize_t)strlen(line));
    cr_assert(meta_key_matches(&m, "fo", 2));
    cr_assert_not(meta_key_matches(&m, "foo", 3));
    const char bad[] = "EN kZm8 b O1\r\n"; /* not padded */
    cr_assert_eq(meta_parse_line(bad, strlen(bad), 0, &m),
                 (ssize_t)strlen(bad));
    cr_assert_not(meta_key_matches(&m, "fo", 2));
}

Test(meta, parses_reply_lines)
{
    meta_reply m;
    const char va[] = "VA 5 f2 t-1 c77 kfoo s5 O1a W X Z\r\nhello\r\n";
    ssize_t n = meta_parse_line(va, strlen(va), 100, &m);
    cr_assert_eq(n, (ssize_t)strlen(va) - 7);
    cr_assert_eq(m.code, META_VA);
    cr_assert_eq(m.value_len, 5);
    cr_assert_eq(m.client_flags, 2);
    cr_assert_eq(m.ttl, -1);
    cr_assert_eq(m.cas, 77);
    cr_assert_eq(m.opaque, 0x1a);
    cr_assert(meta_has(&m, 'W') && meta_has(&m, 'X') && meta_has(&m, 'Z'));
    cr_assert_not(meta_has(&m, 'b'));
    cr_assert(meta_key_matches(&m, "foo", 3));
    cr_assert_eq(meta_parse_line(va, 10, 100, &m), 0, "need more");
    cr_assert_eq(meta_parse_line(va, strlen(va), 4, &m), MCRING_EPROTO,
                 "over the value limit");
    static const char *const ok[] = {"HD\r\n", "EN\r\n", "NF O0\r\n",
                                     "NS O1\r\n", "EX O2\r\n", "MN\r\n",
                                     "HD Qunknown O3\r\n"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        cr_assert_eq(meta_parse_line(ok[i], strlen(ok[i]), 0, &m),
                     (ssize_t)strlen(ok[i]), "%s", ok[i]);
    static const char *const bad[] = {
        "END\r\n",       "VALUE k 0 1\r\n", "HD\n",        "VA x\r\n",
        "HD f\r\n",      "HD Ozz\r\n",      "HD t1.5\r\n", "MN O1\r\n",
        "HD O12345678901234567\r\n",         "HD 1\r\n",    "\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(meta_parse_line(bad[i], strlen(bad[i]), 10, &m),
                     MCRING_EPROTO, "%s", bad[i]);
    const char err[] = "SERVER_ERROR out of memory\r\n";
    cr_assert_eq(meta_parse_line(err, strlen(err), 0, &m),
                 (ssize_t)strlen(err));
    cr_assert_eq(m.code, META_ERROR_LINE);
    cr_assert_eq(m.err.kind, REPLY_SERVER_ERROR);
}

Test(meta, one_reply_matched_by_token_and_key)
{
    for (size_t step = 0; step <= 3; step++) {
        mcring_item it = MCRING_ITEM_INIT;
        meta_reader r;
        size_t rest;
        meta_reader_init(&r, 7, "k1", 2, &it, 0);
        cr_assert_eq(feed_all(&r.base, "VA 3 f4 c9 kk1 O7\r\nabc\r\nMN\r\n",
                              step, &rest),
                     READ_DONE);
        cr_assert_eq(rest, 4, "the fence is not its own");
        cr_assert_eq(it.len, 3);
        cr_assert_eq(it.flags, 4);
        cr_assert_eq(it.cas, 9);
        cr_assert_str_eq(it.data, "abc");

        meta_reader_init(&r, 7, "k1", 2, &it, 0);
        cr_assert_eq(feed_all(&r.base, "VA 3 kk1 O8\r\nabc\r\n", step, &rest),
                     MCRING_EPROTO, "another request's token");
        meta_reader_init(&r, 7, "k1", 2, &it, 0);
        cr_assert_eq(feed_all(&r.base, "EN kk2 O7\r\n", step, &rest),
                     MCRING_EPROTO, "another key");
        meta_reader_init(&r, 7, "k1", 2, &it, 0);
        cr_assert_eq(feed_all(&r.base, "EN\r\n", step, &rest), MCRING_EPROTO,
                     "no token at all");
        meta_reader_init(&r, 7, "k1", 2, &it, 0);
        cr_assert_eq(feed_all(&r.base, "MN\r\n", step, &rest), MCRING_EPROTO);
        meta_reader_init(&r, 7, NULL, 0, NULL, 0);
        cr_assert_eq(feed_all(&r.base, "VA 3 O7\r\n42 \r\n", step, &rest),
                     READ_DONE, "ma's padded number");
        cr_assert_eq(r.number, 42);
        meta_reader_init(&r, 7, NULL, 0, &it, 2);
        cr_assert_eq(feed_all(&r.base, "VA 3 O7\r\nabc\r\n", step, &rest),
                     READ_DONE);
        cr_assert_eq(r.outcome, MCRING_ETOOLARGE, "skipped, in step");
        cr_assert_eq(rest, 0);
        mcring_item_release(&it);
    }
}

Test(meta, error_lines_in_and_out_of_step)
{
    meta_reader r;
    size_t rest;
    meta_reader_init(&r, 1, NULL, 0, NULL, 0);
    cr_assert_eq(feed_all(&r.base, "ERROR\r\n", 0, &rest), MCRING_ENOMETA,
                 "a server without meta commands");
    meta_reader_init(&r, 1, NULL, 0, NULL, 0);
    cr_assert_eq(feed_all(&r.base, "CLIENT_ERROR bad data chunk\r\n", 0,
                          &rest),
                 MCRING_EREJECTED);
    meta_reader_init(&r, 1, NULL, 0, NULL, 0);
    cr_assert_eq(feed_all(&r.base, "CLIENT_ERROR invalid flag\r\n", 0, &rest),
                 READ_DONE);
    cr_assert_eq(r.outcome, MCRING_ENOTSUP);
    meta_reader_init(&r, 1, NULL, 0, NULL, 0);
    cr_assert_eq(feed_all(&r.base, "SERVER_ERROR out of memory\r\n", 0,
                          &rest),
                 READ_DONE);
    cr_assert_eq(r.outcome, MCRING_ESERVER);
}

/* A quiet batch of 4 gets (tokens 100..103) over keys a b c d. */
static mcring_key keys4[4] = {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}};

Test(meta, quiet_batch_silent_positions_and_order)
{
    for (size_t step = 0; step <= 2; step++) {
        mcring_item items[4] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT,
                                MCRING_ITEM_INIT, MCRING_ITEM_INIT};
        int st[4];
        meta_batch_reader b;
        size_t rest;
        meta_batch_reader_init(&b, BATCH_GET, 100, keys4, NULL, 4, items, st,
                               0);
        cr_assert_eq(feed_all(&b.base,
                              "VA 1 f2 kb O65\r\nB\r\nVA 2 kd O67\r\nDD\r\n"
                              "MN\r\nMN\r\n",
                              step, &rest),
                     READ_DONE);
        cr_assert_eq(rest, 4, "the batch's own MN ends it; the fence stays");
        cr_assert_eq(st[0], MCRING_MISS);
        cr_assert_eq(st[1], MCRING_OK);
        cr_assert_eq(st[2], MCRING_MISS);
        cr_assert_eq(st[3], MCRING_OK);
        cr_assert_str_eq(items[3].data, "DD");
        cr_assert_eq(items[1].flags, 2);

        meta_batch_reader_init(&b, BATCH_GET, 100, keys4, NULL, 4, items, st,
                               0);
        cr_assert_eq(feed_all(&b.base, "VA 1 O66\r\nC\r\nVA 1 O65\r\nB\r\n",
                              step, &rest),
                     MCRING_EPROTO, "out of order");
        meta_batch_reader_init(&b, BATCH_GET, 100, keys4, NULL, 4, items, st,
                               0);
        cr_assert_eq(feed_all(&b.base, "VA 1 O68\r\nC\r\n", step, &rest),
                     MCRING_EPROTO, "a token past the batch");
        meta_batch_reader_init(&b, BATCH_GET, 100, keys4, NULL, 4, items, st,
                               0);
        cr_assert_eq(feed_all(&b.base, "VA 1 O63\r\nC\r\n", step, &rest),
                     MCRING_EPROTO, "a token before the batch");
        meta_batch_reader_init(&b, BATCH_GET, 100, keys4, NULL, 4, items, st,
                               0);
        cr_assert_eq(feed_all(&b.base, "VA 1 kz O64\r\nC\r\n", step, &rest),
                     MCRING_EPROTO, "another key under its token");
        meta_batch_reader_init(&b, BATCH_GET, 100, keys4, NULL, 4, items, st,
                               0);
        cr_assert_eq(feed_all(&b.base, "SERVER_ERROR busy\r\nVA 1 O67\r\nD\r\n"
                                       "MN\r\n",
                              step, &rest),
                     READ_DONE, "an error line fails the batch, in step");
        cr_assert_eq(b.outcome, MCRING_ESERVER);
        meta_batch_reader_reset(&b);
        cr_assert_eq(st[3], MCRING_MISS, "nothing kept after a failure");
        cr_assert_eq(items[3].len, 0);
        for (int i = 0; i < 4; i++)
            mcring_item_release(&items[i]);
    }
}

Test(meta, quiet_sets_and_touches)
{
    int st[4];
    meta_batch_reader b;
    size_t rest;
    meta_batch_reader_init(&b, BATCH_SET, 1, keys4, NULL, 4, NULL, st, 0);
    cr_assert_eq(feed_all(&b.base, "NS O2\r\nMN\r\n", 1, &rest), READ_DONE);
    cr_assert_eq(st[0], MCRING_OK);
    cr_assert_eq(st[1], MCRING_EREJECTED);
    cr_assert_eq(st[3], MCRING_OK);
    meta_batch_reader_init(&b, BATCH_TOUCH, 1, keys4, NULL, 4, NULL, st, 0);
    cr_assert_eq(feed_all(&b.base, "HD O1\r\nHD O4\r\nMN\r\n", 0, &rest),
                 READ_DONE);
    cr_assert_eq(st[0], MCRING_OK);
    cr_assert_eq(st[1], MCRING_NOT_FOUND);
    cr_assert_eq(st[3], MCRING_OK);
    meta_batch_reader_init(&b, BATCH_TOUCH, 1, keys4, NULL, 4, NULL, st, 0);
    cr_assert_eq(feed_all(&b.base, "VA 1 O1\r\nx\r\n", 0, &rest),
                 MCRING_EPROTO, "a value to a touch");
}

/* ---- behind a pipeline -------------------------------------------------- */

typedef struct req {
    pipe_req pr;
    int completions;
} req;

static void on_done(pipe_req *r, void *ctx)
{
    (void)ctx;
    ((req *)r)->completions++;
}

/* Feeds text through a pipeline holding a quiet batch then a single get
 * (and, with version, a text "version" after them), written as one batch
 * on a connection that takes fences; returns the parse's failure (bytes
 * left over with no request to read them included, as lib/mux.c treats
 * them) or 0 when every request completed. */
static int through_pipeline(const char *text, int *status, meta_reader *single,
                            bool version)
{
    pipeline p;
    pipeline_init(&p);
    p.conn.rbuf = malloc(CONN_RBUF_SIZE);
    p.conn.rcap = CONN_RBUF_SIZE;
    atomic_store(&p.fence, FENCE_ON);
    mcring_item items[4] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT,
                            MCRING_ITEM_INIT, MCRING_ITEM_INIT};
    mcring_item one = MCRING_ITEM_INIT;
    meta_batch_reader b;
    meta_batch_reader_init(&b, BATCH_GET, 10, keys4, NULL, 4, items, status,
                           0);
    meta_reader_init(single, 20, "e", 1, &one, 0);
    static char q[] = "mg a v q Oa\r\nmg b v q Ob\r\nmg c v q Oc\r\nmg d v q "
                      "Od\r\nmn\r\n",
                g[] = "mg e v k O14\r\n";
    static char v[] = "version\r\n";
    text_reader t;
    text_reader_init(&t, REPLY_VERSION);
    struct iovec iov[3] = {
        {q, sizeof(q) - 1}, {g, sizeof(g) - 1}, {v, sizeof(v) - 1}};
    req r[3];
    reply_reader *rd[3] = {&b.base, &single->base, &t.base};
    int nreq = version ? 3 : 2;
    for (int i = 0; i < nreq; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].pr.iov = &iov[i];
        r[i].pr.iovcnt = 1;
        r[i].pr.reader = rd[i];
        pipeline_push(&p, &r[i].pr);
    }
    struct iovec *out;
    int n;
    while ((n = pipeline_gather(&p, &out)) > 0) {
        size_t bytes = 0;
        for (int i = 0; i < n; i++)
            bytes += out[i].iov_len;
        pipeline_sent(&p, bytes, on_done, NULL);
    }
    memcpy(p.conn.rbuf, text, strlen(text));
    p.conn.rlen = strlen(text);
    int failed = 0;
    for (;;) {
        int step = pipeline_parse(&p);
        if (step < 0) {
            failed = step;
            break;
        }
        if (step == PARSE_CONFIRM) {
            pipeline_confirm(&p, on_done, NULL);
            continue;
        }
        if (step == PARSE_ADVANCE && pipeline_advance(&p))
            continue;
        if (step == PARSE_ADVANCE && conn_buffered(&p.conn) > 0)
            failed = MCRING_EPROTO; /* a reply no request asked for */
        break;
    }
    bool all = true;
    for (int i = 0; i < nreq; i++)
        all = all && r[i].completions == 1;
    pipeline_fail_all(&p, MCRING_ECLOSED, on_done, NULL);
    for (int i = 0; i < nreq; i++)
        cr_assert_eq(r[i].completions, 1);
    for (int i = 0; i < 4; i++)
        mcring_item_release(&items[i]);
    mcring_item_release(&one);
    free(p.conn.rbuf);
    p.conn.rbuf = NULL;
    pipeline_destroy(&p);
    return failed != 0 ? failed : all ? 0 : MCRING_ETIMEOUT;
}

Test(meta, a_quiet_batch_in_a_pipeline_is_fenced)
{
    int st[4];
    meta_reader single;
    /* A hit for c, misses silent, the batch's MN, the get's reply, and
     * the fence: a quiet batch's closing MN carries no token, so its
     * batch is fenced. */
    cr_assert_eq(through_pipeline("VA 1 Oc\r\nC\r\nMN\r\nEN ke O14\r\nMN\r\n",
                                  st, &single, false),
                 0);
    cr_assert_eq(st[2], MCRING_OK);
    cr_assert_eq(st[0], MCRING_MISS);
    cr_assert_eq(single.head.code, META_EN);
    /* Without the fence nothing is completed. */
    cr_assert_eq(through_pipeline("VA 1 Oc\r\nC\r\nMN\r\nEN ke O14\r\n", st,
                                  &single, false),
                 MCRING_ETIMEOUT);
    /* A stray MN ahead of the replies would end the batch with every key
     * a miss: the replies after it no longer fit, and nobody is answered
     * from it. */
    cr_assert_eq(through_pipeline("MN\r\nVA 1 Oc\r\nC\r\nMN\r\nEN ke O14\r\n"
                                  "MN\r\n",
                                  st, &single, false),
                 MCRING_EPROTO);
    /* The get's reply inside the batch (its MN missing): caught. */
    cr_assert_eq(through_pipeline("VA 1 Oc\r\nC\r\nEN ke O14\r\nMN\r\n",
                                  st, &single, false),
                 MCRING_EPROTO);
    /* One MN too few: the get meets the next MN. */
    cr_assert_eq(through_pipeline("MN\r\nMN\r\n", st, &single, false),
                 MCRING_EPROTO);
    /* A reply too many after the get: the fence was due. */
    cr_assert_eq(through_pipeline("MN\r\nEN ke O14\r\nEN ke O14\r\nMN\r\n",
                                  st, &single, false),
                 MCRING_EPROTO);
}

Test(meta, a_text_request_in_the_batch_brings_the_fence_back)
{
    int st[4];
    meta_reader single;
    cr_assert_eq(through_pipeline("MN\r\nEN ke O14\r\nVERSION 1.6\r\nMN\r\n",
                                  st, &single, true),
                 0);
    /* Without its fence: the requests are not completed. */
    cr_assert_eq(through_pipeline("MN\r\nEN ke O14\r\nVERSION 1.6\r\n", st,
                                  &single, true),
                 MCRING_ETIMEOUT);
    /* A reply too many ahead of the version is caught by the fence. */
    cr_assert_eq(
        through_pipeline("MN\r\nEN ke O14\r\nVERSION 1.5\r\nVERSION 1.6\r\nMN\r\n",
                         st, &single, true),
        MCRING_EPROTO);
}

/* A text request's batch split by a partial write: the rest of the batch
 * (meta only) is gathered again with new meta requests, and must not be
 * marked unfenced with them — the text request completes only with its
 * batch's fence. */
Test(meta, a_text_request_is_not_completed_before_its_fence)
{
    pipeline p;
    pipeline_init(&p);
    p.conn.rbuf = malloc(CONN_RBUF_SIZE);
    p.conn.rcap = CONN_RBUF_SIZE;
    atomic_store(&p.fence, FENCE_ON);
    text_reader t;
    text_reader_init(&t, REPLY_VERSION);
    mcring_item i2 = MCRING_ITEM_INIT, i3 = MCRING_ITEM_INIT,
                i4 = MCRING_ITEM_INIT;
    meta_reader m2, m3, m4;
    meta_reader_init(&m2, 2, "b", 1, &i2, 0);
    meta_reader_init(&m3, 3, "c", 1, &i3, 0);
    meta_reader_init(&m4, 4, "d", 1, &i4, 0);
    static char v[] = "version\r\n", g2[] = "mg b v k O2\r\n",
                g3[] = "mg c v k O3\r\n", g4[] = "mg d v k O4\r\n";
    struct iovec iov[4] = {{v, sizeof(v) - 1}, {g2, sizeof(g2) - 1},
                           {g3, sizeof(g3) - 1}, {g4, sizeof(g4) - 1}};
    reply_reader *rd[4] = {&t.base, &m2.base, &m3.base, &m4.base};
    req r[4];
    for (int i = 0; i < 4; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].pr.iov = &iov[i];
        r[i].pr.iovcnt = 1;
        r[i].pr.reader = rd[i];
    }
    pipeline_push(&p, &r[0].pr);
    pipeline_push(&p, &r[1].pr);
    pipeline_push(&p, &r[2].pr);
    struct iovec *out;
    cr_assert_gt(pipeline_gather(&p, &out), 0); /* version, mg, mg, mn */
    cr_assert(atomic_load(&r[2].pr.fence_after));
    /* The kernel takes the version line and 3 bytes of the first mg. */
    pipeline_sent(&p, sizeof(v) - 1 + 3, on_done, NULL);
    pipeline_push(&p, &r[3].pr);
    int n;
    while ((n = pipeline_gather(&p, &out)) > 0) {
        size_t bytes = 0;
        for (int i = 0; i < n; i++)
            bytes += out[i].iov_len;
        pipeline_sent(&p, bytes, on_done, NULL);
    }
    /* The version's reply and mg b's, nothing more yet (mg c's reply and
     * the fence's MN have not come). */
    const char *text = "VERSION 1.6\r\nEN kb O2\r\n";
    memcpy(p.conn.rbuf, text, strlen(text));
    p.conn.rlen = strlen(text);
    for (;;) {
        int step = pipeline_parse(&p);
        cr_assert_geq(step, 0);
        if (step == PARSE_CONFIRM) {
            pipeline_confirm(&p, on_done, NULL);
            continue;
        }
        if (step == PARSE_ADVANCE && pipeline_advance(&p))
            continue;
        break;
    }
    cr_expect_eq(r[0].completions, 0,
                 "the text request completed before its batch's fence "
                 "(unfenced set on the rest of its batch)");
    pipeline_fail_all(&p, MCRING_ECLOSED, on_done, NULL);
    mcring_item_release(&i2);
    mcring_item_release(&i3);
    mcring_item_release(&i4);
    free(p.conn.rbuf);
    p.conn.rbuf = NULL;
    pipeline_destroy(&p);
}
