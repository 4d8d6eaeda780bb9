/*
 * The spool in the producer (producer.spool.dir): send writes an event's record before it
 * enqueues the event's messages; a delivery report without error marks its topic done, and
 * the event leaves the spool when every topic is done.  A failed message is not reported
 * failed: it is sent again from its record after a pause (the event stays held).  The spool
 * thread replays what an earlier producer left, before any new send is taken, retries,
 * writes the acks and syncs (interval mode).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "producer_internal.h"
#include "producer_metrics.h"
#include "spool.h"

#define RETRY_BACKOFF_US 1000000 /* after a failed message: librdkafka already retried it */
#define TICK_NS 10000000

/* One spooled event in memory, after its evbus__pevent_t (one allocation). */
struct evbus__spev_s {
    evbus__spool_loc_t loc;
    size_t ntopics;
    const char **topics;   /* full topic names */
    unsigned char *state;  /* per topic: 0 in flight, 1 done, 2 to be sent again */
    size_t outstanding;    /* messages enqueued and not yet reported (poller thread only) */
    size_t done;
    int64_t due_us;
    evbus__spev_t *next;   /* retry list */
};

static int64_t wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

evbus__pevent_t *evbus__spool_pevent_new(const char *event_type, const char *id,
                                         const char *const *topics, size_t n, int copy_strings) {
    size_t extra = 0;
    if (copy_strings) {
        extra += strlen(event_type) + 1;
        for (size_t i = 0; i < n; i++)
            extra += strlen(topics[i]) + 1;
    }
    size_t sz = sizeof(evbus__pevent_t) + sizeof(evbus__spev_t) + n * sizeof(char *) + n + extra;
    evbus__pevent_t *ev = calloc(1, sz);
    if (!ev)
        return NULL;
    evbus__spev_t *s = (evbus__spev_t *)(ev + 1);
    s->topics = (const char **)(s + 1);
    s->state = (unsigned char *)(s->topics + n);
    char *str = (char *)(s->state + n);
    s->ntopics = n;
    for (size_t i = 0; i < n; i++) {
        if (copy_strings) {
            size_t l = strlen(topics[i]) + 1;
            memcpy(str, topics[i], l);
            s->topics[i] = str;
            str += l;
        } else {
            s->topics[i] = topics[i];
        }
    }
    if (copy_strings) {
        memcpy(str, event_type, strlen(event_type) + 1);
        event_type = str;
    }
    ev->event_type = event_type;
    ev->ntopics = n;
    atomic_init(&ev->remaining, n);
    snprintf(ev->id, sizeof(ev->id), "%s", id);
    ev->sp = s;
    return ev;
}

void evbus__spool_pevent_set_loc(evbus__pevent_t *ev, const evbus__spool_loc_t *loc) {
    ev->sp->loc = *loc;
}

static void ev_free(evbus_producer_t *p, evbus__pevent_t *ev) {
    free(ev);
    atomic_fetch_sub(&p->spool_alive, 1);
    atomic_fetch_add(&p->ev_settled, 1);
}

/* Called under spool_lock by the report side, and by send for topics it could not enqueue. */
static void retry_push(evbus_producer_t *p, evbus__pevent_t *ev) {
    ev->sp->due_us = evbus__now_us() + RETRY_BACKOFF_US;
    ev->sp->next = p->spool_retry;
    p->spool_retry = ev->sp;
}

static size_t topic_index(const evbus__spev_t *s, const char *topic) {
    for (size_t i = 0; i < s->ntopics; i++)
        if (s->topics[i] == topic || !strcmp(s->topics[i], topic))
            return i;
    return s->ntopics;
}

/* One outstanding count of ev is gone (a report, or the hold of whoever was sending it).
 * After the last one the event is released from the spool when all its topics are done,
 * queued to be sent again when some are not, or, when stopping, left in the spool. */
