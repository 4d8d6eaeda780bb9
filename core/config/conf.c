/*
 * evbus_conf_t: name/value pairs validated at set time.  evbus's own names are in one
 * table with their kind and default; "kafka.<name>" (and, for convenience, any bare
 * librdkafka property) is checked against librdkafka itself on a scratch configuration,
 * so a typo fails at set time instead of at producer creation.
 */
#include "conf.h"

#include "schema.h"

#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_STR, K_INT, K_BOOL } conf_kind_t;

typedef struct conf_prop_s {
    const char *name;
    conf_kind_t kind;
    const char *def;
    int64_t min, max;
    int secret;
} conf_prop_t;

static const conf_prop_t props[] = {
    {"producer.config", K_STR, NULL, 0, 0, 0},
    {"topic.prefix", K_STR, NULL, 0, 0, 0},
    {"schema.dir", K_STR, NULL, 0, 0, 0},
    {"schema.registry.url", K_STR, NULL, 0, 0, 0},
    {"schema.registry.api.key", K_STR, NULL, 0, 0, 0},
    {"schema.registry.api.secret", K_STR, NULL, 0, 0, 1},
    {"schema.registry.timeout.ms", K_INT, "10000", 1, 600000, 0},
    {"source", K_STR, NULL, 0, 0, 0},
    {"service", K_STR, "evbus", 0, 0, 0},
    {"consumer.group", K_STR, NULL, 0, 0, 0},
    {"dlq.topic.suffix", K_STR, ".dlq", 0, 0, 0},
    {"retry.max", K_INT, "3", 0, 1000, 0},
    {"retry.backoff.ms", K_INT, "100", 0, 3600000, 0},
    {"retry.backoff.max.ms", K_INT, "10000", 0, 3600000, 0},
    /* As Java's max.block.ms: send waits this long for room before EVBUS_ERR_QUEUE_FULL. */
    {"queue.full.timeout.ms", K_INT, "60000", 0, 3600000, 0},
    {"producer.transactional", K_BOOL, "false", 0, 0, 0},
    /* A transaction is committed after this many events or this long after its first. */
    {"producer.transaction.max.events", K_INT, "10000", 1, 10000000, 0},
    {"producer.transaction.interval.ms", K_INT, "100", 1, 3600000, 0},
    /* The crash-safe spool (README "Crash safety"): unset, events live in memory only until
     * delivered; set, send returns only once the event is written there. */
    {"producer.spool.dir", K_STR, NULL, 0, 0, 0},
    {"producer.spool.sync", K_STR, "interval", 0, 0, 0},
    {"producer.spool.sync.interval.ms", K_INT, "100", 1, 3600000, 0},
    {"producer.spool.max.bytes", K_INT, "1073741824", 4096, INT64_MAX, 0},
    /* unset or 0: retry transient failures for ever, as the Python bus does without its limit */
    {"consumer.max.consecutive.errors", K_INT, NULL, 0, INT64_MAX, 0},
    /* Backpressure: events received and not yet finished (async handlers included), in all and
     * per partition; reaching one pauses the partitions it covers until half of it is left.
     * 0: unbounded. */
    {"consumer.max.in.flight", K_INT, "10000", 0, 100000000, 0},
    {"consumer.max.in.flight.per.partition", K_INT, "2000", 0, 100000000, 0},
    {"handler.timeout.ms", K_INT, "30000", 1, 86400000, 0},
    {"plugin.isolate", K_BOOL, "false", 0, 0, 0},
    {"workers", K_INT, "4", 1, 256, 0},
    {"sasl.username", K_STR, NULL, 0, 0, 0},
    {"sasl.password", K_STR, NULL, 0, 0, 1},
    /* auto: confluent framing when schema.registry.url is set, else single-object */
    {"wire.format", K_STR, "auto", 0, 0, 0},
    /* the sourcelib header; unset: evbus's version (the Python bus puts openedx-events') */
    {"sourcelib", K_STR, NULL, 0, 0, 0},
    /* where a group with no committed offset starts: latest, as the Python bus */
    {"consumer.start", K_STR, "latest", 0, 0, 0},
    /* false: `consume` logs that and exits 0 (EVENT_BUS_KAFKA_CONSUMERS_ENABLED) */
    {"consumers.enabled", K_BOOL, "true", 0, 0, 0},
    /* how long evbus_consumer_run() waits in one poll (EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT,
     * seconds there); short so that a stop is seen soon */
    {"consumer.poll.timeout.ms", K_INT, "100", 1, 3600000, 0},
    /* after a poll that returned only an error, wait this long before polling again
     * (EVENT_BUS_KAFKA_CONSUMER_POLL_FAILURE_SLEEP, seconds there), as the Python bus */
    {"consumer.poll.failure.sleep.ms", K_INT, "1000", 0, 3600000, 0},
    /* What a failing sync subscriber of evbus.event.received does to the event: it is
     * committed unseen (commit) or written to the dead-letter topic (dlq). */
    {"received.veto", K_STR, "commit", 0, 0, 0},
    /* Operating (README "Operating"): audit lines, the statistics period behind the lag and
     * queue metrics, and how long a stalled poll loop stays healthy. */
    {"audit.log", K_BOOL, "false", 0, 0, 0},
    {"metrics.interval.ms", K_INT, "1000", 0, 3600000, 0},
    {"health.poll.timeout.ms", K_INT, "30000", 100, 86400000, 0},
};

