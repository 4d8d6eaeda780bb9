/*
 * The consumer API of libevbus: dispatch events to local handlers and plugins, with or without
 * Kafka.
 *
 *  - evbus_dispatcher_t routes events by type (exact, list or glob) to handlers.  It needs no
 *    broker: evbus_dispatcher_process_json() feeds it a JSON list of {type, data} events.
 *  - evbus_consumer_t is a Kafka consumer group member that feeds a dispatcher, with
 *    at-least-once delivery, retries, a dead-letter topic and per-partition ordering.
 *  - Plugins are shared objects exporting evbus_plugin_v2() or evbus_plugin_v1() (ABI below),
 *    loaded in-process or in a supervised child process ("plugin.isolate").
 *
 * Lifecycle events (EVBUS_LC_*) are published into the same dispatcher and can be subscribed
 * to like any type.  Their JSON data: {"type","id","topic","partition","offset","key"} of the
 * original event plus "handler", "duration_us", "error", "error_code", "attempts" where they
 * apply.  They carry the original event's W3C trace context headers ("traceparent",
 * "tracestate": evbus_event_header()) when it has them.  Lifecycle events never produce
 * lifecycle events, and a lifecycle handler's failure never fails the original event, with one
 * exception, the veto: a sync (not
 * EVBUS_HANDLER_ASYNC) handler subscribed to "evbus.event.received" by that exact name (not
 * by a glob such as "evbus.*") that fails stops the event before any of its handlers runs.
 * The event is then announced as evbus.event.rejected ("handler": the vetoing handler,
 * "error": its message), counted (stats "rejected"), and, in a consumer, committed unseen, or
 * written to the dead-letter topic when received.veto=dlq.  It is never retried.  Async
 * handlers of evbus.event.received only observe.
 */
#ifndef EVBUS_CONSUMER_H
#define EVBUS_CONSUMER_H

#include "evbus/evbus.h"
#include "evbus/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct evbus_consumer_s evbus_consumer_t;
typedef struct evbus_dispatcher_s evbus_dispatcher_t;

/* Lifecycle event types (EVBUS_LC_*): in evbus/plugin.h, as plugins subscribe to them. */

/**
 * A handler.  ev is borrowed for the duration of the call (all its strings too).
 * Return EVBUS_OK, or an error code (EVBUS_ERR_HANDLER when nothing fits better) and a
 * message in errstr.  Called from a consumer worker thread (sync handlers) or from the
 * dispatcher's async pool (EVBUS_HANDLER_ASYNC): a handler used by several partitions may run
 * concurrently with itself.
 */
typedef evbus_err_t (*evbus_handler_fn)(const evbus_event_t *ev, void *opaque, char *errstr,
                                        size_t errstr_size);

/** Handler flag: run on the async pool after the sync handlers succeeded; its failure is
 *  reported (lifecycle event, stats) but never fails, retries or blocks the event. */
#define EVBUS_HANDLER_ASYNC 0x1

/* ------------------------------------------------------------------------------------------
 * Dispatcher
 * ------------------------------------------------------------------------------------------ */

/** New dispatcher with no handlers.  NULL when out of memory.  Caller owns it. */
EVBUS_EXPORT evbus_dispatcher_t *evbus_dispatcher_new(void) EVBUS_WARN_UNUSED;

/**
 * Wait for queued async handlers, stop the pool, call every opaque_free and plugin fini,
 * then free d.  NULL is a no-op.  Must not race with any other call on d; destroy the
 * consumers that use d first.
 */
EVBUS_EXPORT void evbus_dispatcher_destroy(evbus_dispatcher_t *d);

/** Number of async pool threads (default 2).  Only before the first dispatch.
 *  EVBUS_ERR_INVALID_ARG (n < 1 or > 256) or EVBUS_ERR_STATE (pool already running). */
EVBUS_EXPORT evbus_err_t evbus_dispatcher_set_async_workers(evbus_dispatcher_t *d, int n);

