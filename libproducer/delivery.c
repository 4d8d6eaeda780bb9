/*
 * The producer's delivery side: librdkafka's per-message reports turned into
 * evbus_delivery_t (callback, or kept for evbus_producer_drain_failures()), the counters,
 * and the queue room an event reserves before any of its messages is enqueued.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "producer_internal.h"
#include "producer_metrics.h"

void evbus_conf_set_delivery_cb(evbus_conf_t *conf, evbus_delivery_cb *cb, void *opaque) {
    if (conf)
        evbus__conf_set_cb(conf, "delivery", (evbus__fn_t)cb, opaque);
}

void evbus__kept_failure_free(evbus__kept_failure_t *f) {
    free(f->event_type);
    free(f->event_id);
    free(f->topic);
    free(f->errstr);
}

static void keep_failure(evbus_producer_t *p, const evbus_delivery_t *d) {
    evbus__kept_failure_t f = {evbus__strdup(d->event_type), evbus__strdup(d->event_id),
                               evbus__strdup(d->topic), evbus__strdup(d->errstr), d->err,
                               d->opaque, d->ntopics, d->transaction_aborted};
    pthread_mutex_lock(&p->fail_lock);
    size_t slot = (p->fail_head + p->nfails) % EVBUS__MAX_KEPT_FAILURES;
    if (p->nfails == EVBUS__MAX_KEPT_FAILURES) { /* full: the oldest goes; the counter has it */
        evbus__kept_failure_free(&p->fails[p->fail_head]);
        p->fail_head = (p->fail_head + 1) % EVBUS__MAX_KEPT_FAILURES;
    } else {
        p->nfails++;
    }
    p->fails[slot] = f;
    pthread_mutex_unlock(&p->fail_lock);
}

void evbus__report(evbus_producer_t *p, evbus__pevent_t *ev, const char *topic, int32_t partition,
                   int64_t offset, rd_kafka_resp_err_t kerr, int aborted) {
    int failed = kerr != RD_KAFKA_RESP_ERR_NO_ERROR || aborted;
    atomic_fetch_add(failed ? &p->failed : &p->delivered, 1);
    if (ev && ev->sp && failed) {
        /* Spooled: not a failure of the event, which stays held and is sent again. */
        atomic_store(&p->spool_last_refusal, (int)kerr);
        evbus__spool_report(p, ev, topic, 0);
        return;
    }
    evbus__pmetrics_report(p->metrics, &p->log, ev ? ev->event_type : "", ev ? ev->id : "", topic,
                           partition, offset,
                           !failed                        ? NULL
                           : kerr                         ? rd_kafka_err2str(kerr)
                           : aborted == EVBUS__TXN_UNKNOWN ? "transaction outcome unknown"
                                                           : "transaction aborted");
    if (p->dr_cb || failed) {
        char why[512] = "";
        if (aborted == EVBUS__TXN_UNKNOWN) {
            snprintf(why, sizeof(why),
                     "transaction outcome unknown: %s; it may or may not be visible to "
                     "read_committed readers, and is not re-sent",
                     p->txn_fatal_reason[0] ? p->txn_fatal_reason : "commit not confirmed");
        } else if (aborted && !kerr) {
            snprintf(why, sizeof(why), "transaction aborted: %s",
                     p->txn_fatal_reason[0] ? p->txn_fatal_reason : "not committed");
        } else if (failed) {
            pthread_mutex_lock(&p->fail_lock);
            if (p->last_broker_error[0] && kerr == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
                snprintf(why, sizeof(why), "%s (last broker error: %s)", rd_kafka_err2str(kerr),
                         p->last_broker_error);
            else
                snprintf(why, sizeof(why), "%s%s", aborted ? "transaction aborted: " : "",
                         rd_kafka_err2str(kerr));
            pthread_mutex_unlock(&p->fail_lock);
        }
        evbus_delivery_t d = {
            ev ? ev->event_type : "", ev ? ev->id : "", topic,
            failed ? -1 : partition, failed ? -1 : offset,
            !failed ? EVBUS_OK
                    : aborted == EVBUS__TXN_UNKNOWN || kerr == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT
                        ? EVBUS_ERR_TIMEOUT
                        : EVBUS_ERR_TRANSPORT,
            why, ev ? ev->opaque : NULL, ev ? ev->ntopics : 0, aborted != 0,
        };
        if (p->dr_cb)
            p->dr_cb(&d, p->dr_opaque);
        else
            keep_failure(p, &d);
    }
    if (ev && ev->sp) {
        evbus__spool_report(p, ev, topic, 1);
        return;
    }
    if (ev && atomic_fetch_sub(&ev->remaining, 1) == 1) {
        free(ev);
        atomic_fetch_add(&p->ev_settled, 1);
    }
}

void evbus__dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    evbus_producer_t *p = opaque;
    (void)rk;
    evbus__pevent_t *ev = m->_private;
    if (p->transactional)
        evbus__txn_hold(p, ev, rd_kafka_topic_name(m->rkt), m->partition, m->offset, m->err);
    else
        evbus__report(p, ev, rd_kafka_topic_name(m->rkt), m->partition, m->offset, m->err, 0);
    /* Last: librdkafka gives the message's room back when this returns, so a sender that
     * finds room here waits out librdkafka's QUEUE_FULL for no longer than that (released
     * before the application's callback, it waited as long as the callback ran). */
    evbus__room_release(p, 1, (int64_t)m->len);
}

