/*
 * The worker threads and their bounded queues.  The poll thread stages messages per worker
 * (a partition always goes to the same worker while assigned, so its events stay in order)
 * and hands them over a batch at a time; it waits when a worker is QUEUE_PER_WORKER behind
 * (until it is half that), which bounds what is held in memory.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consumer_int.h"

/* k items of batch finished (their offsets stored, or dropped): a revocation waits for that. */
static void parts_done(const evbus__qitem_t *batch, size_t k) {
    for (size_t i = 0; i < k; i++)
        atomic_fetch_sub_explicit(&batch[i].part->queued, 1, memory_order_release);
}

void evbus__item_free(evbus__qitem_t *it) {
    if (it->rkm)
        rd_kafka_message_destroy(it->rkm);
    if (it->ev)
        evbus__event_destroy(it->ev); /* the in-flight count drops when the last holder lets go */
    else if (it->rkm)
        evbus__inflight_done(it->part);
    it->rkm = NULL;
    it->ev = NULL;
}

/* k messages of w are finished (handled, dropped or left): wake whoever waits for that. */
static void worker_done(evbus_consumer_t *c, evbus__worker_t *w, size_t k) {
    if (k == 0)
        return;
    size_t pending = atomic_fetch_sub_explicit(&w->pending, k, memory_order_seq_cst) - k;
    size_t queued = atomic_fetch_sub_explicit(&c->queued, k, memory_order_seq_cst) - k;
    /* Pairs with the waiter's increment of done_waiters before it checks the counts.  A
     * waiter waits for w to be half empty (has_room()) or for nothing queued (is_idle()):
     * waking it for less only costs it a context switch to go back to sleep. */
    if ((pending <= c->qlimit / 2 || queued == 0) &&
        atomic_load_explicit(&c->done_waiters, memory_order_seq_cst) > 0) {
        pthread_mutex_lock(&c->qmu);
        pthread_cond_broadcast(&c->done_cond);
        pthread_mutex_unlock(&c->qmu);
    }
}

/* Wait (up to 100 ms per round, until stopping when stop_ends, at most until end_us when that
 * is not 0) for cond(c, arg) to hold; returns whether it holds. */
static int wait_done(evbus_consumer_t *c, int (*cond)(evbus_consumer_t *, void *), void *arg,
                     int stop_ends, int64_t end_us) {
    int ok;
    pthread_mutex_lock(&c->qmu);
    atomic_fetch_add_explicit(&c->done_waiters, 1, memory_order_seq_cst);
    while (!(ok = cond(c, arg)) && !(stop_ends && STOPPING(c))) {
        int ms = 100;
        if (end_us) {
            int64_t left = end_us - evbus__now_us();
            if (left <= 0)
                break;
            if (left < 100000)
                ms = (int)(left / 1000) + 1;
        }
        struct timespec ts;
        evbus__deadline_in(&ts, ms);
        pthread_cond_timedwait(&c->done_cond, &c->qmu, &ts);
    }
    atomic_fetch_sub_explicit(&c->done_waiters, 1, memory_order_seq_cst);
    pthread_mutex_unlock(&c->qmu);
    return ok;
}

/* Drop what a worker still has queued (uncommitted: it is redelivered); w->mu held.
 * Returns how many were dropped. */
static size_t ring_clear(evbus_consumer_t *c, evbus__worker_t *w) {
    size_t k = w->rcount;
    while (w->rcount) {
        evbus__item_free(&w->ring[w->rhead]);
        parts_done(&w->ring[w->rhead], 1);
        w->rhead = (w->rhead + 1) % c->qlimit;
        w->rcount--;
    }
    return k;
}

static void *worker_main(void *arg) {
    evbus__worker_t *w = arg;
    evbus_consumer_t *c = w->c;
    evbus__qitem_t batch[HANDOFF_BATCH];
    evbus__ostore_t os = {0};
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->rcount && !STOPPING(c)) {
            struct timespec ts;
            evbus__deadline_in(&ts, 100);
            w->sleeping = 1;
            pthread_cond_timedwait(&w->cond, &w->mu, &ts);
            w->sleeping = 0;
        }
        if (STOPPING(c))
            break;
        size_t k = w->rcount < HANDOFF_BATCH ? w->rcount : HANDOFF_BATCH;
        for (size_t i = 0; i < k; i++) {
            batch[i] = w->ring[w->rhead];
            w->rhead = (w->rhead + 1) % c->qlimit;
        }
        w->rcount -= k;
        pthread_mutex_unlock(&w->mu);
        for (size_t i = 0; i < k; i++) {
            evbus__handle_item(c, &os, &batch[i]);
            evbus__item_free(&batch[i]);
        }
        evbus__ostore_flush(c, &os);
        parts_done(batch, k);
        worker_done(c, w, k);
        pthread_mutex_lock(&w->mu);
    }
    /* Stopping: what is still queued is left uncommitted, for redelivery. */
    size_t k = ring_clear(c, w);
    pthread_mutex_unlock(&w->mu);
    worker_done(c, w, k);
    return NULL;
}

