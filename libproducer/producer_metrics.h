/*
 * The producer's operating state: per-type sent/delivered/failed counters, the queue depth
 * from librdkafka's statistics, and the audit line per produced event.
 */
#ifndef EVBUS_LIBPRODUCER_PRODUCER_METRICS_H
#define EVBUS_LIBPRODUCER_PRODUCER_METRICS_H

#include <stdatomic.h>

#include <librdkafka/rdkafka.h>

#include "log.h"
#include "metrics.h"

enum { EVBUS__PM_SENT, EVBUS__PM_DELIVERED, EVBUS__PM_FAILED, EVBUS__PM_N };

typedef struct evbus__pmetrics_s {
    evbus__mmap_t *events; /* ce_type -> EVBUS__PM_N counters */
    _Atomic int64_t queue_msgs; /* msg_cnt of the last statistics, -1 before any */
} evbus__pmetrics_t;

evbus__pmetrics_t *evbus__pmetrics_new(void);
void evbus__pmetrics_destroy(evbus__pmetrics_t *m);
/** n messages of one event of type enqueued. */
void evbus__pmetrics_sent(evbus__pmetrics_t *m, const char *type, size_t n);
/** One message's outcome: count it, and write the audit line when audit.log is on.
 *  error: NULL when delivered. */
void evbus__pmetrics_report(evbus__pmetrics_t *m, const evbus__log_t *log, const char *type,
                            const char *id, const char *topic, int32_t partition, int64_t offset,
                            const char *error);
/** librdkafka statistics of the producer (an evbus__stats_fn). */
void evbus__pmetrics_stats(void *m, const char *json, size_t len);
/** evbus_producer_metrics()'s text for m. */
size_t evbus__pmetrics_render(evbus__pmetrics_t *m, char *buf, size_t size);

#endif