/* Names whose value is one of a few words. */
static const struct {
    const char *name;
    const char *const words[4];
} word_props[] = {
    {"wire.format", {"auto", "confluent", "single-object", NULL}},
    {"consumer.start", {"latest", "earliest", NULL}},
    {"received.veto", {"commit", "dlq", NULL}},
    {"producer.spool.sync", {"interval", "always", "none", NULL}},
};
#define NPROPS (sizeof(props) / sizeof(props[0]))

typedef struct conf_kv_s {
    char *name;
    char *value;
} conf_kv_t;

#define CONF_MAX_CBS 8

struct evbus_conf_s {
    conf_kv_t *kv; /* insertion order: librdkafka sees properties in the order they were set */
    size_t n, cap;
    struct {
        const char *slot; /* static string */
        evbus__fn_t fn;
        void *opaque;
    } cbs[CONF_MAX_CBS];
    /* evbus_conf_add_schema(): schema texts in the order added (a later one of a type wins). */
    char **schemas;
    size_t *schema_lens;
    size_t nschemas;
};

static const conf_prop_t *prop_find(const char *name) {
    for (size_t i = 0; i < NPROPS; i++)
        if (strcmp(props[i].name, name) == 0)
            return &props[i];
    return NULL;
}

int evbus__conf_is_secret(const char *name) {
    const conf_prop_t *p = prop_find(name);
    if (p)
        return p->secret;
    /* librdkafka's secrets: sasl.password, ssl.key.password, ssl.keystore.password,
     * sasl.oauthbearer.client.secret, ssl.key.pem ... */
    return strstr(name, "password") || strstr(name, "secret") || strstr(name, "key.pem") ||
           strstr(name, "sasl.oauthbearer.config");
}

evbus_conf_t *evbus_conf_new(void) {
    return calloc(1, sizeof(evbus_conf_t));
}

void evbus_conf_destroy(evbus_conf_t *conf) {
    if (!conf)
        return;
    for (size_t i = 0; i < conf->n; i++) {
        free(conf->kv[i].name);
        if (conf->kv[i].value) /* scrub secrets before they go back to the allocator */
            memset(conf->kv[i].value, 0, strlen(conf->kv[i].value));
        free(conf->kv[i].value);
    }
    free(conf->kv);
    for (size_t i = 0; i < conf->nschemas; i++)
        free(conf->schemas[i]);
    free(conf->schemas);
    free(conf->schema_lens);
    free(conf);
}

static conf_kv_t *kv_find(const evbus_conf_t *conf, const char *name) {
    for (size_t i = 0; i < conf->n; i++)
        if (strcmp(conf->kv[i].name, name) == 0)
            return &conf->kv[i];
    return NULL;
}