evbus_err_t evbus__workers_start(evbus_consumer_t *c) {
    if (c->workers_started)
        return EVBUS_OK;
    for (int i = 0; i < c->nworkers; i++) {
        c->workers[i].c = c;
        if (pthread_create(&c->workers[i].thread, NULL, worker_main, &c->workers[i]) != 0) {
            atomic_store_explicit(&c->stop, 1, memory_order_release);
            for (int k = 0; k < i; k++) {
                pthread_mutex_lock(&c->workers[k].mu);
                pthread_cond_signal(&c->workers[k].cond);
                pthread_mutex_unlock(&c->workers[k].mu);
                pthread_join(c->workers[k].thread, NULL);
            }
            return EVBUS_ERR_NOMEM;
        }
    }
    c->workers_started = 1;
    return EVBUS_OK;
}

static int is_idle(evbus_consumer_t *c, void *arg) {
    (void)arg;
    return atomic_load_explicit(&c->queued, memory_order_seq_cst) == 0;
}

typedef struct room_s {
    evbus__worker_t *w;
    size_t n;
} room_t;

static int has_room(evbus_consumer_t *c, void *arg) {
    room_t *r = arg;
    return atomic_load_explicit(&r->w->pending, memory_order_seq_cst) + r->n <= c->qlimit;
}

/* What a full worker is waited for: half its queue free, so the poll thread wakes once per
 * half queue rather than once per batch the worker finishes. */
static int has_half_room(evbus_consumer_t *c, void *arg) {
    room_t *r = arg;
    size_t pending = atomic_load_explicit(&r->w->pending, memory_order_seq_cst);
    return pending + r->n <= c->qlimit && pending <= c->qlimit / 2;
}

/* Drop what the poll thread staged for w, uncommitted (stopping). */
static void staged_drop(evbus__worker_t *w) {
    for (size_t i = 0; i < w->nstaged; i++)
        evbus__item_free(&w->staged[i]);
    parts_done(w->staged, w->nstaged);
    w->nstaged = 0;
}

/* Push what the poll thread staged for w into its queue, waiting while w is qlimit behind (at
 * most until end_us when that is not 0: then what is staged stays staged, and -1). */
static int staged_push(evbus_consumer_t *c, evbus__worker_t *w, int64_t end_us) {
    size_t n = w->nstaged;
    if (n == 0)
        return 0;
    room_t r = {w, n};
    if (!has_room(c, &r) && !wait_done(c, has_half_room, &r, 1, end_us) && !STOPPING(c) &&
        !has_room(c, &r))
        return -1;
    if (STOPPING(c) || !c->workers_started) {
        staged_drop(w);
        return 0;
    }
    atomic_fetch_add_explicit(&w->pending, n, memory_order_seq_cst);
    atomic_fetch_add_explicit(&c->queued, n, memory_order_seq_cst);
    pthread_mutex_lock(&w->mu);
    size_t tail = (w->rhead + w->rcount) % c->qlimit;
    for (size_t i = 0; i < n; i++) {
        w->ring[tail] = w->staged[i];
        tail = (tail + 1) % c->qlimit;
    }
    w->rcount += n;
    if (w->sleeping)
        pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    w->nstaged = 0;
    return 0;
}

void evbus__staged_push_all(evbus_consumer_t *c) {
    for (int i = 0; i < c->nworkers; i++)
        staged_push(c, &c->workers[i], 0);
}

typedef struct parts_s {
    evbus__part_t *const *ps;
    int n;
} parts_t;

static int parts_idle(evbus_consumer_t *c, void *arg) {
    const parts_t *pl = arg;
    if (!pl->ps)
        return is_idle(c, NULL);
    for (int i = 0; i < pl->n; i++)
        if (pl->ps[i] && atomic_load_explicit(&pl->ps[i]->queued, memory_order_acquire) > 0)
            return 0;
    return 1;
}

/* Drop what the poll thread staged of the partitions being revoked (never handed to a worker:
 * uncommitted, fetched again by their next owner), so that a full worker is not waited for. */
