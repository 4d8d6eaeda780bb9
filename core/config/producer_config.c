/*
 * EVENT_BUS_PRODUCER_CONFIG loading and validation.
 *
 * The Python bus checks a key path only when an event is sent and then drops the
 * event with a log line; here every problem is found at load time, all of them in
 * one pass, so an operator fixes a config in one round trip and nothing is dropped later.
 */
#include "producer_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_scan.h"
#include "keypath.h"
#include "topic.h"

/* ---- error collection ---- */

static void errs_add(evbus__config_errors_t *errs, const char *path, const char *fmt, ...)
    EVBUS__PRINTF(3, 4);

static void errs_vadd(evbus__config_errors_t *errs, const char *path, const char *fmt, va_list ap) {
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    evbus__config_error_t *p = realloc(errs->items, (errs->count + 1) * sizeof(*p));
    if (!p)
        return; /* out of memory: the load fails anyway (errs->count stays > 0 or NOMEM below) */
    errs->items = p;
    p[errs->count].path = strdup(path);
    p[errs->count].message = strdup(msg);
    if (!p[errs->count].path || !p[errs->count].message) {
        free(p[errs->count].path);
        free(p[errs->count].message);
        return;
    }
    errs->count++;
}

static void errs_add(evbus__config_errors_t *errs, const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    errs_vadd(errs, path, fmt, ap);
    va_end(ap);
}

void evbus__config_errors_add(evbus__config_errors_t *errs, const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    errs_vadd(errs, path, fmt, ap);
    va_end(ap);
}

void evbus__config_errors_clear(evbus__config_errors_t *errs) {
    if (!errs)
        return;
    for (size_t i = 0; i < errs->count; i++) {
        free(errs->items[i].path);
        free(errs->items[i].message);
    }
    free(errs->items);
    errs->items = NULL;
    errs->count = 0;
}

char *evbus__config_errors_join(const evbus__config_errors_t *errs) {
    evbus__buf_t b = EVBUS__BUF_INIT;
    for (size_t i = 0; i < errs->count; i++) {
        if (evbus__buf_printf(&b, "%s%s: %s", i ? "\n" : "", errs->items[i].path,
                              errs->items[i].message) != 0) {
            evbus__buf_free(&b);
            return NULL;
        }
    }
    return evbus__buf_steal(&b);
}

void evbus__config_errors_to_errstr(const evbus__config_errors_t *errs, char *errstr,
                                    size_t errstr_size) {
    if (!errstr || !errstr_size)
        return;
    errstr[0] = 0;
    size_t used = 0;
    for (size_t i = 0; i < errs->count; i++) {
        char line[1200];
        int n = snprintf(line, sizeof(line), "%s%s: %s", i ? "\n" : "", errs->items[i].path,
                         errs->items[i].message);
        char more[48];
        int m = snprintf(more, sizeof(more), "\n... (%zu more)", errs->count - i);
        if (n < 0 || m < 0)
            return;
        if ((size_t)n >= sizeof(line)) /* snprintf said what it would have written: use what fit */
            n = (int)sizeof(line) - 1;
        /* keep room to say how many were cut */
        if (used + (size_t)n + (i + 1 < errs->count ? (size_t)m : 0) + 1 > errstr_size) {
            if (used + (size_t)m + 1 <= errstr_size)
                memcpy(errstr + used, more, (size_t)m + 1);
            return;
        }
        memcpy(errstr + used, line, (size_t)n + 1);
        used += (size_t)n;
    }
}

/* $["<type>"] with the type JSON-escaped (cut to fit out). */
static void path_type(char *out, size_t size, const char *type) {
    evbus__buf_t b = EVBUS__BUF_INIT;
    if (evbus__buf_puts(&b, "$[") == 0 && evbus__json_write_string(&b, type, strlen(type)) == 0 &&
        evbus__buf_putc(&b, ']') == 0)
        snprintf(out, size, "%s", (const char *)b.data);
    else
        snprintf(out, size, "$[?]"); /* out of memory: the message still says where, roughly */
    evbus__buf_free(&b);
}

const char *evbus__json_kind(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* ---- the loaded config ---- */

static void topic_free(evbus__topic_conf_t *t) {
    free(t->topic);
    free(t->full_topic);
    free(t->key_field);
}

void evbus__config_destroy(evbus__config_t *cfg) {
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->ntypes; i++) {
        evbus__type_conf_t *tc = &cfg->types[i];
        for (size_t j = 0; j < tc->ntopics; j++)
            topic_free(&tc->topics[j]);
        free(tc->topics);
        free(tc->event_type);
    }
    free(cfg->types);
    free(cfg);
}

