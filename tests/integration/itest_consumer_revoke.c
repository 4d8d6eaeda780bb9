/* A revocation while a handler is being retried, on the embedded broker.  The group coordinator
 * answers a heartbeat with REBALANCE_IN_PROGRESS: librdkafka revokes the partition, rejoins and
 * assigns it back to the same (only) member.  The revocation must not wait for the retries
 * (they outlast max.poll.interval.ms, and the member would be thrown out of the group): it ends
 * the retries, leaves the event uncommitted and hands the partition back; the event is then
 * redelivered, and the handler that had already succeeded for it is not run again.  The same
 * during a schema registry outage (the lookup retried), and with the cooperative protocol.
 * Every step is reached by waiting for a state. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "codec.h"
#include "framing.h"
#include "headers.h"
#include "testutil.h"

/* Kafka protocol API key of Heartbeat (librdkafka's own name for it is not public). */
#define API_HEARTBEAT 12

typedef struct calls_s {
    pthread_mutex_t mu;
    int ok, bad;
} calls_t;

static int calls_ok(calls_t *k) {
    pthread_mutex_lock(&k->mu);
    int n = k->ok;
    pthread_mutex_unlock(&k->mu);
    return n;
}

static int calls_bad(calls_t *k) {
    pthread_mutex_lock(&k->mu);
    int n = k->bad;
    pthread_mutex_unlock(&k->mu);
    return n;
}

static evbus_err_t ok_handler(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)ev; (void)errstr; (void)n;
    calls_t *k = opaque;
    pthread_mutex_lock(&k->mu);
    k->ok++;
    pthread_mutex_unlock(&k->mu);
    return EVBUS_OK;
}

static evbus_err_t bad_handler(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)ev;
    calls_t *k = opaque;
    pthread_mutex_lock(&k->mu);
    k->bad++;
    pthread_mutex_unlock(&k->mu);
    snprintf(errstr, n, "downstream unavailable");
    return EVBUS_ERR_HANDLER;
}

static int bad_once(void *arg) { return calls_bad(arg) >= 1; }
static int bad_twice(void *arg) { return calls_bad(arg) >= 2; }

static void test_revoke_ends_retries(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-revoke"), *group = tu_unique_name("grp");
    assert_int_equal(rd_kafka_mock_topic_create(tu_mock_cluster(m), topic, 1, 1), 0);
    rd_kafka_t *p = cu_producer(bs);
    cu_produce_event(p, topic, 0, "a", 0, "ok", 0);
    cu_flush(p);

    calls_t k = {.mu = PTHREAD_MUTEX_INITIALIZER};
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, ok_handler, &k, NULL, 0, "ok"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, bad_handler, &k, NULL, 0, "bad"), 0);
    char err[512];
    evbus_conf_t *conf = cu_conf(bs, group);
    /* Retries 10 minutes apart (default 100 ms, doubling to 10 s): a retry that outlasts
     * max.poll.interval.ms (default 5 minutes), as a long registry outage does.  The test waits
     * far less than that, so a retry never comes within it. */
    cu_set(conf, "retry.backoff.ms", "600000");
    cu_set(conf, "retry.backoff.max.ms", "600000");
    /* The embedded broker answers the member's rejoin only once its session timed out
     * (default 45 s): 6 s, the least a broker accepts, keeps the test short. */
    cu_set(conf, "kafka.session.timeout.ms", "6000");
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    cu_runner_t r;
    cu_start(&r, c);

    assert_true(cu_wait(bad_once, &k, 60000)); /* first try failed; the retry waits */
    assert_int_equal(calls_ok(&k), 1);
    /* The coordinator starts a rebalance: the next heartbeat is refused, the partition revoked. */
    rd_kafka_mock_push_request_errors(tu_mock_cluster(m), API_HEARTBEAT, 1,
                                      RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
    /* The revocation ended the retry and the partition came back: the event is redelivered
     * (it was not committed), and only the handler that failed runs again. */
    assert_true(cu_wait(bad_twice, &k, 60000));
    assert_int_equal(calls_ok(&k), 1);
    assert_int_equal(cu_committed(bs, group, topic, 1), 0);
    evbus_consumer_stats_t cs = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &cs);
    assert_int_equal(cs.handled, 0);
    assert_int_equal(cs.dead_lettered, 0);

    cu_stop(&r); /* stopping leaves the event again, uncommitted */
    assert_int_equal(r.err, EVBUS_OK);
    assert_int_equal(cu_committed(bs, group, topic, 1), 0);
    assert_int_equal(calls_ok(&k), 1);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

/* A handler that does not return: the revocation waits for it at most half of
 * max.poll.interval.ms, then lets go (logged), the event uncommitted. */
typedef struct stuck_s {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int open, calls, let_go;
} stuck_t;

