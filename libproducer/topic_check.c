/*
 * Is each topic of an event one the brokers have?  Asked before anything of the event is
 * enqueued: librdkafka refuses a message for a topic it knows to be missing at once, so
 * without this check an event for an existing and a missing topic went to the first only.
 *
 * A topic's answer is remembered: one that exists is not asked about again (should it be
 * deleted later, librdkafka's refusal marks it missing, see evbus__topic_refused); a missing
 * one is refused for TOPIC_RECHECK_US, then asked about again, so that a topic created
 * meanwhile is used.  When no broker answers (all down), or within librdkafka's
 * topic.metadata.propagation.max.ms (30 s) of its first reference a topic is said to be
 * unknown (a new topic not yet on every broker), the event is not held up: it is enqueued as
 * before and librdkafka keeps it until the topic appears (or fails it at the end of that
 * time, or of message.timeout.ms); the question is asked again after TOPIC_RETRY_US.
 */
#include <stdio.h>
#include <string.h>

#include "producer_internal.h"

#define TOPIC_CHECK_MS 1000              /* the longest a send waits for the answer */
#define TOPIC_RECHECK_US (10 * 1000000LL) /* a missing topic is asked about again after this */
#define TOPIC_RETRY_US (5 * 1000000LL)    /* an unanswered question is asked again after this */

/* Ask the brokers about t (up to timeout_ms); its new state. */
static int ask(evbus_producer_t *p, evbus__ptopic_t *t, int timeout_ms,
               rd_kafka_resp_err_t *why) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 0, t->rkt, &md, timeout_ms);
    int state = EVBUS__TOPIC_UNANSWERED;
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        state = EVBUS__TOPIC_EXISTS; /* listed; a transient error (no leader yet) passes */
        for (int i = 0; i < md->topic_cnt; i++) {
            if (strcmp(md->topics[i].topic, t->tc->full_topic) != 0)
                continue;
            rd_kafka_resp_err_t te = md->topics[i].err;
            /* the errors for which librdkafka refuses the topic's messages at once */
            if (te == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                te == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                te == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION) {
                *why = te;
                state = EVBUS__TOPIC_MISSING;
            }
        }
        rd_kafka_metadata_destroy(md);
    }
    return state;
}

evbus_err_t evbus__topics_check(evbus_producer_t *p, const evbus__ptopic_t *const *sel, size_t n,
                                const char **bad, char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < n; i++) {
        evbus__ptopic_t *t = (evbus__ptopic_t *)sel[i]; /* its state is the producer's */
        int state = atomic_load(&t->state);
        if (state == EVBUS__TOPIC_EXISTS)
            continue;
        int64_t now = evbus__now_us();
        int64_t since = now - atomic_load(&t->state_us);
        rd_kafka_resp_err_t why = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        if (state == EVBUS__TOPIC_UNKNOWN ||
            (state == EVBUS__TOPIC_MISSING && since >= TOPIC_RECHECK_US) ||
            (state == EVBUS__TOPIC_UNANSWERED && since >= TOPIC_RETRY_US)) {
            state = ask(p, t, TOPIC_CHECK_MS, &why);
            /* A topic just created may not have reached the broker that answered: like
             * librdkafka, take "unknown" for missing only once topic.metadata.propagation
             * .max.ms has passed since the topic was first referenced; until then the event
             * goes on (librdkafka holds its messages for the topic to appear, and fails them
             * at the end of that time if it does not). */
            if (state == EVBUS__TOPIC_MISSING && why == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART &&
                evbus__now_us() - p->kafka_created_us < p->topic_propagation_us)
                state = EVBUS__TOPIC_UNANSWERED;
            if (state == EVBUS__TOPIC_MISSING)
                atomic_store(&t->missing_err, (int)why);
            atomic_store(&t->state_us, evbus__now_us());
            atomic_store(&t->state, state);
        }
        if (state == EVBUS__TOPIC_MISSING) {
            *bad = t->tc->full_topic;
            return evbus__fail(EVBUS_ERR_TRANSPORT, errstr, errstr_size,
                               "%s: the topic does not exist on the brokers (%s); nothing "
                               "enqueued to any of the event's topics",
                               t->tc->full_topic,
                               rd_kafka_err2str((rd_kafka_resp_err_t)atomic_load(&t->missing_err)));
        }
        /* exists, or no broker answered: enqueued, as librdkafka would take it */
    }
    return EVBUS_OK;
}

void evbus__topic_refused(evbus__ptopic_t *t, rd_kafka_resp_err_t err) {
    if (err != RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC && err != RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        return;
    atomic_store(&t->missing_err, (int)err);
    atomic_store(&t->state_us, evbus__now_us());
    atomic_store(&t->state, EVBUS__TOPIC_MISSING);
}
