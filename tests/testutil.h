/* Small helpers shared by the C tests (not part of any library). */
#ifndef EVBUS_TESTUTIL_H
#define EVBUS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>

#include <pthread.h>

#include <librdkafka/rdkafka.h>

#include "common.h"
#include "evbus/consumer.h"
#include "evbus/producer.h"
#include "schema.h"

/* A C test program's exit status, for ctest (SKIP_RETURN_CODE 77 in tests/CMakeLists.txt): 1
 * when a test failed, else 77 when a test was skipped, else 0.  cmocka's own status counts
 * failures only and says nothing of skips; ctest used to read "[  SKIPPED ]" in the output
 * instead, which marked a program with one skipped and one failed test as skipped.  So skip()
 * is counted here, and a failure always wins over a skip.  Every program's
 * `return cmocka_run_group_tests(...)` runs through tu_run_group_tests (the macro below), new
 * tests included; with several groups, each call returns the status of all groups so far. */
#define TU_EXIT_SKIPPED 77
extern int tu__nskipped;
#undef skip
#define skip()                                                                                \
    do {                                                                                      \
        tu__nskipped++;                                                                       \
        _skip(__FILE__, __LINE__);                                                            \
    } while (0)
int tu__run_status(int nfailed);
#define tu_run_group_tests(tests, setup, teardown)                                            \
    tu__run_status(_cmocka_run_group_tests(#tests, tests, sizeof(tests) / sizeof((tests)[0]), \
                                           setup, teardown))
#undef cmocka_run_group_tests
#define cmocka_run_group_tests(tests, setup, teardown) tu_run_group_tests(tests, setup, teardown)

/* Path of a file in the source tree (static buffer per call slot; valid until 8 more calls). */
const char *tu_src_path(const char *rel);
/* Create a unique temp dir (removed by tu_rm_rf); returns malloc'd path. */
char *tu_mkdtemp(void);
void tu_rm_rf(const char *path);
/* Write text to dir/name; returns malloc'd full path. */
char *tu_write_file(const char *dir, const char *name, const char *text);

/* Embedded broker: a librdkafka mock cluster with nbrokers; bootstrap servers string
 * is owned by the returned handle. */
typedef struct tu_mock_s tu_mock_t;
tu_mock_t *tu_mock_new(int nbrokers);
const char *tu_mock_bootstrap(const tu_mock_t *m);
rd_kafka_t *tu_mock_rk(const tu_mock_t *m);
/* The mock cluster itself, for error injection (rd_kafka_mock_push_request_errors). */
struct rd_kafka_mock_cluster_s;
struct rd_kafka_mock_cluster_s *tu_mock_cluster(const tu_mock_t *m);
/* Make the next n Produce requests to the embedded broker fail with err (fault injection). */
void tu_mock_fail_produce(tu_mock_t *m, int n, rd_kafka_resp_err_t err);
void tu_mock_destroy(tu_mock_t *m);

/* An independent raw librdkafka reader of topic: every partition assigned from the start,
 * no group rebalance to wait for.  Messages keep it alive: destroy them first, then the handle. */
rd_kafka_t *tu_reader_new(const char *bootstrap, const char *topic);

/* GET url (127.0.0.1 only in tests); the malloc'd NUL-terminated body, *status (may be NULL)
 * the HTTP status.  Fails the test when the request cannot be made. */
char *tu_http_get(const char *url, long *status);

/* Parse an Avro schema text, failing the test (with the parser's message) when it is not one. */
evbus__schema_doc_t *tu_schema_parse(const char *text);

/* Unique topic name with a prefix, malloc'd. */
char *tu_unique_name(const char *prefix);
/* Environment variable or NULL when unset or empty. */
const char *tu_env(const char *name);
/* 1 under scripts/test --long (EVBUS_TEST_LONG=1): run at the defaults that make a test slow. */
int tu_long(void);
/* Microseconds, monotonic. */
int64_t tu_now_us(void);