static int kv_put(evbus_conf_t *conf, const char *name, const char *value) {
    char *v = strdup(value);
    if (!v)
        return -1;
    conf_kv_t *kv = kv_find(conf, name);
    if (kv) {
        free(kv->value);
        kv->value = v;
        return 0;
    }
    if (conf->n == conf->cap) {
        size_t cap = conf->cap ? conf->cap * 2 : 16;
        conf_kv_t *p = realloc(conf->kv, cap * sizeof(*p));
        if (!p) {
            free(v);
            return -1;
        }
        conf->kv = p;
        conf->cap = cap;
    }
    char *nm = strdup(name);
    if (!nm) {
        free(v);
        return -1;
    }
    conf->kv[conf->n].name = nm;
    conf->kv[conf->n].value = v;
    conf->n++;
    return 0;
}

/* Append a copy of json[0..len) (NUL-terminated) to conf's schema texts. */
static int schema_put(evbus_conf_t *conf, const char *json, size_t len) {
    char *t = malloc(len + 1);
    char **ts = t ? realloc(conf->schemas, (conf->nschemas + 1) * sizeof(*ts)) : NULL;
    if (ts)
        conf->schemas = ts;
    size_t *ls = ts ? realloc(conf->schema_lens, (conf->nschemas + 1) * sizeof(*ls)) : NULL;
    if (!ls) {
        free(t);
        return -1;
    }
    conf->schema_lens = ls;
    memcpy(t, json, len);
    t[len] = 0;
    conf->schemas[conf->nschemas] = t;
    conf->schema_lens[conf->nschemas++] = len;
    return 0;
}

evbus_err_t evbus_conf_add_schema(evbus_conf_t *conf, const char *json, size_t len, char *errstr,
                                  size_t errstr_size) {
    char err[400];
    if (!conf || !json)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "conf and schema_json must not be NULL");
    /* Parsed now so that a bad schema is the caller's error here, not a producer's later;
     * the store parses the text again when a producer or consumer is made. */
    evbus__schema_doc_t *doc = evbus__schema_parse(json, len, err, sizeof(err));
    if (!doc)
        return evbus__fail(EVBUS_ERR_SCHEMA, errstr, errstr_size, "schema: %s", err);
    const evbus__schema_t *r = doc->root;
    int named = r->kind == EVBUS__AVRO_RECORD && strrchr(r->fullname, '.') != NULL;
    evbus__schema_doc_destroy(doc);
    if (!named)
        return evbus__fail(EVBUS_ERR_SCHEMA, errstr, errstr_size,
                           "schema: the top-level type must be a record whose namespace is the "
                           "event type");
    if (schema_put(conf, json, len) != 0)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    return EVBUS_OK;
}

size_t evbus__conf_schema_count(const evbus_conf_t *conf) { return conf ? conf->nschemas : 0; }

const char *evbus__conf_schema_at(const evbus_conf_t *conf, size_t i, size_t *lenp) {
    if (!conf || i >= conf->nschemas)
        return NULL;
    *lenp = conf->schema_lens[i];
    return conf->schemas[i];
}

evbus_conf_t *evbus_conf_dup(const evbus_conf_t *conf) {
    evbus_conf_t *c = evbus_conf_new();
    if (!c || !conf)
        return c;
    memcpy(c->cbs, conf->cbs, sizeof(c->cbs));
    for (size_t i = 0; i < conf->n; i++) {
        if (kv_put(c, conf->kv[i].name, conf->kv[i].value) != 0) {
            evbus_conf_destroy(c);
            return NULL;
        }
    }
    for (size_t i = 0; i < conf->nschemas; i++) {
        if (schema_put(c, conf->schemas[i], conf->schema_lens[i]) != 0) {
            evbus_conf_destroy(c);
            return NULL;
        }
    }
    return c;
}

int evbus__conf_set_cb(evbus_conf_t *conf, const char *slot, evbus__fn_t fn, void *opaque) {
    for (size_t i = 0; i < CONF_MAX_CBS; i++) {
        if (!conf->cbs[i].slot || !strcmp(conf->cbs[i].slot, slot)) {
            conf->cbs[i].slot = slot;
            conf->cbs[i].fn = fn;
            conf->cbs[i].opaque = opaque;
            return 0;
        }
    }
    return -1;
}

evbus__fn_t evbus__conf_get_cb(const evbus_conf_t *conf, const char *slot, void **opaquep) {
    for (size_t i = 0; conf && i < CONF_MAX_CBS && conf->cbs[i].slot; i++) {
        if (!strcmp(conf->cbs[i].slot, slot)) {
            if (opaquep)
                *opaquep = conf->cbs[i].opaque;
            return conf->cbs[i].fn;
        }
    }
    if (opaquep)
        *opaquep = NULL;
    return NULL;
}