/**
 * Register fn for events whose type matches pattern: an exact type or a glob with '*' and
 * '?' ('*' also matches '.').  Several handlers may match one type; they run in registration
 * order.  name (copied; NULL = "<pattern>") names the handler in lifecycle events, DLQ
 * headers and errors.  flags: 0 or EVBUS_HANDLER_ASYNC.
 * On success the dispatcher owns opaque and calls opaque_free(opaque) (if not NULL) when d is
 * destroyed; on failure the caller keeps it.
 * Thread safe, also from inside a handler: an event being dispatched keeps the handler list
 * it started with (a handler added meanwhile sees the next events, or the event's retry).
 * @returns EVBUS_OK, EVBUS_ERR_INVALID_ARG (NULL/empty pattern, NULL fn), EVBUS_ERR_NOMEM.
 */
EVBUS_EXPORT evbus_err_t evbus_dispatcher_subscribe(evbus_dispatcher_t *d, const char *pattern,
                                                    evbus_handler_fn fn, void *opaque,
                                                    void (*opaque_free)(void *), int flags,
                                                    const char *name);

/** Like evbus_dispatcher_subscribe() for a list of n patterns: one handler (called at most
 *  once per event), one opaque freed once.  n must be >= 1. */
EVBUS_EXPORT evbus_err_t evbus_dispatcher_subscribe_list(evbus_dispatcher_t *d,
                                                         const char *const *patterns, size_t n,
                                                         evbus_handler_fn fn, void *opaque,
                                                         void (*opaque_free)(void *), int flags,
                                                         const char *name);

/**
 * Since 0.2.  Remove every handler registered with this fn and opaque.  Thread safe, also from inside a
 * handler (its own included): calls already running finish, events being dispatched may still
 * reach it, and opaque_free(opaque) runs once the last of those calls has returned (in the
 * thread that releases it).
 * @returns EVBUS_OK, EVBUS_ERR_INVALID_ARG (no such handler), EVBUS_ERR_NOMEM (nothing removed).
 */
EVBUS_EXPORT evbus_err_t evbus_dispatcher_unsubscribe(evbus_dispatcher_t *d, evbus_handler_fn fn,
                                                      void *opaque);

/**
 * Dispatch ev (borrowed) once: emit evbus.event.received, run every matching sync handler in
 * registration order (one failing does not keep the others from the event), then queue the
 * async ones (only when every sync handler succeeded).  Does not retry.  No lock is held while
 * handlers run.  Thread safe (concurrent calls run concurrently).
 * @returns EVBUS_OK (also when no handler matched), EVBUS_ERR_REJECTED when a sync subscriber of
 *          evbus.event.received vetoed it (no handler ran; errstr "<subscriber>: <message>"), or
 *          the first failing handler's code, with "<handler>: <message>; <handler>: <message>"
 *          (each handler that failed) in errstr.
 */
EVBUS_EXPORT evbus_err_t evbus_dispatcher_dispatch(evbus_dispatcher_t *d, const evbus_event_t *ev,
                                                   char *errstr, size_t errstr_size);

/** Per-event result of evbus_dispatcher_process_json(); ev and errstr are borrowed for the call. */
typedef void (*evbus_result_cb)(size_t index, const evbus_event_t *ev, evbus_err_t err,
                                const char *errstr, void *opaque);

/**
 * Broker-less dispatch: json is a JSON array of objects {"type": T, "data": {...}} with
 * optional "id" (default: a fresh uuid1) and "key" (string).  Each element is dispatched as by
 * evbus_dispatcher_dispatch() (evbus_event_json() returns "data" as compact JSON); cb (may be
 * NULL) gets every element's result, in order, including elements that are malformed
 * (EVBUS_ERR_INVALID_ARG, ev NULL).  *nfailed (may be NULL) gets the count of failures.
 * @returns EVBUS_OK when every element succeeded, EVBUS_ERR_HANDLER when one failed, or
 *          EVBUS_ERR_INVALID_ARG + errstr when json is not an array (nothing dispatched).
 */
