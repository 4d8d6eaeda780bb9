/*
 * Edge encodings of every primitive and of blocks, decoded from hand-written Avro bytes
 * (Avro spec, "Binary Encoding"): zig-zag extremes, NaN and infinities, empty and long
 * strings, arrays and maps written as several blocks with negative counts and byte sizes,
 * and the block counts the decoder must refuse.
 */
#include "testutil.h"

#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "schema.h"

/*
 * want: the JSON it decodes to; err: NULL, or the error it must give instead.  A value that
 * decodes must encode back, and that encoding must decode to the same JSON.
 */
static const struct {
    const char *schema, *hex, *want, *err;
} cases[] = {
    /* zig-zag: 0, -1, 1, -64, 64 (two bytes), the int and long extremes */
    {"\"int\"", "00", "0", NULL},
    {"\"int\"", "01", "-1", NULL},
    {"\"int\"", "02", "1", NULL},
    {"\"int\"", "7f", "-64", NULL},
    {"\"int\"", "8001", "64", NULL},
    {"\"int\"", "feffffff0f", "2147483647", NULL},
    {"\"int\"", "ffffffff0f", "-2147483648", NULL},
    {"\"int\"", "8080808010", NULL, "int 2147483648 out of range"},
    {"\"long\"", "feffffffffffffffff01", "9223372036854775807", NULL},
    {"\"long\"", "ffffffffffffffffff01", "-9223372036854775808", NULL},
    {"\"long\"", "ffffffffffffffffff02", NULL, "varint too long at byte 9"},
    {"\"long\"", "ffffffffffffffffffff01", NULL, "varint too long at byte 9"},
    {"\"long\"", "ff", NULL, "truncated data at byte 1"},
    /* an over-long varint of a small value still means that value (Java and avro-c read it) */
    {"\"long\"", "8000", "0", NULL},
    /* float and double: signed zero, extremes, subnormals; NaN and infinities are not JSON */
    {"\"float\"", "00000080", "-0.0", NULL},
    {"\"float\"", "ffff7f7f", "3.4028235e+38", NULL},
    {"\"float\"", "01000000", "1e-45", NULL},
    {"\"float\"", "0000c07f", NULL, "float is not finite: written as null"},
    {"\"float\"", "0000807f", NULL, "float is not finite: written as null"},
    {"\"float\"", "000080ff", NULL, "float is not finite: written as null"},
    {"\"float\"", "000080", NULL, "truncated data at byte 0"},
    {"\"double\"", "ffffffffffffef7f", "1.7976931348623157e+308", NULL},
    {"\"double\"", "0100000000000000", "5e-324", NULL},
    {"\"double\"", "000000000000f87f", NULL, "double is not finite: written as null"},
    {"\"double\"", "000000000000f0ff", NULL, "double is not finite: written as null"},
    {"\"double\"", "000000000000f07f", NULL, "double is not finite: written as null"},
    /* boolean: only 0 and 1 */
    {"\"boolean\"", "01", "true", NULL},
    {"\"boolean\"", "ff", NULL, "bad boolean byte 0xff"},
    /* strings and bytes: empty, negative length, longer than the data */
    {"\"string\"", "00", "\"\"", NULL},
    {"\"string\"", "01", NULL, "string length -1 exceeds the 0 bytes left"},
    {"\"string\"", "0461", NULL, "string length 2 exceeds the 1 bytes left"},
    {"\"bytes\"", "00", "\"\"", NULL},
    {"\"bytes\"", "03", NULL, "bytes length -2 exceeds the 0 bytes left"},
    {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":0}", "", "\"\"", NULL},
    /* arrays: several blocks, negative counts followed by byte sizes, in any mix */
    {"{\"type\":\"array\",\"items\":\"int\"}", "030402040606080a00", "[1,2,3,4,5]", NULL},
    {"{\"type\":\"array\",\"items\":\"int\"}", "0202020402060208020a00", "[1,2,3,4,5]", NULL},
    {"{\"type\":\"array\",\"items\":\"int\"}", "01020203040406040a0800", "[1,2,3,5,4]", NULL},
    {"{\"type\":\"array\",\"items\":\"int\"}", "0000", NULL, "1 trailing bytes after the datum"},
    {"{\"type\":\"array\",\"items\":\"int\"}", "0164", NULL, "block size 50 exceeds the 0 bytes left"},
    {"{\"type\":\"array\",\"items\":\"int\"}", "0101", NULL, "block size -1 exceeds the 0 bytes left"},
    {"{\"type\":\"array\",\"items\":\"int\"}", "ffffffffffffffffff0100", NULL, "bad block count"},
    {"{\"type\":\"array\",\"items\":\"int\"}", "0602", NULL,
     "block count 3 needs at least 3 bytes, 1 left"},
    {"{\"type\":\"array\",\"items\":\"double\"}", "04000000000000f03f00", NULL,
     "block count 2 needs at least 16 bytes, 9 left"},
    {"{\"type\":\"array\",\"items\":\"int\"}", "02", NULL, "block count 1 needs at least 1 bytes, 0 left"},
    {"{\"type\":\"array\",\"items\":\"int\"}", "0280", NULL, "[0]: truncated data at byte 2"},
    /* maps: blocks of entries, the key before each value */
    {"{\"type\":\"map\",\"values\":\"long\"}", "030c02610202620400", "{\"a\":1,\"b\":2}", NULL},
    {"{\"type\":\"map\",\"values\":\"long\"}", "020261020202620400", "{\"a\":1,\"b\":2}", NULL},
    {"{\"type\":\"map\",\"values\":\"null\"}", "040261026200", "{\"a\":null,\"b\":null}", NULL},
    {"{\"type\":\"map\",\"values\":\"null\"}", "0c0261026200", NULL,
     "block count 6 needs at least 6 bytes, 5 left"},
    /* items of no size: counted against the per-datum budget, not the bytes */
    {"{\"type\":\"array\",\"items\":\"null\"}", "030000", "[null,null]", NULL},
    {"{\"type\":\"array\",\"items\":\"null\"}", "0300", NULL, "truncated data at byte 2"},
    {"{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"E\",\"fields\":[]}}", "0600",
     "[{},{},{}]", NULL},
    {"{\"type\":\"array\",\"items\":\"null\"}", "feffffffffffffffff0100", NULL,
     "block count 9223372036854775807 exceeds the limit of 131072 items of no size in a datum"},
    /* a union's index, then its branch */
    {"[\"null\",\"int\"]", "0204", "2", NULL},
    {"[\"null\",\"int\"]", "04", NULL, "union branch 2 out of range (2 branches)"},
    {"[\"null\",\"int\"]", "01", NULL, "union branch -1 out of range (2 branches)"},
    {"[]", "00", NULL, "union branch 0 out of range (0 branches)"},
};

