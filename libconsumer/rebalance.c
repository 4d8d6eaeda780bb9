/*
 * Rebalances: where a newly assigned partition starts (committed offset, latest, a
 * timestamp), and what a revocation does first (finish what was taken, commit it).  A
 * revocation waits for the workers a bounded time only (c->revoke_wait_ms, half of
 * max.poll.interval.ms): the rebalance callback runs on the poll thread, and a member that does
 * not poll for max.poll.interval.ms is thrown out of the group, after which the handlers that
 * succeeded since the last commit run again elsewhere.  An event of a revoked partition that
 * waits for a retry is left then (uncommitted, redelivered to the new owner).
 */
#include <stdlib.h>
#include <string.h>

#include "consumer_int.h"

static void apply_start(evbus_consumer_t *c, rd_kafka_topic_partition_list_t *parts) {
    if (c->start == EVBUS_START_LATEST && !evbus_conf_get(c->conf, "kafka.auto.offset.reset")) {
        /* auto.offset.reset is fixed at creation (earliest): partitions without a committed
         * offset are sent to the end here instead. */
        rd_kafka_topic_partition_list_t *q = rd_kafka_topic_partition_list_copy(parts);
        if (q && !rd_kafka_committed(c->rk, q, 10000))
            for (int i = 0; i < q->cnt; i++)
                if (!q->elems[i].err && q->elems[i].offset < 0)
                    parts->elems[i].offset = RD_KAFKA_OFFSET_END;
        if (q)
            rd_kafka_topic_partition_list_destroy(q);
        return;
    }
    if (c->start != EVBUS_START_TIMESTAMP)
        return;
    rd_kafka_topic_partition_list_t *q = rd_kafka_topic_partition_list_new(parts->cnt);
    if (!q)
        return;
    for (int i = 0; i < parts->cnt; i++) {
        int created = 0;
        evbus__part_t *p = evbus__part_get(c, parts->elems[i].topic, parts->elems[i].partition, &created);
        if (p && created) /* first assignment in this session only */
            rd_kafka_topic_partition_list_add(q, parts->elems[i].topic, parts->elems[i].partition)
                ->offset = c->start_ts;
    }
    if (q->cnt > 0) {
        rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(c->rk, q, 10000);
        for (int i = 0; i < q->cnt; i++) {
            rd_kafka_topic_partition_t *e = &q->elems[i];
            evbus__part_t *p = evbus__part_get(c, e->topic, e->partition, NULL);
            rd_kafka_topic_partition_t *dst =
                rd_kafka_topic_partition_list_find(parts, e->topic, e->partition);
            if (!p || !dst)
                continue;
            /* A broker that cannot answer (or answers "none") gets the slow path: start at
             * the beginning and skip older messages ourselves.  Same result either way. */
            if (!err && !e->err && e->offset >= 0) {
                dst->offset = e->offset;
            } else {
                dst->offset = RD_KAFKA_OFFSET_BEGINNING;
                p->since_filter = 1;
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(q);
}

void evbus__rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    evbus_consumer_t *c = opaque;
    /* NULL when the group is going away: a consumer closed without ever polling gets the
     * assignment it had joined with from inside rd_kafka_consumer_close(), and then no protocol
     * (the Python binding's Consumer closed unused crashed here on strcmp(NULL)). */
    const char *proto = rd_kafka_rebalance_protocol(rk);
    int coop = proto && !strcmp(proto, "COOPERATIVE");
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        apply_start(c, parts);
        /* Spread the new partitions over the workers now, the least loaded first. */
        for (int i = 0; i < parts->cnt; i++) {
            evbus__part_t *p = evbus__part_get(c, parts->elems[i].topic, parts->elems[i].partition, NULL);
            if (p)
                evbus__part_worker(c, p);
        }
        if (coop) {
            rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
            if (e)
                rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(rk, parts);
        }
        for (int i = 0; i < parts->cnt; i++) { /* paused at once when everything is held */
            evbus__part_t *p = evbus__part_get(c, parts->elems[i].topic, parts->elems[i].partition, NULL);
            if (p)
                evbus__part_assigned(c, p, 1);
        }
        atomic_store_explicit(&c->assigned,
                              (uint64_t)(coop ? LOAD(c->assigned) + (uint64_t)parts->cnt
                                              : (uint64_t)parts->cnt),
                              memory_order_relaxed);
        return;
    }
    /* Revoke (or error): finish what was taken of these partitions, commit it, then let go.
     * Retries of their events end now (policy.c: backoff_sleep()). */
    evbus__part_t **ps = calloc((size_t)(parts->cnt > 0 ? parts->cnt : 1), sizeof(*ps));
    for (int i = 0; i < parts->cnt; i++) {
        evbus__part_t *p = evbus__part_get(c, parts->elems[i].topic, parts->elems[i].partition, NULL);
        if (p)
            atomic_store_explicit(&p->revoking, 1, memory_order_release);
        if (ps)
            ps[i] = p;
    }
    /* (out of memory for the list: every partition is waited for) */
    int idle = evbus__wait_parts_idle_for(c, ps, ps ? parts->cnt : 0, c->revoke_wait_ms);
    free(ps);
    if (!idle) /* a handler still runs (or, cooperative, a partition kept retries) */
        evbus__log(&c->log, EVBUS_LOG_WARNING, "consumer",
                   "revoking %d partition(s): workers still busy after %d ms; letting go of "
                   "what they hold uncommitted (redelivered to the new owner)",
                   parts->cnt, c->revoke_wait_ms);
    if (!rd_kafka_assignment_lost(rk))
        rd_kafka_commit(rk, NULL, 0);
    pthread_mutex_lock(&c->parts_mu);
    for (int i = 0; i < parts->cnt; i++)
        for (evbus__part_t *p = c->parts; p; p = p->next)
            if (p->partition == parts->elems[i].partition && !strcmp(p->topic, parts->elems[i].topic)) {
                /* a new owner (maybe us) restarts from the committed offset */
                /* What is still queued of it (the wait ran out) is not handled after this:
                 * the partition's next owner gets it from the committed offset. */
                atomic_fetch_add_explicit(&p->gen, 1, memory_order_acq_rel);
                atomic_store_explicit(&p->stopped, 0, memory_order_release);
                atomic_store_explicit(&p->revoking, 0, memory_order_release);
                /* Nothing of it is queued: free to move to another worker.  When the wait ran
                 * out, a worker may still hold one of its events: it keeps the worker, so that
                 * what comes next of it queues behind that event, in order. */
                if (idle)
                    evbus__part_unmap(c, p);
            }
    pthread_mutex_unlock(&c->parts_mu);
    for (int i = 0; i < parts->cnt; i++) { /* outside parts_mu: bp_mu comes first */
        evbus__part_t *p = evbus__part_get(c, parts->elems[i].topic, parts->elems[i].partition, NULL);
        if (p)
            evbus__part_assigned(c, p, 0);
    }
    if (coop) {
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
        if (e)
            rd_kafka_error_destroy(e);
        uint64_t a = LOAD(c->assigned);
        atomic_store_explicit(&c->assigned, a > (uint64_t)parts->cnt ? a - (uint64_t)parts->cnt : 0,
                              memory_order_relaxed);
    } else {
        rd_kafka_assign(rk, NULL);
        atomic_store_explicit(&c->assigned, 0, memory_order_relaxed);
    }
}
