/*
 * Test helpers for the fault tests (ftest_*.c, declared in testutil.h), which run inside a
 * cluster of their own (tests/kafka/with-kafka --brokers 3, started by a ktest_faults_*.sh):
 * stop and start nodes, find partition leaders, and count what a topic really holds with a raw
 * librdkafka consumer that shares no code with libconsumer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

/* ---- framing of the fault tests ---- */

static tu_registry_t *g_registry;

static void registry_stop(void) {
    tu_registry_stop(g_registry);
    g_registry = NULL;
}

const char *fu_registry_url(void) {
    const char *fr = tu_env("EVBUS_FTEST_FRAMING");
    if (!fr || strcmp(fr, "confluent") != 0)
        return NULL;
    if (!g_registry) {
        g_registry = tu_registry_start(NULL);
        atexit(registry_stop); /* stopped and reaped when the test program ends */
    }
    return g_registry->url;
}

const char *fu_framing(void) { return fu_registry_url() ? "Confluent" : "single-object"; }

const char *fu_bootstrap(int min_brokers) {
    const char *bs = tu_env("EVBUS_TEST_KAFKA_BOOTSTRAP");
    const char *nb = tu_env("EVBUS_TEST_KAFKA_BROKERS");
    if (!bs || !tu_env("EVBUS_TEST_KAFKA_DIR") || !nb || atoi(nb) < min_brokers) {
        fprintf(stderr, "needs tests/kafka/with-kafka --brokers %d (see ktest_faults_*.sh)\n",
                min_brokers);
        skip();
    }
    return bs;
}

void fu_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

double fu_secs(int64_t since_us) { return (double)(tu_now_us() - since_us) / 1e6; }

void fu_node(int id, const char *script, const char *arg) {
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s/node-%d.%s' %s >/dev/null", tu_env("EVBUS_TEST_KAFKA_DIR"), id,
             script, arg ? arg : "");
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("%s: exit status %d", cmd, rc);
}

rd_kafka_t *fu_client(const char *bs) {
    char err[256];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(kc, "bootstrap.servers", bs, err, sizeof(err)), RD_KAFKA_CONF_OK);
    rd_kafka_conf_set(kc, "log_level", "0", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
    if (!rk)
        fail_msg("rd_kafka_new: %s", err);
    return rk;
}

int fu_nbrokers(rd_kafka_t *rk) {
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(rk, 0, NULL, &md, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    int n = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

void fu_wait_brokers(const char *bs, int n, int timeout_ms) {
    rd_kafka_t *rk = fu_client(bs);
    int64_t end = tu_now_us() + (int64_t)timeout_ms * 1000;
    int got;
    while ((got = fu_nbrokers(rk)) != n && tu_now_us() < end)
        fu_sleep_ms(200);
    rd_kafka_destroy(rk);
    if (got != n)
        fail_msg("cluster has %d brokers after %d ms, want %d", got, timeout_ms, n);
}

void fu_create_topic(const char *bs, const char *topic, int partitions, int rf) {
    char err[512];
    rd_kafka_t *rk = fu_client(bs);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, rf, err, sizeof(err));
    assert_non_null(nt);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 60000);
    assert_non_null(ev);
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    assert_non_null(res);
    size_t n;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
    assert_int_equal(n, 1);
    if (rd_kafka_topic_result_error(tr[0]) &&
        rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        fail_msg("create %s: %s", topic, rd_kafka_topic_result_error_string(tr[0]));
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_destroy(rk);
    /* Wait for leaders as each node sees them: a node that does not know the topic yet
     * (its metadata lags the controller's) refuses it, e.g. a transaction coordinator's
     * AddPartitionsToTxn with UNKNOWN_TOPIC_OR_PART, which librdkafka 2.0.2 turns into a
     * fatal error.  One client per node address: its metadata requests go to that node,
     * the only one it connects to. */
    int64_t end = tu_now_us() + 60 * 1000000LL;
    char *nodes = strdup(bs);
    assert_non_null(nodes);
    char *save = NULL;
    for (char *node = strtok_r(nodes, ",", &save); node; node = strtok_r(NULL, ",", &save)) {
        rk = fu_client(node);
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        int ready = 0;
        while (!ready && tu_now_us() < end) {
            const struct rd_kafka_metadata *md = NULL;
            if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == 0) {
                ready = md->topic_cnt == 1 && !md->topics[0].err &&
                        md->topics[0].partition_cnt == partitions;
                for (int i = 0; ready && i < md->topics[0].partition_cnt; i++)
                    ready = md->topics[0].partitions[i].leader >= 0 &&
                            md->topics[0].partitions[i].isr_cnt == rf;
                rd_kafka_metadata_destroy(md);
            }
            if (!ready)
                fu_sleep_ms(100);
        }
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        if (!ready)
            fail_msg("topic %s: partitions without a leader or full ISR at %s after 60 s", topic,
                     node);
    }
    free(nodes);
}

