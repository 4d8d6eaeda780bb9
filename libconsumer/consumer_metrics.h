/*
 * The consumer's operating state: per-type outcome counters, dead-letter writes, the lag table
 * fed by librdkafka's statistics, and what /healthz needs (poll progress, failing DLQ writes).
 */
#ifndef EVBUS_LIBCONSUMER_CONSUMER_METRICS_H
#define EVBUS_LIBCONSUMER_CONSUMER_METRICS_H

#include <pthread.h>
#include <stdatomic.h>

#include "metrics.h"

typedef enum {
    EVBUS__OUT_HANDLED,       /* every sync handler succeeded */
    EVBUS__OUT_FAILED,        /* a handling attempt failed (counted per attempt) */
    EVBUS__OUT_RETRIED,       /* a handler re-run after a failure */
    EVBUS__OUT_DEAD_LETTERED, /* written to the dead-letter topic */
    EVBUS__OUT_UNDECODABLE,   /* unusable headers or value (also dead-lettered) */
    EVBUS__OUT_N
} evbus__outcome_t;

typedef struct evbus__lag_s {
    char *topic;
    int32_t partition;
    int64_t lag;
} evbus__lag_t;

typedef struct evbus__cmetrics_s {
    evbus__mmap_t *events; /* ce_type -> EVBUS__OUT_N counters */
    evbus__mmap_t *dlq;    /* dead-letter topic -> [ok, failed] */
    pthread_mutex_t mu;    /* lag, dlq_error */
    evbus__lag_t *lag;
    size_t nlag;
    _Atomic int64_t last_poll_us;
    int dlq_failing;      /* under mu: the last dead-letter write failed */
    char dlq_error[256];
} evbus__cmetrics_t;

evbus__cmetrics_t *evbus__cmetrics_new(void);
void evbus__cmetrics_destroy(evbus__cmetrics_t *m);
void evbus__cmetrics_event(evbus__cmetrics_t *m, const char *type, evbus__outcome_t o);
void evbus__cmetrics_dlq(evbus__cmetrics_t *m, const char *dlq_topic, int ok, const char *error);
void evbus__cmetrics_polled(evbus__cmetrics_t *m);
/** librdkafka statistics of the group member (an evbus__stats_fn). */
void evbus__cmetrics_stats(void *m, const char *json, size_t len);

#endif
