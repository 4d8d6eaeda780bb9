/*
 * libevbus-producer.  The send path does no locking and, in steady state, no allocation
 * besides librdkafka's own copy of each message: key/value scratch buffers are per thread.
 */
#include "evbus/producer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "codec.h"
#include "conf.h"
#include "config.h"
#include "framing.h"
#include "headers.h"
#include "kafka_obs.h"
#include "keypath.h"
#include "producer_metrics.h"
#include "registry.h"
#include "schema.h"

#define MAX_KEPT_FAILURES 10000
#define FRAME_ROOM EVBUS__SINGLE_OBJECT_HDR_LEN /* the larger of the two framings */

/* Per configured topic: what encoding the key needs. */
typedef struct ptopic_s {
    const evbus__topic_conf_t *tc;
    evbus__schema_doc_t *key_doc; /* the key field's sub-schema, as its own document */
    char *key_subject;            /* registry subject of the key */
    char *value_subject;          /* registry subject of the value */
    /* Made at creation so that librdkafka's first metadata request already asks for the
     * topic: created lazily on the first send, it waited for the next 1 s topic scan. */
    rd_kafka_topic_t *rkt;
    /* Registry ids once known (-1 before): the send path then needs no registry lock. */
    _Atomic int32_t key_id, value_id;
} ptopic_t;

typedef struct ptype_s {
    const evbus__type_conf_t *tc;
    ptopic_t *topics;
    size_t nenabled; /* enabled topics, first in topics[] */
} ptype_t;

typedef struct kept_failure_s {
    char *event_type, *event_id, *topic, *errstr;
    evbus_err_t err;
} kept_failure_t;

struct evbus_producer_s {
    evbus_conf_t *conf;
    evbus__schema_store_t *store;
    evbus__config_t *cfg;
    evbus__registry_t *reg;
    ptype_t *types; /* parallel to cfg->types */
    rd_kafka_t *rk;
    char *source;
    pthread_t poller;
    atomic_int stop;
    pthread_key_t scratch_key;
    evbus_delivery_cb *dr_cb;
    void *dr_opaque;
    atomic_uint_fast64_t sent, delivered, failed;
    pthread_mutex_t fail_lock; /* guards the kept failures and last_broker_error */
    char last_broker_error[256]; /* e.g. a SASL failure: why messages then time out */
    kept_failure_t *fails;
    size_t nfails, fail_head;
    evbus__log_t log;              /* operating (producer_metrics.c) */
    evbus__pmetrics_t *metrics;
};

typedef struct scratch_s {
    evbus__buf_t val, key;
} scratch_t;

static void scratch_free(void *p) {
    scratch_t *s = p;
    if (!s)
        return;
    evbus__buf_free(&s->val);
    evbus__buf_free(&s->key);
    free(s);
}

static scratch_t *scratch_get(evbus_producer_t *p) {
    scratch_t *s = pthread_getspecific(p->scratch_key);
    if (s)
        return s;
    s = calloc(1, sizeof(*s));
    if (s && pthread_setspecific(p->scratch_key, s) != 0) {
        free(s);
        s = NULL;
    }
    return s;
}

void evbus_conf_set_delivery_cb(evbus_conf_t *conf, evbus_delivery_cb *cb, void *opaque) {
    if (conf)
        evbus__conf_set_cb(conf, "delivery", (evbus__fn_t)cb, opaque);
}

/* ---- delivery reports ---- */

static void kept_failure_free(kept_failure_t *f) {
    free(f->event_type);
    free(f->event_id);
    free(f->topic);
    free(f->errstr);
}

static void keep_failure(evbus_producer_t *p, const evbus_delivery_t *d) {
    kept_failure_t f = {evbus__strdup(d->event_type), evbus__strdup(d->event_id),
                        evbus__strdup(d->topic), evbus__strdup(d->errstr), d->err};
    pthread_mutex_lock(&p->fail_lock);
    size_t slot = (p->fail_head + p->nfails) % MAX_KEPT_FAILURES;
    if (p->nfails == MAX_KEPT_FAILURES) { /* full: the oldest goes; the counter still has it */
        kept_failure_free(&p->fails[p->fail_head]);
        p->fail_head = (p->fail_head + 1) % MAX_KEPT_FAILURES;
    } else {
        p->nfails++;
    }
    p->fails[slot] = f;
    pthread_mutex_unlock(&p->fail_lock);
}

