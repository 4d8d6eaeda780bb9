/*
 * The producer API of libevbus: publish events by type to their configured, prefixed topics.
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

/**
 * The outcome of one message: one event on one of its topics.  An event sent to n topics
 * gets n reports (ntopics says n), so a program can tell whether an event reached all of
 * its topics, some or none.  Borrowed: valid during the callback (or drain callback).
 */
typedef struct evbus_delivery_s {
    const char *event_type;
    const char *event_id;  /* ce_id */
    const char *topic;     /* full topic name */
    int32_t partition;     /* -1 when not delivered */
    int64_t offset;        /* -1 when not delivered */
    evbus_err_t err;       /* EVBUS_OK when delivered */
    const char *errstr;    /* why it failed (librdkafka's message), "" when delivered */
    /* Since 0.2 (reports are library-made, so new fields only ever go at the end). */
    void *opaque;          /* evbus_send_opts_t.opaque of the event's send (NULL if none) */
    size_t ntopics;        /* topics the send meant the event for; this report is for one.
                            * A topic refused at send time (see evbus_send_result_t) gets
                            * no report. */
    int transaction_aborted; /* 1: delivered, then its transaction was not committed; never
                              * re-sent.  err EVBUS_ERR_TRANSPORT: aborted (not visible to
                              * read_committed readers); EVBUS_ERR_TIMEOUT: the commit was
                              * never confirmed, its outcome is unknown (errstr says so) */
} evbus_delivery_t;

typedef void(evbus_delivery_cb)(const evbus_delivery_t *d, void *opaque);

/**
 * Report every message's outcome to cb.  It is called from the producer's background
 * thread (never from evbus_producer_send()), one call at a time; keep it short.
 * Without a callback, failures are counted and kept for evbus_producer_drain_failures().
 * With producer.transactional=true a message is reported only once its transaction is
 * committed (delivered) or aborted (failed, transaction_aborted=1).
 */
EVBUS_EXPORT void evbus_conf_set_delivery_cb(evbus_conf_t *conf, evbus_delivery_cb *cb,
                                             void *opaque);

/**
 * Create a producer.  Loads and validates the producer config (producer.config), the
 * schemas (schema.dir) and the topic prefix, and creates one idempotent librdkafka producer
 * (enable.idempotence=true, acks=all, linger.ms=5 unless kafka.* says otherwise).
 *
 * The environment is not read: call evbus_conf_from_env(conf) first to take the
 * EVENT_BUS_* variables (the CLI does), exactly as for evbus_consumer_new().
 *
 * With producer.transactional=true the producer uses Kafka transactions: the events sent
 * become visible to read_committed consumers together, per transaction, or not at all.
 * kafka.transactional.id defaults to "evbus-<service>-<host name>"; give each concurrently
 * running producer its own (a second one with the same id fences the first).  Transactions
 * are committed every producer.transaction.max.events events or
 * producer.transaction.interval.ms after their first event, and by evbus_producer_flush().
 *
 * With producer.spool.dir (since 0.3; a directory; README "Crash safety") the producer is crash-safe:
 * send returns EVBUS_OK only once the event's record (every framed message, key, header,
 * ce_id and ce_time) is written there, fsync'ed as producer.spool.sync says (interval, the
 * default, every producer.spool.sync.interval.ms; always, before send returns; none).  An
 * event leaves the spool when each of its topics reported it delivered; a failed message is
 * sent again from its record (no failure is reported for it), so the delivery callback sees
 * only deliveries.  A producer opened on a spool first sends what an earlier one left there,
 * in its order, with the original ids and times; sends wait (queue.full.timeout.ms) until
 * that is enqueued.  One producer per spool: NULL with errstr naming the holder's pid when
 * another holds it.  A spool of another format version, or a non-empty directory that is not
 * a spool, is an error.  Not with producer.transactional=true.
 * Creation then blocks (up to 60 s) until the transaction coordinator has registered the
 * producer, and fails when it cannot.
 *
 * @param conf owned by the producer on success (do not use or destroy it after);
 *             on failure it still belongs to the caller.
 * @returns NULL on failure, with every configuration problem in errstr, one per line.
 */
EVBUS_EXPORT evbus_producer_t *evbus_producer_new(evbus_conf_t *conf, char *errstr,
                                                  size_t errstr_size) EVBUS_WARN_UNUSED;

/**
 * Per-send options (size first since 0.2).  Grow-safe: set size to sizeof(evbus_send_opts_t) as compiled
 * (EVBUS_SEND_OPTS_INIT does); the library reads only the fields within size.  NULL
 * fields keep their defaults.  Caller-given header values are checked (a bad one is
 * EVBUS_ERR_INVALID_ARG naming the field), as Python consumers reject them.
 */
