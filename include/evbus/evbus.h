/*
 * evbus - a Kafka event bus toolkit, wire-compatible with the Open edX event bus.
 *
 * This header holds what the producer API (producer.h) and the consumer API (consumer.h) of
 * libevbus share: version, the error enum, the configuration object and the event accessors.
 *
 * Conventions (as in librdkafka and jansson):
 *  - Every fallible call returns evbus_err_t (EVBUS_OK == 0) or NULL and, where
 *    the reason is richer than the code, writes a NUL-terminated message into
 *    the caller's `errstr` buffer of `errstr_size` bytes (errstr may be NULL).
 *  - Objects are opaque and created by *_new(), released by *_destroy();
 *    *_destroy(NULL) is a no-op.
 *  - Strings returned as `const char *` are borrowed: their lifetime is stated
 *    on each function.
 */
#ifndef EVBUS_H
#define EVBUS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EVBUS_STATIC)
#define EVBUS_EXPORT
#elif defined(__GNUC__)
#define EVBUS_EXPORT __attribute__((visibility("default")))
#else
#define EVBUS_EXPORT
#endif

#if defined(__GNUC__)
#define EVBUS_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define EVBUS_WARN_UNUSED
#endif

/*
 * Version of this release: 0.3.0, the third (0.1.0 and 0.2.0 came before).  CMake reads these
 * macros: the package version, the library's file name (libevbus.so.0.3.0) and its SONAME
 * come from them, and tests/integration/itest_headers.sh checks that all of these agree.
 *  - SONAME libevbus.so.<MAJOR>, so libevbus.so.0 and the Debian package libevbus0: releases
 *    with the same major number only add to the ABI (new calls, new fields at the end of
 *    structs that start with their size), so a program built against 0.2 runs on 0.3.
 *    (0.2 did change 0.1's ABI under the same SONAME: evbus_send_opts_t and the stats structs
 *    gained their size member, evbus_consumer_poll() its count and the stats calls a return
 *    value; programs built against 0.1 must be rebuilt.)
 *  - Every exported symbol has the version node EVBUS_1.0: the first symbol version of
 *    libevbus.so.0.  It is named so since 0.2 and stays so: programs linked against 0.2 ask for
 *    it by name, and renaming it would break them as a SONAME change does.  A new node would
 *    come with the next SONAME.
 *  - "Since 0.2" / "Since 0.3" on a declaration or field says which release added it; one
 *    without a note is from 0.1.
 */
#define EVBUS_VERSION_MAJOR 0
#define EVBUS_VERSION_MINOR 3
#define EVBUS_VERSION_PATCH 0
#define EVBUS_VERSION_STR "0.3.0"
/** 0xMMmmpp: compare at compile time; use evbus_version() at run time. */
#define EVBUS_VERSION_HEX \
    ((EVBUS_VERSION_MAJOR << 16) | (EVBUS_VERSION_MINOR << 8) | EVBUS_VERSION_PATCH)

/** Runtime version as EVBUS_VERSION_HEX of the linked library. */
EVBUS_EXPORT int evbus_version(void);
/** Runtime version string "X.Y.Z"; static storage. */
EVBUS_EXPORT const char *evbus_version_str(void);

/*
 * Errors.  One X-macro holds code, name and message so they cannot drift.
 */
#define EVBUS_ERRNO_MAP(XX)                                                        \
    XX(OK, 0, "Success")                                                           \
    XX(ERR_CONFIG, -1, "Invalid configuration")                                    \
    XX(ERR_SCHEMA, -2, "Schema error or event does not match its schema")          \
    XX(ERR_KEY, -3, "Event key missing or null")                                   \
    XX(ERR_UNKNOWN_TYPE, -4, "Event type not configured")                          \
    XX(ERR_ENCODE, -5, "Could not encode event")                                   \
    XX(ERR_DECODE, -6, "Could not decode message")                                 \
    XX(ERR_HANDLER, -7, "Handler failed")                                          \
    XX(ERR_TRANSPORT, -8, "Kafka transport error")                                 \
    XX(ERR_TIMEOUT, -9, "Timed out")                                               \
    XX(ERR_QUEUE_FULL, -10, "Local queue full")                                    \
    XX(ERR_NOMEM, -11, "Out of memory")                                            \
    XX(ERR_INVALID_ARG, -12, "Invalid argument")                                   \
    XX(ERR_IO, -13, "I/O error")                                                   \
    XX(ERR_REGISTRY, -14, "Schema registry error")                                 \
    XX(ERR_PLUGIN, -15, "Plugin could not be loaded")                              \
    XX(ERR_STATE, -16, "Operation not valid in this state")                        \
    XX(ERR_REJECTED, -17, "Event rejected by a received-event subscriber") /* Since 0.2 */

