/*
 * libconsumer internals: the dispatcher's view for the consumer (resumable dispatch for
 * retries, lifecycle emission) and for plugins.
 */
#ifndef EVBUS_LIBCONSUMER_DISPATCHER_INT_H
#define EVBUS_LIBCONSUMER_DISPATCHER_INT_H

#include "evbus/consumer.h"
#include "event.h"
#include "plugin_ctx.h"

#include <jansson.h>

/** One sync handler's failure in an attempt (strings malloc'd; NULL when out of memory). */
typedef struct evbus__failure_s {
    char *handler;
    char *error;
    evbus_err_t code;
} evbus__failure_t;

/**
 * What one event's sync handlers have done over its attempts: the handlers that succeeded
 * (never run again for it) and the last attempt's failures.  Zero-initialise; the caller owns it
 * and releases it with evbus__run_clear().
 */
typedef struct evbus__run_s {
    uint64_t *done;
    size_t ndone, done_cap;
    evbus__failure_t *fail;
    size_t nfail, fail_cap;
    /* Room for the usual few handlers, so that an event costs no allocation: done and fail
     * point here until more is needed.  Hence a run is moved only with evbus__run_move(). */
    uint64_t done_inline[8];
    evbus__failure_t fail_inline[4];
} evbus__run_t;

void evbus__run_clear(evbus__run_t *r);
/** Move src into dst (dst's previous content is not freed); src is left empty. */
void evbus__run_move(evbus__run_t *dst, evbus__run_t *src);

/** The last attempt's failures as a JSON array of {handler, error, error_code} (new reference). */
json_t *evbus__run_failures_json(const evbus__run_t *run);

/**
 * One attempt at ev's sync handlers: every matching handler that has not yet succeeded for
 * this run, each whatever the others return.  attempt: 1 for the first try
 * (evbus.event.received is emitted only then).  On failure run->fail lists every handler that
 * failed and errstr gets "<handler>: <message>; ..."; the first failure's code is returned.
 * When all succeeded the async handlers are queued.
 */
evbus_err_t evbus__dispatcher_run(evbus_dispatcher_t *d, const evbus_event_t *ev, int attempt,
                                  evbus__run_t *run, char *errstr, size_t errstr_size);

/** Lifecycle fields beyond the original event's. */
typedef struct evbus__lc_info_s {
    const char *handler;   /* or NULL */
    int64_t duration_us;   /* < 0: absent */
    const char *error;     /* or NULL */
    evbus_err_t error_code;
    int attempts;          /* <= 0: absent */
    const evbus__run_t *run; /* or NULL: its failures become "failures": [{handler, error, error_code}] */
} evbus__lc_info_t;

/** Publish a lifecycle event of lc_type about ev (nothing when no handler matches lc_type). */
void evbus__dispatcher_emit(evbus_dispatcher_t *d, const char *lc_type, const evbus_event_t *ev,
                            const evbus__lc_info_t *info);

/** 1 when some handler matches type. */
int evbus__dispatcher_has(evbus_dispatcher_t *d, const char *type);

/** Handler durations by handler name (evbus_consumer_handler_seconds); owned by d. */
struct evbus__mmap_s *evbus__dispatcher_handler_hist(evbus_dispatcher_t *d);

/** Count a dispatched (non-lifecycle) event. */
void evbus__dispatcher_count_event(evbus_dispatcher_t *d);

/* ---- a loaded plugin, v1 or v2 (plugin.c) ---- */
typedef struct evbus__plugin_s evbus__plugin_t;
const char *evbus__plugin_name(const evbus__plugin_t *pl);
/** The plugin's init (v2: with its context); *state NULL when it has none. */
evbus_err_t evbus__plugin_init(evbus__plugin_t *pl, void **state, char *errstr, size_t n);
evbus_err_t evbus__plugin_call(const evbus__plugin_t *pl, void *state, const evbus_event_t *ev,
                               char *errstr, size_t n);
void evbus__plugin_fini(const evbus__plugin_t *pl, void *state);

/* ---- isolated plugin supervisor (isolate.c) ---- */
typedef struct evbus__isolate_s evbus__isolate_t;
/** pl is borrowed and must outlive iso. */
evbus__isolate_t *evbus__isolate_new(evbus__plugin_t *pl, int timeout_ms);
void evbus__isolate_destroy(evbus__isolate_t *iso);
/** Run p->handle(ev) in the child; restarts a dead child first. */
evbus_err_t evbus__isolate_handle(evbus__isolate_t *iso, const evbus_event_t *ev, char *errstr,
                                  size_t errstr_size);
/** Start the child now and wait for init's result (so load reports init failures). */
evbus_err_t evbus__isolate_start(evbus__isolate_t *iso, char *errstr, size_t errstr_size);

#endif
