/*
 * One event's fate: run its handlers, retry with backoff, dead-letter it when that is all
 * that is left, and store its offset only then.  Also the checks that send an event straight
 * to the dead-letter topic (unusable headers, undecodable value).
 */
#include <time.h>

#include "consumer_int.h"

/* Sleep ms unless stopping; 0 when the full time passed. */
static int backoff_sleep(evbus_consumer_t *c, int64_t ms) {
    int64_t end = evbus__now_us() + ms * 1000;
    while (!STOPPING(c)) {
        int64_t left = end - evbus__now_us();
        if (left <= 0)
            return 0;
        struct timespec ts = {0, (left > 50000 ? 50000 : left) * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void dead_letter(evbus_consumer_t *c, evbus__ostore_t *os, evbus__part_t *p, const evbus_event_t *ev,
                        evbus_err_t code, const char *error, const char *handler, int attempts) {
    char errstr[512], dlq_topic[512];
    snprintf(dlq_topic, sizeof(dlq_topic), "%s%s", evbus_event_topic(ev), c->dlq_suffix);
    if (evbus__dlq_write(c, ev, code, error, handler, attempts, errstr, sizeof(errstr)) != EVBUS_OK) {
        ADD(c->dlq_failed);
        evbus__cmetrics_dlq(c->metrics, dlq_topic, 0, errstr);
        evbus__log_event(&c->log, EVBUS_LOG_ERR, "dlq", ev, handler, attempts, errstr,
                         "dead-letter write failed; partition stopped");
        evbus__part_stop(c, p);
        return;
    }
    ADD(c->dead_lettered);
    evbus__cmetrics_dlq(c->metrics, dlq_topic, 1, NULL);
    evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_DEAD_LETTERED);
    evbus__dispatcher_emit(c->d, EVBUS_LC_EVENT_DEAD_LETTERED, ev,
                           &(evbus__lc_info_t){.handler = handler, .duration_us = -1, .error = error,
                                               .error_code = code, .attempts = attempts});
    evbus__ostore_add(c, os, p, evbus_event_offset(ev));
    evbus__ostore_flush(c, os); /* dead letters are rare: store at once */
}

static void handle_event(evbus_consumer_t *c, evbus__ostore_t *os, evbus__part_t *p, evbus_event_t *ev) {
    char errstr[512];
    const char *problem;
    evbus_err_t err = evbus__event_problem(ev, &problem);
    if (err) {
        evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_UNDECODABLE);
        dead_letter(c, os, p, ev, err, problem, NULL, 0);
        return;
    }
    evbus__dispatcher_count_event(c->d);
    if ((err = evbus__event_check_value(ev, errstr, sizeof(errstr))) != EVBUS_OK) {
        evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_UNDECODABLE);
        dead_letter(c, os, p, ev, err, errstr, NULL, 0);
        return;
    }
    size_t next = 0;
    const char *handler = NULL;
    int max_attempts = 1 + c->retry_max;
    for (int attempt = 1;; attempt++) {
        err = evbus__dispatcher_run(c->d, ev, attempt, &next, &handler, errstr, sizeof(errstr));
        if (!err) {
            os->handled++;
            evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_HANDLED);
            if (c->log.audit)
                evbus__log_event(&c->log, EVBUS_LOG_INFO, "audit", ev, NULL, attempt, NULL,
                                 "event handled");
            evbus__ostore_add(c, os, p, evbus_event_offset(ev));
            break;
        }
        evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_FAILED);
        if (evbus__event_json_failed(ev)) { /* the data itself is bad: retrying cannot help */
            evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_UNDECODABLE);
            const char *why = evbus_event_error(ev);
            dead_letter(c, os, p, ev, EVBUS_ERR_DECODE, why ? why : errstr, handler, attempt);
            break;
        }
        if (attempt >= max_attempts) {
            dead_letter(c, os, p, ev, err, errstr, handler, attempt);
            break;
        }
        ADD(c->retries);
        evbus__cmetrics_event(c->metrics, evbus_event_type(ev), EVBUS__OUT_RETRIED);
        int64_t wait = c->backoff_ms;
        for (int i = 1; i < attempt && wait < c->backoff_max_ms; i++)
            wait *= 2;
        if (wait > c->backoff_max_ms)
            wait = c->backoff_max_ms;
        if (backoff_sleep(c, wait) != 0) {
            evbus__part_stop(c, p); /* stopping: leave it (and what follows) for redelivery */
            break;
        }
    }
}

void evbus__handle_item(evbus_consumer_t *c, evbus__ostore_t *os, evbus__qitem_t *it) {
    evbus__part_t *p = it->part;
    /* Stopping: what is left is not handled, and stays uncommitted for redelivery. */
    if (STOPPING(c) || evbus__part_stopped(p))
        return;
    if (!it->ev && !(it->ev = evbus__event_from_message(it->rkm, c->store, c->reg))) {
        evbus__log(&c->log, EVBUS_LOG_ERR, "consumer", "out of memory; partition %s [%d] stopped",
                   p->topic, (int)p->partition);
        evbus__part_stop(c, p);
        return;
    }
    handle_event(c, os, p, it->ev);
}
