/* Fault test (3-node cluster, run by ktest_faults_producer.sh): every broker is down when
 * libproducer starts publishing.  Sends still succeed (the events wait in the producer), and
 *  - when the brokers do not come back within message.timeout.ms, flush reports every event as
 *    undelivered and each one comes back as a failure with a reason: none is dropped silently;
 *  - when they come back, every event is delivered exactly once (counted with a raw consumer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define NPART 3

static const char *g_bs;
static char *g_topic_timeout, *g_topic_buffered;
static int g_down; /* every node is stopped */

static void all_nodes(const char *script, const char *arg) {
    for (int id = 1; id <= 3; id++)
        fu_node(id, script, arg);
}

static int setup(void **state) {
    (void)state;
    g_bs = tu_env("EVBUS_TEST_KAFKA_BOOTSTRAP");
    if (!g_bs || !tu_env("EVBUS_TEST_KAFKA_DIR"))
        return 0; /* the tests skip */
    g_topic_timeout = tu_unique_name("fk-down-timeout");
    g_topic_buffered = tu_unique_name("fk-down-buffered");
    fu_create_topic(g_bs, g_topic_timeout, NPART, 3);
    fu_create_topic(g_bs, g_topic_buffered, NPART, 3);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    free(g_topic_timeout);
    free(g_topic_buffered);
    return 0;
}

typedef struct failures_s {
    int n, with_reason;
    evbus_err_t first_err;
    char first[512];
} failures_t;

static void on_failure(const evbus_delivery_t *d, void *opaque) {
    failures_t *f = opaque;
    if (f->n++ == 0) {
        f->first_err = d->err;
        snprintf(f->first, sizeof(f->first), "%s [%s]: %s", d->event_id ? d->event_id : "?",
                 d->topic ? d->topic : "?", d->errstr ? d->errstr : "(null)");
    }
    if (d->err != EVBUS_OK && d->errstr && d->errstr[0])
        f->with_reason++;
}

/* The brokers stay down past message.timeout.ms: every event is reported undelivered, with
 * its reason, and flush then has nothing outstanding (failures are reported, not counted). */
static void test_down_past_timeout(void **state) {
    (void)state;
    const char *bs = fu_bootstrap(3);
    const int n = 500;
    all_nodes("stop", "KILL");
    g_down = 1;
    printf("all 3 nodes stopped (SIGKILL)\n");

    char err[1024];
    evbus_conf_t *conf = fu_producer_conf(bs, g_topic_timeout);
    cu_set(conf, "kafka.message.timeout.ms", "5000");
    evbus_producer_t *p = evbus_producer_new(conf, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    for (int i = 0; i < n; i++) {
        evbus_err_t e = fu_send(p, "dt-", i, err, sizeof(err));
        if (e != EVBUS_OK)
            fail_msg("send %d with every broker down: %s: %s", i, evbus_err_name(e), err);
    }
    int64_t t0 = tu_now_us();
    int undelivered = evbus_producer_flush(p, 60000);
    double t = fu_secs(t0);
    failures_t f = {0};
    size_t drained = evbus_producer_drain_failures(p, on_failure, &f);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    printf("brokers down past message.timeout.ms=5000: %d events sent (OK), flush returned %d "
           "after %.1f s; %zu failures reported (%d with a reason), e.g. %s: %s\n",
           n, undelivered, t, drained, f.with_reason, evbus_err_name(f.first_err), f.first);
    assert_int_equal(undelivered, 0); /* all settled (failed) before flush's 60 s limit */
    assert_int_equal((int)drained, n);
    assert_int_equal(f.with_reason, n);
    assert_int_equal(st.failed, (uint64_t)n);
    assert_int_equal(st.delivered, 0);
    evbus_producer_destroy(p);
}

/* The brokers come back after a while: every buffered event is delivered exactly once. */
static void test_down_then_up(void **state) {
    (void)state;
    const char *bs = fu_bootstrap(3);
    const int n = 5000;
    if (!g_down) {
        all_nodes("stop", "KILL");
        g_down = 1;
    }
    char err[1024];
    evbus_conf_t *conf = fu_producer_conf(bs, g_topic_buffered);
    evbus_producer_t *p = evbus_producer_new(conf, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    for (int i = 0; i < n; i++) {
        evbus_err_t e = fu_send(p, "du-", i, err, sizeof(err));
        if (e != EVBUS_OK)
            fail_msg("send %d with every broker down: %s: %s", i, evbus_err_name(e), err);
    }
    /* The deliberate downtime: the events wait in the producer meanwhile. */
    fu_sleep_ms(3000);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    printf("%d events sent with every broker down; after 3 s: delivered %" PRIu64
           ", failed %" PRIu64 ", in flight %" PRIu64 "\n",
           n, st.delivered, st.failed, st.in_flight);
    assert_int_equal(st.delivered, 0);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.in_flight, (uint64_t)n);

    int64_t t0 = tu_now_us();
    all_nodes("start", NULL);
    g_down = 0;
    int undelivered = evbus_producer_flush(p, 180000);
    double t = fu_secs(t0);
    evbus_producer_stats(p, &st);
    printf("nodes started; flush returned %d %.1f s later; delivered %" PRIu64 ", failed %" PRIu64
           "\n", undelivered, t, st.delivered, st.failed);
    assert_int_equal(undelivered, 0);
    assert_int_equal(st.delivered, (uint64_t)n);
    evbus_producer_destroy(p);
    fu_wait_brokers(bs, 3, 90000);

    fu_count_t c;
    fu_count_topic(bs, g_topic_buffered, "du-", n, &c, 120000);
    printf("faults: brokers down at start: events: %d, messages in topic: %ld, duplicates: %ld, "
           "missing: %ld, foreign: %ld\n", n, c.messages, c.duplicates, c.missing, c.foreign);
    assert_int_equal(c.duplicates, 0);
    assert_int_equal(c.missing, 0);
    assert_int_equal(c.foreign, 0);
    fu_count_free(&c);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_down_past_timeout),
                                       cmocka_unit_test(test_down_then_up)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
