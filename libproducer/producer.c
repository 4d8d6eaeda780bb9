/*
 * libevbus-producer: creation and the send path.  An event is encoded, keyed and framed
 * for every topic first; then room for all of its messages is reserved and they are
 * enqueued together (all or nothing).  Key/value scratch buffers are per thread, so the
 * send path takes no lock outside transactional mode and allocates only the small record
 * its messages share (for their reports) besides librdkafka's own copy of each message.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np: writer-preferring commit lock */
#endif
#include "evbus/producer.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "conf.h"
#include "framing.h"
#include "keypath.h"
#include "kafka_obs.h"
#include "producer_internal.h"
#include "producer_metrics.h"

/* The first release's structs: a caller compiled against them still works. */
#define SEND_OPTS_V1_SIZE (offsetof(evbus_send_opts_t, minorversion) + sizeof(const char *))
#define SEND_RESULT_V1_SIZE sizeof(evbus_send_result_t)
#define STATS_V1_SIZE (offsetof(evbus_producer_stats_t, in_flight) + sizeof(uint64_t))

/* Per thread: encoding buffers and the per-topic arrays of the event being sent. */
typedef struct scratch_s {
    evbus__buf_t val, key;
    size_t cap;
    size_t *koff, *klen;
    const evbus__ptopic_t **sel; /* the topics this event goes to */
    const char **accepted, **refused;
    char id[EVBUS__UUID_LEN];
} scratch_t;

static void scratch_free(void *v) {
    scratch_t *s = v;
    if (!s)
        return;
    evbus__buf_free(&s->val);
    evbus__buf_free(&s->key);
    free(s->koff);
    free(s->klen);
    free(s->sel);
    free(s->accepted);
    free(s->refused);
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

/* Room for n topics in every per-topic array: no fixed limit on topics per type. */
static int scratch_fit(scratch_t *s, size_t n) {
    if (n <= s->cap)
        return 0;
    size_t cap = n < 8 ? 8 : n;
    size_t *ko = realloc(s->koff, cap * sizeof(*ko));
    if (ko)
        s->koff = ko;
    size_t *kl = realloc(s->klen, cap * sizeof(*kl));
    if (kl)
        s->klen = kl;
    const evbus__ptopic_t **se = realloc(s->sel, cap * sizeof(*se));
    if (se)
        s->sel = se;
    const char **ac = realloc(s->accepted, cap * sizeof(*ac));
    if (ac)
        s->accepted = ac;
    const char **rf = realloc(s->refused, cap * sizeof(*rf));
    if (rf)
        s->refused = rf;
    if (!ko || !kl || !se || !ac || !rf)
        return -1;
    s->cap = cap;
    return 0;
}

static void *poller_main(void *arg) {
    evbus_producer_t *p = arg;
    while (!atomic_load(&p->stop)) {
        rd_kafka_poll(p->rk, p->transactional ? 10 : 100);
        if (p->transactional)
            evbus__txn_tick(p);
    }
    return NULL;
}

/* ---- creation ---- */

static evbus_err_t prepare_types(evbus_producer_t *p, char *errstr, size_t errstr_size) {
    p->types = calloc(p->cfg->ntypes ? p->cfg->ntypes : 1, sizeof(*p->types));
    if (!p->types)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    for (size_t i = 0; i < p->cfg->ntypes; i++) {
        const evbus__type_conf_t *tc = &p->cfg->types[i];
        evbus__ptype_t *pt = &p->types[i];
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
            evbus__ptopic_t *t = &pt->topics[j];
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

/* librdkafka's queue limits, which the room reservation mirrors. */
static evbus_err_t read_queue_limits(evbus_producer_t *p, rd_kafka_conf_t *kc, char *errstr,
                                     size_t errstr_size) {
    char v[64];
    size_t vs = sizeof(v);
    if (rd_kafka_conf_get(kc, "queue.buffering.max.messages", v, &vs) != RD_KAFKA_CONF_OK)
        return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size,
                           "cannot read queue.buffering.max.messages");
    p->room_max_msgs = strtoll(v, NULL, 10);
    vs = sizeof(v);
    if (rd_kafka_conf_get(kc, "queue.buffering.max.kbytes", v, &vs) != RD_KAFKA_CONF_OK)
        return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size,
                           "cannot read queue.buffering.max.kbytes");
    p->room_max_bytes = strtoll(v, NULL, 10) * 1024;
    if (p->room_max_msgs <= 0 || p->room_max_bytes <= 0)
        return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size, "bad librdkafka queue limits");
    return EVBUS_OK;
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
        /* the Python bus's client.id is the service name (EVENTS_SERVICE_NAME/SERVICE_VARIANT) */
        kafka_default(kc, p->conf, "client.id",
                      evbus_conf_get(p->conf, "service") ? evbus_conf_get(p->conf, "service")
                                                         : "evbus-producer",
                      errstr, errstr_size) ||
        (p->transactional && evbus__txn_configure(p, kc, errstr, errstr_size) != EVBUS_OK) ||
        read_queue_limits(p, kc, errstr, errstr_size) != EVBUS_OK) {
        rd_kafka_conf_destroy(kc);
        return EVBUS_ERR_CONFIG;
    }
    rd_kafka_conf_set_dr_msg_cb(kc, evbus__dr_msg_cb);
    rd_kafka_conf_set_error_cb(kc, evbus__error_cb);
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
            evbus__ptopic_t *t = &p->types[i].topics[j];
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
        evbus__ptype_t *pt = &p->types[i];
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
    for (size_t i = 0; p->fails && i < p->nfails; i++)
        evbus__kept_failure_free(&p->fails[(p->fail_head + i) % EVBUS__MAX_KEPT_FAILURES]);
    free(p->fails);
    free(p->held);
    free(p->source);
    pthread_mutex_destroy(&p->fail_lock);
    pthread_mutex_destroy(&p->held_lock);
    pthread_rwlock_destroy(&p->txn_lock);
    pthread_key_delete(p->scratch_key);
    free(p);
}

