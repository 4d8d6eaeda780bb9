/* evbus_conf_add_schema(): a schema given as text beats schema.dir's file of that type in the
 * producer (what is encoded, and the fingerprint in the framing) and in the consumer (made
 * without any schema directory); bad texts are refused at once, naming the problem; dup keeps
 * them.  And the relayed headers of evbus_send_opts_t (sourcehost, sourcelib) reach the wire,
 * checked, on the embedded broker. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evbus/consumer.h"
#include "evbus/producer.h"
#include "schema.h"

#define TYPE "org.test.addschema.v1"

/* The directory's schema: only "id". */
static const char *DIR_SCHEMA =
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"" TYPE "\","
    "\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}";
/* The service's own, newer schema: "id" and "n" (no default, so it must be given). */
static const char *OWN_SCHEMA =
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"" TYPE "\","
    "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"int\"}]}";
static const char *CONFIG = "{\"" TYPE "\": [{\"topic\": \"t\", \"event_key_field\": \"id\"}]}";

static char *g_dir;

static int group_setup(void **state) {
    (void)state;
    g_dir = tu_mkdtemp();
    free(tu_write_file(g_dir, TYPE ".avsc", DIR_SCHEMA));
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    tu_rm_rf(g_dir);
    free(g_dir);
    return 0;
}

