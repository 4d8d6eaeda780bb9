/* The application owns the log (issue 15): with evbus_conf_set_log_cb, every line of the
 * producer, the consumer, its dead-letter producer and their librdkafka clients reaches the
 * callback and nothing reaches stderr; secrets appear in no line; without a callback the lines
 * go to stderr.  Also: producer metrics text, trace context on the consumed event and its
 * lifecycle events, consumer health while dead-letter writes fail. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "evbus/producer.h"

#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h */

#define API_PRODUCE 0 /* Kafka protocol ApiKey of Produce */
#define SECRET "evbus-TOPSECRET-77"
#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define TS "congo=t61rcWkgMzE"

typedef struct lines_s {
    pthread_mutex_t mu;
    size_t n, kafka, audit_produced, dlq, with_fields, secret;
} lines_t;

static void on_log(int level, const char *subsystem, const char *message,
                   const evbus_log_fields_t *f, void *opaque) {
    lines_t *l = opaque;
    pthread_mutex_lock(&l->mu);
    l->n++;
    l->kafka += !strcmp(subsystem, "kafka");
    l->audit_produced += !strcmp(subsystem, "audit") && !strcmp(message, "event produced") &&
                         f && f->ce_type && !strcmp(f->ce_type, CU_TYPE) && f->offset >= 0;
    l->dlq += !strncmp(message, "dead-letter write failed", 24) && level == EVBUS_LOG_WARNING && f &&
              f->error && f->topic && f->offset >= 0;
    l->with_fields += f != NULL;
    l->secret += strstr(message, SECRET) || (f && f->error && strstr(f->error, SECRET));
    pthread_mutex_unlock(&l->mu);
}

/* stderr into a file for the duration of a test. */
typedef struct redirect_s {
    int saved;
    char path[512];
} redirect_t;

static void redirect_start(redirect_t *r, const char *dir) {
    snprintf(r->path, sizeof(r->path), "%s/stderr", dir);
    fflush(stderr);
    r->saved = dup(2);
    int fd = open(r->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(r->saved >= 0 && fd >= 0);
    assert_true(dup2(fd, 2) == 2);
    close(fd);
}

/* Restore stderr; the size of what was written to it meanwhile. */
static long redirect_stop(redirect_t *r, char *head, size_t size) {
    fflush(stderr);
    assert_true(dup2(r->saved, 2) == 2);
    close(r->saved);
    FILE *f = fopen(r->path, "r");
    assert_non_null(f);
    size_t n = fread(head, 1, size - 1, f);
    head[n] = 0;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fclose(f);
    return len;
}

static evbus_conf_t *producer_conf(const char *bs, const char *topic) {
    char pc[512];
    snprintf(pc, sizeof(pc), "{\"%s\": [{\"topic\": \"%s\", \"event_key_field\": \"id\"}]}", CU_TYPE,
             topic);
    evbus_conf_t *conf = evbus_conf_new();
    assert_non_null(conf);
    cu_set(conf, "kafka.bootstrap.servers", bs);
    cu_set(conf, "schema.dir", tu_src_path(CU_SCHEMA_DIR));
    cu_set(conf, "producer.config", pc);
    cu_set(conf, "audit.log", "true");
    return conf;
}

typedef struct seen_trace_s {
    pthread_mutex_t mu;
    int event, lifecycle;
} seen_trace_t;

static int has_trace(const evbus_event_t *ev) {
    const char *tp = evbus_event_header(ev, "traceparent"), *ts = evbus_event_header(ev, "tracestate");
    return tp && ts && !strcmp(tp, TP) && !strcmp(ts, TS);
}

static evbus_err_t fail_with_trace(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    seen_trace_t *s = opaque;
    pthread_mutex_lock(&s->mu);
    s->event += has_trace(ev);
    pthread_mutex_unlock(&s->mu);
    snprintf(errstr, n, "always fails");
    return EVBUS_ERR_HANDLER;
}

static evbus_err_t lifecycle_trace(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)errstr; (void)n;
    seen_trace_t *s = opaque;
    pthread_mutex_lock(&s->mu);
    s->lifecycle += has_trace(ev);
    pthread_mutex_unlock(&s->mu);
    return EVBUS_OK;
}

