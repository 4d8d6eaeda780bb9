/*
 * Avro -> JSON decoder on fuzzed bytes (untrusted: they come off a topic), against the
 * same schemas as fuzz_encode.  When the bytes decode, the JSON must encode, and that
 * encoding (canonical bytes) must round-trip exactly.
 */
#include <stdint.h>

#include "fuzz_codec_check.h"

#define PREFIX "pre"

static evbus__schema_doc_t *docs[FUZZ_CODEC_NDOCS];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_codec_docs(docs);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned char *bytes = malloc(size ? size : 1); /* exact size: overreads are caught */
    if (!bytes)
        return 0;
    if (size)
        memcpy(bytes, data, size);
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        char err[256];
        evbus__buf_t out = EVBUS__BUF_INIT, avro = EVBUS__BUF_INIT;
        if (evbus__buf_puts(&out, PREFIX) != 0)
            break;
        evbus_err_t e = evbus__avro_decode_json(docs[i]->root, bytes, size, &out, err, sizeof(err));
        if (e == EVBUS_OK) {
            const char *json = (const char *)out.data + strlen(PREFIX);
            size_t jlen = out.len - strlen(PREFIX);
            if (memcmp(out.data, PREFIX, strlen(PREFIX)) != 0 || out.data[out.len] != 0)
                fuzz_die("decode", "prefix overwritten or output not NUL-terminated");
            e = evbus__avro_encode_json(docs[i]->root, json, jlen, &avro, err, sizeof(err));
            if (e != EVBUS_OK && e != EVBUS_ERR_NOMEM) {
                fprintf(stderr, "  json: %.*s\n", (int)jlen, json);
                fuzz_die("decoder output does not encode", err);
            }
            if (e == EVBUS_OK)
                fuzz_check_roundtrip(docs[i]->root, avro.data, avro.len);
        } else if (out.len != strlen(PREFIX)) {
            /* NaN/Infinity: complete JSON with null in their place, still an error */
            if (memcmp(out.data, PREFIX, strlen(PREFIX)) != 0 || !strstr(err, "not finite"))
                fuzz_die("decode", "failed call left output without the non-finite excuse");
        } else {
            if (!err[0])
                fuzz_die("decode", "error without a message");
            fuzz_check_untouched(&out, PREFIX, "decode");
        }
        evbus__buf_free(&out);
        evbus__buf_free(&avro);
    }
    free(bytes);
    return 0;
}
