/* Consumer policy on the embedded broker, at the default settings: handlers of one event are
 * independent (each failing one is named in the DLQ record and the dead_lettered event, a
 * retry re-runs only those, a handler may subscribe from inside a handler); a DLQ write that
 * fails is retried with backoff while the partition waits; consumer.max.consecutive.errors
 * stops the consumer with the event left uncommitted. */
#include <jansson.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef struct calls_s {
    pthread_mutex_t mu;
    int a, b, c, d, late; /* calls for ev-h-0 */
    int other;            /* calls for the other events, all handlers */
    int late_other;
    evbus_dispatcher_t *disp;
    int subscribed;
    evbus_err_t sub_err;
    char last_dead[2048];
    int dead;
} calls_t;

static int is_first(const evbus_event_t *ev) { return !strcmp(evbus_event_id(ev), "ev-h-0"); }

static evbus_err_t late(const evbus_event_t *ev, void *o, char *e, size_t n) {
    (void)e; (void)n;
    calls_t *c = o;
    pthread_mutex_lock(&c->mu);
    if (is_first(ev))
        c->late++;
    else
        c->late_other++;
    pthread_mutex_unlock(&c->mu);
    return EVBUS_OK;
}

/* Always succeeds; on its first call subscribes "late" through the consumer's dispatcher. */
static evbus_err_t a_ok(const evbus_event_t *ev, void *o, char *e, size_t n) {
    (void)e; (void)n;
    calls_t *c = o;
    pthread_mutex_lock(&c->mu);
    int first_call = !c->subscribed;
    c->subscribed = 1;
    if (is_first(ev))
        c->a++;
    else
        c->other++;
    pthread_mutex_unlock(&c->mu);
    if (first_call)
        c->sub_err = evbus_dispatcher_subscribe(c->disp, CU_TYPE, late, c, NULL, 0, "late");
    return EVBUS_OK;
}

/* Fails its first two calls for ev-h-0, then succeeds. */
static evbus_err_t b_flaky(const evbus_event_t *ev, void *o, char *e, size_t n) {
    calls_t *c = o;
    pthread_mutex_lock(&c->mu);
    int k = is_first(ev) ? ++c->b : (c->other++, 99);
    pthread_mutex_unlock(&c->mu);
    if (k <= 2) {
        snprintf(e, n, "b flaked");
        return EVBUS_ERR_HANDLER;
    }
    return EVBUS_OK;
}

static evbus_err_t c_bad(const evbus_event_t *ev, void *o, char *e, size_t n) {
    calls_t *c = o;
    pthread_mutex_lock(&c->mu);
    int first = is_first(ev);
    if (first)
        c->c++;
    else
        c->other++;
    pthread_mutex_unlock(&c->mu);
    if (!first)
        return EVBUS_OK;
    snprintf(e, n, "c broke");
    return EVBUS_ERR_HANDLER;
}

static evbus_err_t d_bad(const evbus_event_t *ev, void *o, char *e, size_t n) {
    calls_t *c = o;
    pthread_mutex_lock(&c->mu);
    int first = is_first(ev);
    if (first)
        c->d++;
    else
        c->other++;
    pthread_mutex_unlock(&c->mu);
    if (!first)
        return EVBUS_OK;
    snprintf(e, n, "d broke");
    return EVBUS_ERR_IO;
}

static evbus_err_t on_dead(const evbus_event_t *ev, void *o, char *e, size_t n) {
    (void)e; (void)n;
    calls_t *c = o;
    pthread_mutex_lock(&c->mu);
    c->dead++;
    snprintf(c->last_dead, sizeof(c->last_dead), "%s", evbus_event_json(ev, NULL));
    pthread_mutex_unlock(&c->mu);
    return EVBUS_OK;
}

static evbus_consumer_t *consumer(const char *bs, const char *group, const char *topic,
                                  evbus_dispatcher_t *d, evbus_conf_t *conf) {
    char err[512];
    if (!conf)
        conf = cu_conf(bs, group);
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    return c;
}