int fu_leader(const char *bs, const char *topic, int partition) {
    rd_kafka_t *rk = fu_client(bs);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int leader = -1;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == 0) {
        for (int i = 0; md->topic_cnt == 1 && i < md->topics[0].partition_cnt; i++)
            if (md->topics[0].partitions[i].id == partition)
                leader = md->topics[0].partitions[i].leader;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return leader;
}

void fu_count_free(fu_count_t *c) {
    free(c->seen);
    c->seen = NULL;
}

/* The ce_id libproducer is given for event i of a run: a UUID (the producer checks that)
 * whose first group is a hash of the run's prefix and whose last holds i in decimal. */
uint32_t fu_prefix_hash(const char *prefix) {
    uint32_t h = 2166136261u;
    for (const char *c = prefix; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    return h;
}

void fu_id_for(const char *prefix, int i, char out[37]) {
    snprintf(out, 37, "%08x-0000-1000-8000-%012d", fu_prefix_hash(prefix), i);
}

/* Parse "<prefix><i>" or fu_id_for's UUID (len bytes) into i; -1 when it is not one of ours. */
int fu_parse_id(const char *prefix, const void *v, size_t len, int n) {
    size_t pl = strlen(prefix);
    char buf[64];
    if (v && len == 36) { /* the UUID form of fu_id_for */
        char want[37];
        fu_id_for(prefix, 0, want);
        if (memcmp(v, want, 24) == 0) {
            memcpy(buf, (const char *)v + 24, 12);
            buf[12] = 0;
            char *end;
            long i = strtol(buf, &end, 10);
            return *end || i < 0 || i >= n ? -1 : (int)i;
        }
    }
    if (!v || len <= pl || len >= sizeof(buf) || memcmp(v, prefix, pl) != 0)
        return -1;
    memcpy(buf, (const char *)v + pl, len - pl);
    buf[len - pl] = 0;
    char *end;
    long i = strtol(buf, &end, 10);
    return *end || i < 0 || i >= n ? -1 : (int)i;
}

void fu_count_add(fu_count_t *c, int i) {
    if (i < 0) {
        c->foreign++;
        return;
    }
    if (c->seen[i] < UINT16_MAX)
        c->seen[i]++;
}

void fu_count_finish(fu_count_t *c) {
    c->unique = c->duplicates = c->missing = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->seen[i])
            c->unique++, c->duplicates += c->seen[i] - 1;
        else
            c->missing++;
    }
}

