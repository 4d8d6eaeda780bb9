/*
 * The producer's send path.  An event is encoded, keyed and framed for every topic
 * first; then room for all of its messages is reserved and they are enqueued together (all
 * or nothing).  Key/value scratch buffers are per thread, so the send path takes no lock
 * outside transactional mode; it allocates the small record its messages share (for their
 * reports) and a header list per message, besides librdkafka's own copy of each message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "framing.h"
#include "keypath.h"
#include "producer_internal.h"
#include "producer_metrics.h"
#include "spool.h"

/* The first release's structs: a caller compiled against them still works. */
#define SEND_OPTS_V1_SIZE (offsetof(evbus_send_opts_t, minorversion) + sizeof(const char *))
#define SEND_RESULT_V1_SIZE sizeof(evbus_send_result_t)

/* Per thread: encoding buffers and the per-topic arrays of the event being sent. */
typedef struct scratch_s {
    evbus__buf_t val, key;
    size_t cap;
    size_t *koff, *klen;
    const evbus__ptopic_t **sel; /* the topics this event goes to */
    const char **accepted, **refused;
    char id[EVBUS__UUID_LEN];
    evbus__sbuf_t rec; /* the spool record being written */
} scratch_t;

void evbus__scratch_free(void *v) {
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
    evbus__sbuf_free(&s->rec);
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

/* ---- sending ---- */

/* librdkafka's largest per-message overhead in the v2 record format, which it adds to the
 * key, value and headers before comparing with message.max.bytes
 * (RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD: length, attributes, timestamp delta, offset delta,
 * key length, value length, header count, as varints of their largest size: 5+1+10+5+5+5+5). */
#define KAFKA_MSG_MAX_OVERHEAD 36
/* How long an enqueue retries librdkafka's brief QUEUE_FULL after the room was reserved. */
#define ENQUEUE_GRACE_US (5 * 1000000LL)

/* Bytes of a zigzag varint (how the record format writes lengths). */
static size_t varint_size(int64_t v) {
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 1;
    for (; z >= 0x80; z >>= 7)
        n++;
    return n;
}

/* The headers as librdkafka sizes them (rd_kafka_header_add): per header, the name and the
 * value, each after its length as a varint. */
static size_t headers_wire_size(const rd_kafka_headers_t *h) {
    size_t total = 0;
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(h, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
        size_t nl = strlen(name);
        total += nl + size + varint_size((int64_t)nl) + varint_size((int64_t)size);
    }
    return total;
}

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

int evbus_producer_topic_count(const evbus_producer_t *p, const char *event_type) {
    const evbus__ptype_t *pt = p && event_type ? find_type(p, event_type) : NULL;
    return pt ? (int)pt->nenabled : -1;
}

const char *evbus_producer_topic_name(const evbus_producer_t *p, const char *event_type, size_t idx) {
    const evbus__ptype_t *pt = p && event_type ? find_type(p, event_type) : NULL;
    return pt && idx < pt->nenabled ? pt->topics[idx].tc->full_topic : NULL;
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

/* sourcehost and sourcelib as a relaying caller gives them: Python consumers parse sourcelib
 * into a tuple of integers, and an empty host is no host. */
static evbus_err_t check_relayed(const evbus_send_opts_t *o, char *errstr, size_t errstr_size) {
    if (o->sourcehost && !*o->sourcehost)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "sourcehost: empty, expected a host name");
    if (o->sourcelib) {
        const char *c = o->sourcelib;
        int digits = 0, ok = *c != 0;
        for (; *c && ok; c++) {
            if (*c >= '0' && *c <= '9')
                digits++;
            else if (*c == '.' && digits)
                digits = 0;
            else
                ok = 0;
        }
        if (!ok || !digits)
            return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                               "sourcelib: \"%s\" is not dot-separated integers such as \"10.5.0\"",
                               o->sourcelib);
    }
    return EVBUS_OK;
}

static void fill_result(evbus_send_result_t *r, scratch_t *s, size_t nacc, size_t nref) {
    if (!r)
        return;
    evbus_send_result_t out = {r->size, s->id, nacc, s->accepted, nref, s->refused};
    memcpy(r, &out, r->size < sizeof(out) ? r->size : sizeof(out));
}

/* Transactional mode, read lock held, nothing of the event enqueued yet, librdkafka refused
 * it: when that is the open transaction's abortable error (not a fatal one), have the poller
 * abort it and wait for the next.  Returns 1 with the read lock held again and a new
 * transaction open, 0 to give up (fatal, or past deadline_us). */
