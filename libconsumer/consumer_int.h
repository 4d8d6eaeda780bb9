/*
 * The consumer's internal state, shared by consumer.c (Kafka, workers, rebalance) and
 * dlq.c (dead-letter writes).
 */
#ifndef EVBUS_LIBCONSUMER_CONSUMER_INT_H
#define EVBUS_LIBCONSUMER_CONSUMER_INT_H

#include <pthread.h>

#include <librdkafka/rdkafka.h>

#include "dispatcher_int.h"
#include "registry.h"
#include "schema.h"

/* Per (topic, partition) state; records are never freed before the consumer. */
typedef struct evbus__part_s {
    struct evbus__part_s *next;
    char *topic;
    int32_t partition;
    int stopped;      /* a DLQ write failed or an event was abandoned: handle nothing more */
    int since_filter; /* timestamp start: skip messages older than start_ts until the first newer */
} evbus__part_t;

typedef struct evbus__qnode_s {
    struct evbus__qnode_s *next;
    rd_kafka_message_t *rkm;
    evbus__part_t *part;
} evbus__qnode_t;

typedef struct evbus__worker_s {
    struct evbus_consumer_s *c;
    pthread_t thread;
    pthread_cond_t cond;
    evbus__qnode_t *head, *tail;
} evbus__worker_t;

struct evbus_consumer_s {
    evbus_conf_t *conf;
    evbus_dispatcher_t *d;
    evbus__schema_store_t *store;
    evbus__registry_t *reg;
    rd_kafka_t *rk;  /* the group member */
    rd_kafka_t *dlq; /* dead-letter producer */
    pthread_t dlq_poller;
    int dlq_poller_started;
    int dlq_stop; /* atomic */

    const char *prefix, *dlq_suffix; /* owned by conf */
    int retry_max;
    int64_t backoff_ms, backoff_max_ms;
    evbus_start_t start;
    int64_t start_ts;

    pthread_mutex_t qmu; /* worker queues, queued */
    pthread_cond_t idle_cond;
    size_t queued;
    int nworkers;
    evbus__worker_t *workers;
    int workers_started;

    pthread_mutex_t parts_mu;
    evbus__part_t *parts;

    int stop; /* atomic: set by evbus_consumer_stop() */
    int closed;

    uint64_t received, handled, retries, dead_lettered, dlq_failed, assigned; /* atomics */
};

/**
 * Write ev to "<its topic><dlq.topic.suffix>" with its original value, key and headers plus the
 * evbus_* headers, and wait for the delivery report.  EVBUS_OK or EVBUS_ERR_TRANSPORT + errstr.
 */
evbus_err_t evbus__dlq_write(evbus_consumer_t *c, const evbus_event_t *ev, evbus_err_t code,
                             const char *error, const char *handler, int attempts, char *errstr,
                             size_t errstr_size);
/** Start the DLQ producer (and its poller thread). */
evbus_err_t evbus__dlq_start(evbus_consumer_t *c, char *errstr, size_t errstr_size);
/** Flush and stop the DLQ producer. */
void evbus__dlq_stop(evbus_consumer_t *c);

#endif