static int parse_int(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out) {
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes"))
        *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no"))
        *out = 0;
    else
        return -1;
    return 0;
}

/* Ask librdkafka whether it knows name and accepts value, on a throwaway conf. */
static evbus_conf_res_t kafka_check(const char *name, const char *value, char *errstr,
                                    size_t errstr_size) {
    char kerr[512];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    if (!kc) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        return EVBUS_CONF_INVALID;
    }
    rd_kafka_conf_res_t r = rd_kafka_conf_set(kc, name, value, kerr, sizeof(kerr));
    rd_kafka_conf_destroy(kc);
    if (r == RD_KAFKA_CONF_OK)
        return EVBUS_CONF_OK;
    if (r == RD_KAFKA_CONF_UNKNOWN) {
        evbus__seterr(errstr, errstr_size, "unknown configuration name \"%s\"", name);
        return EVBUS_CONF_UNKNOWN;
    }
    if (evbus__conf_is_secret(name))
        evbus__seterr(errstr, errstr_size, "invalid value for \"%s\" (value not shown)", name);
    else
        evbus__seterr(errstr, errstr_size, "%s", kerr);
    return EVBUS_CONF_INVALID;
}

evbus_conf_res_t evbus_conf_set(evbus_conf_t *conf, const char *name, const char *value,
                                char *errstr, size_t errstr_size) {
    if (!conf || !name || !value) {
        evbus__seterr(errstr, errstr_size, "conf, name and value must not be NULL");
        return EVBUS_CONF_INVALID;
    }
    const conf_prop_t *p = prop_find(name);
    char kname[512];
    if (p) {
        int64_t iv;
        int bv;
        if (p->kind == K_INT &&
            (parse_int(value, &iv) != 0 || iv < p->min || iv > p->max)) {
            evbus__seterr(errstr, errstr_size,
                          "invalid value \"%s\" for \"%s\", expected an integer %lld..%lld", value,
                          name, (long long)p->min, (long long)p->max);
            return EVBUS_CONF_INVALID;
        }
        for (size_t i = 0; i < sizeof(word_props) / sizeof(word_props[0]); i++) {
            if (strcmp(word_props[i].name, name) != 0)
                continue;
            size_t k = 0;
            while (word_props[i].words[k] && strcmp(word_props[i].words[k], value) != 0)
                k++;
            if (!word_props[i].words[k]) {
                evbus__seterr(errstr, errstr_size, "invalid value \"%s\" for \"%s\", expected %s|%s%s%s",
                              value, name, word_props[i].words[0], word_props[i].words[1],
                              word_props[i].words[2] ? "|" : "",
                              word_props[i].words[2] ? word_props[i].words[2] : "");
                return EVBUS_CONF_INVALID;
            }
        }
        if (p->kind == K_BOOL && parse_bool(value, &bv) != 0) {
            evbus__seterr(errstr, errstr_size,
                          "invalid value \"%s\" for \"%s\", expected true or false", value, name);
            return EVBUS_CONF_INVALID;
        }
    } else if (!strncmp(name, "plugin.", 7)) {
        /* A plugin's own setting, read by the plugin through evbus_plugin_ctx_get(): any
         * string, but the name must say whose and what. */
        const char *dot = strchr(name + 7, '.');
        if (!dot || dot == name + 7 || !dot[1]) {
            evbus__seterr(errstr, errstr_size,
                          "invalid name \"%s\", expected plugin.<plugin name>.<key>", name);
            return EVBUS_CONF_INVALID;
        }
    } else {
        /* kafka.<name>, or a bare librdkafka name which is stored as kafka.<name>. */
        const char *kprop = strncmp(name, "kafka.", 6) == 0 ? name + 6 : name;
        evbus_conf_res_t r = kafka_check(kprop, value, errstr, errstr_size);
        if (r != EVBUS_CONF_OK)
            return r;
        if ((size_t)snprintf(kname, sizeof(kname), "kafka.%s", kprop) >= sizeof(kname)) {
            evbus__seterr(errstr, errstr_size, "configuration name too long");
            return EVBUS_CONF_INVALID;
        }
        name = kname;
    }
    if (kv_put(conf, name, value) != 0) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        return EVBUS_CONF_INVALID;
    }
    return EVBUS_CONF_OK;
}

