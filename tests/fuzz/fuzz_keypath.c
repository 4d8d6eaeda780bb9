/*
 * Key paths: evbus__keypath_find_json over fuzzed event JSON with a few fixed paths, and
 * evbus__keypath_resolve_schema with the fuzzed bytes as the path (up to the first NUL)
 * against the fixture schemas.
 */
#include <stdint.h>

#include "fuzz_util.h"
#include "keypath.h"

static evbus__schema_doc_t *docs[3];

static const char *const paths[] = {
    "user.pii.username", "course_key", "a", "a.b", "a.b.c.d.e.f", "user..id", ".", "x.",
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    docs[0] = fuzz_schema_file("org.evbus.test.simple.v1");
    docs[1] = fuzz_schema_file("org.evbus.test.all_types.v1");
    docs[2] = fuzz_schema_text(FUZZ_SCHEMA_LIST);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *json = malloc(size ? size : 1); /* not NUL-terminated: len must be respected */
    char *path = fuzz_cstr(data, size);
    if (!json || !path)
        goto out;
    if (size)
        memcpy(json, data, size);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const char *v = NULL;
        size_t vlen = 0;
        char err[256] = "";
        evbus_err_t e = evbus__keypath_find_json(json, size, paths[i], &v, &vlen, err, sizeof(err));
        if (e == EVBUS_OK) {
            if (!v || v < json || vlen == 0 || vlen > size || v + vlen > json + size)
                fuzz_die("keypath_find_json", "value span outside the input");
            if (vlen == 4 && !memcmp(v, "null", 4))
                fuzz_die("keypath_find_json", "null value returned as a key");
        } else if ((e != EVBUS_ERR_KEY && e != EVBUS_ERR_SCHEMA) || !err[0]) {
            fuzz_die("keypath_find_json", "unexpected error code or empty message");
        }
    }
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        char err[256] = "";
        const evbus__schema_t *n = evbus__keypath_resolve_schema(docs[i]->root, path, err,
                                                                 sizeof(err));
        if (!n && !err[0])
            fuzz_die("keypath_resolve_schema", "NULL without a message");
        if (n && (n->kind == EVBUS__AVRO_RECORD || n->kind == EVBUS__AVRO_ARRAY ||
                  n->kind == EVBUS__AVRO_MAP || n->kind == EVBUS__AVRO_UNION ||
                  n->kind == EVBUS__AVRO_NULL))
            fuzz_die("keypath_resolve_schema", "resolved to a non-scalar node");
    }
out:
    free(json);
    free(path);
    return 0;
}
