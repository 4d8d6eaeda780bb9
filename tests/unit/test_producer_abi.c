/* libproducer's API contract without a broker (a dead port on 127.0.0.1): grow-safe
 * structs of the first release's size still work, caller-given header values are checked
 * and named, the environment is not read, and a full queue makes send wait (default
 * queue.full.timeout.ms) instead of failing. */
#include "testutil.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "evbus/producer.h"

#define TYPE "org.test.abi.v1"

static const char *SCHEMA =
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"" TYPE "\","
    "\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}";
static const char *CONFIG = "{\"" TYPE "\": [{\"topic\": \"t\", \"event_key_field\": \"id\"}]}";
static const char *EV = "{\"id\":\"k1\"}";

/* The first release's structs, as a program built against them lays them out. */
typedef struct {
    size_t size;
    const char *id, *time, *source, *minorversion;
} send_opts_v1_t;
typedef struct {
    size_t size;
    uint64_t sent, delivered, failed, in_flight;
} stats_v1_t;

static char *g_dir;

static int group_setup(void **state) {
    (void)state;
    g_dir = tu_mkdtemp();
    free(tu_write_file(g_dir, TYPE ".avsc", SCHEMA));
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    tu_rm_rf(g_dir);
    free(g_dir);
    return 0;
}

static evbus_conf_t *make_conf(void) {
    char err[256];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    assert_int_equal(evbus_conf_set(c, "kafka.bootstrap.servers", "127.0.0.1:1", err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "kafka.log_level", "0", err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "schema.dir", g_dir, err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "producer.config", CONFIG, err, sizeof(err)), 0);
    /* Changed default: with no broker, what these tests enqueue would keep destroy waiting
     * its full 10 s flush; a 1 s message timeout lets it fail (and be reported) sooner.
     * itest_producer covers the default timeout against a broker. */
    assert_int_equal(evbus_conf_set(c, "kafka.message.timeout.ms", "1000", err, sizeof(err)), 0);
    return c;
}

static evbus_producer_t *make_producer(evbus_conf_t *c) {
    char err[512];
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    return p;
}

static void test_old_size_structs(void **state) {
    (void)state;
    char err[512];
    evbus_producer_t *p = make_producer(make_conf());
    /* send opts of the first release: its fields are read, nothing beyond its size */
    struct {
        send_opts_v1_t o;
        unsigned char beyond[64]; /* what a newer library would read as opaque/topics */
    } old;
    memset(&old, 0xA5, sizeof(old));
    old.o.size = sizeof(send_opts_v1_t);
    old.o.id = "11111111-2222-1333-8444-555555555555";
    old.o.time = NULL;
    old.o.source = NULL;
    old.o.minorversion = "2";
    assert_int_equal(evbus_producer_send_opts(p, TYPE, EV, strlen(EV), (const evbus_send_opts_t *)&old,
                                              err, sizeof(err)), EVBUS_OK);
    /* smaller than any release: refused, not guessed at */
    old.o.size = sizeof(size_t) + sizeof(const char *);
    assert_int_equal(evbus_producer_send_opts(p, TYPE, EV, strlen(EV), (const evbus_send_opts_t *)&old,
                                              err, sizeof(err)), EVBUS_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "EVBUS_SEND_OPTS_INIT"));
    /* stats of the first release: filled, and nothing written past its size */
    struct {
        stats_v1_t s;
        unsigned char canary[64];
    } st;
    memset(&st, 0x5A, sizeof(st));
    st.s.size = sizeof(stats_v1_t);
    assert_int_equal(evbus_producer_stats(p, (evbus_producer_stats_t *)&st), EVBUS_OK);
    assert_int_equal(st.s.sent, 1);
    assert_int_equal(st.s.in_flight, 1);
    for (size_t i = 0; i < sizeof(st.canary); i++)
        assert_int_equal(st.canary[i], 0x5A);
    st.s.size = 4;
    assert_int_equal(evbus_producer_stats(p, (evbus_producer_stats_t *)&st), EVBUS_ERR_INVALID_ARG);
    /* the current struct gets the new fields */
    evbus_producer_stats_t cur = EVBUS_PRODUCER_STATS_INIT;
    cur.transactions_committed = 99;
    assert_int_equal(evbus_producer_stats(p, &cur), EVBUS_OK);
    assert_int_equal(cur.transactions_committed, 0);
    evbus_producer_destroy(p);
}

