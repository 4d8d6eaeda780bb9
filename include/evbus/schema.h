/*
 * evbus schemas: the schema store (a directory of <event_type>.avsc files and their history/),
 * one schema's identity (event type, CRC-64-AVRO fingerprint, text), Avro schema resolution
 * between two versions ("compat"), and the wire framing in front of an Avro payload.
 *
 * For tools and bindings that look at schemas without producing or consuming (evbus-cli
 * `schemas`, `validate-config`, `tail`).  The producer and consumer open their own store from
 * schema.dir; nothing here is needed to publish or handle events.
 * Since 0.3: everything in this header.
 */
#ifndef EVBUS_SCHEMA_H
#define EVBUS_SCHEMA_H

#include "evbus/evbus.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An immutable set of schemas loaded from a directory.  Thread safe once made: every call
 *  below only reads it. */
typedef struct evbus_schema_store_s evbus_schema_store_t;

/** One Avro schema: in a store (borrowed, lives as long as the store) or parsed on its own by
 *  evbus_schema_new() (owned by the caller).  Read-only and thread safe. */
typedef struct evbus_schema_s evbus_schema_t;

/**
 * Load every "*.avsc" of dir (and of dir/history/, the earlier versions).  dir NULL: the
 * default search, as the producer's when schema.dir is unset: EVENT_BUS_SCHEMA_DIR, else
 * ./schemas when it exists, else the installed schemas.  A file that does not parse, whose
 * top-level type is not a record, or whose namespace is not its file name's event type
 * (<event_type>.avsc) fails the whole load.
 * @returns the store, which the caller owns (evbus_schema_store_destroy()), or NULL + errstr
 *          (the file and the reason).
 */
EVBUS_EXPORT evbus_schema_store_t *evbus_schema_store_new(const char *dir, char *errstr,
                                                          size_t errstr_size) EVBUS_WARN_UNUSED;

/** Release store and every schema borrowed from it; NULL is a no-op. */
EVBUS_EXPORT void evbus_schema_store_destroy(evbus_schema_store_t *store);

/** The directory the schemas came from (the one found, for the default search); owned by
 *  store. */
EVBUS_EXPORT const char *evbus_schema_store_dir(const evbus_schema_store_t *store);

/** Number of current schemas (one per event type). */
EVBUS_EXPORT size_t evbus_schema_store_count(const evbus_schema_store_t *store);

/** Current schema i (0 .. count-1, sorted by event type), or NULL when out of range.
 *  Borrowed from store. */
EVBUS_EXPORT const evbus_schema_t *evbus_schema_store_at(const evbus_schema_store_t *store,
                                                         size_t i);

/** Number of earlier versions (history/). */
EVBUS_EXPORT size_t evbus_schema_store_history_count(const evbus_schema_store_t *store);

/** Earlier version i (0 .. history_count-1), or NULL when out of range.  Borrowed from store. */
EVBUS_EXPORT const evbus_schema_t *evbus_schema_store_history_at(const evbus_schema_store_t *store,
                                                                 size_t i);

/** The current schema of event_type, or NULL when the store has none.  Borrowed from store. */
EVBUS_EXPORT const evbus_schema_t *evbus_schema_store_get(const evbus_schema_store_t *store,
                                                          const char *event_type);

/** Any schema of the store (current or history) with this fingerprint, or NULL.  Borrowed. */
EVBUS_EXPORT const evbus_schema_t *evbus_schema_store_by_fingerprint(
    const evbus_schema_store_t *store, uint64_t fingerprint);

/**
 * Parse one schema from its JSON text (len bytes; need not be NUL-terminated).
 * @returns a schema the caller owns (evbus_schema_destroy()), or NULL + errstr.
 */
EVBUS_EXPORT evbus_schema_t *evbus_schema_new(const char *json, size_t len, char *errstr,
                                              size_t errstr_size) EVBUS_WARN_UNUSED;

/** Release a schema from evbus_schema_new(); NULL is a no-op.  Never pass a store's schema. */
EVBUS_EXPORT void evbus_schema_destroy(evbus_schema_t *schema);

/** The event type: the namespace of the top-level record (NULL when it has none).  Owned by
 *  schema. */
EVBUS_EXPORT const char *evbus_schema_event_type(const evbus_schema_t *schema);

/** CRC-64-AVRO fingerprint of the schema's Parsing Canonical Form (what single-object framing
 *  carries). */
EVBUS_EXPORT uint64_t evbus_schema_fingerprint(const evbus_schema_t *schema);

/** The file a store's schema came from; NULL for evbus_schema_new()'s.  Owned by schema. */
EVBUS_EXPORT const char *evbus_schema_path(const evbus_schema_t *schema);

