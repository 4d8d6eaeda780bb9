/* The public librdkafka glue (evbus/kafka.h): conf translation, the header check and a
 * decoder that makes events from messages a caller consumed with its own client. */
#include <stdlib.h>

#include "conf.h"
#include "event.h"
#include "evbus/kafka.h"
#include "headers.h"
#include "registry.h"
#include "schema.h"

struct evbus_decoder_s {
    const evbus__schema_store_t *store; /* borrowed */
    evbus__registry_t *reg;             /* owned; NULL without schema.registry.url */
};

rd_kafka_conf_t *evbus_conf_to_kafka(const evbus_conf_t *conf, char *errstr, size_t errstr_size) {
    if (!conf) {
        evbus__seterr(errstr, errstr_size, "no configuration");
        return NULL;
    }
    return evbus__conf_to_kafka(conf, errstr, errstr_size);
}

evbus_err_t evbus_headers_check(const rd_kafka_headers_t *hdrs, const char **typep,
                                size_t *type_lenp, const char **idp, size_t *id_lenp,
                                char *errstr, size_t errstr_size) {
    const char *type = NULL, *id = NULL;
    size_t type_len = 0, id_len = 0;
    if (!hdrs)
        return evbus__fail(EVBUS_ERR_DECODE, errstr, errstr_size, "message has no headers");
    if (evbus__headers_check(hdrs, &type, &type_len, &id, &id_len, errstr, errstr_size) != 0)
        return EVBUS_ERR_DECODE;
    if (typep)
        *typep = type;
    if (type_lenp)
        *type_lenp = type_len;
    if (idp)
        *idp = id;
    if (id_lenp)
        *id_lenp = id_len;
    return EVBUS_OK;
}

evbus_decoder_t *evbus_decoder_new(const evbus_conf_t *conf, const evbus_schema_store_t *store,
                                   char *errstr, size_t errstr_size) {
    if (!conf) {
        evbus__seterr(errstr, errstr_size, "no configuration");
        return NULL;
    }
    evbus_decoder_t *dec = calloc(1, sizeof(*dec));
    if (!dec) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    dec->store = (const evbus__schema_store_t *)(const void *)store;
    if (evbus__registry_from_conf(conf, &dec->reg, errstr, errstr_size) != EVBUS_OK) {
        free(dec);
        return NULL;
    }
    return dec;
}

void evbus_decoder_destroy(evbus_decoder_t *dec) {
    if (!dec)
        return;
    evbus__registry_destroy(dec->reg);
    free(dec);
}

evbus_event_t *evbus_decoder_decode(evbus_decoder_t *dec, const rd_kafka_message_t *rkm,
                                    int flags) {
    if (!dec || !rkm)
        return NULL;
    evbus_event_t *ev = evbus__event_from_message(rkm, dec->store, dec->reg);
    if (ev)
        evbus__event_set_as_written(ev, (flags & EVBUS_DECODE_AS_WRITTEN) != 0);
    return ev;
}
