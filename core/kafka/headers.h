/*
 * The CloudEvents-style message headers of the Open edX event bus (README "Wire format").
 */
#ifndef EVBUS_CORE_HEADERS_H
#define EVBUS_CORE_HEADERS_H

#include <librdkafka/rdkafka.h>

#include "common.h"

#define EVBUS__H_TYPE "ce_type"
#define EVBUS__H_ID "ce_id"
#define EVBUS__H_SOURCE "ce_source"
#define EVBUS__H_SPECVERSION "ce_specversion"
#define EVBUS__H_TIME "ce_time"
#define EVBUS__H_MINORVERSION "ce_minorversion"
#define EVBUS__H_SOURCEHOST "sourcehost"
#define EVBUS__H_SOURCELIB "sourcelib"
#define EVBUS__H_CONTENT_TYPE "content-type"
#define EVBUS__H_DATACONTENTTYPE "ce_datacontenttype"
/* W3C trace context, as the CloudEvents distributed-tracing extension carries it. */
#define EVBUS__H_TRACEPARENT "traceparent"
#define EVBUS__H_TRACESTATE "tracestate"
#define EVBUS__AVRO_CONTENT_TYPE "application/avro"

/* Lengths of the generated values, NUL included. */
#define EVBUS__UUID_LEN 37
#define EVBUS__TIME_LEN 33 /* 2024-01-02T03:04:05.123456+00:00 */

/** Time-based (version 1) UUID string, like Python's uuid.uuid1(). Thread safe. */
void evbus__uuid1(char out[EVBUS__UUID_LEN]);
/** Current UTC time as ISO 8601 with microseconds and "+00:00". */
void evbus__time_now_iso(char out[EVBUS__TIME_LEN]);

/** What the producer puts on every message; NULL fields get their defaults. */
typedef struct evbus__header_values_s {
    const char *type;         /* required */
    const char *id;           /* default: a fresh uuid1 */
    const char *source;       /* default: "openedx/<service>/web" */
    const char *time;         /* default: now */
    const char *minorversion; /* default: "0" */
    const char *sourcelib;    /* default: evbus's version */
    const char *traceparent;  /* W3C trace context: written only when not NULL */
    const char *tracestate;
} evbus__header_values_t;

/**
 * Check the caller-given values of v (NULL fields are not checked): id a UUID
 * (8-4-4-4-12 hex digits), time UTC ISO 8601 "YYYY-MM-DDThh:mm:ss[.ffffff]+00:00" (what
 * Python's datetime.isoformat() gives and its consumers parse), minorversion a decimal
 * integer, source non-empty.  EVBUS_ERR_INVALID_ARG + errstr naming the field.
 */
evbus_err_t evbus__header_values_check(const evbus__header_values_t *v, char *errstr,
                                       size_t errstr_size);

/**
 * Check W3C trace context values before they go on the wire: traceparent
 * "vv-<32 hex>-<16 hex>-<2 hex>" (lowercase; version ff and all-zero ids invalid), tracestate
 * printable ASCII of at most 512 characters.  NULL is fine (absent).  0, or -1 + errstr.
 */
int evbus__trace_check(const char *traceparent, const char *tracestate, char *errstr,
                       size_t errstr_size);

/**
 * New header list with the full set of headers.  hostname: sourcehost (gethostname() when NULL).
 * NULL when out of memory.  The caller owns the list (rd_kafka_headers_destroy, or hand it to
 * rd_kafka_producev which takes it on success).
 */
rd_kafka_headers_t *evbus__headers_build(const evbus__header_values_t *v, const char *hostname);

/**
 * The consumer's check: exactly one ce_type and one ce_id, both non-empty.
 * 0 and the values (pointing into hdrs, NOT NUL-terminated: lengths given) or -1 + errstr.
 */
int evbus__headers_check(const rd_kafka_headers_t *hdrs, const char **type, size_t *type_len,
                         const char **id, size_t *id_len, char *errstr, size_t errstr_size);

#endif
