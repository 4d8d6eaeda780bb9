/*
 * Avro schema resolution (core/avro/resolve.c) on fuzzed data. The first input byte picks a pair of
 * schema versions from the table below (and which one wrote), the rest is the Avro datum the
 * writer's decoder reads; what decodes is resolved into the reader. Properties: nothing crashes
 * or leaks; an error always has a message; a datum resolved into its own schema comes back
 * unchanged; and where the static check accepts the pair, the data resolves unless the only
 * problem is bytes that are not UTF-8 (the one data-dependent rule) or a map key holding U+0000
 * (a limit of the JSON library the resolution uses, documented in resolve.h); a map that repeats
 * a key keeps its last value, as any JSON reader of the decoded data would.
 * The schemas are fixed, not fuzzed: the parser has its own target (fuzz_schema).
 */
#include <jansson.h>
#include <stdint.h>

#include "codec.h"
#include "fuzz_util.h"
#include "resolve.h"

#define R(fields) "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"t\",\"fields\":[" fields "]}"
#define XB(extra)                                                                               \
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"x.v1\",\"fields\":[{\"name\":"  \
    "\"xblock_info\",\"type\":{\"type\":\"record\",\"name\":\"XBlockData\",\"fields\":["          \
    "{\"name\":\"usage_key\",\"type\":\"string\"},{\"name\":\"block_type\",\"type\":\"string\"}" \
    extra "]}}]}"

static const char *const pairs[][2] = {
    {XB(""), XB(",{\"name\":\"version\",\"type\":[\"null\",\"string\"],\"default\":null}")},
    {R("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"s\",\"type\":\"string\"}"),
     R("{\"name\":\"a\",\"type\":\"double\"},{\"name\":\"s\",\"type\":\"bytes\"},"
       "{\"name\":\"n\",\"type\":[\"null\",\"long\"],\"default\":null}")},
    {R("{\"name\":\"a\",\"type\":\"long\"},{\"name\":\"f\",\"type\":\"float\"}"),
     R("{\"name\":\"a\",\"type\":\"float\"},{\"name\":\"f\",\"type\":\"double\"},"
       "{\"name\":\"d\",\"type\":{\"type\":\"record\",\"name\":\"D\",\"fields\":[{\"name\":\"x\","
       "\"type\":\"int\",\"default\":3}]},\"default\":{\"x\":4}}")},
    {R("{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\",\"C\"]}}"),
     R("{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"C\",\"Z\"],\"default\":\"Z\"}}")},
    {R("{\"name\":\"u\",\"type\":[\"int\",\"string\",\"null\"]}"),
     R("{\"name\":\"u\",\"type\":[\"string\",\"null\",\"long\"]}")},
    {R("{\"name\":\"l\",\"type\":{\"type\":\"array\",\"items\":[\"null\",\"int\"]}},"
       "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"bytes\"}}"),
     R("{\"name\":\"l\",\"type\":{\"type\":\"array\",\"items\":[\"null\",\"double\"]}},"
       "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"string\"}}")},
    {R("{\"name\":\"p\",\"type\":{\"type\":\"record\",\"name\":\"P\",\"fields\":[{\"name\":\"id\","
       "\"type\":\"long\"}]}},{\"name\":\"q\",\"type\":[\"null\",\"P\"]}"),
     R("{\"name\":\"q\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"P\",\"fields\":["
       "{\"name\":\"id\",\"type\":\"double\"},{\"name\":\"tag\",\"type\":[\"string\",\"null\"],"
       "\"default\":\"t\"}]}],\"default\":null}")},
    {R("{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}},{\"name\":\"b\","
       "\"type\":\"boolean\"}"),
     R("{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}}")},
    {R("{\"name\":\"next\",\"type\":[\"null\",\"R\"]},{\"name\":\"v\",\"type\":\"int\"}"),
     R("{\"name\":\"next\",\"type\":[\"null\",\"R\"],\"default\":null},{\"name\":\"v\",\"type\":\"long\"}")},
};
#define NPAIRS (sizeof(pairs) / sizeof(pairs[0]))

static evbus__schema_doc_t *docs[NPAIRS][2];

static void load(void) {
    char err[512];
    for (size_t i = 0; i < NPAIRS; i++)
        for (int k = 0; k < 2; k++)
            if (!docs[i][k] &&
                !(docs[i][k] = evbus__schema_parse(pairs[i][k], strlen(pairs[i][k]), err, sizeof(err))))
                fuzz_die("fixture schema does not parse", err);
}

/* Avro maps may repeat a key on the wire; as JSON objects, the last one wins. */
static int has_duplicate_keys(const evbus__buf_t *js) {
    json_error_t jerr;
    json_t *j = json_loadb((const char *)js->data, js->len, JSON_DECODE_ANY | JSON_ALLOW_NUL |
                                                                JSON_REJECT_DUPLICATES, &jerr);
    json_decref(j);
    return j == NULL && strstr(jerr.text, "duplicate") != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    if (size < 1)
        return 0;
    load();
    const evbus__schema_doc_t *w = docs[(data[0] >> 1) % NPAIRS][data[0] & 1];
    const evbus__schema_doc_t *r = docs[(data[0] >> 1) % NPAIRS][!(data[0] & 1)];
    err[0] = 0;
    int check_ok = evbus__resolve_check(w, r, err, sizeof(err)) == EVBUS_OK;
    if (!check_ok && !err[0])
        fuzz_die("resolve_check", "failed without a message");
    evbus__buf_t js = EVBUS__BUF_INIT, out = EVBUS__BUF_INIT;
    if (evbus__avro_decode_json(w->root, data + 1, size - 1, &js, err, sizeof(err)) == EVBUS_OK) {
        err[0] = 0;
        evbus_err_t e = evbus__resolve_json(w, r, (const char *)js.data, js.len, &out, err, sizeof(err));
        if (e && !err[0])
            fuzz_die("resolve_json", "failed without a message");
        if (e && check_ok && !strstr(err, "not valid UTF-8") && !strstr(err, "NUL byte in object key") &&
            !strstr(err, "not a byte string")) {
            fprintf(stderr, "  data: %s\n", (const char *)js.data);
            fuzz_die("resolve_json failed on a pair the check accepts", err);
        }
        evbus__buf_reset(&out);
        err[0] = 0;
        if (evbus__resolve_json(w, w, (const char *)js.data, js.len, &out, err, sizeof(err)) != EVBUS_OK &&
            !strstr(err, "NUL byte in object key")) { /* the documented limit, see resolve.h */
            fprintf(stderr, "  data: %s\n", (const char *)js.data);
            fuzz_die("resolve_json into the same schema failed", err);
        } else if (err[0] == 0 && !has_duplicate_keys(&js) &&
                   (out.len != js.len || memcmp(out.data, js.data, js.len) != 0)) {
            fprintf(stderr, "  in:  %s\n  out: %s\n", (const char *)js.data, (const char *)out.data);
            fuzz_die("resolve_json into the same schema changed the data", NULL);
        }
    }
    evbus__buf_free(&js);
    evbus__buf_free(&out);
    return 0;
}