static void header_str(rd_kafka_headers_t *h, const char *name, char *out, size_t size) {
    const void *v;
    size_t len;
    out[0] = 0;
    if (h && rd_kafka_header_get_last(h, name, &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR && v) {
        if (len >= size)
            len = size - 1;
        memcpy(out, v, len);
        out[len] = 0;
    }
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    evbus_producer_t *p = opaque;
    char type[256], id[64];
    rd_kafka_headers_t *h = NULL;
    (void)rk;
    evbus__pmetrics_delivery(p->metrics, &p->log, m);
    if (m->err)
        atomic_fetch_add(&p->failed, 1);
    else
        atomic_fetch_add(&p->delivered, 1);
    if (!p->dr_cb && !m->err)
        return; /* the common case: nothing to report, nothing to copy */
    char why[512];
    if (m->err) {
        pthread_mutex_lock(&p->fail_lock);
        if (p->last_broker_error[0] && m->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
            snprintf(why, sizeof(why), "%s (last broker error: %s)", rd_kafka_err2str(m->err),
                     p->last_broker_error);
        else
            snprintf(why, sizeof(why), "%s", rd_kafka_err2str(m->err));
        pthread_mutex_unlock(&p->fail_lock);
    }
    rd_kafka_message_headers(m, &h);
    header_str(h, EVBUS__H_TYPE, type, sizeof(type));
    header_str(h, EVBUS__H_ID, id, sizeof(id));
    evbus_delivery_t d = {
        type, id, rd_kafka_topic_name(m->rkt),
        m->err ? -1 : m->partition, m->err ? -1 : m->offset,
        m->err ? (m->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ? EVBUS_ERR_TIMEOUT : EVBUS_ERR_TRANSPORT)
               : EVBUS_OK,
        m->err ? why : "",
    };
    if (p->dr_cb)
        p->dr_cb(&d, p->dr_opaque);
    else
        keep_failure(p, &d);
}

/* Errors librdkafka raises outside any one message (authentication, brokers down): keep the
 * latest so that the messages it makes time out say why. */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    evbus_producer_t *p = opaque;
    (void)rk;
    pthread_mutex_lock(&p->fail_lock);
    snprintf(p->last_broker_error, sizeof(p->last_broker_error), "%s: %s",
             rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    pthread_mutex_unlock(&p->fail_lock);
}

static void *poller_main(void *arg) {
    evbus_producer_t *p = arg;
    while (!atomic_load(&p->stop))
        rd_kafka_poll(p->rk, 100);
    return NULL;
}

size_t evbus_producer_drain_failures(evbus_producer_t *p, evbus_delivery_cb *cb, void *opaque) {
    size_t n = 0;
    for (;;) {
        kept_failure_t f;
        pthread_mutex_lock(&p->fail_lock);
        if (p->nfails == 0) {
            pthread_mutex_unlock(&p->fail_lock);
            break;
        }
        f = p->fails[p->fail_head];
        p->fail_head = (p->fail_head + 1) % MAX_KEPT_FAILURES;
        p->nfails--;
        pthread_mutex_unlock(&p->fail_lock);
        evbus_delivery_t d = {f.event_type, f.event_id, f.topic, -1, -1, f.err,
                              f.errstr ? f.errstr : ""};
        if (cb)
            cb(&d, opaque);
        kept_failure_free(&f);
        n++;
    }
    return n;
}

/* ---- creation ---- */

static evbus_err_t prepare_types(evbus_producer_t *p, char *errstr, size_t errstr_size) {
    p->types = calloc(p->cfg->ntypes ? p->cfg->ntypes : 1, sizeof(*p->types));
    if (!p->types)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    for (size_t i = 0; i < p->cfg->ntypes; i++) {
        const evbus__type_conf_t *tc = &p->cfg->types[i];
        ptype_t *pt = &p->types[i];
        pt->tc = tc;
        pt->topics = calloc(tc->ntopics, sizeof(*pt->topics));
        if (!pt->topics)
            return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
        /* enabled topics first, so send walks a dense prefix */
        size_t front = 0, back = tc->ntopics;
        for (size_t j = 0; j < tc->ntopics; j++)
            pt->topics[tc->topics[j].enabled ? front++ : --back].tc = &tc->topics[j];
        pt->nenabled = front;
        for (size_t j = 0; j < pt->nenabled; j++) {
            ptopic_t *t = &pt->topics[j];
            char *canon = evbus__schema_canonical(t->tc->key_schema);
            if (!canon)
                return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
            t->key_doc = evbus__schema_parse(canon, strlen(canon), errstr, errstr_size);
            free(canon);
            if (!t->key_doc)
                return EVBUS_ERR_SCHEMA;
            atomic_init(&t->key_id, -1);
            atomic_init(&t->value_id, -1);
            if (p->reg) {
                t->value_subject = evbus__registry_value_subject(t->tc->full_topic, tc->event_type);
                t->key_subject = evbus__registry_key_subject(t->tc->full_topic, t->key_doc->root);
                if (!t->value_subject || !t->key_subject)
                    return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
            }
        }
    }
    return EVBUS_OK;
}

static int kafka_default(rd_kafka_conf_t *kc, const evbus_conf_t *conf, const char *name,
                         const char *value, char *errstr, size_t errstr_size) {
    char kname[128];
    snprintf(kname, sizeof(kname), "kafka.%s", name);
    if (evbus_conf_get(conf, kname))
        return 0; /* the caller's choice wins */
    if (rd_kafka_conf_set(kc, name, value, errstr, errstr_size) != RD_KAFKA_CONF_OK)
        return -1;
    return 0;
}

static evbus_err_t create_kafka(evbus_producer_t *p, char *errstr, size_t errstr_size) {
    rd_kafka_conf_t *kc = evbus__conf_to_kafka(p->conf, errstr, errstr_size);
    if (!kc)
        return EVBUS_ERR_CONFIG;
    /* Idempotence gives exactly-once per partition across broker failures; acks=all
     * follows from it.  A short linger batches bursts without hurting latency. */
    if (kafka_default(kc, p->conf, "enable.idempotence", "true", errstr, errstr_size) ||
        kafka_default(kc, p->conf, "acks", "all", errstr, errstr_size) ||
        kafka_default(kc, p->conf, "linger.ms", "5", errstr, errstr_size) ||
        kafka_default(kc, p->conf, "client.id", "evbus-producer", errstr, errstr_size)) {
        rd_kafka_conf_destroy(kc);
        return EVBUS_ERR_CONFIG;
    }
    rd_kafka_conf_set_dr_msg_cb(kc, dr_msg_cb);
    rd_kafka_conf_set_error_cb(kc, error_cb);
    rd_kafka_conf_set_opaque(kc, p);
    if (evbus__kafka_obs_bind(kc, p->conf, p, &p->log, evbus__pmetrics_stats, p->metrics) != 0) {
        rd_kafka_conf_destroy(kc);
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, errstr_size);
    if (!p->rk) {
        evbus__kafka_obs_unbind(p);
        rd_kafka_conf_destroy(kc);
        return EVBUS_ERR_CONFIG;
    }
    for (size_t i = 0; i < p->cfg->ntypes; i++) {
        for (size_t j = 0; j < p->types[i].nenabled; j++) {
            ptopic_t *t = &p->types[i].topics[j];
            t->rkt = rd_kafka_topic_new(p->rk, t->tc->full_topic, NULL);
            if (!t->rkt)
                return evbus__fail(EVBUS_ERR_TRANSPORT, errstr, errstr_size, "%s: %s",
                                   t->tc->full_topic, rd_kafka_err2str(rd_kafka_last_error()));
        }
    }
    return EVBUS_OK;
}

static void producer_free(evbus_producer_t *p) {
    for (size_t i = 0; p->types && p->cfg && i < p->cfg->ntypes; i++)
        for (size_t j = 0; p->types[i].topics && j < p->types[i].nenabled; j++)
            if (p->types[i].topics[j].rkt)
                rd_kafka_topic_destroy(p->types[i].topics[j].rkt);
    if (p->rk) {
        rd_kafka_destroy(p->rk);
        evbus__kafka_obs_unbind(p);
    }
    evbus__pmetrics_destroy(p->metrics);
    for (size_t i = 0; p->types && p->cfg && i < p->cfg->ntypes; i++) {
        ptype_t *pt = &p->types[i];
        for (size_t j = 0; pt->topics && j < pt->tc->ntopics; j++) {
            evbus__schema_doc_destroy(pt->topics[j].key_doc);
            free(pt->topics[j].key_subject);
            free(pt->topics[j].value_subject);
        }
        free(pt->topics);
    }
    free(p->types);
    evbus__config_destroy(p->cfg);
    evbus__registry_destroy(p->reg);
    evbus__schema_store_destroy(p->store);
    for (size_t i = 0; i < p->nfails; i++)
        kept_failure_free(&p->fails[(p->fail_head + i) % MAX_KEPT_FAILURES]);
    free(p->fails);
    free(p->source);
    pthread_mutex_destroy(&p->fail_lock);
    pthread_key_delete(p->scratch_key);
    free(p);
}

evbus_producer_t *evbus_producer_new(evbus_conf_t *conf, char *errstr, size_t errstr_size) {
    char err[512];
    if (!conf) {
        evbus__seterr(errstr, errstr_size, "conf is NULL");
        return NULL;
    }
    if (evbus_conf_from_env(conf, errstr, errstr_size) != EVBUS_OK)
        return NULL;
    const char *pc = evbus_conf_get(conf, "producer.config");
    if (!pc) {
        evbus__seterr(errstr, errstr_size, "no producer config: set producer.config or "
                      "EVENT_BUS_PRODUCER_CONFIG (JSON text or a file path)");
        return NULL;
    }
    evbus_producer_t *p = calloc(1, sizeof(*p));
    if (!p) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    p->conf = conf; /* borrowed until success */
    pthread_mutex_init(&p->fail_lock, NULL);
    if (pthread_key_create(&p->scratch_key, scratch_free) != 0) {
        evbus__seterr(errstr, errstr_size, "out of thread-specific keys");
        pthread_mutex_destroy(&p->fail_lock);
        free(p);
        return NULL;
    }
    evbus__log_init(&p->log, conf);
    p->metrics = evbus__pmetrics_new();
    p->fails = calloc(MAX_KEPT_FAILURES, sizeof(*p->fails));
    p->store = evbus__schema_store_new(evbus_conf_get(conf, "schema.dir"), err, sizeof(err));
    if (!p->fails || !p->store || !p->metrics) {
        evbus__seterr(errstr, errstr_size, "%s", p->fails && p->metrics ? err : "out of memory");
        goto fail;
    }
    evbus__config_errors_t errs = {0};
    p->cfg = evbus__config_load(pc, p->store, evbus_conf_get(conf, "topic.prefix"), &errs);
    if (!p->cfg) {
        evbus__config_errors_to_errstr(&errs, errstr, errstr_size);
        evbus__config_errors_clear(&errs);
        goto fail;
    }
    if (evbus__registry_from_conf(conf, &p->reg, errstr, errstr_size) != EVBUS_OK)
        goto fail;
    const char *src = evbus_conf_get(conf, "source");
    if (src) {
        p->source = strdup(src);
    } else {
        size_t n = strlen(evbus__conf_str(conf, "service")) + 16;
        p->source = malloc(n);
        if (p->source)
            snprintf(p->source, n, "openedx/%s/web", evbus__conf_str(conf, "service"));
    }
    if (!p->source) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        goto fail;
    }
    if (prepare_types(p, errstr, errstr_size) != EVBUS_OK)
        goto fail;
    void *op;
    p->dr_cb = (evbus_delivery_cb *)evbus__conf_get_cb(conf, "delivery", &op);
    p->dr_opaque = op;
    if (create_kafka(p, errstr, errstr_size) != EVBUS_OK)
        goto fail;
    if (pthread_create(&p->poller, NULL, poller_main, p) != 0) {
        evbus__seterr(errstr, errstr_size, "could not start the delivery thread");
        goto fail;
    }
    return p;
fail:
    p->conf = NULL; /* still the caller's */
    producer_free(p);
    return NULL;
}

/* ---- sending ---- */

static evbus_err_t frame_for(evbus_producer_t *p, const char *subject, _Atomic int32_t *cached_id,
                             const evbus__schema_doc_t *doc, evbus__buf_t *b, size_t room,
                             const unsigned char **start, char *errstr, size_t errstr_size) {
    /* The payload sits at b->data + room; the framing goes right before it. */
    if (p->reg) {
        int32_t id = atomic_load(cached_id);
        if (id < 0) {
            evbus_err_t e = evbus__registry_id_for(p->reg, subject, doc, &id, errstr, errstr_size);
            if (e != EVBUS_OK)
                return e;
            atomic_store(cached_id, id);
        }
        unsigned char *h = b->data + room - EVBUS__CONFLUENT_HDR_LEN;
        h[0] = 0;
        h[1] = (unsigned char)((uint32_t)id >> 24);
        h[2] = (unsigned char)((uint32_t)id >> 16);
        h[3] = (unsigned char)((uint32_t)id >> 8);
        h[4] = (unsigned char)id;
        *start = h;
    } else {
        unsigned char *h = b->data + room - EVBUS__SINGLE_OBJECT_HDR_LEN;
        h[0] = 0xC3;
        h[1] = 0x01;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (unsigned char)(doc->fingerprint >> (8 * i));
        *start = h;
    }
    return EVBUS_OK;
}

static const ptype_t *find_type(const evbus_producer_t *p, const char *event_type) {
    const evbus__type_conf_t *tc = evbus__config_find(p->cfg, event_type);
    return tc ? &p->types[tc - p->cfg->types] : NULL;
}

/* Enqueue one message, waiting for room while librdkafka's queue is full. */
static rd_kafka_resp_err_t produce_one(evbus_producer_t *p, rd_kafka_topic_t *rkt, const void *key,
                                       size_t klen, const void *val, size_t vlen,
                                       rd_kafka_headers_t *hdrs) {
    int64_t deadline = evbus__now_us() + evbus__conf_int(p->conf, "queue.full.timeout.ms") * 1000;
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)val, vlen),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || evbus__now_us() >= deadline)
            return e;
        /* The poller thread drains delivery reports; give it a moment. */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

