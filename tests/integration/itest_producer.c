/* libproducer against the embedded (mock) broker: fan-out, keys, headers, errors, delivery. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "evbus/producer.h"
#include "framing.h"
#include "headers.h"
#include "schema.h"

static const char *SCHEMA =
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"org.test.user.created.v1\","
    "\"fields\":[{\"name\":\"user\",\"type\":{\"type\":\"record\",\"name\":\"UserData\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"pii\",\"type\":{\"type\":\"record\",\"name\":\"Pii\",\"fields\":["
    "{\"name\":\"username\",\"type\":\"string\"},{\"name\":\"email\",\"type\":[\"null\",\"string\"],\"default\":null}]}}]}}]}";

static const char *CONFIG =
    "{\"org.test.user.created.v1\": ["
    " {\"topic\": \"users\", \"event_key_field\": \"user.pii.username\"},"
    " {\"topic\": \"users-by-email\", \"event_key_field\": \"user.pii.email\"},"
    " {\"topic\": \"users-off\", \"event_key_field\": \"user.id\", \"enabled\": false}]}";

typedef struct fx_s {
    tu_mock_t *mock;
    char *dir;
    char *prefix;
    evbus__schema_store_t *store;
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    char err[256];
    fx->mock = tu_mock_new(1);
    fx->dir = tu_mkdtemp();
    free(tu_write_file(fx->dir, "org.test.user.created.v1.avsc", SCHEMA));
    fx->store = evbus__schema_store_new(fx->dir, err, sizeof(err));
    assert_non_null(fx->store);
    fx->prefix = tu_unique_name("p");
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    evbus__schema_store_destroy(fx->store);
    tu_mock_destroy(fx->mock);
    tu_rm_rf(fx->dir);
    free(fx->dir);
    free(fx->prefix);
    free(fx);
    return 0;
}

static evbus_conf_t *make_conf(fx_t *fx, const char *bootstrap, const char *config) {
    char err[256];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    assert_int_equal(evbus_conf_set(c, "kafka.bootstrap.servers", bootstrap, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "schema.dir", fx->dir, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "producer.config", config, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "topic.prefix", fx->prefix, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "source", "openedx/test/web", err, sizeof(err)), 0);
    return c;
}

/* Read up to max messages of topic from the start, until idle_ms without one.  The messages
 * keep *rkp alive: destroy them, then rd_kafka_destroy(*rkp). */
static int consume_all(const char *bootstrap, const char *topic, rd_kafka_message_t **out, int max,
                       int idle_ms, rd_kafka_t **rkp) {
    rd_kafka_t *rk = tu_reader_new(bootstrap, topic);
    int n = 0;
    int64_t last = tu_now_us(), start = last;
    while (n < max && tu_now_us() - last < idle_ms * 1000LL && tu_now_us() - start < 30000000) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        out[n++] = m;
        last = tu_now_us();
    }
    *rkp = rk;
    return n;
}

static const char *hdr(const rd_kafka_message_t *m, const char *name, size_t *len) {
    rd_kafka_headers_t *h;
    const void *v;
    if (rd_kafka_message_headers(m, &h) != 0 || rd_kafka_header_get_last(h, name, &v, len) != 0)
        return NULL;
    return v;
}

/* Header name of m holds exactly want (not merely starts with it, nor is absent). */
static void assert_hdr(const rd_kafka_message_t *m, const char *name, const char *want) {
    size_t l = 0;
    const char *v = hdr(m, name, &l);
    if (!v)
        fail_msg("header %s missing", name);
    if (l != strlen(want) || memcmp(v, want, l) != 0)
        fail_msg("header %s is \"%.*s\", expected \"%s\"", name, (int)l, v, want);
}