static void put_ref_locked(evbus_producer_t *p, evbus__pevent_t *ev) {
    evbus__spev_t *s = ev->sp;
    if (s->outstanding > 0)
        s->outstanding--;
    int last = s->outstanding == 0;
    int all = s->done == s->ntopics;
    if (last && !all && !atomic_load(&p->spool_stop)) {
        retry_push(p, ev);
        pthread_mutex_unlock(&p->spool_lock);
        return;
    }
    pthread_mutex_unlock(&p->spool_lock);
    if (!last)
        return;
    if (all)
        evbus__spool_release(p->spool, &s->loc);
    ev_free(p, ev);
}

/* Takes spool_lock, which put_ref_locked() releases. */
static void put_ref(evbus_producer_t *p, evbus__pevent_t *ev) {
    pthread_mutex_lock(&p->spool_lock);
    put_ref_locked(p, ev);
}

void evbus__spool_report(evbus_producer_t *p, evbus__pevent_t *ev, const char *topic, int ok) {
    evbus__spev_t *s = ev->sp;
    size_t i = topic_index(s, topic);
    pthread_mutex_lock(&p->spool_lock);
    if (i < s->ntopics && s->state[i] == 0) {
        s->state[i] = ok ? 1 : 2;
        s->done += ok;
    }
    put_ref_locked(p, ev); /* unlocks */
}

void evbus__spool_hold(evbus__pevent_t *ev, size_t nmsgs) {
    ev->sp->outstanding = nmsgs + 1; /* + the sender's hold: no report can free it meanwhile */
}

void evbus__spool_unhold(evbus_producer_t *p, evbus__pevent_t *ev) {
    put_ref(p, ev);
}

/* Produce the topics of ev whose state is want (2: again; 0: first time) from its record.
 * 0 (ev may be gone after), or -1 with nothing enqueued (stopping, or no memory). */
static int produce_from_record(evbus_producer_t *p, evbus__pevent_t *ev,
                               const evbus__spool_event_t *rec, unsigned char want) {
    evbus__spev_t *s = ev->sp;
    size_t nm = rec->nmsgs < s->ntopics ? rec->nmsgs : s->ntopics;
    unsigned char go_small[64];
    unsigned char *go = nm <= sizeof(go_small) ? go_small : malloc(nm);
    if (!go)
        return -1;
    size_t n = 0;
    int64_t bytes = 0;
    pthread_mutex_lock(&p->spool_lock);
    for (size_t i = 0; i < nm; i++) {
        go[i] = s->state[i] == want;
        if (go[i]) {
            n++;
            bytes += (int64_t)rec->msgs[i].vlen;
        }
    }
    pthread_mutex_unlock(&p->spool_lock);
    int rc = 0;
    rd_kafka_headers_t *hdrs = NULL;
    if (n == 0)
        goto out;
    while (evbus__room_reserve(p, (int64_t)n, bytes, evbus__now_us() + 100000) != 0)
        if (atomic_load(&p->spool_stop) || (int64_t)n > p->room_max_msgs ||
            bytes > p->room_max_bytes) {
            rc = -1;
            goto out;
        }
    hdrs = rd_kafka_headers_new(rec->nhdrs);
    if (!hdrs) {
        evbus__room_release(p, (int64_t)n, bytes);
        rc = -1;
        goto out;
    }
    for (size_t h = 0; h < rec->nhdrs; h++)
        rd_kafka_header_add(hdrs, rec->hname[h], -1, rec->hval[h], (ssize_t)rec->hlen[h]);
    pthread_mutex_lock(&p->spool_lock);
    for (size_t i = 0; i < nm; i++)
        if (go[i])
            s->state[i] = 0;
    s->outstanding += n + 1; /* our hold, dropped below */
    pthread_mutex_unlock(&p->spool_lock);
    size_t left = n;
    for (size_t i = 0; i < nm; i++) {
        if (!go[i])
            continue;
        const evbus__spool_msg_t *m = &rec->msgs[i];
        left--;
        rd_kafka_headers_t *h = left == 0 ? hdrs : rd_kafka_headers_copy(hdrs);
        rd_kafka_resp_err_t ke =
            h ? rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(m->topic),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_KEY((void *)m->key, m->klen),
                                  RD_KAFKA_V_VALUE((void *)m->val, m->vlen), RD_KAFKA_V_HEADERS(h),
                                  RD_KAFKA_V_OPAQUE(ev), RD_KAFKA_V_END)
              : RD_KAFKA_RESP_ERR__FAIL;
        if (ke == RD_KAFKA_RESP_ERR_NO_ERROR) {
            atomic_fetch_add(&p->sent, 1);
            if (left == 0)
                hdrs = NULL;
            continue;
        }
        if (h && h != hdrs)
            rd_kafka_headers_destroy(h);
        evbus__room_release(p, 1, (int64_t)m->vlen);
        /* not enqueued: as if reported failed (sent again after the pause) */
        evbus__spool_report(p, ev, m->topic, 0);
    }
    if (hdrs)
        rd_kafka_headers_destroy(hdrs);
    put_ref(p, ev);