typedef struct load_ctx_s {
    const evbus__schema_store_t *store;
    const char *prefix;
    evbus__config_errors_t *errs;
    int nomem;
} load_ctx_t;

/*
 * Validate one topic entry (from either form) and fill *out.  ipath is the entry's path
 * ($["t"][0] or $["t"]["topic"]); topic_name is NULL in the list form (read from the entry).
 */
static void load_entry(load_ctx_t *ctx, const evbus__schema_entry_t *schema, const char *ipath,
                       const char *topic_name, json_t *entry, evbus__topic_conf_t *out) {
    char path[1600], why[512];
    const char *key;
    json_t *v;
    memset(out, 0, sizeof(*out));
    out->enabled = 1;
    if (!json_is_object(entry)) {
        errs_add(ctx->errs, ipath, "got %s, expected an object with %sevent_key_field and enabled",
                 evbus__json_kind(entry), topic_name ? "" : "topic, ");
        return;
    }
    json_object_foreach(entry, key, v) {
        snprintf(path, sizeof(path), "%s.%s", ipath, key);
        if (!topic_name && !strcmp(key, "topic")) {
            if (!json_is_string(v))
                errs_add(ctx->errs, path, "got %s, expected a topic name string", evbus__json_kind(v));
        } else if (!strcmp(key, "event_key_field")) {
            if (!json_is_string(v) || json_string_length(v) == 0)
                errs_add(ctx->errs, path, "got %s%s, expected a period-delimited field path",
                         json_is_string(v) ? "an empty string" : evbus__json_kind(v), "");
        } else if (!strcmp(key, "enabled")) {
            if (!json_is_boolean(v))
                errs_add(ctx->errs, path, "got %s, expected true or false", evbus__json_kind(v));
            else
                out->enabled = json_is_true(v);
        } else {
            errs_add(ctx->errs, path, "unknown key, expected one of %sevent_key_field, enabled",
                     topic_name ? "" : "topic, ");
        }
    }
    if (!topic_name) {
        json_t *t = json_object_get(entry, "topic");
        if (!t) {
            snprintf(path, sizeof(path), "%s.topic", ipath);
            errs_add(ctx->errs, path, "missing, expected a topic name string");
        }
        topic_name = json_is_string(t) ? json_string_value(t) : NULL;
    }
    if (topic_name) {
        snprintf(path, sizeof(path), "%s.topic", ipath);
        out->topic = strdup(topic_name);
        out->full_topic = evbus__topic_full(ctx->prefix, topic_name);
        if (!out->topic || !out->full_topic)
            ctx->nomem = 1;
        else if (evbus__topic_check(out->full_topic, why, sizeof(why)) != 0)
            errs_add(ctx->errs, path, "%s%s, expected a Kafka topic name of [A-Za-z0-9._-], "
                     "at most %d characters with the prefix",
                     why, ctx->prefix && *ctx->prefix ? " (after the prefix)" : "", EVBUS__TOPIC_MAX);
    }
    json_t *k = json_object_get(entry, "event_key_field");
    snprintf(path, sizeof(path), "%s.event_key_field", ipath);
    if (!k) {
        errs_add(ctx->errs, path, "missing, expected a period-delimited field path");
    } else if (json_is_string(k) && json_string_length(k) > 0) {
        out->key_field = strdup(json_string_value(k));
        if (!out->key_field)
            ctx->nomem = 1;
        else if (schema) {
            out->key_schema = evbus__keypath_resolve_schema(schema->doc->root, out->key_field, why,
                                                            sizeof(why));
            if (!out->key_schema)
                errs_add(ctx->errs, path, "key path \"%s\" does not resolve in the schema of %s: %s, "
                         "expected a path to a scalar field", out->key_field, schema->event_type, why);
        }
    }
}

