/* Period-delimited key paths in event JSON text (no DOM) and in a record schema. */
#include "keypath.h"

#include <string.h>

#include "json_scan.h"

static evbus_err_t json_bad(evbus__json_t *j, const char *path, char *errstr, size_t errstr_size) {
    return evbus__fail(EVBUS_ERR_SCHEMA, errstr, errstr_size,
                       "key path '%s': invalid JSON at offset %zu: %s", path, j->errpos,
                       j->err ? j->err : "syntax error");
}

evbus_err_t evbus__keypath_find_json(const char *json, size_t len, const char *path,
                                     const char **valp, size_t *vlenp, char *errstr,
                                     size_t errstr_size) {
    evbus__json_t j;
    evbus__json_init(&j, json, len);
    if (!path || !*path)
        return evbus__fail(EVBUS_ERR_KEY, errstr, errstr_size, "empty key path");
    const char *seg = path;
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t seglen = dot ? (size_t)(dot - seg) : strlen(seg);
        evbus__json_type_t t = evbus__json_peek(&j);
        if (t == EVBUS__JSON_INVALID)
            return json_bad(&j, path, errstr, errstr_size);
        if (t != EVBUS__JSON_OBJECT) {
            if (seg == path)
                return evbus__fail(EVBUS_ERR_KEY, errstr, errstr_size,
                                   "key path '%s': event data is not an object", path);
            return evbus__fail(EVBUS_ERR_KEY, errstr, errstr_size,
                               "key path '%s': '%.*s' is not an object", path,
                               (int)(seg - 1 - path), path);
        }
        j.pos++;
        int first = 1, r, found = 0;
        evbus__json_str_t key;
        while ((r = evbus__json_obj_next(&j, &first, &key)) == 1) {
            if (evbus__json_str_eq(&key, seg, seglen)) {
                found = 1;
                break;
            }
            if (evbus__json_skip(&j, 1) != 0)
                return json_bad(&j, path, errstr, errstr_size);
        }
        if (r < 0)
            return json_bad(&j, path, errstr, errstr_size);
        if (!found)
            return evbus__fail(EVBUS_ERR_KEY, errstr, errstr_size, "key path '%s': '%.*s' missing",
                               path, (int)seglen, seg);
        t = evbus__json_peek(&j);
        if (t == EVBUS__JSON_INVALID)
            return json_bad(&j, path, errstr, errstr_size);
        if (t == EVBUS__JSON_NULL)
            return evbus__fail(EVBUS_ERR_KEY, errstr, errstr_size, "key path '%s': '%.*s' is null",
                               path, (int)seglen, seg);
        if (!dot) {
            size_t start = j.pos;
            if (evbus__json_skip(&j, 1) != 0)
                return json_bad(&j, path, errstr, errstr_size);
            *valp = json + start;
            *vlenp = j.pos - start;
            return EVBUS_OK;
        }
        seg = dot + 1;
    }
}

static int is_scalar(evbus__avro_kind_t k) {
    switch (k) {
    case EVBUS__AVRO_STRING: case EVBUS__AVRO_INT: case EVBUS__AVRO_LONG:
    case EVBUS__AVRO_FLOAT: case EVBUS__AVRO_DOUBLE: case EVBUS__AVRO_BOOLEAN:
    case EVBUS__AVRO_ENUM: case EVBUS__AVRO_BYTES: case EVBUS__AVRO_FIXED:
        return 1;
    default:
        return 0;
    }
}

/* The non-null branch of ["null", T] / [T, "null"]; other nodes unchanged. */
static const evbus__schema_t *unwrap_nullable(const evbus__schema_t *n) {
    if (n->kind == EVBUS__AVRO_UNION && n->nbranches == 2 && n->null_branch >= 0)
        return n->branches[1 - n->null_branch];
    return n;
}

const evbus__schema_t *evbus__keypath_resolve_schema(const evbus__schema_t *root, const char *path,
                                                     char *errstr, size_t errstr_size) {
    const evbus__schema_t *n = root;
    const char *seg = path;
    if (!path || !*path) {
        evbus__seterr(errstr, errstr_size, "empty key path");
        return NULL;
    }
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t seglen = dot ? (size_t)(dot - seg) : strlen(seg);
        if (n->kind != EVBUS__AVRO_RECORD) {
            evbus__seterr(errstr, errstr_size, "key path '%s': '%.*s' is %s %s, not a record", path,
                          (int)(seg - 1 - path), path, n->kind == EVBUS__AVRO_ARRAY ||
                          n->kind == EVBUS__AVRO_ENUM || n->kind == EVBUS__AVRO_INT ? "an" : "a",
                          evbus__avro_kind_name(n->kind));
            return NULL;
        }
        const evbus__schema_t *next = NULL;
        for (size_t i = 0; i < n->nfields; i++)
            if (strlen(n->fields[i].name) == seglen && memcmp(n->fields[i].name, seg, seglen) == 0)
                next = n->fields[i].type;
        if (!next) {
            if (seg == path)
                evbus__seterr(errstr, errstr_size, "key path '%s': no field '%.*s' in record '%s'",
                              path, (int)seglen, seg, n->fullname);
            else
                evbus__seterr(errstr, errstr_size, "key path '%s': no field '%.*s' in record '%.*s'",
                              path, (int)seglen, seg, (int)(seg - 1 - path), path);
            return NULL;
        }
        n = unwrap_nullable(next);
        if (!dot)
            break;
        seg = dot + 1;
    }
    if (!is_scalar(n->kind)) {
        evbus__seterr(errstr, errstr_size, "key path '%s' ends on %s %s, not on a scalar field", path,
                      n->kind == EVBUS__AVRO_ARRAY ? "an" : "a", evbus__avro_kind_name(n->kind));
        return NULL;
    }
    return n;
}