typedef struct evbus_send_opts_s {
    size_t size;              /* sizeof(evbus_send_opts_t) the caller was compiled with */
    const char *id;           /* ce_id: a UUID (default: a time-based UUID) */
    const char *time;         /* ce_time: UTC "YYYY-MM-DDThh:mm:ss[.ffffff]+00:00" (default: now) */
    const char *source;       /* ce_source (default: conf "source" or "openedx/<service>/web") */
    const char *minorversion; /* ce_minorversion: a non-negative integer (default "0") */
    /* Since 0.2. */
    void *opaque;             /* handed back in every delivery report of this event */
    const char *const *topics; /* only these of the type's enabled topics (names as in the
                                * producer config, or full names); NULL: all enabled */
    size_t ntopics;
    /* Since 0.2: W3C trace context, written as the headers "traceparent" and "tracestate"
     * (the CloudEvents distributed-tracing extension); NULL: no such header.  A malformed value
     * fails the send with EVBUS_ERR_INVALID_ARG.  Consumers read them with evbus_event_header(),
     * and the lifecycle events about the event carry them too. */
    const char *traceparent;  /* "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>" */
    const char *tracestate;   /* vendor list, e.g. "congo=t61rcWkgMzE" */
    /* Since 0.3: the two headers that are not CloudEvents attributes, for a caller that relays
     * an event's metadata (Open edX's EventsMetadata.sourcehost and .sourcelib). */
    const char *sourcehost;   /* "sourcehost" (default: this host's name); non-empty */
    const char *sourcelib;    /* "sourcelib" (default: conf "sourcelib", else evbus's version);
                               * dot-separated integers such as "10.5.0" */
} evbus_send_opts_t;

#define EVBUS_SEND_OPTS_INIT \
    {sizeof(evbus_send_opts_t), NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL}

/**
 * Since 0.2.  What one send did, per topic: a program never needs errstr to know which topics have
 * the event.  Grow-safe like evbus_send_opts_t (EVBUS_SEND_RESULT_INIT).  The arrays and
 * strings are owned by the producer and valid until the next send from the same thread
 * (or the producer's destruction).
 */
typedef struct evbus_send_result_s {
    size_t size;                  /* sizeof(evbus_send_result_t) the caller was compiled with */
    const char *event_id;         /* the event's ce_id ("" when nothing was built) */
    size_t naccepted;             /* topics (full names) that have the event enqueued */
    const char *const *accepted;
    size_t nrefused;              /* topics that were meant to get it and do not */
    const char *const *refused;
} evbus_send_result_t;

#define EVBUS_SEND_RESULT_INIT {sizeof(evbus_send_result_t), NULL, 0, NULL, 0, NULL}

/**
 * Publish one event (its data as a JSON object, json[0..len)) to every enabled topic of
 * event_type.  Thread safe: call from any number of threads.
 *
 * All or nothing: the event is validated, encoded and framed for every topic first; every
 * message is checked against kafka.message.max.bytes and every topic against the brokers
 * (a topic they do not have); then the call waits until librdkafka's queue has room for all
 * of its messages and enqueues them together, so concurrent senders cannot split an event.
 *
 * Blocks while the queue is full, up to queue.full.timeout.ms (default 60000, like Java's
 * max.block.ms); past that it returns EVBUS_ERR_QUEUE_FULL having enqueued nothing.
 * Nothing accepted before is lost: it is still delivered or reported.
 * With a spool, a full spool (producer.spool.max.bytes, default 1 GiB) waits the same way and
 * then returns EVBUS_ERR_QUEUE_FULL with nothing written; EVBUS_ERR_IO when the spool
 * cannot be written (errstr says why; nothing was accepted).
 *
 * @returns EVBUS_OK when enqueued for every enabled topic (delivery is reported later);
 *   EVBUS_ERR_UNKNOWN_TYPE (type not configured), EVBUS_ERR_KEY (key path missing or null),
 *   EVBUS_ERR_SCHEMA (data does not match the schema; errstr names the field path),
 *   EVBUS_ERR_QUEUE_FULL (no room for queue.full.timeout.ms), EVBUS_ERR_INVALID_ARG (a bad
 *   option; errstr names the field), EVBUS_ERR_REGISTRY, EVBUS_ERR_TRANSPORT (a message
 *   over message.max.bytes or a topic the brokers do not have: nothing enqueued; or
 *   librdkafka refused a message, e.g. after a fatal error: see evbus_producer_send_ex() for
 *   which topics still got the event).  A type whose topics are all disabled is OK and sends nothing.
 */
