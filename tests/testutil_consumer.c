/*
 * Test helpers for libconsumer (declared in testutil.h): build wire-format messages without
 * libproducer (codec + single-object framing + evbus__headers_build, raw librdkafka), run a
 * consumer in a thread, read a topic back to its high watermark, record what handlers saw.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "framing.h"
#include "headers.h"
#include "registry.h"
#include "testutil.h"

const char *cu_plugin(const char *name) {
    static char b[8][1024];
    static int slot;
    char *p = b[slot++ % 8];
    snprintf(p, sizeof(b[0]), "%s/tests/plugins/evbus_test_plugin_%s.so", EVBUS_TEST_BUILDDIR, name);
    return p;
}

rd_kafka_t *cu_producer(const char *bootstrap) {
    char err[256];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(kc, "bootstrap.servers", bootstrap, err, sizeof(err)), RD_KAFKA_CONF_OK);
    rd_kafka_conf_set(kc, "log_level", "3", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
    assert_non_null(rk);
    return rk;
}

void cu_encode(const evbus__schema_doc_t *doc, const char *json, evbus__buf_t *out) {
    char err[256];
    evbus__buf_reset(out);
    assert_int_equal(evbus__framing_write_single(out, doc->fingerprint), 0);
    if (evbus__avro_encode_json(doc->root, json, strlen(json), out, err, sizeof(err)) != EVBUS_OK)
        fail_msg("encode %s: %s", json, err);
}

const evbus__schema_doc_t *cu_doc(void) {
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

const evbus__schema_doc_t *cu_key_doc(void) {
    static evbus__schema_doc_t *doc;
    if (!doc) {
        doc = evbus__schema_parse("\"string\"", 8, NULL, 0);
        assert_non_null(doc);
    }
    return doc;
}

void cu_produce_raw(rd_kafka_t *p, const char *topic, int32_t partition, const void *value,
                    size_t vlen, const void *key, size_t klen, rd_kafka_headers_t *hdrs,
                    int64_t ts_ms) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)value, vlen),
        RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_TIMESTAMP(ts_ms), RD_KAFKA_V_END);
    if (e)
        fail_msg("produce: %s", rd_kafka_err2str(e));
}

/* ---- framing ---- */

static tu_registry_t *g_reg_double;
static char g_reg_url[128];
static pthread_mutex_t g_reg_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_reg_topic[256];
static int32_t g_reg_id = -1;

int cu_framing_start(void) {
    const char *f = tu_env("EVBUS_TEST_FRAMING");
    if (!f || !strcmp(f, "single"))
        return 0;
    if (strcmp(f, "confluent"))
        fail_msg("EVBUS_TEST_FRAMING=%s: expected single or confluent", f);
    if (!g_reg_double) {
        g_reg_double = tu_registry_start(NULL);
        snprintf(g_reg_url, sizeof(g_reg_url), "%s", g_reg_double->url);
    }
    printf("framing: Confluent, schema registry (test double) at %s\n", g_reg_url);
    return 1;
}

int cu_framing_teardown(void **state) {
    (void)state;
    tu_registry_stop(g_reg_double);
    g_reg_double = NULL;
    g_reg_url[0] = 0;
    g_reg_topic[0] = 0;
    return 0;
}

const char *cu_registry_url(void) { return g_reg_url[0] ? g_reg_url : NULL; }

int32_t cu_registry_id(const char *topic) {
    pthread_mutex_lock(&g_reg_mu);
    if (g_reg_id < 0 || strcmp(g_reg_topic, topic)) {
        char err[512];
        evbus__registry_t *reg = evbus__registry_new(g_reg_url, NULL, NULL, 10000, err, sizeof(err));
        if (!reg)
            fail_msg("registry: %s", err);
        char *subject = evbus__registry_value_subject(topic, CU_TYPE);
        assert_non_null(subject);
        if (evbus__registry_id_for(reg, subject, cu_doc(), &g_reg_id, err, sizeof(err)) != EVBUS_OK)
            fail_msg("registering %s: %s", subject, err);
        free(subject);
        evbus__registry_destroy(reg);
        snprintf(g_reg_topic, sizeof(g_reg_topic), "%s", topic);
    }
    int32_t id = g_reg_id;
    pthread_mutex_unlock(&g_reg_mu);
    return id;
}

void cu_encode_value(const char *topic, const char *json, evbus__buf_t *out) {
    if (!cu_registry_url()) {
        cu_encode(cu_doc(), json, out);
        return;
    }
    char err[256];
    assert_int_equal(evbus__framing_write_confluent(out, cu_registry_id(topic)), 0);
    if (evbus__avro_encode_json(cu_doc()->root, json, strlen(json), out, err, sizeof(err)) != EVBUS_OK)
        fail_msg("encode: %s", err);
}

