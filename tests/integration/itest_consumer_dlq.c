/* Consumer on the embedded broker, at the default settings: retries with backoff then the
 * dead-letter topic with every header; undecodable / unusable messages and a schema of another
 * type straight to the DLQ; offsets committed after.  (Independent handlers, DLQ write
 * failures and the consecutive-errors limit: itest_consumer_policy.c.) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "testutil.h"

typedef struct ctx_s {
    cu_seen_t seen;     /* every handler call, by event id */
    cu_seen_t order;    /* successful events, in handling order */
    int dead;           /* evbus.event.dead_lettered events */
    char last_dead[1024];
    int64_t bad_at[8];  /* when ev-bad-5 was tried */
    int nbad;
    pthread_mutex_t mu;
} ctx_t;

static evbus_err_t picky(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    ctx_t *c = opaque;
    cu_seen_add(&c->seen, evbus_event_id(ev));
    const char *j = evbus_event_json(ev, NULL);
    if (!j) {
        snprintf(errstr, n, "cannot decode: %s", evbus_event_error(ev));
        return EVBUS_ERR_DECODE;
    }
    if (strstr(j, "\"action\":\"fail\"")) {
        pthread_mutex_lock(&c->mu);
        if (c->nbad < 8)
            c->bad_at[c->nbad++] = tu_now_us();
        pthread_mutex_unlock(&c->mu);
        snprintf(errstr, n, "refusing event %s", evbus_event_id(ev));
        return EVBUS_ERR_HANDLER;
    }
    cu_seen_add(&c->order, evbus_event_id(ev));
    return EVBUS_OK;
}

static evbus_err_t on_dead(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)errstr; (void)n;
    ctx_t *c = opaque;
    pthread_mutex_lock(&c->mu);
    c->dead++;
    snprintf(c->last_dead, sizeof(c->last_dead), "%s", evbus_event_json(ev, NULL));
    pthread_mutex_unlock(&c->mu);
    return EVBUS_OK;
}

static rd_kafka_headers_t *hdrs(const char *type, const char *id, int dup_id) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    if (type)
        rd_kafka_header_add(h, "ce_type", -1, type, -1);
    if (id)
        rd_kafka_header_add(h, "ce_id", -1, id, -1);
    if (dup_id)
        rd_kafka_header_add(h, "ce_id", -1, "other-id", -1);
    rd_kafka_header_add(h, "x-null", -1, NULL, 0); /* must survive byte for byte (null) */
    return h;
}

