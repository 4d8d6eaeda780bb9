/*
 * Operating the consumer: its Prometheus text (evbus_consumer_metrics), its health
 * (evbus_consumer_health) and the counters and lag table behind them.
 */
#include "consumer_metrics.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "consumer_int.h"

evbus__cmetrics_t *evbus__cmetrics_new(void) {
    evbus__cmetrics_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->events = evbus__mmap_new(EVBUS__OUT_N);
    m->dlq = evbus__mmap_new(2);
    if (!m->events || !m->dlq || pthread_mutex_init(&m->mu, NULL) != 0) {
        evbus__mmap_destroy(m->events);
        evbus__mmap_destroy(m->dlq);
        free(m);
        return NULL;
    }
    atomic_init(&m->last_poll_us, evbus__now_us()); /* not yet polled is not stalled yet */
    return m;
}

static void lag_free(evbus__lag_t *l, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(l[i].topic);
    free(l);
}

void evbus__cmetrics_destroy(evbus__cmetrics_t *m) {
    if (!m)
        return;
    evbus__mmap_destroy(m->events);
    evbus__mmap_destroy(m->dlq);
    lag_free(m->lag, m->nlag);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void evbus__cmetrics_event(evbus__cmetrics_t *m, const char *type, evbus__outcome_t o) {
    if (m)
        evbus__mmap_add(m->events, type, (size_t)o, 1);
}

void evbus__cmetrics_dlq(evbus__cmetrics_t *m, const char *dlq_topic, int ok, const char *error) {
    if (!m)
        return;
    evbus__mmap_add(m->dlq, dlq_topic, ok ? 0 : 1, 1);
    pthread_mutex_lock(&m->mu);
    m->dlq_failing = !ok;
    if (!ok)
        snprintf(m->dlq_error, sizeof(m->dlq_error), "%s", error ? error : "unknown error");
    pthread_mutex_unlock(&m->mu);
}

void evbus__cmetrics_polled(evbus__cmetrics_t *m) {
    if (m)
        atomic_store_explicit(&m->last_poll_us, evbus__now_us(), memory_order_relaxed);
}

static int64_t jint(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* Lag per assigned partition: the high watermark minus the committed offset, as the
 * statistics report them (librdkafka's -1001 "invalid" means nothing committed yet: then its
 * own consumer_lag, which counts from the position, when it has one). */
void evbus__cmetrics_stats(void *arg, const char *json, size_t len) {
    evbus__cmetrics_t *m = arg;
    json_t *root = json_loadb(json, len, 0, NULL);
    json_t *topics = json_object_get(root, "topics");
    evbus__lag_t *lag = NULL;
    size_t n = 0, cap = 0;
    const char *tname, *pname;
    json_t *t, *p;
    int oom = 0;
    json_object_foreach(topics, tname, t) {
        json_object_foreach(json_object_get(t, "partitions"), pname, p) {
            int64_t part = jint(p, "partition");
            json_t *desired = json_object_get(p, "desired");
            if (part < 0 || !json_is_true(desired))
                continue; /* not ours */
            int64_t hi = jint(p, "hi_offset"), committed = jint(p, "committed_offset");
            int64_t l = committed >= 0 && hi >= 0 ? hi - committed : jint(p, "consumer_lag");
            if (l < 0)
                continue; /* not known yet */
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 16;
                evbus__lag_t *nl = realloc(lag, nc * sizeof(*nl));
                if (!nl) {
                    oom = 1;
                    break;
                }
                lag = nl;
                cap = nc;
            }
            if (!(lag[n].topic = strdup(tname))) {
                oom = 1;
                break;
            }
            lag[n].partition = (int32_t)part;
            lag[n].lag = l;
            n++;
        }
    }
    json_decref(root);
    if (oom) { /* keep the last complete table */
        lag_free(lag, n);
        return;
    }
    pthread_mutex_lock(&m->mu);
    evbus__lag_t *old = m->lag;
    size_t nold = m->nlag;
    m->lag = lag;
    m->nlag = n;
    pthread_mutex_unlock(&m->mu);
    lag_free(old, nold);
}

/* ---- rendering ---- */

typedef struct rctx_s {
    evbus__buf_t *b;
    const char *name;
    const char *const *outcomes;
    size_t n;
    const char *label;
    int r;
} rctx_t;

static void render_family(void *arg, const char *key, const uint64_t *c) {
    rctx_t *x = arg;
    for (size_t i = 0; i < x->n; i++) {
        x->r |= evbus__buf_printf(x->b, "%s{%s=", x->name, x->label);
        x->r |= evbus__prom_label(x->b, key);
        x->r |= evbus__buf_printf(x->b, ",outcome=\"%s\"} %llu\n", x->outcomes[i],
                                  (unsigned long long)c[i]);
    }
}

static int count_stopped(evbus_consumer_t *c, char *first, size_t size) {
    int n = 0;
    pthread_mutex_lock(&c->parts_mu);
    for (evbus__part_t *p = c->parts; p; p = p->next)
        if (evbus__part_stopped(p) && n++ == 0 && first)
            snprintf(first, size, "%s [%d]", p->topic, (int)p->partition);
    pthread_mutex_unlock(&c->parts_mu);
    return n;
}

size_t evbus_consumer_metrics(evbus_consumer_t *c, char *buf, size_t size) {
    static const char *const outcomes[] = {"handled", "failed", "retried", "dead_lettered",
                                           "undecodable"};
    static const char *const dlq_outcomes[] = {"ok", "failed"};
    if (!c || !c->metrics) {
        if (buf && size)
            buf[0] = 0;
        return 0;
    }
    evbus__cmetrics_t *m = c->metrics;
    evbus__buf_t b = EVBUS__BUF_INIT;
    rctx_t x = {&b, "evbus_consumer_events_total", outcomes, EVBUS__OUT_N, "type", 0};
    x.r |= evbus__prom_head(&b, x.name, "Events by type and outcome.", "counter");
    evbus__mmap_each(m->events, render_family, &x);
    x.r |= evbus__hist_render(&b, "evbus_consumer_handler_seconds",
                              "Handler call durations (sync and async).", "handler",
                              evbus__dispatcher_handler_hist(c->d));
    x.r |= evbus__prom_head(&b, "evbus_consumer_lag",
                            "High watermark minus committed offset (librdkafka statistics).",
                            "gauge");
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nlag; i++) {
        x.r |= evbus__buf_puts(&b, "evbus_consumer_lag{topic=");
        x.r |= evbus__prom_label(&b, m->lag[i].topic);
        x.r |= evbus__buf_printf(&b, ",partition=\"%d\"} %lld\n", (int)m->lag[i].partition,
                                 (long long)m->lag[i].lag);
    }
    pthread_mutex_unlock(&m->mu);
    x.r |= evbus__prom_head(&b, "evbus_consumer_partitions_assigned", "Partitions assigned now.",
                            "gauge");
    x.r |= evbus__buf_printf(&b, "evbus_consumer_partitions_assigned %llu\n",
                             (unsigned long long)LOAD(c->assigned));
    x.r |= evbus__prom_head(&b, "evbus_consumer_paused_partitions",
                            "Partitions stopped because an event could be neither handled nor "
                            "dead-lettered.",
                            "gauge");
    x.r |= evbus__buf_printf(&b, "evbus_consumer_paused_partitions %d\n", count_stopped(c, NULL, 0));
    rctx_t y = {&b, "evbus_dlq_writes_total", dlq_outcomes, 2, "topic", 0};
    y.r |= evbus__prom_head(&b, y.name, "Dead-letter writes by topic and outcome.", "counter");
    evbus__mmap_each(m->dlq, render_family, &y);
    size_t len = x.r || y.r ? 0 : evbus__prom_copy_out(&b, buf, size);
    if ((x.r || y.r) && buf && size)
        buf[0] = 0; /* out of memory: nothing rather than half a text */
    evbus__buf_free(&b);
    return len;
}