static void test_bad_schemas_refused(void **state) {
    (void)state;
    char err[512];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    const char *nojson = "{\"type\":";
    assert_int_equal(evbus_conf_add_schema(c, nojson, strlen(nojson), err, sizeof(err)),
                     EVBUS_ERR_SCHEMA);
    assert_non_null(strstr(err, "schema"));
    const char *notrec = "\"string\"";
    assert_int_equal(evbus_conf_add_schema(c, notrec, strlen(notrec), err, sizeof(err)),
                     EVBUS_ERR_SCHEMA);
    assert_non_null(strstr(err, "namespace"));
    const char *nons = "{\"type\":\"record\",\"name\":\"CloudEvent\",\"fields\":[]}";
    assert_int_equal(evbus_conf_add_schema(c, nons, strlen(nons), err, sizeof(err)),
                     EVBUS_ERR_SCHEMA);
    assert_int_equal(evbus_conf_add_schema(c, NULL, 0, err, sizeof(err)), EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_conf_add_schema(NULL, OWN_SCHEMA, strlen(OWN_SCHEMA), err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    evbus_conf_destroy(c);
}

static evbus_conf_t *producer_conf(const char *bootstrap, const char *prefix) {
    char err[512];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    assert_int_equal(evbus_conf_set(c, "kafka.bootstrap.servers", bootstrap, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "schema.dir", g_dir, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "producer.config", CONFIG, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "topic.prefix", prefix, err, sizeof(err)), 0);
    return c;
}

/* One message of topic from the start (bounded wait); NULL when none came. */
static rd_kafka_message_t *read_one(rd_kafka_t *rk) {
    int64_t deadline = tu_now_us() + 30000000;
    while (tu_now_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m && !m->err)
            return m;
        if (m)
            rd_kafka_message_destroy(m);
    }
    return NULL;
}

static void assert_hdr(const rd_kafka_message_t *m, const char *name, const char *want) {
    rd_kafka_headers_t *h;
    const void *v;
    size_t l;
    assert_int_equal(rd_kafka_message_headers(m, &h), 0);
    assert_int_equal(rd_kafka_header_get_last(h, name, &v, &l), 0);
    if (l != strlen(want) || memcmp(v, want, l) != 0)
        fail_msg("header %s: \"%.*s\", expected \"%s\"", name, (int)l, (const char *)v, want);
}

static void test_producer_uses_registered_schema(void **state) {
    (void)state;
    char err[512];
    tu_mock_t *mock = tu_mock_new(1);
    char *prefix = tu_unique_name("addschema");
    evbus_conf_t *c = producer_conf(tu_mock_bootstrap(mock), prefix);
    assert_int_equal(evbus_conf_add_schema(c, DIR_SCHEMA, strlen(DIR_SCHEMA), err, sizeof(err)),
                     EVBUS_OK);
    /* registered again: the last text of a type wins */
    assert_int_equal(evbus_conf_add_schema(c, OWN_SCHEMA, strlen(OWN_SCHEMA), err, sizeof(err)),
                     EVBUS_OK);
    evbus_conf_t *dup = evbus_conf_dup(c);
    assert_non_null(dup);
    evbus_conf_destroy(c);
    evbus_producer_t *p = evbus_producer_new(dup, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    /* "n" is the registered schema's: unknown to the directory's, required by the registered */
    const char *ev = "{\"id\":\"k1\",\"n\":7}";
    assert_int_equal(evbus_producer_send(p, TYPE, ev, strlen(ev), err, sizeof(err)), EVBUS_OK);
    const char *old = "{\"id\":\"k1\"}";
    assert_int_equal(evbus_producer_send(p, TYPE, old, strlen(old), err, sizeof(err)),
                     EVBUS_ERR_SCHEMA);
    /* the relayed headers: checked, then written as given */
    evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
    o.sourcelib = "10.x";
    assert_int_equal(evbus_producer_send_opts(p, TYPE, ev, strlen(ev), &o, err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "sourcelib"));
    o.sourcelib = "10..5";
    assert_int_equal(evbus_producer_send_opts(p, TYPE, ev, strlen(ev), &o, err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    o.sourcelib = NULL;
    o.sourcehost = "";
    assert_int_equal(evbus_producer_send_opts(p, TYPE, ev, strlen(ev), &o, err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "sourcehost"));
    o.sourcehost = "web-7.example.org";
    o.sourcelib = "10.5.0";
    assert_int_equal(evbus_producer_send_opts(p, TYPE, ev, strlen(ev), &o, err, sizeof(err)),
                     EVBUS_OK);
    assert_int_equal(evbus_producer_flush(p, 30000), 0);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    assert_int_equal(evbus_producer_stats(p, &st), EVBUS_OK);
    assert_int_equal(st.delivered, 2);
    evbus_producer_destroy(p);

    char topic[256];
    snprintf(topic, sizeof(topic), "%s-t", prefix);
    rd_kafka_t *rk = tu_reader_new(tu_mock_bootstrap(mock), topic);
    rd_kafka_message_t *m1 = read_one(rk), *m2 = read_one(rk);
    assert_non_null(m1);
    assert_non_null(m2);
    /* single-object framing: 0xC3 0x01 + the registered schema's fingerprint */
    evbus__schema_doc_t *own = tu_schema_parse(OWN_SCHEMA);
    assert_true(m1->len > 10);
    uint64_t fp = 0;
    for (int i = 0; i < 8; i++)
        fp |= (uint64_t)((const unsigned char *)m1->payload)[2 + i] << (8 * i);
    assert_true(fp == own->fingerprint);
    evbus__schema_doc_destroy(own);
    assert_hdr(m2, "sourcehost", "web-7.example.org");
    assert_hdr(m2, "sourcelib", "10.5.0");
    rd_kafka_message_destroy(m1);
    rd_kafka_message_destroy(m2);
    rd_kafka_destroy(rk);
    free(prefix);
    tu_mock_destroy(mock);
}

/* The consumer's reader schema: the registered one, over the directory's.  An event written with
 * the directory's schema (only "id") is resolved into the registered one, whose "n" defaults to 5. */
static const char *READER_SCHEMA =
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"" TYPE "\","
    "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"n\",\"type\":\"int\",\"default\":5}]}";

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_json[256];

static evbus_err_t keep_json(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)opaque;
    const char *j = evbus_event_json(ev, NULL);
    if (!j) {
        snprintf(errstr, n, "%s", evbus_event_error(ev) ? evbus_event_error(ev) : "no json");
        return EVBUS_ERR_DECODE;
    }
    pthread_mutex_lock(&g_mu);
    snprintf(g_json, sizeof(g_json), "%s", j);
    pthread_mutex_unlock(&g_mu);
    return EVBUS_OK;
}

static int got_json(void *arg) {
    (void)arg;
    pthread_mutex_lock(&g_mu);
    int r = g_json[0] != 0;
    pthread_mutex_unlock(&g_mu);
    return r;
}

static void test_consumer_reads_into_registered_schema(void **state) {
    (void)state;
    char err[512];
    tu_mock_t *mock = tu_mock_new(1);
    char *prefix = tu_unique_name("addschema-c");
    evbus_producer_t *p = evbus_producer_new(producer_conf(tu_mock_bootstrap(mock), prefix), err,
                                             sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    const char *ev = "{\"id\":\"k1\"}";
    assert_int_equal(evbus_producer_send(p, TYPE, ev, strlen(ev), err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_producer_flush(p, 30000), 0);
    evbus_producer_destroy(p);

    evbus_conf_t *c = cu_conf(tu_mock_bootstrap(mock), "g");
    cu_set(c, "schema.dir", g_dir);
    cu_set(c, "topic.prefix", prefix);
    assert_int_equal(evbus_conf_add_schema(c, READER_SCHEMA, strlen(READER_SCHEMA), err, sizeof(err)),
                     EVBUS_OK);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, TYPE, keep_json, NULL, NULL, 0, "keep"), EVBUS_OK);
    evbus_consumer_t *cons = evbus_consumer_new(c, d, err, sizeof(err));
    if (!cons)
        fail_msg("consumer: %s", err);
    const char *topics[] = {"t"};
    assert_int_equal(evbus_consumer_subscribe(cons, topics, 1, err, sizeof(err)), EVBUS_OK);
    cu_runner_t r;
    cu_start(&r, cons);
    int ok = cu_wait(got_json, NULL, 30000);
    cu_stop(&r);
    evbus_consumer_destroy(cons);
    evbus_dispatcher_destroy(d);
    if (!ok)
        fail_msg("the consumer handled nothing");
    assert_string_equal(g_json, "{\"id\":\"k1\",\"n\":5}");
    free(prefix);
    tu_mock_destroy(mock);
}

/* A service that carries its own schemas needs no schema directory. */
static void test_no_directory_needed(void **state) {
    (void)state;
    char err[512], cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    char *empty = tu_mkdtemp();
    assert_int_equal(chdir(empty), 0); /* no ./schemas here */
    char *saved = getenv("EVENT_BUS_SCHEMA_DIR") ? strdup(getenv("EVENT_BUS_SCHEMA_DIR")) : NULL;
    unsetenv("EVENT_BUS_SCHEMA_DIR");
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    assert_int_equal(evbus_conf_set(c, "kafka.bootstrap.servers", "127.0.0.1:1", err, sizeof(err)), 0);
    /* librdkafka's log level only: the dead port's connection errors are noise here */
    assert_int_equal(evbus_conf_set(c, "kafka.log_level", "0", err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "consumer.group", "g", err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_add_schema(c, OWN_SCHEMA, strlen(OWN_SCHEMA), err, sizeof(err)),
                     EVBUS_OK);
    evbus_conf_t *pc = evbus_conf_dup(c);
    assert_non_null(pc);
    assert_int_equal(evbus_conf_set(pc, "producer.config", CONFIG, err, sizeof(err)), 0);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    evbus_consumer_t *cons = evbus_consumer_new(c, d, err, sizeof(err));
    if (!cons)
        fail_msg("consumer without a schema directory: %s", err);
    evbus_producer_t *p = evbus_producer_new(pc, err, sizeof(err));
    if (!p)
        fail_msg("producer without a schema directory: %s", err);
    evbus_producer_destroy(p);
    evbus_consumer_destroy(cons);
    evbus_dispatcher_destroy(d);
    /* without a registered schema, the missing directory is still an error */
    evbus_conf_t *none = evbus_conf_new();
    assert_non_null(none);
    assert_int_equal(evbus_conf_set(none, "producer.config", CONFIG, err, sizeof(err)), 0);
    assert_null(evbus_producer_new(none, err, sizeof(err)));
    evbus_conf_destroy(none);
    if (saved)
        setenv("EVENT_BUS_SCHEMA_DIR", saved, 1);
    free(saved);
    assert_int_equal(chdir(cwd), 0);
    tu_rm_rf(empty);
    free(empty);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_schemas_refused),
        cmocka_unit_test(test_producer_uses_registered_schema),
        cmocka_unit_test(test_consumer_reads_into_registered_schema),
        cmocka_unit_test(test_no_directory_needed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
