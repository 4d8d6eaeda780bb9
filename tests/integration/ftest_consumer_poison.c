/* Fault test (3-node cluster, run by ktest_faults_consumer.sh): poison messages produced raw
 * between good events.  Each one lands in the dead-letter topic (<topic>.dlq) with its reason
 * in evbus_error and its bytes unchanged; the consumer goes on and handles every good event
 * around them, in order (one partition).  In single-object framing, and with EVBUS_TEST_FRAMING=
 * confluent in Confluent framing with a schema registry (the test double), where the unknown
 * fingerprint becomes a schema id the registry does not know. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "framing.h"
#include "headers.h"
#include "testutil.h"

#define TAG "p"
#define GOOD_PER_GAP 10

typedef struct poison_s {
    const char *kind;   /* also the message's ce_id: "poison-<kind>" */
    const char *reason; /* expected in evbus_error */
} poison_t;

static const poison_t g_poison_single[] = {
    {"garbage", "unknown framing: first byte 0x7f"},
    {"truncated-header", "truncated single-object header"},
    {"truncated-body", "truncated"},
    {"unknown-fingerprint", "unknown schema fingerprint 0123456789abcdef"},
    {"wrong-schema", "truncated"},
    {"missing-ce_type", "ce_type"},
};
static const poison_t g_poison_confluent[] = {
    {"garbage", "unknown framing: first byte 0x7f"},
    {"truncated-header", "truncated Confluent header"},
    {"truncated-body", "truncated"},
    {"unknown-id", "HTTP 404"},
    {"wrong-schema", "truncated"},
    {"missing-ce_type", "ce_type"},
};
#define NPOISON (sizeof(g_poison_single) / sizeof(g_poison_single[0]))
static const poison_t *g_poison = g_poison_single;
static const char *g_topic; /* Confluent framing: the subject's topic */

/* A good value of the test schema in the test's framing. */
static void good_value(const char *json, evbus__buf_t *out) { cu_encode_value(g_topic, json, out); }

/* The value of each poison message; *out is reset first. */
static void poison_value(const char *kind, evbus__buf_t *out) {
    evbus__buf_reset(out);
    if (!strcmp(kind, "garbage")) {
        static const unsigned char g[] = {0x7f, 'G', 'A', 'R', 'B', 0xff, 0xfe, 0x00, 0x01};
        assert_int_equal(evbus__buf_append(out, g, sizeof(g)), 0);
    } else if (!strcmp(kind, "truncated-header")) {
        good_value("{\"id\":\"x\",\"n\":1,\"action\":\"ok\"}", out);
        out->len = cu_registry_url() ? 3 : 6; /* 0x00 and half an id; 0xC3 0x01 and half a fingerprint */
    } else if (!strcmp(kind, "truncated-body")) {
        good_value("{\"id\":\"poison-truncated-body\",\"n\":1,\"action\":\"ok\"}", out);
        out->len -= 4; /* the frame is whole, the Avro record is cut */
    } else if (!strcmp(kind, "unknown-id")) {
        good_value("{\"id\":\"x\",\"n\":1,\"action\":\"ok\"}", out);
        unsigned char *b = (unsigned char *)out->data; /* big-endian after 0x00 */
        b[1] = 0x00, b[2] = 0x0f, b[3] = 0x42, b[4] = 0x3f; /* 999999: not registered */
    } else if (!strcmp(kind, "unknown-fingerprint")) {
        cu_encode(cu_doc(), "{\"id\":\"x\",\"n\":1,\"action\":\"ok\"}", out);
        uint64_t fp = 0x0123456789abcdefULL; /* little-endian after 0xC3 0x01 */
        for (int i = 0; i < 8; i++)
            ((unsigned char *)out->data)[2 + i] = (unsigned char)(fp >> (8 * i));
    } else if (!strcmp(kind, "wrong-schema")) {
        /* written with another schema, framed as the event type's: it does not decode */
        static const char other[] = "{\"type\":\"record\",\"name\":\"Other\",\"fields\":"
                                    "[{\"name\":\"label\",\"type\":\"string\"}]}";
        char err[256];
        evbus__schema_doc_t *doc = tu_schema_parse(other);
        evbus__buf_t body = EVBUS__BUF_INIT;
        if (evbus__avro_encode_json(doc->root, "{\"label\":\"x\"}", 13, &body, err, sizeof(err)))
            fail_msg("encode: %s", err);
        if (cu_registry_url())
            assert_int_equal(evbus__framing_write_confluent(out, cu_registry_id(g_topic)), 0);
        else
            assert_int_equal(evbus__framing_write_single(out, cu_doc()->fingerprint), 0);
        assert_int_equal(evbus__buf_append(out, body.data, body.len), 0);
        evbus__buf_free(&body);
        evbus__schema_doc_destroy(doc);
    } else { /* missing-ce_type: a good value */
        good_value("{\"id\":\"poison-missing-ce_type\",\"n\":1,\"action\":\"ok\"}", out);
    }
}