static void test_edge_encodings(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char in[64];
        char err[512] = "";
        size_t n = tu_unhex(cases[i].hex, in, sizeof(in));
        evbus__schema_doc_t *d = tu_schema_parse(cases[i].schema);
        evbus__buf_t json = EVBUS__BUF_INIT, avro = EVBUS__BUF_INIT, again = EVBUS__BUF_INIT;
        evbus_err_t e = evbus__avro_decode_json(d->root, in, n, &json, err, sizeof(err));
        if (cases[i].err) {
            if (e == EVBUS_OK)
                fail_msg("case %zu (%s): decoded to %s", i, cases[i].hex, (char *)json.data);
            assert_int_equal(e, EVBUS_ERR_DECODE);
            if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0 &&
                !strstr(err, cases[i].err))
                fail_msg("case %zu (%s): error '%s', want '%s'", i, cases[i].hex, err,
                         cases[i].err);
        } else {
            if (e != EVBUS_OK)
                fail_msg("case %zu (%s): %s", i, cases[i].hex, err);
            assert_string_equal((char *)json.data, cases[i].want);
            if (evbus__avro_encode_json(d->root, (char *)json.data, json.len, &avro, err,
                                        sizeof(err)) != EVBUS_OK)
                fail_msg("case %zu: re-encode: %s", i, err);
            assert_int_equal(evbus__avro_decode_json(d->root, avro.data, avro.len, &again, err,
                                                     sizeof(err)),
                             EVBUS_OK);
            assert_string_equal((char *)again.data, cases[i].want);
        }
        evbus__buf_free(&json);
        evbus__buf_free(&avro);
        evbus__buf_free(&again);
        evbus__schema_doc_destroy(d);
    }
}

/* The expected JSON text of the UTF-8 string s (n bytes), byte by byte: the reference the
 * decoder's word-at-a-time copy must agree with. */
static size_t ref_json_string(const unsigned char *s, size_t n, char *o) {
    static const char hexd[] = "0123456789abcdef";
    char *p = o;
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c == '\n') {
            *p++ = '\\';
            *p++ = 'n';
        } else if (c < 0x20) {
            p += sprintf(p, "\\u00%c%c", hexd[c >> 4], hexd[c & 15]);
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    *p = 0;
    return (size_t)(p - o);
}

/*
 * Strings of 0 to 40 bytes with one byte that is not plain ASCII (to escape, multi-byte UTF-8,
 * invalid UTF-8) at every position, as a string datum and as a map key: the decoder checks and
 * copies 8 bytes per step with an overlapping last word, so every length and position is a
 * different path through it.
 */
