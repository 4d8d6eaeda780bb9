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
    int stopped;      /* atomic: a DLQ write failed or an event was abandoned: handle nothing more */
    int since_filter; /* timestamp start: skip messages older than start_ts until the first newer */
    int worker;       /* poll thread only: index of the worker handling it while assigned, or -1 */
} evbus__part_t;

/* A queued message: its event, built by the poll thread (the message is destroyed at once, so
 * librdkafka's fetch buffers are not pinned while the event waits); or, when that ran out of
 * memory, the message itself for the worker to try again. */
typedef struct evbus__qitem_s {
    evbus_event_t *ev;
    rd_kafka_message_t *rkm;
    evbus__part_t *part;
} evbus__qitem_t;

/*
 * One worker and its queue.  The poll thread stages messages in `staged` and pushes them into
 * `ring` a batch at a time (one lock, one wake-up when the worker sleeps), so the hand-off costs
 * nothing per message.  pending counts what is in the ring, staged or being handled, and is
 * bounded by the queue limit: the poll thread waits when a worker is that far behind.
 */
typedef struct evbus__worker_s {
    struct evbus_consumer_s *c;
    pthread_t thread;
    pthread_mutex_t mu;    /* ring, rhead, rcount, sleeping */
    pthread_cond_t cond;   /* work queued or stopping */
    evbus__qitem_t *ring;  /* qlimit slots */
    size_t rhead, rcount;
    int sleeping;
    size_t pending;        /* atomic: pushed and not yet finished */
    evbus__qitem_t *staged; /* poll thread only: qbatch slots */
    size_t nstaged;
    int nparts;            /* poll thread only: partitions mapped to this worker */
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

    pthread_mutex_t qmu;      /* with done_cond: waits for workers to finish batches */
    pthread_cond_t done_cond; /* a worker finished a batch while done_waiters > 0 */
    int done_waiters;         /* atomic */
    size_t queued;            /* atomic: sum of the workers' pending */
    size_t qlimit, qbatch;    /* per-worker queue bound; hand-off batch size */
    evbus__part_t *last_part; /* poll thread only: lookup cache */
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
