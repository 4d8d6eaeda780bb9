/*
 * Field defaults by Avro's rules (core/avro/codec_default.c and the encoder's default mode): a
 * union's default is a plain value of its first branch at every nesting level, records may
 * leave out fields that have defaults, and the checked default comes out as Avro binary or
 * as natural JSON.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "schema.h"

/* A record R with one field "f" of the given type and default; the schema must parse. */
static evbus__schema_doc_t *field_doc(const char *type, const char *def, const char *extra) {
    char text[2048], err[512];
    snprintf(text, sizeof(text),
             "{\"type\":\"record\",\"name\":\"R\",\"fields\":[%s{\"name\":\"f\",\"type\":%s,"
             "\"default\":%s}]}",
             extra ? extra : "", type, def);
    evbus__schema_doc_t *d = evbus__schema_parse(text, strlen(text), err, sizeof(err));
    if (!d)
        fail_msg("%s: %s", text, err);
    return d;
}

static void field_bad(const char *type, const char *def, const char *want) {
    char text[2048], err[512] = "";
    snprintf(text, sizeof(text),
             "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"f\",\"type\":%s,"
             "\"default\":%s}]}",
             type, def);
    evbus__schema_doc_t *d = evbus__schema_parse(text, strlen(text), err, sizeof(err));
    if (d)
        fail_msg("accepted %s", text);
    if (strcmp(err, want) != 0)
        fail_msg("%s:\n got  %s\n want %s", text, err, want);
}

/* The last field's default: its pre-encoded bytes (hex) and its natural JSON. */
static void assert_default(const evbus__schema_doc_t *d, const char *want_hex,
                           const char *want_json) {
    const evbus__field_t *f = &d->root->fields[d->root->nfields - 1];
    char err[512];
    assert_true(f->has_default);
    assert_non_null(f->default_avro);
    char *h = tu_hex(f->default_avro, f->default_avro_len);
    if (strcmp(h, want_hex) != 0)
        fail_msg("default %s: got %s, want %s", f->default_json, h, want_hex);
    free(h);
    evbus__buf_t j = EVBUS__BUF_INIT;
    if (evbus__avro_default_json(f->type, f->default_json, strlen(f->default_json), &j, err,
                                 sizeof(err)) != EVBUS_OK)
        fail_msg("default_json: %s", err);
    assert_string_equal((const char *)j.data, want_json);
    /* the natural JSON encodes, by natural JSON's rules, to the very bytes of the default */
    evbus__buf_t a = EVBUS__BUF_INIT;
    if (evbus__avro_encode_json(f->type, (const char *)j.data, j.len, &a, err, sizeof(err)) !=
        EVBUS_OK)
        fail_msg("natural JSON %s does not encode: %s", (const char *)j.data, err);
    assert_int_equal(a.len, f->default_avro_len);
    if (a.len)
        assert_memory_equal(a.data, f->default_avro, a.len);
    evbus__buf_free(&a);
    evbus__buf_free(&j);
}

static void check(const char *type, const char *def, const char *want_hex, const char *want_json) {
    evbus__schema_doc_t *d = field_doc(type, def, NULL);
    assert_default(d, want_hex, want_json);
    evbus__schema_doc_destroy(d);
}

static void test_unions_take_first_branch(void **state) {
    (void)state;
    /* a plain union: the default is the first branch's plain value; natural JSON wraps it */
    check("[\"int\",\"string\"]", "1", "0002", "{\"int\":1}");
    check("[\"string\",\"int\"]", "\"x\"", "000278", "{\"string\":\"x\"}");
    check("[\"null\",\"string\"]", "null", "00", "null");
    check("[\"string\",\"null\"]", "\"x\"", "000278", "\"x\"");
    /* not the first branch, even where natural JSON would take it */
    field_bad("[\"null\",\"string\"]", "\"x\"",
              "field 'f': default \"x\" does not match the union's first branch (null): "
              "expected null, got string");
    field_bad("[\"int\",\"null\"]", "null",
              "field 'f': default null does not match the union's first branch (int): "
              "expected int, got null");
    /* the natural-JSON wrapper is not Avro's default encoding */
    field_bad("[\"int\",\"string\"]", "{\"int\":1}",
              "field 'f': default {\"int\":1} does not match the union's first branch (int): "
              "expected int, got object");
    field_bad("[]", "null",
              "field 'f': default null does not match the type: an empty union has no value");
}