static void test_string_word_edges(void **state) {
    (void)state;
    static const struct {
        const char *bytes;
        int valid;
    } specials[] = {{"\"", 1}, {"\\", 1}, {"\n", 1}, {"\x01", 1}, {"\x7f", 1},
                    {"\xc3\xa9", 1}, {"\xe2\x82\xac", 1}, {"\xff", 0}, {"\xc3", 0}};
    evbus__schema_doc_t *ds = tu_schema_parse("\"string\"");
    evbus__schema_doc_t *dm = tu_schema_parse("{\"type\":\"map\",\"values\":\"null\"}");
    for (size_t len = 0; len <= 40; len++) {
        for (size_t sp = 0; sp < sizeof(specials) / sizeof(specials[0]); sp++) {
            size_t sl = strlen(specials[sp].bytes);
            for (size_t at = 0; at <= len; at++) { /* at == len: plain throughout */
                unsigned char str[64], in[80];
                char want[512], wantm[600], err[512] = "";
                size_t n = 0;
                for (size_t i = 0; i < len; i++)
                    str[n++] = (unsigned char)('a' + i % 26);
                if (at < len) {
                    memmove(str + at + sl, str + at, n - at);
                    memcpy(str + at, specials[sp].bytes, sl);
                    n += sl;
                }
                int valid = at == len || specials[sp].valid;
                size_t hl = 0; /* zig-zag length, one byte: n < 64 */
                in[hl++] = (unsigned char)(n * 2);
                memcpy(in + hl, str, n);
                ref_json_string(str, n, want);
                for (int as_key = 0; as_key < 2; as_key++) {
                    evbus__buf_t json = EVBUS__BUF_INIT;
                    unsigned char mk[96];
                    const unsigned char *data = in;
                    size_t dl = hl + n;
                    if (as_key) { /* one block of one entry, the key, a null value, the end */
                        mk[0] = 2;
                        memcpy(mk + 1, in, hl + n);
                        mk[1 + hl + n] = 0;
                        data = mk;
                        dl = hl + n + 2;
                        snprintf(wantm, sizeof(wantm), "{%s:null}", want);
                    }
                    evbus_err_t e = evbus__avro_decode_json(as_key ? dm->root : ds->root, data,
                                                            dl, &json, err, sizeof(err));
                    if (valid) {
                        if (e != EVBUS_OK)
                            fail_msg("len %zu special %zu at %zu key %d: %s", len, sp, at,
                                     as_key, err);
                        assert_string_equal((char *)json.data, as_key ? wantm : want);
                    } else {
                        char msg[128];
                        snprintf(msg, sizeof(msg), "invalid UTF-8 in string at byte %zu",
                                 hl + at + (size_t)as_key);
                        if (e != EVBUS_ERR_DECODE || !strstr(err, msg))
                            fail_msg("len %zu special %zu at %zu key %d: '%s', want '%s'", len,
                                     sp, at, as_key, err, msg);
                    }
                    evbus__buf_free(&json);
                }
            }
        }
    }
    evbus__schema_doc_destroy(ds);
    evbus__schema_doc_destroy(dm);
}

/* A long string (three-byte length) and a long array of zero-size items both ways. */
static void test_long_values(void **state) {
    (void)state;
    char err[256];
    evbus__schema_doc_t *d = tu_schema_parse("\"string\"");
    evbus__buf_t in = EVBUS__BUF_INIT, avro = EVBUS__BUF_INIT, out = EVBUS__BUF_INIT;
    assert_int_equal(evbus__buf_putc(&in, '"'), 0);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(evbus__buf_putc(&in, (unsigned char)('a' + i % 26)), 0);
    assert_int_equal(evbus__buf_putc(&in, '"'), 0);
    assert_int_equal(evbus__avro_encode_json(d->root, (char *)in.data, in.len, &avro, err,
                                             sizeof(err)),
                     EVBUS_OK);
    assert_int_equal(avro.len, 3 + 100000);
    assert_memory_equal(avro.data, "\xc0\x9a\x0c", 3);
    assert_int_equal(evbus__avro_decode_json(d->root, avro.data, avro.len, &out, err, sizeof(err)),
                     EVBUS_OK);
    assert_int_equal(out.len, in.len);
    assert_memory_equal(out.data, in.data, in.len);
    evbus__schema_doc_destroy(d);

    /* exactly the budget of zero-size items decodes and encodes; one more does neither */
    d = tu_schema_parse("{\"type\":\"array\",\"items\":\"null\"}");
    for (int extra = 0; extra <= 1; extra++) {
        size_t count = (size_t)EVBUS__AVRO_MAX_ZERO_ITEMS + (size_t)extra;
        unsigned char blk[16];
        size_t k = 0;
        for (uint64_t z = (uint64_t)count << 1; ; z >>= 7) {
            blk[k++] = (unsigned char)((z & 0x7f) | (z >= 0x80 ? 0x80 : 0));
            if (z < 0x80)
                break;
        }
        blk[k++] = 0;
        evbus__buf_reset(&out);
        evbus_err_t e = evbus__avro_decode_json(d->root, blk, k, &out, err, sizeof(err));
        assert_int_equal(e, extra ? EVBUS_ERR_DECODE : EVBUS_OK);
        evbus__buf_reset(&in);
        evbus__buf_reset(&avro);
        assert_int_equal(evbus__buf_putc(&in, '['), 0);
        for (size_t i = 0; i < count; i++)
            assert_int_equal(evbus__buf_puts(&in, i ? ",null" : "null"), 0);
        assert_int_equal(evbus__buf_putc(&in, ']'), 0);
        e = evbus__avro_encode_json(d->root, (char *)in.data, in.len, &avro, err, sizeof(err));
        if (extra) {
            assert_int_equal(e, EVBUS_ERR_SCHEMA);
            assert_string_equal(err, "[131072]: more than 131072 array items of no encoded "
                                     "size in one value");
        } else {
            assert_int_equal(e, EVBUS_OK);
            assert_int_equal(avro.len, k);
            assert_memory_equal(avro.data, blk, k);
        }
    }
    evbus__schema_doc_destroy(d);
    evbus__buf_free(&in);
    evbus__buf_free(&avro);
    evbus__buf_free(&out);
}

