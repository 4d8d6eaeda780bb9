/* Key paths in event JSON text and in schemas. */
#include "testutil.h"

#include <string.h>

#include "keypath.h"

static void find_ok(const char *json, const char *path, const char *want) {
    const char *v = NULL;
    size_t n = 0;
    char err[256];
    evbus_err_t e = evbus__keypath_find_json(json, strlen(json), path, &v, &n, err, sizeof(err));
    if (e != EVBUS_OK)
        fail_msg("%s in %s: %s", path, json, err);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(v, want, n);
    assert_true(v >= json && v + n <= json + strlen(json));
}

static void find_err(const char *json, const char *path, evbus_err_t code, const char *want) {
    const char *v = NULL;
    size_t n = 0;
    char err[256];
    assert_int_equal(evbus__keypath_find_json(json, strlen(json), path, &v, &n, err, sizeof(err)),
                     code);
    assert_string_equal(err, want);
}

static void test_find_json(void **state) {
    (void)state;
    const char *ev = "{\"n\":[1,{\"x\":2}],\"user\": {\"id\":12,\"pii\" : {\"username\":\"ann\\\"e\","
                     "\"email\":null}},\"k\\u0065y\":\"v\",\"a.b\":1,\"t\":true}";
    find_ok(ev, "user.pii.username", "\"ann\\\"e\"");
    find_ok(ev, "user.id", "12");
    find_ok(ev, "user.pii", "{\"username\":\"ann\\\"e\",\"email\":null}");
    find_ok(ev, "key", "\"v\""); /* escapes in keys are compared unescaped */
    find_ok(ev, "t", "true");
    find_ok(" { \"a\" : { \"b\" : -1.5e3 } } ", "a.b", "-1.5e3");
    find_err(ev, "user.pii.email", EVBUS_ERR_KEY, "key path 'user.pii.email': 'email' is null");
    find_err(ev, "user.name", EVBUS_ERR_KEY, "key path 'user.name': 'name' missing");
    find_err(ev, "nope.x", EVBUS_ERR_KEY, "key path 'nope.x': 'nope' missing");
    find_err(ev, "user.id.x", EVBUS_ERR_KEY, "key path 'user.id.x': 'user.id' is not an object");
    find_err(ev, "n.x", EVBUS_ERR_KEY, "key path 'n.x': 'n' is not an object");
    find_err(ev, "a.b", EVBUS_ERR_KEY, "key path 'a.b': 'a' missing");
    find_err("{\"a\":null}", "a.b", EVBUS_ERR_KEY, "key path 'a.b': 'a' is null");
    find_err("[1]", "a", EVBUS_ERR_KEY, "key path 'a': event data is not an object");
    find_err("{\"a\":1", "b", EVBUS_ERR_SCHEMA,
             "key path 'b': invalid JSON at offset 6: unterminated object");
    find_err("{\"x\":[1,}", "b", EVBUS_ERR_SCHEMA,
             "key path 'b': invalid JSON at offset 8: unexpected character");
    find_err("{\"a\":tru}", "a", EVBUS_ERR_SCHEMA,
             "key path 'a': invalid JSON at offset 5: invalid literal");
    find_err("{}", "", EVBUS_ERR_KEY, "empty key path");
}

static const char *schema =
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"t.v1\",\"fields\":["
    "{\"name\":\"user\",\"type\":{\"type\":\"record\",\"name\":\"U\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"pii\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"P\",\"fields\":["
    "{\"name\":\"username\",\"type\":[\"string\",\"null\"]}]}]},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
    "{\"name\":\"g\",\"type\":[\"int\",\"string\"]},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}}]}}]}";

static void test_resolve_schema(void **state) {
    (void)state;
    char err[256];
    evbus__schema_doc_t *d = evbus__schema_parse(schema, strlen(schema), err, sizeof(err));
    assert_non_null(d);
    const evbus__schema_t *n = evbus__keypath_resolve_schema(d->root, "user.pii.username", err,
                                                             sizeof(err));
    assert_non_null(n);
    assert_int_equal(n->kind, EVBUS__AVRO_STRING);
    n = evbus__keypath_resolve_schema(d->root, "user.id", err, sizeof(err));
    assert_non_null(n);
    assert_int_equal(n->kind, EVBUS__AVRO_LONG);
    n = evbus__keypath_resolve_schema(d->root, "user.e", err, sizeof(err));
    assert_non_null(n);
    assert_int_equal(n->kind, EVBUS__AVRO_ENUM);
    static const struct {
        const char *path, *err;
    } bad[] = {
        {"user", "key path 'user' ends on a record, not on a scalar field"},
        {"user.pii", "key path 'user.pii' ends on a record, not on a scalar field"},
        {"user.tags", "key path 'user.tags' ends on an array, not on a scalar field"},
        {"user.g", "key path 'user.g' ends on a union, not on a scalar field"},
        {"nope", "key path 'nope': no field 'nope' in record 't.v1.CloudEvent'"},
        {"user.pii.email", "key path 'user.pii.email': no field 'email' in record 'user.pii'"},
        {"user.id.x", "key path 'user.id.x': 'user.id' is a long, not a record"},
        {"user.tags.x", "key path 'user.tags.x': 'user.tags' is an array, not a record"},
        {"", "empty key path"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(evbus__keypath_resolve_schema(d->root, bad[i].path, err, sizeof(err)));
        assert_string_equal(err, bad[i].err);
    }
    evbus__schema_doc_destroy(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_json),
        cmocka_unit_test(test_resolve_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
