/*
 * Loading and validating the consumer config file (see consumer_config.h).  Values that are
 * evbus configuration names (retry, DLQ suffix) are checked by evbus_conf_set itself, so their
 * ranges live only in conf.c's table.
 */
#include "consumer_config.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>

#include <evbus/evbus.h>

void evbus_cli_config_errors_add(evbus_cli_config_errors_t *errs, const char *path, const char *fmt,
                                 ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    evbus_cli_config_error_t *p = realloc(errs->items, (errs->count + 1) * sizeof(*p));
    if (!p)
        return;
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

void evbus_cli_config_errors_clear(evbus_cli_config_errors_t *errs) {
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

/* "an object", "a string", ... for "<kind>, expected <what>" messages. */
static const char *json_kind(const json_t *v) {
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

/* JSON text (starting with '{' or '[') or the path of a file holding it; NULL + a problem. */
static json_t *parse_source(const char *text_or_path, const char *what,
                                             evbus_cli_config_errors_t *errs) {
    json_error_t jerr;
    const char *p = text_or_path;
    while (p && isspace((unsigned char)*p))
        p++;
    if (!p || !*p) {
        evbus_cli_config_errors_add(errs, "$", "empty %s, expected JSON text or a file path", what);
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
            evbus_cli_config_errors_add(errs, where, "%s, expected a readable JSON file", jerr.text);
        else
            evbus_cli_config_errors_add(errs, where,
                                        "JSON syntax error at line %d column %d: %s, expected valid JSON",
                                        jerr.line, jerr.column, jerr.text);
    }
    return root;
}

/* retry.max, retry.backoff.ms, dlq.topic.suffix: name and value each, and the NULL. */
#define CONF_SLOTS 7

typedef struct load_s {
    evbus_cli_config_errors_t *errs;
    const char *base; /* directory of the file, for relative plugin paths; NULL for JSON text */
    int nomem;
} load_t;

#define ERR(l, path, ...) evbus_cli_config_errors_add((l)->errs, path, __VA_ARGS__)

static char *dup_or_flag(load_t *l, const char *s) {
    char *r = strdup(s);
    if (!r)
        l->nomem = 1;
    return r;
}

/* Report keys of obj that are not in known (NULL-terminated). */
static void unknown_keys(load_t *l, const char *path, json_t *obj, const char *const *known,
                         const char *expected) {
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], k))
            i++;
        if (!known[i])
            ERR(l, path, "unknown key \"%s\", expected %s", k, expected);
    }
}

/* A non-empty array of non-empty strings; NULL-terminated copy, or NULL (reported). */
static char **string_list(load_t *l, const char *path, json_t *arr, size_t *np, int topics) {
    char p[256];
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        ERR(l, path, "%s, expected a non-empty array of strings",
            json_is_array(arr) ? "empty array" : json_kind(arr));
        return NULL;
    }
    size_t n = json_array_size(arr), bad = 0;
    char **out = calloc(n + 1, sizeof(char *));
    if (!out) {
        l->nomem = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        const char *s = json_string_value(v);
        char why[256];
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        if (!s || !*s) {
            ERR(l, p, "%s, expected a non-empty string", s ? "empty string" : json_kind(v));
            bad++;
        } else if (topics && evbus_topic_check(s, why, sizeof(why)) != 0) {
            ERR(l, p, "%s, expected a legal Kafka topic name", why);
            bad++;
        } else {
            for (size_t k = 0; k < i; k++)
                if (out[k] && !strcmp(out[k], s)) {
                    ERR(l, p, "\"%s\" given twice, expected each once", s);
                    bad++;
                    break;
                }
            out[i] = dup_or_flag(l, s);
        }
    }
    /* Entries may be missing where an error was reported: the result is thrown away then. */
    if (np)
        *np = n;
    if (bad || l->nomem) {
        for (size_t i = 0; i < n; i++)
            free(out[i]);
        free(out);
        return NULL;
    }
    return out;
}

