/* Consumer with a schema registry (the test double) that fails, at the default settings:
 * while the registry answers 503 the events are retried with backoff and never dead-lettered;
 * when it is back (same address) every event is handled, none lost; an id the registry does
 * not know (404) is dead-lettered as a schema error.  The double stays here (not Apicurio):
 * a real registry cannot be made to answer 503 on demand and come back on the same port. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "framing.h"
#include "headers.h"
#include "testutil.h"
#include "registry.h"

/* Confluent-framed Avro of json with the test schema under registry id `id`. */
static void produce_confluent(rd_kafka_t *p, const char *topic, int32_t id, const char *ev_id, int n) {
    char json[256], err[256];
    snprintf(json, sizeof(json), "{\"id\":\"%s\",\"n\":%d,\"action\":\"ok\"}", ev_id, n);
    evbus__buf_t v = EVBUS__BUF_INIT;
    assert_int_equal(evbus__framing_write_confluent(&v, id), 0);
    if (evbus__avro_encode_json(cu_doc()->root, json, strlen(json), &v, err, sizeof(err)) != EVBUS_OK)
        fail_msg("encode: %s", err);
    evbus__header_values_t hv = {.type = CU_TYPE, .id = ev_id};
    rd_kafka_headers_t *h = evbus__headers_build(&hv, "test-host");
    assert_non_null(h);
    cu_produce_raw(p, topic, 0, v.data, v.len, "k", 1, h, 0);
    evbus__buf_free(&v);
}

static void test_registry_outage(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-reg"), *group = tu_unique_name("grp");
    rd_kafka_t *p = cu_producer(bs);
    /* A fresh registry gives the first schema id 1 (checked below when it is registered). */
    for (int i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof(id), "ev-reg-%d", i);
        produce_confluent(p, topic, 1, id, i);
    }
    produce_confluent(p, topic, 999, "ev-unknown-id", 5);
    cu_flush(p);

    tu_registry_t *down = tu_registry_start("--fail-status", "503", NULL);
    const char *port = strrchr(down->url, ':') + 1;
    char url[128], port_s[16];
    snprintf(url, sizeof(url), "%s", down->url);
    snprintf(port_s, sizeof(port_s), "%d", atoi(port));

    cu_seen_t seen = {0};
    pthread_mutex_init(&seen.mu, NULL);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, cu_record, &seen, NULL, 0, "record"), 0);
    evbus_conf_t *conf = cu_conf(bs, group);
    cu_set(conf, "schema.registry.url", url);
    char err[512];
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    cu_runner_t r;
    cu_start(&r, c);

    /* the outage: retried (backoff 100, 200, 400 ms ...), nothing handled or dead-lettered */
    assert_true(cu_wait_stats(c, 0, 0, 3, 60000));
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &st);
    assert_int_equal(st.handled, 0);
    assert_int_equal(st.dead_lettered, 0);
    assert_int_equal(cu_seen_n(&seen), 0);

    /* the registry comes back at the same address, with the schema as id 1 */
    tu_registry_stop(down);
    tu_registry_t *up = tu_registry_start("--port", port_s, NULL);
    assert_string_equal(up->url, url);
    evbus__registry_t *reg = evbus__registry_new(up->url, NULL, NULL, 5000, err, sizeof(err));
    assert_non_null(reg);
    char *subject = evbus__registry_value_subject(topic, CU_TYPE);
    assert_non_null(subject);
    int32_t id = -1;
    assert_int_equal(evbus__registry_id_for(reg, subject, cu_doc(), &id, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(id, 1);
    free(subject);
    evbus__registry_destroy(reg);

    /* every event handled once it is back; the unknown id (404) is the one dead letter */
    assert_true(cu_wait_stats(c, 5, 1, 0, 60000));
    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);
    evbus_consumer_stats(c, &st);
    assert_int_equal(st.handled, 5);
    assert_int_equal(st.dead_lettered, 1);
    assert_true(st.transient_errors >= 3);
    assert_int_equal(cu_seen_n(&seen), 5);
    for (size_t i = 0; i < seen.n; i++)
        assert_int_equal(seen.count[i], 1);
    char dlq[512];
    snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
    cu_msgs_t ms = {0};
    assert_int_equal(cu_read_topic(bs, dlq, &ms, 1, 30000), 1);
    char *eid = cu_header(ms.m[0], "ce_id"), *code = cu_header(ms.m[0], "evbus_error_code");
    char *why = cu_header(ms.m[0], "evbus_error");
    assert_string_equal(eid, "ev-unknown-id");
    assert_string_equal(code, "ERR_SCHEMA");
    assert_non_null(strstr(why, "HTTP 404"));
    free(eid); free(code); free(why);
    cu_msgs_free(&ms);

    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    tu_registry_stop(up);
    cu_seen_free(&seen);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_registry_outage)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
