/* evbus_event_t: accessors, lazy JSON decode, key decoding, recorded problems. */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "event_int.h" /* the test looks at the lazy state */
#include "framing.h"
#include "registry.h"
#include "schema.h"
#include "testutil.h"

#define TYPE "org.evbus.test.consumer.v1"

static evbus__schema_store_t *g_store;

static int setup(void **state) {
    (void)state;
    char err[256];
    g_store = evbus__schema_store_new(tu_src_path("tests/integration/data/consumer"), err, sizeof(err));
    if (!g_store)
        fprintf(stderr, "schema store: %s\n", err);
    return g_store ? 0 : -1;
}
static int teardown(void **state) {
    (void)state;
    evbus__schema_store_destroy(g_store);
    return 0;
}

/* Single-object framed Avro of json against schema doc. */
static void encode(const evbus__schema_doc_t *doc, const char *json, evbus__buf_t *out) {
    char err[256];
    assert_int_equal(evbus__framing_write_single(out, doc->fingerprint), 0);
    assert_int_equal(evbus__avro_encode_json(doc->root, json, strlen(json), out, err, sizeof(err)), EVBUS_OK);
}

static void test_json_event(void **state) {
    (void)state;
    evbus_event_t *ev = evbus__event_new_json("t.x", NULL, "{\"a\":1}", 7);
    assert_non_null(ev);
    assert_string_equal(evbus_event_type(ev), "t.x");
    assert_int_equal(strlen(evbus_event_id(ev)), 36);
    size_t len = 0;
    assert_string_equal(evbus_event_json(ev, &len), "{\"a\":1}");
    assert_int_equal(len, 7);
    assert_null(evbus_event_error(ev));
    assert_null(evbus_event_key(ev));
    assert_null(evbus_event_topic(ev));
    assert_int_equal(evbus_event_partition(ev), -1);
    assert_int_equal(evbus_event_offset(ev), -1);
    assert_int_equal(evbus__event_problem(ev, NULL), EVBUS_OK);
    /* references: the event lives until the last one is dropped */
    assert_ptr_equal(evbus__event_ref(ev), ev);
    evbus__event_destroy(ev);
    assert_string_equal(evbus_event_type(ev), "t.x");
    evbus__event_destroy(ev);
    /* NULL-safe accessors */
    assert_null(evbus_event_type(NULL));
    assert_null(evbus_event_json(NULL, NULL));
    assert_int_equal(evbus_event_partition(NULL), -1);
}

static void test_lazy_decode(void **state) {
    (void)state;
    const evbus__schema_entry_t *e = evbus__schema_store_get(g_store, TYPE);
    assert_non_null(e);
    evbus__buf_t v = EVBUS__BUF_INIT;
    encode(e->doc, "{\"id\":\"x1\",\"n\":42}", &v);
    evbus__event_init_t in = {.type = TYPE, .id = "id1", .topic = "tp", .partition = 3, .offset = 17,
                              .timestamp = 1234, .value = v.data, .value_len = v.len};
    evbus_event_t *ev = evbus__event_new(&in, g_store, NULL);
    assert_non_null(ev);
    assert_int_equal(evbus__event_add_header(ev, "ce_type", TYPE, strlen(TYPE)), 0);
    assert_int_equal(evbus__event_add_header(ev, "bin", "a\0b", 3), 0);
    assert_int_equal(evbus__event_add_header(ev, "ce_type", "second", 6), 0);
    assert_int_equal(ev->json_done, 0); /* nothing decoded before it is asked for */
    assert_int_equal(evbus__event_check_value(ev, NULL, 0), EVBUS_OK);
    assert_int_equal(ev->json_done, 0);
    size_t len;
    const char *j = evbus_event_json(ev, &len);
    assert_non_null(j);
    assert_string_equal(j, "{\"id\":\"x1\",\"n\":42,\"action\":\"ok\"}");
    assert_ptr_equal(evbus_event_json(ev, NULL), j); /* cached */
    assert_string_equal(evbus_event_header(ev, "ce_type"), TYPE); /* first occurrence */
    assert_null(evbus_event_header(ev, "nope"));
    /* Iteration sees every header in message order, duplicates and embedded NULs included. */
    assert_int_equal(evbus_event_header_count(ev), 3);
    const char *hn, *hv;
    size_t hl;
    assert_int_equal(evbus_event_header_at(ev, 1, &hn, &hv, &hl), EVBUS_OK);
    assert_string_equal(hn, "bin");
    assert_int_equal(hl, 3);
    assert_memory_equal(hv, "a\0b", 3);
    assert_int_equal(evbus_event_header_at(ev, 2, &hn, &hv, NULL), EVBUS_OK);
    assert_string_equal(hn, "ce_type");
    assert_string_equal(hv, "second");
    assert_int_equal(evbus_event_header_at(ev, 3, &hn, &hv, &hl), EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_event_header_count(NULL), 0);
    assert_int_equal(evbus_event_partition(ev), 3);
    assert_int_equal(evbus_event_offset(ev), 17);
    assert_int_equal(evbus_event_timestamp(ev), 1234);
    size_t vlen;
    const void *raw = evbus_event_value(ev, &vlen);
    assert_int_equal(vlen, v.len);
    assert_memory_equal(raw, v.data, v.len);
    evbus__event_destroy(ev);
    evbus__buf_free(&v);
}

