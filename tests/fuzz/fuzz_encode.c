/*
 * JSON -> Avro encoder on fuzzed JSON text, against schemas that exercise every Avro
 * type (the all_types fixture), a realistic event (simple), a recursive one, and one
 * with zero-size items and more fields than the encoder keeps on its stack.
 * Whatever encodes must decode and re-encode to the same bytes.
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
    char *json = malloc(size ? size : 1); /* exact size: the encoder must not read past len */
    if (!json)
        return 0;
    if (size)
        memcpy(json, data, size);
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        char err[256];
        evbus__buf_t out = EVBUS__BUF_INIT;
        if (evbus__buf_puts(&out, PREFIX) != 0)
            break;
        evbus_err_t e = evbus__avro_encode_json(docs[i]->root, json, size, &out, err, sizeof(err));
        if (e == EVBUS_OK) {
            if (out.len < strlen(PREFIX) || memcmp(out.data, PREFIX, strlen(PREFIX)) != 0)
                fuzz_die("encode", "overwrote the bytes already in the buffer");
            fuzz_check_roundtrip(docs[i]->root, out.data + strlen(PREFIX), out.len - strlen(PREFIX));
        } else {
            if (!memchr(err, 0, sizeof(err)) || !err[0])
                fuzz_die("encode", "error without a message");
            fuzz_check_untouched(&out, PREFIX, "encode");
        }
        evbus__buf_free(&out);
    }
    free(json);
    return 0;
}