static void test_handlers_independent(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-indep"), *group = tu_unique_name("grp");
    rd_kafka_t *p = cu_producer(bs);
    cu_produce_event(p, topic, 0, "h", 0, "ok", 0);
    cu_produce_event(p, topic, 0, "h", 1, "ok", 0);
    cu_flush(p);

    calls_t k = {0};
    pthread_mutex_init(&k.mu, NULL);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    k.disp = d;
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, a_ok, &k, NULL, 0, "a-ok"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, b_flaky, &k, NULL, 0, "b-flaky"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, c_bad, &k, NULL, 0, "c-bad"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, d_bad, &k, NULL, 0, "d-bad"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, EVBUS_LC_EVENT_DEAD_LETTERED, on_dead, &k, NULL, 0, NULL), 0);
    evbus_consumer_t *c = consumer(bs, group, topic, d, NULL); /* retry.max 3: the default */
    assert_ptr_equal(evbus_consumer_dispatcher(c), d);
    cu_runner_t r;
    cu_start(&r, c);
    assert_true(cu_wait_stats(c, 1, 1, 0, 60000));
    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);

    /* ev-h-0: 1 + retry.max attempts; each handler ran until it succeeded, never after */
    assert_int_equal(k.a, 1);
    assert_int_equal(k.b, 3);
    assert_int_equal(k.c, 4);
    assert_int_equal(k.d, 4);
    assert_int_equal(k.sub_err, EVBUS_OK);
    assert_int_equal(k.late, 1);       /* subscribed during attempt 1: ran in attempt 2, once */
    assert_int_equal(k.late_other, 1); /* and for the next event */
    assert_int_equal(k.other, 4);      /* ev-h-1: every handler once */
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &st);
    assert_int_equal(st.handled, 1);
    assert_int_equal(st.dead_lettered, 1);
    assert_int_equal(st.retries, 3);

    /* the dead_lettered event names both failing handlers with their errors */
    json_error_t je;
    json_t *lc = json_loads(k.last_dead, 0, &je);
    assert_non_null(lc);
    json_t *f = json_object_get(lc, "failures");
    assert_int_equal(json_array_size(f), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "handler")), "c-bad");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "error")), "c broke");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 1), "handler")), "d-bad");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 1), "error")), "d broke");
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 1), "error_code")), "ERR_IO");
    assert_int_equal(json_integer_value(json_object_get(lc, "attempts")), 4);
    json_decref(lc);

    /* so does the DLQ record */
    char dlq[512];
    snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
    cu_msgs_t ms = {0};
    assert_int_equal(cu_read_topic(bs, dlq, &ms, 1, 30000), 1);
    char *hd = cu_header(ms.m[0], "evbus_handler"), *er = cu_header(ms.m[0], "evbus_error");
    char *fs = cu_header(ms.m[0], "evbus_failures"), *att = cu_header(ms.m[0], "evbus_attempts");
    char *id = cu_header(ms.m[0], "ce_id");
    assert_string_equal(id, "ev-h-0");
    assert_string_equal(hd, "c-bad, d-bad");
    assert_string_equal(er, "c-bad: c broke; d-bad: d broke");
    assert_string_equal(att, "4");
    json_t *fj = json_loads(fs, 0, &je);
    assert_non_null(fj);
    assert_int_equal(json_array_size(fj), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(fj, 1), "error")), "d broke");
    json_decref(fj);
    free(hd); free(er); free(fs); free(att); free(id);
    cu_msgs_free(&ms);
    assert_int_equal(cu_committed(bs, group, topic, 1), 2);

    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

/* ---- DLQ write failures ---- */

typedef struct bad_s { pthread_mutex_t mu; int bad_calls, ok_calls; } bad_t;
static evbus_err_t fail_bad(const evbus_event_t *ev, void *o, char *e, size_t n) {
    bad_t *b = o;
    int bad = !strncmp(evbus_event_id(ev), "ev-bad", 6);
    pthread_mutex_lock(&b->mu);
    if (bad)
        b->bad_calls++;
    else
        b->ok_calls++;
    pthread_mutex_unlock(&b->mu);
    if (!bad)
        return EVBUS_OK;
    snprintf(e, n, "never");
    return EVBUS_ERR_HANDLER;
}

