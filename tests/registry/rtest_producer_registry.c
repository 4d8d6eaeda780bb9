/* libproducer with a real schema registry (Apicurio, tests/registry/with-registry) and the
 * embedded broker: subjects as the Python bus names them, registered on first use, ids in the
 * Confluent framing of key and value that are the registry's own. */
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

#include <jansson.h>

typedef struct fx_s {
    tu_mock_t *mock;
    tu_registry_t *reg; /* only its url is used: the real registry's */
} fx_t;

static tu_registry_t g_real;

static int setup(void **state) {
    static fx_t fx;
    fx.mock = tu_mock_new(1);
    fx.reg = &g_real;
    *state = &fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    tu_mock_destroy(fx->mock);
    return 0;
}

/* The "id" of the latest version of subject (asserting HTTP 200). */
static int32_t latest_id(const char *subject) {
    char url[1024];
    long st = 0;
    snprintf(url, sizeof(url), "%s/subjects/%s/versions/latest", g_real.url, subject);
    char *body = tu_http_get(url, &st);
    if (st != 200)
        fail_msg("GET %s: HTTP %ld: %s", url, st, body);
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_integer(json_object_get(j, "id")));
    int32_t id = (int32_t)json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    free(body);
    return id;
}

static void test_confluent_framing_and_subjects(void **state) {
    fx_t *fx = *state;
    char err[1024], url[2048];
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
    char want[700], vsubject[600], ksubject[600];
    snprintf(vsubject, sizeof(vsubject), "%s-xblock-org.openedx.content_authoring.xblock.published.v1.CloudEvent", prefix);
    snprintf(want, sizeof(want), "\"%s\"", vsubject);
    if (!strstr(subjects, want))
        fail_msg("no value subject %s in %s", want, subjects);
    snprintf(ksubject, sizeof(ksubject), "%s-xblock-string", prefix);
    snprintf(want, sizeof(want), "\"%s\"", ksubject);
    if (!strstr(subjects, want))
        fail_msg("no key subject %s in %s", want, subjects);
    free(subjects);
    /* Three sends, one registration each: the ids were cached after the first. */
    for (int i = 0; i < 2; i++) {
        snprintf(url, sizeof(url), "%s/subjects/%s/versions", reg->url, i ? ksubject : vsubject);
        char *versions = tu_http_get(url, NULL);
        assert_string_equal(versions, "[1]");
        free(versions);
    }

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
    /* ...and they are the ids the registry gave those subjects */
    assert_int_equal(fv.schema_id, latest_id(vsubject));
    assert_int_equal(fk.schema_id, latest_id(ksubject));
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
    /* the key's id is the registry's "string" schema, which decodes the key */
    assert_int_equal(evbus__registry_schema_by_id(client, fk.schema_id, &doc, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus__avro_decode_json(doc->root, fk.payload, fk.payload_len, &js, err, sizeof(err)), EVBUS_OK);
    assert_string_equal((char *)js.data, "\"block-v1:edX+D+R+type@html+block@1\"");
    evbus__buf_free(&js);
    evbus__registry_destroy(client);
    rd_kafka_message_destroy(m);
    rd_kafka_destroy(rk);
    free(prefix);
}

int main(int argc, char **argv) {
    (void)argc;
    snprintf(g_real.url, sizeof(g_real.url), "%s", tu_real_registry(argv, NULL));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_confluent_framing_and_subjects, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
