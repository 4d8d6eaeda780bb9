/*
 * Period-delimited key paths ("user.pii.username"): in event JSON text and in a schema.
 */
#ifndef EVBUS_CORE_KEYPATH_H
#define EVBUS_CORE_KEYPATH_H

#include "common.h"
#include "schema.h"

/**
 * Find the value at path in the JSON object text, without building a DOM.
 * valp and vlenp point at the value's JSON text inside json.
 * EVBUS_ERR_KEY naming the path when a segment is missing or the value is null;
 * EVBUS_ERR_SCHEMA when json is not valid JSON along the way.
 */
evbus_err_t evbus__keypath_find_json(const char *json, size_t len, const char *path,
                                     const char **valp, size_t *vlenp, char *errstr,
                                     size_t errstr_size);

/**
 * Resolve path in a record schema, descending through records and nullable unions.
 * Returns the node of the last segment (for a nullable union, the non-null branch),
 * or NULL with errstr (e.g. "no field 'pii' in record 'user'", or ends on a record).
 * The resolved node must be a scalar (string, int, long, ... enum); anything else is an error.
 */
const evbus__schema_t *evbus__keypath_resolve_schema(const evbus__schema_t *root, const char *path,
                                                     char *errstr, size_t errstr_size);

#endif