static void load_type(load_ctx_t *ctx, const char *type, json_t *val, evbus__type_conf_t *tc) {
    char tpath[600], ipath[1280];
    path_type(tpath, sizeof(tpath), type);
    memset(tc, 0, sizeof(*tc));
    tc->event_type = strdup(type);
    if (!tc->event_type) {
        ctx->nomem = 1;
        return;
    }
    if (ctx->store) {
        tc->schema = evbus__schema_store_get(ctx->store, type);
        if (!tc->schema)
            errs_add(ctx->errs, tpath, "no schema for this event type in %s, expected a file %s.avsc",
                     evbus__schema_store_dir(ctx->store), type);
    }
    size_t n = json_is_array(val) ? json_array_size(val) : json_is_object(val) ? json_object_size(val) : 0;
    if (!json_is_array(val) && !json_is_object(val)) {
        errs_add(ctx->errs, tpath, "got %s, expected a list of topic entries or an object of topics",
                 evbus__json_kind(val));
        return;
    }
    if (n == 0) {
        errs_add(ctx->errs, tpath, "no topics, expected at least one topic entry");
        return;
    }
    tc->topics = calloc(n, sizeof(*tc->topics));
    if (!tc->topics) {
        ctx->nomem = 1;
        return;
    }
    if (json_is_array(val)) {
        size_t i;
        json_t *e;
        json_array_foreach(val, i, e) {
            snprintf(ipath, sizeof(ipath), "%s[%zu]", tpath, i);
            load_entry(ctx, tc->schema, ipath, NULL, e, &tc->topics[tc->ntopics++]);
        }
    } else {
        const char *topic;
        json_t *e;
        json_object_foreach(val, topic, e) {
            char tp[600];
            path_type(tp, sizeof(tp), topic); /* reuse the escaper: $["topic"] -> ["topic"] */
            snprintf(ipath, sizeof(ipath), "%s%s", tpath, tp + 1);
            load_entry(ctx, tc->schema, ipath, topic, e, &tc->topics[tc->ntopics++]);
        }
    }
    /* The same topic twice for one type would publish every event twice. */
    for (size_t i = 0; i < tc->ntopics; i++) {
        for (size_t j = 0; j < i; j++) {
            if (tc->topics[i].topic && tc->topics[j].topic &&
                !strcmp(tc->topics[i].topic, tc->topics[j].topic)) {
                snprintf(ipath, sizeof(ipath), "%s[%zu].topic", tpath, i);
                errs_add(ctx->errs, ipath, "topic \"%s\" is listed twice for this event type "
                         "(also at [%zu]), expected each topic once", tc->topics[i].topic, j);
                break;
            }
        }
    }
}

static int type_cmp(const void *a, const void *b) {
    return strcmp(((const evbus__type_conf_t *)a)->event_type,
                  ((const evbus__type_conf_t *)b)->event_type);
}

json_t *evbus__config_parse_source(const char *text_or_path, const char *what,
                                   evbus__config_errors_t *errs) {
    json_error_t jerr;
    const char *p = text_or_path;
    while (p && isspace((unsigned char)*p))
        p++;
    if (!p || !*p) {
        errs_add(errs, "$", "empty %s, expected JSON text or a file path", what);
        return NULL;
    }
    json_t *root;
    char where[600];
    if (*p == '{' || *p == '[') {
        root = json_loads(p, JSON_REJECT_DUPLICATES, &jerr);
        snprintf(where, sizeof(where), "$");
    } else {
        root = json_load_file(p, JSON_REJECT_DUPLICATES, &jerr);
        snprintf(where, sizeof(where), "%s", p);
    }
    if (!root) {
        if (jerr.line < 0)
            errs_add(errs, where, "%s, expected a readable JSON file", jerr.text);
        else
            errs_add(errs, where, "JSON syntax error at line %d column %d: %s, expected valid JSON",
                     jerr.line, jerr.column, jerr.text);
    }
    return root;
}

/* A type's topics as the dict-of-topics form (a new reference), so two configs can be merged
 * topic by topic; NULL when the list form is malformed (validation of the merge reports it). */
static json_t *topics_as_dict(json_t *v) {
    if (!json_is_array(v))
        return json_incref(v);
    json_t *d = json_object(), *item;
    size_t i;
    json_array_foreach(v, i, item) {
        const char *topic = json_string_value(json_object_get(item, "topic"));
        json_t *rest = json_is_object(item) ? json_deep_copy(item) : NULL;
        if (!d || !topic || !rest || json_object_del(rest, "topic") != 0 ||
            json_object_set_new(d, topic, rest) != 0) {
            json_decref(rest);
            json_decref(d);
            return NULL;
        }
    }
    return d;
}

