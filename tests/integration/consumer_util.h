/*
 * Helpers for the libconsumer integration tests: build wire-format messages without
 * libproducer (codec + single-object framing + evbus__headers_build, raw librdkafka), run a
 * consumer in a thread, read a topic back.  Header-only (static) so each test is one file.
 */
#ifndef EVBUS_TEST_CONSUMER_UTIL_H
#define EVBUS_TEST_CONSUMER_UTIL_H

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "evbus/consumer.h"
#include "framing.h"
#include "headers.h"
#include "schema.h"
#include "testutil.h"

#define CU_TYPE "org.evbus.test.consumer.v1"
#define CU_SCHEMA_DIR "tests/integration/data/consumer"

static inline const char *cu_plugin(const char *name) {
    static char b[8][1024];
    static int slot;
    char *p = b[slot++ % 8];
    snprintf(p, sizeof(b[0]), "%s/tests/plugins/evbus_test_plugin_%s.so", EVBUS_TEST_BUILDDIR, name);
    return p;
}

static inline rd_kafka_t *cu_producer(const char *bootstrap) {
    char err[256];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(kc, "bootstrap.servers", bootstrap, err, sizeof(err)), RD_KAFKA_CONF_OK);
    rd_kafka_conf_set(kc, "log_level", "3", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
    assert_non_null(rk);
    return rk;
}

/* Single-object framed Avro of json with schema doc. */
static inline void cu_encode(const evbus__schema_doc_t *doc, const char *json, evbus__buf_t *out) {
    char err[256];
    evbus__buf_reset(out);
    assert_int_equal(evbus__framing_write_single(out, doc->fingerprint), 0);
    if (evbus__avro_encode_json(doc->root, json, strlen(json), out, err, sizeof(err)) != EVBUS_OK)
        fail_msg("encode %s: %s", json, err);
}

/* The test schema (owned by a static store). */
static inline const evbus__schema_doc_t *cu_doc(void) {
    static evbus__schema_store_t *store;
    if (!store) {
        char err[256];
        store = evbus__schema_store_new(tu_src_path(CU_SCHEMA_DIR), err, sizeof(err));
        if (!store)
            fail_msg("schema store: %s", err);
    }
    const evbus__schema_entry_t *e = evbus__schema_store_get(store, CU_TYPE);
    assert_non_null(e);
    return e->doc;
}

static inline const evbus__schema_doc_t *cu_key_doc(void) {
    static evbus__schema_doc_t *doc;
    if (!doc) {
        doc = evbus__schema_parse("\"string\"", 8, NULL, 0);
        assert_non_null(doc);
    }
    return doc;
}

/* Produce one raw message (value/key copied; hdrs taken). partition -1 = by key. */
static inline void cu_produce_raw(rd_kafka_t *p, const char *topic, int32_t partition, const void *value,
                                  size_t vlen, const void *key, size_t klen, rd_kafka_headers_t *hdrs,
                                  int64_t ts_ms) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)value, vlen),
        RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_TIMESTAMP(ts_ms), RD_KAFKA_V_END);
    if (e)
        fail_msg("produce: %s", rd_kafka_err2str(e));
}

/* A well-formed test event "n" (id "ev-<tag>-<n>") with the given action, key "k<n>". */
static inline void cu_produce_event(rd_kafka_t *p, const char *topic, int32_t partition, const char *tag,
                                    int n, const char *action, int64_t ts_ms) {
    char id[128], json[256], key[64];
    snprintf(id, sizeof(id), "ev-%s-%d", tag, n);
    snprintf(json, sizeof(json), "{\"id\":\"%s\",\"n\":%d,\"action\":\"%s\"}", id, n, action);
    snprintf(key, sizeof(key), "\"k%d\"", n);
    evbus__buf_t v = EVBUS__BUF_INIT, k = EVBUS__BUF_INIT;
    cu_encode(cu_doc(), json, &v);
    cu_encode(cu_key_doc(), key, &k);
    evbus__header_values_t hv = {.type = CU_TYPE, .id = id};
    rd_kafka_headers_t *h = evbus__headers_build(&hv, "test-host");
    assert_non_null(h);
    cu_produce_raw(p, topic, partition, v.data, v.len, k.data, k.len, h, ts_ms);
    evbus__buf_free(&v);
    evbus__buf_free(&k);
}

