#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "evbus/evbus.h"
#include "headers.h"
#include "topic.h"

static void test_set_get_validate(void **state) {
    (void)state;
    char err[256];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    assert_int_equal(evbus_conf_set(c, "topic.prefix", "dev", err, sizeof(err)), EVBUS_CONF_OK);
    assert_string_equal(evbus_conf_get(c, "topic.prefix"), "dev");
    assert_int_equal(evbus_conf_set(c, "retry.max", "7", err, sizeof(err)), EVBUS_CONF_OK);
    assert_int_equal(evbus__conf_int(c, "retry.max"), 7);
    assert_int_equal(evbus_conf_set(c, "retry.max", "seven", err, sizeof(err)), EVBUS_CONF_INVALID);
    assert_non_null(strstr(err, "expected an integer"));
    assert_int_equal(evbus__conf_int(c, "retry.max"), 7); /* a rejected value changes nothing */
    assert_int_equal(evbus_conf_set(c, "plugin.isolate", "maybe", err, sizeof(err)), EVBUS_CONF_INVALID);
    assert_int_equal(evbus_conf_set(c, "plugin.isolate", "true", err, sizeof(err)), EVBUS_CONF_OK);
    assert_true(evbus__conf_bool(c, "plugin.isolate"));
    /* defaults */
    assert_string_equal(evbus__conf_str(c, "dlq.topic.suffix"), ".dlq");
    assert_int_equal(evbus__conf_int(c, "retry.backoff.ms"), 100);
    /* kafka.* checked by librdkafka; bare librdkafka names are stored as kafka.* */
    assert_int_equal(evbus_conf_set(c, "kafka.linger.ms", "5", err, sizeof(err)), EVBUS_CONF_OK);
    assert_int_equal(evbus_conf_set(c, "kafka.linger.ms", "-4", err, sizeof(err)), EVBUS_CONF_INVALID);
    assert_int_equal(evbus_conf_set(c, "kafka.no.such.thing", "1", err, sizeof(err)), EVBUS_CONF_UNKNOWN);
    assert_int_equal(evbus_conf_set(c, "no.such.thing", "1", err, sizeof(err)), EVBUS_CONF_UNKNOWN);
    assert_non_null(strstr(err, "no.such.thing"));
    assert_int_equal(evbus_conf_set(c, "batch.num.messages", "100", err, sizeof(err)), EVBUS_CONF_OK);
    assert_string_equal(evbus_conf_get(c, "kafka.batch.num.messages"), "100");
    evbus_conf_t *d = evbus_conf_dup(c);
    assert_non_null(d);
    assert_string_equal(evbus_conf_get(d, "kafka.linger.ms"), "5");
    evbus_conf_destroy(c);
    assert_string_equal(evbus_conf_get(d, "topic.prefix"), "dev");
    evbus_conf_destroy(d);
    evbus_conf_destroy(NULL);
}

/* received.veto takes commit|dlq (default commit); plugin.<name>.<key> takes any string but
 * must name both plugin and key. */
static void test_veto_and_plugin_names(void **state) {
    (void)state;
    char err[256];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    assert_string_equal(evbus__conf_str(c, "received.veto"), "commit");
    assert_int_equal(evbus_conf_set(c, "received.veto", "dlq", err, sizeof(err)), EVBUS_CONF_OK);
    assert_string_equal(evbus__conf_str(c, "received.veto"), "dlq");
    assert_int_equal(evbus_conf_set(c, "received.veto", "drop", err, sizeof(err)), EVBUS_CONF_INVALID);
    assert_non_null(strstr(err, "expected commit|dlq"));
    assert_int_equal(evbus_conf_set(c, "received.veto", "", err, sizeof(err)), EVBUS_CONF_INVALID);
    assert_int_equal(evbus_conf_set(c, "plugin.story-board.worker.count", "3 or 4", err, sizeof(err)),
                     EVBUS_CONF_OK);
    assert_string_equal(evbus_conf_get(c, "plugin.story-board.worker.count"), "3 or 4");
    assert_int_equal(evbus_conf_set(c, "plugin.nokey", "x", err, sizeof(err)), EVBUS_CONF_INVALID);
    assert_non_null(strstr(err, "plugin.<plugin name>.<key>"));
    assert_int_equal(evbus_conf_set(c, "plugin..k", "x", err, sizeof(err)), EVBUS_CONF_INVALID);
    assert_int_equal(evbus_conf_set(c, "plugin.p.", "x", err, sizeof(err)), EVBUS_CONF_INVALID);
    /* plugin.isolate is still the table's boolean, not a plugin's setting */
    assert_int_equal(evbus_conf_set(c, "plugin.isolate", "x", err, sizeof(err)), EVBUS_CONF_INVALID);
    evbus_conf_destroy(c);
}