void fu_count_topic(const char *bs, const char *topic, const char *prefix, int n,
                    fu_count_t *c, int timeout_ms) {
    char err[512];
    memset(c, 0, sizeof(*c));
    c->n = n;
    c->seen = calloc((size_t)n, sizeof(*c->seen));
    assert_non_null(c->seen);
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    rd_kafka_conf_set(kc, "bootstrap.servers", bs, NULL, 0);
    rd_kafka_conf_set(kc, "group.id", "ftest-counter", NULL, 0);
    rd_kafka_conf_set(kc, "enable.auto.commit", "false", NULL, 0);
    rd_kafka_conf_set(kc, "enable.partition.eof", "true", NULL, 0);
    rd_kafka_conf_set(kc, "log_level", "3", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
    if (!rk)
        fail_msg("counter: %s", err);
    /* The end to read up to is the high watermark, asked by a read_uncommitted client: the
     * counter's own query (ListOffsets carries its isolation level, read_committed) gives the
     * last stable offset, which stays before a just committed transaction's messages until
     * its markers are written, after the commit returned: the counter then stopped short
     * of messages reported delivered. */
    rd_kafka_conf_t *wc = rd_kafka_conf_new();
    rd_kafka_conf_set(wc, "bootstrap.servers", bs, NULL, 0);
    rd_kafka_conf_set(wc, "isolation.level", "read_uncommitted", NULL, 0);
    rd_kafka_conf_set(wc, "log_level", "3", NULL, 0);
    rd_kafka_t *wm = rd_kafka_new(RD_KAFKA_CONSUMER, wc, err, sizeof(err));
    if (!wm)
        fail_msg("counter's watermarks: %s", err);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    assert_int_equal(rd_kafka_metadata(rk, 0, rkt, &md, 10000), 0);
    assert_int_equal(md->topic_cnt, 1);
    int np = md->topics[0].partition_cnt;
    assert_true(np > 0);
    int64_t *hi = calloc((size_t)np, sizeof(*hi));
    int *done = calloc((size_t)np, sizeof(*done));
    assert_non_null(hi);
    assert_non_null(done);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
    int left = 0;
    for (int i = 0; i < np; i++) {
        int32_t id = md->topics[0].partitions[i].id;
        int64_t lo;
        /* Right after a broker was killed, the partition's leadership may still be moving
         * (NOT_LEADER_FOR_PARTITION): ask again until it has settled, within 60 s. */
        rd_kafka_resp_err_t e;
        int64_t wend = tu_now_us() + 60 * 1000000LL;
        while ((e = rd_kafka_query_watermark_offsets(wm, topic, id, &lo, &hi[id], 10000)) &&
               (e == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) &&
               tu_now_us() < wend)
            fu_sleep_ms(200);
        if (e)
            fail_msg("watermarks %s [%d]: %s", topic, (int)id, rd_kafka_err2str(e));
        int64_t lso = -1, lo2;
        if (!rd_kafka_query_watermark_offsets(rk, topic, id, &lo2, &lso, 10000) && lso < hi[id])
            printf("counter: %s [%d]: last stable offset %" PRId64 " < high watermark %" PRId64
                   " (transaction markers not written yet): reading up to the high watermark\n",
                   topic, (int)id, lso, hi[id]);
        if (hi[id] > 0)
            left++;
        else
            done[id] = 1;
        rd_kafka_topic_partition_list_add(l, topic, id)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    assert_int_equal(rd_kafka_assign(rk, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
    int64_t end = tu_now_us() + (int64_t)timeout_ms * 1000;
    while (left > 0 && tu_now_us() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (!m->err) {
            c->messages++;
            if (m->len > 5 && ((const unsigned char *)m->payload)[0] == 0)
                c->confluent++;
            rd_kafka_headers_t *h = NULL;
            const void *v = NULL;
            size_t len = 0;
            int idx = -1;
            if (!rd_kafka_message_headers(m, &h) && !rd_kafka_header_get_last(h, "ce_id", &v, &len))
                idx = fu_parse_id(prefix, v, len, n);
            /* ce_ids made by the producer itself (the CLI's): the key "<prefix><i>" says it,
             * an Avro string after the 10-byte single-object header. */
            if (idx < 0 && m->key_len > 11 && ((const unsigned char *)m->key)[0] == 0xC3)
                idx = fu_parse_id(prefix, (const char *)m->key + 11, m->key_len - 11, n);
            /* ... or after the 5-byte Confluent header (magic 0, schema id) */
            if (idx < 0 && m->key_len > 6 && ((const unsigned char *)m->key)[0] == 0)
                idx = fu_parse_id(prefix, (const char *)m->key + 6, m->key_len - 6, n);
            fu_count_add(c, idx);
        }
        if ((!m->err || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) && m->partition < np &&
            !done[m->partition] && m->offset + (m->err ? 0 : 1) >= hi[m->partition]) {
            done[m->partition] = 1;
            left--;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    rd_kafka_destroy(wm);
    free(hi);
    free(done);
    if (left > 0)
        fail_msg("counter: %d partitions of %s not read to the end in %d ms", left, topic, timeout_ms);
    fu_count_finish(c);
    /* the framing the run asked for, on every message */
    if (c->confluent != (fu_registry_url() ? c->messages : 0))
        fail_msg("%s: %ld of %ld messages Confluent-framed in %s framing", topic, c->confluent,
                 c->messages, fu_framing());
}

/* A producer configuration for the consumer-test event type on topics[0..n), keyed by "id". */
evbus_conf_t *fu_producer_conf_topics(const char *bs, const char *const *topics,
                                                    int n) {
    char pc[1024];
    size_t off = (size_t)snprintf(pc, sizeof(pc), "{\"%s\": [", CU_TYPE);
    for (int i = 0; i < n && off < sizeof(pc); i++)
        off += (size_t)snprintf(pc + off, sizeof(pc) - off,
                                "%s{\"topic\": \"%s\", \"event_key_field\": \"id\"}",
                                i ? ", " : "", topics[i]);
    if (off < sizeof(pc))
        off += (size_t)snprintf(pc + off, sizeof(pc) - off, "]}");
    assert_true(off < sizeof(pc));
    evbus_conf_t *conf = evbus_conf_new();
    assert_non_null(conf);
    cu_set(conf, "kafka.bootstrap.servers", bs);
    cu_set(conf, "schema.dir", tu_src_path(CU_SCHEMA_DIR));
    cu_set(conf, "producer.config", pc);
    cu_set(conf, "kafka.log_level", "3");
    const char *url = fu_registry_url();
    if (url)
        cu_set(conf, "schema.registry.url", url);
    return conf;
}

/* The same for one topic. */
evbus_conf_t *fu_producer_conf(const char *bs, const char *topic) {
    return fu_producer_conf_topics(bs, &topic, 1);
}

/* Send event i ("<prefix><i>") through libproducer; returns the result of the send. */
evbus_err_t fu_send(evbus_producer_t *p, const char *prefix, int i, char *errstr,
                                  size_t errstr_size) {
    char id[37], key[64], json[160];
    fu_id_for(prefix, i, id);
    snprintf(key, sizeof(key), "%s%d", prefix, i);
    int len = snprintf(json, sizeof(json), "{\"id\":\"%s\",\"n\":%d,\"action\":\"ok\"}", key, i);
    evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
    o.id = id;
    return evbus_producer_send_opts(p, CU_TYPE, json, (size_t)len, &o, errstr, errstr_size);
}