static void produce_poison(rd_kafka_t *p, const char *topic, const poison_t *ps, evbus__buf_t *v) {
    char id[64];
    snprintf(id, sizeof(id), "poison-%s", ps->kind);
    poison_value(ps->kind, v);
    rd_kafka_headers_t *h;
    if (!strcmp(ps->kind, "missing-ce_type")) {
        h = rd_kafka_headers_new(4);
        assert_non_null(h);
        rd_kafka_header_add(h, "ce_id", -1, id, -1);
        rd_kafka_header_add(h, "ce_source", -1, "openedx/test/web", -1);
        rd_kafka_header_add(h, "ce_specversion", -1, "1.0", -1);
    } else {
        evbus__header_values_t hv = {.type = CU_TYPE, .id = id};
        h = evbus__headers_build(&hv, "test-host");
        assert_non_null(h);
    }
    cu_produce_raw(p, topic, 0, v->data, v->len, "\x02k", 2, h, 0);
}

typedef struct wait_s {
    evbus_consumer_t *c;
    cu_seen_t *seen;
    size_t ngood;
} wait_t;

static int finished(void *arg) {
    wait_t *w = arg;
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(w->c, &st);
    return cu_seen_n(w->seen) >= w->ngood && st.dead_lettered >= NPOISON;
}

static void test_poison(void **state) {
    (void)state;
    const char *bs = fu_bootstrap(1);
    char *topic = tu_unique_name("fk-poison"), *group = tu_unique_name("fk-pgrp");
    g_topic = topic;
    if (cu_framing_start())
        g_poison = g_poison_confluent;
    fu_create_topic(bs, topic, 1, atoi(tu_env("EVBUS_TEST_KAFKA_BROKERS")) >= 3 ? 3 : 1);

    /* good x10, poison, good x10, poison, ..., good x10 */
    rd_kafka_t *p = cu_producer(bs);
    evbus__buf_t v = EVBUS__BUF_INIT;
    int ngood = 0;
    for (size_t k = 0; k <= NPOISON; k++) {
        for (int j = 0; j < GOOD_PER_GAP; j++, ngood++)
            cu_produce_event(p, topic, 0, TAG, ngood, "ok", 0);
        if (k < NPOISON)
            produce_poison(p, topic, &g_poison[k], &v);
    }
    cu_flush(p);
    rd_kafka_destroy(p);

    cu_seen_t seen = {0};
    pthread_mutex_init(&seen.mu, NULL);
    evbus_dispatcher_t *d;
    evbus_consumer_t *c = cu_consumer(bs, group, topic, cu_record, &seen, "recorder", &d);
    cu_runner_t r;
    cu_start(&r, c);
    wait_t w = {c, &seen, (size_t)ngood};
    int done = cu_wait(finished, &w, 120000);
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &st);
    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);
    printf("faults: poison: %d good events handled %zu (calls %zu), %zu poison messages, "
           "dead-lettered %" PRIu64 ", DLQ write failures %" PRIu64 "\n",
           ngood, cu_seen_n(&seen), seen.calls, NPOISON, st.dead_lettered, st.dlq_failed);
    assert_true(done);
    assert_int_equal(cu_seen_n(&seen), (size_t)ngood);
    assert_int_equal(st.dead_lettered, NPOISON);
    assert_int_equal(st.dlq_failed, 0);
    char id[64];
    for (int i = 0; i < ngood; i++) {
        snprintf(id, sizeof(id), "ev-%s-%d", TAG, i);
        assert_true(cu_seen_has(&seen, id));
    }

    char dlq[300];
    snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
    cu_msgs_t ms = {0};
    cu_read_topic(bs, dlq, &ms, NPOISON, 60000);
    assert_int_equal(ms.n, NPOISON);
    for (size_t k = 0; k < NPOISON; k++) {
        const poison_t *ps = &g_poison[k];
        snprintf(id, sizeof(id), "poison-%s", ps->kind);
        rd_kafka_message_t *m = NULL;
        for (size_t i = 0; i < ms.n && !m; i++) {
            char *mid = cu_header(ms.m[i], "ce_id");
            if (mid && !strcmp(mid, id))
                m = ms.m[i];
            free(mid);
        }
        if (!m)
            fail_msg("%s not in %s", id, dlq);
        char *why = cu_header(m, "evbus_error"), *code = cu_header(m, "evbus_error_code"),
             *otopic = cu_header(m, "evbus_original_topic"), *ctype = cu_header(m, "ce_type");
        printf("  %-20s -> %s: evbus_error_code=%s evbus_error=\"%s\"\n", ps->kind, dlq,
               code ? code : "(none)", why ? why : "(none)");
        assert_non_null(why);
        if (!strstr(why, ps->reason))
            fail_msg("%s: evbus_error \"%s\" does not say \"%s\"", ps->kind, why, ps->reason);
        assert_non_null(otopic);
        assert_string_equal(otopic, topic);
        /* the original bytes and headers are kept */
        poison_value(ps->kind, &v);
        assert_int_equal(m->len, v.len);
        assert_memory_equal(m->payload, v.data, v.len);
        if (!strcmp(ps->kind, "missing-ce_type"))
            assert_null(ctype);
        else
            assert_non_null(ctype);
        free(why);
        free(code);
        free(otopic);
        free(ctype);
    }
    cu_msgs_free(&ms);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    evbus__buf_free(&v);
    cu_seen_free(&seen);
    pthread_mutex_destroy(&seen.mu);
    free(topic);
    free(group);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_poison)};
    return cmocka_run_group_tests(tests, NULL, cu_framing_teardown);
}