static evbus_err_t stuck_handler(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)ev; (void)errstr; (void)n;
    stuck_t *k = opaque;
    pthread_mutex_lock(&k->mu);
    k->calls++;
    while (!k->open)
        pthread_cond_wait(&k->cond, &k->mu);
    pthread_mutex_unlock(&k->mu);
    return EVBUS_OK;
}

static void stuck_log(int level, const char *subsystem, const char *msg,
                      const evbus_log_fields_t *f, void *opaque) {
    (void)level; (void)subsystem; (void)f;
    stuck_t *k = opaque;
    if (strstr(msg, "workers still busy")) {
        pthread_mutex_lock(&k->mu);
        k->let_go++;
        pthread_mutex_unlock(&k->mu);
    }
}

static int stuck_called(void *arg) {
    stuck_t *k = arg;
    pthread_mutex_lock(&k->mu);
    int n = k->calls;
    pthread_mutex_unlock(&k->mu);
    return n >= 1;
}

static int stuck_let_go(void *arg) {
    stuck_t *k = arg;
    pthread_mutex_lock(&k->mu);
    int n = k->let_go;
    pthread_mutex_unlock(&k->mu);
    return n >= 1;
}

static void test_revoke_wait_bounded(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-revoke-stuck"), *group = tu_unique_name("grp");
    assert_int_equal(rd_kafka_mock_topic_create(tu_mock_cluster(m), topic, 1, 1), 0);
    rd_kafka_t *p = cu_producer(bs);
    cu_produce_event(p, topic, 0, "a", 0, "ok", 0);
    cu_flush(p);

    stuck_t k = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, stuck_handler, &k, NULL, 0, "stuck"), 0);
    char err[512];
    evbus_conf_t *conf = cu_conf(bs, group);
    /* As above: the embedded broker answers a rejoin after a session timeout. */
    cu_set(conf, "kafka.session.timeout.ms", "6000");
    /* 10 s instead of 5 minutes, so that the revocation's bound (half of it) comes within
     * the test; librdkafka wants it no shorter than the session timeout. */
    cu_set(conf, "kafka.max.poll.interval.ms", "10000");
    evbus_conf_set_log_cb(conf, stuck_log, &k);
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    cu_runner_t r;
    cu_start(&r, c);

    assert_true(cu_wait(stuck_called, &k, 60000));
    rd_kafka_mock_push_request_errors(tu_mock_cluster(m), API_HEARTBEAT, 1,
                                      RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
    /* The revocation gave up waiting for the handler (before, it waited for good). */
    assert_true(cu_wait(stuck_let_go, &k, 60000));
    assert_int_equal(cu_committed(bs, group, topic, 1), 0); /* not committed */
    pthread_mutex_lock(&k.mu);
    k.open = 1;
    pthread_cond_broadcast(&k.cond);
    pthread_mutex_unlock(&k.mu);
    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

/* Cooperative rebalancing: a second member joins while partition 0's event waits for a long
 * retry.  Only some partitions move; whichever they are, the revocation must not wait for
 * that retry (before, it waited for every partition's work, retries included). */
static evbus_err_t fail_part0(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    calls_t *k = opaque;
    pthread_mutex_lock(&k->mu);
    k->bad++;
    pthread_mutex_unlock(&k->mu);
    if (evbus_event_partition(ev) != 0)
        return EVBUS_OK;
    snprintf(errstr, n, "downstream unavailable");
    return EVBUS_ERR_HANDLER;
}

static evbus_err_t count_ok(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)ev; (void)errstr; (void)n;
    calls_t *k = opaque;
    pthread_mutex_lock(&k->mu);
    k->ok++;
    pthread_mutex_unlock(&k->mu);
    return EVBUS_OK;
}

static int ok_once(void *arg) { return calls_ok(arg) >= 1; }

static evbus_consumer_t *coop_consumer(const char *bs, const char *group, const char *topic,
                                       evbus_handler_fn fn, calls_t *k, evbus_dispatcher_t **dp) {
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, fn, k, NULL, 0, "h"), 0);
    char err[512];
    evbus_conf_t *conf = cu_conf(bs, group);
    /* The cooperative protocol (default: eager range/roundrobin): what this test is about. */
    cu_set(conf, "kafka.partition.assignment.strategy", "cooperative-sticky");
    /* As above: the embedded broker answers a rejoin after a session timeout; retries far
     * apart, so that one never comes within the test. */
    cu_set(conf, "kafka.session.timeout.ms", "6000");
    cu_set(conf, "retry.backoff.ms", "600000");
    cu_set(conf, "retry.backoff.max.ms", "600000");
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    *dp = d;
    return c;
}