/* Errors librdkafka raises outside any one message (authentication, brokers down): keep the
 * latest so that the messages it makes time out say why. */
void evbus__error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    evbus_producer_t *p = opaque;
    (void)rk;
    pthread_mutex_lock(&p->fail_lock);
    snprintf(p->last_broker_error, sizeof(p->last_broker_error), "%s: %s",
             rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    pthread_mutex_unlock(&p->fail_lock);
}

size_t evbus_producer_drain_failures(evbus_producer_t *p, evbus_delivery_cb *cb, void *opaque) {
    size_t n = 0;
    if (!p)
        return 0;
    for (;;) {
        evbus__kept_failure_t f;
        pthread_mutex_lock(&p->fail_lock);
        if (p->nfails == 0) {
            pthread_mutex_unlock(&p->fail_lock);
            break;
        }
        f = p->fails[p->fail_head];
        p->fail_head = (p->fail_head + 1) % EVBUS__MAX_KEPT_FAILURES;
        p->nfails--;
        pthread_mutex_unlock(&p->fail_lock);
        evbus_delivery_t d = {f.event_type, f.event_id, f.topic, -1, -1, f.err,
                              f.errstr ? f.errstr : "", f.opaque, f.ntopics, f.aborted};
        if (cb)
            cb(&d, opaque);
        evbus__kept_failure_free(&f);
        n++;
    }
    return n;
}

/* librdkafka counts messages and value bytes (queue.buffering.max.messages/.kbytes); we
 * count the same, for our messages only, and take room for a whole event at once.  Our
 * count drops in the report callback, librdkafka's just after it: a send that finds room
 * here may still see a brief QUEUE_FULL, which the send path waits out. */
int evbus__room_reserve(evbus_producer_t *p, int64_t nmsgs, int64_t bytes, int64_t deadline_us) {
    if (nmsgs > p->room_max_msgs || bytes > p->room_max_bytes)
        return -1; /* can never fit */
    for (;;) {
        int64_t m = atomic_load(&p->room_msgs);
        if (m + nmsgs <= p->room_max_msgs &&
            atomic_compare_exchange_weak(&p->room_msgs, &m, m + nmsgs)) {
            int64_t b = atomic_fetch_add(&p->room_bytes, bytes);
            if (b + bytes <= p->room_max_bytes)
                return 0;
            atomic_fetch_sub(&p->room_bytes, bytes);
            atomic_fetch_sub(&p->room_msgs, nmsgs);
        }
        if (evbus__now_us() >= deadline_us)
            return -1;
        /* The poller thread drains delivery reports; give it a moment. */
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
}

void evbus__room_release(evbus_producer_t *p, int64_t nmsgs, int64_t bytes) {
    atomic_fetch_sub(&p->room_msgs, nmsgs);
    atomic_fetch_sub(&p->room_bytes, bytes);
}
