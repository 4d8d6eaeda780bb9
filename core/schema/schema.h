/*
 * Parsed Avro schemas and the schema store.
 *
 * A schema is parsed once into a tree of evbus__schema_t nodes that the codec walks
 * directly (no avro-c value objects on the hot path).  Named types are resolved at
 * parse time, so a node tree may contain cycles only through named references;
 * nodes are owned by their evbus__schema_doc_t.
 */
#ifndef EVBUS_CORE_SCHEMA_H
#define EVBUS_CORE_SCHEMA_H

#include <stdint.h>

#include "common.h"

/* Type definitions nested deeper than this are rejected. */
#define EVBUS__SCHEMA_MAX_DEPTH 64

typedef enum evbus__avro_kind_e {
    EVBUS__AVRO_NULL,
    EVBUS__AVRO_BOOLEAN,
    EVBUS__AVRO_INT,
    EVBUS__AVRO_LONG,
    EVBUS__AVRO_FLOAT,
    EVBUS__AVRO_DOUBLE,
    EVBUS__AVRO_STRING,
    EVBUS__AVRO_BYTES,
    EVBUS__AVRO_RECORD,
    EVBUS__AVRO_ENUM,
    EVBUS__AVRO_ARRAY,
    EVBUS__AVRO_MAP,
    EVBUS__AVRO_FIXED,
    EVBUS__AVRO_UNION
} evbus__avro_kind_t;

typedef struct evbus__schema_s evbus__schema_t;

typedef struct evbus__field_s {
    char *name;
    size_t name_len; /* strlen(name): the decoder writes the name per datum */
    /* "name": as JSON (an Avro name needs no escaping), zero-padded to a multiple of 8 bytes so
     * the decoder copies it a word at a time; json_key_len counts the text only. */
    char *json_key;
    size_t json_key_len;
    evbus__schema_t *type;
    int has_default;
    /* The default as JSON text (as written in the schema, compact): Avro's JSON encoding of
     * `type`, not natural JSON (see evbus__avro_encode_default in codec.h). */
    char *default_json;
    /* default_json pre-encoded as Avro binary for `type`, so a missing field costs a memcpy;
     * filled by evbus__avro_prepare_defaults (NULL in a doc from evbus__schema_parse_types). */
    unsigned char *default_avro;
    size_t default_avro_len;
    /* The field's "aliases" (earlier names): a reader field matches a writer field of any of
     * these names when none has its own name (Avro schema resolution). */
    char **aliases;
    size_t naliases;
} evbus__field_t;

struct evbus__schema_s {
    evbus__avro_kind_t kind;
    char *fullname;            /* record, enum, fixed: namespace-qualified name; else NULL */
    evbus__field_t *fields;    /* record */
    size_t nfields;
    char **symbols;            /* enum */
    size_t nsymbols;
    int enum_default;          /* enum: index of its "default" symbol (for resolution), or -1 */
    evbus__schema_t **branches; /* union */
    size_t nbranches;
    int null_branch;           /* union: index of the "null" branch, or -1 */
    evbus__schema_t *items;    /* array items, map values */
    size_t fixed_size;         /* fixed */
    char *logical_type;        /* "logicalType" when present (informational) */
    /* A lower bound of the bytes any datum of this type takes (0: null, empty record, fixed 0
     * and records of those).  The decoder bounds a block count by it, so a forged count cannot
     * make it loop or allocate beyond what the input can hold. */
    size_t min_size;
};

/** A parsed schema document: the root node plus everything it owns. */
typedef struct evbus__schema_doc_s {
    evbus__schema_t *root;
    char *canonical;           /* Parsing Canonical Form of root */
    uint64_t fingerprint;      /* CRC-64-AVRO of canonical */
    char *json;                /* the schema text as loaded */
    void *priv;                /* allocation bookkeeping */
} evbus__schema_doc_t;

/**
 * Parse an Avro schema from JSON text, with its field defaults checked and pre-encoded.
 * NULL + errstr ("what is wrong") on failure.  Defined in codec_default.c: it is
 * evbus__schema_parse_types() then evbus__avro_prepare_defaults(), so this file's parser
 * does not depend on the codec that depends on it.
 */
