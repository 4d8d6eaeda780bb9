/*
 * The producer's private state, shared by its files: producer.c (creation, flush,
 * destruction), send.c (the send path), delivery.c (delivery reports, kept failures, queue
 * room) and txn.c (the Kafka transaction driver of producer.transactional=true).
 */
#ifndef EVBUS_PRODUCER_INTERNAL_H
#define EVBUS_PRODUCER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <librdkafka/rdkafka.h>

#include "common.h"
#include "producer_config.h"
#include "evbus/producer.h"
#include "headers.h"
#include "log.h"
#include "registry.h"
#include "schema.h"

#define EVBUS__MAX_KEPT_FAILURES 10000

/* Per configured topic: what encoding the key needs. */
typedef struct evbus__ptopic_s {
    const evbus__topic_conf_t *tc;
    evbus__schema_doc_t *key_doc; /* the key field's sub-schema, as its own document */
    char *key_subject;            /* registry subject of the key */
    char *value_subject;          /* registry subject of the value */
    /* Made at creation so that librdkafka's first metadata request already asks for the
     * topic: created lazily on the first send, it waited for the next 1 s topic scan. */
    rd_kafka_topic_t *rkt;
    /* Registry ids once known (-1 before): the send path then needs no registry lock. */
    _Atomic int32_t key_id, value_id;
    /* Whether the brokers have the topic (topic_check.c): EVBUS__TOPIC_*, since when, and
     * the broker's error when missing. */
    atomic_int state;
    atomic_int_fast64_t state_us;
    atomic_int missing_err;
} evbus__ptopic_t;

#define EVBUS__TOPIC_UNKNOWN 0    /* not asked yet */
#define EVBUS__TOPIC_EXISTS 1     /* the brokers listed it */
#define EVBUS__TOPIC_MISSING 2    /* the brokers said it does not exist (or may not be used) */
#define EVBUS__TOPIC_UNANSWERED 3 /* no broker answered */

typedef struct evbus__ptype_s {
    const evbus__type_conf_t *tc;
    evbus__ptopic_t *topics;
    size_t nenabled; /* enabled topics, first in topics[] */
} evbus__ptype_t;

/* One sent event, shared by its messages (their librdkafka opaque): a report needs no
 * header parsing, and the last report of the event frees it. */
typedef struct evbus__pevent_s {
    const char *event_type; /* the config's string: lives as long as the producer */
    void *opaque;
    size_t ntopics;
    atomic_size_t remaining;
    char id[EVBUS__UUID_LEN];
    struct evbus__spev_s *sp; /* with a spool: its record and per-topic state (spool.c) */
} evbus__pevent_t;
typedef struct evbus__spev_s evbus__spev_t;

typedef struct evbus__kept_failure_s {
    char *event_type, *event_id, *topic, *errstr;
    evbus_err_t err;
    void *opaque;
    size_t ntopics;
    int aborted;
} evbus__kept_failure_t;

/* A delivery report held until its transaction ends (transactional mode). */
typedef struct evbus__held_report_s {
    evbus__pevent_t *ev;
    const char *topic; /* the config's full_topic */
    int32_t partition;
    int64_t offset;
    rd_kafka_resp_err_t err;
} evbus__held_report_t;

struct evbus_producer_s {
    evbus_conf_t *conf;
    evbus__schema_store_t *store;
    evbus__config_t *cfg;
    evbus__registry_t *reg;
    evbus__ptype_t *types; /* parallel to cfg->types */
    rd_kafka_t *rk;
    char *source;
    const char *sourcelib; /* in conf; NULL: evbus's version */
    pthread_t poller;
    atomic_int stop;
    pthread_key_t scratch_key;
    evbus_delivery_cb *dr_cb;
    void *dr_opaque;
    int64_t queue_full_timeout_us;
    atomic_uint_fast64_t sent, delivered, failed; /* messages */
    atomic_uint_fast64_t ev_sent, ev_settled;      /* events: flush counts the difference */
    pthread_mutex_t fail_lock;   /* guards the kept failures and last_broker_error */
    char last_broker_error[256]; /* e.g. a SASL failure: why messages then time out */
    evbus__kept_failure_t *fails;
    size_t nfails, fail_head;

