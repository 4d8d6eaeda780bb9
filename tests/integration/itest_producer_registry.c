/* libproducer with a schema registry (the test double): subjects, ids and Confluent framing. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "codec.h"
#include "evbus/producer.h"
#include "framing.h"
#include "registry.h"
#include "schema.h"

typedef struct fx_s {
    tu_mock_t *mock;
    tu_registry_t *reg;
} fx_t;

static int setup(void **state) {
    static fx_t fx;
    fx.mock = tu_mock_new(1);
    fx.reg = tu_registry_start(NULL);
    *state = &fx;
    return 0;
}

/* Runs even when the test fails, so no registry double outlives it. */
static int teardown(void **state) {
    fx_t *fx = *state;
    tu_registry_stop(fx->reg);
    tu_mock_destroy(fx->mock);
    return 0;
}

static void test_confluent_framing_and_subjects(void **state) {
    fx_t *fx = *state;
    char err[1024], url[512];
    tu_mock_t *mock = fx->mock;
    tu_registry_t *reg = fx->reg;
    char *prefix = tu_unique_name("reg");
    evbus_conf_t *c = evbus_conf_new();
    assert_int_equal(evbus_conf_set(c, "kafka.bootstrap.servers", tu_mock_bootstrap(mock), err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "schema.dir", tu_src_path("schemas"), err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "topic.prefix", prefix, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "schema.registry.url", reg->url, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "producer.config",
        "{\"org.openedx.content_authoring.xblock.published.v1\": ["
        "  {\"topic\": \"xblock\", \"event_key_field\": \"xblock_info.usage_key\"}]}", err, sizeof(err)), 0);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    const char *ev = "{\"xblock_info\": {\"usage_key\": \"block-v1:edX+D+R+type@html+block@1\", "
                     "\"block_type\": \"html\"}}";
    for (int i = 0; i < 3; i++) {
        evbus_err_t e = evbus_producer_send(p, "org.openedx.content_authoring.xblock.published.v1", ev,
                                            strlen(ev), err, sizeof(err));
        if (e != EVBUS_OK)
            fail_msg("send: %s: %s", evbus_err_name(e), err);
    }
    assert_int_equal(evbus_producer_flush(p, 10000), 0);
    evbus_producer_destroy(p);

    /* the subjects of the record-name-per-topic strategy, as the Python bus registers them */
    snprintf(url, sizeof(url), "%s/subjects", reg->url);
    char *subjects = tu_http_get(url, NULL);
    char want[600];
    snprintf(want, sizeof(want), "\"%s-xblock-org.openedx.content_authoring.xblock.published.v1.CloudEvent\"", prefix);
    if (!strstr(subjects, want))
        fail_msg("no value subject %s in %s", want, subjects);
    snprintf(want, sizeof(want), "\"%s-xblock-string\"", prefix);
    if (!strstr(subjects, want))
        fail_msg("no key subject %s in %s", want, subjects);
    free(subjects);

    /* read back one message: both key and value carry Confluent framing with registered ids */
    char topic[300];
    snprintf(topic, sizeof(topic), "%s-xblock", prefix);
    rd_kafka_t *rk = tu_reader_new(tu_mock_bootstrap(mock), topic);
    rd_kafka_message_t *m = NULL;
    int64_t deadline = tu_now_us() + 15000000;
    while (!m && tu_now_us() < deadline) {
        m = rd_kafka_consumer_poll(rk, 100);
        if (m && m->err) {
            rd_kafka_message_destroy(m);
            m = NULL;
        }
    }
    assert_non_null(m);
    evbus__frame_t fv, fk;
    assert_int_equal(evbus__framing_parse(m->payload, m->len, &fv, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(fv.framing, EVBUS__FRAMING_CONFLUENT);
    assert_int_equal(evbus__framing_parse(m->key, m->key_len, &fk, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(fk.framing, EVBUS__FRAMING_CONFLUENT);
    assert_int_not_equal(fk.schema_id, fv.schema_id);
    /* the value's id resolves, through the registry, to a schema that decodes it */
    evbus__registry_t *client = evbus__registry_new(reg->url, NULL, NULL, 5000, err, sizeof(err));
    assert_non_null(client);
    const evbus__schema_doc_t *doc;
    assert_int_equal(evbus__registry_schema_by_id(client, fv.schema_id, &doc, err, sizeof(err)), EVBUS_OK);
    evbus__buf_t js = EVBUS__BUF_INIT;
    assert_int_equal(evbus__avro_decode_json(doc->root, fv.payload, fv.payload_len, &js, err, sizeof(err)), EVBUS_OK);
    /* the current schema (openedx-events 10.5.0) has a nullable version, filled by its default */
    assert_string_equal((char *)js.data,
        "{\"xblock_info\":{\"usage_key\":\"block-v1:edX+D+R+type@html+block@1\",\"block_type\":\"html\","
        "\"version\":null}}");
    evbus__buf_free(&js);
    evbus__registry_destroy(client);
    rd_kafka_message_destroy(m);
    rd_kafka_destroy(rk);
    free(prefix);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_confluent_framing_and_subjects, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