typedef enum evbus_err_e {
#define EVBUS__ERR_ENUM(name, code, msg) EVBUS_##name = code,
    EVBUS_ERRNO_MAP(EVBUS__ERR_ENUM)
#undef EVBUS__ERR_ENUM
    EVBUS_ERR__END = -18 /* one past the last code; not an error */
} evbus_err_t;

/** Human-readable message for err; never NULL (unknown codes get a generic text). Static storage. */
EVBUS_EXPORT const char *evbus_strerror(evbus_err_t err);
/** The enum name without its prefix, e.g. "ERR_KEY"; never NULL. Static storage. */
EVBUS_EXPORT const char *evbus_err_name(evbus_err_t err);

/*
 * Configuration: string name/value pairs, validated at set time.  docs/CONFIGURATION.md lists
 * every name with its type, range, default and environment variable (generated from the
 * library's table).
 *
 * evbus names: producer.config (JSON text or file path), topic.prefix, schema.dir,
 * schema.registry.url, schema.registry.api.key, schema.registry.api.secret,
 * source (ce_source), service (used in the default ce_source), consumer.group,
 * dlq.topic.suffix, retry.max, retry.backoff.ms, queue.full.timeout.ms,
 * handler.timeout.ms, plugin.isolate, workers, sasl.username, sasl.password,
 * received.veto (commit|dlq), plugin.<plugin name>.<key> (a plugin's own setting, any string),
 * audit.log (true: one log line per produced and per handled event), metrics.interval.ms
 * (librdkafka statistics period feeding lag and queue metrics; 0 turns them off),
 * health.poll.timeout.ms (a consumer whose poll loop stalls this long is unhealthy).
 * "kafka.<name>" passes <name> to librdkafka unchanged (checked by librdkafka).
 */
typedef struct evbus_conf_s evbus_conf_t;

typedef enum evbus_conf_res_e {
    EVBUS_CONF_UNKNOWN = -2, /* no such name */
    EVBUS_CONF_INVALID = -1, /* bad value; errstr says why */
    EVBUS_CONF_OK = 0
} evbus_conf_res_t;

/** New empty configuration. Returns NULL only when out of memory. Caller owns it. */
EVBUS_EXPORT evbus_conf_t *evbus_conf_new(void) EVBUS_WARN_UNUSED;

/** Copy of conf (NULL when out of memory); the caller owns the copy. */
EVBUS_EXPORT evbus_conf_t *evbus_conf_dup(const evbus_conf_t *conf) EVBUS_WARN_UNUSED;

/**
 * Set name to value (both copied).  Not thread safe with other calls on the same conf.
 * @returns EVBUS_CONF_OK, EVBUS_CONF_INVALID (errstr says why) or EVBUS_CONF_UNKNOWN.
 */
EVBUS_EXPORT evbus_conf_res_t evbus_conf_set(evbus_conf_t *conf, const char *name,
                                             const char *value, char *errstr,
                                             size_t errstr_size);

/**
 * Value of name, or NULL when unset.  The pointer is owned by conf and lives until
 * the next evbus_conf_set() of that name or evbus_conf_destroy().
 */
EVBUS_EXPORT const char *evbus_conf_get(const evbus_conf_t *conf, const char *name);

