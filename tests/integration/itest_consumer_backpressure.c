/* Consumer backpressure on the embedded broker, at the default bounds and at lowered ones:
 * consumer.max.in.flight and consumer.max.in.flight.per.partition bound the events received
 * and not yet finished (async handlers included) by pausing partitions; and a partition held for a failing dead-letter write
 * stays paused when the backpressure lifts.  Handlers wait on a gate the test opens, so every
 * step is reached by waiting for a state, never by timing. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "consumer_int.h"
#include "testutil.h"

typedef struct gate_s {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int open;
    int async_done; /* async handler calls finished */
    int bad_calls;
} gate_t;

static gate_t *gate_new(void) {
    gate_t *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cond, NULL);
    return g;
}

static void gate_free(gate_t *g) {
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static void gate_open(gate_t *g) {
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->mu);
}

/* A slow async handler: it keeps its event (in flight) until the gate opens. */
static evbus_err_t gated(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)ev; (void)errstr; (void)n;
    gate_t *g = opaque;
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->mu);
    g->async_done++;
    pthread_mutex_unlock(&g->mu);
    return EVBUS_OK;
}

/* Sync: fails the events whose id has "-bad-" (retry.max 0: straight to the dead-letter topic). */
static evbus_err_t picky(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    gate_t *g = opaque;
    if (!strstr(evbus_event_id(ev), "-bad-"))
        return EVBUS_OK;
    pthread_mutex_lock(&g->mu);
    g->bad_calls++;
    pthread_mutex_unlock(&g->mu);
    snprintf(errstr, n, "refusing %s", evbus_event_id(ev));
    return EVBUS_ERR_HANDLER;
}

typedef struct probe_s {
    evbus_consumer_t *c;
    const char *topic;
    gate_t *g;
    int want_done;
} probe_t;

static evbus__bp_state_t state_of(const probe_t *p, int32_t partition) {
    evbus__bp_state_t st;
    memset(&st, 0, sizeof(st));
    if (evbus__consumer_bp_state(p->c, p->topic, partition, &st) != 0)
        st.paused = -1; /* not seen yet */
    return st;
}

/* Everything is held: the total bound was reached and partitions 0..2 are paused. */
static int all_held(void *arg) {
    probe_t *p = arg;
    for (int32_t i = 0; i < 3; i++)
        if (state_of(p, i).paused != 1)
            return 0;
    return state_of(p, 0).bp_all == 1;
}

static int async_done(void *arg) {
    probe_t *p = arg;
    pthread_mutex_lock(&p->g->mu);
    int d = p->g->async_done;
    pthread_mutex_unlock(&p->g->mu);
    return d >= p->want_done;
}

static int drained(void *arg) {
    probe_t *p = arg;
    evbus__bp_state_t st = state_of(p, 0);
    return st.total_inflight == 0 && st.bp_all == 0;
}

static evbus_consumer_t *consumer(const char *bs, const char *group, const char *topic,
                                  evbus_dispatcher_t *d, const char *const kv[][2], size_t nkv) {
    char err[512];
    evbus_conf_t *conf = cu_conf(bs, group);
    for (size_t i = 0; i < nkv; i++)
        cu_set(conf, kv[i][0], kv[i][1]);
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    return c;
}

#define PER_PART 40