static void test_nested_unions(void **state) {
    (void)state;
    static const char inner[] =
        "{\"type\":\"record\",\"name\":\"In\",\"fields\":[{\"name\":\"u\",\"type\":"
        "[\"int\",\"string\"]}]}";
    /* {"u":1}: valid Avro (first branch int) that natural JSON would refuse */
    check(inner, "{\"u\":1}", "0002", "{\"u\":{\"int\":1}}");
    field_bad(inner, "{\"u\":{\"string\":\"x\"}}",
              "field 'f': default {\"u\":{\"string\":\"x\"}} does not match the type: u: expected "
              "int, got object");
    field_bad(inner, "{\"u\":\"x\"}",
              "field 'f': default {\"u\":\"x\"} does not match the type: u: expected int, got "
              "string");
    /* a nullable union inside: only null (its first branch), which natural JSON also takes */
    static const char nullable[] =
        "{\"type\":\"record\",\"name\":\"In\",\"fields\":[{\"name\":\"u\",\"type\":"
        "[\"null\",\"int\"]}]}";
    check(nullable, "{\"u\":null}", "00", "{\"u\":null}");
    field_bad(nullable, "{\"u\":3}",
              "field 'f': default {\"u\":3} does not match the type: u: expected null, got number");
    /* arrays and maps of unions, each item by its first branch */
    check("{\"type\":\"array\",\"items\":[\"long\",\"null\"]}", "[1,-1]", "040002000100",
          "[1,-1]");
    field_bad("{\"type\":\"array\",\"items\":[\"long\",\"null\"]}", "[1,null]",
              "field 'f': default [1,null] does not match the type: [1]: expected long, got null");
    check("{\"type\":\"map\",\"values\":[\"boolean\",\"int\"]}", "{\"k\":true}", "02026b000100",
          "{\"k\":{\"boolean\":true}}");
    check("{\"type\":\"map\",\"values\":\"int\"}", "{}", "00", "{}");
}

static void test_records(void **state) {
    (void)state;
    /* a record default may leave out fields that have defaults (theirs are used), and keys
     * the record does not have are ignored, as Java's parser does */
    static const char rec[] =
        "{\"type\":\"record\",\"name\":\"In\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
        "{\"name\":\"b\",\"type\":[\"string\",\"null\"],\"default\":\"d\"}]}";
    check(rec, "{\"a\":1}", "02000264", "{\"a\":1,\"b\":\"d\"}");
    check(rec, "{\"b\":\"z\",\"a\":2,\"zz\":[1,{}]}", "0400027a", "{\"a\":2,\"b\":\"z\"}");
    field_bad(rec, "{\"b\":\"z\"}",
              "field 'f': default {\"b\":\"z\"} does not match the type: a: missing field (no "
              "default)");
    field_bad(rec, "[]", "field 'f': default [] does not match the type: expected record, got array");
    /* a record's default of its own type, through a union: null first */
    evbus__schema_doc_t *d = field_doc("[\"null\",\"R\"]", "null", "{\"name\":\"v\",\"type\":\"int\"},");
    assert_default(d, "00", "null");
    evbus__schema_doc_destroy(d);
    /* defaults that need each other forever are refused, not looped on */
    char err[512] = "";
    static const char loop[] =
        "{\"type\":\"record\",\"name\":\"A\",\"fields\":[{\"name\":\"b\",\"type\":{\"type\":"
        "\"record\",\"name\":\"B\",\"fields\":[{\"name\":\"a\",\"type\":[\"A\",\"null\"],"
        "\"default\":{}}]},\"default\":{}}]}";
    assert_null(evbus__schema_parse(loop, strlen(loop), err, sizeof(err)));
    assert_non_null(strstr(err, "nesting too deep"));
}