out:
    if (go != go_small)
        free(go);
    return rc;
}

/* The thread's buffer for records read back. */
typedef struct spool_thr_s {
    evbus__sbuf_t buf;
} spool_thr_t;

static int replay_one(evbus_producer_t *p, spool_thr_t *t, const evbus__spool_loc_t *loc) {
    evbus__spool_event_t rec;
    if (evbus__spool_read(p->spool, loc, &t->buf) != 0 ||
        evbus__spool_dec(t->buf.data, t->buf.len, &rec) != 0) {
        evbus__log(&p->log, EVBUS_LOG_ERR, "producer",
                   "spool %s: event record %llu could not be read back; it stays in the spool",
                   evbus__spool_dir(p->spool), (unsigned long long)loc->seq);
        atomic_fetch_add(&p->ev_settled, 1);
        return 0;
    }
    const char *names[64] = {0};
    const char **topics = rec.nmsgs <= 64 ? names : malloc(rec.nmsgs * sizeof(*topics));
    evbus__pevent_t *ev = NULL;
    if (topics) {
        for (size_t i = 0; i < rec.nmsgs; i++)
            topics[i] = rec.msgs[i].topic;
        ev = evbus__spool_pevent_new(rec.event_type, rec.id, topics, rec.nmsgs, 1);
    }
    if (topics != names)
        free(topics);
    if (!ev) {
        evbus__spool_event_clear(&rec);
        atomic_fetch_add(&p->ev_settled, 1);
        return -1;
    }
    atomic_fetch_add(&p->spool_alive, 1);
    ev->sp->loc = *loc;
    int rc = produce_from_record(p, ev, &rec, 0);
    evbus__spool_event_clear(&rec);
    if (rc != 0) { /* stopping: it stays in the spool */
        ev_free(p, ev);
        return -1;
    }
    return 0;
}

static int cmp_seq(const void *a, const void *b) {
    uint64_t x = (*(evbus__spev_t *const *)a)->loc.seq, y = (*(evbus__spev_t *const *)b)->loc.seq;
    return x < y ? -1 : x > y;
}