/* Lower-case hex of n bytes, malloc'd (fails the test when out of memory). */
char *tu_hex(const void *p, size_t n);
/* Bytes of a hex string into out (at most cap; fails the test on bad hex); returns the count. */
size_t tu_unhex(const char *hex, unsigned char *out, size_t cap);

/* The schema-registry test double (tests/registry_double.py), started with extra arguments
 * (NULL-terminated, e.g. "--user", "u", "--password", "p", NULL); fails the test if it does not
 * come up within 10 s.  tu_registry_stop() stops and reaps it (NULL is a no-op). */
typedef struct tu_registry_s {
    pid_t pid;
    int out_fd;
    char url[128];
} tu_registry_t;
tu_registry_t *tu_registry_start(const char *arg, ...);
void tu_registry_stop(tu_registry_t *d);

/* The real schema registry (Apicurio) of tests/registry/with-registry: EVBUS_TEST_REGISTRY_URL.
 * When it is unset, or harness_opt is "--auth" and EVBUS_TEST_REGISTRY_USER is unset (a test run
 * on its own, or in a group whose registry has no auth), re-runs this very program inside
 * `with-registry [harness_opt] --`: so it never skips, and never returns NULL. */
const char *tu_real_registry(char **argv, const char *harness_opt);

/* One HTTP request (127.0.0.1 only in tests): method, url, JSON body or NULL, basic auth user
 * or NULL.  Returns the malloc'd NUL-terminated body, *status (may be NULL) the HTTP status;
 * fails the test when the request cannot be made. */
char *tu_http(const char *method, const char *url, const char *body, const char *user,
              const char *password, long *status);

/* ==== libconsumer tests (testutil_consumer.c) ==== */

#define CU_TYPE "org.evbus.test.consumer.v1"

#define CU_SCHEMA_DIR "tests/integration/data/consumer"

const char *cu_plugin(const char *name);

rd_kafka_t *cu_producer(const char *bootstrap);

/* Single-object framed Avro of json with schema doc. */
void cu_encode(const evbus__schema_doc_t *doc, const char *json, evbus__buf_t *out);

/*
 * The framing the consumer tests produce in.  EVBUS_TEST_FRAMING=confluent (what Open edX runs):
 * cu_framing_start() starts the registry double (tests/registry_double.py), cu_produce_event()
 * frames values in Confluent wire format under the id the registry gives the test schema for
 * the topic's subject, and cu_conf() sets schema.registry.url.  Unset or "single": single-object
 * framing, no registry.  Call cu_framing_start() inside the test (it may fail it), and pass
 * cu_framing_teardown as the group teardown so that the double is stopped even when a test
 * fails.  cu_registry_url() is NULL in single-object framing.
 */
int cu_framing_start(void); /* 1 when Confluent framing is on */
int cu_framing_teardown(void **state);
const char *cu_registry_url(void);
/* The registry id of the test schema under topic's value subject (registers it; cached). */
int32_t cu_registry_id(const char *topic);
/* The value of cu_produce_event in the current framing. */
void cu_encode_value(const char *topic, const char *json, evbus__buf_t *out);

/* The test schema (owned by a static store). */
const evbus__schema_doc_t *cu_doc(void);

const evbus__schema_doc_t *cu_key_doc(void);

/* Produce one raw message (value/key copied; hdrs taken). partition -1 = by key. */
void cu_produce_raw(rd_kafka_t *p, const char *topic, int32_t partition, const void *value,
                    size_t vlen, const void *key, size_t klen, rd_kafka_headers_t *hdrs,
                    int64_t ts_ms);

/* A well-formed test event "n" (id "ev-<tag>-<n>") with the given action, key "k<n>". */
void cu_produce_event(rd_kafka_t *p, const char *topic, int32_t partition, const char *tag,
                      int n, const char *action, int64_t ts_ms);

void cu_flush(rd_kafka_t *p);

