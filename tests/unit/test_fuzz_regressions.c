/*
 * Inputs the libFuzzer targets (tests/fuzz) found crashing or breaking a property,
 * kept as plain unit tests so they stay fixed in every build, sanitized or not.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "producer_config.h"
#include "fuzz/fuzz_codec_check.h"
#include "schema.h"

/* Standard base64 (the issue gives the fuzzers' inputs that way); returns the byte count. */
static size_t unbase64(const char *s, unsigned char *out, size_t cap) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        const char *p = strchr(abc, *s);
        assert_non_null(p);
        acc = (acc << 6) | (unsigned)(p - abc);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            assert_true(n < cap);
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

/* fuzz_decode (issue 20): a block of 3,328 zero-size items (empty records) is valid Avro, but
 * the decoder bounded every count by the bytes left, and its budget for zero-size items grew
 * with the input's length: the input decoded, its shorter canonical re-encoding did not. */
static void test_decode_zero_size_block(void **state) {
    static const char b64[] =
        "zf8HAABoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGho"
        "aGhoaGhoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    unsigned char in[256];
    char err[512];
    evbus__schema_doc_t *docs[FUZZ_CODEC_NDOCS];
    (void)state;
    size_t n = unbase64(b64, in, sizeof(in));
    assert_int_equal(n, 126);
    fuzz_codec_docs(docs);
    evbus__schema_t *wide = docs[3]->root;
    evbus__buf_t json = EVBUS__BUF_INIT, avro = EVBUS__BUF_INIT;
    if (evbus__avro_decode_json(wide, in, n, &json, err, sizeof(err)) != EVBUS_OK)
        fail_msg("decode: %s", err);
    assert_non_null(strstr((const char *)json.data, "\"empties\":[{},{}"));
    if (evbus__avro_encode_json(wide, (const char *)json.data, json.len, &avro, err,
                                sizeof(err)) != EVBUS_OK)
        fail_msg("encode: %s", err);
    /* one block per array, so shorter than the input: 65,511 nulls (the input's one block of
     * -65,511 with a byte size), then 3,484 empty records (the input's 67 blocks of 52) */
    assert_true(avro.len < n);
    assert_memory_equal(avro.data, "\xce\xff\x07\x00\xb8\x36\x00", 7);
    /* the property the fuzzer checks (aborts the test when it breaks), on every schema */
    fuzz_check_roundtrip(wide, avro.data, avro.len);
    for (size_t i = 0; i < FUZZ_CODEC_NDOCS; i++) {
        evbus__buf_reset(&json);
        if (evbus__avro_decode_json(docs[i]->root, in, n, &json, err, sizeof(err)) == EVBUS_OK) {
            evbus__buf_reset(&avro);
            assert_int_equal(evbus__avro_encode_json(docs[i]->root, (const char *)json.data,
                                                     json.len, &avro, err, sizeof(err)),
                             EVBUS_OK);
            fuzz_check_roundtrip(docs[i]->root, avro.data, avro.len);
        }
    }
    evbus__buf_free(&json);
    evbus__buf_free(&avro);
    for (size_t i = 0; i < FUZZ_CODEC_NDOCS; i++)
        evbus__schema_doc_destroy(docs[i]);
}

/* fuzz_schema: an empty name with no namespace read the byte before the name (UBSan,
 * core/schema/schema.c valid_fullname) and could be accepted. */
static void test_schema_empty_name(void **state) {
    static const char *const bad[] = {
        "{\"type\":\"enum\",\"name\":\"\",\"symbols\":[\"A\"]}",
        "{\"type\":\"record\",\"name\":\"\",\"fields\":[]}",
        "{\"type\":\"fixed\",\"name\":\"\",\"size\":1}",
        "{\"type\":\"enum\",\"name\":\"\",\"namesacpe\":\"a.nul,boolliases\",\"symbols\":[\"Ax.Y4\"]}",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        evbus__schema_doc_t *d = evbus__schema_parse(bad[i], strlen(bad[i]), err, sizeof(err));
        if (d)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(strstr(err, "$.name: invalid name \"\": must match"));
    }
}

/* fuzz_schema (issue 20): a namespace starting with U+0000 was accepted (jansson's C string
 * ends at the NUL, so the parser saw an empty namespace) and the canonical form of the schema
 * changed when parsed again, so its fingerprint was not well defined.  Now the namespace is
 * refused, naming it and where it is. */
