/*
 * Partition state and the offset store.  A partition record lives as long as the consumer;
 * a stopped partition takes nothing more in this session, so nothing after an event that was
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
void evbus__part_stop(evbus_consumer_t *c, evbus__part_t *p) {
    atomic_store_explicit(&p->stopped, 1, memory_order_release);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    if (l) {
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
        rd_kafka_pause_partitions(c->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
}

int evbus__part_stopped(evbus__part_t *p) { return atomic_load_explicit(&p->stopped, memory_order_acquire); }

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
