/* JSON <-> Avro codec: every type both ways, errors with paths, garbage input, avro-c cross-check. */
#include "testutil.h"

#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "schema.h"

#define ALL_TYPES_FILE "tests/unit/data/schemas/org.evbus.test.all_types.v1.avsc"

static evbus__schema_doc_t *doc_file(const char *rel, char **textp) {
    char err[512];
    size_t len;
    char *text = evbus__read_file(tu_src_path(rel), &len, err, sizeof(err));
    assert_non_null(text);
    evbus__schema_doc_t *d = evbus__schema_parse(text, len, err, sizeof(err));
    if (!d)
        fail_msg("%s: %s", rel, err);
    if (textp)
        *textp = text;
    else
        free(text);
    return d;
}

/* encode json, expect OK and the given hex */
static void enc_ok(const evbus__schema_t *s, const char *json, const char *want_hex) {
    char err[512] = "";
    evbus__buf_t b = EVBUS__BUF_INIT;
    evbus_err_t e = evbus__avro_encode_json(s, json, strlen(json), &b, err, sizeof(err));
    if (e != EVBUS_OK)
        fail_msg("encode %s: %s", json, err);
    char *h = tu_hex(b.data, b.len);
    assert_string_equal(h, want_hex);
    free(h);
    evbus__buf_free(&b);
}

static void enc_err(const evbus__schema_t *s, const char *json, const char *want_err) {
    char err[512] = "";
    evbus__buf_t b = EVBUS__BUF_INIT;
    assert_non_null(evbus__buf_puts(&b, "keep") == 0 ? &b : NULL);
    evbus_err_t e = evbus__avro_encode_json(s, json, strlen(json), &b, err, sizeof(err));
    if (e == EVBUS_OK)
        fail_msg("encode %s: unexpectedly OK", json);
    assert_int_equal(e, EVBUS_ERR_SCHEMA);
    assert_string_equal(err, want_err);
    /* the buffer is left as it was */
    assert_int_equal(b.len, 4);
    assert_string_equal((char *)b.data, "keep");
    evbus__buf_free(&b);
}

/* decode bytes; returns the malloc'd JSON (NULL on error, err filled) */
static char *dec(const evbus__schema_t *s, const void *p, size_t n, evbus_err_t *ep, char *err,
                 size_t errsz) {
    evbus__buf_t b = EVBUS__BUF_INIT;
    evbus_err_t e = evbus__avro_decode_json(s, p, n, &b, err, errsz);
    if (ep)
        *ep = e;
    if (e != EVBUS_OK) {
        char *r = b.len ? evbus__buf_steal(&b) : NULL;
        evbus__buf_free(&b);
        return r;
    }
    return evbus__buf_steal(&b);
}

/* json -> avro -> json must give back exactly json (written in canonical form) */
static void round_trip(const evbus__schema_t *s, const char *json) {
    char err[512] = "";
    evbus__buf_t b = EVBUS__BUF_INIT;
    if (evbus__avro_encode_json(s, json, strlen(json), &b, err, sizeof(err)) != EVBUS_OK)
        fail_msg("encode %s: %s", json, err);
    evbus_err_t e;
    char *out = dec(s, b.data, b.len, &e, err, sizeof(err));
    if (e != EVBUS_OK)
        fail_msg("decode of %s: %s", json, err);
    assert_string_equal(out, json);
    free(out);
    evbus__buf_free(&b);
}

/*
 * Event data for the all-types fixture and the bytes fastavro 1.13.1 writes for it:
 *   tests/interop/fastavro_check.py encode tests/unit/data/schemas/org.evbus.test.all_types.v1.avsc
 */
static const char *ev1 =
    "{\"n\":null,\"b\":true,\"i\":-2147483648,\"l\":-9223372036854775808,\"f\":1.5,\"d\":0.1,"
    "\"s\":\"h\\u00e9llo \\\"q\\\" \\\\ \\n\\u0001 \\ud83d\\ude00\",\"by\":\"\\u0000\\u00ff\\u0041\","
    "\"e\":\"GREEN\",\"fx\":\"abcd\",\"a\":[1,-1,9223372036854775807],\"m\":{\"k\":\"v\","
    "\"\\u00e9\":\"\"},\"r\":{\"x\":2147483647,\"c\":\"RED\"},\"u\":\"x\",\"u2\":5,\"g\":{"
    "\"org.evbus.other.Inner\":{\"x\":1,\"c\":\"BLUE\"}},\"ts\":1700000000000000,\"dflt_s\":\"s\","
    "\"dflt_u\":null,\"dflt_u2\":null,\"dflt_r\":{\"x\":0,\"c\":\"RED\"},\"dflt_a\":[],"
    "\"dflt_by\":\"\"}";
