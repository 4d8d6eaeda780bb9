/* Operating building blocks: log line formats (JSON lines that always parse), Prometheus label
 * escaping, bounded label cardinality, cumulative histograms, W3C trace context checks. */
#include "testutil.h"

#include <jansson.h>
#include <string.h>

#include "headers.h"
#include "log.h"
#include "metrics.h"

static void test_json_line_parses(void **state) {
    (void)state;
    /* Quotes, backslashes, control characters and invalid UTF-8 in every string field. */
    const char *nasty = "a\"b\\c\nd\te\x01 \xff\xc3(\xe2\x82\xac ok";
    evbus_log_fields_t f = EVBUS__LOG_FIELDS_INIT;
    f.topic = nasty;
    f.partition = 3;
    f.offset = 42;
    f.ce_type = "org.x.v1";
    f.ce_id = nasty;
    f.handler = "h";
    f.attempt = 2;
    f.error = nasty;
    evbus__buf_t b = EVBUS__BUF_INIT;
    assert_int_equal(evbus__log_format(&b, 1, EVBUS_LOG_WARNING, "consumer", nasty, &f), 0);
    json_error_t je;
    json_t *o = json_loadb((const char *)b.data, b.len, 0, &je);
    if (!o)
        fail_msg("not JSON (%s): %s", je.text, b.data);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "warning");
    assert_int_equal(json_integer_value(json_object_get(o, "partition")), 3);
    assert_int_equal(json_integer_value(json_object_get(o, "offset")), 42);
    assert_int_equal(json_integer_value(json_object_get(o, "attempt")), 2);
    assert_string_equal(json_string_value(json_object_get(o, "handler")), "h");
    /* Valid text survives unchanged up to the first invalid byte. */
    assert_memory_equal(json_string_value(json_object_get(o, "message")), "a\"b\\c\nd\te\x01 ", 11);
    assert_non_null(strstr(json_string_value(json_object_get(o, "message")), "\xe2\x82\xac ok"));
    const char *t = json_string_value(json_object_get(o, "time"));
    assert_true(t && strlen(t) == 27 && t[10] == 'T' && t[26] == 'Z');
    json_decref(o);
    assert_null(memchr(b.data, '\n', b.len)); /* one line */

    /* Unknown fields are left out; no fields at all: only time, level, subsystem, message. */
    evbus__buf_reset(&b);
    assert_int_equal(evbus__log_format(&b, 1, EVBUS_LOG_INFO, "producer", "hi", NULL), 0);
    o = json_loadb((const char *)b.data, b.len, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 4);
    json_decref(o);

    /* Text: the fields follow the message in parentheses. */
    evbus__buf_reset(&b);
    evbus_log_fields_t g = EVBUS__LOG_FIELDS_INIT;
    g.topic = "t";
    g.partition = 0;
    g.offset = 7;
    assert_int_equal(evbus__log_format(&b, 0, EVBUS_LOG_ERR, "dlq", "boom", &g), 0);
    assert_string_equal((const char *)b.data, "evbus error dlq: boom (topic=t, partition=0, offset=7)");
    /* A caller's struct smaller than the fields the library knows is not read past its size. */
    evbus__buf_reset(&b);
    g.size = sizeof(size_t);
    assert_int_equal(evbus__log_format(&b, 0, EVBUS_LOG_ERR, "dlq", "boom", &g), 0);
    assert_string_equal((const char *)b.data, "evbus error dlq: boom");
    evbus__buf_free(&b);
}

/* A producer's ce_type/ce_id reach log lines: neither format passes on what a terminal or log
 * viewer acts on (ESC, C1 controls, U+2028/2029, bidi controls); the default stderr sink writes
 * the text format. */
static void test_log_hostile_fields(void **state) {
    (void)state;
    evbus_log_fields_t f = EVBUS__LOG_FIELDS_INIT;
    f.topic = "t";
    f.ce_type = "x\x1b]0;pwned\x07";
    f.ce_id = "i\xc2\x9b" "31m\xe2\x80\xa8\xe2\x80\xae\xe2\x81\xa6\\";
    f.error = "e\x1b[2J\\";
    evbus__buf_t b = EVBUS__BUF_INIT;
    assert_int_equal(evbus__log_format(&b, 0, EVBUS_LOG_WARNING, "consumer", "m\x1b[1A", &f), 0);
    assert_string_equal((const char *)b.data,
                        "evbus warning consumer: m\\x1b[1A (topic=t, ce_type=x\\x1b]0;pwned\\x07, "
                        "ce_id=i\\u009b31m\\u2028\\u202e\\u2066\\\\, error=e\\x1b[2J\\)");
    evbus__buf_reset(&b);
    assert_int_equal(evbus__log_format(&b, 1, EVBUS_LOG_WARNING, "consumer", "m\x1b[1A", &f), 0);
    assert_non_null(strstr((const char *)b.data, "\"ce_id\":\"i\\u009b31m\\u2028\\u202e\\u2066\\\\\""));
    assert_non_null(strstr((const char *)b.data, "\"ce_type\":\"x\\u001b]0;pwned\\u0007\""));
    for (size_t i = 0; i < b.len; i++) /* nothing but printable ASCII is left */
        assert_true(b.data[i] >= 0x20 && b.data[i] < 0x7f);
    json_t *o = json_loadb((const char *)b.data, b.len, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "ce_id")), f.ce_id); /* same text */
    json_decref(o);
    evbus__buf_free(&b);
}

