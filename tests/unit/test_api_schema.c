/*
 * evbus/schema.h, the public schema API, used as an outside tool would: a store over a
 * directory with history/, lookups by type and fingerprint, a schema parsed on its own (same
 * fingerprint as the store's), compatibility both ways with the reason, and the wire framing.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <evbus/schema.h>

#define T1 "org.test.api.order.v1"
#define T2 "org.test.api.alpha.v1"

#define REC(ns, fields) \
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"" ns "\",\"fields\":[" fields "]}"

static const char *V1 = REC(T1, "{\"name\":\"id\",\"type\":\"string\"}");
/* v2 adds a field with a default: each version reads the other's data (FULL) */
static const char *V2 = REC(T1, "{\"name\":\"id\",\"type\":\"string\"},"
                                "{\"name\":\"qty\",\"type\":\"long\",\"default\":1}");
/* v3 adds one without a default: NEW cannot read OLD's data */
static const char *V3 = REC(T1, "{\"name\":\"id\",\"type\":\"string\"},"
                                "{\"name\":\"qty\",\"type\":\"long\"}");
static const char *ALPHA = REC(T2, "{\"name\":\"n\",\"type\":\"int\"}");

static char *g_dir;

static int setup(void **state) {
    (void)state;
    g_dir = tu_mkdtemp();
    free(tu_write_file(g_dir, T1 ".avsc", V2));
    free(tu_write_file(g_dir, T2 ".avsc", ALPHA));
    char hist[1024];
    snprintf(hist, sizeof(hist), "%s/history", g_dir);
    assert_int_equal(mkdir(hist, 0755), 0);
    free(tu_write_file(hist, "order-v1.avsc", V1));
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tu_rm_rf(g_dir);
    free(g_dir);
    return 0;
}

static evbus_schema_store_t *open_store(void) {
    char err[512] = "";
    evbus_schema_store_t *st = evbus_schema_store_new(g_dir, err, sizeof(err));
    if (!st)
        fail_msg("store: %s", err);
    return st;
}

static void test_store_lists_types_and_history(void **state) {
    (void)state;
    evbus_schema_store_t *st = open_store();
    assert_string_equal(evbus_schema_store_dir(st), g_dir);
    assert_int_equal(evbus_schema_store_count(st), 2);
    /* sorted by event type */
    const evbus_schema_t *a = evbus_schema_store_at(st, 0), *o = evbus_schema_store_at(st, 1);
    assert_string_equal(evbus_schema_event_type(a), T2);
    assert_string_equal(evbus_schema_event_type(o), T1);
    assert_null(evbus_schema_store_at(st, 2));
    assert_ptr_equal(evbus_schema_store_get(st, T1), o);
    assert_null(evbus_schema_store_get(st, "org.test.api.none.v1"));
    assert_non_null(strstr(evbus_schema_path(o), T1 ".avsc"));
    assert_non_null(strstr(evbus_schema_json(o), "\"qty\""));
    assert_non_null(strstr(evbus_schema_canonical(o), "\"name\":\"qty\""));

    assert_int_equal(evbus_schema_store_history_count(st), 1);
    const evbus_schema_t *h = evbus_schema_store_history_at(st, 0);
    assert_non_null(h);
    assert_null(evbus_schema_store_history_at(st, 1));
    assert_string_equal(evbus_schema_event_type(h), T1);
    assert_non_null(strstr(evbus_schema_path(h), "history/order-v1.avsc"));
    assert_true(evbus_schema_fingerprint(h) != evbus_schema_fingerprint(o));
    /* by fingerprint: current and history alike */
    assert_ptr_equal(evbus_schema_store_by_fingerprint(st, evbus_schema_fingerprint(h)), h);
    assert_ptr_equal(evbus_schema_store_by_fingerprint(st, evbus_schema_fingerprint(o)), o);
    assert_null(evbus_schema_store_by_fingerprint(st, 0x1234));
    evbus_schema_store_destroy(st);
    evbus_schema_store_destroy(NULL);
}

static void test_store_refuses_a_bad_file(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    free(tu_write_file(dir, T1 ".avsc", "{\"type\":\"record\""));
    char err[512] = "";
    assert_null(evbus_schema_store_new(dir, err, sizeof(err)));
    assert_non_null(strstr(err, T1 ".avsc"));
    tu_rm_rf(dir);
    free(dir);
}