static const char *ev1_hex =
    "01ffffffff0fffffffffffffffffff010000c03f9a9999999999b93f2868c3a96c6c6f20227122205c200a0120f0"
    "9f98800600ff410261626364060201feffffffffffffffff010004026b027604c3a90000feffffff0f0002027800"
    "0a0602048080f281838985060273000200000000";
/* what evbus decodes ev1 to: schema order, compact, UTF-8 as is, doubles shortest */
static const char *ev1_json =
    "{\"n\":null,\"b\":true,\"i\":-2147483648,\"l\":-9223372036854775808,\"f\":1.5,\"d\":0.1,"
    "\"s\":\"h\xc3\xa9llo \\\"q\\\" \\\\ \\n\\u0001 \xf0\x9f\x98\x80\",\"by\":\"\\u0000\xc3\xbf"
    "A\",\"e\":\"GREEN\",\"fx\":\"abcd\",\"a\":[1,-1,9223372036854775807],\"m\":{\"k\":\"v\","
    "\"\xc3\xa9\":\"\"},\"r\":{\"x\":2147483647,\"c\":\"RED\"},\"u\":\"x\",\"u2\":5,\"g\":{"
    "\"org.evbus.other.Inner\":{\"x\":1,\"c\":\"BLUE\"}},\"ts\":1700000000000000,\"dflt_s\":\"s\","
    "\"dflt_u\":null,\"dflt_u2\":null,\"dflt_r\":{\"x\":0,\"c\":\"RED\"},\"dflt_a\":[],"
    "\"dflt_by\":\"\"}";
static const char *ev2 =
    "{\"n\":null,\"b\":false,\"i\":0,\"l\":0,\"f\":-0.0,\"d\":1e300,\"s\":\"\",\"by\":\"\","
    "\"e\":\"BLUE\",\"fx\":\"\\u0000\\u0001\\u0002\\u0003\",\"a\":[],\"m\":{},\"r\":{\"x\":-1,"
    "\"c\":\"GREEN\"},\"u\":null,\"u2\":null,\"g\":{\"array\":[1,2]},\"ts\":0,\"dflt_s\":\"\","
    "\"dflt_u\":\"y\",\"dflt_u2\":\"z\",\"dflt_r\":{\"x\":1,\"c\":\"GREEN\"},\"dflt_a\":[{\"x\":3,"
    "\"c\":\"RED\"}],\"dflt_by\":\"\\u0080\"}";
static const char *ev2_hex =
    "000000000000809c7500883ce4377e000004000102030000010200020a04020400000002027900027a02020206"
    "00000280";
static const char *ev2_json =
    "{\"n\":null,\"b\":false,\"i\":0,\"l\":0,\"f\":-0.0,\"d\":1e+300,\"s\":\"\",\"by\":\"\","
    "\"e\":\"BLUE\",\"fx\":\"\\u0000\\u0001\\u0002\\u0003\",\"a\":[],\"m\":{},\"r\":{\"x\":-1,"
    "\"c\":\"GREEN\"},\"u\":null,\"u2\":null,\"g\":{\"array\":[1,2]},\"ts\":0,\"dflt_s\":\"\","
    "\"dflt_u\":\"y\",\"dflt_u2\":\"z\",\"dflt_r\":{\"x\":1,\"c\":\"GREEN\"},\"dflt_a\":[{\"x\":3,"
    "\"c\":\"RED\"}],\"dflt_by\":\"\xc2\x80\"}";

static void test_all_types_vs_fastavro(void **state) {
    (void)state;
    evbus__schema_doc_t *d = doc_file(ALL_TYPES_FILE, NULL);
    enc_ok(d->root, ev1, ev1_hex);
    enc_ok(d->root, ev2, ev2_hex);
    round_trip(d->root, ev1_json);
    round_trip(d->root, ev2_json);
    evbus__schema_doc_destroy(d);
}