/**
 * Fill conf from the EVENT_BUS_* environment variables (EVENT_BUS_PRODUCER_CONFIG,
 * EVENT_BUS_TOPIC_PREFIX, EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS, EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL,
 * ..._API_KEY/_API_SECRET, EVENT_BUS_KAFKA_API_KEY/_API_SECRET, EVENT_BUS_SCHEMA_DIR).
 * A name already set on conf is kept: explicit settings beat the environment.
 */
EVBUS_EXPORT evbus_err_t evbus_conf_from_env(evbus_conf_t *conf, char *errstr,
                                            size_t errstr_size);

/**
 * Since 0.3.  Register the Avro schema of one event type from its text (schema_json[0..len), JSON; copied),
 * as a service that carries its own schemas does (Open edX: AvroSignalSerializer(signal)
 * .schema_string() of the openedx-events version it runs).  The schema's top-level record's
 * namespace is the event type.  For that type it takes precedence over schema.dir, in the
 * producer (the schema written and its key field) and in the consumer (the reader schema every
 * writer schema is resolved into); the file's schema of that type, if any, stays known as an
 * earlier version.  Registering a type again replaces the earlier text (the last one wins).
 * When schemas are registered and schema.dir is not set, a missing default schema directory
 * is not an error: the registered schemas are then the only ones.
 * Kept by evbus_conf_dup().  Not thread safe with other calls on the same conf.
 * @returns EVBUS_OK; EVBUS_ERR_SCHEMA (errstr says what is wrong: not JSON, not valid Avro,
 *   not a record with a namespace); EVBUS_ERR_INVALID_ARG (conf or schema_json NULL);
 *   EVBUS_ERR_NOMEM.
 */
EVBUS_EXPORT evbus_err_t evbus_conf_add_schema(evbus_conf_t *conf, const char *schema_json,
                                              size_t len, char *errstr, size_t errstr_size);

/**
 * Since 0.3.  The integer value of the evbus setting name: its value on conf, else its documented default.
 * Thread safe with other readers of conf.
 * @returns EVBUS_OK and *valuep, or EVBUS_ERR_INVALID_ARG when name has no integer value
 *          (unknown, unset without a default, or a value that is not an integer).
 */
EVBUS_EXPORT evbus_err_t evbus_conf_get_int(const evbus_conf_t *conf, const char *name,
                                            int64_t *valuep);
/** Since 0.3.  As evbus_conf_get_int() for a boolean setting ("true"/"false"/"1"/"0"): *valuep 1 or 0. */
EVBUS_EXPORT evbus_err_t evbus_conf_get_bool(const evbus_conf_t *conf, const char *name,
                                             int *valuep);
/**
 * Since 0.3.  The framing a producer made from conf writes: "confluent" or "single-object" (wire.format,
 * where auto means confluent when schema.registry.url is set).  Static storage; never NULL.
 * Thread safe with other readers of conf.
 */
EVBUS_EXPORT const char *evbus_conf_wire_format(const evbus_conf_t *conf);

/** Release conf; NULL is a no-op. */
EVBUS_EXPORT void evbus_conf_destroy(evbus_conf_t *conf);

/*
 * Logging the application owns.  Levels are syslog's, as librdkafka's.  Since 0.2.
 */
#define EVBUS_LOG_ERR 3
#define EVBUS_LOG_WARNING 4
#define EVBUS_LOG_NOTICE 5
#define EVBUS_LOG_INFO 6
#define EVBUS_LOG_DEBUG 7

/**
 * What a log line is about, when it is about one event (grow-safe: size first, fields past
 * the caller's size are not read).  Strings are borrowed for the call and may be NULL
 * (unknown); partition and offset are -1 and attempt 0 when unknown.
 */
typedef struct evbus_log_fields_s {
    size_t size;         /* sizeof(evbus_log_fields_t) as the library was built */
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *ce_type;
    const char *ce_id;
    const char *handler;
    int attempt;         /* 1 for the first try */
    const char *error;
} evbus_log_fields_t;

