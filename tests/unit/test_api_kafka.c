/*
 * evbus/kafka.h, the public librdkafka glue, on the embedded mock broker: events published by
 * the evbus producer and read back by the test's own librdkafka client are decoded by a
 * decoder as the consumer would see them, in the writer's schema or resolved into the current
 * one (history/ holds the writer's); a message without evbus headers is told apart without
 * decoding; events are reference counted; evbus_conf_to_kafka carries Kafka settings over.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <evbus/kafka.h>
#include <evbus/producer.h>

#define T1 "org.test.kafka.order.v1"
#define REC(fields) \
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"" T1 "\",\"fields\":[" fields "]}"
static const char *V1 = REC("{\"name\":\"id\",\"type\":\"string\"}");
static const char *V2 = REC("{\"name\":\"id\",\"type\":\"string\"},"
                            "{\"name\":\"qty\",\"type\":\"long\",\"default\":7}");

static void set(evbus_conf_t *c, const char *name, const char *value) {
    char err[512];
    if (evbus_conf_set(c, name, value, err, sizeof(err)) != EVBUS_CONF_OK)
        fail_msg("%s: %s", name, err);
}

static void test_conf_to_kafka(void **state) {
    (void)state;
    char err[512], buf[256];
    size_t sz = sizeof(buf);
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    set(c, "kafka.bootstrap.servers", "127.0.0.1:9");
    set(c, "kafka.linger.ms", "7");
    rd_kafka_conf_t *kc = evbus_conf_to_kafka(c, err, sizeof(err));
    if (!kc)
        fail_msg("conf_to_kafka: %s", err);
    assert_int_equal(rd_kafka_conf_get(kc, "bootstrap.servers", buf, &sz), RD_KAFKA_CONF_OK);
    assert_string_equal(buf, "127.0.0.1:9");
    sz = sizeof(buf);
    assert_int_equal(rd_kafka_conf_get(kc, "linger.ms", buf, &sz), RD_KAFKA_CONF_OK);
    assert_string_equal(buf, "7");
    rd_kafka_conf_destroy(kc);
    evbus_conf_destroy(c);
    assert_null(evbus_conf_to_kafka(NULL, err, sizeof(err)));
}

static void test_decoder_needs_a_valid_registry(void **state) {
    (void)state;
    char err[512] = "";
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    /* no schema store and no registry: a decoder still reads headers and keys */
    evbus_decoder_t *dec = evbus_decoder_new(c, NULL, err, sizeof(err));
    assert_non_null(dec);
    evbus_decoder_destroy(dec);
    evbus_decoder_destroy(NULL);
    set(c, "schema.registry.url", "ftp://127.0.0.1:1");
    assert_null(evbus_decoder_new(c, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "http://"));
    evbus_conf_destroy(c);
}