static void test_bound_holds(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-bp"), *group = tu_unique_name("grp");
    rd_kafka_t *p = cu_producer(bs);
    for (int32_t part = 0; part < 3; part++)
        for (int i = 0; i < PER_PART; i++)
            cu_produce_event(p, topic, part, part == 0 ? "a" : part == 1 ? "b" : "c", i, "ok", 0);
    cu_flush(p);

    gate_t *g = gate_new();
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, gated, g, NULL, EVBUS_HANDLER_ASYNC, "slow"), 0);
    /* Bounds lowered from the defaults (10000 in all, 2000 a partition) so that a few dozen
     * events reach them: the mechanism is the same at any bound, and the other consumer tests
     * run at the defaults, below them.  8 per partition, 20 in all: three partitions reach the
     * total before their own bounds; two workers so that the partitions run side by side. */
    const char *const kv[][2] = {{"consumer.max.in.flight", "20"},
                                 {"consumer.max.in.flight.per.partition", "8"},
                                 {"workers", "2"}};
    evbus_consumer_t *c = consumer(bs, group, topic, d, kv, sizeof(kv) / sizeof(kv[0]));
    probe_t pr = {c, topic, g, 3 * PER_PART};
    cu_runner_t r;
    cu_start(&r, c);

    assert_true(cu_wait(all_held, &pr, 60000));
    evbus__bp_state_t st = state_of(&pr, 0);
    assert_int_equal(st.total_inflight, 20); /* exactly at the bound, nothing past it */
    assert_int_equal(st.total_hwm, 20);
    for (int32_t i = 0; i < 3; i++)
        assert_true(state_of(&pr, i).inflight_hwm <= 8);

    gate_open(g);
    assert_true(cu_wait(async_done, &pr, 60000)); /* resumed: every event came */
    assert_true(cu_wait(drained, &pr, 60000));
    st = state_of(&pr, 0);
    assert_true(st.total_hwm <= 20);
    for (int32_t i = 0; i < 3; i++) {
        evbus__bp_state_t s = state_of(&pr, i);
        assert_true(s.inflight_hwm <= 8);
        assert_int_equal(s.paused, 0);
        assert_int_equal(s.bp_hold, 0);
    }
    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);
    evbus_consumer_stats_t cs = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &cs);
    assert_int_equal(cs.handled, 3 * PER_PART);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    gate_free(g);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

/* Partition 0's first event fails and its dead-letter write keeps failing (held paused);
 * then partitions 1 and 2 fill the total bound (everything paused); when that lifts, 1 and 2
 * resume and 0 stays paused. */
static int dlq_held(void *arg) {
    probe_t *p = arg;
    return state_of(p, 0).dlq_hold == 1 && state_of(p, 0).paused == 1;
}

/* The backpressure lifted: partitions 1 and 2 finished and are fetching again. */
static int lifted(void *arg) {
    probe_t *p = arg;
    evbus__bp_state_t s0 = state_of(p, 0);
    return async_done(arg) && s0.bp_all == 0 && s0.total_inflight <= 6 && state_of(p, 1).paused == 0 &&
           state_of(p, 2).paused == 0;
}