/** The schema's JSON text as loaded, NUL-terminated.  Owned by schema. */
EVBUS_EXPORT const char *evbus_schema_json(const evbus_schema_t *schema);

/** The Parsing Canonical Form, NUL-terminated.  Owned by schema. */
EVBUS_EXPORT const char *evbus_schema_canonical(const evbus_schema_t *schema);

/**
 * Can everything written with writer be read with reader (Avro schema resolution, as a schema
 * registry judges compatibility: a union in the writer resolves branch by branch)?  BACKWARD
 * compatibility of a new version is compat(old, new); FORWARD is compat(new, old).
 * Thread safe.
 * @returns EVBUS_OK, or EVBUS_ERR_SCHEMA with errstr naming the field path and the reason
 *          ("user.id: writer's string cannot be read as reader's long"); EVBUS_ERR_INVALID_ARG
 *          for a NULL schema.
 */
EVBUS_EXPORT evbus_err_t evbus_schema_compat(const evbus_schema_t *writer,
                                             const evbus_schema_t *reader, char *errstr,
                                             size_t errstr_size);

/*
 * The transcoder: an event's data as natural JSON (README "Wire format": a nullable union
 * takes null or the plain value, defaults fill missing fields) to Avro binary and back.  What
 * the producer and consumer do to the data part of a message; for tools, bindings and
 * benchmarks that need the bytes themselves.
 */

/** evbus_schema_encode_json() flag: put the single-object framing (C3 01 + the schema's
 *  fingerprint) in front, as a producer without a schema registry writes a value. */
#define EVBUS_ENCODE_SINGLE_OBJECT 0x1

/**
 * Encode json (len bytes, one JSON object; need not be NUL-terminated) as Avro binary of
 * schema into out (at most out_size bytes).  A missing field takes its default; a missing field
 * without one, a type mismatch or a field the schema does not know is an error naming the
 * field path.  *lenp (may be NULL) gets the encoding's length whenever it is known.  Thread
 * safe (schema is read-only); a per-thread scratch buffer makes steady-state calls allocate
 * nothing.
 * @returns EVBUS_OK; EVBUS_ERR_SCHEMA + errstr when json does not fit the schema;
 *          EVBUS_ERR_INVALID_ARG when out_size is less than *lenp (call again with that room)
 *          or an argument is NULL; EVBUS_ERR_NOMEM.
 */
EVBUS_EXPORT evbus_err_t evbus_schema_encode_json(const evbus_schema_t *schema, const char *json,
                                                  size_t len, int flags, void *out,
                                                  size_t out_size, size_t *lenp, char *errstr,
                                                  size_t errstr_size);

/**
 * Decode Avro binary of schema (data, len bytes, without framing: see evbus_framing_parse())
 * into compact JSON text, NUL-terminated in out (out_size counts the NUL; *lenp, which may be
 * NULL, gets the text's length without it whenever it is known).  Thread safe; allocation as
 * evbus_schema_encode_json().
 * @returns EVBUS_OK; EVBUS_ERR_DECODE + errstr for data that is not a datum of schema;
 *          EVBUS_ERR_INVALID_ARG when out_size is not more than *lenp or an argument is NULL;
 *          EVBUS_ERR_NOMEM.
 */
EVBUS_EXPORT evbus_err_t evbus_schema_decode_json(const evbus_schema_t *schema, const void *data,
                                                  size_t len, char *out, size_t out_size,
                                                  size_t *lenp, char *errstr, size_t errstr_size);

/*
 * Wire framing (what precedes the Avro binary in a message's value and key).
 */
#define EVBUS_FRAMING_SINGLE_OBJECT 1 /* C3 01 + 8-byte little-endian fingerprint */
#define EVBUS_FRAMING_CONFLUENT 2     /* 00 + 4-byte big-endian schema id */

/**
 * Read the framing of data (len bytes).  Every out-pointer may be NULL: *framingp gets
 * EVBUS_FRAMING_*, *fingerprintp the fingerprint (single-object; else 0), *schema_idp the
 * registry id (Confluent; else -1), *header_lenp the bytes before the Avro payload.
 * Thread safe; data is only read.
 * @returns EVBUS_OK, or EVBUS_ERR_DECODE + errstr for an unknown or truncated framing.
 */
EVBUS_EXPORT evbus_err_t evbus_framing_parse(const void *data, size_t len, int *framingp,
                                             uint64_t *fingerprintp, int32_t *schema_idp,
                                             size_t *header_lenp, char *errstr,
                                             size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EVBUS_SCHEMA_H */