    /* Room in librdkafka's queue, reserved for a whole event before any of its messages
     * is enqueued (queue.buffering.max.messages / .kbytes), released by its reports. */
    int64_t room_max_msgs, room_max_bytes;
    atomic_int_fast64_t room_msgs, room_bytes;
    int64_t max_msg_bytes; /* librdkafka's message.max.bytes, checked before any enqueue */
    /* librdkafka's topic.metadata.propagation.max.ms, from the creation of p->rk: how long a
     * topic the brokers deny may still be one being created (topic_check.c) */
    int64_t topic_propagation_us, kafka_created_us;

    /* Transactions (producer.transactional=true); see txn.c. */
    int transactional;
    pthread_rwlock_t txn_lock;     /* senders read-lock while enqueuing; commit write-locks */
    atomic_size_t txn_events;      /* events in the open transaction */
    atomic_int txn_flush;          /* flush asked for a commit now */
    atomic_int txn_must_abort;     /* an event was split inside the open transaction */
    atomic_int txn_fatal;          /* fenced or otherwise fatal: no more sends */
    atomic_uint_fast64_t txn_gen;  /* transactions ended so far (senders wait for the next) */
    int64_t txn_started_us;
    int64_t txn_max_events, txn_interval_us;
    int txn_op_timeout_ms;         /* librdkafka's transaction.timeout.ms: bounds each call */
    pthread_mutex_t held_lock;     /* guards held[] (reports of the open transaction) */
    evbus__held_report_t *held;
    size_t nheld, capheld;
    atomic_uint_fast64_t txn_committed, txn_aborted;
    char txn_fatal_reason[256];

    /* The spool (producer.spool.dir); see spool.c.  NULL without one. */
    struct evbus__spool_s *spool;
    int64_t spool_sync_interval_us;
    pthread_t spool_thread;
    int spool_thread_started;
    atomic_int spool_stop;
    atomic_int spool_replaying;  /* held events not yet enqueued: new sends wait */
    atomic_size_t spool_alive;   /* spooled events in memory */
    pthread_mutex_t spool_lock;  /* guards spool_retry and every event's per-topic state */
    evbus__spev_t *spool_retry;  /* events with topics to send again */
    uint64_t spool_torn, spool_quarantined;
    atomic_int spool_last_refusal; /* the last error a spooled message was refused with */

    evbus__log_t log;                  /* operating (producer_metrics.c): the application's */
    struct evbus__pmetrics_s *metrics; /* log, per-type counters, queue depth */
};

/* producer.c */
/** The librdkafka producer and its topic handles, from p->conf (p->rk must be NULL). */
evbus_err_t evbus__producer_kafka_create(evbus_producer_t *p, char *errstr, size_t errstr_size);
/** Destroy them (nothing may be outstanding); p->rk is NULL after. */
void evbus__producer_kafka_destroy(evbus_producer_t *p);

/* send.c */
/** Free a thread's send scratch (the scratch_key destructor). */
void evbus__scratch_free(void *scratch);

/* delivery.c */
/* How a transaction ended for evbus__report's aborted: not committed, or not known
 * (a commit never confirmed: reported failed, EVBUS_ERR_TIMEOUT, "outcome unknown"). */
#define EVBUS__TXN_ABORTED 1
#define EVBUS__TXN_UNKNOWN 2
void evbus__dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
void evbus__error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque);
/** Report one message's outcome (callback or kept failure), count it, free ev after its last.
 * aborted: 0, EVBUS__TXN_ABORTED or EVBUS__TXN_UNKNOWN. */
void evbus__report(evbus_producer_t *p, evbus__pevent_t *ev, const char *topic, int32_t partition,
                   int64_t offset, rd_kafka_resp_err_t kerr, int aborted);