static void test_prom_label_escape(void **state) {
    (void)state;
    evbus__buf_t b = EVBUS__BUF_INIT;
    assert_int_equal(evbus__prom_label(&b, "a\"b\\c\nd"), 0);
    assert_string_equal((const char *)b.data, "\"a\\\"b\\\\c\\nd\"");
    evbus__buf_free(&b);
}

typedef struct collect_s {
    size_t n;
    uint64_t other;
} collect_t;

static void collect(void *arg, const char *key, const uint64_t *c) {
    collect_t *x = arg;
    x->n++;
    if (!strcmp(key, "_other"))
        x->other = c[1];
}

static void test_cardinality_bounded(void **state) {
    (void)state;
    evbus__mmap_t *m = evbus__mmap_new(2);
    assert_non_null(m);
    char key[32];
    for (int i = 0; i < EVBUS__METRICS_MAX_KEYS + 50; i++) {
        snprintf(key, sizeof(key), "made.up.type.%d", i);
        evbus__mmap_add(m, key, 1, 1);
    }
    evbus__mmap_add(m, "made.up.type.0", 1, 5); /* a known key still counts as itself */
    collect_t x = {0, 0};
    evbus__mmap_each(m, collect, &x);
    assert_int_equal(x.n, EVBUS__METRICS_MAX_KEYS + 1);
    assert_int_equal(x.other, 50);
    evbus__mmap_add(m, "x", 7, 1); /* out of range counter: ignored, no crash */
    evbus__mmap_destroy(m);
}

static void test_histogram_cumulative(void **state) {
    (void)state;
    evbus__mmap_t *h = evbus__hist_new();
    assert_non_null(h);
    evbus__hist_observe(h, "h", 500);      /* 0.0005 s: first bucket */
    evbus__hist_observe(h, "h", 20000);    /* 0.02 s */
    evbus__hist_observe(h, "h", 60000000); /* a minute: only +Inf */
    evbus__buf_t b = EVBUS__BUF_INIT;
    assert_int_equal(evbus__hist_render(&b, "x_seconds", "help", "handler", h), 0);
    const char *t = (const char *)b.data;
    assert_non_null(strstr(t, "# TYPE x_seconds histogram\n"));
    assert_non_null(strstr(t, "x_seconds_bucket{handler=\"h\",le=\"0.001\"} 1\n"));
    assert_non_null(strstr(t, "x_seconds_bucket{handler=\"h\",le=\"0.025\"} 2\n"));
    assert_non_null(strstr(t, "x_seconds_bucket{handler=\"h\",le=\"10\"} 2\n"));
    assert_non_null(strstr(t, "x_seconds_bucket{handler=\"h\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(t, "x_seconds_count{handler=\"h\"} 3\n"));
    assert_non_null(strstr(t, "x_seconds_sum{handler=\"h\"} 60.020500\n"));
    evbus__buf_free(&b);
    evbus__mmap_destroy(h);
}

static void test_trace_check(void **state) {
    (void)state;
    char err[128];
    assert_int_equal(evbus__trace_check("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                        "congo=t61rcWkgMzE", err, sizeof(err)), 0);
    assert_int_equal(evbus__trace_check(NULL, NULL, err, sizeof(err)), 0);
    const char *bad[] = {
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",     /* no flags */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  /* zero parent id */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version ff */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  /* uppercase */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", /* version 00 has no more */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (evbus__trace_check(bad[i], NULL, err, sizeof(err)) == 0)
            fail_msg("accepted traceparent %s", bad[i]);
    /* A later version may carry more fields. */
    assert_int_equal(evbus__trace_check("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-ab",
                                        NULL, err, sizeof(err)), 0);
    assert_int_equal(evbus__trace_check(NULL, "a=b\nc", err, sizeof(err)), -1);
    char longts[600];
    memset(longts, 'a', sizeof(longts) - 1);
    longts[sizeof(longts) - 1] = 0;
    assert_int_equal(evbus__trace_check(NULL, longts, err, sizeof(err)), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_line_parses),     cmocka_unit_test(test_log_hostile_fields),
        cmocka_unit_test(test_prom_label_escape),
        cmocka_unit_test(test_cardinality_bounded),  cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_trace_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
