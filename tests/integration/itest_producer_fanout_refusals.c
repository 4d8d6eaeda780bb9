/* An event fans out to several topics all or nothing, also when librdkafka would refuse one
 * of its messages after another went in (issue 29, item 3): a message over message.max.bytes
 * on the topic whose key is longer, or a topic the brokers do not have.  Such an event goes
 * to none of its topics, send returns the error for the event, and the producer goes on. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka_mock.h>

#include "evbus/producer.h"

#define TYPE "org.test.blob.v1"

static const char *SCHEMA =
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"org.test.blob.v1\","
    "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"blob\",\"type\":\"string\"}]}";

typedef struct fx_s {
    tu_mock_t *mock;
    char *dir, *prefix;
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->mock = tu_mock_new(1);
    fx->dir = tu_mkdtemp();
    free(tu_write_file(fx->dir, TYPE ".avsc", SCHEMA));
    fx->prefix = tu_unique_name("fan");
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    tu_mock_destroy(fx->mock);
    tu_rm_rf(fx->dir);
    free(fx->dir);
    free(fx->prefix);
    free(fx);
    return 0;
}

static evbus_conf_t *make_conf(fx_t *fx, const char *config) {
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    cu_set(c, "kafka.bootstrap.servers", tu_mock_bootstrap(fx->mock));
    cu_set(c, "schema.dir", fx->dir);
    cu_set(c, "producer.config", config);
    cu_set(c, "topic.prefix", fx->prefix);
    return c;
}

/* An event whose blob is n bytes long. */
static char *blob_event(const char *id, size_t n) {
    char *ev = malloc(n + 64);
    assert_non_null(ev);
    int off = sprintf(ev, "{\"id\":\"%s\",\"blob\":\"", id);
    memset(ev + off, 'x', n);
    strcpy(ev + off + n, "\"}");
    return ev;
}

static void assert_refused_whole(evbus_producer_t *p, evbus_err_t e, const evbus_send_result_t *r,
                                 const char *err, const char *why, const char *topic) {
    if (e == EVBUS_OK || r->naccepted != 0)
        fail_msg("send returned %s with %zu topic(s) accepted, %zu refused (%s): want an error "
                 "and none accepted", evbus_err_name(e), r->naccepted, r->nrefused, err);
    assert_int_equal(r->nrefused, 2);
    if (!strstr(err, why) || !strstr(err, topic))
        fail_msg("errstr \"%s\" does not name %s and %s", err, topic, why);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    assert_int_equal(evbus_producer_stats(p, &st), EVBUS_OK);
    assert_int_equal(st.sent, 0); /* nothing of it went to any topic */
}

/* Topic "by-id" is keyed by the short id, "by-blob" by the 600,000-byte blob: the same value
 * (some 600 kB) makes a 600 kB message on the first and a 1.2 MB one on the second, over
 * librdkafka's default message.max.bytes (1,000,000). */
static void test_message_too_large_on_one_topic(void **state) {
    fx_t *fx = *state;
    char err[1024];
    evbus_producer_t *p = evbus_producer_new(
        make_conf(fx, "{\"" TYPE "\": [{\"topic\": \"by-id\", \"event_key_field\": \"id\"},"
                      " {\"topic\": \"by-blob\", \"event_key_field\": \"blob\"}]}"),
        err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    char *big = blob_event("big", 600000);
    evbus_send_result_t r = EVBUS_SEND_RESULT_INIT;
    evbus_err_t e = evbus_producer_send_ex(p, TYPE, big, strlen(big), NULL, &r, err, sizeof(err));
    free(big);
    char topic[256];
    snprintf(topic, sizeof(topic), "%s-by-blob", fx->prefix);
    assert_refused_whole(p, e, &r, err, "message.max.bytes", topic);
    /* the producer goes on: a small event goes to both */
    char *small = blob_event("small", 10);
    e = evbus_producer_send_ex(p, TYPE, small, strlen(small), NULL, &r, err, sizeof(err));
    free(small);
    if (e != EVBUS_OK)
        fail_msg("small event: %s: %s", evbus_err_name(e), err);
    assert_int_equal(r.naccepted, 2);
    assert_int_equal(evbus_producer_flush(p, 30000), 0);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.sent, 2);
    assert_int_equal(st.delivered, 2);
    assert_int_equal(st.failed, 0);
    evbus_producer_destroy(p);
}

