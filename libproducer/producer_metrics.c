/*
 * Operating the producer: outcome counters by event type, queue depth from librdkafka's
 * statistics, audit lines, and the Prometheus text of evbus_producer_metrics().
 */
#include "producer_metrics.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "headers.h"

evbus__pmetrics_t *evbus__pmetrics_new(void) {
    evbus__pmetrics_t *m = calloc(1, sizeof(*m));
    if (m && !(m->events = evbus__mmap_new(EVBUS__PM_N))) {
        free(m);
        return NULL;
    }
    if (m)
        m->queue_msgs = -1;
    return m;
}

void evbus__pmetrics_destroy(evbus__pmetrics_t *m) {
    if (!m)
        return;
    evbus__mmap_destroy(m->events);
    free(m);
}

void evbus__pmetrics_sent(evbus__pmetrics_t *m, const char *type) {
    if (m)
        evbus__mmap_add(m->events, type, EVBUS__PM_SENT, 1);
}

static void header_copy(rd_kafka_headers_t *h, const char *name, char *out, size_t size) {
    const void *v;
    size_t len;
    out[0] = 0;
    if (h && rd_kafka_header_get_last(h, name, &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR && v) {
        if (len >= size)
            len = size - 1;
        memcpy(out, v, len);
        out[len] = 0;
    }
}

void evbus__pmetrics_delivery(evbus__pmetrics_t *m, const evbus__log_t *log,
                              const rd_kafka_message_t *rkm) {
    char type[256], id[64];
    rd_kafka_headers_t *h = NULL;
    rd_kafka_message_headers(rkm, &h);
    header_copy(h, EVBUS__H_TYPE, type, sizeof(type));
    if (m)
        evbus__mmap_add(m->events, type, rkm->err ? EVBUS__PM_FAILED : EVBUS__PM_DELIVERED, 1);
    if (!log || !log->audit)
        return;
    header_copy(h, EVBUS__H_ID, id, sizeof(id));
    evbus_log_fields_t f = EVBUS__LOG_FIELDS_INIT;
    f.topic = rd_kafka_topic_name(rkm->rkt);
    f.partition = rkm->err ? -1 : rkm->partition;
    f.offset = rkm->err ? -1 : rkm->offset;
    f.ce_type = type;
    f.ce_id = id;
    f.error = rkm->err ? rd_kafka_err2str(rkm->err) : NULL;
    evbus__log_fields(log, rkm->err ? EVBUS_LOG_WARNING : EVBUS_LOG_INFO, "audit", &f,
                      rkm->err ? "event not produced" : "event produced");
}

void evbus__pmetrics_stats(void *arg, const char *json, size_t len) {
    evbus__pmetrics_t *m = arg;
    json_t *root = json_loadb(json, len, 0, NULL);
    json_t *v = json_object_get(root, "msg_cnt");
    if (json_is_integer(v))
        __atomic_store_n(&m->queue_msgs, (int64_t)json_integer_value(v), __ATOMIC_RELAXED);
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
    int64_t q = __atomic_load_n(&m->queue_msgs, __ATOMIC_RELAXED);
    x.r |= evbus__prom_head(&b, "evbus_producer_queue_messages",
                            "Messages in librdkafka's queues (statistics).", "gauge");
    if (q >= 0)
        x.r |= evbus__buf_printf(&b, "evbus_producer_queue_messages %lld\n", (long long)q);
    size_t len = x.r ? 0 : evbus__prom_copy_out(&b, buf, size);
    evbus__buf_free(&b);
    return len;
}