static void test_schema_on_its_own(void **state) {
    (void)state;
    char err[512] = "";
    evbus_schema_store_t *st = open_store();
    evbus_schema_t *s = evbus_schema_new(V2, strlen(V2), err, sizeof(err));
    assert_non_null(s);
    assert_string_equal(evbus_schema_event_type(s), T1);
    assert_null(evbus_schema_path(s));
    /* the fingerprint is of the canonical form: the same as the store's for the same schema */
    assert_true(evbus_schema_fingerprint(s) == evbus_schema_fingerprint(evbus_schema_store_get(st, T1)));
    assert_string_equal(evbus_schema_canonical(s), evbus_schema_canonical(evbus_schema_store_get(st, T1)));
    evbus_schema_destroy(s);
    evbus_schema_destroy(NULL);

    /* text need not be NUL-terminated: only len bytes are read */
    char buf[256];
    const char *plain = "\"string\"";
    memcpy(buf, plain, strlen(plain));
    memset(buf + strlen(plain), 'x', 10);
    s = evbus_schema_new(buf, strlen(plain), err, sizeof(err));
    assert_non_null(s);
    assert_null(evbus_schema_event_type(s)); /* not a record: no namespace */
    assert_string_equal(evbus_schema_canonical(s), "\"string\"");
    evbus_schema_destroy(s);

    err[0] = 0;
    assert_null(evbus_schema_new("{\"type\":\"nope\"}", 15, err, sizeof(err)));
    assert_true(err[0] != 0);
    evbus_schema_store_destroy(st);
}