void cu_produce_event(rd_kafka_t *p, const char *topic, int32_t partition, const char *tag,
                      int n, const char *action, int64_t ts_ms) {
    char id[128], json[256], key[64];
    snprintf(id, sizeof(id), "ev-%s-%d", tag, n);
    snprintf(json, sizeof(json), "{\"id\":\"%s\",\"n\":%d,\"action\":\"%s\"}", id, n, action);
    snprintf(key, sizeof(key), "\"k%d\"", n);
    evbus__buf_t v = EVBUS__BUF_INIT, k = EVBUS__BUF_INIT;
    cu_encode_value(topic, json, &v);
    cu_encode(cu_key_doc(), key, &k);
    evbus__header_values_t hv = {.type = CU_TYPE, .id = id};
    rd_kafka_headers_t *h = evbus__headers_build(&hv, "test-host");
    assert_non_null(h);
    cu_produce_raw(p, topic, partition, v.data, v.len, k.data, k.len, h, ts_ms);
    evbus__buf_free(&v);
    evbus__buf_free(&k);
}

void cu_flush(rd_kafka_t *p) { assert_int_equal(rd_kafka_flush(p, 30000), 0); }

/* Consumer configuration for tests: the test schema dir and nothing else changed; where a new
 * group starts is left at its default (latest). */
evbus_conf_t *cu_conf_default_start(const char *bootstrap, const char *group) {
    char err[256];
    evbus_conf_t *c = evbus_conf_new();
    assert_non_null(c);
    const char *kv[][2] = {{"kafka.bootstrap.servers", bootstrap},
                           {"consumer.group", group},
                           {"schema.dir", tu_src_path(CU_SCHEMA_DIR)},
                           {"kafka.log_level", "3"}};
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (evbus_conf_set(c, kv[i][0], kv[i][1], err, sizeof(err)) != EVBUS_CONF_OK)
            fail_msg("conf %s: %s", kv[i][0], err);
    return c;
}

/* The same, but a new group starts at the beginning: consumer.start=earliest instead of the
 * default latest, because these tests produce before the group joins and want every event
 * (itest_consumer_start covers the default). */
evbus_conf_t *cu_conf(const char *bootstrap, const char *group) {
    char err[256];
    evbus_conf_t *c = cu_conf_default_start(bootstrap, group);
    if (evbus_conf_set(c, "consumer.start", "earliest", err, sizeof(err)) != EVBUS_CONF_OK)
        fail_msg("conf consumer.start: %s", err);
    if (cu_registry_url() &&
        evbus_conf_set(c, "schema.registry.url", cu_registry_url(), err, sizeof(err)) != EVBUS_CONF_OK)
        fail_msg("conf schema.registry.url: %s", err);
    return c;
}

void cu_set(evbus_conf_t *c, const char *name, const char *value) {
    char err[256];
    if (evbus_conf_set(c, name, value, err, sizeof(err)) != EVBUS_CONF_OK)
        fail_msg("conf %s: %s", name, err);
}

void *cu_run_main(void *arg) {
    cu_runner_t *r = arg;
    r->err = evbus_consumer_run(r->c);
    return NULL;
}

void cu_start(cu_runner_t *r, evbus_consumer_t *c) {
    r->c = c;
    assert_int_equal(pthread_create(&r->th, NULL, cu_run_main, r), 0);
}

void cu_stop(cu_runner_t *r) {
    evbus_consumer_stop(r->c);
    assert_int_equal(pthread_join(r->th, NULL), 0);
}

int cu_wait(int (*pred)(void *), void *arg, int timeout_ms) {
    int64_t end = tu_now_us() + (int64_t)timeout_ms * 1000;
    int v;
    while (!(v = pred(arg)) && tu_now_us() < end) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return v;
}

typedef struct stats_wait_s {
    evbus_consumer_t *c;
    uint64_t handled, dead, transient;
} stats_wait_t;

static int stats_reached(void *arg) {
    stats_wait_t *w = arg;
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(w->c, &st);
    return st.handled >= w->handled && st.dead_lettered >= w->dead &&
           st.transient_errors >= w->transient;
}

int cu_wait_stats(evbus_consumer_t *c, uint64_t handled, uint64_t dead, uint64_t transient,
                  int timeout_ms) {
    stats_wait_t w = {c, handled, dead, transient};
    return cu_wait(stats_reached, &w, timeout_ms);
}