EVBUS_EXPORT evbus_err_t evbus_dispatcher_process_json(evbus_dispatcher_t *d, const char *json,
                                                       size_t len, evbus_result_cb cb,
                                                       void *opaque, size_t *nfailed,
                                                       char *errstr, size_t errstr_size);

/** Wait up to timeout_ms (-1: forever) for queued async handlers.  Returns how many are
 *  still queued or running (0 = idle).  Thread safe. */
EVBUS_EXPORT int evbus_dispatcher_drain(evbus_dispatcher_t *d, int timeout_ms);

/*
 * Grow-safe (since 0.2): the first member is the struct's size as the caller's program knows
 * it.  Set it with EVBUS_DISPATCHER_STATS_INIT (or to sizeof); the library writes only fields
 * within it, so a program built against an older header keeps working when fields are added.
 * Like every _INIT macro, it lists every field in order (as C++ accepts, and -Wextra's
 * missing-field-initializers).
 */
typedef struct evbus_dispatcher_stats_s {
    size_t size;             /* sizeof(evbus_dispatcher_stats_t), set by the caller */
    uint64_t dispatched;     /* events given to evbus_dispatcher_dispatch() (not lifecycle) */
    uint64_t handler_ok;     /* handler calls that succeeded */
    uint64_t handler_failed; /* handler calls that failed (sync and async) */
    uint64_t async_failed;   /* of which async */
    uint64_t async_pending;  /* queued or running now */
    /* Since 0.2. */
    uint64_t rejected;       /* events vetoed by an evbus.event.received subscriber */
} evbus_dispatcher_stats_t;
#define EVBUS_DISPATCHER_STATS_INIT {sizeof(evbus_dispatcher_stats_t), 0, 0, 0, 0, 0, 0}

/** Snapshot of d's counters into *st (st->size set by the caller).  Thread safe.  Returns
 *  evbus_err_t since 0.2.
 *  @returns EVBUS_OK, or EVBUS_ERR_INVALID_ARG for a NULL d/st or a too small st->size. */
EVBUS_EXPORT evbus_err_t evbus_dispatcher_stats(evbus_dispatcher_t *d, evbus_dispatcher_stats_t *st);

/* ------------------------------------------------------------------------------------------
 * Plugins
 * ------------------------------------------------------------------------------------------ */

/* The plugin ABI itself (descriptors, context, symbols) is in evbus/plugin.h. */

/** Load options. */
#define EVBUS_PLUGIN_LOAD_ISOLATE 0x1 /* run handle() in a supervised child process */

/**
 * Load the plugin at path (dlopen) and subscribe its handler to its subscriptions in d.
 * Checks the ABI version; a plugin whose enabled() returns 0 is not subscribed (EVBUS_OK,
 * *loaded = 0, and errstr gets "<name>: not enabled[: <reason>]").  A v2 plugin's context
 * holds no settings here (evbus_dispatcher_load_plugins() gives it some).  In-process: init()
 * runs now, fini() at evbus_dispatcher_destroy().
 * With EVBUS_PLUGIN_LOAD_ISOLATE: init/handle/fini run in a child process fed over a
 * socketpair; a crash, or a handle() running longer than timeout_ms, kills and restarts the
 * child and fails that event (EVBUS_ERR_HANDLER / EVBUS_ERR_TIMEOUT).  One child per plugin:
 * calls into it are serialised.
 * loaded may be NULL.  Not thread safe with dispatching on d.
 * @returns EVBUS_OK, EVBUS_ERR_PLUGIN + errstr (cannot open, no symbol, ABI mismatch, init failed).
 */