EVBUS_EXPORT evbus_err_t evbus_producer_send(evbus_producer_t *p, const char *event_type,
                                             const char *json, size_t len, char *errstr,
                                             size_t errstr_size);

/** evbus_producer_send() with options (opts may be NULL). */
EVBUS_EXPORT evbus_err_t evbus_producer_send_opts(evbus_producer_t *p, const char *event_type,
                                                  const char *json, size_t len,
                                                  const evbus_send_opts_t *opts, char *errstr,
                                                  size_t errstr_size);

/**
 * Since 0.2.  evbus_producer_send_opts() that also fills result (may be NULL) with the topics that
 * accepted the event and those that refused it.  Whatever the return value, accepted
 * lists exactly the topics whose message was enqueued (and will be reported).
 */
EVBUS_EXPORT evbus_err_t evbus_producer_send_ex(evbus_producer_t *p, const char *event_type,
                                                const char *json, size_t len,
                                                const evbus_send_opts_t *opts,
                                                evbus_send_result_t *result, char *errstr,
                                                size_t errstr_size);

/**
 * Wait up to timeout_ms for the messages sent so far to be delivered (with transactions:
 * commit the open transaction, waiting for it).  Thread safe.
 * @returns the number of events still undelivered now (an event with a message in flight, or
 *   in a transaction not yet committed, or with a spool, an event still held in it); 0 means
 *   nothing is outstanding.  Failures are not counted here: they
 *   are reported through the delivery callback or evbus_producer_drain_failures().
 */
EVBUS_EXPORT int evbus_producer_flush(evbus_producer_t *p, int timeout_ms);

/**
 * Counters since creation.  Grow-safe: set size to sizeof(evbus_producer_stats_t) as
 * compiled (EVBUS_PRODUCER_STATS_INIT); only fields within size are written.
 */
typedef struct evbus_producer_stats_s {
    size_t size;        /* sizeof(evbus_producer_stats_t) the caller was compiled with */
    uint64_t sent;      /* messages enqueued (one per event per topic) */
    uint64_t delivered; /* acknowledged by the broker (and committed, with transactions) */
    uint64_t failed;    /* reported failed (with a spool: refused attempts, each sent again) */
    uint64_t in_flight; /* sent - delivered - failed */
    /* Since 0.2. */
    uint64_t transactions_committed;
    uint64_t transactions_aborted;
} evbus_producer_stats_t;

#define EVBUS_PRODUCER_STATS_INIT {sizeof(evbus_producer_stats_t), 0, 0, 0, 0, 0, 0}

/**
 * Fill stats (fields within stats->size).  Thread safe.
 * @returns EVBUS_OK, or EVBUS_ERR_INVALID_ARG when p or stats is NULL or stats->size is
 *   smaller than the first release's struct.
 */
EVBUS_EXPORT evbus_err_t evbus_producer_stats(evbus_producer_t *p, evbus_producer_stats_t *stats);

/**
 * Since 0.2.  The producer's metrics in Prometheus' text format, for a service to serve from its own
 * endpoint: evbus_producer_events_total{type,outcome} (outcome: sent = enqueued, delivered,
 * failed; one message per event per topic) and evbus_producer_queue_messages (messages in
 * librdkafka's queues, from its statistics every metrics.interval.ms; absent before the first);
 * with a spool also evbus_producer_spool_events, evbus_producer_spool_bytes (its files) and
 * evbus_producer_spool_oldest_seconds (age of the oldest spool segment still holding an
 * undelivered event: at most one segment older than that event).
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
 * Since 0.2.  How many enabled topics event_type has in p's producer config (0 when all are disabled),
 * or -1 when the type is not configured.  Thread safe.
 */
EVBUS_EXPORT int evbus_producer_topic_count(const evbus_producer_t *p, const char *event_type);
/**
 * Since 0.2.  Full name (prefix applied) of the idx-th enabled topic of event_type, in config order; owned
 * by p and valid until evbus_producer_destroy().  NULL for an unknown type or idx out of range.
 */
EVBUS_EXPORT const char *evbus_producer_topic_name(const evbus_producer_t *p,
                                                   const char *event_type, size_t idx);

/**
 * Flush (up to 10 s) and destroy.  Messages still undelivered after that are reported as
 * failed (callback) before the producer goes away.  With a spool they are not reported: they
 * stay in the spool for the next producer on it: the flush stops early once deliveries stop
 * progressing for a second, then messages not yet sent are dropped from memory (not from the
 * spool) and those in flight get up to 10 s more to finish, so that the next producer does not
 * send them twice.  NULL is a no-op.
 */
EVBUS_EXPORT void evbus_producer_destroy(evbus_producer_t *p);

#ifdef __cplusplus
}
#endif
#endif
