/*
 * Real Kafka (inside tests/kafka/with-kafka): 100k events through libproducer, read back by
 * an independent raw librdkafka consumer that checks every key, header and payload.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evbus/producer.h"
#include "framing.h"
#include "schema.h"

#define NEVENTS 100000
#define TYPE "org.evbus.demo.order.placed.v1"

static int make_event(char *buf, size_t size, int i) {
    return snprintf(buf, size,
        "{\"order_id\":\"o-%d\",\"placed_at\":\"2026-11-26T09:15:02.%06d+00:00\","
        "\"customer\":{\"id\":%d,\"email\":\"c%d@example.com\",\"pii\":{\"username\":\"user%d\",\"name\":null}},"
        "\"items\":[{\"sku\":\"SKU-%d\",\"qty\":%d,\"price\":%d.5}],\"total\":%d.5,\"currency\":\"EUR\","
        "\"tags\":{\"i\":\"%d\"},\"note\":null}", i, i % 1000000, i % 97, i, i % 97, i, i % 5 + 1, i % 50, i % 50, i);
}

static void test_100k_roundtrip(void **state) {
    (void)state;
    const char *bootstrap = tu_env("EVBUS_TEST_KAFKA_BOOTSTRAP");
    if (!bootstrap)
        fail_msg("EVBUS_TEST_KAFKA_BOOTSTRAP is unset: run inside tests/kafka/with-kafka (scripts/test does)");
    char err[1024], ev[1024];
    char *prefix = tu_unique_name("rt");
    evbus_conf_t *c = evbus_conf_new();
    assert_int_equal(evbus_conf_set(c, "kafka.bootstrap.servers", bootstrap, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "schema.dir", tu_src_path("schemas"), err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "topic.prefix", prefix, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "producer.config",
        "{\"" TYPE "\": [{\"topic\": \"orders\", \"event_key_field\": \"order_id\"}]}", err, sizeof(err)), 0);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    int64_t t0 = tu_now_us();
    for (int i = 0; i < NEVENTS; i++) {
        int n = make_event(ev, sizeof(ev), i);
        evbus_err_t e = evbus_producer_send(p, TYPE, ev, (size_t)n, err, sizeof(err));
        if (e != EVBUS_OK)
            fail_msg("event %d: %s: %s", i, evbus_err_name(e), err);
    }
    assert_int_equal(evbus_producer_flush(p, 120000), 0);
    int64_t t1 = tu_now_us();
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.delivered, NEVENTS);
    evbus_producer_destroy(p);
    printf("produced %d events in %.2f s (%.0f events/s)\n", NEVENTS, (t1 - t0) / 1e6,
           NEVENTS / ((t1 - t0) / 1e6));

    /* the independent reader: raw librdkafka, every partition from the start */
    char topic[256];
    snprintf(topic, sizeof(topic), "%s-orders", prefix);
    rd_kafka_t *rk = tu_reader_new(bootstrap, topic);

    evbus__schema_store_t *store = evbus__schema_store_new(tu_src_path("schemas"), err, sizeof(err));
    assert_non_null(store);
    uint64_t fp = evbus__schema_store_get(store, TYPE)->doc->fingerprint;
    unsigned char *seen = calloc(NEVENTS, 1);
    assert_non_null(seen);
    int got = 0, dups = 0;
    int64_t deadline = tu_now_us() + 120000000;
    while (got < NEVENTS && tu_now_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        evbus__frame_t fr;
        assert_int_equal(evbus__framing_parse(m->payload, m->len, &fr, err, sizeof(err)), EVBUS_OK);
        assert_true(fr.fingerprint == fp);
        /* key: single-object framed Avro string "o-<i>" */
        assert_int_equal(evbus__framing_parse(m->key, m->key_len, &fr, err, sizeof(err)), EVBUS_OK);
        int i = -1;
        assert_true(fr.payload_len > 3 && fr.payload_len < 20);
        char k[32];
        memcpy(k, fr.payload + 1, fr.payload_len - 1);
        k[fr.payload_len - 1] = 0;
        assert_int_equal(sscanf(k, "o-%d", &i), 1);
        assert_in_range(i, 0, NEVENTS - 1);
        rd_kafka_headers_t *h;
        const void *v;
        size_t l;
        assert_int_equal(rd_kafka_message_headers(m, &h), 0);
        assert_int_equal(rd_kafka_header_get_last(h, "ce_type", &v, &l), 0);
        assert_int_equal(l, strlen(TYPE));
        assert_memory_equal(v, TYPE, l);
        assert_int_equal(rd_kafka_header_get_last(h, "ce_id", &v, &l), 0);
        assert_int_equal(l, 36);
        if (seen[i]++)
            dups++;
        else
            got++;
        rd_kafka_message_destroy(m);
    }
    printf("read back %d distinct events, %d duplicates\n", got, dups);
    assert_int_equal(got, NEVENTS);
    assert_int_equal(dups, 0);
    free(seen);
    evbus__schema_store_destroy(store);
    rd_kafka_destroy(rk);
    free(prefix);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_100k_roundtrip)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
