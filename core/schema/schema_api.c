/*
 * The public schema API (evbus/schema.h) over the schema store, the parser and resolution.
 * A public evbus_schema_t is a store entry: a store hands out pointers to its own entries, and
 * evbus_schema_new() allocates an entry that owns its parsed document (the entry first, so one
 * pointer serves as both).
 */
#include <stdlib.h>
#include <string.h>

#include "evbus/schema.h"
#include "framing.h"
#include "resolve.h"
#include "schema.h"

struct evbus_schema_store_s; /* is evbus__schema_store_t: the public handle is a cast */

typedef struct owned_schema_s {
    evbus__schema_entry_t e; /* first: an evbus_schema_t * points here */
    evbus__schema_doc_t *doc;
    char *event_type;
} owned_schema_t;

#define STORE(s) ((const evbus__schema_store_t *)(const void *)(s))
#define ENTRY(s) ((const evbus__schema_entry_t *)(const void *)(s))
#define PUB(e) ((const evbus_schema_t *)(const void *)(e))

evbus_schema_store_t *evbus_schema_store_new(const char *dir, char *errstr, size_t errstr_size) {
    return (evbus_schema_store_t *)(void *)evbus__schema_store_new(dir, errstr, errstr_size);
}

void evbus_schema_store_destroy(evbus_schema_store_t *store) {
    evbus__schema_store_destroy((evbus__schema_store_t *)(void *)store);
}

const char *evbus_schema_store_dir(const evbus_schema_store_t *store) {
    return store ? evbus__schema_store_dir(STORE(store)) : NULL;
}

size_t evbus_schema_store_count(const evbus_schema_store_t *store) {
    return store ? evbus__schema_store_count(STORE(store)) : 0;
}

const evbus_schema_t *evbus_schema_store_at(const evbus_schema_store_t *store, size_t i) {
    if (!store || i >= evbus__schema_store_count(STORE(store)))
        return NULL;
    return PUB(evbus__schema_store_at(STORE(store), i));
}

size_t evbus_schema_store_history_count(const evbus_schema_store_t *store) {
    return store ? evbus__schema_store_history_count(STORE(store)) : 0;
}

const evbus_schema_t *evbus_schema_store_history_at(const evbus_schema_store_t *store, size_t i) {
    if (!store || i >= evbus__schema_store_history_count(STORE(store)))
        return NULL;
    return PUB(evbus__schema_store_history_at(STORE(store), i));
}

const evbus_schema_t *evbus_schema_store_get(const evbus_schema_store_t *store,
                                             const char *event_type) {
    if (!store || !event_type)
        return NULL;
    return PUB(evbus__schema_store_get(STORE(store), event_type));
}

const evbus_schema_t *evbus_schema_store_by_fingerprint(const evbus_schema_store_t *store,
                                                        uint64_t fingerprint) {
    return store ? PUB(evbus__schema_store_by_fingerprint(STORE(store), fingerprint)) : NULL;
}

/* The namespace of a top-level record's full name ("a.b.CloudEvent" -> "a.b"), malloc'd;
 * NULL when it has none (or out of memory: the type is informational here). */
static char *namespace_of(const evbus__schema_t *root) {
    const char *dot = root && root->fullname ? strrchr(root->fullname, '.') : NULL;
    return dot ? strndup(root->fullname, (size_t)(dot - root->fullname)) : NULL;
}

evbus_schema_t *evbus_schema_new(const char *json, size_t len, char *errstr, size_t errstr_size) {
    if (!json) {
        evbus__seterr(errstr, errstr_size, "no schema text");
        return NULL;
    }
    owned_schema_t *s = calloc(1, sizeof(*s));
    if (!s) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (!(s->doc = evbus__schema_parse(json, len, errstr, errstr_size))) {
        free(s);
        return NULL;
    }
    s->event_type = namespace_of(s->doc->root);
    s->e.event_type = s->event_type;
    s->e.path = NULL;
    s->e.doc = s->doc;
    return (evbus_schema_t *)(void *)s;
}

void evbus_schema_destroy(evbus_schema_t *schema) {
    owned_schema_t *s = (owned_schema_t *)(void *)schema;
    if (!s)
        return;
    evbus__schema_doc_destroy(s->doc);
    free(s->event_type);
    free(s);
}

const char *evbus_schema_event_type(const evbus_schema_t *schema) {
    return schema ? ENTRY(schema)->event_type : NULL;
}

uint64_t evbus_schema_fingerprint(const evbus_schema_t *schema) {
    return schema ? ENTRY(schema)->doc->fingerprint : 0;
}

const char *evbus_schema_path(const evbus_schema_t *schema) {
    return schema ? ENTRY(schema)->path : NULL;
}

const char *evbus_schema_json(const evbus_schema_t *schema) {
    return schema ? ENTRY(schema)->doc->json : NULL;
}

const char *evbus_schema_canonical(const evbus_schema_t *schema) {
    return schema ? ENTRY(schema)->doc->canonical : NULL;
}

evbus_err_t evbus_schema_compat(const evbus_schema_t *writer, const evbus_schema_t *reader,
                                char *errstr, size_t errstr_size) {
    if (!writer || !reader)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "no schema given");
    return evbus__resolve_check(ENTRY(writer)->doc, ENTRY(reader)->doc, errstr, errstr_size);
}

evbus_err_t evbus_framing_parse(const void *data, size_t len, int *framingp,
                                uint64_t *fingerprintp, int32_t *schema_idp, size_t *header_lenp,
                                char *errstr, size_t errstr_size) {
    evbus__frame_t fr;
    if (!data)
        return evbus__fail(EVBUS_ERR_DECODE, errstr, errstr_size, "no data");
    evbus_err_t err = evbus__framing_parse(data, len, &fr, errstr, errstr_size);
    if (err != EVBUS_OK)
        return err;
    int so = fr.framing == EVBUS__FRAMING_SINGLE_OBJECT;
    if (framingp)
        *framingp = so ? EVBUS_FRAMING_SINGLE_OBJECT : EVBUS_FRAMING_CONFLUENT;
    if (fingerprintp)
        *fingerprintp = so ? fr.fingerprint : 0;
    if (schema_idp)
        *schema_idp = so ? -1 : fr.schema_id;
    if (header_lenp)
        *header_lenp = (size_t)(fr.payload - (const unsigned char *)data);
    return EVBUS_OK;
}
