/*
 * One event's fate: run its handlers, retry the ones that failed with backoff, dead-letter it
 * when that is all that is left, and store its offset only then.  Tells failures that may pass
 * (schema registry unreachable, a DLQ write that failed) from those that cannot (unusable
 * headers, undecodable value, a schema that is not its type's): the first are retried until they
 * pass or the consumer stops, never dead-lettered; the second go to the dead-letter topic.
 * consumer.max.consecutive.errors turns a failure that does not pass into a stopped consumer.
 * A vetoed event (EVBUS_ERR_REJECTED) is settled at once: stored, or dead-lettered with
 * received.veto=dlq.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consumer_int.h"

/* An event left unsettled (stopping) and the handlers that already succeeded for it. */
typedef struct evbus__unsettled_s {
    struct evbus__unsettled_s *next;
    evbus__part_t *part;
    int64_t offset;
    evbus__run_t run;
} unsettled_t;

/* Sleep ms unless stopping or p is being revoked (its new owner takes the event over); 0 when
 * the full time passed. */
static int backoff_sleep(evbus_consumer_t *c, const evbus__part_t *p, int64_t ms) {
    int64_t end = evbus__now_us() + ms * 1000;
    while (!STOPPING(c) && !evbus__part_leaving(p)) {
        int64_t left = end - evbus__now_us();
        if (left <= 0)
            return 0;
        struct timespec ts = {0, (left > 50000 ? 50000 : left) * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* Wait before try n + 1: retry.backoff.ms doubled per try, at most retry.backoff.max.ms. */
static int64_t backoff_for(const evbus_consumer_t *c, int n) {
    int64_t wait = c->backoff_ms;
    for (int i = 1; i < n && wait < c->backoff_max_ms; i++)
        wait *= 2;
    return wait > c->backoff_max_ms ? c->backoff_max_ms : wait;
}

/* The event's fate is settled (handled or dead-lettered): the failures were not consecutive. */
static void settled(evbus_consumer_t *c) { atomic_store_explicit(&c->consec, 0, memory_order_relaxed); }

/*
 * A failure that may pass: count and log it, then wait before try n + 1.  -1 when the consumer
 * is stopping, p is being revoked, or the consumer has just been stopped because consumer.max.consecutive.errors was reached.
 */
static int transient_wait(evbus_consumer_t *c, const evbus__part_t *p, int64_t offset, int n,
                          evbus_err_t err, const char *what, const char *why) {
    ADD(c->transient_errors);
    int64_t consec = atomic_fetch_add_explicit(&c->consec, 1, memory_order_relaxed) + 1;
    int64_t wait = backoff_for(c, n);
    evbus_log_fields_t f = EVBUS__LOG_FIELDS_INIT;
    f.topic = p->topic;
    f.partition = p->partition;
    f.offset = offset;
    f.attempt = n;
    f.error = why;
    char msg[256];
    snprintf(msg, sizeof(msg), "%s failed (try %d), retrying in %lld ms", what, n, (long long)wait);
    evbus__log_fields(&c->log, EVBUS_LOG_WARNING, "consumer", &f, msg);
    if (c->max_consec > 0 && consec >= c->max_consec) {
        int none = 0;
        atomic_compare_exchange_strong_explicit(&c->fatal, &none, (int)err, memory_order_acq_rel,
                                                memory_order_acquire);
        evbus__log(&c->log, EVBUS_LOG_ERR, "consumer",
                   "%lld consecutive errors reached consumer.max.consecutive.errors; "
                   "stopping (the event stays uncommitted)", (long long)consec);
        evbus_consumer_stop(c);
        return -1;
    }
    return backoff_sleep(c, p, wait);
}

/* ---- events left unsettled ---- */

/* Move the record of (p, offset), if any, into *run, and forget p's records of earlier
 * offsets: a partition's events come in order, so those events were settled (here or by
 * another member) and are not coming back in this assignment.  So at most one record per
 * partition is kept, however many times the partitions move. */
static void unsettled_take(evbus_consumer_t *c, evbus__part_t *p, int64_t offset, evbus__run_t *run) {
    /* Pairs with leave()'s release store: a record added before is seen. */
    if (!atomic_load_explicit(&c->any_unsettled, memory_order_acquire))
        return;
    pthread_mutex_lock(&c->unsettled_mu);
    for (unsettled_t **u = &c->unsettled; *u;) {
        unsettled_t *r = *u;
        if (r->part != p || r->offset > offset) {
            u = &r->next;
            continue;
        }
        *u = r->next;
        if (r->offset == offset)
            evbus__run_move(run, &r->run);
        evbus__run_clear(&r->run);
        free(r);
    }
    pthread_mutex_unlock(&c->unsettled_mu);
}

/*
 * Leave ev unsettled: nothing more of its partition is handled until it is revoked (so no
 * later offset is stored past it), and the handlers that succeeded are remembered (run is
 * moved): if the partition is assigned to this consumer again, they are not run again.
 */
static void leave(evbus_consumer_t *c, evbus__part_t *p, const evbus_event_t *ev, evbus__run_t *run) {
    evbus__part_stop(c, p);
    if (!run || run->ndone == 0)
        return;
    unsettled_t *u = calloc(1, sizeof(*u));
    if (!u) { /* at-least-once still holds; only the "not twice" promise is lost */
        evbus__log(&c->log, EVBUS_LOG_ERR, "consumer",
                   "out of memory: handlers of %s [%d] offset %lld may run again", p->topic,
                   (int)p->partition, (long long)evbus_event_offset(ev));
        return;
    }
    u->part = p;
    u->offset = evbus_event_offset(ev);
    evbus__run_move(&u->run, run);
    pthread_mutex_lock(&c->unsettled_mu);
    u->next = c->unsettled;
    c->unsettled = u;
    atomic_store_explicit(&c->any_unsettled, 1, memory_order_release);
    pthread_mutex_unlock(&c->unsettled_mu);
}

void evbus__unsettled_free(evbus_consumer_t *c) {
    for (unsettled_t *u = c->unsettled, *nx; u; u = nx) {
        nx = u->next;
        evbus__run_clear(&u->run);
        free(u);
    }
    c->unsettled = NULL;
}

/* ---- outcomes ---- */

/*
 * Write ev to the dead-letter topic, retrying a failed write with backoff (the partition waits:
 * nothing after ev is stored before ev is), then store its offset.  -1 when it was left (stopping).
 */
static int dead_letter(evbus_consumer_t *c, evbus__ostore_t *os, evbus__part_t *p, const evbus_event_t *ev,
                       evbus_err_t code, const char *error, const evbus__run_t *run, int attempts) {
    char errstr[512], dlq_topic[512];
    snprintf(dlq_topic, sizeof(dlq_topic), "%s%s", evbus_event_topic(ev), c->dlq_suffix);
    int held = 0;
    for (int n = 1; evbus__dlq_write(c, ev, code, error, run, attempts, errstr, sizeof(errstr)) != EVBUS_OK; n++) {
        ADD(c->dlq_failed);
        evbus__cmetrics_dlq(c->metrics, dlq_topic, 0, errstr); /* /healthz: 503 until one succeeds */
        if (!held) { /* fetch nothing more of p meanwhile; backpressure never resumes it */
            evbus__part_dlq_hold(c, p, 1);
            held = 1;
        }
        if (transient_wait(c, p, evbus_event_offset(ev), n, EVBUS_ERR_TRANSPORT, "dead-letter write",
                           errstr) != 0)
            return -1; /* left: the partition is stopped, and stays paused */
    }
    if (held)
        evbus__part_dlq_hold(c, p, 0);
    settled(c);
    ADD(c->dead_lettered);
    evbus__cmetrics_dlq(c->metrics, dlq_topic, 1, NULL);
    evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_DEAD_LETTERED);
    const char *first = run && run->nfail ? run->fail[0].handler : NULL;
    evbus__dispatcher_emit(c->d, EVBUS_LC_EVENT_DEAD_LETTERED, ev,
                           &(evbus__lc_info_t){.handler = first, .duration_us = -1, .error = error,
                                               .error_code = code, .attempts = attempts, .run = run});
    evbus__ostore_add(c, os, p, evbus_event_offset(ev));
    evbus__ostore_flush(c, os); /* dead letters are rare: store at once */
    return 0;
}

/* Whether ev can be decoded: EVBUS_OK, a permanent error (errstr), or -1 when left (stopping). */
static int check_value(evbus_consumer_t *c, evbus__ostore_t *os, const evbus__part_t *p,
                       evbus_event_t *ev, evbus_err_t *errp, char *errstr,
                       size_t errstr_size) {
    for (int n = 1;; n++) {
        evbus_err_t err = evbus__event_check_value_cached(ev, &os->check, errstr, errstr_size);
        if (!err || !evbus__registry_err_transient(err)) {
            *errp = err;
            return 0;
        }
        if (transient_wait(c, p, evbus_event_offset(ev), n, err, "schema lookup", errstr) != 0)
            return -1;
    }
}

static void handle_event(evbus_consumer_t *c, evbus__ostore_t *os, evbus__part_t *p, evbus_event_t *ev) {
    char errstr[1024];
    const char *problem;
    evbus__run_t run = {0};
    unsettled_take(c, p, evbus_event_offset(ev), &run);
    evbus_err_t err = evbus__event_problem(ev, &problem);
    if (err) {
        evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_UNDECODABLE);
        if (dead_letter(c, os, p, ev, err, problem, NULL, 0) != 0)
            leave(c, p, ev, NULL);
        goto out;
    }
    evbus__dispatcher_count_event(c->d);
    if (check_value(c, os, p, ev, &err, errstr, sizeof(errstr)) != 0) {
        leave(c, p, ev, &run);
        goto out;
    }
    if (err) {
        evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_UNDECODABLE);
        if (dead_letter(c, os, p, ev, err, errstr, NULL, 0) != 0)
            leave(c, p, ev, &run);
        goto out;
    }
    int max_attempts = 1 + c->retry_max;
    for (int attempt = 1, oom = 0;;) {
        err = evbus__dispatcher_run(c->d, ev, attempt, &run, errstr, sizeof(errstr));
        if (!err) {
            settled(c);
            os->handled++;
            evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_HANDLED);
            if (c->log.audit)
                evbus__log_event(&c->log, EVBUS_LOG_INFO, "audit", ev, NULL, attempt, NULL,
                                 "event handled");
            evbus__ostore_add(c, os, p, evbus_event_offset(ev));
            break;
        }
        if (err == EVBUS_ERR_REJECTED) { /* vetoed before any handler: never retried */
            ADD(c->rejected);
            settled(c);
            if (!c->veto_dlq)
                evbus__ostore_add(c, os, p, evbus_event_offset(ev));
            else if (dead_letter(c, os, p, ev, err, errstr, &run, attempt) != 0)
                leave(c, p, ev, &run);
            break;
        }
        if (run.nfail == 0) { /* no handler ran (out of memory): not an attempt */
            if (transient_wait(c, p, evbus_event_offset(ev), ++oom, err, "dispatch", errstr) != 0) {
                leave(c, p, ev, &run);
                break;
            }
            continue;
        }
        evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_FAILED);
        if (evbus__event_json_failed(ev)) { /* the data itself is bad: retrying cannot help */
            evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_UNDECODABLE);
            const char *why = evbus_event_error(ev);
            if (dead_letter(c, os, p, ev, EVBUS_ERR_DECODE, why ? why : errstr, &run, attempt) != 0)
                leave(c, p, ev, &run);
            break;
        }
        if (attempt >= max_attempts) {
            if (dead_letter(c, os, p, ev, err, errstr, &run, attempt) != 0)
                leave(c, p, ev, &run);
            break;
        }
        ADD(c->retries);
        evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_RETRIED);
        if (backoff_sleep(c, p, backoff_for(c, attempt)) != 0) {
            /* stopping or revoked: leave it (and what follows) for redelivery */
            leave(c, p, ev, &run);
            break;
        }
        attempt++;
    }
out:
    evbus__run_clear(&run);
}

void evbus__handle_item(evbus_consumer_t *c, evbus__ostore_t *os, evbus__qitem_t *it) {
    evbus__part_t *p = it->part;
    /* Stopping, or queued before a revocation that did not wait for it (a worker was busy
     * past the bound): what is left is not handled, and stays uncommitted for redelivery. */
    if (STOPPING(c) || evbus__part_stopped(p) ||
        it->gen != atomic_load_explicit(&p->gen, memory_order_acquire))
        return;
    if (!it->ev) {
        for (int n = 1; !(it->ev = evbus__event_take_message(it->rkm, c->store, c->reg)); n++) {
            if (transient_wait(c, p, it->rkm->offset, n, EVBUS_ERR_NOMEM, "building the event",
                               "out of memory") != 0) {
                evbus__part_stop(c, p);
                return;
            }
        }
        it->rkm = NULL; /* the event has it now */
        evbus__inflight_attach(p, it->ev); /* counted when the message was queued */
    }
    handle_event(c, os, p, it->ev);
}