static void test_field_order_and_defaults(void **state) {
    (void)state;
    evbus__schema_doc_t *d = doc_file(ALL_TYPES_FILE, NULL);
    /* any member order encodes like schema order; missing defaulted fields take the default */
    enc_ok(d->root,
           "{\"dflt_r\":{\"c\":\"RED\",\"x\":0},\"g\":{\"org.evbus.other.Inner\":{\"c\":\"BLUE\","
           "\"x\":1}},\"ts\":1700000000000000,\"u2\":5,\"u\":\"x\",\"r\":{\"c\":\"RED\",\"x\":"
           "2147483647},\"m\":{\"k\":\"v\",\"\\u00e9\":\"\"},\"a\":[1,-1,9223372036854775807],"
           "\"fx\":\"abcd\",\"e\":\"GREEN\",\"by\":\"\\u0000\\u00ff\\u0041\",\"s\":\"h\\u00e9llo "
           "\\\"q\\\" \\\\ \\n\\u0001 \\ud83d\\ude00\",\"d\":0.1,\"f\":1.5,\"l\":"
           "-9223372036854775808,\"i\":-2147483648,\"b\":true,\"n\":null,\"dflt_s\":\"s\","
           "\"dflt_u2\":null,\"dflt_a\":[],\"dflt_by\":\"\"}",
           ev1_hex);
    /* all dflt_* missing: "h\xc3\xa9\x01", null, "x", {7, BLUE}, [], "\xff\x00" */
    char *json = strdup(ev1);
    assert_non_null(json);
    strcpy(strstr(json, ",\"dflt_s\""), "}");
    evbus__buf_t b = EVBUS__BUF_INIT;
    char err[256];
    assert_int_equal(evbus__avro_encode_json(d->root, json, strlen(json), &b, err, sizeof(err)), 0);
    evbus_err_t e;
    char *out = dec(d->root, b.data, b.len, &e, err, sizeof(err));
    assert_int_equal(e, EVBUS_OK);
    assert_non_null(strstr(out, ",\"dflt_s\":\"h\xc3\xa9\\u0001\",\"dflt_u\":null,\"dflt_u2\":\"x\","
                                "\"dflt_r\":{\"x\":7,\"c\":\"BLUE\"},\"dflt_a\":[],"
                                "\"dflt_by\":\"\xc3\xbf\\u0000\"}"));
    free(out);
    free(json);
    evbus__buf_free(&b);
    evbus__schema_doc_destroy(d);
}

static void test_scalars(void **state) {
    (void)state;
    evbus__schema_doc_t *d;
    d = tu_schema_parse("\"int\"");
    enc_ok(d->root, "2147483647", "feffffff0f");
    enc_ok(d->root, " -1 ", "01");
    enc_err(d->root, "2147483648", "2147483648 out of range for int");
    enc_err(d->root, "-2147483649", "-2147483649 out of range for int");
    enc_err(d->root, "1.0", "expected int, got non-integer number 1.0");
    enc_err(d->root, "1e2", "expected int, got non-integer number 1e2");
    enc_err(d->root, "\"1\"", "expected int, got string");
    enc_err(d->root, "01", "invalid JSON at offset 1: trailing characters after the value");
    round_trip(d->root, "-2147483648");
    evbus__schema_doc_destroy(d);

    d = tu_schema_parse("\"long\"");
    enc_ok(d->root, "9223372036854775807", "feffffffffffffffff01");
    enc_ok(d->root, "-9223372036854775808", "ffffffffffffffffff01");
    enc_err(d->root, "9223372036854775808", "9223372036854775808 out of range for long");
    enc_err(d->root, "-9223372036854775809", "-9223372036854775809 out of range for long");
    enc_err(d->root, "99999999999999999999999", "99999999999999999999999 out of range for long");
    enc_err(d->root, "true", "expected long, got boolean");
    round_trip(d->root, "9223372036854775807");
    round_trip(d->root, "-9223372036854775808");
    round_trip(d->root, "0");
    evbus__schema_doc_destroy(d);

    d = tu_schema_parse("\"double\"");
    enc_ok(d->root, "1", "000000000000f03f");
    enc_err(d->root, "NaN", "invalid JSON at offset 0: unexpected character");
    enc_err(d->root, "Infinity", "invalid JSON at offset 0: unexpected character");
    enc_err(d->root, "-Infinity", "invalid JSON at offset 1: bad number");
    enc_err(d->root, "1e999", "1e999 out of range for double");
    enc_err(d->root, "null", "expected double, got null");
    round_trip(d->root, "1.0");
    round_trip(d->root, "-0.0");
    round_trip(d->root, "0.1");
    round_trip(d->root, "1e+300");
    round_trip(d->root, "5e-324"); /* subnormal: the shortest text that reads back, as accepted */
    round_trip(d->root, "-2.5e-320");
    round_trip(d->root, "1.7976931348623157e+308");
    round_trip(d->root, "123456789.125");
    evbus__schema_doc_destroy(d);

    d = tu_schema_parse("\"float\"");
    enc_ok(d->root, "1", "0000803f");
    enc_err(d->root, "1e39", "1e39 out of range for float");
    round_trip(d->root, "0.1");
    round_trip(d->root, "3.4028235e+38");
    round_trip(d->root, "-2.0");
    evbus__schema_doc_destroy(d);

    d = tu_schema_parse("\"boolean\"");
    enc_ok(d->root, "true", "01");
    enc_err(d->root, "tru", "invalid JSON at offset 0: invalid literal");
    enc_err(d->root, "1", "expected boolean, got number");
    evbus__schema_doc_destroy(d);

    d = tu_schema_parse("\"null\"");
    enc_ok(d->root, "null", "");
    enc_err(d->root, "0", "expected null, got number");
    round_trip(d->root, "null");
    evbus__schema_doc_destroy(d);
}