static void test_dlq_hold_survives(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-bpdlq"), *group = tu_unique_name("grp");
    rd_kafka_t *p = cu_producer(bs);
    cu_produce_event(p, topic, 0, "bad", 0, "ok", 0);
    for (int i = 1; i < 5; i++)
        cu_produce_event(p, topic, 0, "a", i, "ok", 0);
    cu_flush(p);
    /* the dead-letter topic refuses the consumer's DLQ producer until the end */
    char dlq[512];
    snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
    rd_kafka_mock_topic_set_error(tu_mock_cluster(m), dlq, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);

    gate_t *g = gate_new();
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, picky, g, NULL, 0, "picky"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, gated, g, NULL, EVBUS_HANDLER_ASYNC, "slow"), 0);
    /* A worker per partition: partition 0's waiting dead letter blocks only its own.  A total
     * of 12 (default 10000) is reached by a dozen events; no partition bound, so only the
     * total pauses and lifts; no retry and a fixed 20 ms backoff (defaults: 3 retries from
     * 100 ms) so the failing dead-letter write is reached at once, not after growing backoffs. */
    const char *const kv[][2] = {{"consumer.max.in.flight", "12"},
                                 {"consumer.max.in.flight.per.partition", "0"},
                                 {"retry.max", "0"},
                                 {"retry.backoff.ms", "20"},
                                 {"retry.backoff.max.ms", "20"},
                                 /* the refused DLQ write fails when its message times out */
                                 {"kafka.message.timeout.ms", "1000"},
                                 {"workers", "4"}};
    evbus_consumer_t *c = consumer(bs, group, topic, d, kv, sizeof(kv) / sizeof(kv[0]));
    probe_t pr = {c, topic, g, 2 * PER_PART};
    cu_runner_t r;
    cu_start(&r, c);

    assert_true(cu_wait(dlq_held, &pr, 60000));
    for (int32_t part = 1; part < 3; part++)
        for (int i = 0; i < PER_PART; i++)
            cu_produce_event(p, topic, part, part == 1 ? "b" : "c", i, "ok", 0);
    cu_flush(p);
    if (!cu_wait(all_held, &pr, 60000))
        for (int32_t i = 0; i < 3; i++) {
            evbus__bp_state_t s = state_of(&pr, i);
            fail_msg("partition %d: paused %d stopped %d dlq_hold %d bp_hold %d bp_all %d in flight %zu "
                     "(total %zu)", (int)i, s.paused, s.stopped, s.dlq_hold, s.bp_hold, s.bp_all,
                     s.inflight, s.total_inflight);
        }
    assert_int_equal(state_of(&pr, 0).total_inflight, 12);
    gate_open(g);
    assert_true(cu_wait(lifted, &pr, 60000)); /* partitions 1 and 2 resumed and finished */
    evbus__bp_state_t s0 = state_of(&pr, 0);
    assert_int_equal(s0.dlq_hold, 1); /* partition 0 still waits on its dead letter, */
    assert_int_equal(s0.paused, 1);   /* paused */
    evbus_consumer_stats_t cs = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &cs);
    assert_true(cs.dlq_failed >= 1);
    assert_int_equal(cs.dead_lettered, 0);
    assert_int_equal(cs.handled, 2 * PER_PART); /* nothing of partition 0 */
    pthread_mutex_lock(&g->mu);
    assert_int_equal(g->bad_calls, 1); /* the write was retried, not the handler */
    pthread_mutex_unlock(&g->mu);

    cu_stop(&r); /* stopping leaves the event (uncommitted) */
    assert_int_equal(r.err, EVBUS_OK);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    gate_free(g);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

/* ---- at the default bounds (consumer.max.in.flight 10000, .per.partition 2000) ---- */

typedef struct dprobe_s {
    probe_t p;
    int nparts;
} dprobe_t;

/* Every partition paused, the consumer's total bound reached. */
static int all_held_n(void *arg) {
    dprobe_t *d = arg;
    for (int32_t i = 0; i < d->nparts; i++)
        if (state_of(&d->p, i).paused != 1)
            return 0;
    return state_of(&d->p, 0).bp_all == 1;
}

/* Partition 0 paused by its own bound. */
static int part_held(void *arg) {
    evbus__bp_state_t st = state_of(arg, 0);
    return st.paused == 1 && st.bp_hold == 1;
}

static void produce_n(rd_kafka_t *p, const char *topic, int nparts, int per_part) {
    for (int32_t part = 0; part < nparts; part++) {
        char tag[16];
        snprintf(tag, sizeof(tag), "p%d", (int)part);
        for (int i = 0; i < per_part; i++)
            cu_produce_event(p, topic, part, tag, i, "ok", 0);
    }
    cu_flush(p);
}

/* Async handlers keep every event in flight, so the defaults are reached (sync handlers never
 * reach them: the workers' queues hold 512 each).  8 partitions of 1,400 events: 11,200 in
 * all, past the total bound of 10,000, while no partition reaches its own 2,000. */
#define DEF_PARTS 8
#define DEF_PER_PART 1400

