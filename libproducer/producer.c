/*
 * The producer: creation (config, schemas, topic handles, the librdkafka producer and
 * its poller thread), the counters, flush and destruction.  The send path is in send.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np: writer-preferring commit lock */
#endif
#include "evbus/producer.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "kafka_obs.h"
#include "producer_internal.h"
#include "producer_metrics.h"

/* The first release's structs: a caller compiled against them still works. */
#define STATS_V1_SIZE (offsetof(evbus_producer_stats_t, in_flight) + sizeof(uint64_t))

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

/* The key field's sub-schema as its own document.  Its text is what a schema registry gets for
 * the key: the Python bus registers the key field's definition ({"name": "usage_key", "type":
 * "string"}), and Apicurio keys schemas on their text, so any other text (the plain "string")
 * would add a version to <topic>-string and give the same key schema two ids, by which producer
 * came first.  That text is used when it parses to the very schema the key is encoded with;
 * otherwise (a path the bus cannot walk, a nullable key) the key schema's canonical form. */
static evbus_err_t key_doc_new(const evbus__type_conf_t *type, const evbus__topic_conf_t *tc,
                               evbus__schema_doc_t **docp, char *errstr, size_t errstr_size) {
    char *canon = evbus__schema_canonical(tc->key_schema);
    if (!canon)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    char *bus = type->schema && type->schema->doc
                    ? evbus__registry_bus_key_text(type->schema->doc->json, tc->key_field)
                    : NULL;
    evbus__schema_doc_t *doc = NULL;
    if (bus) {
        char ignored[256];
        doc = evbus__schema_parse(bus, strlen(bus), ignored, sizeof(ignored));
        if (doc && strcmp(doc->canonical, canon) != 0) {
            evbus__schema_doc_destroy(doc);
            doc = NULL;
        }
        free(bus);
    }
    if (!doc)
        doc = evbus__schema_parse(canon, strlen(canon), errstr, errstr_size);
    free(canon);
    if (!doc)
        return EVBUS_ERR_SCHEMA;
    *docp = doc;
    return EVBUS_OK;
}

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
            evbus_err_t e = key_doc_new(tc, t->tc, &t->key_doc, errstr, errstr_size);
            if (e)
                return e;
            atomic_init(&t->key_id, -1);
            atomic_init(&t->value_id, -1);
            atomic_init(&t->state, EVBUS__TOPIC_UNKNOWN);
            atomic_init(&t->state_us, 0);
            atomic_init(&t->missing_err, 0);
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

/* A positive integer librdkafka property of kc into *out. */
static evbus_err_t read_kafka_int(rd_kafka_conf_t *kc, const char *name, int64_t *out,
                                  char *errstr, size_t errstr_size) {
    char v[64];
    size_t vs = sizeof(v);
    if (rd_kafka_conf_get(kc, name, v, &vs) != RD_KAFKA_CONF_OK)
        return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size, "cannot read %s", name);
    *out = strtoll(v, NULL, 10);
    if (*out <= 0)
        return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size, "bad librdkafka %s: %s",
                           name, v);
    return EVBUS_OK;
}

/* librdkafka's limits the send path checks first, so that an event is refused whole before
 * librdkafka could refuse one of its messages after another went in: the queue bounds
 * (the room reservation mirrors them) and message.max.bytes; and the transaction timeout,
 * which bounds each transactional call. */