static void test_dlq_write_retried(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-dlqfail"), *group = tu_unique_name("grp");
    rd_kafka_t *p = cu_producer(bs);
    cu_produce_event(p, topic, 0, "bad", 0, "ok", 0);
    cu_produce_event(p, topic, 0, "ok", 1, "ok", 0);
    cu_flush(p);
    /* the only producer left is the consumer's DLQ producer: its first produce requests fail
     * (how many writes that fails depends on librdkafka's own request handling: at least one) */
    tu_mock_fail_produce(m, 2, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);

    bad_t b = {0};
    pthread_mutex_init(&b.mu, NULL);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, fail_bad, &b, NULL, 0, "h"), 0);
    evbus_consumer_t *c = consumer(bs, group, topic, d, NULL);
    cu_runner_t r;
    cu_start(&r, c);
    assert_true(cu_wait_stats(c, 1, 1, 1, 60000));
    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &st);
    assert_true(st.dlq_failed >= 1);
    assert_int_equal(st.transient_errors, st.dlq_failed);
    assert_int_equal(st.dead_lettered, 1);
    assert_int_equal(st.handled, 1); /* the partition went on after the dead letter */
    assert_int_equal(b.bad_calls, 4); /* the write was retried, not the handlers */
    assert_int_equal(b.ok_calls, 1);
    char dlq[512];
    snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
    cu_msgs_t ms = {0};
    assert_int_equal(cu_read_topic(bs, dlq, &ms, 1, 30000), 1);
    char *id = cu_header(ms.m[0], "ce_id");
    assert_string_equal(id, "ev-bad-0");
    free(id);
    cu_msgs_free(&ms);
    assert_int_equal(cu_committed(bs, group, topic, 1), 2);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

typedef struct th_s { evbus_consumer_t *c; int done; evbus_err_t err; } th_t;
static void *run_main(void *arg) {
    th_t *t = arg;
    t->err = evbus_consumer_run(t->c);
    __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
    return NULL;
}
static int finished(void *arg) { return __atomic_load_n((int *)arg, __ATOMIC_ACQUIRE); }

static void test_consecutive_errors_limit(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-limit"), *group = tu_unique_name("grp");
    rd_kafka_t *p = cu_producer(bs);
    cu_produce_event(p, topic, 0, "ok", 0, "ok", 0);
    cu_produce_event(p, topic, 0, "bad", 1, "ok", 0);
    cu_produce_event(p, topic, 0, "ok", 2, "ok", 0);
    cu_flush(p);
    tu_mock_fail_produce(m, 50, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);

    bad_t b = {0};
    pthread_mutex_init(&b.mu, NULL);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, fail_bad, &b, NULL, 0, "h"), 0);
    evbus_conf_t *conf = cu_conf(bs, group);
    /* unset by default (retry for ever; another test covers that): this test is about the limit */
    cu_set(conf, "consumer.max.consecutive.errors", "3");
    evbus_consumer_t *c = consumer(bs, group, topic, d, conf);
    th_t t = {c, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_main, &t), 0);
    assert_true(cu_wait(finished, &t.done, 60000)); /* it stopped by itself */
    pthread_join(th, NULL);
    assert_int_equal(t.err, EVBUS_ERR_TRANSPORT);
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &st);
    assert_int_equal(st.transient_errors, 3);
    assert_int_equal(st.dlq_failed, 3);
    assert_int_equal(st.dead_lettered, 0);
    assert_int_equal(st.handled, 1);
    assert_int_equal(b.ok_calls, 1); /* nothing after the stuck event was handled */
    /* the stuck event stays uncommitted: the next consumer of the group gets it again */
    assert_int_equal(cu_committed(bs, group, topic, 1), 1);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handlers_independent),
        cmocka_unit_test(test_dlq_write_retried),
        cmocka_unit_test(test_consecutive_errors_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