static int wait_next_txn(evbus_producer_t *p, int64_t deadline_us) {
    if (rd_kafka_fatal_error(p->rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        atomic_load(&p->txn_fatal))
        return 0;
    uint64_t gen = atomic_load(&p->txn_gen);
    atomic_store(&p->txn_must_abort, 1);
    pthread_rwlock_unlock(&p->txn_lock);
    while (atomic_load(&p->txn_gen) == gen && !atomic_load(&p->txn_fatal) &&
           evbus__now_us() < deadline_us) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    pthread_rwlock_rdlock(&p->txn_lock);
    return atomic_load(&p->txn_gen) != gen && !atomic_load(&p->txn_fatal);
}

/* With a spool: wait for an earlier producer's events to be enqueued first (their order per
 * key comes first), then write this event's record, every message as it will be enqueued. */
static evbus_err_t spool_event(evbus_producer_t *p, scratch_t *s, evbus__pevent_t *ev,
                               const rd_kafka_headers_t *hdrs, size_t n,
                               const evbus__schema_doc_t *vdoc, int64_t deadline, char *errstr,
                               size_t errstr_size) {
    if (evbus__spool_wait_replayed(p, deadline) != 0)
        return evbus__fail(EVBUS_ERR_QUEUE_FULL, errstr, errstr_size,
                           "the spool's earlier events were still being enqueued after "
                           "queue.full.timeout.ms; nothing written");
    int64_t created;
    if (evbus__spool_enc_head(&s->rec, ev->event_type, s->id, hdrs, n, &created) != 0)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    const unsigned char *vstart = NULL;
    for (size_t i = 0; i < n; i++) {
        evbus__ptopic_t *t = (evbus__ptopic_t *)s->sel[i];
        /* Framings were checked above; with a registry each topic's value may differ. */
        int own = i == 0 || (p->reg && n > 1);
        if (own) {
            evbus_err_t e = frame_for(p, t->value_subject, &t->value_id, vdoc,
                                      s->val.data + EVBUS__FRAME_HDR_MAX, &vstart, errstr,
                                      errstr_size);
            if (e != EVBUS_OK)
                return e;
        }
        size_t vlen = s->val.len - (size_t)(vstart - s->val.data);
        if (evbus__spool_enc_msg(&s->rec, t->tc->full_topic, s->key.data + s->koff[i], s->klen[i],
                                 vstart, vlen, !own) != 0)
            return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    evbus__spool_loc_t loc;
    evbus_err_t e = evbus__spool_append(p->spool, s->rec.data, s->rec.len, created, deadline, &loc,
                                        errstr, errstr_size);
    if (e == EVBUS_OK)
        evbus__spool_pevent_set_loc(ev, &loc);
    return e;
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
    if ((e = check_relayed(&opts, errstr, errstr_size)) != EVBUS_OK)
        return e;
    if (opts.sourcelib)
        hv.sourcelib = opts.sourcelib;
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
    rd_kafka_headers_t *hdrs = evbus__headers_build(&hv, opts.sourcehost);
    if (!hdrs)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    /* The framed value: every topic's framing has the same length (Confluent 5 bytes,
     * single-object 10), so every message of the event has this one. */
    size_t vlen = s->val.len - (size_t)(vstart - s->val.data);

    /* 4. What librdkafka would refuse of one message after another went in, checked for
     *    every message first: the size (message.max.bytes) and the topic. */
    const char *bad = NULL;
    size_t hsize = headers_wire_size(hdrs);
    for (size_t i = 0; i < n && e == EVBUS_OK; i++) {
        size_t wire = KAFKA_MSG_MAX_OVERHEAD + s->klen[i] + vlen + hsize;
        if ((int64_t)wire > p->max_msg_bytes) {
            bad = s->sel[i]->tc->full_topic;
            e = evbus__fail(EVBUS_ERR_TRANSPORT, errstr, errstr_size,
                            "%s: a message of %zu bytes (key %zu, value %zu, headers %zu) is "
                            "larger than message.max.bytes (%lld); nothing enqueued to any of "
                            "the event's %zu topics",
                            bad, wire, s->klen[i], vlen, hsize, (long long)p->max_msg_bytes, n);
        }
    }
    if (e == EVBUS_OK)
        e = evbus__topics_check(p, s->sel, n, &bad, errstr, errstr_size);
    evbus__pevent_t *ev = NULL;
    if (e == EVBUS_OK && p->spool) {
        for (size_t i = 0; i < n; i++)
            s->accepted[i] = s->sel[i]->tc->full_topic; /* the config's: they outlive ev */
        ev = evbus__spool_pevent_new(pt->tc->event_type, s->id, s->accepted, n, 0);
    } else if (e == EVBUS_OK && (ev = malloc(sizeof(*ev)))) {
        ev->sp = NULL;
    }
    if (!ev) {
        rd_kafka_headers_destroy(hdrs);
        if (e == EVBUS_OK)
            return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
        for (size_t i = 0; i < n; i++)
            s->refused[i] = s->sel[i]->tc->full_topic;
        fill_result(result, s, 0, n);
        return e;
    }
    ev->event_type = pt->tc->event_type;
    ev->opaque = opts.opaque;
    ev->ntopics = n;
    atomic_init(&ev->remaining, n);
    memcpy(ev->id, s->id, sizeof(ev->id));

    /* 5. Room for every message of the event, then enqueue them together.  The room is the
     *    framed value, exactly what librdkafka counts and each delivery report gives back
     *    (reserving 10 bytes of framing for Confluent's 5 leaked 5 bytes of room per
     *    message under a registry). */
    int64_t vbytes = (int64_t)n * (int64_t)vlen;
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
                               n, vlen);
        return evbus__fail(EVBUS_ERR_QUEUE_FULL, errstr, errstr_size,
                           "no room in the producer queue for %lld ms (queue.full.timeout.ms); "
                           "nothing enqueued",
                           (long long)(p->queue_full_timeout_us / 1000));
    }
    /* The enqueue's own grace, however long the wait for room took: the room is ours, so
     * librdkafka's QUEUE_FULL can only be its count lagging ours (see below). */
    int64_t enq_deadline = evbus__now_us() + ENQUEUE_GRACE_US;
    if (p->spool) {
        e = spool_event(p, s, ev, hdrs, n, vdoc, deadline, errstr, errstr_size);
        if (e != EVBUS_OK) {
            evbus__room_release(p, (int64_t)n, vbytes);
            rd_kafka_headers_destroy(hdrs);
            free(ev);
            for (size_t i = 0; i < n; i++)
                s->refused[i] = s->sel[i]->tc->full_topic;
            fill_result(result, s, 0, n);
            return e;
        }
        atomic_fetch_add(&p->spool_alive, 1);
        evbus__spool_hold(ev, n);
        enq_deadline = evbus__now_us() + ENQUEUE_GRACE_US; /* after the write, however long */
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
            /* Each message gets its own copy, but the last takes hdrs itself: copying it
             * for one topic, the usual case, cost a second set of ten header allocations
             * per event.  librdkafka owns what it accepted; a refused hdrs stays ours
             * (whole, for a retry) and is destroyed below. */
            int last = i + 1 == n;
            rd_kafka_headers_t *h = e != EVBUS_OK ? NULL : last ? hdrs : rd_kafka_headers_copy(hdrs);
            if (!h) {
                ke = RD_KAFKA_RESP_ERR__FAIL;
                nomem = e == EVBUS_OK;
            } else {
                for (;;) {
                    ke = rd_kafka_producev(
                        p->rk, RD_KAFKA_V_RKT(t->rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY(s->key.data + s->koff[i], s->klen[i]),
                        RD_KAFKA_V_VALUE((void *)vstart, vlen), RD_KAFKA_V_HEADERS(h),
                        RD_KAFKA_V_OPAQUE(ev), RD_KAFKA_V_END);
                    /* The room is ours: a QUEUE_FULL here is librdkafka's count lagging
                     * ours by a report being served; it clears at once. */
                    if (ke != RD_KAFKA_RESP_ERR__QUEUE_FULL || evbus__now_us() >= enq_deadline)
                        break;
                    struct timespec ts = {0, 100000};
                    nanosleep(&ts, NULL);
                }
                if (ke == RD_KAFKA_RESP_ERR_NO_ERROR && last)
                    hdrs = NULL; /* librdkafka's now */
                else if (ke != RD_KAFKA_RESP_ERR_NO_ERROR && !last)
                    rd_kafka_headers_destroy(h); /* else librdkafka owns it */
            }
            if (ke == RD_KAFKA_RESP_ERR_NO_ERROR) {
                s->accepted[nacc++] = t->tc->full_topic;
                continue;
            }
            if (i == 0 && p->transactional && e == EVBUS_OK && !nomem &&
                wait_next_txn(p, deadline)) {
                /* The open transaction had failed (abortable error) before this event got
                 * into it; the poller has aborted it and begun another: try again there.
                 * Nothing of this event was enqueued, so this is no re-send. */
                ke = RD_KAFKA_RESP_ERR_NO_ERROR;
                i = (size_t)-1;
                continue;
            }
            failed_topic = t->tc->full_topic;
            evbus__topic_refused(t, ke); /* a topic deleted since: refused whole from now */
            if (p->spool) {
                /* In the spool already: accepted; its record is sent again later. */
                evbus__room_release(p, 1, (int64_t)vlen);
                evbus__spool_report(p, ev, t->tc->full_topic, 0);
                s->accepted[nacc++] = t->tc->full_topic;
                ke = RD_KAFKA_RESP_ERR_NO_ERROR;
                e = EVBUS_OK;
                continue;
            }
        }
        /* Refused, or after a refusal: not enqueued; give its room back. */
        s->refused[nref++] = t->tc->full_topic;
        evbus__room_release(p, 1, (int64_t)vlen);
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
    if (p->spool) {
        evbus__spool_unhold(p, ev); /* ev may be gone after this */
        return EVBUS_OK;
    }
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

