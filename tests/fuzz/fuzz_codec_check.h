/*
 * The codec round-trip property both codec fuzzers check: Avro bytes that decode
 * must give JSON that encodes back to the same bytes, and that JSON must decode
 * to itself.  Any break aborts, so libFuzzer keeps the input as a crash.
 */
#ifndef EVBUS_FUZZ_CODEC_CHECK_H
#define EVBUS_FUZZ_CODEC_CHECK_H

#include "codec.h"
#include "fuzz_util.h"

static inline void fuzz_dump(const char *what, const void *p, size_t n) {
    const unsigned char *b = p;
    fprintf(stderr, "  %s (%zu bytes):", what, n);
    for (size_t i = 0; i < n && i < 512; i++)
        fprintf(stderr, " %02x", b[i]);
    fprintf(stderr, "\n");
}

/* avro (len bytes) is canonical encoder output for schema: it must survive decode -> encode. */
static inline void fuzz_check_roundtrip(const evbus__schema_t *schema, const unsigned char *avro,
                                        size_t len) {
    char err[512] = "";
    evbus__buf_t json = EVBUS__BUF_INIT, again = EVBUS__BUF_INIT, json2 = EVBUS__BUF_INIT;
    evbus_err_t e = evbus__avro_decode_json(schema, avro, len, &json, err, sizeof(err));
    if (e == EVBUS_ERR_NOMEM)
        goto out;
    if (e != EVBUS_OK) {
        fuzz_dump("avro", avro, len);
        fuzz_die("round trip: encoder output does not decode", err);
    }
    e = evbus__avro_encode_json(schema, (const char *)json.data, json.len, &again, err, sizeof(err));
    if (e == EVBUS_ERR_NOMEM)
        goto out;
    if (e != EVBUS_OK) {
        fprintf(stderr, "  json: %.*s\n", (int)json.len, (const char *)json.data);
        fuzz_die("round trip: decoder output does not encode", err);
    }
    if (again.len != len || memcmp(again.data, avro, len) != 0) {
        fprintf(stderr, "  json: %.*s\n", (int)json.len, (const char *)json.data);
        fuzz_dump("first", avro, len);
        fuzz_dump("again", again.data, again.len);
        fuzz_die("round trip: re-encoding gives different bytes", NULL);
    }
    e = evbus__avro_decode_json(schema, again.data, again.len, &json2, err, sizeof(err));
    if (e != EVBUS_OK && e != EVBUS_ERR_NOMEM)
        fuzz_die("round trip: second decode failed", err);
    if (e == EVBUS_OK && (json2.len != json.len || memcmp(json2.data, json.data, json.len) != 0)) {
        fprintf(stderr, "  json1: %.*s\n  json2: %.*s\n", (int)json.len, (const char *)json.data,
                (int)json2.len, (const char *)json2.data);
        fuzz_die("round trip: second decode gives different JSON", NULL);
    }
out:
    evbus__buf_free(&json);
    evbus__buf_free(&again);
    evbus__buf_free(&json2);
}

/* "On error out is left as it was": the caller's bytes before the call are untouched. */
static inline void fuzz_check_untouched(const evbus__buf_t *b, const char *prefix, const char *who) {
    size_t n = strlen(prefix);
    if (b->len != n || memcmp(b->data, prefix, n) != 0 || b->data[n] != 0)
        fuzz_die(who, "failed call changed the output buffer");
}

/* The schemas both codec targets run every input against: all Avro types, a small record,
 * a recursive list and a wide record of zero-size items. */
#define FUZZ_CODEC_NDOCS 4
static inline void fuzz_codec_docs(evbus__schema_doc_t *docs[FUZZ_CODEC_NDOCS]) {
    docs[0] = fuzz_schema_file("org.evbus.test.all_types.v1");
    docs[1] = fuzz_schema_file("org.evbus.test.simple.v1");
    docs[2] = fuzz_schema_text(FUZZ_SCHEMA_LIST);
    docs[3] = fuzz_schema_wide_zero();
}

#endif
