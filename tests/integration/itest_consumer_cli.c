/* evbus-cli consume (a plugin that fails everything: events end in the DLQ, one log line each,
 * clean stop on SIGTERM) and evbus-cli replay (dead letters back to their topic, byte for byte,
 * and only once per group; -g/--group and --all); consume --plugins DIR --isolate --since with
 * the long forms of the global options. */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

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
    char *cargv[] = {(char *)cli, "-b", (char *)bs, "--schemas", schemas, "consume", "-t", topic,
                     "-g", "cli-grp", "--plugin", (char *)cu_plugin("failing"), "--from-beginning",
                     NULL}; /* retry.max 3, retry.backoff.ms 100: the defaults */
    pid_t pid = cu_spawn(cargv, errfile);
    cu_msgs_t ms = {0};
    assert_int_equal(cu_read_topic(bs, dlq, &ms, 3, 60000), 3);
    cu_msgs_free(&ms);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(cu_wait_exit(pid), 0);
    assert_int_equal(cu_file_count(errfile, "evbus-cli: consume: dead-lettered:"), 3);
    assert_int_equal(cu_file_count(errfile, "evbus-cli: consume: handler failed:"), 12); /* 4 tries each */
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
    /* --all ignores that progress; another group (-g / --group) has its own */
    char *all_argv[] = {(char *)cli, "--bootstrap-servers", (char *)bs, "replay", dlq, "--all", NULL};
    assert_int_equal(cu_wait_exit(cu_spawn(all_argv, errfile)), 0);
    assert_int_equal(cu_file_count(errfile, "evbus-cli: replay: 3 replayed"), 1);
    char *g_argv[] = {(char *)cli, "-b", (char *)bs, "replay", "-g", "other-replayer", dlq, NULL};
    assert_int_equal(cu_wait_exit(cu_spawn(g_argv, errfile)), 0);
    assert_int_equal(cu_file_count(errfile, "evbus-cli: replay: 3 replayed"), 1);
    char *g2_argv[] = {(char *)cli, "-b", (char *)bs, "replay", "--group", "other-replayer", dlq, NULL};
    assert_int_equal(cu_wait_exit(cu_spawn(g2_argv, errfile)), 0);
    assert_int_equal(cu_file_count(errfile, "evbus-cli: replay: 0 replayed"), 1);
    assert_int_equal(cu_read_topic(bs, topic, &ms, 12, 60000), 12); /* 3 + 3 x 3 replays */
    cu_msgs_free(&ms);

    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    tu_rm_rf(dir);
    free(dir);
    free(topic);
}