static void retry_due(evbus_producer_t *p, spool_thr_t *t) {
    int64_t now = evbus__now_us();
    pthread_mutex_lock(&p->spool_lock);
    evbus__spev_t **pp = &p->spool_retry, *due = NULL;
    while (*pp) {
        evbus__spev_t *s = *pp;
        if (s->due_us <= now) {
            *pp = s->next;
            s->next = due;
            due = s;
        } else {
            pp = &s->next;
        }
    }
    pthread_mutex_unlock(&p->spool_lock);
    /* Oldest first (the list is pushed at its head): re-sends keep the order they were
     * written in.  Without memory for the sort they go in list order. */
    size_t n = 0;
    for (evbus__spev_t *s = due; s; s = s->next)
        n++;
    evbus__spev_t **arr = n > 1 ? malloc(n * sizeof(*arr)) : NULL;
    if (arr) {
        size_t k = 0;
        for (evbus__spev_t *s = due; s; s = s->next)
            arr[k++] = s;
        qsort(arr, n, sizeof(*arr), cmp_seq);
        for (size_t i = 0; i < n; i++)
            arr[i]->next = i + 1 < n ? arr[i + 1] : NULL;
        due = arr[0];
        free(arr);
    }
    if (n > 0 && !atomic_load(&p->spool_stop))
        evbus__log(&p->log, EVBUS_LOG_WARNING, "producer",
                   "spool %s: sending %zu event(s) again: the broker refused them (%s)",
                   evbus__spool_dir(p->spool), n,
                   rd_kafka_err2str((rd_kafka_resp_err_t)atomic_load(&p->spool_last_refusal)));
    while (due) {
        evbus__spev_t *s = due;
        due = s->next;
        evbus__pevent_t *ev = (evbus__pevent_t *)s - 1;
        evbus__spool_event_t rec;
        int ok = evbus__spool_read(p->spool, &s->loc, &t->buf) == 0 &&
                 evbus__spool_dec(t->buf.data, t->buf.len, &rec) == 0;
        if (ok) {
            ok = produce_from_record(p, ev, &rec, 2) == 0; /* ev may be gone after success */
            evbus__spool_event_clear(&rec);
        }
        if (!ok) {
            pthread_mutex_lock(&p->spool_lock);
            retry_push(p, ev); /* later again */
            pthread_mutex_unlock(&p->spool_lock);
        }
    }
}

static void *spool_main(void *arg) {
    evbus_producer_t *p = arg;
    spool_thr_t t = {{0}};
    size_t nheld;
    const evbus__spool_loc_t *held = evbus__spool_held(p->spool, &nheld);
    size_t i = 0;
    for (; i < nheld && !atomic_load(&p->spool_stop); i++) {
        if (replay_one(p, &t, &held[i]) != 0) {
            i++; /* that one is settled already */
            break;
        }
        if ((i & 255) == 255)
            evbus__spool_tick(p->spool, p->spool_sync_interval_us);
    }
    /* not replayed (stopping): no longer counted as in flight here; still in the spool */
    if (i < nheld)
        atomic_fetch_add(&p->ev_settled, nheld - i);
    evbus__spool_held_release(p->spool);
    atomic_store(&p->spool_replaying, 0);
    while (!atomic_load(&p->spool_stop)) {
        evbus__spool_tick(p->spool, p->spool_sync_interval_us);
        retry_due(p, &t);
        struct timespec ts = {0, TICK_NS};
        nanosleep(&ts, NULL);
    }
    evbus__sbuf_free(&t.buf);
    return NULL;
}

evbus_err_t evbus__spool_start(evbus_producer_t *p, char *errstr, size_t errstr_size) {
    const char *dir = evbus_conf_get(p->conf, "producer.spool.dir");
    if (!dir || !*dir)
        return EVBUS_OK;
    const char *sync = evbus_conf_get(p->conf, "producer.spool.sync");
    evbus__spool_opts_t o = {EVBUS__SPOOL_SYNC_INTERVAL,
                             evbus__conf_int(p->conf, "producer.spool.max.bytes"), 0};
    if (sync && !strcmp(sync, "always"))
        o.sync = EVBUS__SPOOL_SYNC_ALWAYS;
    else if (sync && !strcmp(sync, "none"))
        o.sync = EVBUS__SPOOL_SYNC_NONE;
    p->spool_sync_interval_us = evbus__conf_int(p->conf, "producer.spool.sync.interval.ms") * 1000;
    evbus__spool_found_t f;
    p->spool = evbus__spool_open(dir, &o, &f, errstr, errstr_size);
    if (!p->spool)
        return EVBUS_ERR_CONFIG;
    if (f.torn)
        evbus__log(&p->log, EVBUS_LOG_WARNING, "producer",
                   "spool %s: cut off %llu torn record(s) at the end (a crash while writing)", dir,
                   (unsigned long long)f.torn);
    if (f.quarantined)
        evbus__log(&p->log, EVBUS_LOG_ERR, "producer",
                   "spool %s: %llu damaged record(s) moved to %s/quarantine/; the rest is "
                   "delivered", dir, (unsigned long long)f.quarantined, dir);
    p->spool_torn = f.torn;
    p->spool_quarantined = f.quarantined;
    atomic_fetch_add(&p->ev_sent, f.held);
    atomic_store(&p->spool_replaying, f.held > 0);
    if (pthread_create(&p->spool_thread, NULL, spool_main, p) != 0) {
        evbus__spool_close(p->spool);
        p->spool = NULL;
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "could not start the spool thread");
    }
    p->spool_thread_started = 1;
    return EVBUS_OK;
}