/* Consumer configuration for tests: the defaults users get (retries, backoff, session timeout,
 * commit interval, metadata refresh), only the broker, group and the test schema dir set
 * (and librdkafka's log level, which changes nothing but the noise). */
/* Test consumer conf: bootstrap, group, the test schemas; a new group starts at the
 * beginning (consumer.start=earliest), or at the default (latest) with cu_conf_default_start. */
evbus_conf_t *cu_conf(const char *bootstrap, const char *group);
evbus_conf_t *cu_conf_default_start(const char *bootstrap, const char *group);

void cu_set(evbus_conf_t *c, const char *name, const char *value);

/* run() in a thread */
typedef struct cu_runner_s {
    evbus_consumer_t *c;
    pthread_t th;
    evbus_err_t err;
} cu_runner_t;

void *cu_run_main(void *arg);

void cu_start(cu_runner_t *r, evbus_consumer_t *c);

void cu_stop(cu_runner_t *r);

/* Wait (no fixed sleeps) until pred(arg) or timeout; returns the last pred value. */
int cu_wait(int (*pred)(void *), void *arg, int timeout_ms);

/* cu_wait until c's stats count at least handled events, dead letters and transient errors. */
int cu_wait_stats(evbus_consumer_t *c, uint64_t handled, uint64_t dead, uint64_t transient,
                  int timeout_ms);

/* The group's committed offsets summed over the topic's partitions 0..npart-1 (a partition
 * with none counts 0), read by a consumer of its own (fails the test if that fails). */
int64_t cu_committed(const char *bootstrap, const char *group, const char *topic, int npart);

/* Messages read back; they pin their rd_kafka_t, so both are freed together by cu_msgs_free. */
typedef struct cu_msgs_s {
    rd_kafka_t *rk;
    rd_kafka_message_t *m[256];
    size_t n;
} cu_msgs_t;

void cu_msgs_free(cu_msgs_t *ms);

/* Read every partition of topic from the beginning up to its high watermark, once the
 * watermarks add up to at least want messages (or timeout_ms passed): what is in the topic,
 * extras included, without waiting for silence.  Returns ms->n. */
size_t cu_read_topic(const char *bootstrap, const char *topic, cu_msgs_t *ms, size_t want,
                     int timeout_ms);

/* Header value of a message as a malloc'd string (NULL if absent). */
char *cu_header(const rd_kafka_message_t *m, const char *name);

/* A set of event ids seen (thread safe). */
typedef struct cu_seen_s {
    pthread_mutex_t mu;
    char **ids;
    int *count;
    size_t n, cap;
    size_t calls;
} cu_seen_t;

void cu_seen_add(cu_seen_t *s, const char *id);

size_t cu_seen_n(cu_seen_t *s);

int cu_seen_has(cu_seen_t *s, const char *id);

void cu_seen_free(cu_seen_t *s);

/* The tests' recording handler: decodes the event's data (failing the event with
 * EVBUS_ERR_DECODE when it cannot, as a real handler would) and records its id in the
 * cu_seen_t given as opaque. */
evbus_err_t cu_record(const evbus_event_t *ev, void *opaque, char *errstr, size_t n);

/* A consumer in group, subscribed to topic, whose one handler is fn(opaque) for CU_TYPE
 * events.  *dp gets its dispatcher (destroy it after the consumer). */
evbus_consumer_t *cu_consumer(const char *bootstrap, const char *group,
                              const char *topic, evbus_handler_fn fn, void *opaque,
                              const char *name, evbus_dispatcher_t **dp);

/* Count of lines of file beginning with prefix. */
int cu_file_count(const char *path, const char *prefix);

/* Run argv (argv[0] a path) with its stderr in errfile; the child's pid. */
pid_t cu_spawn(char *const argv[], const char *errfile);
/* Wait for pid to exit (it must exit, not be killed); its exit status. */
int cu_wait_exit(pid_t pid);