static void test_header_values_checked(void **state) {
    (void)state;
    char err[512];
    evbus_producer_t *p = make_producer(make_conf());
    static const struct {
        const char *id, *time, *minor, *field;
    } bad[] = {
        {"not-a-uuid", NULL, NULL, "id (ce_id)"},
        {"11111111-2222-1333-8444-55555555555g", NULL, NULL, "id (ce_id)"},
        {"11111111-2222-1333-8444-5555555555555", NULL, NULL, "id (ce_id)"},
        {NULL, "2024-01-02 03:04:05+00:00", NULL, "time (ce_time)"},
        {NULL, "2024-01-02T03:04:05+02:00", NULL, "time (ce_time)"}, /* not UTC */
        {NULL, "2024-01-02T03:04:05.123", NULL, "time (ce_time)"},    /* no zone */
        {NULL, "2024-13-02T03:04:05+00:00", NULL, "time (ce_time)"},
        {NULL, "2024-01-02T03:04:05.1234567+00:00", NULL, "time (ce_time)"},
        {NULL, NULL, "1.0", "minorversion"},
        {NULL, NULL, "-1", "minorversion"},
        {NULL, NULL, "", "minorversion"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
        o.id = bad[i].id;
        o.time = bad[i].time;
        o.minorversion = bad[i].minor;
        err[0] = 0;
        assert_int_equal(evbus_producer_send_opts(p, TYPE, EV, strlen(EV), &o, err, sizeof(err)),
                         EVBUS_ERR_INVALID_ARG);
        if (!strstr(err, bad[i].field))
            fail_msg("case %zu: \"%s\" does not name %s", i, err, bad[i].field);
    }
    evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
    o.id = "ABCDEF01-2222-4333-8444-555555555555";
    o.time = "2024-01-02T03:04:05+00:00";
    o.minorversion = "12";
    assert_int_equal(evbus_producer_send_opts(p, TYPE, EV, strlen(EV), &o, err, sizeof(err)), EVBUS_OK);
    o.time = "2024-01-02T03:04:05.123456+00:00";
    assert_int_equal(evbus_producer_send_opts(p, TYPE, EV, strlen(EV), &o, err, sizeof(err)), EVBUS_OK);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.sent, 2); /* none of the bad ones */
    evbus_producer_destroy(p);
}

static void test_environment_not_read(void **state) {
    (void)state;
    char err[512];
    /* a producer config only in the environment: evbus_producer_new must not see it */
    setenv("EVENT_BUS_PRODUCER_CONFIG", CONFIG, 1);
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    assert_int_equal(evbus_conf_set(c, "schema.dir", g_dir, err, sizeof(err)), 0);
    assert_null(evbus_producer_new(c, err, sizeof(err)));
    assert_non_null(strstr(err, "no producer config"));
    /* the caller takes it explicitly */
    assert_int_equal(evbus_conf_from_env(c, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_conf_set(c, "kafka.log_level", "0", err, sizeof(err)), 0);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    unsetenv("EVENT_BUS_PRODUCER_CONFIG");
    if (!p)
        fail_msg("%s", err);
    evbus_producer_destroy(p);
}

/* With the default queue.full.timeout.ms (60 s) a send into a full queue waits for room:
 * here the one queued message times out after 1.5 s (message.timeout.ms, shortened so the
 * room appears soon; queue.buffering.max.messages=1 so that one message fills it), and the
 * waiting send then succeeds.  The old 1 s default failed it with QUEUE_FULL. */
static void test_default_wait(void **state) {
    (void)state;
    char err[512];
    evbus_conf_t *c = make_conf();
    assert_int_equal(evbus__conf_int(c, "queue.full.timeout.ms"), 60000);
    assert_int_equal(evbus_conf_set(c, "kafka.queue.buffering.max.messages", "1", err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "kafka.message.timeout.ms", "1500", err, sizeof(err)), 0);
    evbus_producer_t *p = make_producer(c);
    assert_int_equal(evbus_producer_send(p, TYPE, EV, strlen(EV), err, sizeof(err)), EVBUS_OK);
    evbus_err_t e = evbus_producer_send(p, TYPE, EV, strlen(EV), err, sizeof(err));
    if (e != EVBUS_OK)
        fail_msg("the second send did not wait for room: %s: %s", evbus_err_name(e), err);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    assert_int_equal(st.sent, 2);
    assert_int_equal(st.failed, 1); /* the first, timed out: reported, not lost */
    assert_int_equal(evbus_producer_drain_failures(p, NULL, NULL), 1);
    evbus_producer_destroy(p);
}

/* Consumers built from an evbus configuration (libconsumer, tail) read committed data only:
 * a transactional producer's aborted or open transactions stay invisible to them. */
static void test_consumers_read_committed(void **state) {
    (void)state;
    char err[256], v[64];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    rd_kafka_conf_t *kc = evbus__conf_to_kafka(c, err, sizeof(err));
    assert_non_null(kc);
    size_t vs = sizeof(v);
    assert_int_equal(rd_kafka_conf_get(kc, "isolation.level", v, &vs), RD_KAFKA_CONF_OK);
    assert_string_equal(v, "read_committed");
    rd_kafka_conf_destroy(kc);
    evbus_conf_destroy(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_size_structs),
        cmocka_unit_test(test_header_values_checked),
        cmocka_unit_test(test_environment_not_read),
        cmocka_unit_test(test_default_wait),
        cmocka_unit_test(test_consumers_read_committed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