evbus_err_t evbus_producer_send_opts(evbus_producer_t *p, const char *event_type, const char *json,
                                     size_t len, const evbus_send_opts_t *opts, char *errstr,
                                     size_t errstr_size) {
    if (!p || !event_type || !json)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "producer, event type and json must not be NULL");
    const ptype_t *pt = find_type(p, event_type);
    if (!pt)
        return evbus__fail(EVBUS_ERR_UNKNOWN_TYPE, errstr, errstr_size,
                           "event type \"%s\" is not in the producer config", event_type);
    if (opts && evbus__trace_check(opts->traceparent, opts->tracestate, errstr, errstr_size))
        return EVBUS_ERR_INVALID_ARG;
    if (pt->nenabled == 0)
        return EVBUS_OK;
    scratch_t *s = scratch_get(p);
    if (!s)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");

    /* 1. Encode the value once; every topic shares the payload. */
    evbus__buf_reset(&s->val);
    if (evbus__buf_reserve(&s->val, FRAME_ROOM) != 0)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    s->val.len = FRAME_ROOM;
    evbus_err_t e = evbus__avro_encode_json(pt->tc->schema->doc->root, json, len, &s->val, errstr,
                                            errstr_size);
    if (e != EVBUS_OK)
        return e == EVBUS_ERR_NOMEM ? e : EVBUS_ERR_SCHEMA;

    /* 2. Keys per topic, all before anything is enqueued (all or nothing). Key payloads
     *    are laid out one after another in s->key, each with framing room in front. */
    size_t koff[64], klen[64];
    size_t n = pt->nenabled;
    if (n > 64)
        return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size,
                           "event type \"%s\" has more than 64 enabled topics", event_type);
    evbus__buf_reset(&s->key);
    for (size_t i = 0; i < n; i++) {
        const ptopic_t *t = &pt->topics[i];
        const char *kv;
        size_t kvlen;
        e = evbus__keypath_find_json(json, len, t->tc->key_field, &kv, &kvlen, errstr, errstr_size);
        if (e != EVBUS_OK)
            return e;
        if (evbus__buf_reserve(&s->key, FRAME_ROOM) != 0)
            return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
        s->key.len += FRAME_ROOM;
        koff[i] = s->key.len;
        e = evbus__avro_encode_json(t->key_doc->root, kv, kvlen, &s->key, errstr, errstr_size);
        if (e != EVBUS_OK) {
            char inner[256];
            snprintf(inner, sizeof(inner), "%s", errstr ? errstr : "");
            return evbus__fail(EVBUS_ERR_KEY, errstr, errstr_size, "key path '%s': %s",
                               t->tc->key_field, inner);
        }
        klen[i] = s->key.len - koff[i];
    }

    /* 3. Headers, shared by every topic of this event (one ce_id per event). */
    evbus__header_values_t hv = {event_type, opts ? opts->id : NULL,
                                 opts && opts->source ? opts->source : p->source,
                                 opts ? opts->time : NULL, opts ? opts->minorversion : NULL,
                                 opts ? opts->traceparent : NULL, opts ? opts->tracestate : NULL};
    rd_kafka_headers_t *hdrs = evbus__headers_build(&hv, NULL);
    if (!hdrs)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");

    /* 4. Frame (registry ids may differ per topic) and enqueue. */
    const evbus__schema_doc_t *vdoc = pt->tc->schema->doc;
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        ptopic_t *t = &pt->topics[i];
        const unsigned char *vstart, *kstart;
        evbus__buf_t kb = {s->key.data + koff[i] - FRAME_ROOM, 0, 0};
        e = frame_for(p, t->value_subject, &t->value_id, vdoc, &s->val, FRAME_ROOM, &vstart, errstr, errstr_size);
        if (e == EVBUS_OK)
            e = frame_for(p, t->key_subject, &t->key_id, t->key_doc, &kb, FRAME_ROOM, &kstart, errstr,
                          errstr_size);
        if (e != EVBUS_OK)
            break;
        rd_kafka_headers_t *h = i + 1 == n ? hdrs : rd_kafka_headers_copy(hdrs);
        if (!h) {
            e = evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
            break;
        }
        size_t vlen = s->val.len - (size_t)(vstart - s->val.data);
        size_t kl = klen[i] + (size_t)(s->key.data + koff[i] - kstart);
        rd_kafka_resp_err_t ke = produce_one(p, t->rkt, kstart, kl, vstart, vlen, h);
        if (ke != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_destroy(h);
            if (h == hdrs)
                hdrs = NULL;
            e = evbus__fail(ke == RD_KAFKA_RESP_ERR__QUEUE_FULL ? EVBUS_ERR_QUEUE_FULL
                                                                : EVBUS_ERR_TRANSPORT,
                            errstr, errstr_size, "%s: %s", t->tc->full_topic, rd_kafka_err2str(ke));
            break;
        }
        if (h == hdrs)
            hdrs = NULL; /* librdkafka owns it now */
        atomic_fetch_add(&p->sent, 1);
        evbus__pmetrics_sent(p->metrics, event_type);
        done++;
    }
    if (hdrs)
        rd_kafka_headers_destroy(hdrs);
    if (e != EVBUS_OK && done > 0 && errstr && errstr_size) {
        size_t l = strlen(errstr);
        snprintf(errstr + l, errstr_size - l, " (already enqueued to %zu of %zu topics)", done, n);
    }
    return e;
}