void evbus__kept_failure_free(evbus__kept_failure_t *f);
/** Reserve room for nmsgs messages of bytes bytes, waiting up to deadline_us. 0 or -1. */
int evbus__room_reserve(evbus_producer_t *p, int64_t nmsgs, int64_t bytes, int64_t deadline_us);
void evbus__room_release(evbus_producer_t *p, int64_t nmsgs, int64_t bytes);

/* topic_check.c */
/** Before any enqueue: does every topic of sel exist on the brokers?  EVBUS_OK, or
 * EVBUS_ERR_TRANSPORT with *bad the first missing topic.  May wait up to 1 s for the brokers'
 * answer about a topic not asked about before. */
evbus_err_t evbus__topics_check(evbus_producer_t *p, const evbus__ptopic_t *const *sel, size_t n,
                                const char **bad, char *errstr, size_t errstr_size);
/** librdkafka refused a message for t with err: remember t missing when err says so. */
void evbus__topic_refused(evbus__ptopic_t *t, rd_kafka_resp_err_t err);

/* txn.c */
/** Set the transactional librdkafka defaults on kc (transactional.id). */
evbus_err_t evbus__txn_configure(evbus_producer_t *p, rd_kafka_conf_t *kc, char *errstr,
                                 size_t errstr_size);
/** init_transactions + the first begin, after rd_kafka_new. */
evbus_err_t evbus__txn_start(evbus_producer_t *p, char *errstr, size_t errstr_size);
/** Hold a report until the open transaction ends. */
void evbus__txn_hold(evbus_producer_t *p, evbus__pevent_t *ev, const char *topic,
                     int32_t partition, int64_t offset, rd_kafka_resp_err_t err);
/** The poller's turn: commit when due (or asked), abort when needed. */
void evbus__txn_tick(evbus_producer_t *p);
/** At destroy: commit what is open (or abort it), reporting every held message. */
void evbus__txn_finish(evbus_producer_t *p, int timeout_ms);

/* spool.c */
struct evbus__sbuf_s;
struct evbus__spool_loc_s;
/** Open producer.spool.dir (when set) and start the spool thread. */
evbus_err_t evbus__spool_start(evbus_producer_t *p, char *errstr, size_t errstr_size);
/** Stop the spool thread (replay, retries); events still held stay in the spool. */
void evbus__spool_stop(evbus_producer_t *p);
/** Close the spool (after the poller: the last acks are written). */
void evbus__spool_finish(evbus_producer_t *p);
/** A new spooled event record (pevent + spool state).  copy_strings: copy the names. */
evbus__pevent_t *evbus__spool_pevent_new(const char *event_type, const char *id,
                                         const char *const *topics, size_t n, int copy_strings);
void evbus__spool_pevent_set_loc(evbus__pevent_t *ev, const struct evbus__spool_loc_s *loc);
/** Before enqueueing nmsgs messages of ev: count them, plus the sender's hold. */
void evbus__spool_hold(evbus__pevent_t *ev, size_t nmsgs);
/** Drop the sender's hold. */
void evbus__spool_unhold(evbus_producer_t *p, evbus__pevent_t *ev);
/** A message's outcome (ok 0: sent again later; nothing reported to the application). */
void evbus__spool_report(evbus_producer_t *p, evbus__pevent_t *ev, const char *topic, int ok);
/** Start an event's record in b: created time, type, id, headers, message count. 0 or -1. */
int evbus__spool_enc_head(struct evbus__sbuf_s *b, const char *event_type, const char *id,
                          const rd_kafka_headers_t *hdrs, size_t nmsgs, int64_t *created);
/** Wait until the held events of an earlier producer are enqueued. 0, or -1 at deadline_us. */
int evbus__spool_wait_replayed(evbus_producer_t *p, int64_t deadline_us);
/** The spool gauges in Prometheus text (snprintf-style). */
size_t evbus__spool_metrics(evbus_producer_t *p, char *buf, size_t size);

#endif