static void test_from_env_explicit_wins(void **state) {
    (void)state;
    char err[256];
    setenv("EVENT_BUS_TOPIC_PREFIX", "envprefix", 1);
    setenv("EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1", 1);
    setenv("EVENT_BUS_SCHEMA_DIR", "/nonexistent", 1);
    evbus_conf_t *c = evbus_conf_new();
    assert_int_equal(evbus_conf_set(c, "schema.dir", "/explicit", err, sizeof(err)), EVBUS_CONF_OK);
    assert_int_equal(evbus_conf_from_env(c, err, sizeof(err)), EVBUS_OK);
    assert_string_equal(evbus_conf_get(c, "topic.prefix"), "envprefix");
    assert_string_equal(evbus_conf_get(c, "kafka.bootstrap.servers"), "127.0.0.1:1");
    assert_string_equal(evbus_conf_get(c, "schema.dir"), "/explicit");
    evbus_conf_destroy(c);
    unsetenv("EVENT_BUS_TOPIC_PREFIX");
    unsetenv("EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS");
    unsetenv("EVENT_BUS_SCHEMA_DIR");
}

/* The Python bus's settings: service name (EVENTS_SERVICE_NAME before SERVICE_VARIANT, empty
 * as unset), consumers switch, poll times in seconds; wire.format and consumer.start words. */
static void test_python_bus_settings(void **state) {
    (void)state;
    char err[256];
    evbus_conf_t *c = evbus_conf_new();
    assert_string_equal(evbus__conf_str(c, "consumer.start"), "latest");
    assert_string_equal(evbus__conf_str(c, "wire.format"), "auto");
    assert_int_equal(evbus__conf_wire_format(c), EVBUS__WIRE_SINGLE_OBJECT);
    assert_int_equal(evbus__conf_bool(c, "consumers.enabled"), 1);
    setenv("EVENTS_SERVICE_NAME", "", 1);
    setenv("SERVICE_VARIANT", "lms", 1);
    setenv("EVENT_BUS_KAFKA_CONSUMERS_ENABLED", "false", 1);
    setenv("EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT", "0.25", 1);
    setenv("EVENT_BUS_KAFKA_CONSUMER_POLL_FAILURE_SLEEP", "2", 1);
    setenv("EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL", "http://127.0.0.1:1", 1);
    assert_int_equal(evbus_conf_from_env(c, err, sizeof(err)), EVBUS_OK);
    assert_string_equal(evbus_conf_get(c, "service"), "lms");
    assert_int_equal(evbus__conf_bool(c, "consumers.enabled"), 0);
    assert_int_equal(evbus__conf_int(c, "consumer.poll.timeout.ms"), 250);
    assert_int_equal(evbus__conf_int(c, "consumer.poll.failure.sleep.ms"), 2000);
    assert_int_equal(evbus__conf_wire_format(c), EVBUS__WIRE_CONFLUENT); /* auto + registry */
    assert_int_equal(evbus_conf_set(c, "wire.format", "single-object", err, sizeof(err)), EVBUS_CONF_OK);
    assert_int_equal(evbus__conf_wire_format(c), EVBUS__WIRE_SINGLE_OBJECT);
    assert_int_equal(evbus_conf_set(c, "wire.format", "avro", err, sizeof(err)), EVBUS_CONF_INVALID);
    assert_non_null(strstr(err, "expected auto|confluent|single-object"));
    assert_int_equal(evbus_conf_set(c, "consumer.start", "beginning", err, sizeof(err)), EVBUS_CONF_INVALID);
    assert_non_null(strstr(err, "expected latest|earliest"));
    evbus_conf_destroy(c);

    c = evbus_conf_new();
    setenv("EVENTS_SERVICE_NAME", "cms", 1);
    setenv("EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT", "soon", 1);
    assert_int_equal(evbus_conf_from_env(c, err, sizeof(err)), EVBUS_ERR_CONFIG);
    assert_non_null(strstr(err, "EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT: invalid value \"soon\""));
    assert_string_equal(evbus_conf_get(c, "service"), "cms");
    evbus_conf_destroy(c);
    unsetenv("EVENTS_SERVICE_NAME");
    unsetenv("SERVICE_VARIANT");
    unsetenv("EVENT_BUS_KAFKA_CONSUMERS_ENABLED");
    unsetenv("EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT");
    unsetenv("EVENT_BUS_KAFKA_CONSUMER_POLL_FAILURE_SLEEP");
    unsetenv("EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL");
}

