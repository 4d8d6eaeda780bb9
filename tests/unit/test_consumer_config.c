/* The consumer config file loader (cli/consumer_config.c): a full file with plugin paths
 * relative to it, settings written as JSON strings, numbers and booleans; JSON text from the
 * environment; every problem at its JSON path and nothing half-loaded. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "consumer_config.h"

static int has_error(const evbus_cli_config_errors_t *errs, const char *path, const char *text) {
    for (size_t i = 0; i < errs->count; i++)
        if (!strcmp(errs->items[i].path, path) && strstr(errs->items[i].message, text))
            return 1;
    return 0;
}

static void test_full_file(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    char sub[1024];
    snprintf(sub, sizeof(sub), "%s/plugins", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    free(tu_write_file(dir, "a.so", "not really a plugin: the loader only checks it exists"));
    char *path = tu_write_file(
        dir, "consumer.json",
        "{\"topics\": [\"t1\", \"t2\"], \"group\": \"g\",\n"
        " \"plugins\": [{\"path\": \"a.so\", \"isolate\": true,\n"
        "               \"settings\": {\"label\": \"x\", \"n\": 3, \"on\": false},\n"
        "               \"subscriptions\": [\"org.*\"]},\n"
        "              {\"path\": \"plugins\"}],\n"
        " \"retry\": {\"max\": 2, \"backoff_ms\": 50}, \"dlq_suffix\": \".dead\"}");
    evbus_cli_config_errors_t errs = {0};
    evbus_cli_consumer_config_t *cc = evbus_cli_consumer_config_load(path, &errs);
    if (!cc)
        fail_msg("%s: %s", errs.items[0].path, errs.items[0].message);
    assert_int_equal(errs.count, 0);
    assert_int_equal(cc->ntopics, 2);
    assert_string_equal(cc->topics[1], "t2");
    assert_null(cc->topics[2]);
    assert_string_equal(cc->group, "g");
    assert_int_equal(cc->nplugins, 2);
    char want[1100];
    snprintf(want, sizeof(want), "%s/a.so", dir);
    assert_string_equal(cc->plugins[0].path, want); /* relative to the file */
    assert_int_equal(cc->plugins[0].isolate, 1);
    const char *const settings[] = {"label", "x", "n", "3", "on", "false"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(cc->plugins[0].settings[i], settings[i]);
    assert_null(cc->plugins[0].settings[6]);
    assert_string_equal(cc->plugins[0].subscriptions[0], "org.*");
    assert_null(cc->plugins[0].subscriptions[1]);
    assert_string_equal(cc->plugins[1].path, sub); /* a directory */
    assert_int_equal(cc->plugins[1].isolate, -1);  /* unset: the configuration decides */
    assert_null(cc->plugins[1].settings[0]);
    assert_null(cc->plugins[1].subscriptions);
    const char *const conf[] = {"retry.max", "2", "retry.backoff.ms", "50", "dlq.topic.suffix", ".dead"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(cc->conf[i], conf[i]);
    assert_null(cc->conf[6]);
    evbus_cli_consumer_config_destroy(cc);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}

static void test_text_and_empty(void **state) {
    (void)state;
    evbus_cli_config_errors_t errs = {0};
    /* JSON text (EVBUS_CONSUMER_CONFIG): every key is optional. */
    evbus_cli_consumer_config_t *cc = evbus_cli_consumer_config_load("  {}", &errs);
    assert_non_null(cc);
    assert_int_equal(cc->ntopics, 0);
    assert_null(cc->topics[0]);
    assert_null(cc->group);
    assert_int_equal(cc->nplugins, 0);
    assert_null(cc->conf[0]);
    evbus_cli_consumer_config_destroy(cc);
    assert_null(evbus_cli_consumer_config_load("", &errs));
    assert_true(has_error(&errs, "$", "empty consumer config"));
    evbus_cli_config_errors_clear(&errs);
    assert_null(evbus_cli_consumer_config_load("{\"topics\": [", &errs));
    assert_true(has_error(&errs, "$", "JSON syntax error at line 1"));
    evbus_cli_config_errors_clear(&errs);
    assert_null(evbus_cli_consumer_config_load("[1]", &errs));
    assert_true(has_error(&errs, "$", "an array, expected an object"));
    evbus_cli_config_errors_clear(&errs);
    assert_null(evbus_cli_consumer_config_load("/nonexistent/consumer.json", &errs));
    assert_int_equal(errs.count, 1);
    evbus_cli_config_errors_clear(&errs);
}

static void test_every_error(void **state) {
    (void)state;
    evbus_cli_config_errors_t errs = {0};
    const char *bad =
        "{\"topics\": [\"ok\", \"ok\", \"bad/topic\", \"\"], \"group\": [], \"extra\": 1,"
        " \"plugins\": [{\"isolate\": 1, \"settings\": {\"k\": null, \"\": \"v\"}, \"subscriptions\": [7],"
        "               \"what\": 0},"
        "              {\"path\": \"/nonexistent/p.so\"}, \"x\"],"
        " \"retry\": {\"max\": -1, \"backoff_ms\": 1.5, \"jitter\": 0}, \"dlq_suffix\": 5}";
    assert_null(evbus_cli_consumer_config_load(bad, &errs));
    assert_true(has_error(&errs, "$", "unknown key \"extra\""));
    assert_true(has_error(&errs, "$.topics[1]", "\"ok\" given twice"));
    assert_true(has_error(&errs, "$.topics[2]", "expected a legal Kafka topic name"));
    assert_true(has_error(&errs, "$.topics[3]", "empty string"));
    assert_true(has_error(&errs, "$.group", "an array, expected a non-empty string"));
    assert_true(has_error(&errs, "$.plugins[0]", "missing \"path\""));
    assert_true(has_error(&errs, "$.plugins[0]", "unknown key \"what\""));
    assert_true(has_error(&errs, "$.plugins[0].isolate", "an integer, expected true or false"));
    assert_true(has_error(&errs, "$.plugins[0].settings.k", "null, expected a string"));
    assert_true(has_error(&errs, "$.plugins[0].settings", "empty setting name"));
    assert_true(has_error(&errs, "$.plugins[0].subscriptions[0]", "an integer"));
    assert_true(has_error(&errs, "$.plugins[1].path", "does not exist"));
    assert_true(has_error(&errs, "$.plugins[2]", "a string, expected an object"));
    assert_true(has_error(&errs, "$.retry", "unknown key \"jitter\""));
    assert_true(has_error(&errs, "$.retry.max", "expected an integer 0..1000"));
    assert_true(has_error(&errs, "$.retry.backoff_ms", "a number, expected an integer"));
    assert_true(has_error(&errs, "$.dlq_suffix", "an integer, expected a string"));
    assert_int_equal(errs.count, 17);
    evbus_cli_config_errors_clear(&errs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_text_and_empty),
        cmocka_unit_test(test_every_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
