/* Fault test (3-node cluster, run by ktest_faults_producer.sh): libproducer with
 * producer.transactional=true publishes to two topics while the broker that coordinates its
 * transactions is SIGKILLed.  An independent read_committed reader (librdkafka's default
 * isolation) must see every event on both topics or on neither, never twice; the events it
 * does not see are exactly those reported failed (transaction aborted), and flush leaves
 * nothing undelivered. */
#include <fnmatch.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define PREFIX "tx-"
#define NPART 6

typedef struct outcomes_s {
    int n;
    uint8_t *ok, *failed, *aborted; /* per event: reports of each kind */
} outcomes_t;

/* Called on the producer's thread only (one at a time). */
static void on_delivery(const evbus_delivery_t *d, void *opaque) {
    outcomes_t *o = opaque;
    intptr_t i = (intptr_t)d->opaque - 1;
    if (i < 0 || i >= o->n)
        return;
    if (d->err == EVBUS_OK)
        o->ok[i]++;
    else
        o->failed[i]++;
    o->aborted[i] += (uint8_t)(d->transaction_aborted != 0);
}

/* Java's String.hashCode, which Kafka uses to place a transactional id on a partition of
 * __transaction_state; that partition's leader is the transaction coordinator. */
static int coordinator(const char *bs, const char *txn_id) {
    int32_t h = 0;
    for (const char *c = txn_id; *c; c++)
        h = (int32_t)((uint32_t)h * 31u + (unsigned char)*c);
    rd_kafka_t *rk = fu_client(bs);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, "__transaction_state", NULL);
    const struct rd_kafka_metadata *md = NULL;
    int np = 0;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == 0) {
        if (md->topic_cnt == 1)
            np = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    if (np <= 0)
        fail_msg("__transaction_state has no partitions");
    return fu_leader(bs, "__transaction_state", (int)(((uint32_t)h & 0x7fffffffu) % (uint32_t)np));
}

