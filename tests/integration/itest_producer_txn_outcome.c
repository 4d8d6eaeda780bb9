/* producer.transactional=true against the embedded broker when a commit is never confirmed:
 * the broker answers every EndTxn (commit) with a retriable error until the producer gives
 * up, or the producer is destroyed while it still retries.  Either way nobody knows whether
 * the transaction committed, so each of its events must be reported failed (its outcome
 * unknown), never delivered (issue 29, item 2), and the producer goes on with the next
 * transaction. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka_mock.h>

#include "evbus/producer.h"

#define TYPE "org.test.order.v1"
#define ENDTXN 26 /* the EndTxn API key (RD_KAFKAP_EndTxn is not in the public headers) */

static const char *SCHEMA =
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"org.test.order.v1\","
    "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"long\"}]}";

static const char *TWO_TOPICS =
    "{\"" TYPE "\": [{\"topic\": \"a\", \"event_key_field\": \"id\"},"
    " {\"topic\": \"b\", \"event_key_field\": \"id\"}]}";

typedef struct fx_s {
    tu_mock_t *mock;
    char *dir, *prefix;
} fx_t;

/* Delivery reports per event (the opaque is the event's index + 1). */
typedef struct log_s {
    pthread_mutex_t lock;
    int ok[32], failed[32], aborted[32];
    evbus_err_t err[32];
    char why[32][256];
} log_t;

static log_t LOG;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->mock = tu_mock_new(1);
    fx->dir = tu_mkdtemp();
    free(tu_write_file(fx->dir, TYPE ".avsc", SCHEMA));
    fx->prefix = tu_unique_name("txo");
    memset(&LOG, 0, sizeof(LOG));
    pthread_mutex_init(&LOG.lock, NULL);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    tu_mock_destroy(fx->mock);
    tu_rm_rf(fx->dir);
    free(fx->dir);
    free(fx->prefix);
    free(fx);
    pthread_mutex_destroy(&LOG.lock);
    return 0;
}

static void on_delivery(const evbus_delivery_t *d, void *opaque) {
    log_t *l = opaque;
    intptr_t i = (intptr_t)d->opaque - 1;
    if (i < 0 || i >= 32)
        return;
    pthread_mutex_lock(&l->lock);
    if (d->err == EVBUS_OK) {
        l->ok[i]++;
    } else {
        l->failed[i]++;
        l->err[i] = d->err;
        snprintf(l->why[i], sizeof(l->why[i]), "%s", d->errstr);
    }
    l->aborted[i] += d->transaction_aborted;
    pthread_mutex_unlock(&l->lock);
}

static evbus_producer_t *new_producer(fx_t *fx, const char *txn_timeout_ms) {
    char err[512];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    cu_set(c, "kafka.bootstrap.servers", tu_mock_bootstrap(fx->mock));
    cu_set(c, "schema.dir", fx->dir);
    cu_set(c, "producer.config", TWO_TOPICS);
    cu_set(c, "topic.prefix", fx->prefix);
    cu_set(c, "producer.transactional", "true");
    cu_set(c, "kafka.log_level", "0"); /* the injected errors are expected: no noise */
    /* Changed default: each try of a commit waits up to transaction.timeout.ms, 60 s by
     * default; at 1 s the ten tries that run out take seconds instead of ten minutes, and at
     * 5 s they outlast destroy's 10 s flush, so destroy stops them. */
    cu_set(c, "kafka.transaction.timeout.ms", txn_timeout_ms);
    evbus_conf_set_delivery_cb(c, on_delivery, &LOG);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    return p;
}

static void send_range(evbus_producer_t *p, int from, int to) {
    char err[512];
    for (int i = from; i < to; i++) {
        char ev[128];
        int len = snprintf(ev, sizeof(ev), "{\"id\":\"k%d\",\"n\":%d}", i, i);
        evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
        o.opaque = (void *)(intptr_t)(i + 1);
        evbus_err_t e = evbus_producer_send_opts(p, TYPE, ev, (size_t)len, &o, err, sizeof(err));
        if (e != EVBUS_OK)
            fail_msg("send %d: %s: %s", i, evbus_err_name(e), err);
    }
}