static void free_list(char **v) {
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static char **settings_list(load_t *l, const char *path, json_t *obj) {
    if (!json_is_object(obj)) {
        ERR(l, path, "%s, expected an object of setting names to strings", json_kind(obj));
        return NULL;
    }
    size_t n = json_object_size(obj), i = 0;
    char **out = calloc(2 * n + 1, sizeof(char *));
    if (!out) {
        l->nomem = 1;
        return NULL;
    }
    const char *k;
    json_t *v;
    int bad = 0;
    json_object_foreach(obj, k, v) {
        char p[300], num[64];
        snprintf(p, sizeof(p), "%s.%s", path, k);
        const char *s = NULL;
        /* Numbers and booleans are written naturally in JSON; the plugin reads text. */
        if (json_is_string(v))
            s = json_string_value(v);
        else if (json_is_integer(v))
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v)), s = num;
        else if (json_is_boolean(v))
            s = json_is_true(v) ? "true" : "false";
        if (!*k) {
            ERR(l, path, "empty setting name, expected a name");
            bad = 1;
        } else if (!s) {
            ERR(l, p, "%s, expected a string, an integer or a boolean", json_kind(v));
            bad = 1;
        } else if (!bad) {
            out[i++] = dup_or_flag(l, k);
            out[i++] = dup_or_flag(l, s);
        }
    }
    if (bad || l->nomem) {
        for (size_t j = 0; j < 2 * n; j++)
            free(out[j]);
        free(out);
        return NULL;
    }
    return out;
}

static void load_plugin(load_t *l, size_t idx, json_t *o, evbus_cli_cplugin_t *pl) {
    char path[64], p[96];
    snprintf(path, sizeof(path), "$.plugins[%zu]", idx);
    pl->isolate = -1;
    if (!json_is_object(o)) {
        ERR(l, path, "%s, expected an object {\"path\": ...}", json_kind(o));
        return;
    }
    static const char *const known[] = {"path", "isolate", "settings", "subscriptions", NULL};
    unknown_keys(l, path, o, known, "path, isolate, settings or subscriptions");
    json_t *v = json_object_get(o, "path");
    snprintf(p, sizeof(p), "%s.path", path);
    const char *s = json_string_value(v);
    if (!v) {
        ERR(l, path, "missing \"path\", expected a plugin file or directory");
    } else if (!s || !*s) {
        ERR(l, p, "%s, expected the path of a plugin (.so) or a directory of plugins",
            s ? "empty string" : json_kind(v));
    } else {
        size_t len = (l->base && *s != '/' ? strlen(l->base) + 1 : 0) + strlen(s) + 1;
        if (!(pl->path = malloc(len))) {
            l->nomem = 1;
            return;
        }
        if (l->base && *s != '/')
            snprintf(pl->path, len, "%s/%s", l->base, s);
        else
            snprintf(pl->path, len, "%s", s);
        struct stat sb;
        if (stat(pl->path, &sb) != 0)
            ERR(l, p, "\"%s\" does not exist, expected a plugin file or directory", pl->path);
        else if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
            ERR(l, p, "\"%s\" is neither a file nor a directory, expected a plugin or a directory",
                pl->path);
    }
    if ((v = json_object_get(o, "isolate"))) {
        snprintf(p, sizeof(p), "%s.isolate", path);
        if (!json_is_boolean(v))
            ERR(l, p, "%s, expected true or false", json_kind(v));
        else
            pl->isolate = json_is_true(v);
    }
    if ((v = json_object_get(o, "settings"))) {
        snprintf(p, sizeof(p), "%s.settings", path);
        pl->settings = settings_list(l, p, v);
    }
    if (!pl->settings && !(pl->settings = calloc(1, sizeof(char *))))
        l->nomem = 1;
    if ((v = json_object_get(o, "subscriptions"))) {
        snprintf(p, sizeof(p), "%s.subscriptions", path);
        pl->subscriptions = string_list(l, p, v, NULL, 0);
    }
}

/* One evbus configuration name from the file, checked by evbus_conf_set. */
static void conf_value(load_t *l, evbus_cli_consumer_config_t *cc, size_t *nconf, const char *path,
                       const char *name, json_t *v, int integer) {
    char num[64], err[512];
    const char *s = NULL;
    if (integer && json_is_integer(v))
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v)), s = num;
    else if (!integer && json_is_string(v))
        s = json_string_value(v);
    if (!s) {
        ERR(l, path, "%s, expected %s", json_kind(v), integer ? "an integer" : "a string");
        return;
    }
    evbus_conf_t *scratch = evbus_conf_new();
    if (!scratch) {
        l->nomem = 1;
        return;
    }
    evbus_conf_res_t r = evbus_conf_set(scratch, name, s, err, sizeof(err));
    evbus_conf_destroy(scratch);
    if (r != EVBUS_CONF_OK) {
        ERR(l, path, "%s", err);
        return;
    }
    cc->conf[(*nconf)++] = dup_or_flag(l, name);
    cc->conf[(*nconf)++] = dup_or_flag(l, s);
}

