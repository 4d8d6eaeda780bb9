/*
 * Avro schema resolution (the specification's "Schema Resolution"): data written with one
 * version of an event type's schema, read in the shape of another. Used by the consumer side
 * (the reader is the current schema of the event's ce_type) and by `evbus-cli schemas compat`.
 *
 * Works on the natural JSON the codec decodes (codec.h), so the codec stays single-schema:
 * decode with the writer, resolve, then encode and decode with the reader so that the reader's
 * defaults (filled by the codec, at every nesting level) and its number formatting apply.
 */
#ifndef EVBUS_CORE_RESOLVE_H
#define EVBUS_CORE_RESOLVE_H

#include "common.h"
#include "schema.h"

/**
 * Can everything written with writer be read with reader? EVBUS_OK, or EVBUS_ERR_SCHEMA with
 * errstr naming the field path and the reason ("user.id: writer's string cannot be read as
 * reader's long"). A union in the writer must resolve branch by branch, as a schema registry
 * checks it. Thread safe; both docs are read-only.
 */
evbus_err_t evbus__resolve_check(const evbus__schema_doc_t *writer, const evbus__schema_doc_t *reader,
                                 char *errstr, size_t errstr_size);

/**
 * Natural JSON of a datum written with writer (as evbus__avro_decode_json() gives it) into the
 * natural JSON of the same datum read with reader, appended to out (compact). Fields the reader
 * adds take their defaults, removed ones are dropped, int/long/float promote, string and bytes
 * convert, an unknown enum symbol takes the reader enum's default, union branches are matched.
 * EVBUS_ERR_SCHEMA (field path + reason), _DECODE or _NOMEM + errstr; out as it was on error.
 * Limit: a map key holding U+0000 cannot be resolved (jansson keys are C strings); such an event
 * fails with EVBUS_ERR_DECODE saying so (a consumer dead-letters it), it is never altered. A map
 * that repeats a key on the wire keeps the last value, as JSON readers of the decoded data do.
 */
evbus_err_t evbus__resolve_json(const evbus__schema_doc_t *writer, const evbus__schema_doc_t *reader,
                                const char *json, size_t len, evbus__buf_t *out, char *errstr,
                                size_t errstr_size);

#endif