int64_t cu_committed(const char *bootstrap, const char *group, const char *topic, int npart) {
    char err[256];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    assert_non_null(kc);
    assert_int_equal(rd_kafka_conf_set(kc, "bootstrap.servers", bootstrap, err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(kc, "group.id", group, err, sizeof(err)), RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(kc, "log_level", "3", err, sizeof(err)), RD_KAFKA_CONF_OK);
    rd_kafka_t *q = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
    assert_non_null(q);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(npart);
    assert_non_null(l);
    for (int i = 0; i < npart; i++)
        rd_kafka_topic_partition_list_add(l, topic, i);
    assert_int_equal(rd_kafka_committed(q, l, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    int64_t sum = 0;
    for (int i = 0; i < l->cnt; i++)
        if (l->elems[i].offset > 0)
            sum += l->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(q);
    return sum;
}

void cu_msgs_free(cu_msgs_t *ms) {
    for (size_t i = 0; i < ms->n; i++)
        rd_kafka_message_destroy(ms->m[i]);
    ms->n = 0;
    if (ms->rk) {
        rd_kafka_consumer_close(ms->rk);
        rd_kafka_destroy(ms->rk);
    }
    ms->rk = NULL;
}

size_t cu_read_topic(const char *bootstrap, const char *topic, cu_msgs_t *ms, size_t want,
                     int timeout_ms) {
    size_t max = sizeof(ms->m) / sizeof(ms->m[0]);
    char err[256];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    rd_kafka_conf_set(kc, "bootstrap.servers", bootstrap, NULL, 0);
    rd_kafka_conf_set(kc, "group.id", "cu-reader", NULL, 0);
    rd_kafka_conf_set(kc, "enable.auto.commit", "false", NULL, 0);
    rd_kafka_conf_set(kc, "enable.partition.eof", "true", NULL, 0);
    rd_kafka_conf_set(kc, "log_level", "3", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
    assert_non_null(rk);
    ms->rk = rk;
    ms->n = 0;
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
    if (!md)
        return 0;
    int np = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < np; i++)
        rd_kafka_topic_partition_list_add(l, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    /* high watermarks, asked again until they add up to want */
    int64_t *high = calloc((size_t)np, sizeof(*high));
    assert_non_null(high);
    for (;;) {
        size_t total = 0;
        for (int i = 0; i < np; i++) {
            int64_t lo = 0, hi = 0;
            if (rd_kafka_query_watermark_offsets(rk, topic, l->elems[i].partition, &lo, &hi, 5000) == 0)
                high[i] = hi;
            total += (size_t)(high[i] - lo);
        }
        if (total >= want || tu_now_us() >= end)
            break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(rd_kafka_assign(rk, l), 0);
    int left = 0;
    for (int i = 0; i < np; i++)
        left += high[i] > 0;
    while (left > 0 && ms->n < max && tu_now_us() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        int i = 0;
        while (i < np && l->elems[i].partition != m->partition)
            i++;
        int64_t next = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ? m->offset : m->offset + 1;
        if (!m->err)
            ms->m[ms->n++] = m;
        else
            rd_kafka_message_destroy(m);
        if (i < np && high[i] > 0 && next >= high[i]) {
            high[i] = 0; /* this partition is read to its watermark */
            left--;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    free(high);
    return ms->n;
}

char *cu_header(const rd_kafka_message_t *m, const char *name) {
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

void cu_seen_add(cu_seen_t *s, const char *id) {
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

size_t cu_seen_n(cu_seen_t *s) {
    pthread_mutex_lock(&s->mu);
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int cu_seen_has(cu_seen_t *s, const char *id) {
    pthread_mutex_lock(&s->mu);
    int r = 0;
    for (size_t i = 0; i < s->n && !r; i++)
        r = !strcmp(s->ids[i], id);
    pthread_mutex_unlock(&s->mu);
    return r;
}

void cu_seen_free(cu_seen_t *s) {
    for (size_t i = 0; i < s->n; i++)
        free(s->ids[i]);
    free(s->ids);
    free(s->count);
}

evbus_err_t cu_record(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    if (!evbus_event_json(ev, NULL)) {
        snprintf(errstr, n, "%s", evbus_event_error(ev) ? evbus_event_error(ev) : "no data");
        return EVBUS_ERR_DECODE;
    }
    cu_seen_add(opaque, evbus_event_id(ev));
    return EVBUS_OK;
}

evbus_consumer_t *cu_consumer(const char *bootstrap, const char *group,
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

int cu_file_count(const char *path, const char *prefix) {
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

pid_t cu_spawn(char *const argv[], const char *errfile) {
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

int cu_wait_exit(pid_t pid) {
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}