static void test_decode_what_the_producer_wrote(void **state) {
    (void)state;
    char err[512] = "";
    tu_mock_t *mock = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(mock);
    /* the producer writes with v1; the reader's store has v2 current and v1 in history/ */
    char *pdir = tu_mkdtemp(), *rdir = tu_mkdtemp(), hist[1024];
    free(tu_write_file(pdir, T1 ".avsc", V1));
    free(tu_write_file(rdir, T1 ".avsc", V2));
    snprintf(hist, sizeof(hist), "%s/history", rdir);
    assert_int_equal(mkdir(hist, 0755), 0);
    free(tu_write_file(hist, "v1.avsc", V1));

    evbus_conf_t *pc = evbus_conf_new();
    assert_non_null(pc);
    set(pc, "kafka.bootstrap.servers", bs);
    set(pc, "schema.dir", pdir);
    set(pc, "producer.config", "{\"" T1 "\": [{\"topic\": \"orders\", \"event_key_field\": \"id\"}]}");
    evbus_producer_t *p = evbus_producer_new(pc, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    const char *ev = "{\"id\":\"k1\"}";
    assert_int_equal(evbus_producer_send(p, T1, ev, strlen(ev), err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_producer_flush(p, 10000), 0);
    evbus_producer_destroy(p);
    /* and a message no evbus producer wrote: no headers, no framing */
    rd_kafka_t *raw = cu_producer(bs);
    cu_produce_raw(raw, "orders", 0, "junk", 4, NULL, 0, NULL, 0);
    cu_flush(raw);
    rd_kafka_destroy(raw);

    cu_msgs_t ms;
    assert_int_equal(cu_read_topic(bs, "orders", &ms, 2, 10000), 2);

    evbus_conf_t *rc = evbus_conf_new();
    assert_non_null(rc);
    evbus_schema_store_t *store = evbus_schema_store_new(rdir, err, sizeof(err));
    assert_non_null(store);
    evbus_decoder_t *dec = evbus_decoder_new(rc, store, err, sizeof(err));
    assert_non_null(dec);
    int seen_event = 0, seen_junk = 0;
    for (size_t i = 0; i < ms.n; i++) {
        rd_kafka_message_t *m = ms.m[i];
        rd_kafka_headers_t *h = NULL;
        const char *type, *id;
        size_t type_len, id_len;
        if (m->len == 4) { /* the junk */
            seen_junk++;
            err[0] = 0;
            assert_true(rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
                        evbus_headers_check(h, &type, &type_len, &id, &id_len, err, sizeof(err)) ==
                            EVBUS_ERR_DECODE);
            evbus_event_t *e = evbus_decoder_decode(dec, m, 0);
            assert_non_null(e);
            const char *why = NULL;
            assert_int_not_equal(evbus_event_problem(e, &why), EVBUS_OK);
            assert_non_null(why);
            assert_null(evbus_event_json(e, NULL));
            evbus_event_destroy(e);
            continue;
        }
        seen_event++;
        assert_int_equal(rd_kafka_message_headers(m, &h), RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(evbus_headers_check(h, &type, &type_len, &id, &id_len, err, sizeof(err)),
                         EVBUS_OK);
        assert_int_equal(type_len, strlen(T1));
        assert_memory_equal(type, T1, type_len);
        assert_true(id_len > 0);

        /* as written: v1's data */
        evbus_event_t *w = evbus_decoder_decode(dec, m, EVBUS_DECODE_AS_WRITTEN);
        assert_non_null(w);
        assert_int_equal(evbus_event_problem(w, NULL), EVBUS_OK);
        assert_string_equal(evbus_event_type(w), T1);
        assert_string_equal(evbus_event_topic(w), "orders");
        assert_int_equal(evbus_event_offset(w), m->offset);
        assert_string_equal(evbus_event_key(w), "k1");
        const char *json = evbus_event_json(w, NULL);
        if (!json)
            fail_msg("decode: %s", evbus_event_error(w));
        assert_null(strstr(json, "qty"));
        assert_non_null(strstr(json, "\"k1\""));
        /* the raw key keeps its framing */
        size_t klen = 0;
        const void *k = evbus_event_key_raw(w, &klen);
        int framing = 0;
        assert_non_null(k);
        assert_int_equal(evbus_framing_parse(k, klen, &framing, NULL, NULL, NULL, NULL, 0), EVBUS_OK);
        assert_int_equal(framing, EVBUS_FRAMING_SINGLE_OBJECT);

        /* resolved: v2, the default filled in */
        evbus_event_t *r = evbus_decoder_decode(dec, m, 0);
        assert_non_null(r);
        json = evbus_event_json(r, NULL);
        if (!json)
            fail_msg("resolve: %s", evbus_event_error(r));
        assert_non_null(strstr(json, "\"qty\":7"));

        /* references: the event lives until the last one is dropped (ASan/valgrind check it) */
        assert_ptr_equal(evbus_event_ref(r), r);
        evbus_event_destroy(r);
        assert_string_equal(evbus_event_id(r), evbus_event_id(r)); /* still valid */
        assert_non_null(evbus_event_json(r, NULL));
        evbus_event_destroy(r);
        evbus_event_destroy(w);
        evbus_event_destroy(NULL);
    }
    assert_int_equal(seen_event, 1);
    assert_int_equal(seen_junk, 1);
    evbus_decoder_destroy(dec);
    evbus_schema_store_destroy(store);
    evbus_conf_destroy(rc);
    cu_msgs_free(&ms);
    tu_mock_destroy(mock);
    tu_rm_rf(pdir);
    tu_rm_rf(rdir);
    free(pdir);
    free(rdir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_to_kafka),
        cmocka_unit_test(test_decoder_needs_a_valid_registry),
        cmocka_unit_test(test_decode_what_the_producer_wrote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