static void staged_drop_revoking(evbus__worker_t *w) {
    size_t keep = 0;
    for (size_t i = 0; i < w->nstaged; i++) {
        if (atomic_load_explicit(&w->staged[i].part->revoking, memory_order_acquire)) {
            evbus__item_free(&w->staged[i]);
            parts_done(&w->staged[i], 1);
        } else {
            w->staged[keep++] = w->staged[i];
        }
    }
    w->nstaged = keep;
}

/* Only the revoked partitions are waited for: with the cooperative protocol the others keep
 * their events, and their retries, whatever their length.  A worker wakes waiters only at
 * half a queue or when empty: past that, the 100 ms rounds of wait_done() see the change. */
int evbus__wait_parts_idle_for(evbus_consumer_t *c, evbus__part_t *const *ps, int n, int ms) {
    int64_t end = evbus__now_us() + (int64_t)ms * 1000;
    for (int i = 0; i < c->nworkers; i++)
        staged_drop_revoking(&c->workers[i]);
    parts_t pl = {ps, n};
    if (!ps) { /* every partition: what is staged of the others is handed over as well */
        for (int i = 0; i < c->nworkers; i++)
            if (staged_push(c, &c->workers[i], end) != 0)
                return 0;
    }
    return parts_idle(c, &pl) || wait_done(c, parts_idle, &pl, 0, end);
}

/* Take ownership of rkm: stage it for its worker, or drop it when its partition takes nothing
 * more. */
int evbus__enqueue(evbus_consumer_t *c, rd_kafka_message_t *rkm) {
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    evbus__part_t *p = c->last_part;
    if (!p || p->partition != rkm->partition || strcmp(p->topic, topic))
        c->last_part = p = evbus__part_get(c, topic, rkm->partition, NULL);
    if (!p || evbus__part_stopped(p) || STOPPING(c)) {
        rd_kafka_message_destroy(rkm);
        return 0;
    }
    if (p->since_filter) { /* only this thread touches since_filter after assignment */
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(rkm, &tt);
        if (tt != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ts < c->start_ts) {
            /* Skipped on purpose (nothing of p was queued before it: since_filter is still on) */
            rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
            if (l) {
                rd_kafka_topic_partition_list_add(l, topic, rkm->partition)->offset = rkm->offset + 1;
                rd_kafka_offsets_store(c->rk, l);
                rd_kafka_topic_partition_list_destroy(l);
            }
            rd_kafka_message_destroy(rkm);
            return 0;
        }
        p->since_filter = 0;
    }
    evbus__worker_t *w = &c->workers[evbus__part_worker(c, p)];
    if (w->nstaged == c->qbatch) /* a bounded push (a revocation) left a full batch staged */
        staged_push(c, w, 0);
    evbus__qitem_t *it = &w->staged[w->nstaged];
    it->part = p;
    /* The worker builds the event (evbus__handle_item()), taking rkm rather than copying it:
     * librdkafka's header parse allocates, and the event frees those blocks with rkm on the
     * worker, so allocation and free stay on one thread (glibc's per-thread cache) and the
     * poll thread only hands messages over. */
    it->ev = NULL;
    it->rkm = rkm;
    it->gen = atomic_load_explicit(&p->gen, memory_order_relaxed); /* poll thread: as revocations */
    evbus__inflight_add(c, p, NULL);
    atomic_fetch_add_explicit(&p->queued, 1, memory_order_relaxed);
    if (++w->nstaged == c->qbatch)
        staged_push(c, w, 0);
    return 1;
}

/* Stop and join the workers (c->stop is set), then drop whatever is still queued or staged:
 * it stays uncommitted, for redelivery. */
void evbus__workers_stop(evbus_consumer_t *c) {
    if (c->workers_started) {
        for (int i = 0; i < c->nworkers; i++) {
            pthread_mutex_lock(&c->workers[i].mu);
            pthread_cond_signal(&c->workers[i].cond);
            pthread_mutex_unlock(&c->workers[i].mu);
        }
        for (int i = 0; i < c->nworkers; i++)
            pthread_join(c->workers[i].thread, NULL);
        c->workers_started = 0;
    }
    /* Whatever was queued after the workers left stays uncommitted, for redelivery. */
    for (int i = 0; i < c->nworkers; i++) {
        evbus__worker_t *w = &c->workers[i];
        staged_drop(w);
        pthread_mutex_lock(&w->mu);
        size_t k = ring_clear(c, w);
        pthread_mutex_unlock(&w->mu);
        worker_done(c, w, k);
    }
}