static void test_fanout_keys_headers(void **state) {
    fx_t *fx = *state;
    char err[512];
    evbus_producer_t *p = evbus_producer_new(make_conf(fx, tu_mock_bootstrap(fx->mock), CONFIG), err, sizeof(err));
    if (!p)
        fail_msg("producer_new: %s", err);
    for (int i = 0; i < 20; i++) {
        char ev[256];
        int n = snprintf(ev, sizeof(ev),
                         "{\"user\": {\"pii\": {\"email\": \"u%d@example.com\", \"username\": \"user%d\"}, \"id\": %d}}", i, i, i);
        assert_int_equal(evbus_producer_send(p, "org.test.user.created.v1", ev, (size_t)n, err, sizeof(err)), EVBUS_OK);
    }
    assert_int_equal(evbus_producer_flush(p, 10000), 0);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.sent, 40); /* two enabled topics, the disabled one gets nothing */
    assert_int_equal(st.delivered, 40);
    evbus_producer_destroy(p);

    char topic[256];
    snprintf(topic, sizeof(topic), "%s-users", fx->prefix);
    rd_kafka_message_t *msgs[64];
    rd_kafka_t *reader;
    int n = consume_all(tu_mock_bootstrap(fx->mock), topic, msgs, 64, 3000, &reader);
    assert_int_equal(n, 20);
    const evbus__schema_entry_t *se = evbus__schema_store_get(fx->store, "org.test.user.created.v1");
    int seen[20] = {0};
    for (int i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        /* value: single-object framing with the schema's fingerprint, then Avro */
        evbus__frame_t fr;
        assert_int_equal(evbus__framing_parse(m->payload, m->len, &fr, err, sizeof(err)), EVBUS_OK);
        assert_int_equal(fr.framing, EVBUS__FRAMING_SINGLE_OBJECT);
        assert_true(fr.fingerprint == se->doc->fingerprint);
        evbus__buf_t js = EVBUS__BUF_INIT;
        assert_int_equal(evbus__avro_decode_json(se->doc->root, fr.payload, fr.payload_len, &js, err, sizeof(err)), EVBUS_OK);
        int id = -1;
        assert_int_equal(sscanf((char *)js.data, "{\"user\":{\"id\":%d,", &id), 1);
        assert_in_range(id, 0, 19);
        seen[id]++;
        char want[200];
        snprintf(want, sizeof(want), "{\"user\":{\"id\":%d,\"pii\":{\"username\":\"user%d\",\"email\":\"u%d@example.com\"}}}", id, id, id);
        assert_string_equal((char *)js.data, want);
        evbus__buf_free(&js);
        /* key: "user<id>" as an Avro string in single-object framing with the fingerprint of "string" */
        assert_int_equal(evbus__framing_parse(m->key, m->key_len, &fr, err, sizeof(err)), EVBUS_OK);
        assert_true(fr.fingerprint == evbus__crc64_avro("\"string\"", 8));
        char wantkey[32];
        int kl = snprintf(wantkey, sizeof(wantkey), "user%d", id);
        assert_int_equal(fr.payload_len, (size_t)kl + 1);
        assert_int_equal(fr.payload[0], kl * 2); /* zig-zag length */
        assert_memory_equal(fr.payload + 1, wantkey, (size_t)kl);
        size_t l = 0;
        assert_hdr(m, "ce_type", "org.test.user.created.v1");
        const char *v = hdr(m, "ce_id", &l);
        assert_non_null(v);
        char cid[37];
        assert_int_equal(l, 36);
        memcpy(cid, v, 36);
        cid[36] = 0;
        evbus__header_values_t hv = {.type = "t", .id = cid};
        assert_int_equal(evbus__header_values_check(&hv, err, sizeof(err)), EVBUS_OK); /* a UUID */
        assert_int_equal(cid[14], '1'); /* time-based, like uuid1 */
        assert_hdr(m, "ce_source", "openedx/test/web");
        assert_hdr(m, "ce_specversion", "1.0");
        v = hdr(m, "ce_time", &l);
        assert_non_null(v);
        char tm[40];
        assert_int_equal(l, 32);
        memcpy(tm, v, 32);
        tm[32] = 0;
        hv = (evbus__header_values_t){.type = "t", .time = tm};
        assert_int_equal(evbus__header_values_check(&hv, err, sizeof(err)), EVBUS_OK); /* UTC ISO */
        assert_hdr(m, "ce_minorversion", "0");
        assert_non_null(hdr(m, "sourcehost", &l));
        assert_true(l > 0);
        assert_hdr(m, "sourcelib", EVBUS_VERSION_STR);
        assert_hdr(m, "content-type", "application/avro");
        assert_hdr(m, "ce_datacontenttype", "application/avro");
        rd_kafka_message_destroy(m);
    }
    rd_kafka_destroy(reader);
    for (int i = 0; i < 20; i++)
        assert_int_equal(seen[i], 1);
    snprintf(topic, sizeof(topic), "%s-users-by-email", fx->prefix);
    n = consume_all(tu_mock_bootstrap(fx->mock), topic, msgs, 64, 3000, &reader);
    assert_int_equal(n, 20);
    for (int i = 0; i < n; i++)
        rd_kafka_message_destroy(msgs[i]);
    rd_kafka_destroy(reader);
}

typedef struct dr_log_s {
    pthread_mutex_t lock;
    int ok, failed;
    int64_t max_offset;
    evbus_err_t last_err;
    char last_id[64];
} dr_log_t;

static void on_delivery(const evbus_delivery_t *d, void *opaque) {
    dr_log_t *log = opaque;
    pthread_mutex_lock(&log->lock);
    if (d->err == EVBUS_OK) {
        log->ok++;
        assert_true(d->partition >= 0);
        if (d->offset > log->max_offset)
            log->max_offset = d->offset;
    } else {
        log->failed++;
        log->last_err = d->err;
    }
    snprintf(log->last_id, sizeof(log->last_id), "%s", d->event_id);
    pthread_mutex_unlock(&log->lock);
}