static void test_coordinator_kill(void **state) {
    (void)state;
    const char *bs = fu_bootstrap(3);
    int n = tu_long() ? 500000 : 100000;
    char *ta = tu_unique_name("ft-txn");
    char *tb = tu_unique_name("ft-txn-audit");
    fu_create_topic(bs, ta, NPART, 3);
    fu_create_topic(bs, tb, NPART, 3);
    const char *topics[] = {ta, tb};

    outcomes_t o = {n, calloc((size_t)n, 1), calloc((size_t)n, 1), calloc((size_t)n, 1)};
    assert_non_null(o.ok);
    assert_non_null(o.failed);
    assert_non_null(o.aborted);
    char err[1024], host[256], txn_id[300];
    assert_int_equal(gethostname(host, sizeof(host)), 0);
    /* the default kafka.transactional.id: evbus-<service>-<host> */
    snprintf(txn_id, sizeof(txn_id), "evbus-evbus-%s", host);
    evbus_conf_t *conf = fu_producer_conf_topics(bs, topics, 2);
    cu_set(conf, "producer.transactional", "true");
    evbus_conf_set_delivery_cb(conf, on_delivery, &o);
    evbus_producer_t *p = evbus_producer_new(conf, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);

    int64_t t0 = tu_now_us();
    int victim = -1, refused = 0;
    for (int i = 0; i < n; i++) {
        if (i == n / 2) {
            /* kill once transactions are being committed */
            evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
            int64_t end = tu_now_us() + 60 * 1000000LL;
            do {
                evbus_producer_stats(p, &st);
                if (st.transactions_committed >= 2)
                    break;
                fu_sleep_ms(5);
            } while (tu_now_us() < end);
            victim = coordinator(bs, txn_id);
            assert_true(victim >= 1 && victim <= 3);
            fu_node(victim, "stop", "KILL");
            printf("SIGKILL node %d (transaction coordinator of %s) after %d events, %" PRIu64
                   " transactions committed (%.1f s)\n",
                   victim, txn_id, i, st.transactions_committed, fu_secs(t0));
            fflush(stdout);
        }
        char id[37], key[64], json[160];
        fu_id_for(PREFIX, i, id);
        snprintf(key, sizeof(key), "%s%d", PREFIX, i);
        int len = snprintf(json, sizeof(json), "{\"id\":\"%s\",\"n\":%d,\"action\":\"ok\"}", key, i);
        evbus_send_opts_t so = EVBUS_SEND_OPTS_INIT;
        so.id = id;
        so.opaque = (void *)(intptr_t)(i + 1);
        evbus_send_result_t res = EVBUS_SEND_RESULT_INIT;
        evbus_err_t e = evbus_producer_send_ex(p, CU_TYPE, json, (size_t)len, &so, &res, err,
                                               sizeof(err));
        if (e != EVBUS_OK) {
            /* refused whole (never half): it is simply not published */
            assert_int_equal(res.naccepted, 0);
            if (refused++ < 5)
                printf("send %d refused: %s: %s\n", i, evbus_err_name(e), err);
            o.failed[i] = 2; /* counted as "reported failed on both topics" below */
        }
    }
    int left = evbus_producer_flush(p, 240000);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    printf("sent %d events in %.1f s, %d refused; flush left %d; delivered %" PRIu64
           ", failed %" PRIu64 ", transactions committed %" PRIu64 ", aborted %" PRIu64 "\n",
           n, fu_secs(t0), refused, left, st.delivered, st.failed, st.transactions_committed,
           st.transactions_aborted);
    assert_int_equal(left, 0);
    evbus_producer_destroy(p);
    fu_node(victim, "start", NULL);
    fu_wait_brokers(bs, 3, 90000);

    long reported_ok = 0, reported_failed = 0;
    for (int i = 0; i < n; i++) {
        /* every event is settled one way on both topics */
        if (!((o.ok[i] == 2 && o.failed[i] == 0) || (o.ok[i] == 0 && o.failed[i] == 2)))
            fail_msg("event %d: %d delivered and %d failed reports", i, o.ok[i], o.failed[i]);
        reported_ok += o.ok[i] == 2;
        reported_failed += o.failed[i] == 2;
    }
    fu_count_t c[2];
    for (int t = 0; t < 2; t++) {
        fu_count_topic(bs, topics[t], PREFIX, n, &c[t], 300000);
        printf("read_committed %s: messages %ld, unique %ld, duplicates %ld, missing %ld, "
               "foreign %ld\n", topics[t], c[t].messages, c[t].unique, c[t].duplicates,
               c[t].missing, c[t].foreign);
        assert_int_equal(c[t].duplicates, 0);
        assert_int_equal(c[t].foreign, 0);
    }
    long partial = 0, mismatched = 0;
    for (int i = 0; i < n; i++) {
        partial += c[0].seen[i] != c[1].seen[i];
        mismatched += (c[0].seen[i] == 1) != (o.ok[i] == 2);
    }
    printf("events: reported delivered %ld, reported failed %ld; visible on one topic only %ld;"
           " visibility differing from the report %ld\n",
           reported_ok, reported_failed, partial, mismatched);
    assert_int_equal(partial, 0);
    assert_int_equal(mismatched, 0);
    assert_int_equal(c[0].missing, reported_failed);
    fu_count_free(&c[0]);
    fu_count_free(&c[1]);
    free(o.ok);
    free(o.failed);
    free(o.aborted);
    free(ta);
    free(tb);
}

/* Create topic with max.message.bytes=limit, so that a bigger event is refused by the
 * broker (not by librdkafka, whose own limit is 1 MB): a real abortable transaction error. */
static void create_limited_topic(const char *bs, const char *topic, const char *limit) {
    char err[512];
    rd_kafka_t *rk = fu_client(bs);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, NPART, 3, err, sizeof(err));
    assert_non_null(nt);
    assert_int_equal(rd_kafka_NewTopic_set_config(nt, "max.message.bytes", limit), 0);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 60000);
    assert_non_null(ev);
    size_t n;
    const rd_kafka_topic_result_t **tr =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    assert_int_equal(n, 1);
    if (rd_kafka_topic_result_error(tr[0]))
        fail_msg("create %s: %s", topic, rd_kafka_topic_result_error_string(tr[0]));
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_destroy(rk);
    fu_create_topic(bs, topic, NPART, 3); /* exists: waits for its leaders */
}

/* A transaction the broker makes abort (an event over the topic's max.message.bytes): its
 * events are reported failed on both topics and never re-sent, the producer goes on, and a
 * read_committed reader sees exactly the events of the committed transactions. */
