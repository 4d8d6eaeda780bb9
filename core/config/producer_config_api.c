/* The public producer-configuration API (evbus/producer_config.h) over config.c's loader. */
#include <stdlib.h>
#include <string.h>

#include "producer_config.h"
#include "evbus/producer_config.h"

#define CFG(c) ((const evbus__config_t *)(const void *)(c))

evbus_producer_config_t *evbus_producer_config_load(const char *text_or_path,
                                                    const evbus_schema_store_t *store,
                                                    const char *prefix,
                                                    evbus_config_error_cb *on_error, void *opaque,
                                                    char *errstr, size_t errstr_size) {
    if (errstr && errstr_size)
        errstr[0] = 0;
    if (!text_or_path || !store) {
        evbus__seterr(errstr, errstr_size, "%s", !store ? "no schema store" : "no producer config");
        return NULL;
    }
    evbus__config_errors_t errs = {0};
    evbus__config_t *cfg = evbus__config_load(
        text_or_path, (const evbus__schema_store_t *)(const void *)store, prefix, &errs);
    if (!cfg) {
        for (size_t i = 0; on_error && i < errs.count; i++)
            on_error(errs.items[i].path, errs.items[i].message, opaque);
        if (errs.count)
            evbus__config_errors_to_errstr(&errs, errstr, errstr_size);
        else
            evbus__seterr(errstr, errstr_size, "out of memory");
        evbus__config_errors_clear(&errs);
        return NULL;
    }
    evbus__config_errors_clear(&errs);
    return (evbus_producer_config_t *)(void *)cfg;
}

void evbus_producer_config_destroy(evbus_producer_config_t *cfg) {
    evbus__config_destroy((evbus__config_t *)(void *)cfg);
}

size_t evbus_producer_config_type_count(const evbus_producer_config_t *cfg) {
    return cfg ? CFG(cfg)->ntypes : 0;
}

const char *evbus_producer_config_type(const evbus_producer_config_t *cfg, size_t i) {
    return cfg && i < CFG(cfg)->ntypes ? CFG(cfg)->types[i].event_type : NULL;
}

const evbus_schema_t *evbus_producer_config_schema(const evbus_producer_config_t *cfg, size_t i) {
    if (!cfg || i >= CFG(cfg)->ntypes)
        return NULL;
    return (const evbus_schema_t *)(const void *)CFG(cfg)->types[i].schema;
}

size_t evbus_producer_config_topic_count(const evbus_producer_config_t *cfg, size_t i) {
    return cfg && i < CFG(cfg)->ntypes ? CFG(cfg)->types[i].ntopics : 0;
}

evbus_err_t evbus_producer_config_topic(const evbus_producer_config_t *cfg, size_t i, size_t j,
                                        const char **topicp, const char **full_topicp,
                                        const char **key_fieldp, int *enabledp) {
    if (!cfg || i >= CFG(cfg)->ntypes || j >= CFG(cfg)->types[i].ntopics)
        return EVBUS_ERR_INVALID_ARG;
    const evbus__topic_conf_t *t = &CFG(cfg)->types[i].topics[j];
    if (topicp)
        *topicp = t->topic;
    if (full_topicp)
        *full_topicp = t->full_topic;
    if (key_fieldp)
        *key_fieldp = t->key_field;
    if (enabledp)
        *enabledp = t->enabled != 0;
    return EVBUS_OK;
}