evbus_producer_t *evbus_producer_new(evbus_conf_t *conf, char *errstr, size_t errstr_size) {
    char err[512];
    if (!conf) {
        evbus__seterr(errstr, errstr_size, "conf is NULL");
        return NULL;
    }
    const char *pc = evbus_conf_get(conf, "producer.config");
    if (!pc) {
        evbus__seterr(errstr, errstr_size, "no producer config: set producer.config (JSON text or a "
                      "file path; evbus_conf_from_env() takes EVENT_BUS_PRODUCER_CONFIG)");
        return NULL;
    }
    evbus_producer_t *p = calloc(1, sizeof(*p));
    if (!p) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    p->conf = conf; /* borrowed until success */
    pthread_mutex_init(&p->fail_lock, NULL);
    pthread_mutex_init(&p->held_lock, NULL);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* A commit must not wait behind a steady stream of senders. */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&p->txn_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    p->transactional = evbus__conf_bool(conf, "producer.transactional");
    p->txn_max_events = evbus__conf_int(conf, "producer.transaction.max.events");
    p->txn_interval_us = evbus__conf_int(conf, "producer.transaction.interval.ms") * 1000;
    p->queue_full_timeout_us = evbus__conf_int(conf, "queue.full.timeout.ms") * 1000;
    if (pthread_key_create(&p->scratch_key, scratch_free) != 0) {
        evbus__seterr(errstr, errstr_size, "out of thread-specific keys");
        pthread_mutex_destroy(&p->fail_lock);
        pthread_mutex_destroy(&p->held_lock);
        pthread_rwlock_destroy(&p->txn_lock);
        free(p);
        return NULL;
    }
    evbus__log_init(&p->log, conf);
    p->metrics = evbus__pmetrics_new();
    p->fails = calloc(EVBUS__MAX_KEPT_FAILURES, sizeof(*p->fails));
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
    const char *url = evbus_conf_get(conf, "schema.registry.url");
    if (evbus__conf_wire_format(conf) == EVBUS__WIRE_CONFLUENT && !(url && *url)) {
        evbus__seterr(errstr, errstr_size,
                      "wire.format=confluent needs schema.registry.url (EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL)");
        goto fail;
    }
    /* single-object (explicit): no registry client, so nothing is framed with schema ids */
    if (evbus__conf_wire_format(conf) == EVBUS__WIRE_CONFLUENT &&
        evbus__registry_from_conf(conf, &p->reg, errstr, errstr_size) != EVBUS_OK)
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
    p->sourcelib = evbus_conf_get(conf, "sourcelib");
    if (prepare_types(p, errstr, errstr_size) != EVBUS_OK)
        goto fail;
    void *op;
    p->dr_cb = (evbus_delivery_cb *)evbus__conf_get_cb(conf, "delivery", &op);
    p->dr_opaque = op;
    if (create_kafka(p, errstr, errstr_size) != EVBUS_OK)
        goto fail;
    if (p->transactional && evbus__txn_start(p, errstr, errstr_size) != EVBUS_OK)
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

/* Lay the framing down right before the payload at b->data + room; *start is its start. */
static evbus_err_t frame_for(evbus_producer_t *p, const char *subject, _Atomic int32_t *cached_id,
                             const evbus__schema_doc_t *doc, unsigned char *payload,
                             const unsigned char **start, char *errstr, size_t errstr_size) {
    unsigned char h[EVBUS__FRAME_HDR_MAX];
    size_t hl;
    if (p->reg) {
        int32_t id = atomic_load(cached_id);
        if (id < 0) {
            evbus_err_t e = evbus__registry_id_for(p->reg, subject, doc, &id, errstr, errstr_size);
            if (e != EVBUS_OK)
                return e;
            atomic_store(cached_id, id);
        }
        hl = evbus__framing_header(h, EVBUS__FRAMING_CONFLUENT, 0, id);
    } else {
        hl = evbus__framing_header(h, EVBUS__FRAMING_SINGLE_OBJECT, doc->fingerprint, 0);
    }
    memcpy(payload - hl, h, hl);
    *start = payload - hl;
    return EVBUS_OK;
}

static const evbus__ptype_t *find_type(const evbus_producer_t *p, const char *event_type) {
    const evbus__type_conf_t *tc = evbus__config_find(p->cfg, event_type);
    return tc ? &p->types[tc - p->cfg->types] : NULL;
}

/* The topics this event goes to: every enabled one, or those opts names. */
static evbus_err_t select_topics(const evbus__ptype_t *pt, const char *const *names, size_t nnames,
                                 scratch_t *s, size_t *n, char *errstr, size_t errstr_size) {
    if (scratch_fit(s, pt->nenabled) != 0)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    if (!names) {
        for (size_t i = 0; i < pt->nenabled; i++)
            s->sel[i] = &pt->topics[i];
        *n = pt->nenabled;
        return EVBUS_OK;
    }
    *n = 0;
    for (size_t j = 0; j < nnames; j++) {
        const evbus__ptopic_t *t = NULL;
        for (size_t i = 0; names[j] && i < pt->nenabled && !t; i++)
            if (!strcmp(names[j], pt->topics[i].tc->topic) ||
                !strcmp(names[j], pt->topics[i].tc->full_topic))
                t = &pt->topics[i];
        if (!t)
            return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                               "topics: \"%s\" is not an enabled topic of %s",
                               names[j] ? names[j] : "(null)", pt->tc->event_type);
        for (size_t k = 0; k < *n; k++)
            if (s->sel[k] == t)
                t = NULL; /* named twice: once is enough */
        if (t)
            s->sel[(*n)++] = t;
    }
    return EVBUS_OK;
}

