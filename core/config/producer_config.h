/*
 * The producer configuration (EVENT_BUS_PRODUCER_CONFIG): event type -> topics.
 *
 * Both forms of the Python setting are accepted:
 *   list form:            {"<type>": [{"topic": T, "event_key_field": K, "enabled": B}, ...]}
 *   dict-of-topics form:  {"<type>": {"<topic>": {"event_key_field": K, "enabled": B}, ...}}
 * Loading validates everything and collects EVERY problem, one line each:
 *   $["<type>"][<i>|"<topic>"].<field>: <what is wrong>, expected <what>
 * A config with any error is never half-loaded.
 */
#ifndef EVBUS_CORE_PRODUCER_CONFIG_H
#define EVBUS_CORE_PRODUCER_CONFIG_H

#include "common.h"
#include "schema.h"

typedef struct evbus__topic_conf_s {
    char *topic;          /* as configured (without prefix) */
    char *full_topic;     /* with the prefix applied */
    char *key_field;      /* period-delimited path */
    int enabled;
    const evbus__schema_t *key_schema; /* the scalar node the key path resolves to */
} evbus__topic_conf_t;

typedef struct evbus__type_conf_s {
    char *event_type;
    const evbus__schema_entry_t *schema;
    evbus__topic_conf_t *topics;
    size_t ntopics;
} evbus__type_conf_t;

typedef struct evbus__config_s {
    evbus__type_conf_t *types; /* sorted by event_type */
    size_t ntypes;
} evbus__config_t;

/** One problem found while loading; path is the JSON path ("$[\"t\"][0].topic"). */
typedef struct evbus__config_error_s {
    char *path;
    char *message;
} evbus__config_error_t;

typedef struct evbus__config_errors_s {
    evbus__config_error_t *items;
    size_t count;
} evbus__config_errors_t;

/**
 * Load from text (JSON starting with '{') or a path to a file.  store resolves schemas and key
 * paths (NULL skips those checks).  prefix: EVENT_BUS_TOPIC_PREFIX (may be NULL/empty).
 * On failure returns NULL and fills errs (caller frees with evbus__config_errors_clear);
 * a JSON syntax error names line and column.
 */
evbus__config_t *evbus__config_load(const char *text_or_path, const evbus__schema_store_t *store,
                                    const char *prefix, evbus__config_errors_t *errs);
void evbus__config_destroy(evbus__config_t *cfg);
void evbus__config_errors_clear(evbus__config_errors_t *errs);
/** All errors joined, one "path: message" per line (malloc'd; NULL when out of memory). */
char *evbus__config_errors_join(const evbus__config_errors_t *errs);
/** Errors joined into errstr (truncated to fit, ending "... (N more)" when cut). */
void evbus__config_errors_to_errstr(const evbus__config_errors_t *errs, char *errstr,
                                    size_t errstr_size);

/** Add one problem. */
/** What a JSON value is, for "got X, expected Y" messages: "an object", "an array", "a string",
 *  "an integer", "a number", "a boolean" or "null" (static storage). */
struct json_t;
const char *evbus__json_kind(const struct json_t *v);

void evbus__config_errors_add(evbus__config_errors_t *errs, const char *path, const char *fmt, ...)
    EVBUS__PRINTF(3, 4);

struct json_t;
/** The JSON object of text_or_path (text when it starts with '{' or '['), duplicate keys
 *  rejected; NULL + one error (what names the document in "empty <what>") otherwise. */
struct json_t *evbus__config_parse_source(const char *text_or_path, const char *what,
                                          evbus__config_errors_t *errs);

/** Type entry for event_type or NULL. */
const evbus__type_conf_t *evbus__config_find(const evbus__config_t *cfg, const char *event_type);

#endif
