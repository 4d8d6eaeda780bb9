/*
 * Internal side of the application-owned log (evbus_conf_set_log_cb): the sink a producer or
 * consumer copies from its conf at creation, the line formats (text and JSON lines) and the
 * helpers library code logs through.  No library code writes to stderr except through here.
 */
#ifndef EVBUS_CORE_LOG_H
#define EVBUS_CORE_LOG_H

#include "common.h"

/** One owner's sink, copied from its conf; lives as long as the owner. */
typedef struct evbus__log_s {
    evbus_log_cb *cb; /* NULL: the default, text lines on stderr */
    void *opaque;
    int audit;        /* audit.log=true: one line per produced and per handled event */
} evbus__log_t;

/** Fill l from conf (the "log" callback slot and audit.log). */
void evbus__log_init(evbus__log_t *l, const evbus_conf_t *conf);

/** Log one line (l NULL: the default sink).  subsystem: "consumer", "producer", "dlq", "kafka". */
void evbus__log(const evbus__log_t *l, int level, const char *subsystem, const char *fmt, ...)
    EVBUS__PRINTF(4, 5);

/** Log one line about ev (its topic, partition, offset, ce_type and ce_id become fields),
 *  with handler/attempt/error when known (NULL / 0). */
void evbus__log_event(const evbus__log_t *l, int level, const char *subsystem,
                      const evbus_event_t *ev, const char *handler, int attempt,
                      const char *error, const char *fmt, ...) EVBUS__PRINTF(8, 9);

/** Log one line with caller-built fields (may be NULL). */
void evbus__log_fields(const evbus__log_t *l, int level, const char *subsystem,
                       const evbus_log_fields_t *f, const char *msg);

/** Fields with nothing known: partition/offset -1, attempt 0, strings NULL. */
#define EVBUS__LOG_FIELDS_INIT {sizeof(evbus_log_fields_t), NULL, -1, -1, NULL, NULL, NULL, 0, NULL}

/**
 * Format one line without its newline: text ("evbus <level> <subsystem>: msg (topic t [p] @o,
 * ...)") or, json != 0, one JSON object {"time","level","subsystem","message",...fields}.
 * Secrets never reach a log line: callers log no configuration values.  0, or -1 when out of memory.
 */
int evbus__log_format(evbus__buf_t *b, int json, int level, const char *subsystem,
                      const char *msg, const evbus_log_fields_t *f);

/** "error", "warning", ... for a syslog level. */
const char *evbus__log_level_name(int level);

#endif