/* The Python bus's consecutive-errors limit: unset by default, mapped from its variable. */
static void test_consecutive_errors_limit(void **state) {
    (void)state;
    char err[256];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    assert_null(evbus_conf_get(c, "consumer.max.consecutive.errors"));
    setenv("EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", "7", 1);
    assert_int_equal(evbus_conf_from_env(c, err, sizeof(err)), EVBUS_OK);
    assert_string_equal(evbus_conf_get(c, "consumer.max.consecutive.errors"), "7");
    evbus_conf_destroy(c);
    c = evbus_conf_new();
    setenv("EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", "many", 1);
    assert_int_equal(evbus_conf_from_env(c, err, sizeof(err)), EVBUS_ERR_CONFIG);
    assert_non_null(strstr(err, "EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT"));
    unsetenv("EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT");
    assert_int_equal(evbus_conf_set(c, "consumer.max.consecutive.errors", "-1", err, sizeof(err)),
                     EVBUS_CONF_INVALID);
    assert_int_equal(evbus_conf_set(c, "consumer.max.consecutive.errors", "0", err, sizeof(err)),
                     EVBUS_CONF_OK); /* 0: no limit, as in the Python bus */
    evbus_conf_destroy(c);
}

static void test_kafka_conf_and_secrets(void **state) {
    (void)state;
    char err[512], val[64];
    size_t vsz = sizeof(val);
    evbus_conf_t *c = evbus_conf_new();
    assert_int_equal(evbus_conf_set(c, "sasl.username", "alice", err, sizeof(err)), EVBUS_CONF_OK);
    assert_int_equal(evbus_conf_set(c, "sasl.password", "s3cr3t-value", err, sizeof(err)), EVBUS_CONF_OK);
    assert_int_equal(evbus_conf_set(c, "kafka.security.protocol", "SASL_PLAINTEXT", err, sizeof(err)), EVBUS_CONF_OK);
    rd_kafka_conf_t *kc = evbus__conf_to_kafka(c, err, sizeof(err));
    assert_non_null(kc);
    assert_int_equal(rd_kafka_conf_get(kc, "security.protocol", val, &vsz), RD_KAFKA_CONF_OK);
    assert_string_equal(val, "sasl_plaintext"); /* the caller's choice beats the SASL_SSL default */
    vsz = sizeof(val);
    assert_int_equal(rd_kafka_conf_get(kc, "sasl.mechanisms", val, &vsz), RD_KAFKA_CONF_OK);
    assert_string_equal(val, "PLAIN");
    rd_kafka_conf_destroy(kc);
    assert_true(evbus__conf_is_secret("sasl.password"));
    assert_true(evbus__conf_is_secret("schema.registry.api.secret"));
    assert_true(evbus__conf_is_secret("ssl.key.password"));
    assert_false(evbus__conf_is_secret("topic.prefix"));
    /* a rejected setting whose name says secret never has its value echoed back */
    err[0] = 0;
    assert_int_equal(evbus_conf_set(c, "kafka.no.such.password", "Hunter2-Secret", err, sizeof(err)),
                     EVBUS_CONF_UNKNOWN);
    assert_non_null(strstr(err, "no.such.password"));
    assert_null(strstr(err, "Hunter2-Secret"));
    evbus_conf_destroy(c);
}

static void test_topic_names(void **state) {
    (void)state;
    char err[256];
    char *t = evbus__topic_full("dev", "xblock");
    assert_string_equal(t, "dev-xblock");
    free(t);
    t = evbus__topic_full("", "xblock");
    assert_string_equal(t, "xblock");
    free(t);
    t = evbus__topic_full(NULL, "x");
    assert_string_equal(t, "x");
    free(t);
    assert_int_equal(evbus__topic_check("a.B_c-9", err, sizeof(err)), 0);
    assert_int_equal(evbus__topic_check("bad topic", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "illegal character at 3"));
    assert_int_equal(evbus__topic_check("", err, sizeof(err)), -1);
    assert_int_equal(evbus__topic_check("..", err, sizeof(err)), -1);
    char longname[300];
    memset(longname, 'a', 250);
    longname[250] = 0;
    assert_int_equal(evbus__topic_check(longname, err, sizeof(err)), -1);
    longname[249] = 0;
    assert_int_equal(evbus__topic_check(longname, err, sizeof(err)), 0);
}

