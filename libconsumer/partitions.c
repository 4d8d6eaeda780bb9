/*
 * Partition state and the offset store.  A partition record lives as long as the consumer;
 * a stopped partition takes nothing more until it is revoked, so nothing after an event that was
 * neither handled nor dead-lettered is ever stored.  Offsets are stored a batch at a time,
 * only the highest per partition, and only once the event's fate is settled (at-least-once).
 */
#include <stdlib.h>
#include <string.h>

#include "consumer_int.h"

evbus__part_t *evbus__part_get(evbus_consumer_t *c, const char *topic, int32_t partition, int *created) {
    pthread_mutex_lock(&c->parts_mu);
    evbus__part_t *p = c->parts;
    while (p && (p->partition != partition || strcmp(p->topic, topic)))
        p = p->next;
    if (created)
        *created = 0;
    if (!p && (p = calloc(1, sizeof(*p)))) {
        if (!(p->topic = evbus__strdup(topic))) {
            free(p);
            p = NULL;
        } else {
            p->partition = partition;
            p->worker = -1;
            p->c = c;
            p->next = c->parts;
            c->parts = p;
            if (created)
                *created = 1;
        }
    }
    pthread_mutex_unlock(&c->parts_mu);
    return p;
}

/* ---- pause and resume ---- */

/* Tell librdkafka to pause or resume p when that differs from what it was last told; bp_mu held.
 * Paused while any reason holds; assigned only matters for backpressure, so that a stopped
 * partition is paused whatever the rebalance state. */
static void part_apply_locked(evbus_consumer_t *c, evbus__part_t *p) {
    int want = atomic_load_explicit(&p->stopped, memory_order_acquire) || p->dlq_hold ||
               (p->assigned && (atomic_load_explicit(&p->bp_hold, memory_order_relaxed) ||
                                atomic_load_explicit(&c->bp_all, memory_order_relaxed)));
    if (want == p->paused)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    if (!l)
        return; /* out of memory: paused stays as it was, the next change tries again */
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    rd_kafka_resp_err_t err = want ? rd_kafka_pause_partitions(c->rk, l) : rd_kafka_resume_partitions(c->rk, l);
    if (!err && !l->elems[0].err)
        p->paused = want;
    rd_kafka_topic_partition_list_destroy(l);
}

/* Every known partition; bp_mu held (parts_mu is taken inside it). */
static void parts_apply_locked(evbus_consumer_t *c) {
    pthread_mutex_lock(&c->parts_mu);
    for (evbus__part_t *p = c->parts; p; p = p->next)
        part_apply_locked(c, p);
    pthread_mutex_unlock(&c->parts_mu);
}

/* Stop handling a partition until it is revoked: later events stay uncommitted. */
void evbus__part_stop(evbus_consumer_t *c, evbus__part_t *p) {
    pthread_mutex_lock(&c->bp_mu);
    atomic_store_explicit(&p->stopped, 1, memory_order_release);
    part_apply_locked(c, p);
    pthread_mutex_unlock(&c->bp_mu);
}

void evbus__part_dlq_hold(evbus_consumer_t *c, evbus__part_t *p, int on) {
    pthread_mutex_lock(&c->bp_mu);
    p->dlq_hold = on;
    part_apply_locked(c, p);
    pthread_mutex_unlock(&c->bp_mu);
}

void evbus__part_assigned(evbus_consumer_t *c, evbus__part_t *p, int on) {
    pthread_mutex_lock(&c->bp_mu);
    p->assigned = on;
    if (on) {
        /* A fresh assignment fetches.  librdkafka keeps a pause made before the revocation (a
         * partition left mid-retry, or held for its dead letter) across the new assignment, so
         * it is told to resume whatever it was last told. */
        p->paused = 1;
        part_apply_locked(c, p);
    } else {
        /* A new owner (maybe us) starts afresh; events still in flight keep counting. */
        atomic_store_explicit(&p->bp_hold, 0, memory_order_relaxed);
        p->dlq_hold = 0;
        p->paused = 0;
    }
    pthread_mutex_unlock(&c->bp_mu);
}

/* ---- in-flight events ---- */

/*
 * Lift the holds that half the bound allows again; bp_mu held.  The counts and the hold flags
 * are seq_cst: a release decrements then reads the flag, the poll thread sets the flag then
 * reads the count (here), so the last release cannot slip between them and leave a
 * partition paused with nothing in flight to resume it.
 */
static void relieve_locked(evbus_consumer_t *c, evbus__part_t *p) {
    if (atomic_load(&p->bp_hold) && atomic_load(&p->inflight) <= c->max_inflight_part / 2) {
        atomic_store(&p->bp_hold, 0);
        part_apply_locked(c, p);
    }
    if (atomic_load(&c->bp_all) && atomic_load(&c->inflight) <= c->max_inflight / 2) {
        atomic_store(&c->bp_all, 0);
        parts_apply_locked(c);
    }
}

static void inflight_release(void *arg) { evbus__inflight_done(arg); }

void evbus__inflight_done(evbus__part_t *p) {
    evbus_consumer_t *c = p->c;
    size_t pn = atomic_fetch_sub(&p->inflight, 1) - 1;
    size_t tn = atomic_fetch_sub(&c->inflight, 1) - 1;
    if ((atomic_load(&p->bp_hold) && pn <= c->max_inflight_part / 2) ||
        (atomic_load(&c->bp_all) && tn <= c->max_inflight / 2)) {
        pthread_mutex_lock(&c->bp_mu);
        relieve_locked(c, p);
        pthread_mutex_unlock(&c->bp_mu);
    }
}