EVBUS_EXPORT evbus_err_t evbus_dispatcher_load_plugin(evbus_dispatcher_t *d, const char *path,
                                                      int load_flags, int timeout_ms, int *loaded,
                                                      char *errstr, size_t errstr_size);

/** Load every "*.so" in dir (sorted by name), as evbus_dispatcher_load_plugin().  Stops at the
 *  first failure.  *nloaded (may be NULL) gets how many were loaded and enabled. */
EVBUS_EXPORT evbus_err_t evbus_dispatcher_load_plugins_dir(evbus_dispatcher_t *d, const char *dir,
                                                           int load_flags, int timeout_ms,
                                                           int *nloaded, char *errstr,
                                                           size_t errstr_size);

/** Told once for each plugin whose enabled() returned 0; reason NULL when it gave none.
 *  path, name and reason are borrowed for the call.  Called on the loading thread. */
typedef void (*evbus_plugin_disabled_fn)(const char *path, const char *name, const char *reason,
                                         void *opaque);

/** Since 0.2.  Options of evbus_dispatcher_load_plugins().  Grow-safe: set size
 *  (EVBUS_PLUGIN_OPTS_INIT). */
typedef struct evbus_plugin_opts_s {
    size_t size;                       /* sizeof(evbus_plugin_opts_t) as compiled by the caller */
    int flags;                         /* EVBUS_PLUGIN_LOAD_ISOLATE */
    int timeout_ms;                    /* isolated handle() bound; <= 0: handler.timeout.ms's
                                          default */
    const evbus_conf_t *conf;          /* settings seen through evbus_plugin_ctx_get() (copied);
                                          NULL: none */
    const char *const *settings;       /* the plugins' own settings from a config file: NULL-
                                          terminated key, value, key, value... (copied); or NULL */
    const char *const *subscriptions;  /* NULL-terminated patterns replacing the plugins' own
                                          (copied); or NULL */
    evbus_plugin_disabled_fn on_disabled; /* or NULL */
    void *opaque;                      /* for on_disabled */
} evbus_plugin_opts_t;
#define EVBUS_PLUGIN_OPTS_INIT {sizeof(evbus_plugin_opts_t), 0, 0, NULL, NULL, NULL, NULL, NULL}

/**
 * Since 0.2.  Load path, a plugin (.so) or a directory of them (every "*.so", sorted by name,
 * stopping at the first failure), v2 or v1, into d as evbus_dispatcher_load_plugin() does, with opts (NULL:
 * defaults).  opts->settings apply to every plugin loaded by this call.  An isolated plugin's
 * child re-runs init() with the same context after a restart.
 * *nloaded (may be NULL) gets how many were loaded and enabled.  Not thread safe with
 * dispatching on d.
 * @returns EVBUS_OK, EVBUS_ERR_INVALID_ARG (opts->size too small, odd settings),
 *          EVBUS_ERR_PLUGIN / EVBUS_ERR_IO + errstr.
 */
EVBUS_EXPORT evbus_err_t evbus_dispatcher_load_plugins(evbus_dispatcher_t *d, const char *path,
                                                       const evbus_plugin_opts_t *opts,
                                                       int *nloaded, char *errstr,
                                                       size_t errstr_size);

/* ------------------------------------------------------------------------------------------
 * Consumer
 * ------------------------------------------------------------------------------------------ */

/**
 * New consumer group member feeding d.
 * conf (evbus names used: consumer.group (required, or kafka.group.id), topic.prefix,
 * schema.dir, schema.registry.*, workers, retry.max, retry.backoff.ms, retry.backoff.max.ms,
 * dlq.topic.suffix, plugin.isolate, handler.timeout.ms, received.veto, plugin.*, kafka.*) is
 * owned by the consumer on success and must not be used or destroyed by the caller; on failure
 * the caller keeps it.
 * d is borrowed and must outlive the consumer.
 * NULL + errstr on failure (configuration, schemas, librdkafka).
 */