const char *evbus_conf_get(const evbus_conf_t *conf, const char *name) {
    if (!conf || !name)
        return NULL;
    conf_kv_t *kv = kv_find(conf, name);
    return kv ? kv->value : NULL;
}

const char *evbus__conf_str(const evbus_conf_t *conf, const char *name) {
    const char *v = evbus_conf_get(conf, name);
    if (v)
        return v;
    const conf_prop_t *p = prop_find(name);
    return p ? p->def : NULL;
}

char *evbus__conf_source(const evbus_conf_t *conf) {
    const char *src = evbus_conf_get(conf, "source");
    if (src)
        return evbus__strdup(src);
    const char *svc = evbus__conf_str(conf, "service");
    size_t n = strlen(svc) + sizeof("openedx//web");
    char *r = malloc(n);
    if (r)
        snprintf(r, n, "openedx/%s/web", svc);
    return r;
}

int64_t evbus__conf_int(const evbus_conf_t *conf, const char *name) {
    const char *v = evbus__conf_str(conf, name);
    int64_t iv = 0;
    if (v && parse_int(v, &iv) == 0)
        return iv;
    return 0;
}

evbus__wire_format_t evbus__conf_wire_format(const evbus_conf_t *conf) {
    const char *w = evbus__conf_str(conf, "wire.format");
    const char *url = evbus_conf_get(conf, "schema.registry.url");
    if (!strcmp(w, "confluent"))
        return EVBUS__WIRE_CONFLUENT;
    if (!strcmp(w, "single-object"))
        return EVBUS__WIRE_SINGLE_OBJECT;
    return url && *url ? EVBUS__WIRE_CONFLUENT : EVBUS__WIRE_SINGLE_OBJECT;
}

const char *evbus__wire_format_name(evbus__wire_format_t f) {
    return f == EVBUS__WIRE_CONFLUENT ? "confluent" : "single-object";
}

int evbus__conf_bool(const evbus_conf_t *conf, const char *name) {
    const char *v = evbus__conf_str(conf, name);
    int bv = 0;
    if (v && parse_bool(v, &bv) == 0)
        return bv;
    return 0;
}

/* The Python event bus's environment names, mapped onto evbus names. */
static const struct {
    const char *env;
    const char *name;
    int seconds; /* the variable is in (fractional) seconds, the name in milliseconds */
} env_map[] = {
    {"EVENT_BUS_PRODUCER_CONFIG", "producer.config", 0},
    {"EVENT_BUS_TOPIC_PREFIX", "topic.prefix", 0},
    {"EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS", "kafka.bootstrap.servers", 0},
    {"EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL", "schema.registry.url", 0},
    {"EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY", "schema.registry.api.key", 0},
    {"EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET", "schema.registry.api.secret", 0},
    {"EVENT_BUS_KAFKA_API_KEY", "sasl.username", 0},
    {"EVENT_BUS_KAFKA_API_SECRET", "sasl.password", 0},
    {"EVENT_BUS_SCHEMA_DIR", "schema.dir", 0},
    /* openedx-events' get_service_name(): EVENTS_SERVICE_NAME, else SERVICE_VARIANT */
    {"EVENTS_SERVICE_NAME", "service", 0},
    {"SERVICE_VARIANT", "service", 0},
    {"EVENT_BUS_KAFKA_CONSUMERS_ENABLED", "consumers.enabled", 0},
    {"EVENT_BUS_WIRE_FORMAT", "wire.format", 0},
    {"EVBUS_PRODUCER_SPOOL_DIR", "producer.spool.dir", 0},
    {"EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT", "consumer.poll.timeout.ms", 1},
    {"EVENT_BUS_KAFKA_CONSUMER_POLL_FAILURE_SLEEP", "consumer.poll.failure.sleep.ms", 1},
    {"EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", "consumer.max.consecutive.errors", 0},
};

/* "1.5" seconds -> "1500"; -1 when it is not a number of seconds >= 0. */
static int seconds_to_ms(const char *v, char *out, size_t size) {
    char *end;
    errno = 0;
    double sec = strtod(v, &end);
    if (end == v || *end || errno || !(sec >= 0) || sec > 86400.0 * 365)
        return -1;
    snprintf(out, size, "%lld", (long long)(sec * 1000.0 + 0.5));
    return 0;
}

