/*
 * tail's last-N collection: per partition, a ring of the newest n matching events that grows
 * as events arrive (never more than n slots, never n up front); at the end of the initial
 * phase the newest n per topic, across its partitions, go to the writer in time order.
 */
#include <stdlib.h>

#include "tail_int.h"

static evbus_event_t *ring_at(const tail_ring_t *r, size_t i) { return r->v[(r->head + i) % r->cap]; }

int tail_ring_push(tail_t *t, tail_part_t *p, evbus_event_t *ev) {
    tail_ring_t *r = &p->ring;
    size_t max = (size_t)t->n;
    if (max == 0) {
        evbus_event_destroy(ev);
        return 0;
    }
    if (r->len == max) { /* full: the oldest goes */
        evbus_event_destroy(r->v[r->head]);
        r->v[r->head] = ev;
        r->head = (r->head + 1) % r->cap;
        return 0;
    }
    if (r->len == r->cap) { /* not full yet, so never wrapped: head is 0 and growing is a realloc */
        size_t cap = r->cap ? r->cap * 2 : 16;
        if (cap > max)
            cap = max;
        evbus_event_t **v = realloc(r->v, cap * sizeof(*v));
        if (!v) {
            evbus_event_destroy(ev);
            evbus_cli_err("tail", "out of memory");
            return -1;
        }
        r->v = v;
        r->cap = cap;
    }
    r->v[r->len++] = ev;
    return 0;
}

int tail_late_push(tail_t *t, evbus_event_t *ev) {
    evbus_event_t **l = realloc(t->late, (t->nlate + 1) * sizeof(*l));
    if (!l) {
        evbus_event_destroy(ev);
        evbus_cli_err("tail", "out of memory");
        return -1;
    }
    t->late = l;
    t->late[t->nlate++] = ev;
    return 0;
}

static int cmp_events(const void *a, const void *b) {
    const evbus_event_t *x = *(evbus_event_t *const *)a, *y = *(evbus_event_t *const *)b;
    int64_t tx = evbus_event_timestamp(x), ty = evbus_event_timestamp(y);
    if (tx != ty)
        return tx < ty ? -1 : 1;
    if (evbus_event_partition(x) != evbus_event_partition(y))
        return evbus_event_partition(x) < evbus_event_partition(y) ? -1 : 1;
    return evbus_event_offset(x) < evbus_event_offset(y) ? -1 : 1;
}

int tail_ring_flush(tail_t *t) {
    int r = 0;
    for (size_t ti = 0; ti < t->ntopics && r == 0; ti++) {
        size_t total = 0;
        for (size_t i = 0; i < t->nparts; i++)
            if (t->parts[i].topic == ti)
                total += t->parts[i].ring.len;
        if (!total)
            continue;
        evbus_event_t **all = malloc(total * sizeof(*all));
        if (!all) {
            evbus_cli_err("tail", "out of memory");
            return -1;
        }
        size_t k = 0;
        for (size_t i = 0; i < t->nparts; i++)
            if (t->parts[i].topic == ti)
                for (size_t j = 0; j < t->parts[i].ring.len; j++)
                    all[k++] = ring_at(&t->parts[i].ring, j);
        qsort(all, total, sizeof(*all), cmp_events);
        for (size_t j = total > (size_t)t->n ? total - (size_t)t->n : 0;
             j < total && r == 0 && !tail_count_reached(t); j++)
            r = tail_enqueue(t, evbus_event_ref(all[j]));
        free(all);
    }
    for (size_t i = 0; i < t->nlate && r == 0 && !tail_count_reached(t); i++)
        r = tail_enqueue(t, evbus_event_ref(t->late[i]));
    return r;
}

void tail_ring_free(tail_t *t) {
    for (size_t i = 0; i < t->nparts; i++) {
        tail_ring_t *r = &t->parts[i].ring;
        for (size_t j = 0; j < r->len; j++)
            evbus_event_destroy(ring_at(r, j));
        free(r->v);
        *r = (tail_ring_t){0};
    }
    for (size_t i = 0; i < t->nlate; i++)
        evbus_event_destroy(t->late[i]);
    free(t->late);
    t->late = NULL;
    t->nlate = 0;
}