static void test_errors_all_or_nothing_and_callback(void **state) {
    fx_t *fx = *state;
    char err[512];
    dr_log_t log = {PTHREAD_MUTEX_INITIALIZER, 0, 0, -1, EVBUS_OK, ""};
    evbus_conf_t *c = make_conf(fx, tu_mock_bootstrap(fx->mock), CONFIG);
    evbus_conf_set_delivery_cb(c, on_delivery, &log);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    assert_non_null(p);
    const char *t = "org.test.user.created.v1";
#define SEND(json) evbus_producer_send(p, t, json, strlen(json), err, sizeof(err))
    assert_int_equal(evbus_producer_send(p, "org.nope", "{}", 2, err, sizeof(err)), EVBUS_ERR_UNKNOWN_TYPE);
    assert_non_null(strstr(err, "org.nope"));
    /* email null: the first topic's key is fine, the second's is null -> nothing is sent */
    assert_int_equal(SEND("{\"user\":{\"id\":1,\"pii\":{\"username\":\"a\",\"email\":null}}}"), EVBUS_ERR_KEY);
    assert_non_null(strstr(err, "user.pii.email"));
    /* email missing takes its default (null): the same */
    assert_int_equal(SEND("{\"user\":{\"id\":1,\"pii\":{\"username\":\"a\"}}}"), EVBUS_ERR_KEY);
    /* schema mismatch names the field */
    assert_int_equal(SEND("{\"user\":{\"id\":\"one\",\"pii\":{\"username\":\"a\",\"email\":\"e\"}}}"), EVBUS_ERR_SCHEMA);
    assert_non_null(strstr(err, "user.id"));
    assert_int_equal(SEND("{\"user\":{\"id\":1,\"pii\":{\"username\":\"a\",\"email\":\"e\"}},\"extra\":1}"), EVBUS_ERR_SCHEMA);
    assert_non_null(strstr(err, "extra"));
    assert_int_equal(SEND("not json"), EVBUS_ERR_SCHEMA);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.sent, 0); /* all or nothing */
    /* caller-given header values */
    evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
    o.id = "11111111-2222-1333-8444-555555555555";
    o.time = "2024-01-02T03:04:05.000006+00:00";
    o.minorversion = "3";
    const char *ev = "{\"user\":{\"id\":2,\"pii\":{\"username\":\"b\",\"email\":\"e\"}}}";
    assert_int_equal(evbus_producer_send_opts(p, t, ev, strlen(ev), &o, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_producer_flush(p, 10000), 0);
    pthread_mutex_lock(&log.lock);
    assert_int_equal(log.ok, 2);
    assert_int_equal(log.failed, 0);
    assert_true(log.max_offset >= 0);
    assert_string_equal(log.last_id, o.id);
    pthread_mutex_unlock(&log.lock);
    evbus_producer_destroy(p);
#undef SEND
}

static void test_unreachable_broker_reports_undelivered(void **state) {
    fx_t *fx = *state;
    char err[512];
    /* a port nothing listens on: events must be reported undelivered, never dropped */
    evbus_conf_t *c = make_conf(fx, "127.0.0.1:1", CONFIG);
    assert_int_equal(evbus_conf_set(c, "kafka.message.timeout.ms", "1500", err, sizeof(err)), 0);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    assert_non_null(p);
    const char *ev = "{\"user\":{\"id\":2,\"pii\":{\"username\":\"b\",\"email\":\"e\"}}}";
    for (int i = 0; i < 5; i++)
        assert_int_equal(evbus_producer_send(p, "org.test.user.created.v1", ev, strlen(ev), err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_producer_flush(p, 200), 5); /* events still in flight (10 messages) */
    /* once they failed nothing is undelivered *now*: failures are reported, not counted */
    assert_int_equal(evbus_producer_flush(p, 20000), 0);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.failed, 10);
    assert_int_equal(st.in_flight, 0);
    int drained = 0;
    assert_int_equal(evbus_producer_drain_failures(p, NULL, &drained), 10);
    assert_int_equal(evbus_producer_drain_failures(p, NULL, NULL), 0);
    evbus_producer_destroy(p);
}