static void test_schema_nul_in_namespace(void **state) {
    static const char b64[] =
        "ewogICJuYW1lIjogIkNsb3VkRXZlbnQiLAogICJ0eXBlIjogInJlY29yZCIsCiAgIm5hbWVzcGFjZSI6ICJvcmcu"
        "ZXZidXMudGVzdC5hbGxfdHlwZXMudjEiLAogICJkb2MiOiAiRXZlcnkgQXZybyB0eXBlLCBmb3IgdGhlIGNvZGVj"
        "IHRlc3RzIiwKICAiZmllbGRzIjogWwogICAgeyJuYW1lIjogIm4iLCAidHlwZSI6ICJudWxsIn0sCiAgICB7Im5h"
        "bWUiOiAiYiIsICJ0eXBlIjogImJvb2xlYW4ifSwKICAgIHsibmFtZSI6ICJpIiwgInR5cGUiOiAiaW50In0sCiAg"
        "ICB7Im5hbWUiOiAibCIsICJ0eXBhbWUiOiAiYnkiLCAidHlwZSI6ICJieXRlcyJ9LAogICAgeyJuYW1lIjogImUi"
        "LCAidHlwZSI6IHsidHlwZSI6ICJlbnVtIiwgIm5hbWUiOiAiQ29sb3IiLCAic3ltYm9scyI6IFsiUkVEIiwgIkdS"
        "RUVOIiwgIkJMVUUiXX19LAogICAgeyJuYW1lIjogInU0IiwgInR5cGUiOiB7InR5cGUiOiAiZml4ZWQiLCAibmFt"
        "ZSI6ICJNZDUiLCAic2l6ZSI6IDR9fSwKICAgIHsibmFtZSI6ICJhIiwgInR5cGUiOiB7InR5cGUiOiAiYXJyYXki"
        "LCAiaXRlbXMiOiAibG9uZyJ9fSwKICAgICAgICB7Im5hbWUiOiAiciIsICJ0eXBlIjogeyJ0eXBlIjogInJlY29y"
        "ZCIsICJuYW1lIjogIklubmVyIiwgIm5hbWVzcGFjZSI6ICJcdTAwMDBvcmcuZXZidXMub3RoZXIiLAogICAgICAg"
        "ICAgICAgICAgICAgICAgICAgICAgImZpZWxkcyI6IFt7Im5hbWUiOiAieCIsICJ0eXBlIjogImludCJ9LAogICAg"
        "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICB7Im5hbWUiOiAiYyIsICJ0eXBlIjogIm9yZy5ldmJ1"
        "cy50ZXN0LmFsbF90eXBlcy52MS5Db2xvciJ9XX19LAogICAgeyJuYW1lIjogInUiLCAidHlwZSI6IFsibnVsbCIs"
        "ICJzdHJpbmciXX0sCiAgICAgICB7Im5hbWUiOiAiZGZsdF91MiIsICAidHlwZSI6ICJieXRlcyIsICJkZWZhdWx0"
        "IjogIlx1MDBmZlx1MDA4MCJ9CiAgXQp9Cg==";
    unsigned char text[2048];
    char err[512] = "";
    (void)state;
    size_t n = unbase64(b64, text, sizeof(text));
    assert_non_null(memmem(text, n, "\\u0000org.evbus.other", 21));
    evbus__schema_doc_t *d = evbus__schema_parse((const char *)text, n, err, sizeof(err));
    if (d)
        fail_msg("accepted: %s", d->canonical);
    assert_string_equal(err, "$.fields[7].type.namespace: invalid namespace \"\\u0000org.evbus.other\": "
                             "each dot-separated part must match [A-Za-z_][A-Za-z0-9_]*");
    /* the same schema with the NUL taken out parses, and its canonical form is a fixed point */
    unsigned char *p = memmem(text, n, "\\u0000", 6);
    memmove(p, p + 6, n - (size_t)(p + 6 - text));
    n -= 6;
    d = evbus__schema_parse((const char *)text, n, err, sizeof(err));
    if (!d)
        fail_msg("%s", err);
    evbus__schema_doc_t *d2 = evbus__schema_parse(d->canonical, strlen(d->canonical), err, sizeof(err));
    assert_non_null(d2);
    assert_string_equal(d2->canonical, d->canonical);
    assert_true(d2->fingerprint == d->fingerprint);
    evbus__schema_doc_destroy(d2);
    evbus__schema_doc_destroy(d);
}

/* fuzz_config: an error line longer than the 1200-byte line buffer was copied whole
 * (stack-buffer-overflow read in evbus__config_errors_to_errstr). */
static void test_config_long_error_line(void **state) {
    char type[591], key[1001], *text, errstr[8192];
    evbus__config_errors_t errs = {NULL, 0};
    (void)state;
    memset(type, 'a', sizeof(type) - 1);
    type[sizeof(type) - 1] = 0;
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = 0;
    text = malloc(strlen(type) + strlen(key) + 32);
    assert_non_null(text);
    sprintf(text, "{\"%s\": [{\"%s\": 1}]}", type, key);
    assert_null(evbus__config_load(text, NULL, NULL, &errs));
    free(text);
    assert_true(errs.count >= 2); /* the unknown key, the missing topic, ... */
    char *joined = evbus__config_errors_join(&errs);
    assert_non_null(joined);
    assert_true(strlen(joined) > 1200); /* the first line alone is longer than the buffer */
    free(joined);
    memset(errstr, 'x', sizeof(errstr));
    evbus__config_errors_to_errstr(&errs, errstr, sizeof(errstr));
    assert_non_null(memchr(errstr, 0, sizeof(errstr)));
    assert_int_equal(strncmp(errstr, "$[\"aaaa", 7), 0);
    /* every line is cut to the buffer, none runs into the next */
    for (char *p = errstr, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        assert_true(n < 1200);
        if (!nl)
            break;
    }
    evbus__config_errors_clear(&errs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_empty_name),
        cmocka_unit_test(test_decode_zero_size_block),
        cmocka_unit_test(test_schema_nul_in_namespace),
        cmocka_unit_test(test_config_long_error_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
