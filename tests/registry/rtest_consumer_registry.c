/*
 * libconsumer reading Confluent-framed events through a real schema registry (Apicurio,
 * tests/registry/with-registry) on the embedded broker, at the default settings: the writer
 * schema of each message comes from the registry by id (an evolved writer is resolved into
 * the reader's schema); an id the registry does not know (its 404, 40403) and a registered
 * schema that is not the ce_type's are dead-lettered as schema errors, never retried.
 * The registry's outages (503, gone and back) stay on the double: itest_consumer_registry.c.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "framing.h"
#include "headers.h"
#include "registry.h"

static const char *g_url;

/* The test type's schema with one more field, nullable with a default: a newer writer. */
static const char *k_writer_v2 =
    "{\"name\":\"CloudEvent\",\"type\":\"record\",\"namespace\":\"org.evbus.test.consumer.v1\","
    "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"long\"},"
    "{\"name\":\"action\",\"type\":\"string\",\"default\":\"ok\"},"
    "{\"name\":\"extra\",\"type\":[\"null\",\"string\"],\"default\":null}]}";
/* A schema of another type altogether. */
static const char *k_foreign =
    "{\"name\":\"CloudEvent\",\"type\":\"record\",\"namespace\":\"org.evbus.test.other.v1\","
    "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"long\"},"
    "{\"name\":\"action\",\"type\":\"string\"}]}";

/* Confluent-framed Avro of json with schema doc under registry id `id`, ce_type CU_TYPE. */
static void produce_confluent(rd_kafka_t *p, const char *topic, const evbus__schema_doc_t *doc,
                              int32_t id, const char *ev_id, const char *json) {
    char err[256];
    evbus__buf_t v = EVBUS__BUF_INIT;
    assert_int_equal(evbus__framing_write_confluent(&v, id), 0);
    if (evbus__avro_encode_json(doc->root, json, strlen(json), &v, err, sizeof(err)) != EVBUS_OK)
        fail_msg("encode: %s", err);
    evbus__header_values_t hv = {.type = CU_TYPE, .id = ev_id};
    rd_kafka_headers_t *h = evbus__headers_build(&hv, "test-host");
    assert_non_null(h);
    cu_produce_raw(p, topic, 0, v.data, v.len, "k", 1, h, 0);
    evbus__buf_free(&v);
}

static void test_decode_through_registry(void **state) {
    (void)state;
    char err[512];
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("rtc-reg"), *group = tu_unique_name("grp");

    /* The writers register their schemas as a producer would (the value subject of the topic;
     * the foreign one under its own type's subject). */
    evbus__registry_t *reg = evbus__registry_new(g_url, NULL, NULL, 10000, err, sizeof(err));
    assert_non_null(reg);
    evbus__schema_doc_t *v2 = tu_schema_parse(k_writer_v2), *foreign = tu_schema_parse(k_foreign);
    char *subject = evbus__registry_value_subject(topic, CU_TYPE);
    char *fsubject = evbus__registry_value_subject(topic, "org.evbus.test.other.v1");
    assert_non_null(subject);
    assert_non_null(fsubject);
    int32_t id1 = -1, id2 = -1, idf = -1;
    if (evbus__registry_id_for(reg, subject, cu_doc(), &id1, err, sizeof(err)) ||
        evbus__registry_id_for(reg, subject, v2, &id2, err, sizeof(err)) ||
        evbus__registry_id_for(reg, fsubject, foreign, &idf, err, sizeof(err)))
        fail_msg("register: %s", err);
    assert_int_not_equal(id1, id2);

    rd_kafka_t *p = cu_producer(bs);
    for (int i = 0; i < 3; i++) {
        char id[32], json[128];
        snprintf(id, sizeof(id), "ev-v1-%d", i);
        snprintf(json, sizeof(json), "{\"id\":\"%s\",\"n\":%d,\"action\":\"ok\"}", id, i);
        produce_confluent(p, topic, cu_doc(), id1, id, json);
    }
    for (int i = 0; i < 2; i++) {
        char id[32], json[160];
        snprintf(id, sizeof(id), "ev-v2-%d", i);
        snprintf(json, sizeof(json), "{\"id\":\"%s\",\"n\":%d,\"action\":\"ok\",\"extra\":\"x\"}", id, i);
        produce_confluent(p, topic, v2, id2, id, json);
    }
    produce_confluent(p, topic, cu_doc(), 2000000000, "ev-unknown-id",
                      "{\"id\":\"u\",\"n\":0,\"action\":\"ok\"}");
    produce_confluent(p, topic, foreign, idf, "ev-foreign",
                      "{\"id\":\"f\",\"n\":0,\"action\":\"ok\"}");
    cu_flush(p);

    cu_seen_t seen = {0};
    pthread_mutex_init(&seen.mu, NULL);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, cu_record, &seen, NULL, 0, "record"), 0);
    evbus_conf_t *conf = cu_conf(bs, group);
    cu_set(conf, "schema.registry.url", g_url);
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    cu_runner_t r;
    cu_start(&r, c);
    assert_true(cu_wait_stats(c, 5, 2, 0, 60000));
    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);

    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &st);
    assert_int_equal(st.handled, 5);
    assert_int_equal(st.dead_lettered, 2);
    /* a registry that answers is never a transient error */
    assert_int_equal(st.transient_errors, 0);
    assert_int_equal(cu_seen_n(&seen), 5);
    for (size_t i = 0; i < seen.n; i++)
        assert_int_equal(seen.count[i], 1);
    assert_true(cu_seen_has(&seen, "ev-v2-1"));

    char dlq[512];
    snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
    cu_msgs_t ms = {0};
    assert_int_equal(cu_read_topic(bs, dlq, &ms, 2, 30000), 2);
    int unknown = 0, other = 0;
    for (size_t i = 0; i < ms.n; i++) {
        char *eid = cu_header(ms.m[i], "ce_id"), *code = cu_header(ms.m[i], "evbus_error_code");
        char *why = cu_header(ms.m[i], "evbus_error");
        assert_non_null(eid);
        assert_string_equal(code, "ERR_SCHEMA");
        if (strcmp(eid, "ev-unknown-id") == 0) {
            unknown++;
            if (!strstr(why, "HTTP 404"))
                fail_msg("unknown id dead-lettered for: %s", why);
        } else if (strcmp(eid, "ev-foreign") == 0) {
            other++;
        }
        free(eid);
        free(code);
        free(why);
    }
    assert_int_equal(unknown, 1);
    assert_int_equal(other, 1);
    cu_msgs_free(&ms);

    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    cu_seen_free(&seen);
    rd_kafka_destroy(p);
    evbus__registry_destroy(reg);
    evbus__schema_doc_destroy(v2);
    evbus__schema_doc_destroy(foreign);
    free(subject);
    free(fsubject);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

int main(int argc, char **argv) {
    (void)argc;
    g_url = tu_real_registry(argv, NULL);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_decode_through_registry)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