typedef struct health_wait_s {
    evbus_consumer_t *c;
    char why[512];
} health_wait_t;

static int unhealthy(void *arg) {
    health_wait_t *h = arg;
    return evbus_consumer_health(h->c, h->why, sizeof(h->why)) == EVBUS_ERR_TRANSPORT;
}

static int queue_metric(void *arg) {
    char buf[4096];
    evbus_producer_metrics(arg, buf, sizeof(buf));
    return strstr(buf, "\nevbus_producer_queue_messages ") != NULL;
}

static void test_log_cb_owns_every_line(void **state) {
    (void)state;
    lines_t lines = {.n = 0};
    pthread_mutex_init(&lines.mu, NULL);
    seen_trace_t seen = {.event = 0};
    pthread_mutex_init(&seen.mu, NULL);
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("opslog"), *dir = tu_mkdtemp(), err[512], head[2048];
    redirect_t r;
    redirect_start(&r, dir);

    /* Producer: librdkafka debug lines (so there are librdkafka lines to route) and a SASL
     * password it must never print. */
    evbus_conf_t *pconf = producer_conf(bs, topic);
    cu_set(pconf, "kafka.debug", "conf,broker,topic,msg"); /* conf: its settings dump */
    cu_set(pconf, "kafka.sasl.password", SECRET);
    evbus_conf_set_log_cb(pconf, on_log, &lines);
    evbus_producer_t *p = evbus_producer_new(pconf, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    evbus_send_opts_t so = EVBUS_SEND_OPTS_INIT;
    so.traceparent = TP;
    so.tracestate = TS;
    for (int i = 0; i < 3; i++) {
        char json[128];
        snprintf(json, sizeof(json), "{\"id\":\"t%d\",\"n\":%d,\"action\":\"fail\"}", i, i);
        assert_int_equal(evbus_producer_send_opts(p, CU_TYPE, json, strlen(json), &so, err, sizeof(err)),
                         EVBUS_OK);
    }
    evbus_send_opts_t bad = EVBUS_SEND_OPTS_INIT;
    bad.traceparent = "00-zz";
    assert_int_equal(evbus_producer_send_opts(p, CU_TYPE, "{\"id\":\"x\",\"n\":1}", 16, &bad, err,
                                              sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_producer_flush(p, 30000), 0);
    char text[4096];
    size_t need = evbus_producer_metrics(p, text, sizeof(text));
    assert_true(need > 0 && need < sizeof(text));
    assert_non_null(strstr(text, "evbus_producer_events_total{type=\"" CU_TYPE "\",outcome=\"sent\"} 3\n"));
    assert_non_null(strstr(text, "evbus_producer_events_total{type=\"" CU_TYPE "\",outcome=\"delivered\"} 3\n"));
    assert_non_null(strstr(text, "evbus_producer_events_total{type=\"" CU_TYPE "\",outcome=\"failed\"} 0\n"));
    /* snprintf-style: a short buffer gets a truncated, terminated prefix and the full length. */
    char small[16];
    assert_int_equal(evbus_producer_metrics(p, small, sizeof(small)), need);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_true(cu_wait(queue_metric, p, 10000)); /* from the statistics, every 1 s by default */
    evbus_producer_destroy(p);

    /* Consumer: every event fails, and its dead-letter writes are refused from now on. */
    rd_kafka_resp_err_t errs[32];
    for (size_t i = 0; i < 32; i++)
        errs[i] = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
    rd_kafka_mock_push_request_errors_array(tu_mock_cluster(m), API_PRODUCE, 32, errs);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, fail_with_trace, &seen, NULL, 0, "h"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, EVBUS_LC_HANDLER_FAILED, lifecycle_trace, &seen,
                                                NULL, 0, "lc"), 0);
    evbus_conf_t *cconf = cu_conf(bs, "opslog-grp");
    cu_set(cconf, "kafka.log_level", "7"); /* cu_conf quiets librdkafka; here we want its lines */
    cu_set(cconf, "kafka.debug", "consumer,cgrp");
    cu_set(cconf, "kafka.sasl.password", SECRET);
    evbus_conf_set_log_cb(cconf, on_log, &lines);
    evbus_consumer_t *c = evbus_consumer_new(cconf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    cu_runner_t run;
    cu_start(&run, c);
    health_wait_t hw = {c, ""};
    assert_true(cu_wait(unhealthy, &hw, 60000));
    assert_non_null(strstr(hw.why, "dead-letter"));
    cu_stop(&run);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);

    long errlen = redirect_stop(&r, head, sizeof(head));
    if (errlen != 0)
        fail_msg("%ld bytes reached stderr despite the log callback: %s", errlen, head);
    assert_true(lines.kafka > 0);
    assert_int_equal(lines.audit_produced, 3);
    assert_true(lines.dlq >= 1);
    assert_int_equal(lines.secret, 0);
    assert_true(seen.event >= 1);     /* the consumed event carries the trace context ... */
    assert_true(seen.lifecycle >= 1); /* ... and so do its lifecycle events */

    tu_mock_destroy(m);
    tu_rm_rf(dir);
    free(dir);
    free(topic);
}

