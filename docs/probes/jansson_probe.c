/*
 * What jansson does with the inputs and outputs Swift's JSON needs
 * (docs/codecs.md, "Why not jansson"). Not part of the build:
 *
 *   cc docs/probes/jansson_probe.c $(pkg-config --cflags --libs jansson) \
 *      -o /tmp/jansson_probe && /tmp/jansson_probe
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void load(const char *text, size_t flags)
{
    json_error_t e;
    json_t *j = json_loads(text, flags | JSON_DECODE_ANY, &e);
    if (j == NULL) {
        printf("load %-24s -> error: %s\n", text, e.text);
        return;
    }
    char *out = json_dumps(j, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    printf("load %-24s -> %s\n", text, out);
    free(out);
    json_decref(j);
}

int main(void)
{
    printf("jansson %s\n", JANSSON_VERSION);
    load("[NaN]", 0);
    load("[Infinity]", 0);
    load("[-Infinity]", 0);
    load("9223372036854775808", 0);
    load("18446744073709551615", 0);
    load("18446744073709551615", JSON_DECODE_INT_AS_REAL);
    printf("json_real(NAN) = %p, json_real(INFINITY) = %p\n",
           (void *)json_real(NAN), (void *)json_real(INFINITY));
    json_t *o = json_pack("{s:[i,f,f,f,s]}", "a", 1, 2.5, 0.1, 1e16,
                          "\xc3\xa9\xf0\x9f\x98\x80\x7f");
    char *s = json_dumps(o, JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    printf("dump (ENSURE_ASCII)        -> %s\n", s);
    free(s);
    json_decref(o);
    return 0;
}