/* The fields of opts within its size (older callers' structs are shorter). */
static evbus_err_t read_opts(const evbus_send_opts_t *in, evbus_send_opts_t *o, char *errstr,
                             size_t errstr_size) {
    evbus_send_opts_t d = EVBUS_SEND_OPTS_INIT;
    *o = d;
    if (!in)
        return EVBUS_OK;
    if (in->size < SEND_OPTS_V1_SIZE)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "opts->size %zu is smaller than any evbus_send_opts_t (set it with "
                           "EVBUS_SEND_OPTS_INIT)", in->size);
    memcpy(o, in, in->size < sizeof(*o) ? in->size : sizeof(*o));
    o->size = sizeof(*o);
    return EVBUS_OK;
}

static void fill_result(evbus_send_result_t *r, scratch_t *s, size_t nacc, size_t nref) {
    if (!r)
        return;
    evbus_send_result_t out = {r->size, s->id, nacc, s->accepted, nref, s->refused};
    memcpy(r, &out, r->size < sizeof(out) ? r->size : sizeof(out));
}

evbus_err_t evbus_producer_send_ex(evbus_producer_t *p, const char *event_type, const char *json,
                                   size_t len, const evbus_send_opts_t *opts_in,
                                   evbus_send_result_t *result, char *errstr,
                                   size_t errstr_size) {
    if (result && result->size < SEND_RESULT_V1_SIZE)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "result->size %zu is smaller than any evbus_send_result_t (set it "
                           "with EVBUS_SEND_RESULT_INIT)", result->size);
    if (result) { /* nothing accepted until said otherwise */
        evbus_send_result_t none = {result->size, "", 0, NULL, 0, NULL};
        memcpy(result, &none, result->size < sizeof(none) ? result->size : sizeof(none));
    }
    if (!p || !event_type || !json)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "producer, event type and json must not be NULL");
    evbus_send_opts_t opts;
    evbus_err_t e = read_opts(opts_in, &opts, errstr, errstr_size);
    if (e != EVBUS_OK)
        return e;
    evbus__header_values_t hv = {event_type, opts.id, opts.source ? opts.source : p->source,
                                 opts.time, opts.minorversion, p->sourcelib, NULL, NULL};
    if ((e = evbus__header_values_check(&hv, errstr, errstr_size)) != EVBUS_OK)
        return e;
    if (evbus__trace_check(opts.traceparent, opts.tracestate, errstr, errstr_size) != 0)
        return EVBUS_ERR_INVALID_ARG;
    hv.traceparent = opts.traceparent; /* after the check: only well-formed values go out */
    hv.tracestate = opts.tracestate;
    const evbus__ptype_t *pt = find_type(p, event_type);
    if (!pt)
        return evbus__fail(EVBUS_ERR_UNKNOWN_TYPE, errstr, errstr_size,
                           "event type \"%s\" is not in the producer config", event_type);
    scratch_t *s = scratch_get(p);
    if (!s)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    size_t n = 0;
    if ((e = select_topics(pt, opts.topics, opts.ntopics, s, &n, errstr, errstr_size)) != EVBUS_OK)
        return e;
    if (n == 0)
        return EVBUS_OK;

    /* 1. Encode the value once; every topic shares the payload. */
    evbus__buf_reset(&s->val);
    if (evbus__buf_reserve(&s->val, EVBUS__FRAME_HDR_MAX) != 0)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    s->val.len = EVBUS__FRAME_HDR_MAX;
    e = evbus__avro_encode_json(pt->tc->schema->doc->root, json, len, &s->val, errstr,
                                errstr_size);
    if (e != EVBUS_OK)
        return e == EVBUS_ERR_NOMEM ? e : EVBUS_ERR_SCHEMA;

    /* 2. Keys per topic, laid out one after another in s->key, each with framing room in
     *    front; then every framing (registry ids may differ per topic).  All of it before
     *    anything is enqueued. */
    evbus__buf_reset(&s->key);
    for (size_t i = 0; i < n; i++) {
        const evbus__ptopic_t *t = s->sel[i];
        const char *kv;
        size_t kvlen;
        e = evbus__keypath_find_json(json, len, t->tc->key_field, &kv, &kvlen, errstr, errstr_size);
        if (e != EVBUS_OK)
            return e;
        if (evbus__buf_reserve(&s->key, EVBUS__FRAME_HDR_MAX) != 0)
            return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
        s->key.len += EVBUS__FRAME_HDR_MAX;
        s->koff[i] = s->key.len;
        e = evbus__avro_encode_json(t->key_doc->root, kv, kvlen, &s->key, errstr, errstr_size);
        if (e != EVBUS_OK) {
            char inner[256];
            snprintf(inner, sizeof(inner), "%s", errstr ? errstr : "");
            return evbus__fail(EVBUS_ERR_KEY, errstr, errstr_size, "key path '%s': %s",
                               t->tc->key_field, inner);
        }
        s->klen[i] = s->key.len - s->koff[i];
    }
    const evbus__schema_doc_t *vdoc = pt->tc->schema->doc;
    const unsigned char *vstart = NULL;
    for (size_t i = 0; i < n; i++) {
        evbus__ptopic_t *t = (evbus__ptopic_t *)s->sel[i];
        const unsigned char *kstart;
        /* One value framing serves every topic unless the registry ids differ. */
        if (i == 0 || p->reg)
            e = frame_for(p, t->value_subject, &t->value_id, vdoc,
                          s->val.data + EVBUS__FRAME_HDR_MAX, &vstart, errstr, errstr_size);
        if (e == EVBUS_OK)
            e = frame_for(p, t->key_subject, &t->key_id, t->key_doc, s->key.data + s->koff[i],
                          &kstart, errstr, errstr_size);
        if (e != EVBUS_OK)
            return e;
        s->klen[i] += (size_t)(s->key.data + s->koff[i] - kstart);
        s->koff[i] = (size_t)(kstart - s->key.data); /* now: where the framed key starts */
    }
    /* With a registry the value framings of two topics could differ; they are written into
     * the same room, so an event whose topics have different value ids is framed per
     * topic right before its enqueue below. */

    /* 3. Headers, shared by every topic of this event (one ce_id per event). */
    if (!hv.id) {
        evbus__uuid1(s->id);
        hv.id = s->id;
    } else {
        snprintf(s->id, sizeof(s->id), "%s", hv.id);
    }
    rd_kafka_headers_t *hdrs = evbus__headers_build(&hv, NULL);
    evbus__pevent_t *ev = malloc(sizeof(*ev));
    if (!hdrs || !ev) {
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        free(ev);
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    ev->event_type = pt->tc->event_type;
    ev->opaque = opts.opaque;
    ev->ntopics = n;
    atomic_init(&ev->remaining, n);
    memcpy(ev->id, s->id, sizeof(ev->id));

    /* 4. Room for every message of the event, then enqueue them together. */
    size_t vpayload = s->val.len - EVBUS__FRAME_HDR_MAX;
    int64_t vbytes = 0;
    for (size_t i = 0; i < n; i++)
        vbytes += (int64_t)(vpayload + EVBUS__FRAME_HDR_MAX);
    int64_t deadline = evbus__now_us() + p->queue_full_timeout_us;
    if (evbus__room_reserve(p, (int64_t)n, vbytes, deadline) != 0) {
        rd_kafka_headers_destroy(hdrs);
        free(ev);
        for (size_t i = 0; i < n; i++)
            s->refused[i] = s->sel[i]->tc->full_topic;
        fill_result(result, s, 0, n);
        if ((int64_t)n > p->room_max_msgs || vbytes > p->room_max_bytes)
            return evbus__fail(EVBUS_ERR_QUEUE_FULL, errstr, errstr_size,
                               "event needs %zu messages of %zu bytes, more than librdkafka's "
                               "queue holds (queue.buffering.max.messages/.kbytes)",
                               n, vpayload);
        return evbus__fail(EVBUS_ERR_QUEUE_FULL, errstr, errstr_size,
                           "no room in the producer queue for %lld ms (queue.full.timeout.ms); "
                           "nothing enqueued",
                           (long long)(p->queue_full_timeout_us / 1000));
    }
    if (p->transactional) {
        pthread_rwlock_rdlock(&p->txn_lock);
        if (atomic_load(&p->txn_fatal)) {
            pthread_rwlock_unlock(&p->txn_lock);
            evbus__room_release(p, (int64_t)n, vbytes);
            rd_kafka_headers_destroy(hdrs);
            free(ev);
            for (size_t i = 0; i < n; i++)
                s->refused[i] = s->sel[i]->tc->full_topic;
            fill_result(result, s, 0, n);
            return evbus__fail(EVBUS_ERR_TRANSPORT, errstr, errstr_size,
                               "the producer can no longer send: %s", p->txn_fatal_reason);
        }
    }
    atomic_fetch_add(&p->ev_sent, 1); /* before any of its reports can settle it */
    size_t nacc = 0, nref = 0;
    rd_kafka_resp_err_t ke = RD_KAFKA_RESP_ERR_NO_ERROR;
    int nomem = 0;
    const char *failed_topic = NULL;
    for (size_t i = 0; i < n; i++) {
        evbus__ptopic_t *t = (evbus__ptopic_t *)s->sel[i];
        if (ke == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (p->reg && n > 1)
                e = frame_for(p, t->value_subject, &t->value_id, vdoc,
                              s->val.data + EVBUS__FRAME_HDR_MAX, &vstart, errstr, errstr_size);
            rd_kafka_headers_t *h = i + 1 == n ? hdrs : rd_kafka_headers_copy(hdrs);
            if (!h || e != EVBUS_OK) {
                ke = RD_KAFKA_RESP_ERR__FAIL;
                nomem = !h;
                if (h && h != hdrs)
                    rd_kafka_headers_destroy(h);
            } else {
                size_t vlen = s->val.len - (size_t)(vstart - s->val.data);
                for (;;) {
                    ke = rd_kafka_producev(
                        p->rk, RD_KAFKA_V_RKT(t->rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY(s->key.data + s->koff[i], s->klen[i]),
                        RD_KAFKA_V_VALUE((void *)vstart, vlen), RD_KAFKA_V_HEADERS(h),
                        RD_KAFKA_V_OPAQUE(ev), RD_KAFKA_V_END);
                    /* The room is ours: a QUEUE_FULL here is librdkafka's count lagging
                     * ours by a report being served; it clears at once. */
                    if (ke != RD_KAFKA_RESP_ERR__QUEUE_FULL || evbus__now_us() >= deadline)
                        break;
                    struct timespec ts = {0, 100000};
                    nanosleep(&ts, NULL);
                }
                if (ke != RD_KAFKA_RESP_ERR_NO_ERROR)
                    rd_kafka_headers_destroy(h);
            }
            if (h == hdrs || i + 1 == n)
                hdrs = NULL; /* librdkafka owns it, or it was just destroyed */
            if (ke == RD_KAFKA_RESP_ERR_NO_ERROR) {
                s->accepted[nacc++] = t->tc->full_topic;
                continue;
            }
            failed_topic = t->tc->full_topic;
        }
        /* Refused, or after a refusal: not enqueued; give its room back. */
        s->refused[nref++] = t->tc->full_topic;
        evbus__room_release(p, 1, (int64_t)(vpayload + EVBUS__FRAME_HDR_MAX));
    }
    if (hdrs)
        rd_kafka_headers_destroy(hdrs);
    if (p->transactional) {
        if (nacc > 0 && nref > 0)
            atomic_store(&p->txn_must_abort, 1); /* never commit half an event */
        if (nacc > 0)
            atomic_fetch_add(&p->txn_events, 1);
        pthread_rwlock_unlock(&p->txn_lock);
    }
    atomic_fetch_add(&p->sent, nacc);
    evbus__pmetrics_sent(p->metrics, event_type, nacc);
    fill_result(result, s, nacc, nref);
    if (nref == 0)
        return EVBUS_OK;
    /* The messages never enqueued will get no report: the event's record counts them. */
    if (nacc == 0 || atomic_fetch_sub(&ev->remaining, nref) == nref) {
        free(ev);
        atomic_fetch_add(&p->ev_settled, 1);
    }
    if (e != EVBUS_OK) /* a registry failure while framing: errstr already says it */
        return e;
    evbus_err_t rc = nomem                                ? EVBUS_ERR_NOMEM
                     : ke == RD_KAFKA_RESP_ERR__QUEUE_FULL ? EVBUS_ERR_QUEUE_FULL
                                                           : EVBUS_ERR_TRANSPORT;
    return evbus__fail(rc, errstr, errstr_size, "%s: %s (enqueued to %zu of %zu topics%s)",
                       failed_topic ? failed_topic : "?",
                       nomem ? "out of memory" : rd_kafka_err2str(ke), nacc, n,
                       p->transactional && nacc ? "; its transaction will be aborted" : "");
}

evbus_err_t evbus_producer_send_opts(evbus_producer_t *p, const char *event_type, const char *json,
                                     size_t len, const evbus_send_opts_t *opts, char *errstr,
                                     size_t errstr_size) {
    return evbus_producer_send_ex(p, event_type, json, len, opts, NULL, errstr, errstr_size);
}

evbus_err_t evbus_producer_send(evbus_producer_t *p, const char *event_type, const char *json,
                                size_t len, char *errstr, size_t errstr_size) {
    return evbus_producer_send_ex(p, event_type, json, len, NULL, NULL, errstr, errstr_size);
}

size_t evbus_producer_metrics(evbus_producer_t *p, char *buf, size_t size) {
    return evbus__pmetrics_render(p ? p->metrics : NULL, buf, size);
}

evbus_err_t evbus_producer_stats(evbus_producer_t *p, evbus_producer_stats_t *st) {
    if (!p || !st || st->size < STATS_V1_SIZE)
        return EVBUS_ERR_INVALID_ARG;
    evbus_producer_stats_t v = {st->size, atomic_load(&p->sent), atomic_load(&p->delivered),
                                atomic_load(&p->failed), 0, atomic_load(&p->txn_committed),
                                atomic_load(&p->txn_aborted)};
    uint64_t done = v.delivered + v.failed;
    v.in_flight = v.sent > done ? v.sent - done : 0;
    memcpy(st, &v, st->size < sizeof(v) ? st->size : sizeof(v));
    return EVBUS_OK;
}

/* Events with a message not yet reported (or, with transactions, not yet committed). */
static uint64_t events_in_flight(evbus_producer_t *p) {
    uint64_t settled = atomic_load(&p->ev_settled); /* first: sent only grows */
    uint64_t sent = atomic_load(&p->ev_sent);
    return sent > settled ? sent - settled : 0;
}

int evbus_producer_flush(evbus_producer_t *p, int timeout_ms) {
    if (!p)
        return 0;
    int64_t deadline = evbus__now_us() + (int64_t)timeout_ms * 1000;
    uint64_t left;
    /* The poller thread serves the delivery reports (and commits); rd_kafka_flush would
     * too, but then callbacks could run on the caller's thread, which the header promises
     * not to do. */
    for (;;) {
        if (p->transactional)
            atomic_store(&p->txn_flush, 1);
        left = events_in_flight(p);
        if (left == 0 || evbus__now_us() >= deadline)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return left > (uint64_t)INT32_MAX ? INT32_MAX : (int)left;
}

void evbus_producer_destroy(evbus_producer_t *p) {
    if (!p)
        return;
    int left = evbus_producer_flush(p, 10000);
    if (left > 0 && !p->transactional) {
        /* Whatever is left is reported failed (purged) rather than vanishing with us; the
         * poller thread still serves the reports. */
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        int64_t deadline = evbus__now_us() + 5000000;
        while (events_in_flight(p) > 0 && evbus__now_us() < deadline) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    atomic_store(&p->stop, 1);
    pthread_join(p->poller, NULL);
    if (p->transactional)
        evbus__txn_finish(p, 5000); /* what is still open is aborted and reported */
    scratch_free(pthread_getspecific(p->scratch_key));
    pthread_setspecific(p->scratch_key, NULL);
    evbus_conf_t *conf = p->conf;
    producer_free(p);
    evbus_conf_destroy(conf);
}