evbus__schema_doc_t *evbus__schema_parse(const char *json, size_t len, char *errstr,
                                         size_t errstr_size);
/** The types only: names, canonical form and fingerprint; defaults kept as JSON text, unchecked. */
evbus__schema_doc_t *evbus__schema_parse_types(const char *json, size_t len, char *errstr,
                                               size_t errstr_size);
void evbus__schema_doc_destroy(evbus__schema_doc_t *doc);

/** Parsing Canonical Form of any node (malloc'd), NULL when out of memory. */
char *evbus__schema_canonical(const evbus__schema_t *node);
/** CRC-64-AVRO (Rabin) fingerprint of bytes, as the Avro spec defines it. */
uint64_t evbus__crc64_avro(const void *data, size_t len);
/** Human name of a kind: "int", "record", ... */
const char *evbus__avro_kind_name(evbus__avro_kind_t kind);

/*
 * The schema store: the current schema of each event type, from <event_type>.avsc or
 * openedx-events' <type with '+' for '.'>_schema.avsc files of a directory, and earlier versions
 * from its history/ subdirectory (any file name; identified by namespace and fingerprint).
 * Search order when dir is NULL: $EVENT_BUS_SCHEMA_DIR, ./schemas, the installed schemas.
 * Read-only after creation, so lookups are thread safe.
 */
typedef struct evbus__schema_store_s evbus__schema_store_t;

typedef struct evbus__schema_entry_s {
    const char *event_type;          /* the record's namespace (== the file name's type) */
    const char *path;                /* file it came from */
    const evbus__schema_doc_t *doc;
    int history;                     /* 1: an earlier version, from history/ */
} evbus__schema_entry_t;

/** Load every *.avsc of dir and dir/history. A bad file is an error naming the file and the
 *  problem; so is a type with two current files (both namings). */
evbus__schema_store_t *evbus__schema_store_new(const char *dir, char *errstr, size_t errstr_size);
void evbus__schema_store_destroy(evbus__schema_store_t *store);
/** The store of a producer or consumer made from conf: schema.dir (or the default directory),
 *  then every schema of evbus_conf_add_schema() over it.  With registered schemas and no
 *  schema.dir, a missing default directory is an empty base, not an error. */
evbus__schema_store_t *evbus__schema_store_from_conf(const evbus_conf_t *conf, char *errstr,
                                                     size_t errstr_size);
/** Make json the current schema of its type (its record's namespace), replacing the current
 *  one, which is kept as an earlier version.  Only before the store is shared. 0, or -1 +
 *  errstr. */
int evbus__schema_store_add(evbus__schema_store_t *store, const char *json, size_t len,
                            char *errstr, size_t errstr_size);
/** The directory the store was loaded from (owned by the store). */
const char *evbus__schema_store_dir(const evbus__schema_store_t *store);
const evbus__schema_entry_t *evbus__schema_store_get(const evbus__schema_store_t *store,
                                                     const char *event_type);
/** The schema with this fingerprint, current or from history/ (the current one when both). */
const evbus__schema_entry_t *evbus__schema_store_by_fingerprint(const evbus__schema_store_t *store,
                                                                uint64_t fingerprint);
/** Current schemas only. */
size_t evbus__schema_store_count(const evbus__schema_store_t *store);
/** Current entries sorted by event type; i < count. */
const evbus__schema_entry_t *evbus__schema_store_at(const evbus__schema_store_t *store, size_t i);
/** Earlier versions (history/), sorted by event type then path. */
size_t evbus__schema_store_history_count(const evbus__schema_store_t *store);
const evbus__schema_entry_t *evbus__schema_store_history_at(const evbus__schema_store_t *store,
                                                            size_t i);
/** The event type a schema file name claims (malloc'd; NULL when out of memory): "<type>.avsc"
 *  or openedx-events' "<type with '+' for '.'>_schema.avsc". */
char *evbus__schema_file_type(const char *file);

#endif