evbus_err_t evbus_producer_send(evbus_producer_t *p, const char *event_type, const char *json,
                                size_t len, char *errstr, size_t errstr_size) {
    return evbus_producer_send_opts(p, event_type, json, len, NULL, errstr, errstr_size);
}

size_t evbus_producer_metrics(evbus_producer_t *p, char *buf, size_t size) {
    return evbus__pmetrics_render(p ? p->metrics : NULL, buf, size);
}

void evbus_producer_stats(evbus_producer_t *p, evbus_producer_stats_t *st) {
    st->sent = atomic_load(&p->sent);
    st->delivered = atomic_load(&p->delivered);
    st->failed = atomic_load(&p->failed);
    uint64_t done = st->delivered + st->failed;
    st->in_flight = st->sent > done ? st->sent - done : 0;
}

int evbus_producer_flush(evbus_producer_t *p, int timeout_ms) {
    if (!p)
        return 0;
    evbus_producer_stats_t st;
    int64_t deadline = evbus__now_us() + (int64_t)timeout_ms * 1000;
    /* The poller thread serves the delivery reports; rd_kafka_flush would too, but then
     * callbacks could run on the caller's thread, which the header promises not to do. */
    for (;;) {
        evbus_producer_stats(p, &st);
        if (st.in_flight == 0 || evbus__now_us() >= deadline)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    uint64_t undelivered = st.in_flight + st.failed;
    return undelivered > (uint64_t)INT32_MAX ? INT32_MAX : (int)undelivered;
}

void evbus_producer_destroy(evbus_producer_t *p) {
    if (!p)
        return;
    if (evbus_producer_flush(p, 10000) > 0) {
        /* Whatever is left is reported failed (purged) rather than vanishing with us. */
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        evbus_producer_stats_t st;
        int64_t deadline = evbus__now_us() + 5000000;
        do {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            evbus_producer_stats(p, &st);
        } while (st.in_flight > 0 && evbus__now_us() < deadline);
    }
    atomic_store(&p->stop, 1);
    pthread_join(p->poller, NULL);
    scratch_free(pthread_getspecific(p->scratch_key));
    pthread_setspecific(p->scratch_key, NULL);
    evbus_conf_t *conf = p->conf;
    producer_free(p);
    evbus_conf_destroy(conf);
}