/* openedx-events' merge_producer_configs(): every event type/topic pair of over is added to
 * into; where both have a pair, over's enabled and event_key_field win. -1 on a shape the
 * rules do not cover (then into is left for validation to report). */
static int merge_into(json_t *into, json_t *over) {
    const char *type, *topic;
    json_t *tv, *cv;
    json_object_foreach(over, type, tv) {
        json_t *od = topics_as_dict(tv), *id = json_object_get(into, type);
        json_t *idd = id ? topics_as_dict(id) : json_object();
        if (!od || !idd || !json_is_object(od) || !json_is_object(idd)) {
            json_decref(od);
            json_decref(idd);
            return -1;
        }
        json_object_foreach(od, topic, cv) {
            json_t *cur = json_object_get(idd, topic);
            if (!cur) {
                json_object_set(idd, topic, cv);
                continue;
            }
            if (!json_is_object(cur) || !json_is_object(cv))
                continue;
            json_t *e = json_object_get(cv, "enabled"), *k = json_object_get(cv, "event_key_field");
            if (e && !json_is_null(e))
                json_object_set(cur, "enabled", e);
            if (k && !json_is_null(k))
                json_object_set(cur, "event_key_field", k);
        }
        json_decref(od);
        json_object_set_new(into, type, idd);
    }
    return 0;
}

/* Several producer configs, merged in order: a JSON array of JSON objects or file paths. */
static json_t *parse_sources(json_t *list, evbus__config_errors_t *errs) {
    json_t *merged = json_object(), *item;
    size_t i;
    if (!merged) {
        errs_add(errs, "$", "out of memory");
        return NULL;
    }
    json_array_foreach(list, i, item) {
        char where[32];
        snprintf(where, sizeof(where), "$[%zu]", i);
        json_t *one = json_is_string(item) ? evbus__config_parse_source(json_string_value(item), "producer config", errs)
                                           : json_incref(item);
        if (!one)
            continue;
        if (!json_is_object(one))
            errs_add(errs, where, "got %s, expected a producer config object or a file path",
                     evbus__json_kind(one));
        else if (merge_into(merged, one) != 0)
            errs_add(errs, where, "cannot be merged: a type's topics are neither a list of "
                                  "{\"topic\", ...} nor an object of topics");
        json_decref(one);
    }
    if (errs->count > 0) {
        json_decref(merged);
        return NULL;
    }
    return merged;
}

evbus__config_t *evbus__config_load(const char *text_or_path, const evbus__schema_store_t *store,
                                    const char *prefix, evbus__config_errors_t *errs) {
    load_ctx_t ctx = {store, prefix, errs, 0};
    json_t *root = evbus__config_parse_source(text_or_path, "producer config", errs);
    if (!root)
        return NULL;
    if (json_is_array(root)) {
        json_t *merged = parse_sources(root, errs);
        json_decref(root);
        if (!(root = merged))
            return NULL;
    }
    evbus__config_t *cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        json_decref(root);
        errs_add(errs, "$", "out of memory");
        return NULL;
    }
    if (!json_is_object(root)) {
        errs_add(errs, "$", "got %s, expected an object mapping event types to topics",
                 evbus__json_kind(root));
    } else if (json_object_size(root) == 0) {
        /* {} is valid, as for the Python bus: a producer that sends nothing (every type is
         * EVBUS_ERR_UNKNOWN_TYPE) */
    } else {
        cfg->types = calloc(json_object_size(root), sizeof(*cfg->types));
        if (!cfg->types) {
            ctx.nomem = 1;
        } else {
            const char *type;
            json_t *val;
            json_object_foreach(root, type, val) {
                load_type(&ctx, type, val, &cfg->types[cfg->ntypes++]);
            }
            qsort(cfg->types, cfg->ntypes, sizeof(*cfg->types), type_cmp);
        }
    }
    json_decref(root);
    if (ctx.nomem)
        errs_add(errs, "$", "out of memory");
    if (errs->count > 0 || ctx.nomem) {
        evbus__config_destroy(cfg);
        return NULL;
    }
    return cfg;
}

const evbus__type_conf_t *evbus__config_find(const evbus__config_t *cfg, const char *event_type) {
    if (!cfg || !event_type || cfg->ntypes == 0) /* {}: no types array at all */
        return NULL;
    evbus__type_conf_t k;
    k.event_type = (char *)event_type;
    return bsearch(&k, cfg->types, cfg->ntypes, sizeof(k), type_cmp);
}
