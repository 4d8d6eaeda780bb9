/*
 * The consumer's internal state and the functions its files share:
 * consumer.c (public API) -> rebalance.c -> workers.c -> policy.c -> partitions.c, dlq.c.
 */
#ifndef EVBUS_LIBCONSUMER_CONSUMER_INT_H
#define EVBUS_LIBCONSUMER_CONSUMER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "consumer_metrics.h"
#include "dispatcher_int.h"
#include "log.h"
#include "registry.h"
#include "schema.h"

#define ADD(x) atomic_fetch_add_explicit(&(x), 1, memory_order_relaxed)
#define SUB(x) atomic_fetch_sub_explicit(&(x), 1, memory_order_relaxed)
#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define STOPPING(c) atomic_load_explicit(&(c)->stop, memory_order_acquire)

/* Per-worker queue bound (messages pushed and not yet finished) and hand-off batch size.
 * The bound also caps what the poll thread pins in librdkafka's fetch buffers. */
#define QUEUE_PER_WORKER 512
#define HANDOFF_BATCH 64

/* Per (topic, partition) state; records are never freed before the consumer. */
typedef struct evbus__part_s {
    struct evbus__part_s *next;
    char *topic;
    int32_t partition;
    atomic_int stopped; /* an event was left unsettled (stopping, revoked mid-retry, out of
                         memory): handle nothing more of this partition until it is revoked */
    atomic_int revoking; /* being revoked: retries of its events end (left uncommitted) rather
                          * than hold up the revocation (rebalance.c) */
    atomic_uint gen;     /* assignment generation, raised by each revocation: a message queued
                          * before it is not handled after it (workers.c, policy.c) */
    atomic_size_t queued; /* staged or queued for a worker and not finished by it (its offset
                           * stored): what a revocation of it waits for (workers.c) */
    int since_filter; /* timestamp start: skip messages older than start_ts until the first newer */
    int worker;       /* poll thread only: index of the worker handling it while assigned, or -1 */

    /* Backpressure (partitions.c).  inflight counts its events from the poll thread's
     * hand-off until the event is freed, async handlers included. */
    struct evbus_consumer_s *c;
    atomic_size_t inflight, inflight_hwm;
    atomic_int bp_hold; /* paused: inflight reached consumer.max.in.flight.per.partition */
    /* Under the consumer's bp_mu.  A partition is paused while any reason holds: stopped,
     * dlq_hold, bp_hold, the consumer's bp_all; resuming checks them all under that lock, so
     * a partition waiting on its dead-letter write is never resumed by backpressure. */
    int dlq_hold; /* a dead-letter write of it failed and is being retried */
    int assigned;
    int paused;   /* what librdkafka was last told */
} evbus__part_t;

/** Backpressure state of one partition, for tests (evbus__consumer_bp_state). */
typedef struct evbus__bp_state_s {
    int paused, stopped, dlq_hold, bp_hold, bp_all;
    size_t inflight, inflight_hwm;         /* the partition's */
    size_t total_inflight, total_hwm;      /* the consumer's */
} evbus__bp_state_t;

/* A queued message (rkm), which the worker makes into its event (ev, which then owns rkm:
 * evbus__event_take_message()).  Queued and in-flight messages keep their librdkafka fetch
 * buffers alive; both are bounded (QUEUE_PER_WORKER, consumer.max.in.flight). */