static evbus_err_t read_limits(evbus_producer_t *p, rd_kafka_conf_t *kc, char *errstr,
                               size_t errstr_size) {
    int64_t kb = 0, txn_ms = 0;
    evbus_err_t e;
    if ((e = read_kafka_int(kc, "queue.buffering.max.messages", &p->room_max_msgs, errstr,
                            errstr_size)) != EVBUS_OK ||
        (e = read_kafka_int(kc, "queue.buffering.max.kbytes", &kb, errstr, errstr_size)) !=
            EVBUS_OK ||
        (e = read_kafka_int(kc, "message.max.bytes", &p->max_msg_bytes, errstr, errstr_size)) !=
            EVBUS_OK ||
        (e = read_kafka_int(kc, "transaction.timeout.ms", &txn_ms, errstr, errstr_size)) !=
            EVBUS_OK)
        return e;
    p->room_max_bytes = kb * 1024;
    p->txn_op_timeout_ms = txn_ms > INT32_MAX ? INT32_MAX : (int)txn_ms;
    /* 0 is allowed here: a topic the brokers deny is missing at once */
    char v[64];
    size_t vs = sizeof(v);
    if (rd_kafka_conf_get(kc, "topic.metadata.propagation.max.ms", v, &vs) != RD_KAFKA_CONF_OK)
        return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size,
                           "cannot read topic.metadata.propagation.max.ms");
    p->topic_propagation_us = strtoll(v, NULL, 10) * 1000;
    return EVBUS_OK;
}