void evbus__inflight_attach(evbus__part_t *p, evbus_event_t *ev) {
    evbus__event_on_release(ev, inflight_release, p);
}

static void hwm_raise(atomic_size_t *hwm, size_t n) {
    size_t h = atomic_load_explicit(hwm, memory_order_relaxed);
    while (n > h && !atomic_compare_exchange_weak_explicit(hwm, &h, n, memory_order_relaxed,
                                                           memory_order_relaxed))
        ;
}

void evbus__inflight_add(evbus_consumer_t *c, evbus__part_t *p, evbus_event_t *ev) {
    size_t pn = atomic_fetch_add(&p->inflight, 1) + 1;
    size_t tn = atomic_fetch_add(&c->inflight, 1) + 1;
    if (ev)
        evbus__inflight_attach(p, ev);
    hwm_raise(&p->inflight_hwm, pn);
    hwm_raise(&c->inflight_hwm, tn);
    /* Pausing at the bound (not past it): librdkafka hands over nothing more of a partition
     * once rd_kafka_pause_partitions() has returned, so the bound holds exactly. */
    int part_full = c->max_inflight_part && pn >= c->max_inflight_part && !atomic_load(&p->bp_hold);
    int all_full = c->max_inflight && tn >= c->max_inflight && !atomic_load(&c->bp_all);
    if (!part_full && !all_full)
        return;
    pthread_mutex_lock(&c->bp_mu);
    if (part_full) {
        atomic_store(&p->bp_hold, 1);
        part_apply_locked(c, p);
    }
    if (all_full) {
        atomic_store(&c->bp_all, 1);
        parts_apply_locked(c);
    }
    relieve_locked(c, p);
    pthread_mutex_unlock(&c->bp_mu);
}

int evbus__consumer_bp_state(evbus_consumer_t *c, const char *topic, int32_t partition,
                             evbus__bp_state_t *st) {
    pthread_mutex_lock(&c->bp_mu);
    pthread_mutex_lock(&c->parts_mu);
    evbus__part_t *p = c->parts;
    while (p && (p->partition != partition || strcmp(p->topic, topic)))
        p = p->next;
    if (p) {
        st->paused = p->paused;
        st->stopped = atomic_load(&p->stopped);
        st->dlq_hold = p->dlq_hold;
        st->bp_hold = atomic_load(&p->bp_hold);
        st->bp_all = atomic_load(&c->bp_all);
        st->inflight = atomic_load(&p->inflight);
        st->inflight_hwm = atomic_load(&p->inflight_hwm);
        st->total_inflight = atomic_load(&c->inflight);
        st->total_hwm = atomic_load(&c->inflight_hwm);
    }
    pthread_mutex_unlock(&c->parts_mu);
    pthread_mutex_unlock(&c->bp_mu);
    return p ? 0 : -1;
}

int evbus__part_stopped(const evbus__part_t *p) {
    return atomic_load_explicit(&p->stopped, memory_order_acquire);
}

int evbus__part_leaving(const evbus__part_t *p) {
    return evbus__part_stopped(p) || atomic_load_explicit(&p->revoking, memory_order_acquire);
}

/* Map a partition to the worker with the fewest partitions (poll thread only).  A partition
 * keeps its worker while assigned, so its events are handled in order. */
int evbus__part_worker(evbus_consumer_t *c, evbus__part_t *p) {
    if (p->worker < 0) {
        int best = 0;
        for (int i = 1; i < c->nworkers; i++)
            if (c->workers[i].nparts < c->workers[best].nparts)
                best = i;
        p->worker = best;
        c->workers[best].nparts++;
    }
    return p->worker;
}

void evbus__part_unmap(evbus_consumer_t *c, evbus__part_t *p) {
    if (p->worker >= 0) {
        c->workers[p->worker].nparts--;
        p->worker = -1;
    }
}

/* ---- offsets ---- */
/*
 * A worker's offsets to store, gathered over one batch and stored with a single
 * rd_kafka_offsets_store() before the batch counts as finished (so an idle consumer has stored
 * everything it handled).  Only the highest offset per partition matters.
 */

void evbus__ostore_flush(evbus_consumer_t *c, evbus__ostore_t *os) {
    if (os->n > 0) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)os->n);
        if (l) {
            for (size_t i = 0; i < os->n; i++)
                rd_kafka_topic_partition_list_add(l, os->e[i].part->topic, os->e[i].part->partition)
                    ->offset = os->e[i].offset + 1;
            /* Fails only for a partition no longer assigned: its next owner redelivers. */
            rd_kafka_offsets_store(c->rk, l);
            rd_kafka_topic_partition_list_destroy(l);
        }
        os->n = 0;
    }
    if (os->handled) {
        atomic_fetch_add_explicit(&c->handled, os->handled, memory_order_relaxed);
        os->handled = 0;
    }
}

void evbus__ostore_add(evbus_consumer_t *c, evbus__ostore_t *os, evbus__part_t *p, int64_t offset) {
    for (size_t i = 0; i < os->n; i++)
        if (os->e[i].part == p) {
            if (offset > os->e[i].offset)
                os->e[i].offset = offset;
            return;
        }
    if (os->n == HANDOFF_BATCH)
        evbus__ostore_flush(c, os);
    os->e[os->n].part = p;
    os->e[os->n].offset = offset;
    os->n++;
}