static void test_scalars(void **state) {
    (void)state;
    check("\"null\"", "null", "", "null");
    check("\"boolean\"", "false", "00", "false");
    check("\"int\"", "-2147483648", "ffffffff0f", "-2147483648");
    check("\"long\"", "9223372036854775807", "feffffffffffffffff01", "9223372036854775807");
    check("\"float\"", "1", "0000803f", "1.0");
    check("\"double\"", "-0.5", "000000000000e0bf", "-0.5");
    check("\"string\"", "\"h\\u00e9\"", "0668c3a9", "\"h\xc3\xa9\"");
    check("\"bytes\"", "\"\\u00ff\\u0000\"", "04ff00", "\"\xc3\xbf\\u0000\"");
    check("{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}", "\"ab\"", "6162", "\"ab\"");
    check("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\",\"Y\"]}", "\"Y\"", "02", "\"Y\"");
    field_bad("\"int\"", "1.5",
              "field 'f': default 1.5 does not match the type: expected int, got non-integer "
              "number 1.5");
    field_bad("\"int\"", "\"1\"",
              "field 'f': default \"1\" does not match the type: expected int, got string");
    /* (the message quotes jansson's text of the number, 1.0000000000000001e300) */
    char err[512] = "";
    static const char big[] = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"f\","
                              "\"type\":\"float\",\"default\":1e300}]}";
    assert_null(evbus__schema_parse(big, strlen(big), err, sizeof(err)));
    assert_non_null(strstr(err, "out of range for float"));
    field_bad("\"bytes\"", "\"\\u0100\"",
              "field 'f': default \"\xc4\x80\" does not match the type: code point U+0100 in bytes "
              "(only U+0000..U+00FF stand for bytes)");
    field_bad("{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}", "\"a\"",
              "field 'f': default \"a\" does not match the type: fixed 'F' needs 2 bytes, got 1");
    field_bad("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\"]}", "\"Z\"",
              "field 'f': default \"Z\" does not match the type: unknown symbol \"Z\" for enum 'E'");
    field_bad("\"boolean\"", "\"true\"",
              "field 'f': default \"true\" does not match the type: expected boolean, got string");
}

/* The schema layer alone keeps defaults as text; the encoder still fills a missing field
 * from that text, and the parse with defaults prepared gives the same bytes. */
static void test_types_only_doc(void **state) {
    static const char text[] =
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
        "{\"name\":\"u\",\"type\":[\"int\",\"string\"],\"default\":5}]}";
    char err[512];
    (void)state;
    evbus__schema_doc_t *t = evbus__schema_parse_types(text, strlen(text), err, sizeof(err));
    evbus__schema_doc_t *d = evbus__schema_parse(text, strlen(text), err, sizeof(err));
    assert_non_null(t);
    assert_non_null(d);
    assert_true(t->root->fields[1].has_default);
    assert_null(t->root->fields[1].default_avro);
    assert_string_equal(t->root->fields[1].default_json, "5");
    assert_true(t->fingerprint == d->fingerprint);
    evbus__buf_t a = EVBUS__BUF_INIT, b = EVBUS__BUF_INIT;
    assert_int_equal(evbus__avro_encode_json(t->root, "{\"a\":1}", 7, &a, err, sizeof(err)), 0);
    assert_int_equal(evbus__avro_encode_json(d->root, "{\"a\":1}", 7, &b, err, sizeof(err)), 0);
    char *h = tu_hex(a.data, a.len);
    assert_string_equal(h, "02000a");
    free(h);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    /* a bad default goes unnoticed by the types-only parse, and is refused by the full one */
    static const char bad[] =
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"u\",\"type\":\"int\","
        "\"default\":\"x\"}]}";
    evbus__schema_doc_t *t2 = evbus__schema_parse_types(bad, strlen(bad), err, sizeof(err));
    assert_non_null(t2);
    assert_null(evbus__schema_parse(bad, strlen(bad), err, sizeof(err)));
    evbus__schema_doc_destroy(t2);
    evbus__buf_free(&a);
    evbus__buf_free(&b);
    evbus__schema_doc_destroy(t);
    evbus__schema_doc_destroy(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unions_take_first_branch),
        cmocka_unit_test(test_nested_unions),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_types_only_doc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