EVBUS_EXPORT evbus_consumer_t *evbus_consumer_new(evbus_conf_t *conf, evbus_dispatcher_t *d,
                                                  char *errstr,
                                                  size_t errstr_size) EVBUS_WARN_UNUSED;

/** Subscribe to n topics, given without the prefix (topic.prefix is added).  Replaces any
 *  previous subscription.  Call before evbus_consumer_run()/_poll() from the same thread. */
EVBUS_EXPORT evbus_err_t evbus_consumer_subscribe(evbus_consumer_t *c, const char *const *topics,
                                                  size_t n, char *errstr, size_t errstr_size);

typedef enum evbus_start_e {
    EVBUS_START_EARLIEST = 0, /* partitions without a committed offset start at the beginning */
    EVBUS_START_LATEST = 1,   /* ... at the end: the default (consumer.start=latest), as the Python bus */
    EVBUS_START_TIMESTAMP = 2 /* each partition's first assignment starts at the first message with
                                 timestamp >= timestamp_ms, ignoring committed offsets */
} evbus_start_t;

/** Where to start; overrides consumer.start (latest|earliest, default latest) given in the conf.
 *  Call before subscribing.  EVBUS_ERR_INVALID_ARG for a bad start value. */
EVBUS_EXPORT evbus_err_t evbus_consumer_set_start(evbus_consumer_t *c, evbus_start_t start,
                                                  int64_t timestamp_ms);

/**
 * Take messages from Kafka for up to timeout_ms and queue them to the workers (started on the
 * first call).  *countp (may be NULL) gets the number of messages queued (this signature since
 * 0.2; 0.1's returned the count).  Call from one
 * thread only.
 * @returns EVBUS_OK; EVBUS_ERR_STATE after close; EVBUS_ERR_NOMEM when workers cannot start.
 */
EVBUS_EXPORT evbus_err_t evbus_consumer_poll(evbus_consumer_t *c, int timeout_ms, size_t *countp);

/**
 * Poll until evbus_consumer_stop(), then close: finish the events being handled (queued ones
 * are left for redelivery), commit, leave the group.  Returns EVBUS_OK, or the error that
 * stopped it: when consumer.max.consecutive.errors is set and that many failures in a row were
 * retried (schema registry unreachable, DLQ writes failing), the consumer stops by itself and
 * returns the last one's code (evbus_consumer_poll() returns it too), so that the program exits
 * non-zero and is restarted; the event stays uncommitted.  Blocks the calling thread.
 */
EVBUS_EXPORT evbus_err_t evbus_consumer_run(evbus_consumer_t *c);

/** Ask run() to return.  Async-signal-safe and thread safe; may be called many times. */
EVBUS_EXPORT void evbus_consumer_stop(evbus_consumer_t *c);

/** Make SIGINT and SIGTERM call evbus_consumer_stop(c) (process-wide; the last caller wins;
 *  a second signal restores the default action). */
EVBUS_EXPORT void evbus_consumer_handle_signals(evbus_consumer_t *c);

/** Graceful close as at the end of run() (idempotent); evbus_consumer_destroy() calls it. */
EVBUS_EXPORT evbus_err_t evbus_consumer_close(evbus_consumer_t *c);

/** Close if needed and free.  NULL is a no-op.  The dispatcher is not destroyed. */
EVBUS_EXPORT void evbus_consumer_destroy(evbus_consumer_t *c);

/** The dispatcher given to evbus_consumer_new() (borrowed). */
EVBUS_EXPORT evbus_dispatcher_t *evbus_consumer_dispatcher(evbus_consumer_t *c);

/** Load a plugin into the consumer's dispatcher, isolated when conf plugin.isolate=true,
 *  with handler.timeout.ms; a v2 plugin's context reads the consumer's conf.  See
 *  evbus_dispatcher_load_plugin(). */
EVBUS_EXPORT evbus_err_t evbus_consumer_load_plugin(evbus_consumer_t *c, const char *path,
                                                    char *errstr, size_t errstr_size);