static inline void cu_flush(rd_kafka_t *p) { assert_int_equal(rd_kafka_flush(p, 30000), 0); }

/* Consumer configuration for tests: fast retries, the test schema dir; where a new group
 * starts is left at its default (latest). */
static inline evbus_conf_t *cu_conf_default_start(const char *bootstrap, const char *group) {
    char err[256];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    const char *kv[][2] = {{"kafka.bootstrap.servers", bootstrap},
                           {"consumer.group", group},
                           {"schema.dir", tu_src_path(CU_SCHEMA_DIR)},
                           {"retry.max", "2"},
                           {"retry.backoff.ms", "5"},
                           {"kafka.log_level", "3"},
                           {"kafka.session.timeout.ms", "6000"},
                           {"kafka.heartbeat.interval.ms", "500"},
                           {"kafka.auto.commit.interval.ms", "200"},
                           {"kafka.topic.metadata.refresh.interval.ms", "500"}};
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (evbus_conf_set(c, kv[i][0], kv[i][1], err, sizeof(err)) != EVBUS_CONF_OK)
            fail_msg("conf %s: %s", kv[i][0], err);
    return c;
}

/* The same, but a new group starts at the beginning: consumer.start=earliest instead of the
 * default latest, because these tests produce before the group joins and want every event
 * (itest_consumer_start covers the default). */
static inline evbus_conf_t *cu_conf(const char *bootstrap, const char *group) {
    char err[256];
    evbus_conf_t *c = cu_conf_default_start(bootstrap, group);
    if (evbus_conf_set(c, "consumer.start", "earliest", err, sizeof(err)) != EVBUS_CONF_OK)
        fail_msg("conf consumer.start: %s", err);
    return c;
}

static inline void cu_set(evbus_conf_t *c, const char *name, const char *value) {
    char err[256];
    if (evbus_conf_set(c, name, value, err, sizeof(err)) != EVBUS_CONF_OK)
        fail_msg("conf %s: %s", name, err);
}

/* run() in a thread */
typedef struct cu_runner_s {
    evbus_consumer_t *c;
    pthread_t th;
    evbus_err_t err;
} cu_runner_t;

static inline void *cu_run_main(void *arg) {
    cu_runner_t *r = arg;
    r->err = evbus_consumer_run(r->c);
    return NULL;
}
static inline void cu_start(cu_runner_t *r, evbus_consumer_t *c) {
    r->c = c;
    assert_int_equal(pthread_create(&r->th, NULL, cu_run_main, r), 0);
}
static inline void cu_stop(cu_runner_t *r) {
    evbus_consumer_stop(r->c);
    assert_int_equal(pthread_join(r->th, NULL), 0);
}

/* Wait (no fixed sleeps) until pred(arg) or timeout; returns the last pred value. */
static inline int cu_wait(int (*pred)(void *), void *arg, int timeout_ms) {
    int64_t end = tu_now_us() + (int64_t)timeout_ms * 1000;
    int v;
    while (!(v = pred(arg)) && tu_now_us() < end) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return v;
}

/* Messages read back; they pin their rd_kafka_t, so both are freed together by cu_msgs_free. */
typedef struct cu_msgs_s {
    rd_kafka_t *rk;
    rd_kafka_message_t *m[256];
    size_t n;
} cu_msgs_t;

static inline void cu_msgs_free(cu_msgs_t *ms) {
    for (size_t i = 0; i < ms->n; i++)
        rd_kafka_message_destroy(ms->m[i]);
    ms->n = 0;
    if (ms->rk) {
        rd_kafka_consumer_close(ms->rk);
        rd_kafka_destroy(ms->rk);
    }
    ms->rk = NULL;
}

/* Read every partition of topic from the beginning, until nothing arrives for 500 ms after at
 * least want messages (or timeout_ms). Returns ms->n. */