static void test_strings_and_bytes(void **state) {
    (void)state;
    evbus__schema_doc_t *d = tu_schema_parse("\"string\"");
    enc_ok(d->root, "\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\r\\t\"", "16c3a9f09f98802f080c0d09");
    round_trip(d->root, "\"\\b\\f\\n\\r\\t\\u0000\\u001f\\\"\\\\/\x7f\xe2\x80\xa8\"");
    round_trip(d->root, "\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"");
    enc_err(d->root, "\"\\ud83d\"", "invalid JSON at offset 1: high surrogate without low surrogate");
    enc_err(d->root, "\"\\ude00\"", "invalid JSON at offset 1: lone low surrogate in \\u escape");
    enc_err(d->root, "\"\\x\"", "invalid JSON at offset 1: bad escape in string");
    enc_err(d->root, "\"\\u12g4\"", "invalid JSON at offset 1: bad \\u escape");
    enc_err(d->root, "\"a\nb\"", "invalid JSON at offset 2: control character in string");
    enc_err(d->root, "\"\xff\"", "invalid JSON at offset 1: invalid UTF-8 in string");
    enc_err(d->root, "\"\xc0\xaf\"", "invalid JSON at offset 1: invalid UTF-8 in string");
    enc_err(d->root, "\"\xed\xa0\x80\"", "invalid JSON at offset 1: invalid UTF-8 in string");
    enc_err(d->root, "\"abc", "invalid JSON at offset 4: unterminated string");
    enc_err(d->root, "", "invalid JSON at offset 0: unexpected end of input");
    enc_err(d->root, "\"a\" x", "invalid JSON at offset 4: trailing characters after the value");
    /* invalid UTF-8 inside Avro data is a decode error */
    char err[256];
    evbus_err_t e;
    assert_null(dec(d->root, "\x04\xc3\x28", 3, &e, err, sizeof(err)));
    assert_int_equal(e, EVBUS_ERR_DECODE);
    assert_string_equal(err, "invalid UTF-8 in string at byte 1");
    evbus__schema_doc_destroy(d);

    d = tu_schema_parse("\"bytes\"");
    enc_ok(d->root, "\"\\u0000\\u00ff\xc3\xbf\"", "0600ffff");
    enc_err(d->root, "\"\\u0100\"", "code point U+0100 in bytes (only U+0000..U+00FF stand for bytes)");
    round_trip(d->root, "\"\\u0000\\u0001\\\"\\\\ \xc2\x80\xc3\xbf\"");
    evbus__schema_doc_destroy(d);

    d = tu_schema_parse("{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}");
    enc_ok(d->root, "\"\\u00ffa\"", "ff61");
    enc_err(d->root, "\"abc\"", "fixed 'F' needs 2 bytes, got 3");
    enc_err(d->root, "[]", "expected fixed, got array");
    round_trip(d->root, "\"\\n\xc3\xbf\"");
    evbus__schema_doc_destroy(d);

    d = tu_schema_parse("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}");
    enc_ok(d->root, "\"B\"", "02");
    enc_ok(d->root, "\"\\u0041\"", "00");
    enc_err(d->root, "\"C\"", "unknown symbol \"C\" for enum 'E'");
    round_trip(d->root, "\"A\"");
    assert_null(dec(d->root, "\x04", 1, &e, err, sizeof(err)));
    assert_string_equal(err, "enum index 2 out of range (2 symbols)");
    evbus__schema_doc_destroy(d);
}

static const char *invoice_schema =
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"t\",\"fields\":["
    "{\"name\":\"invoice\",\"type\":{\"type\":\"record\",\"name\":\"Invoice\",\"fields\":["
    "{\"name\":\"lines\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":"
    "\"Line\",\"fields\":[{\"name\":\"sku\",\"type\":\"string\"},{\"name\":\"qty\",\"type\":"
    "\"int\"}]}}},{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":{\"type\":\"map\","
    "\"values\":\"long\"}}},{\"name\":\"note\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"g\",\"type\":[\"int\",\"string\",\"Line\"],\"default\":3}]}}]}";

static void test_error_paths(void **state) {
    (void)state;
    evbus__schema_doc_t *d = tu_schema_parse(invoice_schema);
    const evbus__schema_t *s = d->root;
    enc_ok(s, "{\"invoice\":{\"lines\":[{\"sku\":\"a\",\"qty\":1}],\"m\":{}}}", "020261020000000006");
    enc_err(s,
            "{\"invoice\":{\"lines\":[{\"sku\":\"a\",\"qty\":1},{\"sku\":\"b\",\"qty\":2},"
            "{\"sku\":\"c\",\"qty\":\"3\"}],\"m\":{}}}",
            "invoice.lines[2].qty: expected int, got string");
    enc_err(s, "{\"invoice\":{\"lines\":[],\"m\":{\"a\":{\"b\\\"c\":1.5}}}}",
            "invoice.m[\"a\"][\"b\\\"c\"]: expected long, got non-integer number 1.5");
    enc_err(s, "{\"invoice\":{\"lines\":[{\"sku\":\"a\"}],\"m\":{}}}",
            "invoice.lines[0].qty: missing field (no default)");
    enc_err(s, "{\"invoice\":{\"lines\":[],\"m\":{},\"extra\":1}}", "invoice.extra: unknown field");
    enc_err(s, "{\"invoice\":{\"lines\":[],\"lines\":[],\"m\":{}}}", "invoice.lines: duplicate field");
    enc_err(s, "{\"invoice\":{\"m\":{},\"m\":{},\"lines\":[]}}", "invoice.m: duplicate field");
    enc_err(s, "{}", "invoice: missing field (no default)");
    enc_err(s, "[]", "expected record, got array");
    enc_err(s, "{\"invoice\":{\"lines\":[],\"m\":{},\"note\":5}}",
            "invoice.note: expected string, got number");
    enc_err(s, "{\"invoice\":{\"lines\":[],\"m\":{},\"g\":5}}",
            "invoice.g: expected union [int,string,t.Line] as {\"<type>\": value}, got number");
    enc_err(s, "{\"invoice\":{\"lines\":[],\"m\":{},\"g\":{\"long\":5}}}",
            "invoice.g: no branch \"long\" in union");
    enc_err(s, "{\"invoice\":{\"lines\":[],\"m\":{},\"g\":{\"int\":5,\"string\":\"x\"}}}",
            "invoice.g: union value must be an object with one key");
    enc_err(s, "{\"invoice\":{\"lines\":[],\"m\":{},\"g\":{}}}",
            "invoice.g: expected union [int,string,t.Line] as {\"<type>\": value}, got object");
    enc_err(s, "{\"invoice\":{\"lines\":[],\"m\":{},\"g\":{\"t.Line\":{\"sku\":1}}}}",
            "invoice.g.sku: expected string, got number");
    enc_err(s, "{\"invoice\":{\"lines\":[{\"sku\":\"a\",\"qty\":1},],\"m\":{}}}",
            "invoice.lines: invalid JSON at offset 41: value expected after ','");
    enc_err(s, "{\"invoice\":{\"lines\":[],\"m\":{}},}",
            "invalid JSON at offset 31: expected object key string");
    enc_err(s, "{\"invoice\":{\"m\":{\"a\":{\"b\":1 \"c\":2}},\"lines\":[]}}",
            "invoice: invalid JSON at offset 28: expected ',' or '}'");
    /* general unions both ways, and the nullable union */
    round_trip(s, "{\"invoice\":{\"lines\":[{\"sku\":\"a\",\"qty\":-3}],\"m\":{\"x\":{\"y\":1,\"z\":2}},"
                  "\"note\":\"hi\",\"g\":{\"t.Line\":{\"sku\":\"\",\"qty\":0}}}}");
    round_trip(s, "{\"invoice\":{\"lines\":[],\"m\":{},\"note\":null,\"g\":{\"string\":\"s\"}}}");
    round_trip(s, "{\"invoice\":{\"lines\":[],\"m\":{},\"note\":null,\"g\":{\"int\":3}}}");
    evbus__schema_doc_destroy(d);
}

static void test_big_blocks(void **state) {
    (void)state;
    evbus__schema_doc_t *d = tu_schema_parse("{\"type\":\"array\",\"items\":\"long\"}");
    evbus__buf_t in = EVBUS__BUF_INIT, out = EVBUS__BUF_INIT;
    char err[256];
    /* 100 items: the count needs a two-byte varint (c8 01), items are moved up */
    assert_int_equal(evbus__buf_putc(&in, '['), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(evbus__buf_puts(&in, i ? ",1" : "1"), 0);
    assert_int_equal(evbus__buf_putc(&in, ']'), 0);
    assert_int_equal(evbus__avro_encode_json(d->root, (char *)in.data, in.len, &out, err, sizeof(err)),
                     0);
    assert_int_equal(out.len, 103);
    assert_int_equal(out.data[0], 0xc8);
    assert_int_equal(out.data[1], 0x01);
    assert_int_equal(out.data[2], 0x02);
    assert_int_equal(out.data[101], 0x02);
    assert_int_equal(out.data[102], 0x00);
    round_trip(d->root, (char *)in.data);
    /* 100000 items (three-byte count) round trip, appended after existing output */
    evbus__buf_reset(&in);
    evbus__buf_reset(&out);
    assert_int_equal(evbus__buf_puts(&out, "xy"), 0);
    assert_int_equal(evbus__buf_putc(&in, '['), 0);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(evbus__buf_printf(&in, i ? ",%d" : "%d", i - 50000), 0);
    assert_int_equal(evbus__buf_putc(&in, ']'), 0);
    assert_int_equal(evbus__avro_encode_json(d->root, (char *)in.data, in.len, &out, err, sizeof(err)),
                     0);
    assert_memory_equal(out.data, "xy\xc0\x9a\x0c", 5);
    evbus__buf_t back = EVBUS__BUF_INIT;
    assert_int_equal(evbus__avro_decode_json(d->root, out.data + 2, out.len - 2, &back, err,
                                             sizeof(err)), 0);
    assert_int_equal(back.len, in.len);
    assert_memory_equal(back.data, in.data, in.len);
    /* Avro blocks with a negative count (and byte size) decode too: [-1 item, 1 byte] 5 0 */
    evbus__buf_reset(&back);
    assert_int_equal(evbus__avro_decode_json(d->root, "\x01\x02\x0a\x00", 4, &back, err, sizeof(err)),
                     0);
    assert_string_equal((char *)back.data, "[5]");
    evbus__buf_free(&back);
    evbus__buf_free(&in);
    evbus__buf_free(&out);
    evbus__schema_doc_destroy(d);

    d = tu_schema_parse("{\"type\":\"map\",\"values\":\"null\"}");
    round_trip(d->root, "{}");
    round_trip(d->root, "{\"a\":null,\"\":null,\"\xc3\xa9\\n\":null}");
    evbus__schema_doc_destroy(d);
}

static void test_deep_nesting(void **state) {
    (void)state;
    evbus__schema_doc_t *d = tu_schema_parse(
        "{\"type\":\"record\",\"name\":\"Node\",\"fields\":[{\"name\":\"v\",\"type\":\"int\"},"
        "{\"name\":\"next\",\"type\":[\"null\",\"Node\"],\"default\":null}]}");
    evbus__buf_t in = EVBUS__BUF_INIT;
    char err[256];
    /* 60 levels (each level is a record plus a union: depth 120) is fine */
    for (int i = 0; i < 60; i++)
        assert_int_equal(evbus__buf_printf(&in, "{\"v\":%d,\"next\":", i), 0);
    assert_int_equal(evbus__buf_puts(&in, "null"), 0);
    for (int i = 0; i < 60; i++)
        assert_int_equal(evbus__buf_putc(&in, '}'), 0);
    round_trip(d->root, (char *)in.data);
    /* far deeper is an error, not a stack overflow, both ways */
    evbus__buf_reset(&in);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(evbus__buf_puts(&in, "{\"v\":1,\"next\":"), 0);
    evbus__buf_t out = EVBUS__BUF_INIT;
    assert_int_equal(evbus__avro_encode_json(d->root, (char *)in.data, in.len, &out, err, sizeof(err)),
                     EVBUS_ERR_SCHEMA);
    /* a long path keeps its innermost part */
    if (strncmp(err, "...next.next.", 13) != 0 || strlen(err) > 200 ||
        !strstr(err, ": nesting too deep"))
        fail_msg("%s", err);
    /* Avro data: 5000 x (v=1, branch 1) */
    evbus__buf_reset(&out);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(evbus__buf_append(&out, "\x02\x02", 2), 0);
    evbus_err_t e;
    char *j = dec(d->root, out.data, out.len, &e, err, sizeof(err));
    assert_null(j);
    assert_int_equal(e, EVBUS_ERR_DECODE);
    assert_non_null(strstr(err, "nesting too deep"));
    /* deep JSON skipped as an early (out of order) field is bounded too */
    evbus__schema_doc_destroy(d);
    d = tu_schema_parse("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
                 "{\"name\":\"b\",\"type\":{\"type\":\"array\",\"items\":\"int\"}}]}");
    evbus__buf_reset(&in);
    assert_int_equal(evbus__buf_puts(&in, "{\"b\":"), 0);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(evbus__buf_putc(&in, '['), 0);
    assert_int_equal(evbus__avro_encode_json(d->root, (char *)in.data, in.len, &out, err, sizeof(err)),
                     EVBUS_ERR_SCHEMA);
    assert_string_equal(err, "invalid JSON at offset 132: nesting too deep");
    evbus__buf_free(&in);
    evbus__buf_free(&out);
    evbus__schema_doc_destroy(d);
}

static void test_decode_garbage(void **state) {
    (void)state;
    evbus__schema_doc_t *d = doc_file(ALL_TYPES_FILE, NULL);
    evbus__buf_t enc = EVBUS__BUF_INIT, out = EVBUS__BUF_INIT;
    char err[256];
    assert_int_equal(evbus__avro_encode_json(d->root, ev1, strlen(ev1), &enc, err, sizeof(err)), 0);
    /* every truncation fails cleanly */
    for (size_t n = 0; n < enc.len; n++) {
        evbus__buf_reset(&out);
        assert_int_equal(evbus__avro_decode_json(d->root, enc.data, n, &out, err, sizeof(err)),
                         EVBUS_ERR_DECODE);
        assert_int_equal(out.len, 0);
    }
    /* trailing bytes */
    assert_int_equal(evbus__buf_putc(&enc, 0), 0);
    assert_int_equal(evbus__avro_decode_json(d->root, enc.data, enc.len, &out, err, sizeof(err)),
                     EVBUS_ERR_DECODE);
    assert_string_equal(err, "1 trailing bytes after the datum");
    /* random mutations and random bytes never crash (ASan/valgrind watch the rest) */
    srand(12345);
    size_t ok = 0;
    for (int round = 0; round < 20000; round++) {
        unsigned char buf[256];
        size_t n;
        if (round % 2) {
            n = enc.len - 1;
            memcpy(buf, enc.data, n);
            for (int k = 0; k < 1 + round % 4; k++)
                buf[(size_t)rand() % n] = (unsigned char)rand();
        } else {
            n = (size_t)rand() % sizeof(buf);
            for (size_t k = 0; k < n; k++)
                buf[k] = (unsigned char)rand();
        }
        evbus__buf_reset(&out);
        if (evbus__avro_decode_json(d->root, buf, n, &out, err, sizeof(err)) == EVBUS_OK)
            ok++;
    }
    assert_true(ok < 20000);
    /* declared lengths larger than the data */
    d->root = d->root->fields[6].type; /* string */
    assert_int_equal(evbus__avro_decode_json(d->root, "\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10,
                                             &out, err, sizeof(err)),
                     EVBUS_ERR_DECODE);
    assert_string_equal(err, "string length 9223372036854775807 exceeds the 0 bytes left");
    assert_int_equal(evbus__avro_decode_json(d->root, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10,
                                             &out, err, sizeof(err)),
                     EVBUS_ERR_DECODE);
    assert_string_equal(err, "varint too long at byte 9");
    evbus__schema_doc_destroy(d);
    d = tu_schema_parse("{\"type\":\"array\",\"items\":\"null\"}");
    /* an array of a billion nulls: over the budget of zero-size items */
    evbus__buf_reset(&out);
    assert_int_equal(evbus__avro_decode_json(d->root, "\x80\xa8\xd6\xb9\x07\x00", 6, &out, err,
                                             sizeof(err)),
                     EVBUS_ERR_DECODE);
    assert_string_equal(err, "block count 1000000000 exceeds the limit of 131072 items of no size in a datum");
    /* a few nulls are fine */
    assert_int_equal(evbus__avro_decode_json(d->root, "\x06\x00", 2, &out, err, sizeof(err)), 0);
    assert_string_equal((char *)out.data, "[null,null,null]");
    evbus__schema_doc_destroy(d);
    d = tu_schema_parse("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
                 "{\"type\":\"array\",\"items\":\"long\"}},{\"name\":\"u\",\"type\":[\"null\",\"int\"]}]}");
    assert_int_equal(evbus__avro_decode_json(d->root, "\x80\x01", 2, &out, err, sizeof(err)),
                     EVBUS_ERR_DECODE);
    assert_string_equal(err, "a: block count 64 needs at least 64 bytes, 0 left");
    assert_int_equal(evbus__avro_decode_json(d->root, "\x00\x04", 2, &out, err, sizeof(err)),
                     EVBUS_ERR_DECODE);
    assert_string_equal(err, "u: union branch 2 out of range (2 branches)");
    assert_int_equal(evbus__avro_decode_json(d->root, "\x02\x02", 2, &out, err, sizeof(err)),
                     EVBUS_ERR_DECODE);
    assert_string_equal(err, "a: truncated data at byte 2");
    evbus__schema_doc_destroy(d);
    d = tu_schema_parse("\"boolean\"");
    assert_int_equal(evbus__avro_decode_json(d->root, "\x02", 1, &out, err, sizeof(err)),
                     EVBUS_ERR_DECODE);
    assert_string_equal(err, "bad boolean byte 0x02");
    evbus__schema_doc_destroy(d);
    evbus__buf_free(&enc);
    evbus__buf_free(&out);
}

static void test_decode_nonfinite(void **state) {
    (void)state;
    evbus__schema_doc_t *d = tu_schema_parse(
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"x\",\"type\":\"double\"},"
        "{\"name\":\"y\",\"type\":\"float\"}]}");
    evbus__buf_t out = EVBUS__BUF_INIT;
    char err[256];
    /* NaN double, +Inf float: written as null, and reported */
    assert_int_equal(evbus__avro_decode_json(d->root, "\x00\x00\x00\x00\x00\x00\xf8\x7f\x00\x00\x80\x7f",
                                             12, &out, err, sizeof(err)),
                     EVBUS_ERR_DECODE);
    assert_string_equal((char *)out.data, "{\"x\":null,\"y\":null}");
    assert_string_equal(err, "x: double is not finite: written as null");
    evbus__buf_free(&out);
    evbus__schema_doc_destroy(d);
}

/* --- avro-c as the reference reader */

static void avroc_check(const char *schema_json, const char *json, const char *want_avroc_json) {
    char err[512];
    evbus__schema_doc_t *d = tu_schema_parse(schema_json);
    evbus__buf_t b = EVBUS__BUF_INIT;
    if (evbus__avro_encode_json(d->root, json, strlen(json), &b, err, sizeof(err)) != EVBUS_OK)
        fail_msg("%s", err);
    avro_schema_t sch;
    assert_int_equal(avro_schema_from_json_length(schema_json, strlen(schema_json), &sch), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(sch);
    assert_non_null(iface);
    avro_value_t val;
    assert_int_equal(avro_generic_value_new(iface, &val), 0);
    avro_reader_t rd = avro_reader_memory((const char *)b.data, (int64_t)b.len);
    assert_non_null(rd);
    if (avro_value_read(rd, &val) != 0)
        fail_msg("avro-c cannot read our encoding: %s", avro_strerror());
    char *js = NULL;
    assert_int_equal(avro_value_to_json(&val, 1, &js), 0);
    assert_string_equal(js, want_avroc_json);
    free(js);
    /* avro-c writes back exactly our bytes, and we decode avro-c's bytes to our JSON */
    size_t sz;
    assert_int_equal(avro_value_sizeof(&val, &sz), 0);
    assert_int_equal(sz, b.len);
    char *wbuf = malloc(sz + 1);
    assert_non_null(wbuf);
    avro_writer_t wr = avro_writer_memory(wbuf, (int64_t)sz + 1);
    assert_int_equal(avro_value_write(wr, &val), 0);
    assert_int_equal(avro_writer_tell(wr), (int64_t)sz);
    assert_memory_equal(wbuf, b.data, sz);
    evbus__buf_t back = EVBUS__BUF_INIT;
    assert_int_equal(evbus__avro_decode_json(d->root, wbuf, sz, &back, err, sizeof(err)), 0);
    assert_string_equal((char *)back.data, json);
    evbus__buf_free(&back);
    free(wbuf);
    avro_writer_free(wr);
    avro_reader_free(rd);
    avro_value_decref(&val);
    avro_value_iface_decref(iface);
    avro_schema_decref(sch);
    evbus__buf_free(&b);
    evbus__schema_doc_destroy(d);
}

static void test_avroc_cross_check(void **state) {
    (void)state;
    avroc_check("{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"n\",\"fields\":["
                "{\"name\":\"i\",\"type\":\"int\"},{\"name\":\"l\",\"type\":\"long\"},"
                "{\"name\":\"s\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"boolean\"},"
                "{\"name\":\"d\",\"type\":\"double\"},{\"name\":\"n\",\"type\":[\"null\",\"string\"]},"
                "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"
                "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\",\"Y\"]}}]}",
                "{\"i\":-2147483648,\"l\":9223372036854775807,\"s\":\"h\xc3\xa9\\\"\",\"b\":true,"
                "\"d\":2.5,\"n\":\"x\",\"a\":[1,2,3],\"e\":\"Y\"}",
                "{\"i\": -2147483648, \"l\": 9223372036854775807, \"s\": \"h\\u00E9\\\"\", \"b\": true, "
                "\"d\": 2.5, \"n\": {\"string\": \"x\"}, \"a\": [1, 2, 3], \"e\": \"Y\"}");
    avroc_check("{\"type\":\"record\",\"name\":\"R\",\"fields\":["
                "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"long\"}},"
                "{\"name\":\"u\",\"type\":[\"int\",\"string\",\"null\"]},"
                "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}},"
                "{\"name\":\"by\",\"type\":\"bytes\"},{\"name\":\"n\",\"type\":[\"string\",\"null\"]}]}",
                "{\"m\":{\"k\":-1},\"u\":{\"string\":\"z\"},\"f\":\"abc\",\"by\":\"\xc3\xbf\","
                "\"n\":null}",
                "{\"m\": {\"k\": -1}, \"u\": {\"string\": \"z\"}, \"f\": \"abc\", "
                "\"by\": \"\\u00FF\", \"n\": null}");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_types_vs_fastavro),
        cmocka_unit_test(test_field_order_and_defaults),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_strings_and_bytes),
        cmocka_unit_test(test_error_paths),
        cmocka_unit_test(test_big_blocks),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_decode_garbage),
        cmocka_unit_test(test_decode_nonfinite),
        cmocka_unit_test(test_avroc_cross_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
