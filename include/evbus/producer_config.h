/*
 * evbus producer configuration (EVENT_BUS_PRODUCER_CONFIG, the producer.config setting) as an
 * object: load it, see every problem with its JSON path, and walk its event types and topics.
 * The producer loads it itself; this is for tools that check or show a configuration
 * (evbus-cli `validate-config`, `topics`, `schemas check`) and for bindings.
 * Since 0.3: everything in this header.
 */
#ifndef EVBUS_PRODUCER_CONFIG_H
#define EVBUS_PRODUCER_CONFIG_H

#include "evbus/evbus.h"
#include "evbus/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A loaded, valid producer configuration.  Immutable; thread safe for readers. */
typedef struct evbus_producer_config_s evbus_producer_config_t;

/**
 * Told of one problem: path is where in the JSON ("$[\"<event type>\"][0].event_key_field"),
 * message what is wrong and what was expected.  Both are borrowed for the call.  Called on the
 * loading thread, in document order.
 */
typedef void(evbus_config_error_cb)(const char *path, const char *message, void *opaque);

/**
 * Load and validate a producer configuration: text_or_path is JSON text (starting with '{') or
 * the path of a file holding it, in the list or dict-of-topics form.  Every problem is found,
 * not only the first: unknown keys, wrong types, empty lists, a missing topic or
 * event_key_field, a topic twice for a type, illegal topic names (checked with prefix
 * applied), an event type without a schema in store, a key path that does not resolve to a
 * field of that schema.  store is borrowed and must outlive the configuration (its schemas are
 * referenced); prefix (NULL or "": none) makes the full topic names.
 * on_error (may be NULL) is called once per problem, with opaque; errstr gets them all, one per
 * line ("<path>: <message>"), cut to errstr_size.
 * @returns the configuration, owned by the caller (evbus_producer_config_destroy()), or NULL
 *          when it has a problem or memory ran out (then errstr says so).
 */
EVBUS_EXPORT evbus_producer_config_t *evbus_producer_config_load(
    const char *text_or_path, const evbus_schema_store_t *store, const char *prefix,
    evbus_config_error_cb *on_error, void *opaque, char *errstr,
    size_t errstr_size) EVBUS_WARN_UNUSED;

/** Release cfg; NULL is a no-op. */
EVBUS_EXPORT void evbus_producer_config_destroy(evbus_producer_config_t *cfg);

/** Number of configured event types. */
EVBUS_EXPORT size_t evbus_producer_config_type_count(const evbus_producer_config_t *cfg);

/** Event type i (0 .. type_count-1, sorted), or NULL when out of range.  Owned by cfg. */
EVBUS_EXPORT const char *evbus_producer_config_type(const evbus_producer_config_t *cfg, size_t i);

/** The schema of event type i (borrowed from the store given at load), or NULL when out of
 *  range. */
EVBUS_EXPORT const evbus_schema_t *evbus_producer_config_schema(const evbus_producer_config_t *cfg,
                                                                size_t i);

/** Number of topics of event type i (0 when out of range). */
EVBUS_EXPORT size_t evbus_producer_config_topic_count(const evbus_producer_config_t *cfg,
                                                      size_t i);

/**
 * Topic j of event type i, in configuration order.  Every out-pointer may be NULL: *topicp the
 * name as configured, *full_topicp with the prefix applied, *key_fieldp the event_key_field
 * path (strings owned by cfg); *enabledp 1 or 0.
 * @returns EVBUS_OK, or EVBUS_ERR_INVALID_ARG when i or j is out of range.
 */
EVBUS_EXPORT evbus_err_t evbus_producer_config_topic(const evbus_producer_config_t *cfg, size_t i,
                                                     size_t j, const char **topicp,
                                                     const char **full_topicp,
                                                     const char **key_fieldp, int *enabledp);

#ifdef __cplusplus
}
#endif
#endif /* EVBUS_PRODUCER_CONFIG_H */