/* ==== fault tests on a cluster of their own (testutil_kafka.c) ==== */

/* The cluster's bootstrap servers; skips the test when not run under with-kafka. */
const char *fu_bootstrap(int min_brokers);

void fu_sleep_ms(int ms);

double fu_secs(int64_t since_us);

/* Run node-<id>.<script> [arg] of the cluster (script "stop" or "start"; arg e.g. "KILL" or
 * NULL); fails the test if it fails.  The stop script returns once the process is gone. */
void fu_node(int id, const char *script, const char *arg);

/* A short-lived admin/metadata client (destroyed before the caller forks). */
rd_kafka_t *fu_client(const char *bs);

/* Number of brokers in the metadata (registered and unfenced), -1 when none answered. */
int fu_nbrokers(rd_kafka_t *rk);

/* Wait until the cluster lists n brokers; fails the test after timeout_ms. */
void fu_wait_brokers(const char *bs, int n, int timeout_ms);

/* Create topic (partitions, replication factor) and wait until every partition has a leader. */
void fu_create_topic(const char *bs, const char *topic, int partitions, int rf);

/* The leader's node id of topic/partition, or -1. */
int fu_leader(const char *bs, const char *topic, int partition);

/* What a topic holds, by ce_id "<prefix><i>", 0 <= i < n. */
typedef struct fu_count_s {
    int n;
    uint16_t *seen;  /* seen[i]: copies of event i */
    long messages;   /* messages read */
    long foreign;    /* messages whose ce_id is not "<prefix><i>" */
    long unique;     /* events seen at least once */
    long duplicates; /* copies beyond the first */
    long missing;    /* events never seen */
    long confluent;  /* messages whose value is Confluent-framed (magic byte 0) */
} fu_count_t;

void fu_count_free(fu_count_t *c);

/* Parse "<prefix><i>" (len bytes) into i; -1 when it is not one of ours. */
/* The ce_id libproducer is given for event i of a run: a UUID (the producer checks that)
 * whose first group is a hash of the run's prefix and whose last holds i in decimal. */
uint32_t fu_prefix_hash(const char *prefix);
void fu_id_for(const char *prefix, int i, char out[37]);
int fu_parse_id(const char *prefix, const void *v, size_t len, int n);

void fu_count_add(fu_count_t *c, int i);

void fu_count_finish(fu_count_t *c);

/* Read every message of topic, from the beginning up to each partition's end as it is now
 * (high watermark, not the last stable offset), with a raw read_committed librdkafka
 * consumer: it waits for the markers of transactions that end before that, within
 * timeout_ms (an open one the broker aborts after transaction.timeout.ms); count the ce_id
 * headers.  In Confluent
 * framing (fu_registry_url()), fails the test unless every message is Confluent-framed. */
void fu_count_topic(const char *bs, const char *topic, const char *prefix, int n,
                    fu_count_t *c, int timeout_ms);

/* EVBUS_FTEST_FRAMING=confluent (ktest_faults_producer.sh runs every producer fault test in
 * both framings): the registry double's URL, started on first use and stopped when the
 * program exits; NULL in single-object framing.  Call it before forking.  fu_framing() names
 * the framing for the test's output. */
const char *fu_registry_url(void);
const char *fu_framing(void);

/* A producer configuration for the consumer-test event type on one topic, keyed by "id";
 * with a schema registry (Confluent framing) when fu_registry_url() gives one. */
evbus_conf_t *fu_producer_conf(const char *bs, const char *topic);
/* The same for the consumer-test event type on topics[0..n), keyed by "id". */
evbus_conf_t *fu_producer_conf_topics(const char *bs, const char *const *topics, int n);

/* Send event i ("<prefix><i>") through libproducer; returns the result of the send. */
evbus_err_t fu_send(evbus_producer_t *p, const char *prefix, int i, char *errstr,
                    size_t errstr_size);

#endif
