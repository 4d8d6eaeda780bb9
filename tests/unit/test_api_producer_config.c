/*
 * evbus/producer_config.h, the public producer-config API: both forms load and are walked
 * type by type and topic by topic (prefix applied, enabled default, schemas from the store);
 * a bad config is refused with every problem at its JSON path, told through the callback in
 * document order and all in errstr; out-of-range lookups are refused.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <evbus/producer_config.h>

#define TA "org.test.cfg.a.v1"
#define TB "org.test.cfg.b.v1"
#define REC(ns) \
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"" ns "\",\"fields\":[" \
    "{\"name\":\"user\",\"type\":{\"type\":\"record\",\"name\":\"U\",\"fields\":["     \
    "{\"name\":\"id\",\"type\":\"string\"}]}}]}"

static char *g_dir;
static evbus_schema_store_t *g_store;

static int setup(void **state) {
    (void)state;
    char err[512] = "";
    g_dir = tu_mkdtemp();
    free(tu_write_file(g_dir, TA ".avsc", REC(TA)));
    free(tu_write_file(g_dir, TB ".avsc", REC(TB)));
    g_store = evbus_schema_store_new(g_dir, err, sizeof(err));
    if (!g_store)
        fail_msg("store: %s", err);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    evbus_schema_store_destroy(g_store);
    tu_rm_rf(g_dir);
    free(g_dir);
    return 0;
}

static void test_walk_both_forms(void **state) {
    (void)state;
    char err[1024] = "";
    /* TB in the list form, TA in the dict-of-topics form; types come back sorted */
    const char *text =
        "{\"" TB "\": [{\"topic\": \"b1\", \"event_key_field\": \"user.id\"},"
        "              {\"topic\": \"b2\", \"event_key_field\": \"user.id\", \"enabled\": false}],"
        " \"" TA "\": {\"a1\": {\"event_key_field\": \"user.id\", \"enabled\": true}}}";
    evbus_producer_config_t *cfg =
        evbus_producer_config_load(text, g_store, "stage", NULL, NULL, err, sizeof(err));
    if (!cfg)
        fail_msg("load: %s", err);
    assert_int_equal(evbus_producer_config_type_count(cfg), 2);
    assert_string_equal(evbus_producer_config_type(cfg, 0), TA);
    assert_string_equal(evbus_producer_config_type(cfg, 1), TB);
    assert_null(evbus_producer_config_type(cfg, 2));
    assert_ptr_equal(evbus_producer_config_schema(cfg, 0), evbus_schema_store_get(g_store, TA));
    assert_null(evbus_producer_config_schema(cfg, 2));

    assert_int_equal(evbus_producer_config_topic_count(cfg, 0), 1);
    assert_int_equal(evbus_producer_config_topic_count(cfg, 1), 2);
    assert_int_equal(evbus_producer_config_topic_count(cfg, 9), 0);
    const char *topic, *full, *key;
    int enabled = -1;
    assert_int_equal(evbus_producer_config_topic(cfg, 1, 0, &topic, &full, &key, &enabled), EVBUS_OK);
    assert_string_equal(topic, "b1");
    assert_string_equal(full, "stage-b1");
    assert_string_equal(key, "user.id");
    assert_int_equal(enabled, 1); /* the default */
    assert_int_equal(evbus_producer_config_topic(cfg, 1, 1, NULL, &full, NULL, &enabled), EVBUS_OK);
    assert_string_equal(full, "stage-b2");
    assert_int_equal(enabled, 0);
    assert_int_equal(evbus_producer_config_topic(cfg, 1, 2, NULL, NULL, NULL, NULL),
                     EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_producer_config_topic(cfg, 2, 0, NULL, NULL, NULL, NULL),
                     EVBUS_ERR_INVALID_ARG);
    evbus_producer_config_destroy(cfg);

    /* no prefix: the full name is the topic */
    cfg = evbus_producer_config_load(text, g_store, NULL, NULL, NULL, err, sizeof(err));
    assert_non_null(cfg);
    assert_int_equal(evbus_producer_config_topic(cfg, 0, 0, NULL, &full, NULL, NULL), EVBUS_OK);
    assert_string_equal(full, "a1");
    evbus_producer_config_destroy(cfg);
    evbus_producer_config_destroy(NULL);
}

/* The callback records every problem in order. */
typedef struct seen_s {
    char paths[8][256];
    char msgs[8][512];
    size_t n;
} seen_t;

static void on_error(const char *path, const char *message, void *opaque) {
    seen_t *s = opaque;
    if (s->n < 8) {
        snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", path);
        snprintf(s->msgs[s->n], sizeof(s->msgs[0]), "%s", message);
    }
    s->n++;
}

static void test_every_error_with_its_path(void **state) {
    (void)state;
    char err[2048] = "";
    seen_t seen;
    memset(&seen, 0, sizeof(seen));
    const char *text =
        "{\"" TA "\": [{\"topic\": \"bad topic!\", \"event_key_field\": \"user.nope\"},"
        "              {\"event_key_field\": \"user.id\"}],"
        " \"org.test.cfg.none.v1\": [{\"topic\": \"t\", \"event_key_field\": \"id\"}]}";
    assert_null(evbus_producer_config_load(text, g_store, NULL, on_error, &seen, err, sizeof(err)));
    assert_true(seen.n >= 4);
    int topic = 0, key = 0, missing = 0, noschema = 0;
    for (size_t i = 0; i < seen.n && i < 8; i++) {
        topic |= !strcmp(seen.paths[i], "$[\"" TA "\"][0].topic") && strstr(seen.msgs[i], "illegal character");
        key |= !strcmp(seen.paths[i], "$[\"" TA "\"][0].event_key_field") && strstr(seen.msgs[i], "does not resolve");
        missing |= !strcmp(seen.paths[i], "$[\"" TA "\"][1].topic") && strstr(seen.msgs[i], "missing");
        noschema |= !strcmp(seen.paths[i], "$[\"org.test.cfg.none.v1\"]") && strstr(seen.msgs[i], "no schema");
        /* errstr holds each problem as "<path>: <message>" */
        char line[800];
        snprintf(line, sizeof(line), "%s: %s", seen.paths[i], seen.msgs[i]);
        assert_non_null(strstr(err, line));
    }
    assert_true(topic && key && missing && noschema);

    /* a file path works as JSON text does; one that is missing is a problem at "$"-level */
    char *path = tu_write_file(g_dir, "cfg.json", "{\"" TA "\": [{\"topic\": \"x\", \"event_key_field\": \"user.id\"}]}");
    evbus_producer_config_t *cfg = evbus_producer_config_load(path, g_store, "", NULL, NULL, err, sizeof(err));
    assert_non_null(cfg);
    assert_int_equal(evbus_producer_config_type_count(cfg), 1);
    evbus_producer_config_destroy(cfg);
    free(path);
    memset(&seen, 0, sizeof(seen));
    err[0] = 0;
    assert_null(evbus_producer_config_load("/nonexistent/cfg.json", g_store, NULL, on_error, &seen,
                                           err, sizeof(err)));
    assert_int_equal(seen.n, 1);
    assert_true(err[0] != 0);
    /* no store, no text: refused with a reason, no callback */
    memset(&seen, 0, sizeof(seen));
    assert_null(evbus_producer_config_load("{}", NULL, NULL, on_error, &seen, err, sizeof(err)));
    assert_int_equal(seen.n, 0);
    assert_non_null(strstr(err, "schema store"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_both_forms),
        cmocka_unit_test(test_every_error_with_its_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
