/* Stop in the middle of a batch, restart in the same group: no event is lost (at-least-once),
 * and what the first run committed is not handed out again. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define N 200

typedef struct run_s {
    cu_seen_t seen;
    evbus_consumer_t *c;
    size_t stop_after; /* 0 = never */
} run_t;

static evbus_err_t record(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    run_t *r = opaque;
    evbus_err_t err = cu_record(ev, &r->seen, errstr, n);
    if (err)
        return err;
    if (r->stop_after && cu_seen_n(&r->seen) >= r->stop_after)
        evbus_consumer_stop(r->c); /* from a handler thread, mid-batch */
    return EVBUS_OK;
}

typedef struct all_s { run_t *a, *b; } all_t;
static int all_seen(void *arg) {
    all_t *x = arg;
    char id[64];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "ev-r-%d", i);
        if (!cu_seen_has(&x->a->seen, id) && !cu_seen_has(&x->b->seen, id))
            return 0;
    }
    return 1;
}
static int stopped(void *arg) { return *(volatile int *)arg; }

typedef struct th_s { evbus_consumer_t *c; int done; evbus_err_t err; } th_t;
static void *run_main(void *arg) {
    th_t *t = arg;
    t->err = evbus_consumer_run(t->c);
    __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static evbus_consumer_t *make(const char *bs, const char *group, const char *topic, run_t *r,
                              evbus_dispatcher_t **dp) {
    char err[512];
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, record, r, NULL, 0, "record"), 0);
    evbus_conf_t *conf = cu_conf(bs, group);
    cu_set(conf, "workers", "3");
    /* CI variant: session.timeout.ms 6 s instead of the default 45 s.  The embedded broker
     * holds the second consumer's join until the first member's session has expired, so at
     * the default this test takes about 50 s; scripts/test --long (EVBUS_TEST_LONG=1) runs it
     * at the default. */
    if (!tu_long())
        cu_set(conf, "kafka.session.timeout.ms", "6000");
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    r->c = c;
    *dp = d;
    return c;
}

static void test_stop_restart(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-restart"), *group = tu_unique_name("grp");
    rd_kafka_t *p = cu_producer(bs);
    for (int i = 0; i < N; i++)
        cu_produce_event(p, topic, -1, "r", i, "ok", 0); /* keyed: spread over the partitions */
    cu_flush(p);

    run_t a = {.stop_after = 50}, b = {0};
    pthread_mutex_init(&a.seen.mu, NULL);
    pthread_mutex_init(&b.seen.mu, NULL);
    evbus_dispatcher_t *da, *db;
    evbus_consumer_t *ca = make(bs, group, topic, &a, &da);
    th_t ta = {ca, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_main, &ta), 0);
    assert_true(cu_wait(stopped, &ta.done, 60000)); /* the handler stopped it */
    pthread_join(th, NULL);
    assert_int_equal(ta.err, EVBUS_OK);
    size_t first = cu_seen_n(&a.seen);
    assert_true(first >= 50);
    assert_true(first < N); /* it really stopped mid-way */
    evbus_consumer_destroy(ca);
    evbus_dispatcher_destroy(da);

    evbus_consumer_t *cb = make(bs, group, topic, &b, &db);
    cu_runner_t rb;
    cu_start(&rb, cb);
    all_t x = {&a, &b};
    assert_true(cu_wait(all_seen, &x, 90000));
    cu_stop(&rb);
    /* what the first run handled was committed at its stop: the second did not start over */
    assert_true(cu_seen_n(&b.seen) <= (size_t)N - 50);
    for (size_t i = 0; i < b.seen.n; i++)
        assert_true(b.seen.count[i] == 1);
    evbus_consumer_destroy(cb);
    evbus_dispatcher_destroy(db);
    cu_seen_free(&a.seen);
    cu_seen_free(&b.seen);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_stop_restart)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