static void test_retry_then_dlq(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-dlq");
    char *group = tu_unique_name("grp");
    rd_kafka_t *p = cu_producer(bs);

    /* partition 0 only, so order and offsets are known: 0..4 ok, 5 fails, 6.. unusable */
    for (int i = 0; i < 5; i++)
        cu_produce_event(p, topic, 0, "ok", i, "ok", 0);
    cu_produce_event(p, topic, 0, "bad", 5, "fail", 0);
    cu_produce_raw(p, topic, 0, "not avro at all", 15, "k6", 2, hdrs(CU_TYPE, "ev-raw-6", 0), 0);
    evbus__buf_t v = EVBUS__BUF_INIT;
    cu_encode(cu_doc(), "{\"id\":\"x\",\"n\":7}", &v);
    cu_produce_raw(p, topic, 0, v.data, v.len, NULL, 0, hdrs(NULL, "ev-notype-7", 0), 0);
    cu_produce_raw(p, topic, 0, v.data, v.len, NULL, 0, hdrs(CU_TYPE, "ev-dupid-8", 1), 0);
    evbus__buf_t u = EVBUS__BUF_INIT;
    assert_int_equal(evbus__framing_write_single(&u, 0xdeadbeefULL), 0);
    assert_int_equal(evbus__buf_append(&u, v.data + 10, v.len - 10), 0);
    cu_produce_raw(p, topic, 0, u.data, u.len, NULL, 0, hdrs(CU_TYPE, "ev-unknownfp-9", 0), 0);
    evbus__buf_t t = EVBUS__BUF_INIT;
    assert_int_equal(evbus__buf_append(&t, v.data, 11), 0); /* known fingerprint, truncated data */
    cu_produce_raw(p, topic, 0, t.data, t.len, NULL, 0, hdrs(CU_TYPE, "ev-trunc-10", 0), 0);
    /* a well-formed value whose schema is CU_TYPE's, under another ce_type */
    cu_produce_raw(p, topic, 0, v.data, v.len, NULL, 0, hdrs("org.evbus.test.other.v1", "ev-othertype-11", 0), 0);
    cu_produce_event(p, topic, 0, "ok", 12, "ok", 0);
    cu_flush(p);

    ctx_t ctx = {0};
    pthread_mutex_init(&ctx.mu, NULL);
    pthread_mutex_init(&ctx.seen.mu, NULL);
    pthread_mutex_init(&ctx.order.mu, NULL);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, picky, &ctx, NULL, 0, "picky"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, EVBUS_LC_EVENT_DEAD_LETTERED, on_dead, &ctx, NULL, 0, NULL), 0);
    char err[512];
    evbus_conf_t *conf = cu_conf(bs, group); /* retry.max 3, retry.backoff.ms 100: defaults */
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    cu_runner_t r;
    cu_start(&r, c);
    assert_true(cu_wait_stats(c, 6, 7, 0, 60000));
    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);

    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &st);
    assert_int_equal(st.handled, 6);
    assert_int_equal(st.dead_lettered, 7);
    assert_int_equal(st.retries, 3);
    assert_int_equal(st.dlq_failed, 0);
    assert_int_equal(st.transient_errors, 0);
    /* the failing event was tried 1 + retry.max times, waiting at least retry.backoff.ms
     * (100) before the first retry and twice as long before each next one */
    assert_int_equal(ctx.nbad, 4);
    for (int i = 1; i < 4; i++)
        assert_true(ctx.bad_at[i] - ctx.bad_at[i - 1] >= (100 << (i - 1)) * 1000);
    for (size_t i = 0; i < ctx.seen.n; i++) {
        if (!strcmp(ctx.seen.ids[i], "ev-bad-5"))
            assert_int_equal(ctx.seen.count[i], 4);
        if (!strcmp(ctx.seen.ids[i], "ev-trunc-10"))
            assert_int_equal(ctx.seen.count[i], 1); /* bad data: no pointless retries */
    }
    /* partition order kept */
    assert_int_equal(ctx.order.n, 6);
    assert_string_equal(ctx.order.ids[0], "ev-ok-0");
    assert_string_equal(ctx.order.ids[4], "ev-ok-4");
    assert_string_equal(ctx.order.ids[5], "ev-ok-12");
    assert_false(cu_seen_has(&ctx.seen, "ev-raw-6")); /* never reached a handler */
    assert_false(cu_seen_has(&ctx.seen, "ev-othertype-11"));
    assert_int_equal(ctx.dead, 7);

    /* the dead letters, in order, byte for byte */
    char dlq[512];
    snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
    cu_msgs_t ms = {0};
    size_t n = cu_read_topic(bs, dlq, &ms, 7, 30000);
    /* keyed, so spread over the DLQ's partitions: put them back in original-offset order */
    rd_kafka_message_t *msgs[7] = {0};
    assert_true(n <= 7);
    for (size_t i = 0; i < n; i++) {
        char *oo = cu_header(ms.m[i], "evbus_original_offset");
        assert_non_null(oo);
        long o = strtol(oo, NULL, 10);
        free(oo);
        assert_true(o >= 5 && o <= 11);
        assert_null(msgs[o - 5]);
        msgs[o - 5] = ms.m[i];
    }
    assert_int_equal(n, 7);
    const char *ids[] = {"ev-bad-5", "ev-raw-6", "ev-notype-7", "ev-dupid-8", "ev-unknownfp-9", "ev-trunc-10",
                         "ev-othertype-11"};
    const char *codes[] = {"ERR_HANDLER", "ERR_DECODE", "ERR_DECODE", "ERR_DECODE", "ERR_SCHEMA", "ERR_DECODE",
                           "ERR_SCHEMA"};
    const char *attempts[] = {"4", "0", "0", "0", "0", "1", "0"};
    for (size_t i = 0; i < n; i++) {
        char *id = cu_header(msgs[i], "ce_id");
        char *code = cu_header(msgs[i], "evbus_error_code");
        char *att = cu_header(msgs[i], "evbus_attempts");
        char *ot = cu_header(msgs[i], "evbus_original_topic");
        char *op = cu_header(msgs[i], "evbus_original_partition");
        char *oo = cu_header(msgs[i], "evbus_original_offset");
        char *er = cu_header(msgs[i], "evbus_error");
        char *hd = cu_header(msgs[i], "evbus_handler");
        assert_non_null(er);
        assert_non_null(hd);
        if (i != 2) /* the one without ce_type has the same ce_id set as produced */
            assert_string_equal(id, ids[i]);
        assert_string_equal(code, codes[i]);
        assert_string_equal(att, attempts[i]);
        assert_string_equal(ot, topic);
        assert_string_equal(op, "0");
        char off[16];
        snprintf(off, sizeof(off), "%zu", i + 5);
        assert_string_equal(oo, off);
        /* the null header is still there, still null */
        rd_kafka_headers_t *h = NULL;
        const void *hv = (void *)1;
        size_t hl = 1;
        assert_int_equal(rd_kafka_message_headers(msgs[i], &h), 0);
        if (i > 0) {
            assert_int_equal(rd_kafka_header_get_last(h, "x-null", &hv, &hl), 0);
            assert_null(hv);
        }
        if (i == 0) {
            assert_string_equal(hd, "picky");
            assert_non_null(strstr(er, "refusing event ev-bad-5"));
            /* value and key exactly as produced */
            evbus__buf_t ev = EVBUS__BUF_INIT, ek = EVBUS__BUF_INIT;
            cu_encode(cu_doc(), "{\"id\":\"ev-bad-5\",\"n\":5,\"action\":\"fail\"}", &ev);
            cu_encode(cu_key_doc(), "\"k5\"", &ek);
            assert_int_equal(msgs[i]->len, ev.len);
            assert_memory_equal(msgs[i]->payload, ev.data, ev.len);
            assert_int_equal(msgs[i]->key_len, ek.len);
            assert_memory_equal(msgs[i]->key, ek.data, ek.len);
            char *src = cu_header(msgs[i], "ce_source");
            assert_non_null(src); /* original headers kept */
            free(src);
            evbus__buf_free(&ev);
            evbus__buf_free(&ek);
        }
        if (i == 1) {
            assert_int_equal(msgs[i]->len, 15);
            assert_memory_equal(msgs[i]->payload, "not avro at all", 15);
            assert_int_equal(msgs[i]->key_len, 2);
        }
        if (i == 4)
            assert_non_null(strstr(er, "fingerprint"));
        if (i == 6)
            assert_non_null(strstr(er, "not a schema of ce_type org.evbus.test.other.v1"));
        free(id); free(code); free(att); free(ot); free(op); free(oo); free(er); free(hd);
    }
    cu_msgs_free(&ms);
    /* the last dead letter's lifecycle event: the other-type one, before any handler ran */
    assert_non_null(strstr(ctx.last_dead, "\"id\":\"ev-othertype-11\""));
    assert_non_null(strstr(ctx.last_dead, "\"error_code\":\"ERR_SCHEMA\""));
    assert_null(strstr(ctx.last_dead, "\"handler\""));

    /* everything, including the dead-lettered ones, is committed */
    assert_int_equal(cu_committed(bs, group, topic, 1), 13);

    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    evbus__buf_free(&v);
    evbus__buf_free(&u);
    evbus__buf_free(&t);
    cu_seen_free(&ctx.seen);
    cu_seen_free(&ctx.order);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_then_dlq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
