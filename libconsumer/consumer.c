/*
 * The Kafka consumer: one poll thread (the caller of run/poll) queues messages to workers
 * chosen by partition, so a partition's events are handled in order while different
 * partitions run in parallel.  At-least-once: an offset is stored only after the event's sync
 * handlers succeeded or it was dead-lettered; auto-commit and the commits on revoke/close send
 * the stored offsets.  Once a partition has an event that was neither handled nor
 * dead-lettered, nothing later in it is stored (it is redelivered after a restart/rebalance).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "consumer_int.h"
#include "topic.h"

#define ADD(x) __atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)
#define SUB(x) __atomic_sub_fetch(&(x), 1, __ATOMIC_RELAXED)
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STOPPING(c) __atomic_load_n(&(c)->stop, __ATOMIC_ACQUIRE)

/* Per-worker queue bound (messages pushed and not yet finished) and hand-off batch size.
 * The bound also caps what the poll thread pins in librdkafka's fetch buffers. */
#define QUEUE_PER_WORKER 512
#define HANDOFF_BATCH 64

static void deadline_in(struct timespec *ts, int ms) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* ---- partitions ---- */

static evbus__part_t *part_get(evbus_consumer_t *c, const char *topic, int32_t partition, int *created) {
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
            p->next = c->parts;
            c->parts = p;
            if (created)
                *created = 1;
        }
    }
    pthread_mutex_unlock(&c->parts_mu);
    return p;
}