static inline size_t cu_read_topic(const char *bootstrap, const char *topic, cu_msgs_t *ms, size_t want,
                                   int timeout_ms) {
    rd_kafka_message_t **out = ms->m;
    size_t max = sizeof(ms->m) / sizeof(ms->m[0]);
    char err[256];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    rd_kafka_conf_set(kc, "bootstrap.servers", bootstrap, NULL, 0);
    rd_kafka_conf_set(kc, "group.id", "cu-reader", NULL, 0);
    rd_kafka_conf_set(kc, "enable.auto.commit", "false", NULL, 0);
    rd_kafka_conf_set(kc, "log_level", "3", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
    assert_non_null(rk);
    size_t n = 0;
    int64_t end = tu_now_us() + (int64_t)timeout_ms * 1000;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    while (tu_now_us() < end) {
        if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == 0 && md->topic_cnt == 1 &&
            !md->topics[0].err && md->topics[0].partition_cnt > 0)
            break;
        if (md)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    rd_kafka_topic_destroy(rkt);
    ms->rk = rk;
    ms->n = 0;
    if (!md)
        return 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(l, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    assert_int_equal(rd_kafka_assign(rk, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
    int64_t idle_end = 0;
    while (n < max && tu_now_us() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m && !m->err) {
            out[n++] = m;
            continue;
        }
        if (m)
            rd_kafka_message_destroy(m);
        if (n >= want) {
            if (!idle_end)
                idle_end = tu_now_us() + 500 * 1000;
            else if (tu_now_us() > idle_end)
                break;
        }
    }
    ms->rk = rk;
    ms->n = n;
    return n;
}

/* Header value of a message as a malloc'd string (NULL if absent). */
static inline char *cu_header(const rd_kafka_message_t *m, const char *name) {
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t len;
    if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get(h, 0, name, &v, &len))
        return NULL;
    char *r = malloc(len + 1);
    assert_non_null(r);
    memcpy(r, v, len);
    r[len] = 0;
    return r;
}

/* A set of event ids seen (thread safe). */
typedef struct cu_seen_s {
    pthread_mutex_t mu;
    char **ids;
    int *count;
    size_t n, cap;
    size_t calls;
} cu_seen_t;

static inline void cu_seen_add(cu_seen_t *s, const char *id) {
    pthread_mutex_lock(&s->mu);
    s->calls++;
    size_t i = 0;
    while (i < s->n && strcmp(s->ids[i], id))
        i++;
    if (i == s->n) {
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 64;
            s->ids = realloc(s->ids, s->cap * sizeof(char *));
            s->count = realloc(s->count, s->cap * sizeof(int));
            assert_non_null(s->ids);
            assert_non_null(s->count);
        }
        s->ids[s->n] = strdup(id);
        s->count[s->n++] = 0;
    }
    s->count[i]++;
    pthread_mutex_unlock(&s->mu);
}
static inline size_t cu_seen_n(cu_seen_t *s) {
    pthread_mutex_lock(&s->mu);
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}
static inline int cu_seen_has(cu_seen_t *s, const char *id) {
    pthread_mutex_lock(&s->mu);
    int r = 0;
    for (size_t i = 0; i < s->n && !r; i++)
        r = !strcmp(s->ids[i], id);
    pthread_mutex_unlock(&s->mu);
    return r;
}
static inline void cu_seen_free(cu_seen_t *s) {
    for (size_t i = 0; i < s->n; i++)
        free(s->ids[i]);
    free(s->ids);
    free(s->count);
}

/* A handler that records each event's id in the cu_seen_t given as opaque. */
static inline evbus_err_t cu_record(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)errstr; (void)n;
    cu_seen_add(opaque, evbus_event_id(ev));
    return EVBUS_OK;
}

/* A consumer in group, subscribed to topic, whose one handler is fn(opaque) for CU_TYPE
 * events.  *dp gets its dispatcher (destroy it after the consumer). */
static inline evbus_consumer_t *cu_consumer(const char *bootstrap, const char *group,
                                            const char *topic, evbus_handler_fn fn, void *opaque,
                                            const char *name, evbus_dispatcher_t **dp) {
    char err[512];
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, fn, opaque, NULL, 0, name), 0);
    evbus_consumer_t *c = evbus_consumer_new(cu_conf(bootstrap, group), d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    *dp = d;
    return c;
}

/* Count of lines of file beginning with prefix. */
static inline int cu_file_count(const char *path, const char *prefix) {
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, prefix, strlen(prefix)))
            n++;
    fclose(f);
    return n;
}

/* Run argv (argv[0] a path) with its stderr in errfile; the child's pid. */
static inline pid_t cu_spawn(char *const argv[], const char *errfile) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0)
            dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Wait for pid to exit (it must exit, not be killed); its exit status. */
static inline int cu_wait_exit(pid_t pid) {
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

#endif