EVBUS_EXPORT evbus_err_t evbus_consumer_load_plugins_dir(evbus_consumer_t *c, const char *dir,
                                                         char *errstr, size_t errstr_size);

/* Grow-safe like evbus_dispatcher_stats_t (since 0.2): set size with EVBUS_CONSUMER_STATS_INIT. */
typedef struct evbus_consumer_stats_s {
    size_t size;            /* sizeof(evbus_consumer_stats_t), set by the caller */
    uint64_t received;      /* messages taken from Kafka */
    uint64_t handled;       /* events whose sync handlers succeeded (offset stored) */
    uint64_t retries;       /* handler re-runs after a failure */
    uint64_t dead_lettered; /* events written to the dead-letter topic */
    uint64_t dlq_failed;    /* DLQ writes that failed (each is retried with backoff) */
    uint64_t queued;        /* waiting for or being handled by a worker now */
    uint64_t assigned;      /* partitions assigned now */
    /* Since 0.2. */
    uint64_t transient_errors; /* failures retried with backoff, never dead-lettered: schema
                                  registry lookups (unreachable, 5xx, timeout) and DLQ writes */
    uint64_t rejected;      /* events vetoed by an evbus.event.received subscriber (committed
                               or, with received.veto=dlq, also counted in dead_lettered) */
} evbus_consumer_stats_t;
#define EVBUS_CONSUMER_STATS_INIT {sizeof(evbus_consumer_stats_t), 0, 0, 0, 0, 0, 0, 0, 0, 0}

/** Snapshot of the consumer's counters into *st (st->size set by the caller).  Thread safe.
 *  Returns evbus_err_t since 0.2.
 *  @returns EVBUS_OK, or EVBUS_ERR_INVALID_ARG for a NULL c/st or a too small st->size. */
EVBUS_EXPORT evbus_err_t evbus_consumer_stats(evbus_consumer_t *c, evbus_consumer_stats_t *st);

/* ------------------------------------------------------------------------------------------
 * Operating (README "Operating"): metrics and health.  Since 0.2.
 * ------------------------------------------------------------------------------------------ */

/**
 * The consumer's metrics in Prometheus' text format (0.0.4), the text evbus-cli consume
 * --metrics serves at /metrics, so a service can serve it from its own endpoint:
 * evbus_consumer_events_total{type,outcome} (outcome: handled, failed (per failed attempt),
 * retried, dead_lettered, undecodable (also counted dead_lettered)),
 * evbus_consumer_handler_seconds{handler} (histogram), evbus_consumer_lag{topic,partition}
 * (high watermark minus committed offset, from librdkafka's statistics every
 * metrics.interval.ms), evbus_consumer_partitions_assigned, evbus_consumer_paused_partitions,
 * evbus_dlq_writes_total{topic,outcome} (outcome: ok, failed).
 * Like snprintf: writes at most size bytes into buf (NUL-terminated when size > 0; buf may be
 * NULL when size is 0) and returns the length of the whole text; call again with a larger
 * buffer when the result is >= size.  Thread safe.
 */
EVBUS_EXPORT size_t evbus_consumer_metrics(evbus_consumer_t *c, char *buf, size_t size);

/**
 * Health for an orchestrator (evbus-cli's /healthz).  EVBUS_OK ("ok" in errstr) while the poll
 * loop makes progress (evbus_consumer_poll() called within health.poll.timeout.ms) and no
 * partition is stopped; otherwise a one-line reason in errstr and EVBUS_ERR_TRANSPORT (the
 * last dead-letter write failed), EVBUS_ERR_STATE (a partition is stopped, or the consumer is
 * closed) or EVBUS_ERR_TIMEOUT (the poll loop stalled).  Thread safe.
 */
EVBUS_EXPORT evbus_err_t evbus_consumer_health(evbus_consumer_t *c, char *errstr,
                                               size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif
