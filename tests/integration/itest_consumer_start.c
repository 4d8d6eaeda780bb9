/* Start positions: from a timestamp (older messages never handled) and from the end. */
#include <sys/time.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"


static int64_t now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

typedef struct w_s { evbus_consumer_t *c; uint64_t handled; uint64_t assigned; } w_t;
static int pred(void *arg) {
    w_t *w = arg;
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(w->c, &st);
    return st.handled >= w->handled && st.assigned >= w->assigned;
}

static evbus_consumer_t *make(const char *bs, const char *topic, cu_seen_t *seen, evbus_dispatcher_t **dp,
                              int start, int64_t ts) {
    char err[512];
    char *group = tu_unique_name("grp");
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, cu_record, seen, NULL, 0, NULL), 0);
    /* start < 0: nothing set, the default users get */
    evbus_consumer_t *c = evbus_consumer_new(start < 0 ? cu_conf_default_start(bs, group) : cu_conf(bs, group),
                                             d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    if (start >= 0)
        assert_int_equal(evbus_consumer_set_start(c, (evbus_start_t)start, ts), EVBUS_OK); /* before subscribing */
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    free(group);
    *dp = d;
    return c;
}

static void test_since_and_latest(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-since");
    rd_kafka_t *p = cu_producer(bs);
    int64_t now = now_ms();
    for (int i = 0; i < 12; i++)
        cu_produce_event(p, topic, i % 4, "old", i, "ok", now - 3600 * 1000);
    for (int i = 0; i < 8; i++)
        cu_produce_event(p, topic, i % 4, "new", i, "ok", now - 1000);
    cu_flush(p);

    cu_seen_t seen = {0};
    pthread_mutex_init(&seen.mu, NULL);
    evbus_dispatcher_t *d;
    evbus_consumer_t *c = make(bs, topic, &seen, &d, EVBUS_START_TIMESTAMP, now - 1800 * 1000);
    assert_int_equal(evbus_consumer_set_start(c, 7, 0), EVBUS_ERR_INVALID_ARG);
    cu_runner_t r;
    cu_start(&r, c);
    w_t w = {c, 8, 0};
    assert_true(cu_wait(pred, &w, 60000));
    cu_stop(&r);
    assert_int_equal(seen.n, 8);
    for (size_t i = 0; i < seen.n; i++)
        assert_non_null(strstr(seen.ids[i], "ev-new-"));
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    cu_seen_free(&seen);

    /* the default, latest: only what is produced after the assignment */
    cu_seen_t late = {0};
    pthread_mutex_init(&late.mu, NULL);
    c = make(bs, topic, &late, &d, -1, 0);
    cu_start(&r, c);
    w_t wa = {c, 0, 1};
    assert_true(cu_wait(pred, &wa, 60000));
    /* assigned, but the end position is resolved asynchronously: events produced before that
     * are (rightly) skipped, so produce a round at a time until one is handled */
    w_t wl = {c, 4, 0};
    int ok = 0;
    for (int round = 0; round < 30 && !ok; round++) {
        for (int i = 0; i < 4; i++)
            cu_produce_event(p, topic, i, "late", round * 4 + i, "ok", 0);
        cu_flush(p);
        ok = cu_wait(pred, &wl, 2000);
    }
    assert_true(ok);
    cu_stop(&r);
    assert_true(late.n >= 4);
    for (size_t i = 0; i < late.n; i++)
        assert_non_null(strstr(late.ids[i], "ev-late-")); /* nothing from before the start */
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    cu_seen_free(&late);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_since_and_latest)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