typedef struct evbus__qitem_s {
    evbus_event_t *ev;
    rd_kafka_message_t *rkm;
    evbus__part_t *part;
    unsigned gen; /* part->gen when it was queued */
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
    atomic_size_t pending; /* pushed and not yet finished */
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
    atomic_int dlq_stop;

    const char *prefix, *dlq_suffix; /* owned by conf */
    int retry_max;
    int veto_dlq; /* received.veto=dlq */
    int64_t backoff_ms, backoff_max_ms;
    evbus_start_t start;
    int poll_timeout_ms; /* consumer.poll.timeout.ms: one poll of evbus_consumer_run() */
    int revoke_wait_ms;  /* how long a revocation waits for the workers: half of librdkafka's
                          * max.poll.interval.ms, so the member is never thrown out for it */
    int64_t start_ts;

    pthread_mutex_t qmu;      /* with done_cond: waits for workers to finish batches */
    pthread_cond_t done_cond; /* a worker finished a batch while done_waiters > 0 */
    atomic_int done_waiters;
    atomic_size_t queued;     /* sum of the workers' pending */
    size_t qlimit, qbatch;    /* per-worker queue bound; hand-off batch size */
    evbus__part_t *last_part; /* poll thread only: lookup cache */
    int nworkers;
    evbus__worker_t *workers;
    int workers_started;

    pthread_mutex_t parts_mu;
    evbus__part_t *parts;

    /* Backpressure: consumer.max.in.flight(.per.partition), 0 = unbounded.  Reaching a bound
     * pauses the partition (or all of them); they resume at half of it.  bp_mu orders every
     * pause and resume (partitions.c); it is taken before parts_mu, never inside it. */
    pthread_mutex_t bp_mu;
    size_t max_inflight, max_inflight_part;
    atomic_size_t inflight, inflight_hwm;
    atomic_int bp_all; /* every partition paused: inflight reached max_inflight */

    atomic_int stop; /* set by evbus_consumer_stop() */
    int closed;

    _Atomic uint64_t received, handled, retries, dead_lettered, dlq_failed, assigned, rejected;
    _Atomic uint64_t transient_errors; /* registry lookups and DLQ writes failed (each retried) */

    /* consumer.max.consecutive.errors (0: unset).  consec counts transient failures since the
     * last event that was settled; reaching the limit sets fatal and stops the consumer, so
     * that the process exits non-zero and an orchestrator restarts it. */
    int64_t max_consec;
    _Atomic int64_t consec;
    atomic_int fatal; /* evbus_err_t that stopped the consumer, or 0 */

    /* Events left unsettled (stopping or revoked mid-retry) with the handlers that already
     * succeeded for them: if the partition comes back to this consumer (a revocation and a
     * new assignment), they are not run again.  Kept in memory only: across a stop, or on
     * another member, they are (at-least-once). */
    pthread_mutex_t unsettled_mu;
    struct evbus__unsettled_s *unsettled;
    /* 1 once anything was left unsettled (never cleared): until then, the per-event lookup
     * takes no lock. */
    atomic_int any_unsettled;

    evbus__log_t log;             /* operating (consumer_metrics.c): the application's log, */
    evbus__cmetrics_t *metrics;   /* outcome counters, lag and health */
};

/*
 * A worker's offsets to store, gathered over one batch and stored with a single
 * rd_kafka_offsets_store() before the batch counts as finished (so an idle consumer has stored
 * everything it handled).  Only the highest offset per partition matters.
 */
typedef struct evbus__ostore_s {
    size_t n;
    struct {
        evbus__part_t *part;
        int64_t offset;
    } e[HANDOFF_BATCH];
    uint64_t handled; /* events counted as handled once their offsets are stored */
    /* Not offsets, but per worker thread like them: the last value check that passed. */
    evbus__check_cache_t check;
} evbus__ostore_t;

/* An absolute CLOCK_REALTIME deadline ms from now, for pthread_cond_timedwait. */
static inline void evbus__deadline_in(struct timespec *ts, int ms) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* ---- partitions.c ---- */
/** The record of (topic, partition), made on first use (*created = 1); NULL when out of memory. */
evbus__part_t *evbus__part_get(evbus_consumer_t *c, const char *topic, int32_t partition, int *created);
/** Stop handling a partition until it is revoked (paused; later events stay uncommitted). */
void evbus__part_stop(evbus_consumer_t *c, evbus__part_t *p);
/** Hold p paused (on: 1) while a failed dead-letter write is retried, or let it go (0). */
void evbus__part_dlq_hold(evbus_consumer_t *c, evbus__part_t *p, int on);
/** p was assigned (1) or revoked (0): its pause state starts afresh. */
void evbus__part_assigned(evbus_consumer_t *c, evbus__part_t *p, int on);
/** Count ev (of p, not yet shared) in flight until it is freed; may pause p or all (poll thread). */
void evbus__inflight_add(evbus_consumer_t *c, evbus__part_t *p, evbus_event_t *ev);
/** A message of p counted by evbus__inflight_add() (ev NULL) left without an event. */
void evbus__inflight_done(evbus__part_t *p);
/** Attach the in-flight release to an event built later for a counted message. */
void evbus__inflight_attach(evbus__part_t *p, evbus_event_t *ev);
/** Backpressure state of (topic, partition), for tests: 0, or -1 for a partition never seen. */
int evbus__consumer_bp_state(evbus_consumer_t *c, const char *topic, int32_t partition,
                             evbus__bp_state_t *st);
