/* libproducer's all-or-nothing guarantees against the embedded (mock) broker: an event is
 * enqueued to all of its topics or none, the send result names them, delivery reports
 * carry the event's opaque and topic count, and with producer.transactional=true every
 * event is committed on all of its topics or reported failed on all of them (an aborted
 * transaction is reported per event and never re-sent). */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka_mock.h>

#include "evbus/producer.h"
#include "producer_internal.h" /* the held delivery reports of the open transaction */

#define TYPE "org.test.order.v1"

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

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->mock = tu_mock_new(1);
    fx->dir = tu_mkdtemp();
    free(tu_write_file(fx->dir, TYPE ".avsc", SCHEMA));
    fx->prefix = tu_unique_name("at");
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
    return 0;
}

static evbus_conf_t *make_conf(fx_t *fx, const char *bootstrap, const char *config) {
    char err[256];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    assert_int_equal(evbus_conf_set(c, "kafka.bootstrap.servers", bootstrap, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "schema.dir", fx->dir, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "producer.config", config, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "topic.prefix", fx->prefix, err, sizeof(err)), 0);
    return c;
}

static evbus_err_t send_n(evbus_producer_t *p, int i, const evbus_send_opts_t *o,
                          evbus_send_result_t *r, char *err, size_t errsz) {
    char ev[128];
    int len = snprintf(ev, sizeof(ev), "{\"id\":\"k%d\",\"n\":%d}", i, i);
    return evbus_producer_send_ex(p, TYPE, ev, (size_t)len, o, r, err, errsz);
}

/* Delivery reports, per event (the opaque is the event's index + 1). */
typedef struct log_s {
    pthread_mutex_t lock;
    int ok[256], failed[256], aborted[256];
    size_t ntopics[256];
} log_t;

static void on_delivery(const evbus_delivery_t *d, void *opaque) {
    log_t *l = opaque;
    intptr_t i = (intptr_t)d->opaque - 1;
    if (i < 0 || i >= 256)
        return;
    pthread_mutex_lock(&l->lock);
    if (d->err == EVBUS_OK)
        l->ok[i]++;
    else
        l->failed[i]++;
    l->aborted[i] += d->transaction_aborted;
    l->ntopics[i] = d->ntopics;
    pthread_mutex_unlock(&l->lock);
}

/* Count the messages of topic a read_committed reader (librdkafka's default, which
 * evbus's consumer keeps) sees, up to the end of every partition; ce_id k<i> -> seen[i]. */
static int read_committed(const char *bootstrap, const char *topic, int *seen, int n) {
    char err[256];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(kc, "bootstrap.servers", bootstrap, err, sizeof(err)), 0);
    assert_int_equal(rd_kafka_conf_set(kc, "group.id", "itest-atomic", err, sizeof(err)), 0);
    assert_int_equal(rd_kafka_conf_set(kc, "enable.partition.eof", "true", err, sizeof(err)), 0);
    char iso[64];
    size_t isz = sizeof(iso);
    assert_int_equal(rd_kafka_conf_get(kc, "isolation.level", iso, &isz), RD_KAFKA_CONF_OK);
    assert_string_equal(iso, "read_committed");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
    assert_non_null(rk);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    assert_int_equal(rd_kafka_metadata(rk, 0, rkt, &md, 10000), 0);
    assert_int_equal(md->topic_cnt, 1);
    int np = md->topics[0].partition_cnt;
    assert_true(np > 0 && np <= 64);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < np; i++)
        rd_kafka_topic_partition_list_add(tl, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    assert_int_equal(rd_kafka_assign(rk, tl), 0);
    rd_kafka_topic_partition_list_destroy(tl);
    int count = 0, eofs = 0, at_end[64] = {0};
    int64_t end = tu_now_us() + 30 * 1000000LL;
    while (eofs < np && tu_now_us() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition < 64 && !at_end[m->partition]++)
                eofs++;
        } else if (!m->err) {
            count++;
            rd_kafka_headers_t *h;
            const void *v;
            size_t l;
            /* the key is "k<i>" Avro-encoded after the 10-byte single-object header */
            if (m->key_len > 12) {
                int i = atoi((const char *)m->key + 12);
                if (i >= 0 && i < n)
                    seen[i]++;
            }
            assert_int_equal(rd_kafka_message_headers(m, &h), 0);
            assert_int_equal(rd_kafka_header_get_last(h, "ce_id", &v, &l), 0);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    assert_int_equal(eofs, np); /* read to the end of every partition, not until a silence */
    return count;
}