static void test_cooperative_revoke(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-revoke-coop"), *group = tu_unique_name("grp");
    assert_int_equal(rd_kafka_mock_topic_create(tu_mock_cluster(m), topic, 4, 1), 0);
    rd_kafka_t *p = cu_producer(bs);
    cu_produce_event(p, topic, 0, "a", 0, "ok", 0);
    cu_flush(p);

    calls_t ka = {.mu = PTHREAD_MUTEX_INITIALIZER}, kb = {.mu = PTHREAD_MUTEX_INITIALIZER};
    evbus_dispatcher_t *da, *db;
    evbus_consumer_t *a = coop_consumer(bs, group, topic, fail_part0, &ka, &da);
    cu_runner_t ra, rb;
    cu_start(&ra, a);
    assert_true(cu_wait(bad_once, &ka, 60000)); /* partition 0's event waits for its retry */

    evbus_consumer_t *b = coop_consumer(bs, group, topic, count_ok, &kb, &db);
    cu_start(&rb, b);
    /* One event on every partition: the new member handles those of what it was given, once
     * the rebalance is through. */
    for (int32_t part = 1; part < 4; part++)
        cu_produce_event(p, topic, part, "b", part, "ok", 0);
    cu_flush(p);
    assert_true(cu_wait(ok_once, &kb, 60000));
    assert_int_equal(cu_committed(bs, group, topic, 1), 0); /* partition 0: not committed */

    cu_stop(&rb);
    assert_int_equal(rb.err, EVBUS_OK);
    cu_stop(&ra);
    assert_int_equal(ra.err, EVBUS_OK);
    evbus_consumer_destroy(b);
    evbus_consumer_destroy(a);
    evbus_dispatcher_destroy(db);
    evbus_dispatcher_destroy(da);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

/* The case: the schema registry is down (503), so the event's schema lookup is retried
 * with backoff; a revocation then must not wait for those retries either. */
static int transient_n(evbus_consumer_t *c, uint64_t n) {
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &st);
    return st.transient_errors >= n;
}
static int transient_once(void *arg) { return transient_n(arg, 1); }
static int transient_twice(void *arg) { return transient_n(arg, 2); }

static tu_registry_t *g_down; /* stopped by the teardown, also when the test fails */

static int stop_registry(void **state) {
    (void)state;
    tu_registry_stop(g_down);
    g_down = NULL;
    return 0;
}

static void test_revoke_during_registry_outage(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-revoke-reg"), *group = tu_unique_name("grp");
    assert_int_equal(rd_kafka_mock_topic_create(tu_mock_cluster(m), topic, 1, 1), 0);
    rd_kafka_t *p = cu_producer(bs);
    /* Confluent framing, schema id 1: the registry is needed to read it */
    char json[128], err[512];
    snprintf(json, sizeof(json), "{\"id\":\"ev-reg-0\",\"n\":0,\"action\":\"ok\"}");
    evbus__buf_t v = EVBUS__BUF_INIT;
    assert_int_equal(evbus__framing_write_confluent(&v, 1), 0);
    if (evbus__avro_encode_json(cu_doc()->root, json, strlen(json), &v, err, sizeof(err)) != EVBUS_OK)
        fail_msg("encode: %s", err);
    evbus__header_values_t hv = {.type = CU_TYPE, .id = "ev-reg-0"};
    rd_kafka_headers_t *h = evbus__headers_build(&hv, "test-host");
    assert_non_null(h);
    cu_produce_raw(p, topic, 0, v.data, v.len, "k", 1, h, 0);
    evbus__buf_free(&v);
    cu_flush(p);

    tu_registry_t *down = g_down = tu_registry_start("--fail-status", "503", NULL);
    calls_t k = {.mu = PTHREAD_MUTEX_INITIALIZER};
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, ok_handler, &k, NULL, 0, "ok"), 0);
    evbus_conf_t *conf = cu_conf(bs, group);
    cu_set(conf, "schema.registry.url", down->url);
    /* As above: lookups retried 10 minutes apart (an outage longer than max.poll.interval.ms),
     * and the embedded broker's rejoin answered after a 6 s session timeout. */
    cu_set(conf, "retry.backoff.ms", "600000");
    cu_set(conf, "retry.backoff.max.ms", "600000");
    cu_set(conf, "kafka.session.timeout.ms", "6000");
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    cu_runner_t r;
    cu_start(&r, c);

    assert_true(cu_wait(transient_once, c, 60000)); /* the lookup failed; its retry waits */
    rd_kafka_mock_push_request_errors(tu_mock_cluster(m), API_HEARTBEAT, 1,
                                      RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
    /* revoked without waiting, assigned back: the event comes again and is looked up again */
    assert_true(cu_wait(transient_twice, c, 60000));
    assert_int_equal(cu_committed(bs, group, topic, 1), 0);
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &st);
    assert_int_equal(st.handled, 0);
    assert_int_equal(st.dead_lettered, 0); /* an outage is never dead-lettered */
    assert_int_equal(calls_ok(&k), 0);

    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_revoke_during_registry_outage, stop_registry),
        cmocka_unit_test(test_cooperative_revoke),
        cmocka_unit_test(test_revoke_ends_retries),
        cmocka_unit_test(test_revoke_wait_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
