/* Plugins: loading rules (ABI, enabled(), init/fini, directory), the example plugin, and
 * isolation: a crashing and a hanging plugin in a supervised child, broker-less and on the
 * embedded broker (retried, dead-lettered, the consumer lives on). */
#include <sys/stat.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char *g_dir, *g_out;

static int setup(void **state) {
    (void)state;
    g_dir = tu_mkdtemp();
    size_t n = strlen(g_dir) + 16;
    g_out = malloc(n);
    snprintf(g_out, n, "%s/out.txt", g_dir);
    setenv("EVBUS_TEST_PLUGIN_OUT", g_out, 1);
    return 0;
}
static int teardown(void **state) {
    (void)state;
    tu_rm_rf(g_dir);
    free(g_dir);
    free(g_out);
    return 0;
}

static void test_loading(void **state) {
    (void)state;
    char err[512];
    int loaded = -1;
    unlink(g_out);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_load_plugin(d, cu_plugin("badabi"), 0, 0, &loaded, err, sizeof(err)),
                     EVBUS_ERR_PLUGIN);
    assert_non_null(strstr(err, "ABI"));
    assert_int_equal(evbus_dispatcher_load_plugin(d, "/nonexistent/x.so", 0, 0, &loaded, err, sizeof(err)),
                     EVBUS_ERR_PLUGIN);
    setenv("EVBUS_TEST_PLUGIN_DISABLE", "1", 1);
    assert_int_equal(evbus_dispatcher_load_plugin(d, cu_plugin("ok"), 0, 0, &loaded, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(loaded, 0);
    assert_int_equal(cu_file_count(g_out, "init"), 0); /* disabled: init never ran */
    unsetenv("EVBUS_TEST_PLUGIN_DISABLE");
    assert_int_equal(evbus_dispatcher_load_plugin(d, cu_plugin("ok"), 0, 0, &loaded, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(loaded, 1);
    assert_int_equal(cu_file_count(g_out, "init"), 1);
    char ex[1024];
    snprintf(ex, sizeof(ex), "%s/examples", EVBUS_TEST_BUILDDIR);
    int nl = 0;
    assert_int_equal(evbus_dispatcher_load_plugins_dir(d, ex, 0, 0, &nl, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(nl, 1); /* evbus_example_plugin.so */
    const char *evs = "[{\"type\":\"org.evbus.test.consumer.v1\",\"id\":\"p1\",\"data\":{\"id\":\"p1\",\"n\":1}},"
                      "{\"type\":\"org.other\",\"data\":{}}]";
    size_t nfailed = 9;
    assert_int_equal(evbus_dispatcher_process_json(d, evs, strlen(evs), NULL, NULL, &nfailed, err, sizeof(err)),
                     EVBUS_OK);
    assert_int_equal(nfailed, 0);
    assert_int_equal(cu_file_count(g_out, "ok p1"), 1);
    assert_int_equal(cu_file_count(g_out, "fini"), 0);
    evbus_dispatcher_destroy(d);
    assert_int_equal(cu_file_count(g_out, "fini"), 1);
}

typedef struct res_s { evbus_err_t err[8]; char msg[8][256]; int n; } res_t;
static void on_res(size_t i, const evbus_event_t *ev, evbus_err_t err, const char *msg, void *o) {
    (void)ev;
    res_t *r = o;
    r->err[i] = err;
    snprintf(r->msg[i], sizeof(r->msg[i]), "%s", msg ? msg : "");
    r->n++;
}

static void test_isolated_broker_less(void **state) {
    (void)state;
    char err[512], line[64];
    unlink(g_out);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_load_plugin(d, cu_plugin("crashing"), EVBUS_PLUGIN_LOAD_ISOLATE, 400,
                                                  NULL, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_dispatcher_load_plugin(d, cu_plugin("hanging"), EVBUS_PLUGIN_LOAD_ISOLATE, 400,
                                                  NULL, err, sizeof(err)), EVBUS_OK);
    const char *evs =
        "[{\"type\":\"org.evbus.test.x\",\"id\":\"a\",\"data\":{\"action\":\"ok\"}},"
        "{\"type\":\"org.evbus.test.x\",\"id\":\"b\",\"data\":{\"action\":\"crash\"}},"
        "{\"type\":\"org.evbus.test.x\",\"id\":\"c\",\"data\":{\"action\":\"hang\"}},"
        "{\"type\":\"org.evbus.test.x\",\"id\":\"d\",\"data\":{\"action\":\"ok\"}}]";
    res_t r = {0};
    int64_t t0 = tu_now_us();
    assert_int_equal(evbus_dispatcher_process_json(d, evs, strlen(evs), on_res, &r, NULL, err, sizeof(err)),
                     EVBUS_ERR_HANDLER);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.err[0], EVBUS_OK);
    assert_int_equal(r.err[1], EVBUS_ERR_HANDLER);
    assert_non_null(strstr(r.msg[1], "test-crashing"));
    assert_non_null(strstr(r.msg[1], "restarted"));
    assert_int_equal(r.err[2], EVBUS_ERR_TIMEOUT);
    assert_non_null(strstr(r.msg[2], "test-hanging"));
    assert_int_equal(r.err[3], EVBUS_OK); /* both children restarted and working */
    assert_true(tu_now_us() - t0 >= 400 * 1000);
    assert_int_equal(cu_file_count(g_out, "crash-ok d"), 1);
    assert_int_equal(cu_file_count(g_out, "hang-ok d"), 1);
    assert_int_equal(cu_file_count(g_out, "crashing b"), 1);
    /* it ran in another process */
    snprintf(line, sizeof(line), "crash-ok a %d", (int)getpid());
    assert_int_equal(cu_file_count(g_out, line), 0);
    evbus_dispatcher_destroy(d);
}

typedef struct wait_s { evbus_consumer_t *c; } wait_t;
static int done_pred(void *arg) {
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(((wait_t *)arg)->c, &st);
    return st.handled >= 2 && st.dead_lettered >= 2;
}

static void test_isolated_on_broker(void **state) {
    (void)state;
    char err[512];
    unlink(g_out);
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-iso"), *group = tu_unique_name("grp");
    rd_kafka_t *p = cu_producer(bs);
    cu_produce_event(p, topic, 0, "ok", 0, "ok", 0);
    cu_produce_event(p, topic, 0, "crash", 1, "crash", 0);
    cu_produce_event(p, topic, 0, "hang", 2, "hang", 0);
    cu_produce_event(p, topic, 0, "ok", 3, "ok", 0);
    cu_flush(p);

    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    evbus_conf_t *conf = cu_conf(bs, group);
    cu_set(conf, "plugin.isolate", "true");
    /* Two defaults changed: handler.timeout.ms 300 ms instead of 30 s and retry.max 1 instead
     * of 3, or the hanging plugin alone would hold this test for 2 minutes.  The defaults are
     * covered by ftest_consumer_plugins under scripts/test --long. */
    cu_set(conf, "handler.timeout.ms", "300");
    cu_set(conf, "retry.max", "1");
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    assert_int_equal(evbus_consumer_load_plugin(c, cu_plugin("crashing"), err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_consumer_load_plugin(c, cu_plugin("hanging"), err, sizeof(err)), EVBUS_OK);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    cu_runner_t r;
    cu_start(&r, c);
    wait_t w = {c};
    assert_true(cu_wait(done_pred, &w, 60000));
    cu_stop(&r);
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &st);
    assert_int_equal(st.handled, 2);
    assert_int_equal(st.dead_lettered, 2);
    assert_int_equal(cu_file_count(g_out, "crashing ev-crash-1"), 2); /* tried, retried */
    assert_int_equal(cu_file_count(g_out, "hanging ev-hang-2"), 2);
    assert_int_equal(cu_file_count(g_out, "hang-ok ev-ok-3"), 1);

    char dlq[512];
    snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
    cu_msgs_t ms = {0};
    assert_int_equal(cu_read_topic(bs, dlq, &ms, 2, 30000), 2);
    int seen = 0;
    for (size_t i = 0; i < ms.n; i++) {
        char *id = cu_header(ms.m[i], "ce_id"), *h = cu_header(ms.m[i], "evbus_handler");
        char *code = cu_header(ms.m[i], "evbus_error_code"), *att = cu_header(ms.m[i], "evbus_attempts");
        assert_string_equal(att, "2");
        if (!strcmp(id, "ev-crash-1")) {
            assert_string_equal(h, "test-crashing");
            assert_string_equal(code, "ERR_HANDLER");
            seen |= 1;
        } else {
            assert_string_equal(id, "ev-hang-2");
            assert_string_equal(h, "test-hanging");
            assert_string_equal(code, "ERR_TIMEOUT");
            seen |= 2;
        }
        free(id); free(h); free(code); free(att);
    }
    assert_int_equal(seen, 3);
    cu_msgs_free(&ms);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loading),
        cmocka_unit_test(test_isolated_broker_less),
        cmocka_unit_test(test_isolated_on_broker),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
