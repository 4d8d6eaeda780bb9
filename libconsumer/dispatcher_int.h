/*
 * libconsumer internals: the dispatcher's view for the consumer (resumable dispatch for
 * retries, lifecycle emission) and for plugins.
 */
#ifndef EVBUS_LIBCONSUMER_DISPATCHER_INT_H
#define EVBUS_LIBCONSUMER_DISPATCHER_INT_H

#include "evbus/consumer.h"
#include "event.h"

/**
 * One attempt at ev's sync handlers, starting at handler index *next (0 the first time).
 * attempt: 1 for the first try (evbus.event.received is emitted only then).  On failure *next
 * is left at the failing handler so a retry resumes there, *handler gets its name (owned by
 * d) and errstr the message; on success the async handlers are queued.
 */
evbus_err_t evbus__dispatcher_run(evbus_dispatcher_t *d, const evbus_event_t *ev, int attempt,
                                  size_t *next, const char **handler, char *errstr,
                                  size_t errstr_size);

/** Lifecycle fields beyond the original event's. */
typedef struct evbus__lc_info_s {
    const char *handler;   /* or NULL */
    int64_t duration_us;   /* < 0: absent */
    const char *error;     /* or NULL */
    evbus_err_t error_code;
    int attempts;          /* <= 0: absent */
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

/* ---- isolated plugin supervisor (isolate.c) ---- */
typedef struct evbus__isolate_s evbus__isolate_t;
evbus__isolate_t *evbus__isolate_new(const evbus_plugin_t *p, int timeout_ms);
void evbus__isolate_destroy(evbus__isolate_t *iso);
/** Run p->handle(ev) in the child; restarts a dead child first. */
evbus_err_t evbus__isolate_handle(evbus__isolate_t *iso, const evbus_event_t *ev, char *errstr,
                                  size_t errstr_size);
/** Start the child now and wait for init's result (so load reports init failures). */
evbus_err_t evbus__isolate_start(evbus__isolate_t *iso, char *errstr, size_t errstr_size);

#endif