/**
 * A log line: level (EVBUS_LOG_*), subsystem ("producer", "consumer", "dlq", "audit", or
 * "kafka" for librdkafka's own lines), message (one line, no newline) and, for lines about one
 * event, fields (NULL otherwise).  Every argument is borrowed for the call.
 */
typedef void(evbus_log_cb)(int level, const char *subsystem, const char *message,
                           const evbus_log_fields_t *fields, void *opaque);

/**
 * Send the log lines of the producer or consumer made from conf, librdkafka's included (of
 * every librdkafka client the library makes: producer, consumer, dead-letter producer), to
 * cb instead of stderr.  Without a callback, lines go to stderr as text, which is the only way
 * the library itself ever writes to stderr.  Configuration values (secrets) never appear in a
 * line.  cb is called from the thread that logs: the caller of evbus_consumer_poll()/_run(),
 * consumer workers, the producer's delivery thread, or librdkafka's internal threads; it may
 * run in several threads at once and must be thread safe, and must not call back into the
 * producer or consumer that logs.  opaque is borrowed and must outlive them.  cb NULL restores
 * the default.  Not thread safe with other calls on conf.
 */
EVBUS_EXPORT void evbus_conf_set_log_cb(evbus_conf_t *conf, evbus_log_cb *cb, void *opaque);

/** evbus_log_fields_t with nothing known (partition and offset -1).  Since 0.3. */
#define EVBUS_LOG_FIELDS_INIT {sizeof(evbus_log_fields_t), NULL, -1, -1, NULL, NULL, NULL, 0, NULL}

/** evbus_log_format() flag: one JSON object instead of a text line.  Since 0.3. */
#define EVBUS_LOG_FORMAT_JSON 0x1

/**
 * Since 0.3.  Format a log line as the library writes it, without a newline: text
 * ("evbus <level> <subsystem>: <message> (topic T [P] @O, ...)") or, with EVBUS_LOG_FORMAT_JSON,
 * one JSON object {"time","level","subsystem","message", and the fields that are known}.
 * In JSON every string is escaped; a text line holds the inputs as given (sanitize them first
 * for a terminal).  fields may be NULL.  Writes at most size
 * bytes, NUL included, to buf (buf may be NULL when size is 0), as snprintf.  Thread safe.
 * @returns the length of the whole line (excluding the NUL; the line was cut when it is
 *          >= size), or -1 when out of memory.
 */
EVBUS_EXPORT int evbus_log_format(char *buf, size_t size, int flags, int level,
                                  const char *subsystem, const char *message,
                                  const evbus_log_fields_t *fields);

/*
 * Events as delivered to consumers.  An evbus_event_t is owned by the library;
 * handlers borrow it for the duration of the call.  All strings are owned by the
 * event and live as long as it.  Accessors are safe to call from the handler's thread.
 */
typedef struct evbus_event_s evbus_event_t;

EVBUS_EXPORT const char *evbus_event_type(const evbus_event_t *ev);
EVBUS_EXPORT const char *evbus_event_id(const evbus_event_t *ev);
/** Key as text (decoded from Avro); NULL when the message has no key. */
EVBUS_EXPORT const char *evbus_event_key(const evbus_event_t *ev);
EVBUS_EXPORT const char *evbus_event_topic(const evbus_event_t *ev);
EVBUS_EXPORT int32_t evbus_event_partition(const evbus_event_t *ev);
EVBUS_EXPORT int64_t evbus_event_offset(const evbus_event_t *ev);
/** Message timestamp in milliseconds since the epoch, or -1 when unknown. */
EVBUS_EXPORT int64_t evbus_event_timestamp(const evbus_event_t *ev);
/**
 * Value of the header name (first occurrence), NUL-terminated; NULL if absent.
 * W3C trace context travels as the headers "traceparent" and "tracestate".
 */
EVBUS_EXPORT const char *evbus_event_header(const evbus_event_t *ev, const char *name);
/** Number of headers, duplicates included.  Since 0.2. */
EVBUS_EXPORT size_t evbus_event_header_count(const evbus_event_t *ev);
/**
 * Since 0.2.  Header idx (0 .. count-1) in message order.  *namep gets its name; *valuep its value, which
 * may hold any bytes (*lenp of them) and is also NUL-terminated, or NULL for a null value.
 * Any out-pointer may be NULL.  Strings are owned by ev.
 * @returns EVBUS_OK, or EVBUS_ERR_INVALID_ARG when idx is out of range.
 */