/* Stop handling a partition for this session: later events stay uncommitted. */
static void part_stop(evbus_consumer_t *c, evbus__part_t *p) {
    __atomic_store_n(&p->stopped, 1, __ATOMIC_RELEASE);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    if (l) {
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
        rd_kafka_pause_partitions(c->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
}

static int part_stopped(evbus__part_t *p) { return __atomic_load_n(&p->stopped, __ATOMIC_ACQUIRE); }

/* Map a partition to the worker with the fewest partitions (poll thread only).  A partition
 * keeps its worker while assigned, so its events are handled in order. */
static int part_worker(evbus_consumer_t *c, evbus__part_t *p) {
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

static void part_unmap(evbus_consumer_t *c, evbus__part_t *p) {
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
typedef struct ostore_s {
    size_t n;
    struct {
        evbus__part_t *part;
        int64_t offset;
    } e[HANDOFF_BATCH];
    uint64_t handled; /* events counted as handled once their offsets are stored */
} ostore_t;

static void ostore_flush(evbus_consumer_t *c, ostore_t *os) {
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
        __atomic_add_fetch(&c->handled, os->handled, __ATOMIC_RELAXED);
        os->handled = 0;
    }
}

static void ostore_add(evbus_consumer_t *c, ostore_t *os, evbus__part_t *p, int64_t offset) {
    for (size_t i = 0; i < os->n; i++)
        if (os->e[i].part == p) {
            if (offset > os->e[i].offset)
                os->e[i].offset = offset;
            return;
        }
    if (os->n == HANDOFF_BATCH)
        ostore_flush(c, os);
    os->e[os->n].part = p;
    os->e[os->n].offset = offset;
    os->n++;
}

/* ---- handling one message ---- */

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

static void dead_letter(evbus_consumer_t *c, ostore_t *os, evbus__part_t *p, const evbus_event_t *ev,
                        evbus_err_t code, const char *error, const char *handler, int attempts) {
    char errstr[512];
    if (evbus__dlq_write(c, ev, code, error, handler, attempts, errstr, sizeof(errstr)) != EVBUS_OK) {
        ADD(c->dlq_failed);
        fprintf(stderr, "evbus-consumer: %s [%d] offset %lld: %s; partition stopped\n", ev->topic,
                (int)ev->partition, (long long)ev->offset, errstr);
        part_stop(c, p);
        return;
    }
    ADD(c->dead_lettered);
    evbus__dispatcher_emit(c->d, EVBUS_LC_EVENT_DEAD_LETTERED, ev,
                           &(evbus__lc_info_t){.handler = handler, .duration_us = -1, .error = error,
                                               .error_code = code, .attempts = attempts});
    ostore_add(c, os, p, ev->offset);
    ostore_flush(c, os); /* dead letters are rare: store at once */
}

static void item_free(evbus__qitem_t *it) {
    if (it->rkm)
        rd_kafka_message_destroy(it->rkm);
    evbus__event_destroy(it->ev);
    it->rkm = NULL;
    it->ev = NULL;
}

static void handle_event(evbus_consumer_t *c, ostore_t *os, evbus__part_t *p, evbus_event_t *ev) {
    char errstr[512];
    const char *problem;
    evbus_err_t err = evbus__event_problem(ev, &problem);
    if (err) {
        dead_letter(c, os, p, ev, err, problem, NULL, 0);
        return;
    }
    evbus__dispatcher_count_event(c->d);
    if ((err = evbus__event_check_value(ev, errstr, sizeof(errstr))) != EVBUS_OK) {
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
            ostore_add(c, os, p, ev->offset);
            break;
        }
        if (evbus__event_json_failed(ev)) { /* the data itself is bad: retrying cannot help */
            const char *why = evbus_event_error(ev);
            dead_letter(c, os, p, ev, EVBUS_ERR_DECODE, why ? why : errstr, handler, attempt);
            break;
        }
        if (attempt >= max_attempts) {
            dead_letter(c, os, p, ev, err, errstr, handler, attempt);
            break;
        }
        ADD(c->retries);
        int64_t wait = c->backoff_ms;
        for (int i = 1; i < attempt && wait < c->backoff_max_ms; i++)
            wait *= 2;
        if (wait > c->backoff_max_ms)
            wait = c->backoff_max_ms;
        if (backoff_sleep(c, wait) != 0) {
            part_stop(c, p); /* stopping: leave it (and what follows) for redelivery */
            break;
        }
    }
}

static void handle_item(evbus_consumer_t *c, ostore_t *os, evbus__qitem_t *it) {
    evbus__part_t *p = it->part;
    /* Stopping: what is left is not handled, and stays uncommitted for redelivery. */
    if (STOPPING(c) || part_stopped(p))
        return;
    if (!it->ev && !(it->ev = evbus__event_from_message(it->rkm, c->store, c->reg))) {
        fprintf(stderr, "evbus-consumer: out of memory; partition %s [%d] stopped\n", p->topic,
                (int)p->partition);
        part_stop(c, p);
        return;
    }
    handle_event(c, os, p, it->ev);
}

/* ---- workers ---- */

/* k messages of w are finished (handled, dropped or left): wake whoever waits for that. */
static void worker_done(evbus_consumer_t *c, evbus__worker_t *w, size_t k) {
    if (k == 0)
        return;
    __atomic_sub_fetch(&w->pending, k, __ATOMIC_SEQ_CST);
    __atomic_sub_fetch(&c->queued, k, __ATOMIC_SEQ_CST);
    /* Pairs with the waiter's increment of done_waiters before it checks the counts. */
    if (__atomic_load_n(&c->done_waiters, __ATOMIC_SEQ_CST) > 0) {
        pthread_mutex_lock(&c->qmu);
        pthread_cond_broadcast(&c->done_cond);
        pthread_mutex_unlock(&c->qmu);
    }
}

/* Wait (up to 100 ms per round, until stopping) for cond(c, arg) to hold. */
static void wait_done(evbus_consumer_t *c, int (*cond)(evbus_consumer_t *, void *), void *arg,
                      int stop_ends) {
    pthread_mutex_lock(&c->qmu);
    __atomic_add_fetch(&c->done_waiters, 1, __ATOMIC_SEQ_CST);
    while (!cond(c, arg) && !(stop_ends && STOPPING(c))) {
        struct timespec ts;
        deadline_in(&ts, 100);
        pthread_cond_timedwait(&c->done_cond, &c->qmu, &ts);
    }
    __atomic_sub_fetch(&c->done_waiters, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&c->qmu);
}

/* Drop what a worker still has queued (uncommitted: it is redelivered); w->mu held.
 * Returns how many were dropped. */
static size_t ring_clear(evbus_consumer_t *c, evbus__worker_t *w) {
    size_t k = w->rcount;
    while (w->rcount) {
        item_free(&w->ring[w->rhead]);
        w->rhead = (w->rhead + 1) % c->qlimit;
        w->rcount--;
    }
    return k;
}

static void *worker_main(void *arg) {
    evbus__worker_t *w = arg;
    evbus_consumer_t *c = w->c;
    evbus__qitem_t batch[HANDOFF_BATCH];
    ostore_t os = {0};
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->rcount && !STOPPING(c)) {
            struct timespec ts;
            deadline_in(&ts, 100);
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
            handle_item(c, &os, &batch[i]);
            item_free(&batch[i]);
        }
        ostore_flush(c, &os);
        worker_done(c, w, k);
        pthread_mutex_lock(&w->mu);
    }
    /* Stopping: what is still queued is left uncommitted, for redelivery. */
    size_t k = ring_clear(c, w);
    pthread_mutex_unlock(&w->mu);
    worker_done(c, w, k);
    return NULL;
}

