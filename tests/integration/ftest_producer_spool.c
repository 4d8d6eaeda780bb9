/* Fault test (3-node cluster, run by ktest_faults_spool.sh): ftest_producer_kill with the
 * crash-safe spool (producer.spool.dir, default sync=interval): a partition leader is SIGKILLed
 * while libproducer publishes 200k events to two topics through its spool; every event must
 * land exactly once on both topics, and the spool must be empty afterwards.  An independent raw
 * librdkafka consumer counts the ce_id headers the topics really hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "evbus/spool.h"

#define PREFIX "ps-"
#define NPART 6

typedef struct run_s {
    int n;      /* events */
    int nkills; /* leader kills while publishing */
} run_t;

static void test_leader_kill(void **state) {
    (void)state;
    const char *bs = fu_bootstrap(3);
    run_t r = {200000, 1};
    if (tu_long())
        r = (run_t){1000000, 3};
    char *topic = tu_unique_name("fk-spool");
    char *topic2 = tu_unique_name("fk-spool-audit");
    char *dir = tu_mkdtemp();
    char spool[4200];
    snprintf(spool, sizeof(spool), "%s/spool", dir);
    fu_create_topic(bs, topic, NPART, 3);
    fu_create_topic(bs, topic2, NPART, 3);

    char err[1024];
    const char *topics[] = {topic, topic2};
    evbus_conf_t *conf = fu_producer_conf_topics(bs, topics, 2);
    cu_set(conf, "producer.spool.dir", spool);
    evbus_producer_t *p = evbus_producer_new(conf, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);

    int64_t t0 = tu_now_us();
    int victim = -1, kills = 0;
    for (int i = 0; i < r.n; i++) {
        if (kills < r.nkills && i == (int)((long)r.n * (kills + 1) / (r.nkills + 1))) {
            if (victim > 0) { /* the last victim comes back before the next kill */
                fu_node(victim, "start", NULL);
                fu_wait_brokers(bs, 3, 90000);
                printf("node %d restarted (%.1f s)\n", victim, fu_secs(t0));
            }
            /* kill only once the producer has a session with the leader (deliveries acked) */
            evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
            int64_t end = tu_now_us() + 60 * 1000000LL;
            do {
                evbus_producer_stats(p, &st);
                if (st.delivered > 0) /* a session with the leaders; the rest in flight */
                    break;
                fu_sleep_ms(5);
            } while (tu_now_us() < end);
            victim = fu_leader(bs, topic, kills % NPART);
            assert_true(victim >= 1 && victim <= 3);
            evbus_producer_stats(p, &st);
            fu_node(victim, "stop", "KILL");
            kills++;
            printf("kill %d: SIGKILL node %d (leader of %s [%d]) after %d events sent, %" PRIu64
                   " delivered, %" PRIu64 " in flight (%.1f s)\n",
                   kills, victim, topic, (kills - 1) % NPART, i, st.delivered, st.in_flight, fu_secs(t0));
            fflush(stdout);
        }
        evbus_err_t e = fu_send(p, PREFIX, i, err, sizeof(err));
        if (e != EVBUS_OK)
            fail_msg("send %d: %s: %s", i, evbus_err_name(e), err);
    }
    double t_sent = fu_secs(t0);
    int undelivered = evbus_producer_flush(p, 240000);
    double t_flushed = fu_secs(t0);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    printf("sent %d events in %.1f s; flush returned %d after %.1f s (%.0f events/s); "
           "delivered %" PRIu64 ", failed %" PRIu64 "\n",
           r.n, t_sent, undelivered, t_flushed, r.n / t_flushed, st.delivered, st.failed);
    assert_int_equal(undelivered, 0);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.delivered, 2 * (uint64_t)r.n);
    evbus_producer_destroy(p);
    evbus_spool_info_t *in = evbus_spool_info_new(spool, err, sizeof(err));
    if (!in)
        fail_msg("spool: %s", err);
    printf("spool after destroy: %llu events held\n", (unsigned long long)evbus_spool_info_events(in));
    assert_int_equal(evbus_spool_info_events(in), 0);
    evbus_spool_info_destroy(in);

    fu_node(victim, "start", NULL);
    fu_wait_brokers(bs, 3, 90000);
    printf("node %d restarted (%.1f s)\n", victim, fu_secs(t0));

    for (int t = 0; t < 2; t++) {
        fu_count_t c;
        int64_t t1 = tu_now_us();
        fu_count_topic(bs, topics[t], PREFIX, r.n, &c, 300000);
        printf("spool faults: %s: events: %d, leader kills: %d, messages in topic: %ld, unique: %ld, "
               "duplicates: %ld, missing: %ld, foreign: %ld (counted in %.1f s)\n",
               topics[t], r.n, kills, c.messages, c.unique, c.duplicates, c.missing, c.foreign,
               fu_secs(t1));
        assert_int_equal(kills, r.nkills);
        assert_int_equal(c.duplicates, 0);
        assert_int_equal(c.missing, 0);
        assert_int_equal(c.foreign, 0);
        assert_int_equal(c.messages, r.n);
        fu_count_free(&c);
    }
    free(topic);
    free(topic2);
    tu_rm_rf(dir);
    free(dir);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_leader_kill)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