evbus_err_t evbus_conf_from_env(evbus_conf_t *conf, char *errstr, size_t errstr_size) {
    char err[512];
    if (!conf)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "conf is NULL");
    for (size_t i = 0; i < sizeof(env_map) / sizeof(env_map[0]); i++) {
        const char *v = getenv(env_map[i].env);
        /* empty counts as unset, as Python's `or` treats it */
        if (!v || (!*v && !strcmp(env_map[i].name, "service")) || evbus_conf_get(conf, env_map[i].name))
            continue;
        char ms[32];
        if (env_map[i].seconds) {
            if (seconds_to_ms(v, ms, sizeof(ms)) != 0)
                return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size,
                                   "%s: invalid value \"%s\", expected seconds (e.g. 1.0)",
                                   env_map[i].env, v);
            v = ms;
        }
        if (evbus_conf_set(conf, env_map[i].name, v, err, sizeof(err)) != EVBUS_CONF_OK)
            return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size, "%s: %s", env_map[i].env,
                               err);
    }
    return EVBUS_OK;
}

rd_kafka_conf_t *evbus__conf_to_kafka(const evbus_conf_t *conf, char *errstr, size_t errstr_size) {
    char kerr[512];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    if (!kc) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    const char *user = evbus_conf_get(conf, "sasl.username");
    const char *pass = evbus_conf_get(conf, "sasl.password");
    if (user && pass) {
        /* As the Python bus does: SASL_SSL + PLAIN unless the caller chose otherwise below. */
        if (rd_kafka_conf_set(kc, "security.protocol", "SASL_SSL", kerr, sizeof(kerr)) != 0 ||
            rd_kafka_conf_set(kc, "sasl.mechanism", "PLAIN", kerr, sizeof(kerr)) != 0 ||
            rd_kafka_conf_set(kc, "sasl.username", user, kerr, sizeof(kerr)) != 0 ||
            rd_kafka_conf_set(kc, "sasl.password", pass, kerr, sizeof(kerr)) != 0) {
            evbus__seterr(errstr, errstr_size, "SASL settings rejected by librdkafka (%s)",
                          strstr(kerr, pass) ? "details withheld" : kerr);
            rd_kafka_conf_destroy(kc);
            return NULL;
        }
    }
    for (size_t i = 0; conf && i < conf->n; i++) {
        const char *name = conf->kv[i].name;
        if (strncmp(name, "kafka.", 6) != 0)
            continue;
        if (rd_kafka_conf_set(kc, name + 6, conf->kv[i].value, kerr, sizeof(kerr)) !=
            RD_KAFKA_CONF_OK) {
            if (evbus__conf_is_secret(name + 6))
                evbus__seterr(errstr, errstr_size, "%s: invalid value (not shown)", name);
            else
                evbus__seterr(errstr, errstr_size, "%s: %s", name, kerr);
            rd_kafka_conf_destroy(kc);
            return NULL;
        }
    }
    return kc;
}

/* The settings table as data, for the generated reference (docs/gen_configuration.c writes
 * docs/CONFIGURATION.md from it), so that documented kinds, defaults and ranges cannot drift. */
int evbus__conf_prop_at(size_t i, evbus__conf_prop_info_t *out) {
    static const char *const kinds[] = {"string", "integer", "boolean"};
    if (i >= NPROPS || !out)
        return -1;
    const conf_prop_t *p = &props[i];
    memset(out, 0, sizeof(*out));
    out->name = p->name;
    out->kind = kinds[p->kind];
    out->def = p->def;
    out->min = p->min;
    out->max = p->max;
    out->secret = p->secret;
    for (size_t w = 0; w < sizeof(word_props) / sizeof(word_props[0]); w++)
        if (!strcmp(word_props[w].name, p->name))
            out->words = word_props[w].words;
    return 0;
}

int evbus__conf_env_at(size_t i, const char **env, const char **name, int *seconds) {
    if (i >= sizeof(env_map) / sizeof(env_map[0]))
        return -1;
    *env = env_map[i].env;
    *name = env_map[i].name;
    *seconds = env_map[i].seconds;
    return 0;
}
