/*
 * Avro schema parser on fuzzed JSON.  A schema that parses must have a Parsing Canonical
 * Form that parses again to the same form and fingerprint, and the codec must survive
 * it: decoding a few fixed byte strings and encoding a few fixed JSON values.  Each default
 * of the root record, as natural JSON, must encode to the bytes it was prepared as.
 */
#include <stdint.h>

#include "codec.h"
#include "fuzz_util.h"

static void exercise_codec(const evbus__schema_t *root) {
    static const unsigned char zeros[16], twos[16] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
    static const char *const jsons[] = {"{}", "null", "[]", "0", "\"\"", "{\"a\":1}"};
    char err[256];
    evbus__buf_t b = EVBUS__BUF_INIT;
    evbus__avro_decode_json(root, zeros, sizeof(zeros), &b, err, sizeof(err));
    evbus__buf_reset(&b);
    evbus__avro_decode_json(root, twos, sizeof(twos), &b, err, sizeof(err));
    for (size_t i = 0; i < sizeof(jsons) / sizeof(jsons[0]); i++) {
        evbus__buf_reset(&b);
        evbus__avro_encode_json(root, jsons[i], strlen(jsons[i]), &b, err, sizeof(err));
    }
    evbus__buf_free(&b);
}

/* Every default of the root record: its natural JSON must encode, by natural JSON's rules,
 * to the bytes pre-encoded by Avro's default rules. */
static void check_defaults(const evbus__schema_t *root) {
    if (root->kind != EVBUS__AVRO_RECORD)
        return;
    for (size_t i = 0; i < root->nfields; i++) {
        const evbus__field_t *f = &root->fields[i];
        char err[512];
        evbus__buf_t j = EVBUS__BUF_INIT, a = EVBUS__BUF_INIT;
        if (!f->has_default)
            continue;
        if (!f->default_avro)
            fuzz_die("default", "not prepared");
        evbus_err_t e = evbus__avro_default_json(f->type, f->default_json, strlen(f->default_json),
                                                 &j, err, sizeof(err));
        if (e == EVBUS_OK)
            e = evbus__avro_encode_json(f->type, (const char *)j.data, j.len, &a, err, sizeof(err));
        if (e != EVBUS_OK && e != EVBUS_ERR_NOMEM) {
            fprintf(stderr, "  default: %s\n  natural: %s\n", f->default_json,
                    j.data ? (const char *)j.data : "");
            fuzz_die("a prepared default's natural JSON does not encode", err);
        }
        if (e == EVBUS_OK && (a.len != f->default_avro_len ||
                              (a.len && memcmp(a.data, f->default_avro, a.len) != 0))) {
            fprintf(stderr, "  default: %s\n  natural: %s\n", f->default_json, (const char *)j.data);
            fuzz_die("a default's natural JSON encodes to other bytes", NULL);
        }
        evbus__buf_free(&j);
        evbus__buf_free(&a);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    evbus__schema_doc_t *d = evbus__schema_parse((const char *)data, size, err, sizeof(err));
    if (!d) {
        if (!err[0])
            fuzz_die("schema_parse", "NULL without a message");
        return 0;
    }
    if (!d->root || !d->canonical)
        fuzz_die("schema_parse", "doc without root or canonical form");
    char *canon = evbus__schema_canonical(d->root);
    if (canon && strcmp(canon, d->canonical) != 0)
        fuzz_die("schema_canonical", "differs from the doc's canonical form");
    if (d->fingerprint != evbus__crc64_avro(d->canonical, strlen(d->canonical)))
        fuzz_die("schema_parse", "fingerprint is not CRC-64-AVRO of the canonical form");
    evbus__schema_doc_t *d2 = evbus__schema_parse(d->canonical, strlen(d->canonical), err,
                                                  sizeof(err));
    if (!d2) {
        fprintf(stderr, "  canonical: %s\n", d->canonical);
        fuzz_die("canonical form does not parse", err);
    }
    if (strcmp(d2->canonical, d->canonical) != 0 || d2->fingerprint != d->fingerprint) {
        fprintf(stderr, "  first:  %s\n  second: %s\n", d->canonical, d2->canonical);
        fuzz_die("canonical form is not a fixed point", NULL);
    }
    exercise_codec(d->root);
    check_defaults(d->root);
    evbus__schema_doc_destroy(d2);
    evbus__schema_doc_destroy(d);
    free(canon);
    return 0;
}
