/*
 * Natural JSON <-> Avro binary, directed by a parsed schema, in one pass over the
 * input text (no DOM): the hot path of both producer and consumer.
 *
 * Mapping ("natural JSON", README "Wire format"): records are objects (missing fields take their
 * defaults, checked and pre-encoded by Avro's rules, see below; unknown fields are errors), a nullable union ["null", T] takes null or the
 * plain T value, other unions take {"<branch type name>": value}, bytes and fixed are
 * strings whose code points 0..255 are the bytes (as Avro's JSON encoding), enums are
 * strings, maps are objects.  Non-finite floats/doubles are not JSON and are rejected
 * when encoding; when decoding they are written as null with an error.
 *
 * Encoding is strict JSON (RFC 8259, UTF-8 validated, nesting capped at 128); int/long
 * take only integer literals (no fraction or exponent), parsed exactly, so INT64_MIN/MAX
 * survive and anything out of range is an error; float/double take any number.
 * Decoding checks every length against the bytes left, caps nesting, rejects trailing
 * bytes, and treats invalid UTF-8 in an Avro string as an error (the Python peer cannot
 * write it).  Doubles/floats are written in the shortest %g form that reads back as the
 * same value, with ".0" added when that form looks like an integer ("1.0", "-0.0",
 * "1e+300"), so decode(encode(json)) gives the same data and canonical input comes back
 * byte for byte.  Output field order is schema order; strings keep UTF-8 as is and escape
 * only '"', '\\' and control characters.
 *
 * Errors name the field path, e.g. "invoice.lines[2].qty: expected int, got string".
 */
#ifndef EVBUS_CORE_CODEC_H
#define EVBUS_CORE_CODEC_H

#include "common.h"
#include "schema.h"

/*
 * The most array items of no encoded size (null, empty record, fixed 0) one datum may hold,
 * all arrays together.  Their count is all the bytes say of them, so without a bound a
 * forged count of a few bytes would make the decoder loop 2^63 times.  131,072 keeps the
 * JSON of such a datum under about a megabyte ("null," each) while real data (Java and
 * fastavro write blocks of thousands) stays far below it.  The encoder refuses more too,
 * so whatever evbus writes, it reads.
 */
#ifndef EVBUS__AVRO_MAX_ZERO_ITEMS /* scripts/fuzz lowers it: see there */
#define EVBUS__AVRO_MAX_ZERO_ITEMS (1 << 17)
#endif

/**
 * Append the Avro binary encoding of json to out. EVBUS_ERR_SCHEMA (or _NOMEM) + errstr;
 * on error out is left as it was.  Thread safe (schema is read-only); no allocation
 * beyond growing out, except for records of more than 48 fields.
 */
evbus_err_t evbus__avro_encode_json(const evbus__schema_t *schema, const char *json, size_t len,
                                    evbus__buf_t *out, char *errstr, size_t errstr_size);

/*
 * Field defaults, by Avro's rules rather than natural JSON's (spec, "Schema Declaration",
 * record field "default"): the value is in the JSON encoding of the field's type, where a
 * union's value is a value of its FIRST branch, plain, at every nesting level (so for
 * ["int","string"] the default is 1, never {"int":1}, and for ["null","int"] only null);
 * bytes and fixed are strings of code points 0..255; a record value may leave out fields
 * that have defaults of their own, and keys the record does not have are ignored (as
 * Java's parser does).  These are the building blocks of schema resolution too, which
 * fills a reader's added fields from them.
 */

/**
 * Check json (a default as written in a schema) against type by Avro's rules and append its
 * Avro binary encoding to out.  EVBUS_ERR_SCHEMA + errstr ("u: expected int, got object",
 * the path inside the default) or EVBUS_ERR_NOMEM; on error out is left as it was.
 * Thread safe (type is read-only).
 */
evbus_err_t evbus__avro_encode_default(const evbus__schema_t *type, const char *json, size_t len,
                                       evbus__buf_t *out, char *errstr, size_t errstr_size);

/**
 * The same default as natural JSON (the mapping above: {"int":1} for a plain union, the
 * plain value for a nullable one), appended to out: what a reader that fills a missing
 * field hands to the application.  Errors as evbus__avro_encode_default.
 */
evbus_err_t evbus__avro_default_json(const evbus__schema_t *type, const char *json, size_t len,
                                     evbus__buf_t *out, char *errstr, size_t errstr_size);

/**
 * Check and pre-encode every field default of doc (fills default_avro), so a missing field
 * costs a memcpy.  EVBUS_ERR_SCHEMA + errstr "field 'a.b': default ... does not match ...".
 * evbus__schema_parse() calls it; it is here so that the schema layer never calls the codec.
 */
evbus_err_t evbus__avro_prepare_defaults(evbus__schema_doc_t *doc, char *errstr, size_t errstr_size);

/**
 * Append the JSON text of the Avro datum to out (compact, no spaces). EVBUS_ERR_DECODE + errstr;
 * on error out is left as it was, except for NaN/Infinity: then out holds the complete
 * JSON with null in their place and EVBUS_ERR_DECODE is still returned.
 */
evbus_err_t evbus__avro_decode_json(const evbus__schema_t *schema, const void *data, size_t len,
                                    evbus__buf_t *out, char *errstr, size_t errstr_size);

/**
 * The text of an Avro string datum that fills data[0..len) exactly (a string key): points
 * into data, not NUL-terminated.  EVBUS_ERR_DECODE for anything else, invalid UTF-8, or a
 * NUL inside (the key is handed out as a C string).
 */
evbus_err_t evbus__avro_decode_string(const void *data, size_t len, const char **sp, size_t *np);

#endif