static void test_bad_values(void **state) {
    (void)state;
    char err[256];
    /* bad framing */
    evbus__event_init_t in = {.type = TYPE, .id = "i", .value = "garbage!!!!", .value_len = 11};
    evbus_event_t *ev = evbus__event_new(&in, g_store, NULL);
    assert_non_null(ev);
    assert_int_equal(evbus__event_check_value(ev, err, sizeof(err)), EVBUS_ERR_DECODE);
    assert_null(evbus_event_json(ev, NULL));
    assert_non_null(evbus_event_error(ev));
    assert_true(evbus__event_json_failed(ev));
    evbus__event_destroy(ev);
    /* unknown fingerprint */
    evbus__buf_t v = EVBUS__BUF_INIT;
    assert_int_equal(evbus__framing_write_single(&v, 0x1234567890ULL), 0);
    assert_int_equal(evbus__buf_append(&v, "\x02x\x02", 3), 0);
    in.value = v.data;
    in.value_len = v.len;
    ev = evbus__event_new(&in, g_store, NULL);
    assert_non_null(ev);
    assert_int_equal(evbus__event_check_value(ev, err, sizeof(err)), EVBUS_ERR_SCHEMA);
    assert_non_null(strstr(err, "fingerprint"));
    assert_null(evbus_event_json(ev, NULL));
    evbus__event_destroy(ev);
    /* Confluent framing without a registry */
    evbus__buf_reset(&v);
    assert_int_equal(evbus__framing_write_confluent(&v, 7), 0);
    assert_int_equal(evbus__buf_append(&v, "\x02x\x02", 3), 0);
    in.value = v.data;
    in.value_len = v.len;
    ev = evbus__event_new(&in, g_store, NULL);
    assert_non_null(ev);
    /* a setting missing in this process, not a registry that may come back: permanent */
    assert_int_equal(evbus__event_check_value(ev, err, sizeof(err)), EVBUS_ERR_CONFIG);
    assert_false(evbus__registry_err_transient(EVBUS_ERR_CONFIG));
    assert_non_null(strstr(err, "no schema registry configured"));
    evbus__event_destroy(ev);
    /* known fingerprint, truncated payload */
    const evbus__schema_entry_t *e = evbus__schema_store_get(g_store, TYPE);
    evbus__buf_reset(&v);
    assert_int_equal(evbus__framing_write_single(&v, e->doc->fingerprint), 0);
    assert_int_equal(evbus__buf_append(&v, "\x08", 1), 0);
    in.value = v.data;
    in.value_len = v.len;
    ev = evbus__event_new(&in, g_store, NULL);
    assert_non_null(ev);
    assert_int_equal(evbus__event_check_value(ev, NULL, 0), EVBUS_OK);
    assert_null(evbus_event_json(ev, NULL));
    assert_non_null(evbus_event_error(ev));
    evbus__event_destroy(ev);
    /* a known schema, but of another type than the message's ce_type */
    in.type = "org.evbus.test.other.v1";
    ev = evbus__event_new(&in, g_store, NULL);
    assert_non_null(ev);
    assert_int_equal(evbus__event_check_value(ev, err, sizeof(err)), EVBUS_ERR_SCHEMA);
    assert_non_null(strstr(err, "schema mismatch"));
    assert_non_null(strstr(err, TYPE ".CloudEvent"));
    assert_non_null(strstr(err, "ce_type org.evbus.test.other.v1"));
    evbus__event_destroy(ev);
    /* a type whose name is a prefix of the schema's namespace is not that type */
    in.type = "org.evbus.test";
    ev = evbus__event_new(&in, g_store, NULL);
    assert_non_null(ev);
    assert_int_equal(evbus__event_check_value(ev, err, sizeof(err)), EVBUS_ERR_SCHEMA);
    evbus__event_destroy(ev);
    evbus__buf_free(&v);
}

static void key_of(const char *schema, const char *json, const char *want) {
    char err[256];
    evbus__schema_doc_t *doc = evbus__schema_parse(schema, strlen(schema), err, sizeof(err));
    assert_non_null(doc);
    evbus__buf_t k = EVBUS__BUF_INIT;
    encode(doc, json, &k);
    char *got = evbus__key_decode(k.data, k.len, NULL);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
    evbus__buf_free(&k);
    evbus__schema_doc_destroy(doc);
}

static void test_keys(void **state) {
    (void)state;
    key_of("\"string\"", "\"course-v1:edX+X+2024\"", "course-v1:edX+X+2024");
    key_of("\"long\"", "12345", "12345");
    key_of("\"boolean\"", "true", "true");
    /* undecodable: raw text if UTF-8, else NULL */
    char *k = evbus__key_decode("plain-key", 9, NULL);
    assert_string_equal(k, "plain-key");
    free(k);
    assert_null(evbus__key_decode("\xff\xfe", 2, NULL));
    assert_null(evbus__key_decode("a\0b", 3, NULL));
    assert_null(evbus__key_decode(NULL, 0, NULL));
    /* lazily through the accessor */
    evbus__event_init_t in = {.type = "t", .id = "i", .key_raw = "\xc3\xa9t\xc3\xa9", .key_raw_len = 5};
    evbus_event_t *ev = evbus__event_new(&in, NULL, NULL);
    assert_non_null(ev);
    assert_string_equal(evbus_event_key(ev), "\xc3\xa9t\xc3\xa9");
    evbus__event_destroy(ev);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_event),
        cmocka_unit_test(test_lazy_decode),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
