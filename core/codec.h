/*
 * Natural JSON <-> Avro binary, directed by a parsed schema, in one pass over the
 * input text (no DOM): the hot path of both producer and consumer.
 *
 * Mapping (CONVENTIONS "natural JSON"): records are objects (missing fields take their
 * defaults; unknown fields are errors), a nullable union ["null", T] takes null or the
 * plain T value, other unions take {"<branch type name>": value}, bytes and fixed are
 * strings whose code points 0..255 are the bytes (as Avro's JSON encoding), enums are
 * strings, maps are objects.  Non-finite floats/doubles are not JSON and are rejected
 * when encoding; when decoding they are written as null with an error.
 *
 * Errors name the field path, e.g. "invoice.lines[2].qty: expected int, got string".
 */
#ifndef EVBUS_CORE_CODEC_H
#define EVBUS_CORE_CODEC_H

#include "common.h"
#include "schema.h"

/** Append the Avro binary encoding of json to out. EVBUS_ERR_SCHEMA (or _NOMEM) + errstr. */
evbus_err_t evbus__avro_encode_json(const evbus__schema_t *schema, const char *json, size_t len,
                                    evbus__buf_t *out, char *errstr, size_t errstr_size);

/** Append the JSON text of the Avro datum to out (compact, no spaces). EVBUS_ERR_DECODE + errstr. */
evbus_err_t evbus__avro_decode_json(const evbus__schema_t *schema, const void *data, size_t len,
                                    evbus__buf_t *out, char *errstr, size_t errstr_size);

#endif