static void load_root(load_t *l, json_t *root, evbus_cli_consumer_config_t *cc) {
    static const char *const known[] = {"topics", "group", "plugins", "retry", "dlq_suffix", NULL};
    unknown_keys(l, "$", root, known, "topics, group, plugins, retry or dlq_suffix");
    json_t *v;
    if ((v = json_object_get(root, "topics")))
        cc->topics = string_list(l, "$.topics", v, &cc->ntopics, 1);
    if (!cc->topics) {
        cc->ntopics = 0;
        if (!(cc->topics = calloc(1, sizeof(char *))))
            l->nomem = 1;
    }
    if ((v = json_object_get(root, "group"))) {
        if (!json_is_string(v) || !*json_string_value(v))
            ERR(l, "$.group", "%s, expected a non-empty string",
                json_is_string(v) ? "empty string" : json_kind(v));
        else
            cc->group = dup_or_flag(l, json_string_value(v));
    }
    if ((v = json_object_get(root, "plugins"))) {
        if (!json_is_array(v)) {
            ERR(l, "$.plugins", "%s, expected an array of {\"path\": ...} objects", json_kind(v));
        } else if (json_array_size(v) > 0) {
            cc->nplugins = json_array_size(v);
            if (!(cc->plugins = calloc(cc->nplugins, sizeof(*cc->plugins))))
                l->nomem = 1;
            for (size_t i = 0; cc->plugins && i < cc->nplugins; i++)
                load_plugin(l, i, json_array_get(v, i), &cc->plugins[i]);
        }
    }
    size_t nconf = 0;
    if (!(cc->conf = calloc(CONF_SLOTS, sizeof(char *)))) {
        l->nomem = 1;
        return;
    }
    if ((v = json_object_get(root, "retry"))) {
        if (!json_is_object(v)) {
            ERR(l, "$.retry", "%s, expected an object {\"max\": N, \"backoff_ms\": N}", json_kind(v));
        } else {
            static const char *const rk[] = {"max", "backoff_ms", NULL};
            unknown_keys(l, "$.retry", v, rk, "max or backoff_ms");
            json_t *x;
            if ((x = json_object_get(v, "max")))
                conf_value(l, cc, &nconf, "$.retry.max", "retry.max", x, 1);
            if ((x = json_object_get(v, "backoff_ms")))
                conf_value(l, cc, &nconf, "$.retry.backoff_ms", "retry.backoff.ms", x, 1);
        }
    }
    if ((v = json_object_get(root, "dlq_suffix"))) {
        if (json_is_string(v) && !*json_string_value(v))
            ERR(l, "$.dlq_suffix", "empty string, expected a suffix such as \".dlq\" (the DLQ "
                "must not be the topic itself)");
        else
            conf_value(l, cc, &nconf, "$.dlq_suffix", "dlq.topic.suffix", v, 0);
    }
}

void evbus_cli_consumer_config_destroy(evbus_cli_consumer_config_t *cc) {
    if (!cc)
        return;
    free_list(cc->topics);
    free(cc->group);
    for (size_t i = 0; i < cc->nplugins && cc->plugins; i++) {
        free(cc->plugins[i].path);
        free_list(cc->plugins[i].settings);
        free_list(cc->plugins[i].subscriptions);
    }
    free(cc->plugins);
    /* Every slot: a copy that ran out of memory leaves a NULL before later ones. */
    for (size_t i = 0; cc->conf && i < CONF_SLOTS; i++)
        free(cc->conf[i]);
    free(cc->conf);
    free(cc);
}

evbus_cli_consumer_config_t *evbus_cli_consumer_config_load(const char *text_or_path,
                                                      evbus_cli_config_errors_t *errs) {
    json_t *root = parse_source(text_or_path, "consumer config", errs);
    if (!root)
        return NULL;
    load_t l = {errs, NULL, 0};
    char *dir = NULL;
    const char *t = text_or_path;
    while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
        t++;
    if (*t != '{' && *t != '[') {
        char *copy = strdup(t);
        if (!copy || !(dir = strdup(dirname(copy))))
            l.nomem = 1;
        free(copy);
        l.base = dir;
    }
    evbus_cli_consumer_config_t *cc = calloc(1, sizeof(*cc));
    if (!cc)
        l.nomem = 1;
    else if (!json_is_object(root))
        ERR(&l, "$", "%s, expected an object {\"topics\": [...], \"group\": ..., \"plugins\": [...]}",
            json_kind(root));
    else
        load_root(&l, root, cc);
    json_decref(root);
    free(dir);
    if (l.nomem)
        ERR(&l, "$", "out of memory");
    if (errs->count) {
        evbus_cli_consumer_config_destroy(cc);
        return NULL;
    }
    return cc;
}
