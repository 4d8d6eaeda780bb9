/*
 * Confluent-compatible schema-registry client (libcurl), limited to the documented REST API:
 *   POST /subjects/{subject}/versions        {"schema": "..."} -> {"id": N}
 *   GET  /schemas/ids/{id}                   -> {"schema": "..."}
 * Subjects follow the record-name-per-topic strategy: "<full topic>-<record fullname>"
 * for values ("<full topic>-<event_type>.CloudEvent") and "<full topic>-string" for string keys.
 * Results are cached both ways; the client is thread safe (one mutex around the caches,
 * HTTP done outside it).
 */
#ifndef EVBUS_CORE_REGISTRY_H
#define EVBUS_CORE_REGISTRY_H

#include "common.h"
#include "schema.h"

typedef struct evbus__registry_s evbus__registry_t;

/** url: base URL; api_key/api_secret: basic auth or NULL; timeout_ms (> 0): per request. */
evbus__registry_t *evbus__registry_new(const char *url, const char *api_key, const char *api_secret,
                                       int timeout_ms, char *errstr, size_t errstr_size);
void evbus__registry_destroy(evbus__registry_t *reg);

/** Verify an https:// registry against the CA certificates (PEM) in ca_file instead of the
 * system's.  NULL, "" or librdkafka's "probe" keep the system's.  EVBUS_ERR_NOMEM. */
evbus_err_t evbus__registry_set_ca(evbus__registry_t *reg, const char *ca_file, char *errstr,
                                   size_t errstr_size);

/**
 * The registry client conf describes: schema.registry.url / .api.key / .api.secret /
 * .timeout.ms, verified with the brokers' CA (kafka.ssl.ca.location) when that is set.
 * *regp = NULL and EVBUS_OK when no URL is set; EVBUS_ERR_CONFIG + errstr when it is invalid.
 */
evbus_err_t evbus__registry_from_conf(const evbus_conf_t *conf, evbus__registry_t **regp,
                                      char *errstr, size_t errstr_size);

/**
 * Id of schema (canonical JSON text of doc) under subject, registering it when absent
 * (POST is idempotent in the registry).  Cached per (subject, fingerprint).
 * EVBUS_ERR_REGISTRY + errstr naming the HTTP status and the registry's message; EVBUS_ERR_TIMEOUT.
 */
evbus_err_t evbus__registry_id_for(evbus__registry_t *reg, const char *subject,
                                   const evbus__schema_doc_t *doc, int32_t *idp, char *errstr,
                                   size_t errstr_size);

/**
 * The parsed schema for id (fetched once, then cached; owned by reg, lives as long as it).
 * Errors are classified for the consumer (evbus__registry_err_transient()): EVBUS_ERR_SCHEMA
 * when the registry answers that the id is unknown (404) or the schema is not usable Avro
 * (permanent); EVBUS_ERR_REGISTRY (unreachable, 5xx, any other status, a malformed answer) and
 * EVBUS_ERR_TIMEOUT when asking again later may succeed.
 */
evbus_err_t evbus__registry_schema_by_id(evbus__registry_t *reg, int32_t id,
                                         const evbus__schema_doc_t **docp, char *errstr,
                                         size_t errstr_size);

/** 1 when an error of this code may pass on its own (registry or broker unreachable, a 5xx, a
 *  timeout, memory): the caller retries with backoff rather than give the event up. */
int evbus__registry_err_transient(evbus_err_t err);

/**
 * The key schema text the Python Open edX bus (edx-event-bus-kafka) registers for a key path:
 * the key field's own definition in the value schema, e.g. {"name": "usage_key", "type":
 * "string"}, as json.dumps(field, sort_keys=True) writes it.  value_json: the value schema as
 * written; key_field: period-delimited.  NULL (malloc'd otherwise) when the path does not walk
 * the way the bus walks it (descend_avro_schema: a record's "fields", else the field's "type"
 * object's), or when out of memory.
 */
char *evbus__registry_bus_key_text(const char *value_json, const char *key_field);

/** Subject names of the record-name-per-topic strategy (malloc'd). */
char *evbus__registry_value_subject(const char *full_topic, const char *event_type);
char *evbus__registry_key_subject(const char *full_topic, const evbus__schema_t *key_schema);

#endif