static void test_headers(void **state) {
    (void)state;
    char err[128];
    evbus__header_values_t v = {.type = "org.example.thing.v1"};
    rd_kafka_headers_t *h = evbus__headers_build(&v, "myhost");
    assert_non_null(h);
    assert_int_equal(rd_kafka_header_cnt(h), 10);
    const void *val;
    size_t len;
    assert_int_equal(rd_kafka_header_get_last(h, "ce_id", &val, &len), 0);
    assert_int_equal(len, 36);
    assert_int_equal(((const char *)val)[14], '1'); /* version-1 (time-based) UUID */
    assert_int_equal(rd_kafka_header_get_last(h, "ce_time", &val, &len), 0);
    assert_int_equal(len, 32);
    assert_memory_equal((const char *)val + 26, "+00:00", 6);
    assert_int_equal(((const char *)val)[19], '.');
    assert_int_equal(rd_kafka_header_get_last(h, "ce_specversion", &val, &len), 0);
    assert_memory_equal(val, "1.0", 3);
    assert_int_equal(rd_kafka_header_get_last(h, "sourcehost", &val, &len), 0);
    assert_memory_equal(val, "myhost", 6);
    assert_int_equal(rd_kafka_header_get_last(h, "content-type", &val, &len), 0);
    assert_memory_equal(val, "application/avro", 16);
    const char *type, *id;
    size_t tl, il;
    assert_int_equal(evbus__headers_check(h, &type, &tl, &id, &il, err, sizeof(err)), 0);
    assert_int_equal(tl, strlen("org.example.thing.v1"));
    rd_kafka_header_add(h, "ce_id", -1, "dup", -1);
    assert_int_equal(evbus__headers_check(h, &type, &tl, &id, &il, err, sizeof(err)), -1);
    assert_string_equal(err, "duplicated ce_id header");
    rd_kafka_headers_destroy(h);
    rd_kafka_headers_t *e = rd_kafka_headers_new(1);
    assert_int_equal(evbus__headers_check(e, &type, &tl, &id, &il, err, sizeof(err)), -1);
    assert_string_equal(err, "missing ce_type header");
    rd_kafka_headers_destroy(e);
    /* two fresh ids differ */
    char a[EVBUS__UUID_LEN], b[EVBUS__UUID_LEN];
    evbus__uuid1(a);
    evbus__uuid1(b);
    assert_string_not_equal(a, b);
}

static void test_uuid1_unique_ordered_and_forked(void **state) {
    (void)state;
    enum { N = 100000 };
    char (*ids)[EVBUS__UUID_LEN] = malloc(N * sizeof(*ids));
    assert_non_null(ids);
    for (int i = 0; i < N; i++)
        evbus__uuid1(ids[i]);
    for (int i = 0; i < N; i++) {
        assert_int_equal(strlen(ids[i]), 36);
        assert_int_equal(ids[i][14], '1');                  /* version 1 */
        assert_non_null(strchr("89ab", ids[i][19]));       /* RFC 4122 variant */
        assert_int_equal(ids[i][8], '-');
        /* one process: same node and clock sequence, strictly increasing time */
        if (i > 0) {
            assert_memory_equal(ids[i] + 19, ids[0] + 19, 17);
            unsigned long long a, b;
            char t[17];
            memcpy(t, ids[i - 1] + 15, 3); memcpy(t + 3, ids[i - 1] + 9, 4); memcpy(t + 7, ids[i - 1], 8); t[15] = 0;
            a = strtoull(t, NULL, 16);
            memcpy(t, ids[i] + 15, 3); memcpy(t + 3, ids[i] + 9, 4); memcpy(t + 7, ids[i], 8); t[15] = 0;
            b = strtoull(t, NULL, 16);
            assert_true(b > a);
        }
    }
    /* a forked child draws a new node/clock sequence: its ids never collide with ours */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char id[EVBUS__UUID_LEN];
        evbus__uuid1(id);
        ssize_t w = write(fds[1], id, 36);
        _exit(w == 36 ? 0 : 1);
    }
    char child[37] = {0};
    assert_int_equal(read(fds[0], child, 36), 36);
    int st;
    waitpid(pid, &st, 0);
    close(fds[0]);
    close(fds[1]);
    assert_memory_not_equal(child + 19, ids[0] + 19, 17);
    free(ids);
}

static void test_time_format(void **state) {
    (void)state;
    char t[EVBUS__TIME_LEN];
    /* clock_gettime, not time(): glibc's time() reads a coarse clock that can lag the
     * real-time clock the formatter reads, so "after" could be a second behind it. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t before = ts.tv_sec;
    evbus__time_now_iso(t);
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t after = ts.tv_sec;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int us = -1;
    assert_int_equal(strlen(t), 32);
    assert_int_equal(sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%6d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us), 7);
    assert_string_equal(t + 26, "+00:00");
    assert_in_range(us, 0, 999999);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t parsed = timegm(&tm);
    assert_true(parsed >= before && parsed <= after);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_validate),
        cmocka_unit_test(test_veto_and_plugin_names),
        cmocka_unit_test(test_from_env_explicit_wins),
        cmocka_unit_test(test_python_bus_settings),
        cmocka_unit_test(test_consecutive_errors_limit),
        cmocka_unit_test(test_kafka_conf_and_secrets),
        cmocka_unit_test(test_topic_names),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_uuid1_unique_ordered_and_forked),
        cmocka_unit_test(test_time_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
