/* libproducer's queue room (the all-or-nothing reservation that mirrors librdkafka's
 * queue.buffering.max.messages/.kbytes) in both framings: an event reserves room for every
 * message before any is enqueued and each delivery report gives back what its message took.
 * A send that reserved the payload plus the longest framing (10 bytes) while the report gave
 * back the real message (5 bytes of Confluent framing) lost 5 bytes of room per message
 * until the producer refused every send with an empty queue (issue 29, item 1). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evbus/producer.h"
#include "producer_internal.h"

#define TYPE "org.test.order.v1"
/* 20,000 events to two topics: 40,000 messages of 17 to 20 bytes, about 12 times the
 * 64 KiB bound set below. */
#define NEVENTS 20000

static const char *SCHEMA =
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"org.test.order.v1\","
    "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"long\"}]}";

static const char *TWO_TOPICS =
    "{\"" TYPE "\": [{\"topic\": \"a\", \"event_key_field\": \"id\"},"
    " {\"topic\": \"b\", \"event_key_field\": \"id\"}]}";

typedef struct fx_s {
    tu_mock_t *mock;
    tu_registry_t *reg;
    char *dir, *prefix;
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->mock = tu_mock_new(1);
    fx->dir = tu_mkdtemp();
    free(tu_write_file(fx->dir, TYPE ".avsc", SCHEMA));
    fx->prefix = tu_unique_name("room");
    *state = fx;
    return 0;
}

static int setup_registry(void **state) {
    setup(state);
    ((fx_t *)*state)->reg = tu_registry_start(NULL);
    return 0;
}

/* Runs even when the test fails, so no registry double outlives it. */
static int teardown(void **state) {
    fx_t *fx = *state;
    tu_registry_stop(fx->reg);
    tu_mock_destroy(fx->mock);
    tu_rm_rf(fx->dir);
    free(fx->dir);
    free(fx->prefix);
    free(fx);
    return 0;
}

static int room_empty(void *arg) {
    evbus_producer_t *p = arg;
    return atomic_load(&p->room_msgs) == 0 && atomic_load(&p->room_bytes) == 0;
}

static void send_past_the_bound(fx_t *fx) {
    char err[1024];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    cu_set(c, "kafka.bootstrap.servers", tu_mock_bootstrap(fx->mock));
    cu_set(c, "schema.dir", fx->dir);
    cu_set(c, "producer.config", TWO_TOPICS);
    cu_set(c, "topic.prefix", fx->prefix);
    if (fx->reg)
        cu_set(c, "schema.registry.url", fx->reg->url);
    /* Changed default: librdkafka's 1 GiB bound (1048576 KiB) would take some 200 million
     * messages to exhaust through a leak of 5 bytes each; at 64 KiB the sends below cross the
     * bound a dozen times over, and a leak exhausts it after about 13,000 messages. */
    cu_set(c, "kafka.queue.buffering.max.kbytes", "64");
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    assert_int_equal(p->room_max_bytes, 64 * 1024);
    for (int i = 0; i < NEVENTS; i++) {
        char ev[128];
        int len = snprintf(ev, sizeof(ev), "{\"id\":\"k%d\",\"n\":%d}", i, i);
        evbus_send_result_t r = EVBUS_SEND_RESULT_INIT;
        evbus_err_t e = evbus_producer_send_ex(p, TYPE, ev, (size_t)len, NULL, &r, err, sizeof(err));
        if (e != EVBUS_OK)
            fail_msg("%s framing: event %d of %d refused (%s: %s); queue room in use: %lld "
                     "messages, %lld bytes",
                     fx->reg ? "Confluent" : "single-object", i, NEVENTS, evbus_err_name(e), err,
                     (long long)atomic_load(&p->room_msgs), (long long)atomic_load(&p->room_bytes));
        assert_int_equal(r.naccepted, 2);
    }
    assert_int_equal(evbus_producer_flush(p, 60000), 0);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    assert_int_equal(evbus_producer_stats(p, &st), EVBUS_OK);
    assert_int_equal(st.sent, 2 * NEVENTS);
    assert_int_equal(st.delivered, 2 * NEVENTS);
    assert_int_equal(st.failed, 0);
    /* Every message reported: the room they took is all given back (the poller releases it
     * right after each report, so wait for that, bounded). */
    cu_wait(room_empty, p, 10000);
    assert_int_equal(atomic_load(&p->room_msgs), 0);
    assert_int_equal(atomic_load(&p->room_bytes), 0);
    evbus_producer_destroy(p);
}

static void test_single_object_framing(void **state) { send_past_the_bound(*state); }

static void test_confluent_framing(void **state) { send_past_the_bound(*state); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_object_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confluent_framing, setup_registry, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