evbus_err_t evbus_consumer_health(evbus_consumer_t *c, char *errstr, size_t errstr_size) {
    if (!c || !c->metrics)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "no consumer");
    evbus__cmetrics_t *m = c->metrics;
    if (c->closed)
        return evbus__fail(EVBUS_ERR_STATE, errstr, errstr_size, "consumer closed");
    char first[300] = "", dlq_error[256] = "";
    int failing;
    pthread_mutex_lock(&m->mu);
    failing = m->dlq_failing;
    snprintf(dlq_error, sizeof(dlq_error), "%s", m->dlq_error);
    pthread_mutex_unlock(&m->mu);
    int stopped = count_stopped(c, first, sizeof(first));
    if (failing) /* the partition waits, retrying the write, until one succeeds */
        return evbus__fail(EVBUS_ERR_TRANSPORT, errstr, errstr_size,
                           "dead-letter writes failing, a partition waits: %s", dlq_error);
    if (stopped)
        return evbus__fail(EVBUS_ERR_STATE, errstr, errstr_size,
                           "%d partition%s stopped, first %s", stopped, stopped == 1 ? "" : "s",
                           first);
    int64_t consec = LOAD(c->consec);
    if (consec > 0) /* e.g. the schema registry is unreachable: events wait, retried */
        return evbus__fail(EVBUS_ERR_TRANSPORT, errstr, errstr_size,
                           "%lld consecutive transient errors, events wait (see the log)",
                           (long long)consec);
    int64_t idle_ms = (evbus__now_us() - LOAD(m->last_poll_us)) / 1000;
    int64_t limit = evbus__conf_int(c->conf, "health.poll.timeout.ms");
    if (idle_ms > limit)
        return evbus__fail(EVBUS_ERR_TIMEOUT, errstr, errstr_size,
                           "poll loop stalled for %lld ms (health.poll.timeout.ms=%lld)",
                           (long long)idle_ms, (long long)limit);
    evbus__seterr(errstr, errstr_size, "ok");
    return EVBUS_OK;
}
