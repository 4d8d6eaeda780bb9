/*
 * The public checks and formatters of evbus.h that tools use to behave as the library does:
 * typed setting values with their defaults, the wire format a conf implies, topic names, full
 * topic names (snprintf-style), W3C trace context, and log lines (text and JSON, cut safely).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <evbus/evbus.h>
#include <jansson.h>

static evbus_conf_t *conf_with(const char *name, const char *value) {
    char err[256];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    if (name)
        assert_int_equal(evbus_conf_set(c, name, value, err, sizeof(err)), EVBUS_CONF_OK);
    return c;
}

static void test_conf_typed_values(void **state) {
    (void)state;
    evbus_conf_t *c = conf_with(NULL, NULL);
    int64_t v = -1;
    int b = -1;
    /* unset: the documented default */
    assert_int_equal(evbus_conf_get_int(c, "queue.full.timeout.ms", &v), EVBUS_OK);
    assert_int_equal(v, 60000);
    assert_int_equal(evbus_conf_get_bool(c, "consumers.enabled", &b), EVBUS_OK);
    assert_int_equal(b, 1);
    assert_int_equal(evbus_conf_get_bool(c, "audit.log", &b), EVBUS_OK);
    assert_int_equal(b, 0);
    /* not integers / booleans, unknown names, unset without default */
    assert_int_equal(evbus_conf_get_int(c, "wire.format", &v), EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_conf_get_bool(c, "wire.format", &b), EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_conf_get_int(c, "no.such.name", &v), EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_conf_get_int(c, "schema.dir", &v), EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_conf_get_int(NULL, "retry.max", &v), EVBUS_ERR_INVALID_ARG);
    evbus_conf_destroy(c);
    /* set: the value */
    c = conf_with("queue.full.timeout.ms", "250");
    assert_int_equal(evbus_conf_get_int(c, "queue.full.timeout.ms", &v), EVBUS_OK);
    assert_int_equal(v, 250);
    evbus_conf_destroy(c);
    c = conf_with("consumers.enabled", "false");
    assert_int_equal(evbus_conf_get_bool(c, "consumers.enabled", &b), EVBUS_OK);
    assert_int_equal(b, 0);
    evbus_conf_destroy(c);
}

static void test_conf_wire_format(void **state) {
    (void)state;
    evbus_conf_t *c = conf_with(NULL, NULL);
    assert_string_equal(evbus_conf_wire_format(c), "single-object"); /* auto, no registry */
    evbus_conf_destroy(c);
    c = conf_with("schema.registry.url", "http://127.0.0.1:1");
    assert_string_equal(evbus_conf_wire_format(c), "confluent"); /* auto, a registry */
    evbus_conf_destroy(c);
    c = conf_with("wire.format", "confluent");
    assert_string_equal(evbus_conf_wire_format(c), "confluent");
    evbus_conf_destroy(c);
}

static void test_topic_names(void **state) {
    (void)state;
    char err[256] = "";
    assert_int_equal(evbus_topic_check("orders.v1_x-y", err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_topic_check("bad topic", err, sizeof(err)), EVBUS_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "illegal character at 3"));
    assert_int_equal(evbus_topic_check("", err, sizeof(err)), EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_topic_check("..", err, sizeof(err)), EVBUS_ERR_INVALID_ARG);
    char longname[251];
    memset(longname, 'a', 250);
    longname[250] = 0;
    assert_int_equal(evbus_topic_check(longname, err, sizeof(err)), EVBUS_ERR_INVALID_ARG);
    longname[249] = 0;
    assert_int_equal(evbus_topic_check(longname, NULL, 0), EVBUS_OK);

    char buf[16];
    assert_int_equal(evbus_topic_full("dev", "orders", buf, sizeof(buf)), 10);
    assert_string_equal(buf, "dev-orders");
    assert_int_equal(evbus_topic_full("", "orders", buf, sizeof(buf)), 6);
    assert_string_equal(buf, "orders");
    assert_int_equal(evbus_topic_full(NULL, "orders", NULL, 0), 6);
    /* cut like snprintf: the length says how much room it needs */
    assert_int_equal(evbus_topic_full("staging", "orders.placed", buf, sizeof(buf)), 21);
    assert_string_equal(buf, "staging-orders.");
}

static void test_trace_context(void **state) {
    (void)state;
    char err[256] = "";
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_int_equal(evbus_trace_check(tp, "vendor=x", err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_trace_check(NULL, NULL, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_trace_check("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                                       NULL, err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    assert_true(err[0] != 0);
    assert_int_equal(evbus_trace_check("00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                                       NULL, err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_trace_check(NULL, "a=\x01", err, sizeof(err)), EVBUS_ERR_INVALID_ARG);
}

static void test_log_format(void **state) {
    (void)state;
    char line[512];
    evbus_log_fields_t f = EVBUS_LOG_FIELDS_INIT;
    f.topic = "orders";
    f.partition = 2;
    f.offset = 17;
    f.ce_type = "org.x.v1";
    int n = evbus_log_format(line, sizeof(line), 0, EVBUS_LOG_WARNING, "consumer", "handler failed", &f);
    assert_int_equal(n, (int)strlen(line));
    assert_non_null(strstr(line, "evbus warning consumer: handler failed ("));
    assert_non_null(strstr(line, "orders"));
    assert_non_null(strstr(line, "17"));
    /* nothing known: no field list */
    n = evbus_log_format(line, sizeof(line), 0, EVBUS_LOG_ERR, "producer", "down", NULL);
    assert_string_equal(line, "evbus error producer: down");
    assert_int_equal(n, (int)strlen("evbus error producer: down"));

    /* JSON: one object; a quote and a control character stay inside their string */
    f.error = "bad \"x\"\n";
    n = evbus_log_format(line, sizeof(line), EVBUS_LOG_FORMAT_JSON, EVBUS_LOG_ERR, "dlq", "m", &f);
    assert_true(n > 0 && (size_t)n < sizeof(line));
    json_error_t je;
    json_t *o = json_loads(line, 0, &je);
    if (!o)
        fail_msg("not JSON: %s: %s", line, je.text);
    assert_string_equal(json_string_value(json_object_get(o, "subsystem")), "dlq");
    assert_string_equal(json_string_value(json_object_get(o, "message")), "m");
    assert_string_equal(json_string_value(json_object_get(o, "error")), "bad \"x\"\n");
    assert_int_equal(json_integer_value(json_object_get(o, "partition")), 2);
    assert_non_null(json_object_get(o, "time"));
    json_decref(o);

    /* cut short like snprintf, NUL-terminated; size 0 only measures */
    char small[8];
    memset(small, 'z', sizeof(small));
    n = evbus_log_format(small, sizeof(small), 0, EVBUS_LOG_ERR, "producer", "down", NULL);
    assert_int_equal(n, (int)strlen("evbus error producer: down"));
    assert_string_equal(small, "evbus e");
    assert_int_equal(evbus_log_format(NULL, 0, 0, EVBUS_LOG_ERR, "producer", "down", NULL), n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_typed_values),
        cmocka_unit_test(test_conf_wire_format),
        cmocka_unit_test(test_topic_names),
        cmocka_unit_test(test_trace_context),
        cmocka_unit_test(test_log_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