static evbus_err_t workers_start(evbus_consumer_t *c) {
    if (c->workers_started)
        return EVBUS_OK;
    for (int i = 0; i < c->nworkers; i++) {
        c->workers[i].c = c;
        if (pthread_create(&c->workers[i].thread, NULL, worker_main, &c->workers[i]) != 0) {
            __atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
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
    return __atomic_load_n(&c->queued, __ATOMIC_SEQ_CST) == 0;
}

typedef struct room_s {
    evbus__worker_t *w;
    size_t n;
} room_t;

static int has_room(evbus_consumer_t *c, void *arg) {
    room_t *r = arg;
    return __atomic_load_n(&r->w->pending, __ATOMIC_SEQ_CST) + r->n <= c->qlimit;
}

/* Drop what the poll thread staged for w, uncommitted (stopping). */
static void staged_drop(evbus__worker_t *w) {
    for (size_t i = 0; i < w->nstaged; i++)
        item_free(&w->staged[i]);
    w->nstaged = 0;
}

/* Push what the poll thread staged for w into its queue, waiting while w is qlimit behind. */
static void staged_push(evbus_consumer_t *c, evbus__worker_t *w) {
    size_t n = w->nstaged;
    if (n == 0)
        return;
    room_t r = {w, n};
    if (!has_room(c, &r))
        wait_done(c, has_room, &r, 1);
    if (STOPPING(c) || !c->workers_started) {
        staged_drop(w);
        return;
    }
    __atomic_add_fetch(&w->pending, n, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&c->queued, n, __ATOMIC_SEQ_CST);
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
}

static void staged_push_all(evbus_consumer_t *c) {
    for (int i = 0; i < c->nworkers; i++)
        staged_push(c, &c->workers[i]);
}

/* Wait until no message is queued or being handled. */
static void wait_idle(evbus_consumer_t *c) {
    staged_push_all(c);
    if (!is_idle(c, NULL))
        wait_done(c, is_idle, NULL, 0);
}

/* Take ownership of rkm: stage it for its worker, or drop it when its partition takes nothing
 * more. */
static int enqueue(evbus_consumer_t *c, rd_kafka_message_t *rkm) {
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    evbus__part_t *p = c->last_part;
    if (!p || p->partition != rkm->partition || strcmp(p->topic, topic))
        c->last_part = p = part_get(c, topic, rkm->partition, NULL);
    if (!p || part_stopped(p) || STOPPING(c)) {
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
    evbus__worker_t *w = &c->workers[part_worker(c, p)];
    evbus__qitem_t *it = &w->staged[w->nstaged];
    it->part = p;
    it->ev = evbus__event_from_message(rkm, c->store, c->reg);
    if (it->ev) {
        it->rkm = NULL;
        rd_kafka_message_destroy(rkm);
    } else {
        it->rkm = rkm; /* out of memory: the worker tries again, in order */
    }
    if (++w->nstaged == c->qbatch)
        staged_push(c, w);
    return 1;
}

/* ---- rebalance ---- */

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
        evbus__part_t *p = part_get(c, parts->elems[i].topic, parts->elems[i].partition, &created);
        if (p && created) /* first assignment in this session only */
            rd_kafka_topic_partition_list_add(q, parts->elems[i].topic, parts->elems[i].partition)
                ->offset = c->start_ts;
    }
    if (q->cnt > 0) {
        rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(c->rk, q, 10000);
        for (int i = 0; i < q->cnt; i++) {
            rd_kafka_topic_partition_t *e = &q->elems[i];
            evbus__part_t *p = part_get(c, e->topic, e->partition, NULL);
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

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    evbus_consumer_t *c = opaque;
    int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        apply_start(c, parts);
        /* Spread the new partitions over the workers now, the least loaded first. */
        for (int i = 0; i < parts->cnt; i++) {
            evbus__part_t *p = part_get(c, parts->elems[i].topic, parts->elems[i].partition, NULL);
            if (p)
                part_worker(c, p);
        }
        if (coop) {
            rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
            if (e)
                rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(rk, parts);
        }
        __atomic_store_n(&c->assigned, (uint64_t)(coop ? LOAD(c->assigned) + (uint64_t)parts->cnt
                                                        : (uint64_t)parts->cnt),
                         __ATOMIC_RELAXED);
        return;
    }
    /* Revoke (or error): finish what was taken, commit it, then let go. */
    wait_idle(c);
    if (!rd_kafka_assignment_lost(rk))
        rd_kafka_commit(rk, NULL, 0);
    pthread_mutex_lock(&c->parts_mu);
    for (int i = 0; i < parts->cnt; i++)
        for (evbus__part_t *p = c->parts; p; p = p->next)
            if (p->partition == parts->elems[i].partition && !strcmp(p->topic, parts->elems[i].topic)) {
                /* a new owner (maybe us) restarts from the committed offset */
                __atomic_store_n(&p->stopped, 0, __ATOMIC_RELEASE);
                part_unmap(c, p); /* nothing of it is queued: free to move to another worker */
            }
    pthread_mutex_unlock(&c->parts_mu);
    if (coop) {
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
        if (e)
            rd_kafka_error_destroy(e);
        uint64_t a = LOAD(c->assigned);
        __atomic_store_n(&c->assigned, a > (uint64_t)parts->cnt ? a - (uint64_t)parts->cnt : 0,
                         __ATOMIC_RELAXED);
    } else {
        rd_kafka_assign(rk, NULL);
        __atomic_store_n(&c->assigned, 0, __ATOMIC_RELAXED);
    }
}

/* ---- public API ---- */

evbus_consumer_t *evbus_consumer_new(evbus_conf_t *conf, evbus_dispatcher_t *d, char *errstr,
                                     size_t errstr_size) {
    char kerr[512];
    if (!conf || !d) {
        evbus__seterr(errstr, errstr_size, "NULL configuration or dispatcher");
        return NULL;
    }
    const char *group = evbus__conf_str(conf, "consumer.group");
    if ((!group || !*group) && !evbus_conf_get(conf, "kafka.group.id")) {
        evbus__seterr(errstr, errstr_size, "consumer.group is not set");
        return NULL;
    }
    evbus_consumer_t *c = calloc(1, sizeof(*c));
    if (!c) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    c->d = d;
    c->conf = conf; /* borrowed until success, owned after */
    pthread_mutex_init(&c->qmu, NULL);
    pthread_cond_init(&c->done_cond, NULL);
    pthread_mutex_init(&c->parts_mu, NULL);
    c->nworkers = (int)evbus__conf_int(conf, "workers");
    if (c->nworkers < 1)
        c->nworkers = 1;
    c->retry_max = (int)evbus__conf_int(conf, "retry.max");
    c->backoff_ms = evbus__conf_int(conf, "retry.backoff.ms");
    c->backoff_max_ms = evbus__conf_int(conf, "retry.backoff.max.ms");
    if (c->backoff_max_ms < c->backoff_ms)
        c->backoff_max_ms = c->backoff_ms;
    c->prefix = evbus__conf_str(conf, "topic.prefix");
    c->dlq_suffix = evbus__conf_str(conf, "dlq.topic.suffix");
    if (!c->dlq_suffix)
        c->dlq_suffix = ".dlq";
    c->qlimit = QUEUE_PER_WORKER;
    c->qbatch = HANDOFF_BATCH;
    if (!(c->workers = calloc((size_t)c->nworkers, sizeof(*c->workers)))) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        goto fail;
    }
    for (int i = 0; i < c->nworkers; i++) {
        pthread_mutex_init(&c->workers[i].mu, NULL);
        pthread_cond_init(&c->workers[i].cond, NULL);
    }
    for (int i = 0; i < c->nworkers; i++) {
        evbus__worker_t *w = &c->workers[i];
        w->ring = calloc(c->qlimit, sizeof(*w->ring));
        w->staged = calloc(c->qbatch, sizeof(*w->staged));
        if (!w->ring || !w->staged) {
            evbus__seterr(errstr, errstr_size, "out of memory");
            goto fail;
        }
    }

    if (!(c->store = evbus__schema_store_new(evbus__conf_str(conf, "schema.dir"), errstr, errstr_size)))
        goto fail;
    const char *url = evbus__conf_str(conf, "schema.registry.url");
    if (url && *url &&
        !(c->reg = evbus__registry_new(url, evbus__conf_str(conf, "schema.registry.api.key"),
                                       evbus__conf_str(conf, "schema.registry.api.secret"),
                                       (int)evbus__conf_int(conf, "schema.registry.timeout.ms"),
                                       errstr, errstr_size)))
        goto fail;

    rd_kafka_conf_t *kc = evbus__conf_to_kafka(conf, errstr, errstr_size);
    if (!kc)
        goto fail;
    if (!evbus_conf_get(conf, "kafka.group.id") &&
        rd_kafka_conf_set(kc, "group.id", group, kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(kc);
        evbus__seterr(errstr, errstr_size, "group.id: %s", kerr);
        goto fail;
    }
    /* librdkafka prefetches up to 64 MB per consumer and 50 MB per fetch by default: far more
     * than the workers' bounded queues need to stay busy, and memory that grows with the topic.
     * Smaller defaults unless the application chose its own (kafka.*).  queued.min.messages is
     * left alone: with librdkafka < 2.1 a partition over it waits a fixed 1 s before fetching
     * again (no fetch.queue.backoff.ms), which cut throughput fourfold in bench/run. */
    static const char *const fetch_defaults[][2] = {
        {"queued.max.messages.kbytes", "16384"},
        {"fetch.max.bytes", "8388608"},
    };
    for (size_t i = 0; i < sizeof(fetch_defaults) / sizeof(fetch_defaults[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "kafka.%s", fetch_defaults[i][0]);
        if (!evbus_conf_get(conf, name))
            rd_kafka_conf_set(kc, fetch_defaults[i][0], fetch_defaults[i][1], NULL, 0);
    }
    rd_kafka_conf_set(kc, "enable.auto.offset.store", "false", NULL, 0);
    rd_kafka_conf_set(kc, "enable.auto.commit", "true", NULL, 0);
    if (!evbus_conf_get(conf, "kafka.auto.offset.reset"))
        rd_kafka_conf_set(kc, "auto.offset.reset", "earliest", NULL, 0);
    rd_kafka_conf_set_rebalance_cb(kc, rebalance_cb);
    rd_kafka_conf_set_opaque(kc, c);
    if (!(c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, kerr, sizeof(kerr)))) {
        rd_kafka_conf_destroy(kc);
        evbus__seterr(errstr, errstr_size, "kafka consumer: %s", kerr);
        goto fail;
    }
    rd_kafka_poll_set_consumer(c->rk);
    if (evbus__dlq_start(c, errstr, errstr_size) != EVBUS_OK)
        goto fail;
    return c;
fail:
    c->closed = 1;
    c->conf = NULL; /* the caller keeps conf on failure */
    evbus_consumer_destroy(c);
    return NULL;
}

evbus_err_t evbus_consumer_subscribe(evbus_consumer_t *c, const char *const *topics, size_t n,
                                     char *errstr, size_t errstr_size) {
    if (!c || !topics || n == 0)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "no topics");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    if (!l)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char *full = topics[i] ? evbus__topic_full(c->prefix, topics[i]) : NULL;
        if (!full || evbus__topic_check(full, errstr, errstr_size) != 0) {
            if (!full)
                evbus__seterr(errstr, errstr_size, "bad topic");
            free(full);
            rd_kafka_topic_partition_list_destroy(l);
            return EVBUS_ERR_INVALID_ARG;
        }
        rd_kafka_topic_partition_list_add(l, full, RD_KAFKA_PARTITION_UA);
        free(full);
    }
    rd_kafka_resp_err_t kerr = rd_kafka_subscribe(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (kerr)
        return evbus__fail(EVBUS_ERR_TRANSPORT, errstr, errstr_size, "subscribe: %s",
                           rd_kafka_err2str(kerr));
    return EVBUS_OK;
}

evbus_err_t evbus_consumer_set_start(evbus_consumer_t *c, evbus_start_t start, int64_t timestamp_ms) {
    if (!c || start < EVBUS_START_EARLIEST || start > EVBUS_START_TIMESTAMP ||
        (start == EVBUS_START_TIMESTAMP && timestamp_ms < 0))
        return EVBUS_ERR_INVALID_ARG;
    c->start = start;
    c->start_ts = timestamp_ms;
    return EVBUS_OK;
}

int evbus_consumer_poll(evbus_consumer_t *c, int timeout_ms) {
    if (!c || c->closed)
        return EVBUS_ERR_STATE;
    if (workers_start(c) != EVBUS_OK)
        return EVBUS_ERR_NOMEM;
    int n = 0;
    rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c->rk, timeout_ms);
    while (rkm) {
        if (rkm->err) {
            if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && rkm->err != RD_KAFKA_RESP_ERR__NO_OFFSET)
                fprintf(stderr, "evbus-consumer: %s\n", rd_kafka_message_errstr(rkm));
            rd_kafka_message_destroy(rkm);
        } else {
            ADD(c->received);
            n += enqueue(c, rkm);
        }
        if (n >= 1000 || STOPPING(c))
            break;
        rkm = rd_kafka_consumer_poll(c->rk, 0);
    }
    staged_push_all(c); /* nothing waits in the poll thread between calls */
    return n;
}