static void test_compat_both_ways(void **state) {
    (void)state;
    char err[512];
    evbus_schema_t *v1 = evbus_schema_new(V1, strlen(V1), err, sizeof(err));
    evbus_schema_t *v2 = evbus_schema_new(V2, strlen(V2), err, sizeof(err));
    evbus_schema_t *v3 = evbus_schema_new(V3, strlen(V3), err, sizeof(err));
    evbus_schema_t *alpha = evbus_schema_new(ALPHA, strlen(ALPHA), err, sizeof(err));
    assert_true(v1 && v2 && v3 && alpha);
    /* a default makes it FULL */
    assert_int_equal(evbus_schema_compat(v1, v2, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_schema_compat(v2, v1, err, sizeof(err)), EVBUS_OK);
    /* no default: v3 cannot read v1's data, v1 reads v3's (the extra field is skipped) */
    err[0] = 0;
    assert_int_equal(evbus_schema_compat(v1, v3, err, sizeof(err)), EVBUS_ERR_SCHEMA);
    assert_non_null(strstr(err, "qty"));
    assert_int_equal(evbus_schema_compat(v3, v1, err, sizeof(err)), EVBUS_OK);
    /* different records altogether */
    assert_int_equal(evbus_schema_compat(v1, alpha, err, sizeof(err)), EVBUS_ERR_SCHEMA);
    assert_int_equal(evbus_schema_compat(NULL, v1, err, sizeof(err)), EVBUS_ERR_INVALID_ARG);
    /* a store's schema and one of our own compare alike */
    evbus_schema_store_t *st = open_store();
    assert_int_equal(evbus_schema_compat(evbus_schema_store_history_at(st, 0), v3, err, sizeof(err)),
                     EVBUS_ERR_SCHEMA);
    assert_int_equal(evbus_schema_compat(evbus_schema_store_history_at(st, 0),
                                         evbus_schema_store_get(st, T1), err, sizeof(err)),
                     EVBUS_OK);
    evbus_schema_store_destroy(st);
    evbus_schema_destroy(v1);
    evbus_schema_destroy(v2);
    evbus_schema_destroy(v3);
    evbus_schema_destroy(alpha);
}

static void test_framing(void **state) {
    (void)state;
    char err[256];
    int framing = 0;
    uint64_t fp = 1;
    int32_t id = 0;
    size_t hdr = 0;
    /* single-object: C3 01 + little-endian fingerprint */
    const unsigned char so[] = {0xC3, 0x01, 0x8f, 0x5c, 0x39, 0x3f, 0x1a, 0xd5, 0x75, 0x72, 0x02};
    assert_int_equal(evbus_framing_parse(so, sizeof(so), &framing, &fp, &id, &hdr, err, sizeof(err)),
                     EVBUS_OK);
    assert_int_equal(framing, EVBUS_FRAMING_SINGLE_OBJECT);
    assert_true(fp == 0x7275d51a3f395c8fULL);
    assert_int_equal(id, -1);
    assert_int_equal(hdr, 10);
    /* Confluent: 00 + big-endian id */
    const unsigned char cf[] = {0x00, 0x00, 0x00, 0x01, 0x02, 0x06, 0x61};
    assert_int_equal(evbus_framing_parse(cf, sizeof(cf), &framing, &fp, &id, &hdr, err, sizeof(err)),
                     EVBUS_OK);
    assert_int_equal(framing, EVBUS_FRAMING_CONFLUENT);
    assert_int_equal(id, 258);
    assert_true(fp == 0);
    assert_int_equal(hdr, 5);
    /* out-pointers may be NULL */
    assert_int_equal(evbus_framing_parse(cf, sizeof(cf), NULL, NULL, NULL, NULL, NULL, 0), EVBUS_OK);
    /* anything else, or cut short */
    err[0] = 0;
    assert_int_equal(evbus_framing_parse("{}", 2, &framing, NULL, NULL, NULL, err, sizeof(err)),
                     EVBUS_ERR_DECODE);
    assert_true(err[0] != 0);
    assert_int_equal(evbus_framing_parse(so, 5, NULL, NULL, NULL, NULL, NULL, 0), EVBUS_ERR_DECODE);
    assert_int_equal(evbus_framing_parse(NULL, 0, NULL, NULL, NULL, NULL, NULL, 0), EVBUS_ERR_DECODE);
}

static void test_encode_decode(void **state) {
    (void)state;
    char err[512] = "";
    evbus_schema_t *v2 = evbus_schema_new(V2, strlen(V2), err, sizeof(err));
    assert_non_null(v2);
    unsigned char out[256];
    char json[256];
    size_t n = 0, m = 0;
    /* the missing field takes its default; back to JSON it is there */
    const char *in = "{\"id\":\"a\"}";
    assert_int_equal(evbus_schema_encode_json(v2, in, strlen(in), 0, out, sizeof(out), &n, err, sizeof(err)),
                     EVBUS_OK);
    assert_int_equal(n, 3); /* "a": length 1 zigzag (0x02) + 'a'; qty 1 zigzag (0x02) */
    assert_int_equal(evbus_schema_decode_json(v2, out, n, json, sizeof(json), &m, err, sizeof(err)),
                     EVBUS_OK);
    assert_string_equal(json, "{\"id\":\"a\",\"qty\":1}");
    assert_int_equal(m, strlen(json));

    /* framed: the header is the schema's own fingerprint */
    size_t nf = 0, hdr = 0;
    uint64_t fp = 0;
    assert_int_equal(evbus_schema_encode_json(v2, in, strlen(in), EVBUS_ENCODE_SINGLE_OBJECT, out,
                                              sizeof(out), &nf, err, sizeof(err)),
                     EVBUS_OK);
    assert_int_equal(nf, n + 10);
    assert_int_equal(evbus_framing_parse(out, nf, NULL, &fp, NULL, &hdr, NULL, 0), EVBUS_OK);
    assert_true(fp == evbus_schema_fingerprint(v2));
    assert_int_equal(hdr, 10);

    /* too little room: told how much, and it works with that much */
    assert_int_equal(evbus_schema_encode_json(v2, in, strlen(in), 0, out, 2, &n, err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    assert_int_equal(n, 3);
    assert_int_equal(evbus_schema_encode_json(v2, in, strlen(in), 0, out, n, &n, err, sizeof(err)),
                     EVBUS_OK);
    assert_int_equal(evbus_schema_decode_json(v2, out, n, json, 5, &m, err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    assert_int_equal(m, strlen("{\"id\":\"a\",\"qty\":1}"));

    /* data that does not fit the schema, bytes that are not a datum */
    err[0] = 0;
    assert_int_equal(evbus_schema_encode_json(v2, "{\"id\":5}", 8, 0, out, sizeof(out), NULL, err,
                                              sizeof(err)),
                     EVBUS_ERR_SCHEMA);
    assert_non_null(strstr(err, "id"));
    assert_int_equal(evbus_schema_encode_json(v2, "{\"id\":\"a\",\"x\":1}", 16, 0, out, sizeof(out),
                                              NULL, err, sizeof(err)),
                     EVBUS_ERR_SCHEMA);
    const unsigned char bad[] = {0x7f};
    assert_int_equal(evbus_schema_decode_json(v2, bad, sizeof(bad), json, sizeof(json), NULL, err,
                                              sizeof(err)),
                     EVBUS_ERR_DECODE);
    assert_int_equal(evbus_schema_encode_json(NULL, in, strlen(in), 0, out, sizeof(out), NULL, NULL, 0),
                     EVBUS_ERR_INVALID_ARG);
    evbus_schema_destroy(v2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_lists_types_and_history),
        cmocka_unit_test(test_store_refuses_a_bad_file),
        cmocka_unit_test(test_schema_on_its_own),
        cmocka_unit_test(test_compat_both_ways),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_encode_decode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