int evbus__part_stopped(const evbus__part_t *p);
/** Stopped, or being revoked: an event of p waiting to be retried is left now. */
int evbus__part_leaving(const evbus__part_t *p);
/** The worker of p, mapping it to the least loaded one first (poll thread only). */
int evbus__part_worker(evbus_consumer_t *c, evbus__part_t *p);
/** Forget p's worker: nothing of it is queued (revoked). */
void evbus__part_unmap(evbus_consumer_t *c, evbus__part_t *p);
/** Remember that everything of p up to offset is settled; stored by evbus__ostore_flush(). */
void evbus__ostore_add(evbus_consumer_t *c, evbus__ostore_t *os, evbus__part_t *p, int64_t offset);
void evbus__ostore_flush(evbus_consumer_t *c, evbus__ostore_t *os);

/* ---- policy.c ---- */
/** Forget the unsettled events' records (destroy). */
void evbus__unsettled_free(evbus_consumer_t *c);
/** Settle one queued item: handle, retry, dead-letter, or leave it (stopping/stopped). */
void evbus__handle_item(evbus_consumer_t *c, evbus__ostore_t *os, evbus__qitem_t *it);

/* ---- workers.c ---- */
void evbus__item_free(evbus__qitem_t *it);
/** Start the worker threads once; EVBUS_ERR_NOMEM when a thread cannot be made. */
evbus_err_t evbus__workers_start(evbus_consumer_t *c);
/** Stop and join the workers, dropping (uncommitted) what is still queued. */
void evbus__workers_stop(evbus_consumer_t *c);
/** Take ownership of rkm and stage it for its partition's worker; 1 if staged, 0 if dropped. */
int evbus__enqueue(evbus_consumer_t *c, rd_kafka_message_t *rkm);
/** Hand what is staged to the workers (may wait for room). */
void evbus__staged_push_all(evbus_consumer_t *c);
/** Wait at most ms milliseconds until nothing of the n partitions ps (NULL: of any partition)
 * is queued or being handled (their offsets stored): 1 when so, 0 when the time ran out (poll
 * thread).  What is staged of partitions being revoked is dropped first (uncommitted). */
int evbus__wait_parts_idle_for(evbus_consumer_t *c, evbus__part_t *const *ps, int n, int ms);

/* ---- rebalance.c ---- */
void evbus__rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque);

/* ---- dlq.c ---- */
/**
 * Write ev to "<its topic><dlq.topic.suffix>" with its original value, key and headers plus the
 * evbus_* headers (run: the handlers that failed, or NULL when no handler ran), and wait for the
 * delivery report.  EVBUS_OK or EVBUS_ERR_TRANSPORT + errstr.
 */
evbus_err_t evbus__dlq_write(evbus_consumer_t *c, const evbus_event_t *ev, evbus_err_t code,
                             const char *error, const evbus__run_t *run, int attempts, char *errstr,
                             size_t errstr_size);
/** Start the DLQ producer (and its poller thread). */
evbus_err_t evbus__dlq_start(evbus_consumer_t *c, char *errstr, size_t errstr_size);
/** Flush and stop the DLQ producer. */
void evbus__dlq_stop(evbus_consumer_t *c);

#endif
