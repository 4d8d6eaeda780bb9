/*
 * Internal view of evbus_conf_t: typed getters and the librdkafka configuration built
 * from it.  Names and defaults live in one table in conf.c.
 */
#ifndef EVBUS_CORE_CONF_H
#define EVBUS_CORE_CONF_H

#include <librdkafka/rdkafka.h>

#include "common.h"

/** Integer value of an evbus name (its table default when unset). */
int64_t evbus__conf_int(const evbus_conf_t *conf, const char *name);
/** Boolean value of an evbus name ("true"/"false"/"1"/"0"). */
int evbus__conf_bool(const evbus_conf_t *conf, const char *name);
/** The framing a producer with this conf writes: wire.format, where auto means confluent when
 *  schema.registry.url is set. */
typedef enum { EVBUS__WIRE_SINGLE_OBJECT, EVBUS__WIRE_CONFLUENT } evbus__wire_format_t;
evbus__wire_format_t evbus__conf_wire_format(const evbus_conf_t *conf);
const char *evbus__wire_format_name(evbus__wire_format_t f);
/** String value, or the table default (may be NULL). */
const char *evbus__conf_str(const evbus_conf_t *conf, const char *name);
/** ce_source: the "source" setting, else the Python bus's "openedx/<service>/web" (service from
 *  conf, or its default when conf is NULL).  malloc'd; NULL when out of memory. */
char *evbus__conf_source(const evbus_conf_t *conf);

/**
 * A librdkafka configuration holding every "kafka.<name>" and librdkafka property of conf,
 * bootstrap servers and SASL credentials (EVENT_BUS_KAFKA_API_KEY/_SECRET: SASL_SSL + PLAIN
 * as the Python bus sets them, unless kafka.security.protocol / kafka.sasl.mechanism say
 * otherwise).  NULL + errstr when librdkafka rejects a property (the value of a secret is
 * never echoed).  The caller owns the result.
 */
rd_kafka_conf_t *evbus__conf_to_kafka(const evbus_conf_t *conf, char *errstr, size_t errstr_size);

/*
 * Callback slots that evbus_conf_set_*_cb() fill (one per name, e.g. "delivery").
 * A generic function pointer type keeps ISO C happy; the setter casts it back.
 */
typedef void (*evbus__fn_t)(void);
int evbus__conf_set_cb(evbus_conf_t *conf, const char *slot, evbus__fn_t fn, void *opaque);
evbus__fn_t evbus__conf_get_cb(const evbus_conf_t *conf, const char *slot, void **opaquep);

/** The schema texts of evbus_conf_add_schema(), in the order added (a later one of a type
 *  wins); _at gives text i (NUL-terminated, owned by conf) and its length, NULL past the end. */
size_t evbus__conf_schema_count(const evbus_conf_t *conf);
const char *evbus__conf_schema_at(const evbus_conf_t *conf, size_t i, size_t *lenp);

/** 1 if name holds a secret whose value must never be printed. */
int evbus__conf_is_secret(const char *name);

/** One row of the settings table (docs/CONFIGURATION.md is generated from them). */
typedef struct evbus__conf_prop_info_s {
    const char *name;
    const char *kind;   /* "string", "integer" or "boolean" */
    const char *def;    /* default, NULL when unset */
    int64_t min, max;   /* integers only */
    int secret;         /* never printed */
    const char *const *words; /* NULL-terminated allowed values, or NULL: any of its kind */
} evbus__conf_prop_info_t;
/** Row i of the table into *out; -1 past the last. */
int evbus__conf_prop_at(size_t i, evbus__conf_prop_info_t *out);
/** Environment mapping i (evbus_conf_from_env()): the variable, the name it sets, and whether
 *  it is in seconds (the name in milliseconds); -1 past the last. */
int evbus__conf_env_at(size_t i, const char **env, const char **name, int *seconds);

#endif