void evbus__spool_stop(evbus_producer_t *p) {
    if (!p->spool_thread_started)
        return;
    atomic_store(&p->spool_stop, 1);
    pthread_join(p->spool_thread, NULL);
    p->spool_thread_started = 0;
    /* Events waiting to be sent again stay in the spool. */
    pthread_mutex_lock(&p->spool_lock);
    evbus__spev_t *s = p->spool_retry;
    p->spool_retry = NULL;
    pthread_mutex_unlock(&p->spool_lock);
    while (s) {
        evbus__spev_t *next = s->next;
        ev_free(p, (evbus__pevent_t *)s - 1);
        s = next;
    }
}

void evbus__spool_finish(evbus_producer_t *p) {
    evbus__spool_close(p->spool);
    p->spool = NULL;
}

/* The start of an event's record: when, what, and the headers librdkafka will get. */
int evbus__spool_enc_head(evbus__sbuf_t *b, const char *event_type, const char *id,
                          const rd_kafka_headers_t *hdrs, size_t nmsgs, int64_t *created) {
    *created = wall_us();
    size_t nh = 0;
    const char *name;
    const void *val;
    size_t vl;
    while (rd_kafka_header_get_all(hdrs, nh, &name, &val, &vl) == RD_KAFKA_RESP_ERR_NO_ERROR)
        nh++;
    int bad = evbus__spool_enc_begin(b, *created, event_type, id, nh);
    for (size_t i = 0; !bad && i < nh; i++)
        bad = rd_kafka_header_get_all(hdrs, i, &name, &val, &vl) != RD_KAFKA_RESP_ERR_NO_ERROR ||
              evbus__spool_enc_hdr(b, name, val, vl);
    return bad || evbus__spool_enc_nmsgs(b, nmsgs) ? -1 : 0;
}

int evbus__spool_wait_replayed(evbus_producer_t *p, int64_t deadline_us) {
    while (atomic_load(&p->spool_replaying)) {
        if (evbus__now_us() >= deadline_us)
            return -1;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

size_t evbus__spool_metrics(evbus_producer_t *p, char *buf, size_t size) {
    if (!p->spool)
        return 0;
    uint64_t ev, bytes;
    double oldest;
    evbus__spool_gauges(p->spool, &ev, &bytes, &oldest);
    int n = snprintf(buf, size,
                     "# HELP evbus_producer_spool_events Events in the spool not yet delivered to "
                     "all of their topics.\n# TYPE evbus_producer_spool_events gauge\n"
                     "evbus_producer_spool_events %llu\n"
                     "# HELP evbus_producer_spool_bytes Bytes of the spool's segment files.\n"
                     "# TYPE evbus_producer_spool_bytes gauge\nevbus_producer_spool_bytes %llu\n"
                     "# HELP evbus_producer_spool_oldest_seconds Age of the oldest spool segment "
                     "holding an undelivered event.\n"
                     "# TYPE evbus_producer_spool_oldest_seconds gauge\n"
                     "evbus_producer_spool_oldest_seconds %.3f\n",
                     (unsigned long long)ev, (unsigned long long)bytes, oldest);
    return n < 0 ? 0 : (size_t)n;
}
