/*
 * evbus_spool_info_*: what a spool holds, read without a lock (include/evbus/spool.h).
 */
#include "evbus/spool.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "spool.h"

typedef struct topic_s {
    char *name;
    uint64_t events, bytes;
} topic_t;

struct evbus_spool_info_s {
    uint64_t events, bytes, damaged;
    int64_t oldest_us; /* created time of the oldest, wall clock; 0: none */
    topic_t *topics;
    size_t ntopics, cap;
    int nomem;
};

static void on_event(const evbus__spool_event_t *ev, size_t bytes, void *opaque) {
    evbus_spool_info_t *in = opaque;
    in->events++;
    in->bytes += bytes;
    if (!in->oldest_us || ev->created_us < in->oldest_us)
        in->oldest_us = ev->created_us;
    for (size_t i = 0; i < ev->nmsgs; i++) {
        const evbus__spool_msg_t *m = &ev->msgs[i];
        size_t t = 0;
        while (t < in->ntopics && strcmp(in->topics[t].name, m->topic))
            t++;
        if (t == in->ntopics) {
            if (in->ntopics == in->cap) {
                size_t c = in->cap ? in->cap * 2 : 8;
                topic_t *nt = realloc(in->topics, c * sizeof(*nt));
                if (!nt) {
                    in->nomem = 1;
                    return;
                }
                in->topics = nt;
                in->cap = c;
            }
            char *name = evbus__strdup(m->topic);
            if (!name) {
                in->nomem = 1;
                return;
            }
            in->topics[in->ntopics++] = (topic_t){name, 0, 0};
        }
        in->topics[t].events++;
        in->topics[t].bytes += m->klen + m->vlen;
    }
}

evbus_spool_info_t *evbus_spool_info_new(const char *dir, char *errstr, size_t errstr_size) {
    if (!dir) {
        evbus__seterr(errstr, errstr_size, "dir is NULL");
        return NULL;
    }
    evbus_spool_info_t *in = calloc(1, sizeof(*in));
    if (!in) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    evbus__spool_found_t f;
    if (evbus__spool_scan(dir, on_event, in, &f, errstr, errstr_size) != EVBUS_OK || in->nomem) {
        if (in->nomem)
            evbus__seterr(errstr, errstr_size, "out of memory");
        evbus_spool_info_destroy(in);
        return NULL;
    }
    in->damaged = f.torn + f.quarantined;
    return in;
}

void evbus_spool_info_destroy(evbus_spool_info_t *in) {
    if (!in)
        return;
    for (size_t i = 0; i < in->ntopics; i++)
        free(in->topics[i].name);
    free(in->topics);
    free(in);
}

uint64_t evbus_spool_info_events(const evbus_spool_info_t *in) { return in ? in->events : 0; }
uint64_t evbus_spool_info_bytes(const evbus_spool_info_t *in) { return in ? in->bytes : 0; }
uint64_t evbus_spool_info_damaged(const evbus_spool_info_t *in) { return in ? in->damaged : 0; }

double evbus_spool_info_oldest_seconds(const evbus_spool_info_t *in) {
    if (!in || !in->events)
        return -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    return now > in->oldest_us ? (double)(now - in->oldest_us) / 1e6 : 0;
}

size_t evbus_spool_info_topic_count(const evbus_spool_info_t *in) { return in ? in->ntopics : 0; }

const char *evbus_spool_info_topic_name(const evbus_spool_info_t *in, size_t idx) {
    return in && idx < in->ntopics ? in->topics[idx].name : NULL;
}
uint64_t evbus_spool_info_topic_events(const evbus_spool_info_t *in, size_t idx) {
    return in && idx < in->ntopics ? in->topics[idx].events : 0;
}
uint64_t evbus_spool_info_topic_bytes(const evbus_spool_info_t *in, size_t idx) {
    return in && idx < in->ntopics ? in->topics[idx].bytes : 0;
}