/* Without a callback the library's lines go to stderr, as text. */
static void test_default_is_stderr(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    char *topic = tu_unique_name("opslog2"), *dir = tu_mkdtemp(), err[512], head[4096];
    redirect_t r;
    redirect_start(&r, dir);
    evbus_producer_t *p = evbus_producer_new(producer_conf(tu_mock_bootstrap(m), topic), err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    assert_int_equal(evbus_producer_send(p, CU_TYPE, "{\"id\":\"a\",\"n\":1}", 16, err, sizeof(err)),
                     EVBUS_OK);
    assert_int_equal(evbus_producer_flush(p, 30000), 0);
    evbus_producer_destroy(p);
    redirect_stop(&r, head, sizeof(head));
    assert_non_null(strstr(head, "evbus info audit: event produced (topic="));
    assert_non_null(strstr(head, "ce_type=" CU_TYPE));
    tu_mock_destroy(m);
    tu_rm_rf(dir);
    free(dir);
    free(topic);
}

typedef struct stall_s {
    evbus_consumer_t *c;
    char why[512];
} stall_t;

static int stalled(void *arg) {
    stall_t *s = arg;
    return evbus_consumer_health(s->c, s->why, sizeof(s->why)) == EVBUS_ERR_TIMEOUT;
}

/* A consumer whose poll loop stops making progress turns unhealthy, and healthy again once it
 * polls; its metrics text has every family even before any event. */
static void test_health_poll_stall(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    char *topic = tu_unique_name("opsstall"), err[512];
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    evbus_conf_t *conf = cu_conf(tu_mock_bootstrap(m), "opsstall-grp");
    cu_set(conf, "health.poll.timeout.ms", "200"); /* default 30000: too long to wait for here */
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_consumer_poll(c, 10, NULL), EVBUS_OK);
    assert_int_equal(evbus_consumer_health(c, err, sizeof(err)), EVBUS_OK);
    assert_string_equal(err, "ok");
    stall_t s = {c, ""};
    assert_true(cu_wait(stalled, &s, 10000)); /* nobody polls */
    assert_non_null(strstr(s.why, "poll loop stalled for "));
    assert_int_equal(evbus_consumer_poll(c, 10, NULL), EVBUS_OK);
    assert_int_equal(evbus_consumer_health(c, err, sizeof(err)), EVBUS_OK);
    char text[8192];
    size_t n = evbus_consumer_metrics(c, text, sizeof(text));
    assert_true(n > 0 && n < sizeof(text));
    const char *families[] = {"evbus_consumer_events_total counter", "evbus_consumer_handler_seconds histogram",
                              "evbus_consumer_lag gauge", "evbus_consumer_partitions_assigned gauge",
                              "evbus_consumer_paused_partitions gauge", "evbus_dlq_writes_total counter"};
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        char want[128];
        snprintf(want, sizeof(want), "# TYPE %s\n", families[i]);
        if (!strstr(text, want))
            fail_msg("no \"%s\" in:\n%s", want, text);
    }
    assert_int_equal(evbus_consumer_close(c), EVBUS_OK);
    assert_int_equal(evbus_consumer_health(c, err, sizeof(err)), EVBUS_ERR_STATE);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    tu_mock_destroy(m);
    free(topic);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_log_cb_owns_every_line),
                                       cmocka_unit_test(test_default_is_stderr),
                                       cmocka_unit_test(test_health_poll_stall)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