evbus_err_t evbus_consumer_run(evbus_consumer_t *c) {
    if (!c || c->closed)
        return EVBUS_ERR_STATE;
    while (!STOPPING(c)) {
        int r = evbus_consumer_poll(c, 100);
        if (r < 0) {
            evbus_consumer_close(c);
            return (evbus_err_t)r;
        }
    }
    return evbus_consumer_close(c);
}

void evbus_consumer_stop(evbus_consumer_t *c) {
    if (c)
        __atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
}

static evbus_consumer_t *volatile g_sig_consumer;
static void on_signal(int sig) {
    (void)sig;
    evbus_consumer_stop(g_sig_consumer);
}

void evbus_consumer_handle_signals(evbus_consumer_t *c) {
    g_sig_consumer = c;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second signal kills as usual */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

evbus_err_t evbus_consumer_close(evbus_consumer_t *c) {
    if (!c)
        return EVBUS_ERR_INVALID_ARG;
    if (c->closed)
        return EVBUS_OK;
    c->closed = 1;
    __atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
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
    evbus_err_t err = EVBUS_OK;
    rd_kafka_resp_err_t kerr = rd_kafka_commit(c->rk, NULL, 0);
    if (kerr && kerr != RD_KAFKA_RESP_ERR__NO_OFFSET && kerr != RD_KAFKA_RESP_ERR__STATE)
        err = EVBUS_ERR_TRANSPORT;
    if (rd_kafka_consumer_close(c->rk))
        err = EVBUS_ERR_TRANSPORT;
    evbus__dlq_stop(c);
    return err;
}

void evbus_consumer_destroy(evbus_consumer_t *c) {
    if (!c)
        return;
    if (c->rk) {
        evbus_consumer_close(c);
        rd_kafka_destroy(c->rk);
    }
    evbus__dlq_stop(c);
    if (g_sig_consumer == c)
        g_sig_consumer = NULL;
    if (c->workers)
        for (int i = 0; i < c->nworkers; i++) {
            pthread_cond_destroy(&c->workers[i].cond);
            pthread_mutex_destroy(&c->workers[i].mu);
            free(c->workers[i].ring);
            free(c->workers[i].staged);
        }
    free(c->workers);
    for (evbus__part_t *p = c->parts, *nx; p; p = nx) {
        nx = p->next;
        free(p->topic);
        free(p);
    }
    evbus__registry_destroy(c->reg);
    evbus__schema_store_destroy(c->store);
    evbus_conf_destroy(c->conf);
    pthread_mutex_destroy(&c->parts_mu);
    pthread_cond_destroy(&c->done_cond);
    pthread_mutex_destroy(&c->qmu);
    free(c);
}

evbus_dispatcher_t *evbus_consumer_dispatcher(evbus_consumer_t *c) { return c ? c->d : NULL; }

evbus_err_t evbus_consumer_load_plugin(evbus_consumer_t *c, const char *path, char *errstr,
                                       size_t errstr_size) {
    if (!c)
        return EVBUS_ERR_INVALID_ARG;
    return evbus_dispatcher_load_plugin(
        c->d, path, evbus__conf_bool(c->conf, "plugin.isolate") ? EVBUS_PLUGIN_LOAD_ISOLATE : 0,
        (int)evbus__conf_int(c->conf, "handler.timeout.ms"), NULL, errstr, errstr_size);
}

evbus_err_t evbus_consumer_load_plugins_dir(evbus_consumer_t *c, const char *dir, char *errstr,
                                            size_t errstr_size) {
    if (!c)
        return EVBUS_ERR_INVALID_ARG;
    return evbus_dispatcher_load_plugins_dir(
        c->d, dir, evbus__conf_bool(c->conf, "plugin.isolate") ? EVBUS_PLUGIN_LOAD_ISOLATE : 0,
        (int)evbus__conf_int(c->conf, "handler.timeout.ms"), NULL, errstr, errstr_size);
}

void evbus_consumer_stats(evbus_consumer_t *c, evbus_consumer_stats_t *st) {
    if (!st)
        return;
    memset(st, 0, sizeof(*st));
    if (!c)
        return;
    st->received = LOAD(c->received);
    st->handled = LOAD(c->handled);
    st->retries = LOAD(c->retries);
    st->dead_lettered = LOAD(c->dead_lettered);
    st->dlq_failed = LOAD(c->dlq_failed);
    st->assigned = LOAD(c->assigned);
    st->queued = __atomic_load_n(&c->queued, __ATOMIC_RELAXED);
}
