/*
 * Codec throughput: encode and decode of a typical small record (10
 * fields) and a large nested one (about 1 MB, 6 levels deep), for each of
 * mcring's codecs (json, msgpack). Each figure is the median of several
 * timed runs; MB/s counts the encoded bytes. For context the same records
 * also go through jansson and through msgpack-c's own unpacker, which
 * mcring does not use (docs/codecs.md says why); those rows are marked
 * "reference".
 *
 *   bench_codec [--runs N] [--seconds S]     (defaults: 7 runs of 0.3 s)
 */
#ifdef HAVE_JANSSON
#include <jansson.h>
#endif
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mcring.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench_codec: %s failed\n", what);
        exit(1);
    }
}

static mcring_value *str(const char *s)
{
    return mcring_value_new_string(s, strlen(s));
}

/* A user record: 10 fields of the usual kinds. */
static mcring_value *small_record(int64_t id)
{
    char email[64];
    snprintf(email, sizeof(email), "user%lld@example.com", (long long)id);
    mcring_value *m = mcring_value_new_map();
    mcring_value_map_add_str(m, "id", mcring_value_new_int(id));
    mcring_value_map_add_str(m, "name", str("Zo\xc3\xab Example"));
    mcring_value_map_add_str(m, "email", str(email));
    mcring_value_map_add_str(m, "active", mcring_value_new_bool(id % 3 != 0));
    mcring_value_map_add_str(m, "score", mcring_value_new_double(97.25));
    mcring_value_map_add_str(m, "created",
                             mcring_value_new_int(1700000000 + id));
    mcring_value *tags = mcring_value_new_array();
    mcring_value_array_push(tags, str("admin"));
    mcring_value_array_push(tags, str("ops"));
    mcring_value_array_push(tags, str("eu-west"));
    mcring_value_map_add_str(m, "tags", tags);
    mcring_value_map_add_str(m, "ratio",
                             mcring_value_new_double(1.0 / (double)(id + 3)));
    mcring_value_map_add_str(m, "parent", mcring_value_new_null());
    mcring_value *quota = mcring_value_new_map();
    mcring_value_map_add_str(quota, "bytes",
                             mcring_value_new_int(10737418240LL));
    mcring_value_map_add_str(quota, "objects", mcring_value_new_int(100000));
    mcring_value_map_add_str(m, "quota", quota);
    return m;
}

/* {"account": ..., "containers": [ {"name", "policy", "objects":
 *  [ {record with "quota" map} x 60 ] } x 64 ]}: 6 levels, about 1 MB as
 * JSON. */
static mcring_value *large_record(void)
{
    mcring_value *root = mcring_value_new_map();
    mcring_value_map_add_str(root, "account", str("AUTH_test"));
    mcring_value *containers = mcring_value_new_array();
    for (int c = 0; c < 64; c++) {
        char name[32];
        snprintf(name, sizeof(name), "container-%03d", c);
        mcring_value *cont = mcring_value_new_map();
        mcring_value_map_add_str(cont, "name", str(name));
        mcring_value_map_add_str(cont, "policy", mcring_value_new_int(c % 4));
        mcring_value *objects = mcring_value_new_array();
        for (int o = 0; o < 60; o++)
            mcring_value_array_push(objects, small_record(c * 60 + o));
        mcring_value_map_add_str(cont, "objects", objects);
        mcring_value_array_push(containers, cont);
    }
    mcring_value_map_add_str(root, "containers", containers);
    return root;
}

typedef struct result {
    double encode_ops, decode_ops; /* per second, medians */
    size_t bytes;
} result;

typedef struct bench_case {
    const char *codec;
    int reference; /* not mcring's code path */
    /* One encode into out (reused), one decode+free of in. */
    void (*encode)(void *ctx, mcring_item *out);
    void (*decode)(void *ctx, const mcring_item *in);
    void *ctx;
} bench_case;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_rate(void (*op)(void *, void *), void *ctx, void *arg,
                          int runs, double seconds)
{
    double rates[64];
    for (int r = 0; r < runs; r++) {
        long n = 0;
        double start = now(), t;
        do {
            for (int i = 0; i < 8; i++)
                op(ctx, arg);
            n += 8;
            t = now() - start;
        } while (t < seconds);
        rates[r] = (double)n / t;
    }
    qsort(rates, (size_t)runs, sizeof(double), cmp_double);
    return rates[runs / 2];
}