evbus_err_t evbus__producer_kafka_create(evbus_producer_t *p, char *errstr, size_t errstr_size) {
    rd_kafka_conf_t *kc = evbus__conf_to_kafka(p->conf, errstr, errstr_size);
    if (!kc)
        return EVBUS_ERR_CONFIG;
    /* Idempotence gives exactly-once per partition across broker failures; acks=all
     * follows from it.  A short linger batches bursts without hurting latency. */
    if (kafka_default(kc, p->conf, "enable.idempotence", "true", errstr, errstr_size) ||
        kafka_default(kc, p->conf, "acks", "all", errstr, errstr_size) ||
        kafka_default(kc, p->conf, "linger.ms", "5", errstr, errstr_size) ||
        /* With a spool, librdkafka keeps retrying a message until it is delivered, in order
         * per partition: a timed-out message sent again from the spool could land behind
         * later events of its key.  The spool, not the timeout, bounds what is held. */
        (evbus_conf_get(p->conf, "producer.spool.dir") &&
         *evbus_conf_get(p->conf, "producer.spool.dir") &&
         kafka_default(kc, p->conf, "message.timeout.ms", "0", errstr, errstr_size)) ||
        /* the Python bus's client.id is the service name (EVENTS_SERVICE_NAME/SERVICE_VARIANT) */
        kafka_default(kc, p->conf, "client.id",
                      evbus_conf_get(p->conf, "service") ? evbus_conf_get(p->conf, "service")
                                                         : "evbus-producer",
                      errstr, errstr_size) ||
        (p->transactional && evbus__txn_configure(p, kc, errstr, errstr_size) != EVBUS_OK) ||
        read_limits(p, kc, errstr, errstr_size) != EVBUS_OK) {
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
    p->kafka_created_us = evbus__now_us(); /* when its topics are first referenced */
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

void evbus__producer_kafka_destroy(evbus_producer_t *p) {
    for (size_t i = 0; p->types && p->cfg && i < p->cfg->ntypes; i++) {
        for (size_t j = 0; p->types[i].topics && j < p->types[i].nenabled; j++) {
            if (p->types[i].topics[j].rkt)
                rd_kafka_topic_destroy(p->types[i].topics[j].rkt);
            p->types[i].topics[j].rkt = NULL;
        }
    }
    if (p->rk) {
        rd_kafka_destroy(p->rk);
        evbus__kafka_obs_unbind(p);
    }
    p->rk = NULL;
}

static void producer_free(evbus_producer_t *p) {
    evbus__producer_kafka_destroy(p);
    evbus__spool_finish(p);
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
    pthread_mutex_destroy(&p->spool_lock);
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
    pthread_mutex_init(&p->spool_lock, NULL);
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
    if (pthread_key_create(&p->scratch_key, evbus__scratch_free) != 0) {
        evbus__seterr(errstr, errstr_size, "out of thread-specific keys");
        pthread_mutex_destroy(&p->fail_lock);
        pthread_mutex_destroy(&p->held_lock);
        pthread_mutex_destroy(&p->spool_lock);
        pthread_rwlock_destroy(&p->txn_lock);
        free(p);
        return NULL;
    }
    evbus__log_init(&p->log, conf);
    p->metrics = evbus__pmetrics_new();
    p->fails = calloc(EVBUS__MAX_KEPT_FAILURES, sizeof(*p->fails));
    p->store = evbus__schema_store_from_conf(conf, err, sizeof(err));
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
    if (!(p->source = evbus__conf_source(conf))) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        goto fail;
    }
    p->sourcelib = evbus_conf_get(conf, "sourcelib");
    const char *spool_dir = evbus_conf_get(conf, "producer.spool.dir");
    if (p->transactional && spool_dir && *spool_dir) {
        evbus__seterr(errstr, errstr_size,
                      "producer.spool.dir cannot be combined with producer.transactional=true (an "
                      "aborted transaction's events are never sent again)");
        goto fail;
    }
    if (prepare_types(p, errstr, errstr_size) != EVBUS_OK)
        goto fail;
    void *op;
    p->dr_cb = (evbus_delivery_cb *)evbus__conf_get_cb(conf, "delivery", &op);
    p->dr_opaque = op;
    if (evbus__producer_kafka_create(p, errstr, errstr_size) != EVBUS_OK)
        goto fail;
    if (p->transactional && evbus__txn_start(p, errstr, errstr_size) != EVBUS_OK)
        goto fail;
    if (pthread_create(&p->poller, NULL, poller_main, p) != 0) {
        evbus__seterr(errstr, errstr_size, "could not start the delivery thread");
        goto fail;
    }
    /* The spool last: its thread replays through the running producer. */
    if (evbus__spool_start(p, errstr, errstr_size) != EVBUS_OK) {
        atomic_store(&p->stop, 1);
        pthread_join(p->poller, NULL);
        goto fail;
    }
    return p;
fail:
    p->conf = NULL; /* still the caller's */
    producer_free(p);
    return NULL;
}

size_t evbus_producer_metrics(evbus_producer_t *p, char *buf, size_t size) {
    size_t n = evbus__pmetrics_render(p ? p->metrics : NULL, buf, size);
    if (p && p->spool) {
        size_t at = n < size ? n : size;
        n += evbus__spool_metrics(p, buf ? buf + at : NULL, buf ? size - at : 0);
    }
    return n;
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
    int left;
    if (p->spool) {
        /* Up to 10 s while deliveries progress: what is left is safe in the spool, so a
         * producer with no broker need not wait the whole time. */
        int64_t end = evbus__now_us() + 10000000;
        left = evbus_producer_flush(p, 1000);
        for (int prev = INT32_MAX; left > 0 && left < prev && evbus__now_us() < end;)
            prev = left, left = evbus_producer_flush(p, 1000);
    } else {
        left = evbus_producer_flush(p, 10000);
    }
    if (p->spool) {
        /* What is undelivered stays in the spool for the next producer: stop sending it
         * again, purge librdkafka's copies, and wait for their reports (bounded). */
        evbus__spool_stop(p);
        /* Messages never sent first: sent again by the next producer, they are no
         * duplicates.  Messages in flight may already be on the broker, so their requests
         * are left to finish (bounded); only after that are they purged too (then the next
         * producer may send some twice). */
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE);
        int64_t deadline = evbus__now_us() + 10000000;
        while (atomic_load(&p->spool_alive) > 0 && evbus__now_us() < deadline) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        if (atomic_load(&p->spool_alive) > 0) {
            rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            deadline = evbus__now_us() + 5000000;
            while (atomic_load(&p->spool_alive) > 0 && evbus__now_us() < deadline) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
        }
    } else if (left > 0 && !p->transactional) {
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
    evbus__scratch_free(pthread_getspecific(p->scratch_key));
    pthread_setspecific(p->scratch_key, NULL);
    evbus_conf_t *conf = p->conf;
    producer_free(p);
    evbus_conf_destroy(conf);
}