static void test_abort_then_continue(void **state) {
    (void)state;
    const char *bs = fu_bootstrap(3);
    const int n = 300;
    char *ta = tu_unique_name("ft-txa");
    char *tb = tu_unique_name("ft-txa-audit");
    create_limited_topic(bs, ta, "100000");
    create_limited_topic(bs, tb, "100000");
    const char *topics[] = {ta, tb};
    outcomes_t o = {n, calloc((size_t)n, 1), calloc((size_t)n, 1), calloc((size_t)n, 1)};
    assert_non_null(o.ok);
    assert_non_null(o.failed);
    assert_non_null(o.aborted);
    char err[1024];
    evbus_conf_t *conf = fu_producer_conf_topics(bs, topics, 2);
    cu_set(conf, "producer.transactional", "true");
    /* its own transactional id: test_coordinator_kill's may still be fenced or in recovery */
    cu_set(conf, "kafka.transactional.id", ta);
    evbus_conf_set_delivery_cb(conf, on_delivery, &o);
    evbus_producer_t *p = evbus_producer_new(conf, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    char *big = malloc(200001);
    assert_non_null(big);
    memset(big, 'x', 200000);
    big[200000] = 0;
    char *json = malloc(200200);
    assert_non_null(json);
    for (int i = 0; i < n; i++) {
        char id[37], key[64];
        fu_id_for(PREFIX, i, id);
        snprintf(key, sizeof(key), "%s%d", PREFIX, i);
        /* event 100 is too big for the topics: its transaction (100-199) must abort */
        int len = snprintf(json, 200200, "{\"id\":\"%s\",\"n\":%d,\"action\":\"%s\"}", key, i,
                           i == 100 ? big : "ok");
        evbus_send_opts_t so = EVBUS_SEND_OPTS_INIT;
        so.id = id;
        so.opaque = (void *)(intptr_t)(i + 1);
        evbus_err_t e = evbus_producer_send_opts(p, CU_TYPE, json, (size_t)len, &so, err, sizeof(err));
        if (e != EVBUS_OK)
            fail_msg("send %d: %s: %s", i, evbus_err_name(e), err);
        if (i % 100 == 99) /* one transaction per hundred events */
            assert_int_equal(evbus_producer_flush(p, 120000), 0);
    }
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    printf("abort then continue: committed %" PRIu64 ", aborted %" PRIu64 ", delivered %" PRIu64
           ", failed %" PRIu64 "\n", st.transactions_committed, st.transactions_aborted,
           st.delivered, st.failed);
    evbus_producer_destroy(p);
    assert_true(st.transactions_aborted >= 1);
    assert_int_equal(st.delivered + st.failed, 2 * (uint64_t)n); /* all settled, none twice */
    for (int i = 0; i < n; i++) {
        /* each event one way on both topics; events after the failure may have gone into
         * the next transaction (a send that finds its transaction failed waits for it) */
        if (!((o.ok[i] == 2 && o.failed[i] == 0) ||
              (o.ok[i] == 0 && o.failed[i] == 2 && o.aborted[i] == 2)))
            fail_msg("event %d: %d delivered, %d failed, %d aborted", i, o.ok[i], o.failed[i],
                     o.aborted[i]);
        if (i < 100 || i >= 200)
            assert_int_equal(o.ok[i], 2);
    }
    assert_int_equal(o.aborted[100], 2);
    for (int t = 0; t < 2; t++) {
        fu_count_t c;
        fu_count_topic(bs, topics[t], PREFIX, n, &c, 120000);
        printf("read_committed %s: messages %ld, duplicates %ld, missing %ld\n", topics[t],
               c.messages, c.duplicates, c.missing);
        int differ = 0;
        for (int i = 0; i < n; i++) {
            if (c.seen[i] != (o.ok[i] == 2 ? 1 : 0) && differ++ < 10)
                printf("event %d: reported %s, read %d times\n", i,
                       o.ok[i] == 2 ? "delivered" : "failed", c.seen[i]);
        }
        assert_int_equal(differ, 0);
        assert_int_equal(c.foreign, 0);
        fu_count_free(&c);
    }
    free(big);
    free(json);
    free(o.ok);
    free(o.failed);
    free(o.aborted);
    free(ta);
    free(tb);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_abort_then_continue),
                                       cmocka_unit_test(test_coordinator_kill)};
    /* EVBUS_FTEST_CASES=test_abort_then_continue (a pattern, * and ?) runs only the matching
     * tests, e.g. to run one in a loop (ktest_faults_producer.sh passes it on).  A pattern
     * that matches none fails: running nothing is not a pass. */
    const char *only = getenv("EVBUS_FTEST_CASES");
    if (only && *only) {
        int matched = 0;
        for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
            matched += fnmatch(only, tests[i].name, 0) == 0;
        if (!matched) {
            fprintf(stderr, "EVBUS_FTEST_CASES=%s matches no test\n", only);
            return 1;
        }
        cmocka_set_test_filter(only);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