EVBUS_EXPORT evbus_err_t evbus_event_header_at(const evbus_event_t *ev, size_t idx,
                                               const char **namep, const char **valuep,
                                               size_t *lenp);
/**
 * Event data as JSON text, decoded lazily on first call (then cached);
 * NUL-terminated; *lenp (if not NULL) gets its length.  NULL when the data cannot
 * be decoded: evbus_event_error() then says why.
 */
EVBUS_EXPORT const char *evbus_event_json(const evbus_event_t *ev, size_t *lenp);
/** Why the last evbus_event_json() failed, or NULL. */
EVBUS_EXPORT const char *evbus_event_error(const evbus_event_t *ev);
/** Raw message value (framing included) and its length. */
EVBUS_EXPORT const void *evbus_event_value(const evbus_event_t *ev, size_t *lenp);
/** Since 0.3.  Raw message key (framing included) and its length (*lenp may be NULL); NULL when the message
 *  has no key.  Owned by ev; safe from any thread that holds ev, as the other accessors. */
EVBUS_EXPORT const void *evbus_event_key_raw(const evbus_event_t *ev, size_t *lenp);
/**
 * Since 0.3.  Whether the message can ever be handled, judged when the event was made, without decoding its
 * value (exactly one non-empty ce_type and ce_id, ...).  *msgp (may be NULL) gets why not (NULL
 * when usable), owned by ev.  Safe from any thread that holds ev.
 * @returns EVBUS_OK, or the code of the problem (EVBUS_ERR_DECODE for bad headers).
 */
EVBUS_EXPORT evbus_err_t evbus_event_problem(const evbus_event_t *ev, const char **msgp);
/**
 * Since 0.3.  Take a reference to ev (events are reference counted; the count is atomic, so any thread may
 * take or drop one).  A handler may keep an event past its call this way; a reference to an
 * event that a consumer delivered must be dropped before evbus_consumer_destroy().
 * @returns ev.
 */
EVBUS_EXPORT evbus_event_t *evbus_event_ref(const evbus_event_t *ev);
/** Since 0.3.  Drop a reference from evbus_event_ref() or from a call that returns a new event
 *  (evbus_decoder_decode()); the last one frees ev.  NULL is a no-op. */
EVBUS_EXPORT void evbus_event_destroy(evbus_event_t *ev);

/*
 * Names and values checked as the library checks them.  Since 0.3.
 */
/** Whether name is a legal Kafka topic name ([A-Za-z0-9._-], 1 to 249 characters, not "." or
 *  ".."). Thread safe.  @returns EVBUS_OK, or EVBUS_ERR_INVALID_ARG + errstr (what is wrong). */
EVBUS_EXPORT evbus_err_t evbus_topic_check(const char *name, char *errstr, size_t errstr_size);
/**
 * The full topic name: "<prefix>-<topic>" when prefix is set and non-empty, else topic; at
 * most size bytes written to buf, NUL included (buf may be NULL when size is 0), as snprintf.
 * Thread safe.
 * @returns the full name's length (>= size: it was cut).
 */
EVBUS_EXPORT size_t evbus_topic_full(const char *prefix, const char *topic, char *buf,
                                     size_t size);
/**
 * Check W3C trace context values as the producer does before sending them: traceparent
 * "vv-<32 hex>-<16 hex>-<2 hex>" (lowercase; version ff and all-zero ids invalid), tracestate
 * printable ASCII of at most 512 characters.  NULL is fine (absent).  Thread safe.
 * @returns EVBUS_OK, or EVBUS_ERR_INVALID_ARG + errstr.
 */
EVBUS_EXPORT evbus_err_t evbus_trace_check(const char *traceparent, const char *tracestate,
                                           char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EVBUS_H */