/* Exit status of pid if it exits within ms, else kill it and fail the test. */
static int wait_exit_within(pid_t pid, int ms) {
    int st = 0;
    for (int waited = 0; waited < ms; waited += 50) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        assert_true(r >= 0);
        if (r == pid) {
            assert_true(WIFEXITED(st));
            return WEXITSTATUS(st);
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    fail_msg("process %d did not exit within %d ms", (int)pid, ms);
    return -1;
}

/* EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT: DLQ writes that keep failing stop consume
 * with exit status 1 (an orchestrator restarts it), the event uncommitted. */
static void test_consume_exits_at_error_limit(void **state) {
    (void)state;
    const char *cli = tu_env("EVBUS_CLI");
    assert_non_null(cli);
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-limit"), *dir = tu_mkdtemp();
    rd_kafka_t *p = cu_producer(bs);
    cu_produce_event(p, topic, 0, "lim", 0, "ok", 0);
    cu_flush(p);
    tu_mock_fail_produce(m, 100, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED); /* every DLQ write */
    char errfile[600], schemas[1024];
    snprintf(errfile, sizeof(errfile), "%s/consume.err", dir);
    snprintf(schemas, sizeof(schemas), "%s", tu_src_path(CU_SCHEMA_DIR));
    assert_int_equal(setenv("EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", "2", 1), 0);
    char *argv[] = {(char *)cli, "-b", (char *)bs, "--schemas", schemas, "consume", "-t", topic,
                    "-g", "limit-grp", "--plugin", (char *)cu_plugin("failing"), "--from-beginning", NULL};
    pid_t pid = cu_spawn(argv, errfile);
    unsetenv("EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT");
    assert_int_equal(wait_exit_within(pid, 120000), 1); /* by itself, no signal */
    assert_int_equal(cu_file_count(errfile, "evbus-cli: consume: Kafka transport error (consumer.max.consecutive.errors reached)"), 1);
    assert_int_equal(cu_file_count(errfile, "evbus-cli: consume: 0 handled, 0 dead-lettered, 2 DLQ write failures"), 1);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    tu_rm_rf(dir);
    free(dir);
    free(topic);
}

typedef struct plug_wait_s { const char *out; int want; } plug_wait_t;
static int plugin_saw(void *arg) {
    plug_wait_t *w = arg;
    return cu_file_count(w->out, "ok ev-new-") >= w->want;
}

/* consume --plugins DIR --isolate --since, and the long forms of the global options. */
static void test_consume_plugins_dir_isolated_since(void **state) {
    (void)state;
    const char *cli = tu_env("EVBUS_CLI");
    assert_non_null(cli);
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-since"), *dir = tu_mkdtemp();
    char full[512], plugdir[600], link[700], out[600], errfile[600], schemas[1024];
    snprintf(full, sizeof(full), "pfx-%s", topic); /* --prefix pfx: the CLI adds "pfx-" */
    rd_kafka_t *p = cu_producer(bs);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    for (int i = 0; i < 3; i++) /* an hour old: before --since 10m */
        cu_produce_event(p, full, 0, "old", i, "ok", now_ms - 3600 * 1000);
    for (int i = 0; i < 3; i++)
        cu_produce_event(p, full, 0, "new", i, "ok", now_ms);
    cu_flush(p);

    /* a plugins directory: every .so in it is loaded */
    snprintf(plugdir, sizeof(plugdir), "%s/plugins", dir);
    assert_int_equal(mkdir(plugdir, 0755), 0);
    snprintf(link, sizeof(link), "%s/ok.so", plugdir);
    assert_int_equal(symlink(cu_plugin("ok"), link), 0);
    snprintf(out, sizeof(out), "%s/plugin.out", dir);
    snprintf(errfile, sizeof(errfile), "%s/consume.err", dir);
    snprintf(schemas, sizeof(schemas), "%s", tu_src_path(CU_SCHEMA_DIR));
    assert_int_equal(setenv("EVBUS_TEST_PLUGIN_OUT", out, 1), 0);
    char *argv[] = {(char *)cli, "--bootstrap-servers", (char *)bs, "--schemas", schemas, "--prefix",
                    "pfx", "--verbose", "consume", "-t", topic, "-g", "since-grp", "--plugins",
                    plugdir, "--isolate", "--since", "10m", NULL};
    pid_t pid = cu_spawn(argv, errfile);
    plug_wait_t w = {out, 3};
    int saw = cu_wait(plugin_saw, &w, 60000);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(cu_wait_exit(pid), 0);
    unsetenv("EVBUS_TEST_PLUGIN_OUT");
    assert_true(saw);
    assert_int_equal(cu_file_count(out, "ok ev-new-"), 3);
    assert_int_equal(cu_file_count(out, "ok ev-old-"), 0); /* older than --since */
    /* --isolate: the plugin ran in a worker process, not in evbus-cli */
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char line[512], id[128];
    int wpid = 0, nok = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "ok %127s %d", id, &wpid) == 2) {
            assert_int_not_equal(wpid, (int)pid);
            nok++;
        }
    fclose(f);
    assert_int_equal(nok, 3);
    assert_int_equal(cu_file_count(errfile, "evbus-cli: consume: 3 handled, 0 dead-lettered"), 1);
    assert_int_equal(cu_file_count(errfile, "evbus-cli: consuming 1 topic(s) as group since-grp"), 1); /* --verbose */

    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    tu_rm_rf(dir);
    free(dir);
    free(topic);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_consume_and_replay),
                                       cmocka_unit_test(test_consume_plugins_dir_isolated_since),
                                       cmocka_unit_test(test_consume_exits_at_error_limit)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