/* The size check is librdkafka's own to the byte, or stricter: at the largest blob the check
 * lets through to "by-id" alone (its message grows one byte per byte of blob), librdkafka
 * takes the message too (were the check looser by a byte, librdkafka would refuse it there:
 * after the event's other messages went in). */
static void test_size_check_matches_librdkafka(void **state) {
    fx_t *fx = *state;
    char err[1024];
    evbus_producer_t *p = evbus_producer_new(
        make_conf(fx, "{\"" TYPE "\": [{\"topic\": \"by-id\", \"event_key_field\": \"id\"},"
                      " {\"topic\": \"by-blob\", \"event_key_field\": \"blob\"}]}"),
        err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    const char *only[] = {"by-id"};
    evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
    o.topics = only;
    o.ntopics = 1;
    size_t lo = 900000, hi = 1000000; /* lo fits, hi does not (with the value's 1,000,000) */
    int sent = 0;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        char *ev = blob_event("b", mid);
        evbus_err_t e = evbus_producer_send_opts(p, TYPE, ev, strlen(ev), &o, err, sizeof(err));
        free(ev);
        if (e == EVBUS_OK) {
            lo = mid;
            sent++;
        } else {
            /* refused by the check, never by librdkafka after it */
            if (!strstr(err, "message.max.bytes"))
                fail_msg("blob of %zu bytes: refused by librdkafka, not the check: %s", mid, err);
            hi = mid;
        }
    }
    printf("largest blob taken: %zu bytes; %d sends taken\n", lo, sent);
    assert_true(sent > 0);
    assert_int_equal(evbus_producer_flush(p, 60000), 0);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.delivered, (uint64_t)sent);
    evbus_producer_destroy(p);
}

/* Topic "here" exists, "missing" does not: the embedded broker answers every question about
 * it with UNKNOWN_TOPIC_OR_PART, as a broker that does not create topics on demand does
 * (the embedded one would create any topic asked about, whatever allow.auto.create.topics
 * says). */
static void test_unknown_topic(void **state) {
    fx_t *fx = *state;
    char err[1024], here[256], missing[256];
    snprintf(here, sizeof(here), "%s-here", fx->prefix);
    snprintf(missing, sizeof(missing), "%s-missing", fx->prefix);
    assert_int_equal(rd_kafka_mock_topic_create(tu_mock_cluster(fx->mock), here, 1, 1), 0);
    rd_kafka_mock_topic_set_error(tu_mock_cluster(fx->mock), missing,
                                  RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    evbus_conf_t *c = make_conf(fx, "{\"" TYPE "\": [{\"topic\": \"here\", \"event_key_field\": \"id\"},"
                                    " {\"topic\": \"missing\", \"event_key_field\": \"id\"}]}");
    /* Changed default: librdkafka (and the check) take a topic the brokers deny for one still
     * being created during topic.metadata.propagation.max.ms (30 s) from its first use; 0 so
     * that the test does not wait 30 s for the refusal. */
    cu_set(c, "kafka.topic.metadata.propagation.max.ms", "0");
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    /* every try, the first one included: refused whole */
    for (int i = 0; i < 3; i++) {
        char *ev = blob_event("e", 10);
        evbus_send_result_t r = EVBUS_SEND_RESULT_INIT;
        evbus_err_t e = evbus_producer_send_ex(p, TYPE, ev, strlen(ev), NULL, &r, err, sizeof(err));
        free(ev);
        assert_refused_whole(p, e, &r, err, "does not exist", missing);
    }
    /* the topic that exists still takes events sent to it alone */
    const char *only[] = {"here"};
    evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
    o.topics = only;
    o.ntopics = 1;
    char *ev = blob_event("e2", 10);
    evbus_err_t e = evbus_producer_send_opts(p, TYPE, ev, strlen(ev), &o, err, sizeof(err));
    free(ev);
    if (e != EVBUS_OK)
        fail_msg("send to %s alone: %s: %s", here, evbus_err_name(e), err);
    assert_int_equal(evbus_producer_flush(p, 30000), 0);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.delivered, 1);
    assert_int_equal(st.failed, 0);
    evbus_producer_destroy(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_message_too_large_on_one_topic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_check_matches_librdkafka, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_topic, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
