/* evbus-cli consume (a plugin that fails everything: events end in the DLQ, one log line each,
 * clean stop on SIGTERM) and evbus-cli replay (dead letters back to their topic, byte for byte,
 * and only once). */
#include <signal.h>

#include "consumer_util.h"

static void test_consume_and_replay(void **state) {
    (void)state;
    const char *cli = tu_env("EVBUS_CLI");
    assert_non_null(cli); /* set by tests/CMakeLists.txt */
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-cli"), *dir = tu_mkdtemp();
    rd_kafka_t *p = cu_producer(bs);
    for (int i = 0; i < 3; i++)
        cu_produce_event(p, topic, -1, "cli", i, "ok", 0);
    cu_flush(p);

    char errfile[512], dlq[512], schemas[1024];
    snprintf(errfile, sizeof(errfile), "%s/consume.err", dir);
    snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
    snprintf(schemas, sizeof(schemas), "%s", tu_src_path(CU_SCHEMA_DIR));
    char *cargv[] = {(char *)cli, "-b", (char *)bs, "--schemas", schemas, "-X", "retry.max=1",
                     "-X", "retry.backoff.ms=1", "consume", "-t", topic, "-g", "cli-grp", "--plugin",
                     (char *)cu_plugin("failing"), "--from-beginning", NULL};
    pid_t pid = cu_spawn(cargv, errfile);
    cu_msgs_t ms = {0};
    assert_int_equal(cu_read_topic(bs, dlq, &ms, 3, 60000), 3);
    cu_msgs_free(&ms);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(cu_wait_exit(pid), 0);
    assert_int_equal(cu_file_count(errfile, "evbus-cli: consume: dead-lettered:"), 3);
    assert_int_equal(cu_file_count(errfile, "evbus-cli: consume: handler failed:"), 6); /* 2 tries each */
    assert_int_equal(cu_file_count(errfile, "evbus-cli: consume: 0 handled, 3 dead-lettered"), 1);

    /* replay: back to the original topic, without the evbus_* headers */
    snprintf(errfile, sizeof(errfile), "%s/replay.err", dir);
    char *rargv[] = {(char *)cli, "-b", (char *)bs, "replay", dlq, NULL};
    assert_int_equal(cu_wait_exit(cu_spawn(rargv, errfile)), 0);
    assert_int_equal(cu_file_count(errfile, "evbus-cli: replay: 3 replayed"), 1);
    assert_int_equal(cu_read_topic(bs, topic, &ms, 6, 60000), 6);
    int replayed = 0;
    for (size_t i = 0; i < ms.n; i++) {
        rd_kafka_message_t *a = ms.m[i];
        char *ida = cu_header(a, "ce_id"), *e = cu_header(a, "evbus_error");
        assert_null(e);
        for (size_t j = 0; j < ms.n; j++) {
            rd_kafka_message_t *b = ms.m[j];
            char *idb = cu_header(b, "ce_id");
            if (j != i && !strcmp(ida, idb)) { /* the copy of the same event */
                assert_int_equal(a->len, b->len);
                assert_memory_equal(a->payload, b->payload, a->len);
                assert_int_equal(a->key_len, b->key_len);
                assert_memory_equal(a->key, b->key, a->key_len);
                replayed++;
            }
            free(idb);
        }
        free(ida);
    }
    assert_int_equal(replayed, 6); /* each of the 3 pairs seen from both sides */
    cu_msgs_free(&ms);
    /* progress was committed: a second replay has nothing to do */
    assert_int_equal(cu_wait_exit(cu_spawn(rargv, errfile)), 0);
    assert_int_equal(cu_file_count(errfile, "evbus-cli: replay: 0 replayed"), 1);

    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    tu_rm_rf(dir);
    free(dir);
    free(topic);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_consume_and_replay)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
