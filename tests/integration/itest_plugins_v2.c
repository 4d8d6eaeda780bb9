/* Plugin ABI v2 and the veto on received events: settings reach a v2 plugin's enabled()/init()
 * (in-process and isolated) in their order of precedence, a disabled plugin says why, v1 plugins
 * still load, a subscription can be overridden; a filter plugin vetoes events broker-less and on
 * the embedded broker, where the vetoed events are committed (default) or dead-lettered
 * (received.veto=dlq), and no handler ever sees them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

typedef struct disabled_s {
    int calls;
    char name[64], reason[256];
} disabled_t;
static void on_disabled(const char *path, const char *name, const char *reason, void *opaque) {
    disabled_t *d = opaque;
    assert_non_null(strstr(path, "configured"));
    d->calls++;
    snprintf(d->name, sizeof(d->name), "%s", name);
    snprintf(d->reason, sizeof(d->reason), "%s", reason ? reason : "(none)");
}

static evbus_conf_t *settings_conf(void) {
    evbus_conf_t *conf = evbus_conf_new();
    assert_non_null(conf);
    cu_set(conf, "consumer.group", "grp-v2");
    cu_set(conf, "sasl.password", "hunter2");
    return conf;
}

static void test_v2_settings(void **state) {
    (void)state;
    char err[512];
    int n = -1;
    unlink(g_out);
    unsetenv("EVBUS_PLUGIN_TEST_CONFIGURED_LABEL");
    evbus_conf_t *conf = settings_conf();
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    disabled_t dis = {0};
    evbus_plugin_opts_t o = EVBUS_PLUGIN_OPTS_INIT;
    o.conf = conf;
    o.on_disabled = on_disabled;
    o.opaque = &dis;

    /* No label anywhere: enabled() says no, with its reason, once. */
    assert_int_equal(evbus_dispatcher_load_plugins(d, cu_plugin("configured"), &o, &n, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(dis.calls, 1);
    assert_string_equal(dis.name, "test-configured");
    assert_string_equal(dis.reason, "no \"label\" setting");
    assert_non_null(strstr(err, "test-configured: not enabled: no \"label\" setting"));
    assert_int_equal(cu_file_count(g_out, "init"), 0);

    /* The environment is the last source of a plugin's own settings... */
    setenv("EVBUS_PLUGIN_TEST_CONFIGURED_LABEL", "from-env", 1);
    assert_int_equal(evbus_dispatcher_load_plugins(d, cu_plugin("configured"), &o, &n, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(cu_file_count(g_out, "init:test-configured:label=from-env:group=grp-v2:secret=(null)"), 1);
    /* ...the config file's settings beat it... */
    const char *settings[] = {"label", "from-file", NULL};
    o.settings = settings;
    assert_int_equal(evbus_dispatcher_load_plugins(d, cu_plugin("configured"), &o, &n, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(cu_file_count(g_out, "init:test-configured:label=from-file:"), 1);
    /* ...and the host's configuration (-X) beats both; isolated, init runs in the child. */
    cu_set(conf, "plugin.test-configured.label", "from-x");
    o.flags = EVBUS_PLUGIN_LOAD_ISOLATE;
    o.timeout_ms = 5000;
    const char *only[] = {"org.evbus.only.*", NULL};
    o.subscriptions = only;
    assert_int_equal(evbus_dispatcher_load_plugins(d, cu_plugin("configured"), &o, &n, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(n, 1);
    char line[256];
    snprintf(line, sizeof(line), "init:test-configured:label=from-x:group=grp-v2:secret=(null) - %d", (int)getpid());
    assert_int_equal(cu_file_count(g_out, "init:test-configured:label=from-x:"), 1);
    assert_int_equal(cu_file_count(g_out, line), 0); /* not in this process */
    /* "enabled": "false" from the file switches it off, with the plugin's reason. */
    const char *off[] = {"label", "x", "enabled", "false", NULL};
    o.settings = off;
    o.subscriptions = NULL;
    o.flags = 0;
    assert_int_equal(evbus_dispatcher_load_plugins(d, cu_plugin("configured"), &o, &n, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(n, 0);
    assert_string_equal(dis.reason, "switched off by its \"enabled\" setting");
    /* A v1 plugin loads unchanged through the same call (its source says ABI 2's macro). */
    o.settings = NULL;
    assert_int_equal(evbus_dispatcher_load_plugins(d, cu_plugin("ok"), &o, &n, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(n, 1);
    /* Bad options. */
    evbus_plugin_opts_t small = o;
    small.size = sizeof(small) - 1;
    assert_int_equal(evbus_dispatcher_load_plugins(d, cu_plugin("ok"), &small, &n, err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    const char *odd[] = {"label", NULL};
    o.settings = odd;
    assert_int_equal(evbus_dispatcher_load_plugins(d, cu_plugin("ok"), &o, &n, err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);

    const char *evs = "[{\"type\":\"org.evbus.test.a\",\"id\":\"e1\",\"data\":{}},"
                      "{\"type\":\"org.evbus.only.b\",\"id\":\"e2\",\"data\":{}}]";
    assert_int_equal(evbus_dispatcher_process_json(d, evs, strlen(evs), NULL, NULL, NULL, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(cu_file_count(g_out, "cfg:from-env e1"), 1);
    assert_int_equal(cu_file_count(g_out, "cfg:from-file e1"), 1);
    assert_int_equal(cu_file_count(g_out, "cfg:from-x e1"), 0); /* subscription overridden */
    assert_int_equal(cu_file_count(g_out, "cfg:from-x e2"), 1);
    assert_int_equal(cu_file_count(g_out, "ok e1"), 1);
    evbus_dispatcher_destroy(d);
    evbus_conf_destroy(conf);
    unsetenv("EVBUS_PLUGIN_TEST_CONFIGURED_LABEL");
}

/* examples/plugin: a configured v2 plugin, off by its "enabled" setting (with the reason). */
static void test_example_plugin(void **state) {
    (void)state;
    char err[512], path[1024];
    int n = -1;
    snprintf(path, sizeof(path), "%s/examples/evbus_example_plugin.so", EVBUS_TEST_BUILDDIR);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    evbus_plugin_opts_t o = EVBUS_PLUGIN_OPTS_INIT;
    const char *off[] = {"enabled", "false", NULL};
    o.settings = off;
    assert_int_equal(evbus_dispatcher_load_plugins(d, path, &o, &n, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(n, 0);
    assert_string_equal(err, "example-logger: not enabled: plugin.example-logger.enabled is false");
    const char *on[] = {"label", "itest", "types", "org.evbus.*", NULL};
    o.settings = on;
    assert_int_equal(evbus_dispatcher_load_plugins(d, path, &o, &n, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(n, 1);
    const char *evs = "[{\"type\":\"org.evbus.x\",\"id\":\"x1\",\"data\":{\"a\":1}}]";
    size_t nfailed = 9;
    assert_int_equal(evbus_dispatcher_process_json(d, evs, strlen(evs), NULL, NULL, &nfailed, err, sizeof(err)),
                     EVBUS_OK);
    assert_int_equal(nfailed, 0);
    evbus_dispatcher_destroy(d);
}

/* Records which events its handler saw, and the rejected lifecycle events. */
typedef struct rec_s {
    cu_seen_t seen, rejected;
    char last_rejected[512];
} rec_t;
static evbus_err_t rec_handler(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)errstr; (void)n;
    cu_seen_add(&((rec_t *)opaque)->seen, evbus_event_id(ev));
    return EVBUS_OK;
}
static evbus_err_t rec_rejected(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)errstr; (void)n;
    rec_t *r = opaque;
    pthread_mutex_lock(&r->rejected.mu);
    snprintf(r->last_rejected, sizeof(r->last_rejected), "%s", evbus_event_json(ev, NULL));
    pthread_mutex_unlock(&r->rejected.mu);
    cu_seen_add(&r->rejected, evbus_event_id(ev));
    return EVBUS_OK;
}
static evbus_err_t failing_observer(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)ev; (void)opaque;
    snprintf(errstr, n, "an async subscriber cannot veto");
    return EVBUS_ERR_HANDLER;
}

static void rec_init(rec_t *r) {
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->seen.mu, NULL);
    pthread_mutex_init(&r->rejected.mu, NULL);
}

static void rec_free(rec_t *r) {
    cu_seen_free(&r->seen);
    cu_seen_free(&r->rejected);
}

static evbus_dispatcher_t *filter_dispatcher_iso(rec_t *r, const char *types, const char *keys,
                                                 int isolate);
static evbus_dispatcher_t *filter_dispatcher(rec_t *r, const char *types, const char *keys) {
    return filter_dispatcher_iso(r, types, keys, 0);
}

static evbus_dispatcher_t *filter_dispatcher_iso(rec_t *r, const char *types, const char *keys,
                                                 int isolate) {
    char err[512];
    int n = 0;
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    /* Subscribed before the filter: an async observer of received that fails vetoes nothing. */
    assert_int_equal(evbus_dispatcher_subscribe(d, EVBUS_LC_EVENT_RECEIVED, failing_observer, NULL, NULL,
                                                EVBUS_HANDLER_ASYNC, "async-observer"), EVBUS_OK);
    const char *settings[] = {types ? "types" : "keys", types ? types : keys, NULL};
    evbus_plugin_opts_t o = EVBUS_PLUGIN_OPTS_INIT;
    o.settings = settings;
    o.flags = isolate ? EVBUS_PLUGIN_LOAD_ISOLATE : 0;
    assert_int_equal(evbus_dispatcher_load_plugins(d, cu_plugin("filter"), &o, &n, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(evbus_dispatcher_subscribe(d, "org.*", rec_handler, r, NULL, 0, "recorder"), EVBUS_OK);
    assert_int_equal(evbus_dispatcher_subscribe(d, EVBUS_LC_EVENT_REJECTED, rec_rejected, r, NULL, 0, "rej"),
                     EVBUS_OK);
    return d;
}

typedef struct res_s { evbus_err_t err[8]; char msg[8][256]; int n; } res_t;
static void on_res(size_t i, const evbus_event_t *ev, evbus_err_t err, const char *msg, void *o) {
    (void)ev;
    res_t *r = o;
    r->err[i] = err;
    snprintf(r->msg[i], sizeof(r->msg[i]), "%s", msg ? msg : "");
    r->n++;
}

static void test_veto_broker_less(void **state) {
    (void)state;
    char err[512];
    rec_t r;
    rec_init(&r);
    evbus_dispatcher_t *d = filter_dispatcher(&r, "org.evbus.spam.*,org.evbus.junk", NULL);
    const char *evs = "[{\"type\":\"org.evbus.keep\",\"id\":\"k1\",\"data\":{}},"
                      "{\"type\":\"org.evbus.spam.x\",\"id\":\"s1\",\"data\":{}},"
                      "{\"type\":\"org.evbus.junk\",\"id\":\"j1\",\"data\":{}},"
                      "{\"type\":\"org.evbus.keep\",\"id\":\"k2\",\"data\":{}}]";
    res_t res = {0};
    size_t nfailed = 0;
    assert_int_equal(evbus_dispatcher_process_json(d, evs, strlen(evs), on_res, &res, &nfailed, err, sizeof(err)),
                     EVBUS_ERR_HANDLER);
    assert_int_equal(nfailed, 2);
    assert_int_equal(res.err[0], EVBUS_OK);
    assert_int_equal(res.err[1], EVBUS_ERR_REJECTED);
    assert_string_equal(res.msg[1], "test-filter: filtered out: type org.evbus.spam.x key -");
    assert_int_equal(res.err[2], EVBUS_ERR_REJECTED);
    assert_int_equal(res.err[3], EVBUS_OK);
    assert_int_equal(evbus_dispatcher_drain(d, 10000), 0);
    /* Handlers never saw the vetoed events; each was announced once, naming the filter. */
    assert_int_equal(cu_seen_n(&r.seen), 2);
    assert_true(cu_seen_has(&r.seen, "k1") && cu_seen_has(&r.seen, "k2"));
    assert_int_equal(cu_seen_n(&r.rejected), 2);
    assert_true(cu_seen_has(&r.rejected, "s1") && cu_seen_has(&r.rejected, "j1"));
    assert_int_equal(r.rejected.calls, 2);
    assert_non_null(strstr(r.last_rejected, "\"handler\":\"test-filter\""));
    assert_non_null(strstr(r.last_rejected, "\"error\":\"filtered out: type org.evbus.junk key -\""));
    evbus_dispatcher_stats_t st = EVBUS_DISPATCHER_STATS_INIT;
    evbus_dispatcher_stats(d, &st);
    assert_int_equal(st.rejected, 2);
    assert_int_equal(st.dispatched, 4);
    evbus_dispatcher_destroy(d);
    rec_free(&r);
}

/* An isolated filter (its veto travels back from the child) that gets its settings there. */
static void test_veto_isolated(void **state) {
    (void)state;
    char err[512];
    rec_t r;
    rec_init(&r);
    unlink(g_out);
    evbus_dispatcher_t *d = filter_dispatcher_iso(&r, "org.evbus.spam.*", NULL, 1);
    const char *evs = "[{\"type\":\"org.evbus.spam.x\",\"id\":\"s1\",\"data\":{}},"
                      "{\"type\":\"org.evbus.keep\",\"id\":\"k1\",\"data\":{}}]";
    res_t res = {0};
    assert_int_equal(evbus_dispatcher_process_json(d, evs, strlen(evs), on_res, &res, NULL, err, sizeof(err)),
                     EVBUS_ERR_HANDLER);
    assert_int_equal(res.err[0], EVBUS_ERR_REJECTED);
    assert_int_equal(res.err[1], EVBUS_OK);
    assert_int_equal(r.seen.calls, 1);
    assert_true(cu_seen_has(&r.seen, "k1"));
    char line[64];
    snprintf(line, sizeof(line), "veto s1 %d", (int)getpid());
    assert_int_equal(cu_file_count(g_out, "veto s1 "), 1);
    assert_int_equal(cu_file_count(g_out, line), 0); /* decided in the child */
    evbus_dispatcher_destroy(d);
    rec_free(&r);
}

typedef struct wait_s { evbus_consumer_t *c; uint64_t handled, rejected, dead; } wait_t;
static int counts_pred(void *arg) {
    wait_t *w = arg;
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(w->c, &st);
    return st.handled >= w->handled && st.rejected >= w->rejected && st.dead_lettered >= w->dead;
}

/* 6 events on the embedded broker, keys k0..k5; the filter vetoes k1 and k5 (the last: the
 * committed offset then shows a vetoed event is committed itself). */
static void run_on_broker(int dlq_mode) {
    char err[512];
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-veto"), *group = tu_unique_name("grp");
    rd_kafka_t *p = cu_producer(bs);
    for (int i = 0; i < 6; i++)
        cu_produce_event(p, topic, 0, "v", i, "ok", 0);
    cu_flush(p);
    rec_t r;
    rec_init(&r);
    evbus_dispatcher_t *d = filter_dispatcher(&r, NULL, "k1,k5");
    evbus_conf_t *conf = cu_conf(bs, group);
    if (dlq_mode) /* the default (commit) is the other run of this function */
        cu_set(conf, "received.veto", "dlq");
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    cu_runner_t run;
    cu_start(&run, c);
    wait_t w = {c, 4, 2, dlq_mode ? 2 : 0};
    assert_true(cu_wait(counts_pred, &w, 60000));
    cu_stop(&run);
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &st);
    assert_int_equal(st.handled, 4);
    assert_int_equal(st.rejected, 2);
    assert_int_equal(st.retries, 0); /* a veto is never retried */
    assert_int_equal(st.dead_lettered, dlq_mode ? 2 : 0);
    assert_false(cu_seen_has(&r.seen, "ev-v-1"));
    assert_false(cu_seen_has(&r.seen, "ev-v-5"));
    assert_int_equal(cu_seen_n(&r.seen), 4);
    assert_int_equal(r.rejected.calls, 2);
    evbus_consumer_destroy(c);

    char dlq[512];
    snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
    cu_msgs_t ms = {0};
    if (dlq_mode) {
        assert_int_equal(cu_read_topic(bs, dlq, &ms, 2, 30000), 2);
        for (size_t i = 0; i < ms.n; i++) {
            char *id = cu_header(ms.m[i], "ce_id"), *h = cu_header(ms.m[i], "evbus_handler");
            char *code = cu_header(ms.m[i], "evbus_error_code");
            assert_true(!strcmp(id, "ev-v-1") || !strcmp(id, "ev-v-5"));
            assert_string_equal(h, "test-filter");
            assert_string_equal(code, "ERR_REJECTED");
            free(id); free(h); free(code);
        }
        cu_msgs_free(&ms);
    }

    /* Committed, vetoed ones included: the group's offset is past all six (asked of the
     * coordinator directly; a second member would wait out the first one's session). */
    char kerr[256];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(kc, "bootstrap.servers", bs, kerr, sizeof(kerr)), RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(kc, "group.id", group, kerr, sizeof(kerr)), RD_KAFKA_CONF_OK);
    rd_kafka_t *q = rd_kafka_new(RD_KAFKA_CONSUMER, kc, kerr, sizeof(kerr));
    assert_non_null(q);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, 0);
    assert_int_equal(rd_kafka_committed(q, l, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(l->elems[0].offset, 6);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(q);
    evbus_dispatcher_destroy(d);
    rec_free(&r);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

static void test_veto_commit_on_broker(void **state) { (void)state; run_on_broker(0); }
static void test_veto_dlq_on_broker(void **state) { (void)state; run_on_broker(1); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_settings),
        cmocka_unit_test(test_example_plugin),
        cmocka_unit_test(test_veto_broker_less),
        cmocka_unit_test(test_veto_isolated),
        cmocka_unit_test(test_veto_commit_on_broker),
        cmocka_unit_test(test_veto_dlq_on_broker),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
