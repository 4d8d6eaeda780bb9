/*
 * Kafka transactions for producer.transactional=true.  The poller thread drives them: it
 * keeps one transaction open, commits it every producer.transaction.max.events events or
 * producer.transaction.interval.ms after its first (or when flush asks), and aborts it when
 * the broker requires.  Delivery reports are held until their transaction ends, so a
 * message is reported delivered only once a read_committed reader can see it, and every
 * message of an aborted transaction is reported failed (transaction_aborted): the library
 * never re-sends it, so nothing is duplicated.  Senders enqueue under a read lock, the
 * commit takes the write lock, so an event never straddles two transactions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "producer_internal.h"

/* Each transactional call waits up to librdkafka's transaction.timeout.ms (default 60000,
 * kafka.transaction.timeout.ms), the bound the broker gives the transaction too.  (Passing
 * -1 would not mean that for commit_transaction: it waits forever.) */
#define TXN_OP_TIMEOUT_MS (p->txn_op_timeout_ms)

evbus_err_t evbus__txn_configure(evbus_producer_t *p, rd_kafka_conf_t *kc, char *errstr,
                                 size_t errstr_size) {
    char kerr[512];
    if (evbus_conf_get(p->conf, "kafka.transactional.id"))
        return EVBUS_OK;
    /* One id per service and host: a restarted instance fences its predecessor's open
     * transaction instead of leaving it to time out. */
    char host[256];
    if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = 0;
    char id[400];
    snprintf(id, sizeof(id), "evbus-%s-%s", evbus__conf_str(p->conf, "service"), host);
    if (rd_kafka_conf_set(kc, "transactional.id", id, kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK)
        return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size, "transactional.id: %s", kerr);
    return EVBUS_OK;
}

static void set_fatal(evbus_producer_t *p, const char *what, const rd_kafka_error_t *e) {
    snprintf(p->txn_fatal_reason, sizeof(p->txn_fatal_reason), "%s: %s", what,
             e ? rd_kafka_error_string(e) : "fatal error");
    atomic_store(&p->txn_fatal, 1);
}

