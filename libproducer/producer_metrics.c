/*
 * Operating the producer: outcome counters by event type, queue depth from librdkafka's
 * statistics, audit lines, and the Prometheus text of evbus_producer_metrics().
 */
#include "producer_metrics.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>


evbus__pmetrics_t *evbus__pmetrics_new(void) {
    evbus__pmetrics_t *m = calloc(1, sizeof(*m));
    if (m && !(m->events = evbus__mmap_new(EVBUS__PM_N))) {
        free(m);
        return NULL;
    }
    if (m)
        atomic_init(&m->queue_msgs, -1);
    return m;
}

void evbus__pmetrics_destroy(evbus__pmetrics_t *m) {
    if (!m)
        return;
    evbus__mmap_destroy(m->events);
    free(m);
}

void evbus__pmetrics_sent(evbus__pmetrics_t *m, const char *type, size_t n) {
    if (m && n)
        evbus__mmap_add(m->events, type, EVBUS__PM_SENT, n);
}

void evbus__pmetrics_report(evbus__pmetrics_t *m, const evbus__log_t *log, const char *type,
                            const char *id, const char *topic, int32_t partition, int64_t offset,
                            const char *error) {
    if (m)
        evbus__mmap_add(m->events, type, error ? EVBUS__PM_FAILED : EVBUS__PM_DELIVERED, 1);
    if (!log || !log->audit)
        return;
    evbus_log_fields_t f = EVBUS__LOG_FIELDS_INIT;
    f.topic = topic;
    f.partition = error ? -1 : partition;
    f.offset = error ? -1 : offset;
    f.ce_type = type;
    f.ce_id = id;
    f.error = error;
    evbus__log_fields(log, error ? EVBUS_LOG_WARNING : EVBUS_LOG_INFO, "audit", &f,
                      error ? "event not produced" : "event produced");
}

void evbus__pmetrics_stats(void *arg, const char *json, size_t len) {
    evbus__pmetrics_t *m = arg;
    json_t *root = json_loadb(json, len, 0, NULL);
    json_t *v = json_object_get(root, "msg_cnt");
    if (json_is_integer(v))
        atomic_store_explicit(&m->queue_msgs, (int64_t)json_integer_value(v), memory_order_relaxed);
    json_decref(root);
}

typedef struct rctx_s {
    evbus__buf_t *b;
    int r;
} rctx_t;

static void render_type(void *arg, const char *key, const uint64_t *c) {
    static const char *const outcomes[] = {"sent", "delivered", "failed"};
    rctx_t *x = arg;
    for (size_t i = 0; i < EVBUS__PM_N; i++) {
        x->r |= evbus__buf_puts(x->b, "evbus_producer_events_total{type=");
        x->r |= evbus__prom_label(x->b, key);
        x->r |= evbus__buf_printf(x->b, ",outcome=\"%s\"} %llu\n", outcomes[i],
                                  (unsigned long long)c[i]);
    }
}

size_t evbus__pmetrics_render(evbus__pmetrics_t *m, char *buf, size_t size) {
    if (buf && size)
        buf[0] = 0;
    if (!m)
        return 0;
    evbus__buf_t b = EVBUS__BUF_INIT;
    rctx_t x = {&b, 0};
    x.r |= evbus__prom_head(&b, "evbus_producer_events_total",
                            "Messages (one per event per topic) by type and outcome.", "counter");
    evbus__mmap_each(m->events, render_type, &x);
    int64_t q = atomic_load_explicit(&m->queue_msgs, memory_order_relaxed);
    x.r |= evbus__prom_head(&b, "evbus_producer_queue_messages",
                            "Messages in librdkafka's queues (statistics).", "gauge");
    if (q >= 0)
        x.r |= evbus__buf_printf(&b, "evbus_producer_queue_messages %lld\n", (long long)q);
    size_t len = x.r ? 0 : evbus__prom_copy_out(&b, buf, size);
    evbus__buf_free(&b);
    return len;
}
