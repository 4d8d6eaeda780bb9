/* A consumed event keeps every header of its message, in order, byte for byte, however many
 * there are (the consumer reads them into a stack array of 32 and grows past it). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define NEXTRA 70

typedef struct seen_s {
    pthread_mutex_t mu;
    int calls;
    size_t count;
    int ok; /* every header as produced */
} seen_t;

static evbus_err_t check(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)errstr; (void)n;
    seen_t *s = opaque;
    size_t count = evbus_event_header_count(ev);
    int ok = count == NEXTRA + 3;
    const char *name, *value;
    size_t len;
    ok = ok && evbus_event_header_at(ev, 0, &name, &value, &len) == EVBUS_OK && !strcmp(name, "ce_type");
    ok = ok && evbus_event_header_at(ev, 1, &name, &value, &len) == EVBUS_OK && !strcmp(name, "ce_id") &&
         !strcmp(value, "ev-many-1");
    for (int i = 0; ok && i < NEXTRA; i++) {
        char want_name[32], want_value[32];
        snprintf(want_name, sizeof(want_name), "x-h%d", i);
        snprintf(want_value, sizeof(want_value), "value %d", i);
        ok = evbus_event_header_at(ev, (size_t)i + 2, &name, &value, &len) == EVBUS_OK &&
             !strcmp(name, want_name) && len == strlen(want_value) && !strcmp(value, want_value);
    }
    ok = ok && evbus_event_header_at(ev, NEXTRA + 2, &name, &value, &len) == EVBUS_OK &&
         !strcmp(name, "x-null") && value == NULL && len == 0;
    ok = ok && evbus_event_header(ev, "x-h69") && !strcmp(evbus_event_header(ev, "x-h69"), "value 69");
    ok = ok && evbus_event_json(ev, NULL) != NULL;
    pthread_mutex_lock(&s->mu);
    s->calls++;
    s->count = count;
    s->ok = ok;
    pthread_mutex_unlock(&s->mu);
    return EVBUS_OK;
}

static int one_call(void *arg) {
    seen_t *s = arg;
    pthread_mutex_lock(&s->mu);
    int c = s->calls;
    pthread_mutex_unlock(&s->mu);
    return c >= 1;
}

static void test_many_headers(void **state) {
    (void)state;
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("itc-hdrs"), *group = tu_unique_name("grp");
    rd_kafka_t *p = cu_producer(bs);
    evbus__buf_t v = EVBUS__BUF_INIT;
    cu_encode(cu_doc(), "{\"id\":\"ev-many-1\",\"n\":1}", &v);
    rd_kafka_headers_t *h = rd_kafka_headers_new(NEXTRA + 3);
    rd_kafka_header_add(h, "ce_type", -1, CU_TYPE, -1);
    rd_kafka_header_add(h, "ce_id", -1, "ev-many-1", -1);
    for (int i = 0; i < NEXTRA; i++) {
        char name[32], value[32];
        snprintf(name, sizeof(name), "x-h%d", i);
        snprintf(value, sizeof(value), "value %d", i);
        rd_kafka_header_add(h, name, -1, value, -1);
    }
    rd_kafka_header_add(h, "x-null", -1, NULL, 0);
    cu_produce_raw(p, topic, 0, v.data, v.len, NULL, 0, h, 0);
    cu_flush(p);
    evbus__buf_free(&v);

    seen_t s = {.ok = 0};
    pthread_mutex_init(&s.mu, NULL);
    evbus_dispatcher_t *d = NULL;
    evbus_consumer_t *c = cu_consumer(bs, group, topic, check, &s, "check", &d);
    cu_runner_t r;
    cu_start(&r, c);
    assert_true(cu_wait(one_call, &s, 60000));
    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);
    assert_int_equal(s.count, NEXTRA + 3);
    assert_true(s.ok);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    pthread_mutex_destroy(&s.mu);
    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    free(topic);
    free(group);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