static void test_queue_full_waits_then_fails(void **state) {
    fx_t *fx = *state;
    char err[512];
    /* a queue of 2 messages that nothing drains (dead port): the third message waits
     * queue.full.timeout.ms for room, then the send fails with QUEUE_FULL, nothing dropped */
    evbus_conf_t *c = make_conf(fx, "127.0.0.1:1",
        "{\"org.test.user.created.v1\": [{\"topic\": \"users\", \"event_key_field\": \"user.id\"}]}");
    assert_int_equal(evbus_conf_set(c, "kafka.queue.buffering.max.messages", "2", err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "queue.full.timeout.ms", "300", err, sizeof(err)), 0);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    const char *ev = "{\"user\":{\"id\":2,\"pii\":{\"username\":\"b\",\"email\":\"e\"}}}";
    assert_int_equal(evbus_producer_send(p, "org.test.user.created.v1", ev, strlen(ev), err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_producer_send(p, "org.test.user.created.v1", ev, strlen(ev), err, sizeof(err)), EVBUS_OK);
    int64_t t0 = tu_now_us();
    evbus_send_result_t res = EVBUS_SEND_RESULT_INIT;
    assert_int_equal(evbus_producer_send_ex(p, "org.test.user.created.v1", ev, strlen(ev), NULL,
                                            &res, err, sizeof(err)), EVBUS_ERR_QUEUE_FULL);
    int64_t waited_ms = (tu_now_us() - t0) / 1000;
    assert_true(waited_ms >= 250); /* it waited for room before giving up */
    assert_non_null(strstr(err, "queue.full.timeout.ms"));
    assert_int_equal(res.naccepted, 0);
    assert_int_equal(res.nrefused, 1);
    char want_topic[128];
    snprintf(want_topic, sizeof(want_topic), "%s-users", fx->prefix);
    assert_string_equal(res.refused[0], want_topic);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.sent, 2);
    assert_int_equal(evbus_producer_flush(p, 0), 2); /* the two queued are reported undelivered */
    evbus_producer_destroy(p);
}

typedef struct sender_s {
    evbus_producer_t *p;
    int base, n, failures;
} sender_t;

static void *send_many(void *arg) {
    sender_t *s = arg;
    char ev[256], err[256];
    for (int i = 0; i < s->n; i++) {
        int n = snprintf(ev, sizeof(ev), "{\"user\":{\"id\":%d,\"pii\":{\"username\":\"u%d\",\"email\":\"e%d\"}}}",
                         s->base + i, s->base + i, s->base + i);
        if (evbus_producer_send(s->p, "org.test.user.created.v1", ev, (size_t)n, err, sizeof(err)) != EVBUS_OK)
            s->failures++;
    }
    return NULL;
}

static void test_send_from_many_threads(void **state) {
    fx_t *fx = *state;
    char err[512];
    evbus_producer_t *p = evbus_producer_new(make_conf(fx, tu_mock_bootstrap(fx->mock),
        "{\"org.test.user.created.v1\": [{\"topic\": \"mt\", \"event_key_field\": \"user.pii.username\"}]}"),
        err, sizeof(err));
    assert_non_null(p);
    pthread_t th[4];
    sender_t s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (sender_t){p, i * 1000, 1000, 0};
        assert_int_equal(pthread_create(&th[i], NULL, send_many, &s[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(s[i].failures, 0);
    }
    assert_int_equal(evbus_producer_flush(p, 30000), 0);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.delivered, 4000);
    evbus_producer_destroy(p);
    /* every event arrived once, with its own key */
    char topic[256];
    snprintf(topic, sizeof(topic), "%s-mt", fx->prefix);
    rd_kafka_t *reader = tu_reader_new(tu_mock_bootstrap(fx->mock), topic);
    unsigned char seen[4000] = {0};
    int got = 0;
    int64_t deadline = tu_now_us() + 30000000;
    while (got < 4000 && tu_now_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(reader, 100);
        if (!m)
            continue;
        if (!m->err) {
            char k[32];
            int id = -1;
            size_t kl = m->key_len - 11 < sizeof(k) - 1 ? m->key_len - 11 : sizeof(k) - 1;
            memcpy(k, (const char *)m->key + 11, kl); /* 10 bytes framing + 1 byte length */
            k[kl] = 0;
            assert_int_equal(sscanf(k, "u%d", &id), 1);
            assert_in_range(id, 0, 3999);
            assert_int_equal(seen[id]++, 0);
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_destroy(reader);
    assert_int_equal(got, 4000);
}

static void test_bad_config_names_every_problem(void **state) {
    fx_t *fx = *state;
    char err[1024];
    evbus_conf_t *c = make_conf(fx, tu_mock_bootstrap(fx->mock),
        "{\"org.test.user.created.v1\": [{\"topic\": \"a\", \"event_key_field\": \"user.nope\"},"
        " {\"topic\": \"b b\", \"event_key_field\": \"user.id\"}]}");
    assert_null(evbus_producer_new(c, err, sizeof(err)));
    assert_non_null(strstr(err, "$[\"org.test.user.created.v1\"][0].event_key_field"));
    assert_non_null(strstr(err, "$[\"org.test.user.created.v1\"][1].topic"));
    evbus_conf_destroy(c); /* still ours on failure */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fanout_keys_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_all_or_nothing_and_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_broker_reports_undelivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config_names_every_problem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_full_waits_then_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_from_many_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