/* avro-c reads hex as one datum of schema: 1 if it does, using every byte. */
static int avroc_reads(const char *schema, const char *hexdata) {
    unsigned char in[64];
    size_t n = tu_unhex(hexdata, in, sizeof(in));
    avro_schema_t s = NULL;
    assert_int_equal(avro_schema_from_json_length(schema, strlen(schema), &s), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(s);
    assert_non_null(iface);
    avro_value_t v;
    assert_int_equal(avro_generic_value_new(iface, &v), 0);
    avro_reader_t r = avro_reader_memory(n ? (const char *)in : "", (int64_t)n);
    char extra;
    int ok = avro_value_read(r, &v) == 0 && avro_read(r, &extra, 1) != 0;
    avro_reader_free(r);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);
    return ok;
}

/*
 * The disagreements with avro-c 1.11 that the differential fuzzer counts and the README
 * lists, pinned: where the spec sides with evbus, avro-c accepts (or refuses) anyway.  If
 * an avro-c upgrade fixes one, this test says so and the README's list shrinks.
 */
static void test_avroc_disagreements(void **state) {
    static const struct {
        const char *schema, *hex, *evbus_err;
        int avroc_accepts;
    } odd[] = {
        /* "a string is encoded as a long followed by that many bytes of UTF-8" */
        {"\"string\"", "02ff", "invalid UTF-8 in string at byte 1", 1},
        /* "a boolean is written as a single byte whose value is either 0 (false) or 1 (true)" */
        {"\"boolean\"", "02", "bad boolean byte 0x02", 1},
        /* "an enum is encoded by an int, representing the zero-based position of the symbol" */
        {"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}", "0a",
         "enum index 5 out of range (2 symbols)", 1},
        /* long is a 64-bit integer: a tenth varint byte holds one bit, avro-c drops the rest */
        {"\"long\"", "ffffffffffffffffff7f", "varint too long at byte 9", 1},
        /* values of no size are valid (fixed "size: an integer, specifying the number of
         * bytes per value"; records with no fields): avro-c fails to allocate them */
        {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":0}", "", NULL, 0},
        {"{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"E\",\"fields\":[]}}",
         "0200", NULL, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        unsigned char in[64];
        char err[256] = "";
        size_t n = tu_unhex(odd[i].hex, in, sizeof(in));
        evbus__schema_doc_t *d = tu_schema_parse(odd[i].schema);
        evbus__buf_t out = EVBUS__BUF_INIT;
        evbus_err_t e = evbus__avro_decode_json(d->root, in, n, &out, err, sizeof(err));
        if (odd[i].evbus_err) {
            assert_int_equal(e, EVBUS_ERR_DECODE);
            assert_string_equal(err, odd[i].evbus_err);
        } else if (e != EVBUS_OK) {
            fail_msg("case %zu: %s", i, err);
        }
        if (avroc_reads(odd[i].schema, odd[i].hex) != odd[i].avroc_accepts)
            fail_msg("case %zu: avro-c now %s it: update the README's list",
                     i, odd[i].avroc_accepts ? "refuses" : "accepts");
        evbus__buf_free(&out);
        evbus__schema_doc_destroy(d);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_encodings),
        cmocka_unit_test(test_long_values),
        cmocka_unit_test(test_string_word_edges),
        cmocka_unit_test(test_avroc_disagreements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