evbus_err_t evbus__txn_start(evbus_producer_t *p, char *errstr, size_t errstr_size) {
    rd_kafka_error_t *e = rd_kafka_init_transactions(p->rk, TXN_OP_TIMEOUT_MS);
    if (!e)
        e = rd_kafka_begin_transaction(p->rk);
    if (e) {
        evbus__seterr(errstr, errstr_size, "could not start a transaction: %s",
                      rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return EVBUS_ERR_TRANSPORT;
    }
    p->txn_started_us = evbus__now_us();
    return EVBUS_OK;
}

void evbus__txn_hold(evbus_producer_t *p, evbus__pevent_t *ev, const char *topic,
                     int32_t partition, int64_t offset, rd_kafka_resp_err_t err) {
    pthread_mutex_lock(&p->held_lock);
    if (p->nheld == p->capheld) {
        size_t cap = p->capheld ? p->capheld * 2 : 1024;
        evbus__held_report_t *h = realloc(p->held, cap * sizeof(*h));
        if (!h) {
            /* Cannot hold it: report it now as not delivered rather than lose track. */
            pthread_mutex_unlock(&p->held_lock);
            atomic_store(&p->txn_must_abort, 1);
            evbus__report(p, ev, topic, partition, offset,
                          err ? err : RD_KAFKA_RESP_ERR__FAIL, 1);
            return;
        }
        p->held = h;
        p->capheld = cap;
    }
    p->held[p->nheld++] = (evbus__held_report_t){ev, topic, partition, offset, err};
    pthread_mutex_unlock(&p->held_lock);
}

/* Serve the reports of messages librdkafka still holds (acked or purged), so that every
 * message of the transaction that just ended is in held[]. */
static void drain_reports(evbus_producer_t *p) {
    int64_t end = evbus__now_us() + 10 * 1000000LL;
    while (rd_kafka_outq_len(p->rk) > 0 && evbus__now_us() < end)
        rd_kafka_poll(p->rk, 10);
}

/* Report every held message: delivered (0), EVBUS__TXN_ABORTED or EVBUS__TXN_UNKNOWN. */
static void release_held(evbus_producer_t *p, int aborted) {
    pthread_mutex_lock(&p->held_lock);
    evbus__held_report_t *h = p->held;
    size_t n = p->nheld;
    p->held = NULL;
    p->nheld = p->capheld = 0;
    pthread_mutex_unlock(&p->held_lock);
    for (size_t i = 0; i < n; i++)
        evbus__report(p, h[i].ev, h[i].topic, h[i].partition, h[i].offset, h[i].err, aborted);
    free(h);
}

/* After an abort, a fresh librdkafka producer with the same transactional id (write lock
 * held, nothing outstanding).  librdkafka 2.0 keeps the partitions' sequence numbers of an
 * aborted transaction whose messages the broker refused, and the next transaction then
 * stalls on "skipped sequence numbers"; init_transactions on a new instance bumps the epoch
 * and starts them afresh.  Aborts are rare: the cost is one round trip. */
static void restart_kafka(evbus_producer_t *p) {
    char err[512];
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    drain_reports(p);
    release_held(p, EVBUS__TXN_ABORTED);
    evbus__producer_kafka_destroy(p);
    if (evbus__producer_kafka_create(p, err, sizeof(err)) != EVBUS_OK ||
        evbus__txn_start(p, err, sizeof(err)) != EVBUS_OK) {
        snprintf(p->txn_fatal_reason, sizeof(p->txn_fatal_reason),
                 "restarting the producer after an abort: %.200s", err);
        atomic_store(&p->txn_fatal, 1);
    }
}

/* How many times a commit that failed with a retriable error is tried again. */
#define TXN_COMMIT_TRIES 10

/* End the open transaction (write lock held).  Commit unless abort_reason is given or the
 * broker requires an abort; retriable errors are retried (bounded by the transaction
 * timeout).  The reason goes into the failure reports of the aborted messages.
 *
 * A commit is reported only when librdkafka confirmed it.  When retriable errors outlast
 * the retries, or the producer is stopping while they go on, nobody knows whether the
 * broker committed: its messages are reported failed with "outcome unknown" (never
 * delivered, never re-sent), and a fresh librdkafka producer (init_transactions fences the
 * old epoch) settles it one way or the other on the broker before the next begins. */
static void end_txn(evbus_producer_t *p, const char *abort_reason) {
    int aborted = abort_reason != NULL, unknown = 0;
    rd_kafka_error_t *e = NULL;
    for (int tries = 0; !aborted && tries < TXN_COMMIT_TRIES; tries++) {
        if (e)
            rd_kafka_error_destroy(e);
        e = rd_kafka_commit_transaction(p->rk, TXN_OP_TIMEOUT_MS);
        if (!e || !rd_kafka_error_is_retriable(e) || atomic_load(&p->stop))
            break;
    }
    if (e && rd_kafka_error_is_retriable(e) && !rd_kafka_error_is_fatal(e)) {
        /* Not confirmed, not refused: the outcome is unknown.  librdkafka allows nothing
         * but another commit in this state (no abort), so it is not aborted here. */
        snprintf(p->txn_fatal_reason, sizeof(p->txn_fatal_reason),
                 "commit not confirmed (%s%s)", rd_kafka_error_string(e),
                 atomic_load(&p->stop) ? "; the producer was destroyed while retrying"
                                       : "; retries exhausted");
        unknown = 1;
    } else if (e && rd_kafka_error_is_fatal(e)) {
        set_fatal(p, "transaction commit", e);
        aborted = 1;
    } else if (e || aborted) {
        if (e)
            snprintf(p->txn_fatal_reason, sizeof(p->txn_fatal_reason), "%s",
                     rd_kafka_error_string(e));
        else
            snprintf(p->txn_fatal_reason, sizeof(p->txn_fatal_reason), "%s", abort_reason);
        aborted = 1;
        rd_kafka_error_t *a = NULL;
        for (int tries = 0; tries < 10; tries++) {
            a = rd_kafka_abort_transaction(p->rk, TXN_OP_TIMEOUT_MS);
            if (!a || !rd_kafka_error_is_retriable(a))
                break;
            rd_kafka_error_destroy(a);
            a = NULL;
        }
        if (a) {
            set_fatal(p, "transaction abort", a);
            rd_kafka_error_destroy(a);
        }
    }
    if (e)
        rd_kafka_error_destroy(e);
    drain_reports(p);
    release_held(p, unknown ? EVBUS__TXN_UNKNOWN : aborted ? EVBUS__TXN_ABORTED : 0);
    atomic_fetch_add(aborted || unknown ? &p->txn_aborted : &p->txn_committed, 1);
    atomic_store(&p->txn_events, 0);
    atomic_store(&p->txn_must_abort, 0);
    if (atomic_load(&p->stop)) {
        /* destroy: no next transaction; what arrives now is reported by txn_finish */
        if (unknown)
            atomic_store(&p->txn_fatal, 1);
    } else if (!atomic_load(&p->txn_fatal) && (aborted || unknown)) {
        restart_kafka(p);
    } else if (!atomic_load(&p->txn_fatal)) {
        rd_kafka_error_t *b = rd_kafka_begin_transaction(p->rk);
        if (b) {
            set_fatal(p, "begin transaction", b);
            rd_kafka_error_destroy(b);
        }
    }
    p->txn_started_us = evbus__now_us();
    if (!atomic_load(&p->txn_fatal))
        p->txn_fatal_reason[0] = 0; /* the reason given to the next abort's reports */
    atomic_fetch_add(&p->txn_gen, 1);
}

void evbus__txn_tick(evbus_producer_t *p) {
    if (atomic_load(&p->txn_fatal)) {
        release_held(p, EVBUS__TXN_ABORTED); /* anything that arrived after the fatal error */
        return;
    }
    size_t n = atomic_load(&p->txn_events);
    int flush = atomic_load(&p->txn_flush);
    int must_abort = atomic_load(&p->txn_must_abort);
    if (n == 0 && !must_abort) {
        if (flush)
            atomic_store(&p->txn_flush, 0);
        p->txn_started_us = evbus__now_us(); /* the interval counts from the first event */
        return;
    }
    if (!must_abort && !flush && (int64_t)n < p->txn_max_events &&
        evbus__now_us() - p->txn_started_us < p->txn_interval_us)
        return;
    pthread_rwlock_wrlock(&p->txn_lock);
    end_txn(p, atomic_load(&p->txn_must_abort)
                   ? "librdkafka refused a message of the transaction (it had failed, or an "
                     "event could not be enqueued to all of its topics)"
                   : NULL);
    atomic_store(&p->txn_flush, 0);
    pthread_rwlock_unlock(&p->txn_lock);
}

void evbus__txn_finish(evbus_producer_t *p, int timeout_ms) {
    (void)timeout_ms;
    pthread_rwlock_wrlock(&p->txn_lock);
    if (!atomic_load(&p->txn_fatal) && atomic_load(&p->txn_events) > 0)
        end_txn(p, "not committed before the producer was destroyed");
    drain_reports(p);
    release_held(p, EVBUS__TXN_ABORTED);
    pthread_rwlock_unlock(&p->txn_lock);
}
