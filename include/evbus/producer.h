/*
 * libevbus-producer: publish events by type to their configured, prefixed topics.
 *
 * A service loads an EVENT_BUS_PRODUCER_CONFIG-style map (event type -> topics with the
 * key path of each) and calls evbus_producer_send() once per event.  The library finds
 * the enabled topics of that type, extracts the key, Avro-encodes key and value against
 * the event type's schema, adds the Open edX event bus headers and enqueues one message
 * per topic.  Nothing is ever dropped silently: every message ends in a delivery report
 * (callback or the failure list) and evbus_producer_flush() tells how many are undelivered.
 */
#ifndef EVBUS_PRODUCER_H
#define EVBUS_PRODUCER_H

#include "evbus/evbus.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct evbus_producer_s evbus_producer_t;

/** The outcome of one message (one event on one topic).  Borrowed: valid during the callback. */
typedef struct evbus_delivery_s {
    const char *event_type;
    const char *event_id;  /* ce_id */
    const char *topic;     /* full topic name */
    int32_t partition;     /* -1 when not delivered */
    int64_t offset;        /* -1 when not delivered */
    evbus_err_t err;       /* EVBUS_OK when delivered */
    const char *errstr;    /* why it failed (librdkafka's message), "" when delivered */
} evbus_delivery_t;

typedef void(evbus_delivery_cb)(const evbus_delivery_t *d, void *opaque);

/**
 * Report every message's outcome to cb.  It is called from the producer's background
 * thread (never from evbus_producer_send()), one call at a time; keep it short.
 * Without a callback, failures are counted and kept for evbus_producer_drain_failures().
 */
EVBUS_EXPORT void evbus_conf_set_delivery_cb(evbus_conf_t *conf, evbus_delivery_cb *cb,
                                             void *opaque);

/**
 * Create a producer.  Reads EVENT_BUS_* from the environment for names conf leaves unset
 * (evbus_conf_from_env), loads and validates the producer config (producer.config), the
 * schemas (schema.dir) and the topic prefix, and creates one idempotent librdkafka producer
 * (enable.idempotence=true, acks=all, linger.ms=5 unless kafka.* says otherwise).
 *
 * @param conf owned by the producer on success (do not use or destroy it after);
 *             on failure it still belongs to the caller.
 * @returns NULL on failure, with every configuration problem in errstr, one per line.
 */
EVBUS_EXPORT evbus_producer_t *evbus_producer_new(evbus_conf_t *conf, char *errstr,
                                                  size_t errstr_size) EVBUS_WARN_UNUSED;

/** Header values a caller may give instead of the generated ones; NULL fields keep defaults. */
typedef struct evbus_send_opts_s {
    const char *id;           /* ce_id (default: a time-based UUID) */
    const char *time;         /* ce_time (default: now, UTC, ISO 8601 with microseconds) */
    const char *source;       /* ce_source (default: conf "source" or "openedx/<service>/web") */
    const char *minorversion; /* ce_minorversion (default "0") */
    /* W3C trace context, written as the headers "traceparent" and "tracestate" (the
     * CloudEvents distributed-tracing extension); NULL: no such header.  A malformed value
     * fails the send with EVBUS_ERR_INVALID_ARG.  Consumers read them with evbus_event_header()
     * and lifecycle events carry them on. */
    const char *traceparent;  /* "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>" */
    const char *tracestate;   /* vendor list, e.g. "congo=t61rcWkgMzE" */
} evbus_send_opts_t;

/**
 * Publish one event (its data as a JSON object, json[0..len)) to every enabled topic of
 * event_type.  All or nothing: when the event cannot be encoded for one topic, nothing is
 * enqueued for any.  Thread safe: call from any number of threads.
 *
 * @returns EVBUS_OK when enqueued for every enabled topic (delivery is reported later);
 *   EVBUS_ERR_UNKNOWN_TYPE (type not configured), EVBUS_ERR_KEY (key path missing or null),
 *   EVBUS_ERR_SCHEMA (data does not match the schema; errstr names the field path),
 *   EVBUS_ERR_QUEUE_FULL (librdkafka's queue stayed full for queue.full.timeout.ms),
 *   EVBUS_ERR_REGISTRY, EVBUS_ERR_TRANSPORT.  A type whose topics are all disabled is OK
 *   and sends nothing.  If the queue fills between topics of one event, errstr names the
 *   topics that already have it.
 */
EVBUS_EXPORT evbus_err_t evbus_producer_send(evbus_producer_t *p, const char *event_type,
                                             const char *json, size_t len, char *errstr,
                                             size_t errstr_size);

/** evbus_producer_send() with caller-given header values (opts may be NULL). */
EVBUS_EXPORT evbus_err_t evbus_producer_send_opts(evbus_producer_t *p, const char *event_type,
                                                  const char *json, size_t len,
                                                  const evbus_send_opts_t *opts, char *errstr,
                                                  size_t errstr_size);

/**
 * Wait up to timeout_ms for outstanding messages to be delivered.
 * @returns the number of messages not delivered: still in flight, plus those that failed
 *   (0 means every message sent so far was delivered).
 */
EVBUS_EXPORT int evbus_producer_flush(evbus_producer_t *p, int timeout_ms);

typedef struct evbus_producer_stats_s {
    uint64_t sent;      /* messages enqueued (one per event per topic) */
    uint64_t delivered; /* acknowledged by the broker */
    uint64_t failed;    /* reported failed */
    uint64_t in_flight; /* sent - delivered - failed */
} evbus_producer_stats_t;

/** Counters since creation.  Thread safe. */
EVBUS_EXPORT void evbus_producer_stats(evbus_producer_t *p, evbus_producer_stats_t *stats);

/**
 * The producer's metrics in Prometheus' text format, for a service to serve from its own
 * endpoint: evbus_producer_events_total{type,outcome} (outcome: sent = enqueued, delivered,
 * failed; one message per event per topic) and evbus_producer_queue_messages (messages in
 * librdkafka's queues, from its statistics every metrics.interval.ms; absent before the first).
 * Like snprintf: at most size bytes into buf (NUL-terminated when size > 0; buf may be NULL when
 * size is 0); returns the length of the whole text.  Thread safe.
 */
EVBUS_EXPORT size_t evbus_producer_metrics(evbus_producer_t *p, char *buf, size_t size);

/**
 * Hand each kept failure (when no delivery callback is set; at most the last 10000) to cb,
 * oldest first, and forget it.  cb runs in the calling thread.  @returns how many.
 */
EVBUS_EXPORT size_t evbus_producer_drain_failures(evbus_producer_t *p, evbus_delivery_cb *cb,
                                                  void *opaque);

/**
 * Flush (up to 10 s) and destroy.  Messages still undelivered after that are reported as
 * failed (callback) before the producer goes away.  NULL is a no-op.
 */
EVBUS_EXPORT void evbus_producer_destroy(evbus_producer_t *p);

#ifdef __cplusplus
}
#endif
#endif