/* ---- mcring's codecs ---------------------------------------------------- */

typedef struct mc_ctx {
    const mcring_codec *codec;
    const mcring_value *value;
} mc_ctx;

static void mc_encode(void *ctx, mcring_item *out)
{
    mc_ctx *c = ctx;
    must(mcring_codec_encode(c->codec, c->value, out) == 0, "encode");
}

static void mc_decode(void *ctx, const mcring_item *in)
{
    mc_ctx *c = ctx;
    mcring_value *v;
    must(mcring_codec_decode(c->codec, in->data, in->len, &v) == 0, "decode");
    mcring_value_free(v);
}

/* ---- references: jansson, msgpack-c's unpacker --------------------------*/

#ifdef HAVE_JANSSON

static json_t *to_jansson(const mcring_value *v)
{
    int64_t i;
    double d;
    int b;
    switch (mcring_value_kind_of(v)) {
    case MCRING_VALUE_NULL:
        return json_null();
    case MCRING_VALUE_BOOL:
        mcring_value_get_bool(v, &b);
        return json_boolean(b);
    case MCRING_VALUE_INT:
        mcring_value_get_int(v, &i);
        return json_integer(i);
    case MCRING_VALUE_DOUBLE:
        mcring_value_get_double(v, &d);
        return json_real(d);
    case MCRING_VALUE_STRING: {
        size_t len;
        const char *s = mcring_value_get_string(v, &len);
        return json_stringn(s, len);
    }
    case MCRING_VALUE_ARRAY: {
        json_t *a = json_array();
        for (size_t k = 0; k < mcring_value_count(v); k++)
            json_array_append_new(a, to_jansson(mcring_value_array_at(v, k)));
        return a;
    }
    case MCRING_VALUE_MAP: {
        json_t *o = json_object();
        for (size_t k = 0; k < mcring_value_count(v); k++)
            json_object_set_new(
                o, mcring_value_get_string(mcring_value_map_key_at(v, k), NULL),
                to_jansson(mcring_value_map_value_at(v, k)));
        return o;
    }
    default:
        must(0, "a kind jansson has no type for");
        return NULL;
    }
}