static void test_default_total_bound(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-bpdef"), *group = tu_unique_name("grp");
    assert_int_equal(rd_kafka_mock_topic_create(tu_mock_cluster(m), topic, DEF_PARTS, 1), 0);
    rd_kafka_t *p = cu_producer(bs);
    produce_n(p, topic, DEF_PARTS, DEF_PER_PART);

    gate_t *g = gate_new();
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, gated, g, NULL, EVBUS_HANDLER_ASYNC, "slow"), 0);
    evbus_consumer_t *c = consumer(bs, group, topic, d, NULL, 0); /* every bound at its default */
    dprobe_t pr = {{c, topic, g, DEF_PARTS * DEF_PER_PART}, DEF_PARTS};
    cu_runner_t r;
    cu_start(&r, c);

    if (!cu_wait(all_held_n, &pr, 120000)) {
        evbus__bp_state_t s = state_of(&pr.p, 0);
        fail_msg("not held: total in flight %zu (high %zu), bp_all %d", s.total_inflight,
                 s.total_hwm, s.bp_all);
    }
    evbus__bp_state_t st = state_of(&pr.p, 0);
    assert_int_equal(st.total_inflight, 10000); /* exactly at the default bound */
    assert_int_equal(st.total_hwm, 10000);
    for (int32_t i = 0; i < DEF_PARTS; i++) {
        evbus__bp_state_t s = state_of(&pr.p, i);
        assert_true(s.inflight_hwm < 2000);
        assert_int_equal(s.bp_hold, 0); /* only the total bound holds them */
    }

    gate_open(g);
    assert_true(cu_wait(async_done, &pr.p, 120000)); /* resumed: every event came */
    assert_true(cu_wait(drained, &pr.p, 60000));
    st = state_of(&pr.p, 0);
    assert_int_equal(st.total_hwm, 10000);
    for (int32_t i = 0; i < DEF_PARTS; i++)
        assert_int_equal(state_of(&pr.p, i).paused, 0);
    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);
    evbus_consumer_stats_t cs = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &cs);
    assert_int_equal(cs.handled, DEF_PARTS * DEF_PER_PART);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    gate_free(g);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

/* One partition of 2,500 events at the defaults: its own bound (2,000) holds it, the total
 * (10,000) is never reached. */
#define ONE_PART_N 2500

static void test_default_partition_bound(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-bpdef1"), *group = tu_unique_name("grp");
    assert_int_equal(rd_kafka_mock_topic_create(tu_mock_cluster(m), topic, 1, 1), 0);
    rd_kafka_t *p = cu_producer(bs);
    produce_n(p, topic, 1, ONE_PART_N);

    gate_t *g = gate_new();
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, gated, g, NULL, EVBUS_HANDLER_ASYNC, "slow"), 0);
    evbus_consumer_t *c = consumer(bs, group, topic, d, NULL, 0); /* every bound at its default */
    probe_t pr = {c, topic, g, ONE_PART_N};
    cu_runner_t r;
    cu_start(&r, c);

    if (!cu_wait(part_held, &pr, 120000)) {
        evbus__bp_state_t s = state_of(&pr, 0);
        fail_msg("not held: in flight %zu (high %zu), paused %d", s.inflight, s.inflight_hwm, s.paused);
    }
    evbus__bp_state_t st = state_of(&pr, 0);
    assert_int_equal(st.inflight, 2000); /* exactly at the default partition bound */
    assert_int_equal(st.inflight_hwm, 2000);
    assert_int_equal(st.bp_all, 0);      /* the total was not what held it */
    assert_int_equal(st.total_hwm, 2000);

    gate_open(g);
    assert_true(cu_wait(async_done, &pr, 120000));
    assert_true(cu_wait(drained, &pr, 60000));
    st = state_of(&pr, 0);
    assert_int_equal(st.inflight_hwm, 2000);
    assert_int_equal(st.paused, 0);
    assert_int_equal(st.bp_hold, 0);
    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);
    evbus_consumer_stats_t cs = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &cs);
    assert_int_equal(cs.handled, ONE_PART_N);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    gate_free(g);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_total_bound),
        cmocka_unit_test(test_default_partition_bound),
        cmocka_unit_test(test_bound_holds),
        cmocka_unit_test(test_dlq_hold_survives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
