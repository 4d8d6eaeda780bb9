#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "producer_config.h"
#include "schema.h"

static const char *SCHEMA =
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"org.test.user.created.v1\","
    "\"fields\":[{\"name\":\"user\",\"type\":{\"type\":\"record\",\"name\":\"UserData\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"pii\",\"type\":{\"type\":\"record\",\"name\":\"Pii\",\"fields\":["
    "{\"name\":\"username\",\"type\":\"string\"},{\"name\":\"email\",\"type\":[\"null\",\"string\"],\"default\":null}]}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}]}}]}";

typedef struct fx_s {
    char *dir;
    evbus__schema_store_t *store;
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    char err[256];
    fx->dir = tu_mkdtemp();
    free(tu_write_file(fx->dir, "org.test.user.created.v1.avsc", SCHEMA));
    fx->store = evbus__schema_store_new(fx->dir, err, sizeof(err));
    if (!fx->store)
        fail_msg("schema store: %s", err);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    evbus__schema_store_destroy(fx->store);
    tu_rm_rf(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* Load and expect failure; returns the joined errors (caller frees). */
static char *load_errors(fx_t *fx, const char *text, const char *prefix, size_t *count) {
    evbus__config_errors_t errs = {0};
    evbus__config_t *cfg = evbus__config_load(text, fx->store, prefix, &errs);
    assert_null(cfg); /* never half-loaded */
    assert_true(errs.count > 0);
    *count = errs.count;
    char *s = evbus__config_errors_join(&errs);
    assert_non_null(s);
    evbus__config_errors_clear(&errs);
    return s;
}

static void assert_has(const char *all, const char *line) {
    if (!strstr(all, line))
        fail_msg("expected error line\n  %s\nin\n%s", line, all);
}

static void test_list_form(void **state) {
    fx_t *fx = *state;
    evbus__config_errors_t errs = {0};
    evbus__config_t *cfg = evbus__config_load(
        "{\"org.test.user.created.v1\": ["
        " {\"topic\": \"users\", \"event_key_field\": \"user.pii.username\", \"enabled\": true},"
        " {\"topic\": \"users-audit\", \"event_key_field\": \"user.id\"},"
        " {\"topic\": \"off\", \"event_key_field\": \"user.id\", \"enabled\": false}]}",
        fx->store, "dev", &errs);
    assert_non_null(cfg);
    assert_int_equal(errs.count, 0);
    const evbus__type_conf_t *tc = evbus__config_find(cfg, "org.test.user.created.v1");
    assert_non_null(tc);
    assert_int_equal(tc->ntopics, 3);
    assert_string_equal(tc->topics[0].full_topic, "dev-users");
    assert_string_equal(tc->topics[0].key_field, "user.pii.username");
    assert_int_equal(tc->topics[0].key_schema->kind, EVBUS__AVRO_STRING);
    assert_int_equal(tc->topics[1].enabled, 1); /* default */
    assert_int_equal(tc->topics[1].key_schema->kind, EVBUS__AVRO_LONG);
    assert_int_equal(tc->topics[2].enabled, 0);
    assert_null(evbus__config_find(cfg, "org.other"));
    evbus__config_destroy(cfg);
}

/* {} is a valid config, as for the Python bus: no event types. */
static void test_empty_config(void **state) {
    fx_t *fx = *state;
    evbus__config_errors_t errs = {0};
    evbus__config_t *cfg = evbus__config_load("{}", fx->store, NULL, &errs);
    assert_non_null(cfg);
    assert_int_equal(errs.count, 0);
    assert_int_equal(cfg->ntypes, 0);
    assert_null(evbus__config_find(cfg, "org.test.user.created.v1"));
    evbus__config_destroy(cfg);
}

/* A list of configs merges as openedx-events' merge_producer_configs: pairs are added, and an
 * override's enabled/event_key_field win; list and dict forms mix; file paths work. */
static void test_merge_configs(void **state) {
    fx_t *fx = *state;
    evbus__config_errors_t errs = {0};
    char *over = tu_write_file(fx->dir, "override.json",
        "{\"org.test.user.created.v1\": {\"users\": {\"enabled\": false},"
        " \"extra\": {\"event_key_field\": \"user.id\", \"enabled\": true}}}");
    char text[1024];
    snprintf(text, sizeof(text),
             "[{\"org.test.user.created.v1\": [{\"topic\": \"users\", \"event_key_field\": \"user.pii.username\","
             " \"enabled\": true}, {\"topic\": \"audit\", \"event_key_field\": \"user.id\"}]}, \"%s\"]", over);
    evbus__config_t *cfg = evbus__config_load(text, fx->store, NULL, &errs);
    if (!cfg)
        fail_msg("%s", evbus__config_errors_join(&errs));
    const evbus__type_conf_t *tc = evbus__config_find(cfg, "org.test.user.created.v1");
    assert_non_null(tc);
    assert_int_equal(tc->ntopics, 3);
    int seen = 0;
    for (size_t i = 0; i < tc->ntopics; i++) {
        const evbus__topic_conf_t *t = &tc->topics[i];
        if (!strcmp(t->full_topic, "users")) {
            assert_int_equal(t->enabled, 0);                       /* overridden */
            assert_string_equal(t->key_field, "user.pii.username"); /* kept */
            seen |= 1;
        } else if (!strcmp(t->full_topic, "audit")) {
            assert_int_equal(t->enabled, 1);
            seen |= 2;
        } else if (!strcmp(t->full_topic, "extra")) {
            assert_string_equal(t->key_field, "user.id");
            seen |= 4;
        }
    }
    assert_int_equal(seen, 7);
    evbus__config_destroy(cfg);
    /* the merged result is validated like one config: an override that leaves a pair without
     * event_key_field is reported */
    char *bad = load_errors(fx, "[{}, {\"org.test.user.created.v1\": {\"t\": {\"enabled\": true}}}]", NULL,
                            &(size_t){0});
    assert_has(bad, "event_key_field");
    free(bad);
    free(over);
}

static void test_dict_form_and_file(void **state) {
    fx_t *fx = *state;
    evbus__config_errors_t errs = {0};
    char *path = tu_write_file(fx->dir, "producer.json",
        "{\"org.test.user.created.v1\": {\"users\": {\"event_key_field\": \"user.pii.email\", "
        "\"enabled\": true}, \"users2\": {\"event_key_field\": \"user.id\"}}}");
    evbus__config_t *cfg = evbus__config_load(path, fx->store, NULL, &errs);
    assert_non_null(cfg);
    const evbus__type_conf_t *tc = evbus__config_find(cfg, "org.test.user.created.v1");
    assert_int_equal(tc->ntopics, 2);
    assert_string_equal(tc->topics[0].full_topic, "users"); /* no prefix */
    /* a nullable key resolves to its non-null branch */
    assert_int_equal(tc->topics[0].key_schema->kind, EVBUS__AVRO_STRING);
    evbus__config_destroy(cfg);
    free(path);
}

static void test_every_problem_reported(void **state) {
    fx_t *fx = *state;
    size_t n;
    char *all = load_errors(fx,
        "{\"org.test.user.created.v1\": ["
        "   {\"topic\": \"ok\", \"event_key_field\": \"user.id\", \"enable\": true},"   /* unknown key */
        "   {\"event_key_field\": \"user.id\"},"                                       /* missing topic */
        "   {\"topic\": 5, \"event_key_field\": \"user.id\", \"enabled\": \"yes\"}," /* wrong types */
        "   {\"topic\": \"ok\", \"event_key_field\": \"user.id\"},"                    /* duplicate */
        "   {\"topic\": \"bad topic!\", \"event_key_field\": \"user.nope\"},"          /* bad name, bad path */
        "   {\"topic\": \"t6\", \"event_key_field\": \"user.pii\"},"                   /* ends on a record */
        "   {\"topic\": \"t7\"}],"                                                      /* missing key field */
        " \"org.no.schema.v1\": [{\"topic\": \"x\", \"event_key_field\": \"a\"}],"
        " \"org.test.empty\": [],"
        " \"org.test.notalist\": 3}",
        NULL, &n);
    assert_has(all, "$[\"org.test.user.created.v1\"][0].enable: unknown key, expected one of topic, event_key_field, enabled");
    assert_has(all, "$[\"org.test.user.created.v1\"][1].topic: missing, expected a topic name string");
    assert_has(all, "$[\"org.test.user.created.v1\"][2].topic: got an integer, expected a topic name string");
    assert_has(all, "$[\"org.test.user.created.v1\"][2].enabled: got a string, expected true or false");
    assert_has(all, "$[\"org.test.user.created.v1\"][3].topic: topic \"ok\" is listed twice for this event type (also at [0]), expected each topic once");
    assert_has(all, "$[\"org.test.user.created.v1\"][4].topic: topic name \"bad topic!\" has an illegal character at 3");
    assert_has(all, "$[\"org.test.user.created.v1\"][4].event_key_field: key path \"user.nope\" does not resolve");
    assert_has(all, "$[\"org.test.user.created.v1\"][5].event_key_field: key path \"user.pii\" does not resolve");
    assert_has(all, "$[\"org.test.user.created.v1\"][6].event_key_field: missing, expected a period-delimited field path");
    assert_has(all, "$[\"org.no.schema.v1\"]: no schema for this event type");
    assert_has(all, "$[\"org.test.empty\"]: no topics, expected at least one topic entry");
    assert_has(all, "$[\"org.test.notalist\"]: got an integer, expected a list of topic entries or an object of topics");
    /* org.test.empty and .notalist also lack schemas */
    assert_int_equal(n, 14);
    free(all);
}

static void test_prefix_makes_name_too_long(void **state) {
    fx_t *fx = *state;
    size_t n;
    char text[1024], topic[250];
    memset(topic, 'a', 245);
    topic[245] = 0;
    snprintf(text, sizeof(text),
             "{\"org.test.user.created.v1\": [{\"topic\": \"%s\", \"event_key_field\": \"user.id\"}]}", topic);
    evbus__config_errors_t errs = {0};
    evbus__config_t *ok = evbus__config_load(text, fx->store, NULL, &errs);
    assert_non_null(ok);
    evbus__config_destroy(ok);
    char *all = load_errors(fx, text, "staging", &n);
    assert_int_equal(n, 1);
    assert_has(all, "(after the prefix)");
    free(all);
}

static void test_syntax_and_shape_errors(void **state) {
    fx_t *fx = *state;
    size_t n;
    char *all = load_errors(fx, "{\"a\": [\n  {\"topic\": }]}", NULL, &n);
    assert_int_equal(n, 1);
    assert_has(all, "JSON syntax error at line 2 column");
    free(all);
    all = load_errors(fx, "[1, 2]", NULL, &n);
    assert_has(all, "$[0]: got an integer, expected a producer config object or a file path");
    free(all);
    all = load_errors(fx, "/no/such/file.json", NULL, &n);
    assert_has(all, "/no/such/file.json: ");
    free(all);
    all = load_errors(fx, "   ", NULL, &n);
    assert_has(all, "$: empty producer config");
    free(all);
    /* dict form: a topic entry that is not an object */
    all = load_errors(fx, "{\"org.test.user.created.v1\": {\"t\": true}}", NULL, &n);
    assert_has(all, "$[\"org.test.user.created.v1\"][\"t\"]: got a boolean, expected an object with event_key_field and enabled");
    free(all);
}

static void test_errstr_truncation(void **state) {
    fx_t *fx = *state;
    evbus__config_errors_t errs = {0};
    assert_null(evbus__config_load("{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", fx->store, NULL, &errs));
    char small[120];
    evbus__config_errors_to_errstr(&errs, small, sizeof(small));
    assert_non_null(strstr(small, "more)"));
    assert_true(strlen(small) < sizeof(small));
    evbus__config_errors_clear(&errs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_configs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dict_form_and_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_problem_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_makes_name_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_and_shape_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errstr_truncation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