/* Events from..to: never reported delivered; each reported failed on both topics, once, as a
 * transaction that did not commit (or whose outcome is unknown). */
static void assert_not_delivered(int from, int to) {
    pthread_mutex_lock(&LOG.lock);
    for (int i = from; i < to; i++) {
        if (LOG.ok[i] != 0 || LOG.failed[i] != 2)
            fail_msg("event %d: reported delivered on %d topics, failed on %d (want 0 and 2)", i,
                     LOG.ok[i], LOG.failed[i]);
        assert_int_equal(LOG.aborted[i], 2);
        assert_int_equal(LOG.err[i], EVBUS_ERR_TIMEOUT);
        if (!strstr(LOG.why[i], "outcome unknown"))
            fail_msg("event %d: reason \"%s\" does not say the outcome is unknown", i, LOG.why[i]);
    }
    pthread_mutex_unlock(&LOG.lock);
}

/* The broker answers every commit with a retriable error (CONCURRENT_TRANSACTIONS) until the
 * producer's retries run out.  A program that relied on a "delivered" report here could lose
 * events it never re-sends. */
static void test_retriable_commit_errors_run_out(void **state) {
    fx_t *fx = *state;
    evbus_producer_t *p = new_producer(fx, "1000");
    send_range(p, 0, 5);
    assert_int_equal(evbus_producer_flush(p, 30000), 0);
    rd_kafka_resp_err_t errs[2000]; /* more than the tries use up (one per 100 ms) */
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
        errs[i] = RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS;
    rd_kafka_mock_push_request_errors_array(tu_mock_cluster(fx->mock), ENDTXN,
                                            sizeof(errs) / sizeof(errs[0]), errs);
    send_range(p, 5, 10);
    /* settled (reported one way or the other) within the bound; no timed assertion */
    assert_int_equal(evbus_producer_flush(p, 120000), 0);
    rd_kafka_mock_clear_request_errors(tu_mock_cluster(fx->mock), ENDTXN);
    assert_not_delivered(5, 10);
    if (!strstr(LOG.why[5], "retries exhausted"))
        fail_msg("reason \"%s\" does not say the retries ran out", LOG.why[5]);
    /* the producer goes on: the next event commits */
    send_range(p, 10, 11);
    assert_int_equal(evbus_producer_flush(p, 60000), 0);
    pthread_mutex_lock(&LOG.lock);
    for (int i = 0; i < 5; i++)
        assert_int_equal(LOG.ok[i], 2);
    assert_int_equal(LOG.ok[10], 2);
    pthread_mutex_unlock(&LOG.lock);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_true(st.transactions_aborted >= 1);
    evbus_producer_destroy(p);
}

/* The producer is destroyed while it still retries a commit the broker keeps refusing (ten
 * tries of 5 s outlast destroy's 10 s flush). */
static void test_destroy_while_commit_retries(void **state) {
    fx_t *fx = *state;
    evbus_producer_t *p = new_producer(fx, "5000");
    send_range(p, 0, 5);
    assert_int_equal(evbus_producer_flush(p, 30000), 0);
    rd_kafka_resp_err_t errs[2000]; /* more than the tries use up (one per 100 ms) */
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
        errs[i] = RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS;
    rd_kafka_mock_push_request_errors_array(tu_mock_cluster(fx->mock), ENDTXN,
                                            sizeof(errs) / sizeof(errs[0]), errs);
    send_range(p, 5, 10);
    evbus_producer_destroy(p); /* every event is reported before it returns */
    assert_not_delivered(5, 10);
    pthread_mutex_lock(&LOG.lock);
    for (int i = 0; i < 5; i++)
        assert_int_equal(LOG.ok[i], 2);
    /* the reason says which of the two it was */
    if (!strstr(LOG.why[5], "destroyed"))
        fail_msg("reason \"%s\" does not say the producer was destroyed", LOG.why[5]);
    pthread_mutex_unlock(&LOG.lock);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retriable_commit_errors_run_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_while_commit_retries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