/* Room for 3 messages, 2 topics per event, nothing drained (dead port): the second event
 * must not be split (one message on "a", none on "b"): it is refused whole. */
static void test_no_room_for_all_topics_enqueues_none(void **state) {
    fx_t *fx = *state;
    char err[512];
    evbus_conf_t *c = make_conf(fx, "127.0.0.1:1", TWO_TOPICS);
    /* Changed defaults: a 3-message queue makes "room for one topic but not two" happen at
     * once, and a 300 ms wait keeps the test short; the 60 s default is covered by
     * test_default_wait in unit/test_producer_abi.c. */
    assert_int_equal(evbus_conf_set(c, "kafka.queue.buffering.max.messages", "3", err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "queue.full.timeout.ms", "300", err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "kafka.log_level", "0", err, sizeof(err)), 0);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    evbus_send_result_t r = EVBUS_SEND_RESULT_INIT;
    assert_int_equal(send_n(p, 1, NULL, &r, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(r.naccepted, 2);
    assert_int_equal(r.nrefused, 0);
    assert_non_null(r.event_id);
    assert_int_equal(strlen(r.event_id), 36);
    assert_int_equal(send_n(p, 2, NULL, &r, err, sizeof(err)), EVBUS_ERR_QUEUE_FULL);
    assert_int_equal(r.naccepted, 0);
    assert_int_equal(r.nrefused, 2);
    char a[128], b[128];
    snprintf(a, sizeof(a), "%s-a", fx->prefix);
    snprintf(b, sizeof(b), "%s-b", fx->prefix);
    assert_string_equal(r.refused[0], a);
    assert_string_equal(r.refused[1], b);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    assert_int_equal(evbus_producer_stats(p, &st), EVBUS_OK);
    assert_int_equal(st.sent, 2); /* the first event's two messages; nothing of the second */
    /* one topic of the event fits: sent alone (topics option) it is accepted */
    const char *only_b[] = {"b"};
    evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
    o.topics = only_b;
    o.ntopics = 1;
    assert_int_equal(send_n(p, 3, &o, &r, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(r.naccepted, 1);
    assert_string_equal(r.accepted[0], b);
    evbus_producer_destroy(p);
}

/* The topics option takes config names or full names; anything else is refused whole. */
static void test_topics_option_and_reports(void **state) {
    fx_t *fx = *state;
    char err[512];
    log_t log;
    memset(&log, 0, sizeof(log));
    pthread_mutex_init(&log.lock, NULL);
    evbus_conf_t *c = make_conf(fx, tu_mock_bootstrap(fx->mock), TWO_TOPICS);
    evbus_conf_set_delivery_cb(c, on_delivery, &log);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    char fullb[128];
    snprintf(fullb, sizeof(fullb), "%s-b", fx->prefix);
    const char *by_full[] = {fullb};
    const char *bad[] = {"a", "nope"};
    evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
    evbus_send_result_t r = EVBUS_SEND_RESULT_INIT;
    o.opaque = (void *)(intptr_t)1;
    assert_int_equal(send_n(p, 0, &o, &r, err, sizeof(err)), EVBUS_OK); /* both topics */
    o.opaque = (void *)(intptr_t)2;
    o.topics = by_full;
    o.ntopics = 1;
    assert_int_equal(send_n(p, 1, &o, &r, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(r.naccepted, 1);
    o.topics = bad;
    o.ntopics = 2;
    assert_int_equal(send_n(p, 2, &o, &r, err, sizeof(err)), EVBUS_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "nope"));
    assert_int_equal(r.naccepted, 0);
    assert_int_equal(evbus_producer_flush(p, 10000), 0);
    pthread_mutex_lock(&log.lock);
    assert_int_equal(log.ok[0], 2);
    assert_int_equal(log.ntopics[0], 2);
    assert_int_equal(log.ok[1], 1);
    assert_int_equal(log.ntopics[1], 1);
    assert_int_equal(log.ok[2] + log.failed[2], 0);
    pthread_mutex_unlock(&log.lock);
    evbus_producer_destroy(p);
    int seen[4] = {0};
    char topic[128];
    snprintf(topic, sizeof(topic), "%s-a", fx->prefix);
    assert_int_equal(read_committed(tu_mock_bootstrap(fx->mock), topic, seen, 4), 1);
    assert_int_equal(seen[0], 1);
    pthread_mutex_destroy(&log.lock);
}

/* 65 enabled topics for one type: no fixed limit (a 64-slot array once refused every send). */
static void test_many_topics_per_type(void **state) {
    fx_t *fx = *state;
    char err[512];
    char *cfg = malloc(65 * 64 + 64);
    assert_non_null(cfg);
    size_t off = (size_t)sprintf(cfg, "{\"" TYPE "\": [");
    for (int i = 0; i < 65; i++)
        off += (size_t)sprintf(cfg + off, "%s{\"topic\": \"t%d\", \"event_key_field\": \"id\"}",
                               i ? "," : "", i);
    sprintf(cfg + off, "]}");
    evbus_producer_t *p = evbus_producer_new(make_conf(fx, tu_mock_bootstrap(fx->mock), cfg),
                                             err, sizeof(err));
    free(cfg);
    if (!p)
        fail_msg("%s", err);
    evbus_send_result_t r = EVBUS_SEND_RESULT_INIT;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(send_n(p, i, NULL, &r, err, sizeof(err)), EVBUS_OK);
        assert_int_equal(r.naccepted, 65);
    }
    assert_int_equal(evbus_producer_flush(p, 30000), 0);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.delivered, 195);
    assert_int_equal(st.failed, 0);
    evbus_producer_destroy(p);
}

/* Transactions: every event on both topics for a read_committed reader, once. */
static void test_transactional_commit(void **state) {
    fx_t *fx = *state;
    char err[512];
    log_t log;
    memset(&log, 0, sizeof(log));
    pthread_mutex_init(&log.lock, NULL);
    evbus_conf_t *c = make_conf(fx, tu_mock_bootstrap(fx->mock), TWO_TOPICS);
    assert_int_equal(evbus_conf_set(c, "producer.transactional", "true", err, sizeof(err)), 0);
    evbus_conf_set_delivery_cb(c, on_delivery, &log);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
    for (int i = 0; i < 100; i++) {
        o.opaque = (void *)(intptr_t)(i + 1);
        assert_int_equal(send_n(p, i, &o, NULL, err, sizeof(err)), EVBUS_OK);
    }
    assert_int_equal(evbus_producer_flush(p, 30000), 0);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.delivered, 200);
    assert_int_equal(st.failed, 0);
    assert_true(st.transactions_committed >= 1);
    assert_int_equal(st.transactions_aborted, 0);
    pthread_mutex_lock(&log.lock);
    for (int i = 0; i < 100; i++)
        assert_int_equal(log.ok[i], 2);
    pthread_mutex_unlock(&log.lock);
    evbus_producer_destroy(p);
    for (int t = 0; t < 2; t++) {
        int seen[100] = {0};
        char topic[128];
        snprintf(topic, sizeof(topic), "%s-%c", fx->prefix, "ab"[t]);
        assert_int_equal(read_committed(tu_mock_bootstrap(fx->mock), topic, seen, 100), 100);
        for (int i = 0; i < 100; i++)
            assert_int_equal(seen[i], 1);
    }
    pthread_mutex_destroy(&log.lock);
}

/* A transaction the broker makes abort (a produce error): each of its events is reported
 * failed on both topics (transaction_aborted), a read_committed reader sees none of them,
 * and the producer goes on with the next transaction without re-sending anything. */
static void test_transaction_abort_reported_per_event(void **state) {
    fx_t *fx = *state;
    char err[512];
    log_t log;
    memset(&log, 0, sizeof(log));
    pthread_mutex_init(&log.lock, NULL);
    evbus_conf_t *c = make_conf(fx, tu_mock_bootstrap(fx->mock), TWO_TOPICS);
    assert_int_equal(evbus_conf_set(c, "producer.transactional", "true", err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "kafka.log_level", "0", err, sizeof(err)), 0);
    evbus_conf_set_delivery_cb(c, on_delivery, &log);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
    /* events 0-9 committed */
    for (int i = 0; i < 10; i++) {
        o.opaque = (void *)(intptr_t)(i + 1);
        assert_int_equal(send_n(p, i, &o, NULL, err, sizeof(err)), EVBUS_OK);
    }
    assert_int_equal(evbus_producer_flush(p, 30000), 0);
    /* events 10-19: the broker refuses their first produce request (ApiKey 0 = Produce),
     * which holds event 10, so its transaction must be aborted.  The events sent before the
     * refusal came back are in that transaction; those sent after find it failed and go into
     * the next one (test_send_into_failed_transaction_goes_to_the_next).  Where the refusal
     * lands depends on the scheduler: all ten usually, fewer after a stall while sending (a
     * loaded machine; the test once expected all ten and failed now and then).  So: the
     * aborted events are 10 to 10+k-1 for some k >= 1, the rest committed. */
    rd_kafka_mock_push_request_errors(tu_mock_cluster(fx->mock), 0, 1,
                                      RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    for (int i = 10; i < 20; i++) {
        o.opaque = (void *)(intptr_t)(i + 1);
        assert_int_equal(send_n(p, i, &o, NULL, err, sizeof(err)), EVBUS_OK);
    }
    assert_int_equal(evbus_producer_flush(p, 60000), 0); /* reported, so nothing outstanding */
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.transactions_aborted, 1);
    assert_true(st.transactions_committed >= 1);
    pthread_mutex_lock(&log.lock);
    int k = 0; /* events of the aborted transaction: 10 .. 10+k-1 */
    while (k < 10 && log.aborted[10 + k] > 0)
        k++;
    assert_true(k >= 1);
    for (int i = 0; i < 20; i++) {
        /* every event: both topics one way (all delivered or all failed), never split */
        assert_int_equal(log.ok[i] + log.failed[i], 2);
        if (i < 10 || i >= 10 + k) {
            assert_int_equal(log.ok[i], 2);
        } else {
            assert_int_equal(log.failed[i], 2);
            assert_int_equal(log.aborted[i], 2);
        }
    }
    assert_int_equal(st.failed, (uint64_t)(2 * k)); /* k events on 2 topics */
    assert_int_equal(st.sent, 40);                    /* nothing re-sent */
    pthread_mutex_unlock(&log.lock);
    evbus_producer_destroy(p);
    /* Every event reported delivered is there once.  (The embedded broker does not hide
     * aborted transactions from read_committed readers; ftest_producer_txn checks that on
     * real Kafka.) */
    for (int t = 0; t < 2; t++) {
        int seen[20] = {0};
        char topic[128];
        snprintf(topic, sizeof(topic), "%s-%c", fx->prefix, "ab"[t]);
        assert_true(read_committed(tu_mock_bootstrap(fx->mock), topic, seen, 20) >= 10);
        for (int i = 0; i < 10; i++)
            assert_int_equal(seen[i], 1);
    }
    pthread_mutex_destroy(&log.lock);
}

/* Delivery reports librdkafka has given for the open transaction: txn.c holds them until
 * the transaction ends.  Once every message of it is reported, the broker has answered each
 * produce request, the failed one included, so librdkafka has put the transaction in its
 * abortable error state (it does so before it reports that request's messages). */
static size_t held_reports(evbus_producer_t *p) {
    pthread_mutex_lock(&p->held_lock);
    size_t n = p->nheld;
    pthread_mutex_unlock(&p->held_lock);
    return n;
}

/* A send that finds the open transaction already failed (librdkafka refuses to enqueue into
 * it) is not refused: the transaction is aborted (its events reported failed) and the event
 * goes into the next one, which commits.  One event goes into the failing transaction: its
 * two messages are the first produce request's (or the first two's), so it is in the failed
 * transaction whatever the scheduler does.  (With several, a stall while sending them let the
 * produce error arrive mid-way, and the later ones went into the next transaction.) */
static void test_send_into_failed_transaction_goes_to_the_next(void **state) {
    fx_t *fx = *state;
    char err[512];
    log_t log;
    memset(&log, 0, sizeof(log));
    pthread_mutex_init(&log.lock, NULL);
    evbus_conf_t *c = make_conf(fx, tu_mock_bootstrap(fx->mock), TWO_TOPICS);
    assert_int_equal(evbus_conf_set(c, "producer.transactional", "true", err, sizeof(err)), 0);
    /* Changed default: commit only on flush, so the failed transaction is still open when
     * event 1 is sent; test_transactional_commit runs the default interval. */
    assert_int_equal(evbus_conf_set(c, "producer.transaction.interval.ms", "600000", err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "kafka.log_level", "0", err, sizeof(err)), 0);
    evbus_conf_set_delivery_cb(c, on_delivery, &log);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    /* the first produce request fails: its transaction must be aborted (ApiKey 0 = Produce) */
    rd_kafka_mock_push_request_errors(tu_mock_cluster(fx->mock), 0, 1,
                                      RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
    o.opaque = (void *)(intptr_t)1;
    assert_int_equal(send_n(p, 0, &o, NULL, err, sizeof(err)), EVBUS_OK);
    /* Wait for the failed transaction's state, not for a time: both messages of event 0
     * reported (held, nothing committed) */
    int64_t end = tu_now_us() + 30 * 1000000LL;
    while (held_reports(p) < 2 && tu_now_us() < end) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(held_reports(p), 2);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.transactions_committed + st.transactions_aborted, 0);
    o.opaque = (void *)(intptr_t)2;
    evbus_send_result_t r = EVBUS_SEND_RESULT_INIT;
    evbus_err_t e = send_n(p, 1, &o, &r, err, sizeof(err));
    if (e != EVBUS_OK)
        fail_msg("send into a failed transaction: %s: %s", evbus_err_name(e), err);
    assert_int_equal(r.naccepted, 2);
    assert_int_equal(evbus_producer_flush(p, 60000), 0);
    evbus_producer_stats(p, &st);
    /* the failed transaction aborted, and event 1's, the next one, committed */
    assert_int_equal(st.transactions_aborted, 1);
    assert_int_equal(st.transactions_committed, 1);
    pthread_mutex_lock(&log.lock);
    assert_int_equal(log.failed[0], 2);
    assert_int_equal(log.aborted[0], 2);
    assert_int_equal(log.ok[0], 0);
    assert_int_equal(log.ok[1], 2);
    assert_int_equal(log.failed[1], 0);
    pthread_mutex_unlock(&log.lock);
    evbus_producer_destroy(p);
    for (int t = 0; t < 2; t++) {
        int seen[2] = {0};
        char topic[128];
        snprintf(topic, sizeof(topic), "%s-%c", fx->prefix, "ab"[t]);
        assert_true(read_committed(tu_mock_bootstrap(fx->mock), topic, seen, 2) >= 1);
        assert_int_equal(seen[1], 1);
    }
    pthread_mutex_destroy(&log.lock);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_room_for_all_topics_enqueues_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topics_option_and_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_topics_per_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactional_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_abort_reported_per_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_into_failed_transaction_goes_to_the_next, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
