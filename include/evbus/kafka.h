/*
 * evbus and librdkafka together: for tools that run their own librdkafka clients (evbus-cli
 * `tail`, `replay`, `topics`) yet read and write what the evbus producer and consumer do.
 * evbus.h stays free of librdkafka types; this header includes rdkafka.h.
 * Since 0.3: everything in this header.
 */
#ifndef EVBUS_KAFKA_H
#define EVBUS_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "evbus/evbus.h"
#include "evbus/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A librdkafka configuration holding what conf says about Kafka: every "kafka.<name>" and
 * librdkafka property, the bootstrap servers and SASL credentials (sasl.username/password, or
 * EVENT_BUS_KAFKA_API_KEY/_SECRET read by evbus_conf_from_env(): SASL_SSL + PLAIN as the
 * Python bus sets them, unless kafka.security.protocol / kafka.sasl.mechanism say otherwise).
 * No callback or opaque is set.  Thread safe with other readers of conf.
 * @returns a configuration the caller owns (give it to rd_kafka_new() or
 *          rd_kafka_conf_destroy() it), or NULL + errstr when librdkafka rejects a property
 *          (a secret's value is never echoed).
 */
EVBUS_EXPORT rd_kafka_conf_t *evbus_conf_to_kafka(const evbus_conf_t *conf, char *errstr,
                                                  size_t errstr_size) EVBUS_WARN_UNUSED;

/**
 * The consumer's routing check on a message's headers: exactly one ce_type and one ce_id, both
 * non-empty.  The values given through typep and idp point into hdrs (NOT NUL-terminated:
 * type_lenp and id_lenp get the lengths) and live as long as hdrs; any out-pointer may be
 * NULL.  Thread safe.
 * @returns EVBUS_OK, or EVBUS_ERR_DECODE + errstr (which header is missing or repeated).
 */
EVBUS_EXPORT evbus_err_t evbus_headers_check(const rd_kafka_headers_t *hdrs, const char **typep,
                                             size_t *type_lenp, const char **idp,
                                             size_t *id_lenp, char *errstr, size_t errstr_size);

/**
 * A decoder makes evbus events from messages consumed by the caller's own librdkafka client,
 * exactly as the evbus consumer would see them: headers checked, key and value framing
 * detected (single-object or Confluent), the writer's schema found by fingerprint in the store
 * (current schemas and history/) or by id in the schema registry, and the data resolved into
 * the reader schema (the event type's current one) or left as written.
 * Thread safe: several threads may decode with one decoder at once (registry lookups are
 * cached under a lock).
 */
typedef struct evbus_decoder_s evbus_decoder_t;

/**
 * A decoder over store (borrowed: it must outlive the decoder and every event it makes; NULL:
 * no schemas, so only Confluent-framed values decode, through the registry) and
 * the schema registry that conf describes (schema.registry.url, .api.key, .api.secret,
 * .timeout.ms, kafka.ssl.ca.location; none when the URL is unset).  conf is only read during
 * the call.
 * @returns the decoder, owned by the caller (evbus_decoder_destroy()), or NULL + errstr (an
 *          invalid registry setting, out of memory).
 */
EVBUS_EXPORT evbus_decoder_t *evbus_decoder_new(const evbus_conf_t *conf,
                                                const evbus_schema_store_t *store, char *errstr,
                                                size_t errstr_size) EVBUS_WARN_UNUSED;

/** Release dec; every event it made must have been destroyed.  NULL is a no-op. */
EVBUS_EXPORT void evbus_decoder_destroy(evbus_decoder_t *dec);

/** evbus_decoder_decode() flag: evbus_event_json() gives the data in the writer's schema, as
 *  it was published (evbus-cli tail's default), instead of resolved into the current schema. */
#define EVBUS_DECODE_AS_WRITTEN 0x1

/**
 * An event for rkm (copied: rkm may be destroyed at once).  Headers are checked now
 * (evbus_event_problem() tells an unusable message); the value is decoded lazily by
 * evbus_event_json(), and a value that cannot be decoded is reported there
 * (evbus_event_error()): bad data never fails this call.
 * @returns a new event (one reference, the caller's: evbus_event_destroy()), or NULL only when
 *          out of memory.
 */
EVBUS_EXPORT evbus_event_t *evbus_decoder_decode(evbus_decoder_t *dec,
                                                 const rd_kafka_message_t *rkm,
                                                 int flags) EVBUS_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* EVBUS_KAFKA_H */