static void jansson_encode(void *ctx, mcring_item *out)
{
    char *s = json_dumps(ctx, JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
    must(s != NULL, "json_dumps");
    out->len = strlen(s);
    free(s);
}

static void jansson_decode(void *ctx, const mcring_item *in)
{
    (void)ctx;
    json_error_t e;
    json_t *j = json_loadb(in->data, in->len, JSON_DECODE_ANY, &e);
    must(j != NULL, "json_loadb");
    json_decref(j);
}

#endif

typedef struct mp_ref {
    msgpack_unpacked obj; /* the record as msgpack-c objects */
    msgpack_sbuffer buf;
} mp_ref;

static void msgpackc_encode(void *ctx, mcring_item *out)
{
    mp_ref *r = ctx;
    msgpack_sbuffer_clear(&r->buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &r->buf, msgpack_sbuffer_write);
    must(msgpack_pack_object(&pk, r->obj.data) == 0, "msgpack_pack_object");
    out->len = r->buf.size;
}

static void msgpackc_decode(void *ctx, const mcring_item *in)
{
    (void)ctx;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    must(msgpack_unpack_next(&u, in->data, in->len, &off) ==
             MSGPACK_UNPACK_SUCCESS,
         "msgpack_unpack_next");
    msgpack_unpacked_destroy(&u);
}

/* ---- driver ------------------------------------------------------------- */

static void enc_op(void *ctx, void *arg)
{
    ((bench_case *)ctx)->encode(((bench_case *)ctx)->ctx, arg);
}

static void dec_op(void *ctx, void *arg)
{
    ((bench_case *)ctx)->decode(((bench_case *)ctx)->ctx, arg);
}

static result run_case(bench_case *bc, const mcring_item *encoded, int runs,
                       double seconds)
{
    result r;
    mcring_item out = MCRING_ITEM_INIT;
    r.encode_ops = median_rate(enc_op, bc, &out, runs, seconds);
    r.decode_ops = median_rate(dec_op, bc, (void *)encoded, runs, seconds);
    r.bytes = encoded->len;
    mcring_item_release(&out);
    return r;
}

static void row(const char *codec, const char *record, int reference,
                result r)
{
    char name[40];
    snprintf(name, sizeof(name), "%s%s", codec,
             reference ? " (reference)" : "");
    printf("| %-22s | %-6s | %9zu | %11.0f | %8.1f | %11.0f | %8.1f |\n",
           name, record, r.bytes, r.encode_ops,
           r.encode_ops * (double)r.bytes / 1e6, r.decode_ops,
           r.decode_ops * (double)r.bytes / 1e6);
}

int main(int argc, char **argv)
{
    int runs = 7;
    double seconds = 0.3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
    }
    if (runs < 1 || runs > 63 || !(seconds > 0)) {
        fprintf(stderr, "usage: bench_codec [--runs 1..63] [--seconds S]\n");
        return 2;
    }

    mcring_value *records[2] = {small_record(42), large_record()};
    const char *names[2] = {"small", "large"};
    printf("mcring %s codecs: median of %d runs of %.2f s each\n\n",
           mcring_version(), runs, seconds);
    printf("| codec                  | record | bytes     | encode op/s | "
           "enc MB/s | decode op/s | dec MB/s |\n");
    printf("|------------------------|--------|-----------|-------------|"
           "----------|-------------|----------|\n");
    result mine[2][2];
    for (int r = 0; r < 2; r++) {
        const mcring_codec *codecs[2] = {mcring_codec_json(),
                                         mcring_codec_msgpack()};
        for (int c = 0; c < 2; c++) {
            mcring_item enc = MCRING_ITEM_INIT;
            must(mcring_codec_encode(codecs[c], records[r], &enc) == 0,
                 "first encode");
            mc_ctx ctx = {codecs[c], records[r]};
            bench_case bc = {codecs[c]->name, 0, mc_encode, mc_decode, &ctx};
            mine[r][c] = run_case(&bc, &enc, runs, seconds);
            row(codecs[c]->name, names[r], 0, mine[r][c]);
            mcring_item_release(&enc);
        }

#ifdef HAVE_JANSSON
        /* jansson on the same record (its output differs in float digits
         * and \u case, so its byte count differs slightly). */
        json_t *j = to_jansson(records[r]);
        char *text = json_dumps(j, JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
        mcring_item jenc = {text, strlen(text), strlen(text) + 1, 0, 0};
        bench_case jb = {"jansson", 1, jansson_encode, jansson_decode, j};
        row("jansson", names[r], 1, run_case(&jb, &jenc, runs, seconds));
        free(text);
        json_decref(j);
#endif

        /* msgpack-c's unpacker on mcring's msgpack bytes. */
        mcring_item menc = MCRING_ITEM_INIT;
        must(mcring_codec_encode(mcring_codec_msgpack(), records[r], &menc) ==
                 0,
             "encode");
        mp_ref ref;
        msgpack_unpacked_init(&ref.obj);
        size_t off = 0;
        must(msgpack_unpack_next(&ref.obj, menc.data, menc.len, &off) ==
                 MSGPACK_UNPACK_SUCCESS,
             "unpack");
        msgpack_sbuffer_init(&ref.buf);
        bench_case mb = {"msgpack-c", 1, msgpackc_encode, msgpackc_decode,
                         &ref};
        row("msgpack-c", names[r], 1, run_case(&mb, &menc, runs, seconds));
        msgpack_sbuffer_destroy(&ref.buf);
        msgpack_unpacked_destroy(&ref.obj);
        mcring_item_release(&menc);
    }
    printf("\nmsgpack / json (mcring):\n");
    for (int r = 0; r < 2; r++)
        printf("  %-5s  size %.2fx  encode %.2fx  decode %.2fx\n", names[r],
               (double)mine[r][1].bytes / (double)mine[r][0].bytes,
               mine[r][1].encode_ops / mine[r][0].encode_ops,
               mine[r][1].decode_ops / mine[r][0].decode_ops);
    for (int r = 0; r < 2; r++)
        mcring_value_free(records[r]);
    return 0;
}
