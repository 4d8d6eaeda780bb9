/*
 * The consumer's public API: creation, subscription, the poll loop, stop/close, stats.
 * One poll thread (the caller of run/poll) queues messages to workers (workers.c) chosen by
 * partition, so a partition's events are handled in order while partitions run in parallel.
 * At-least-once: an offset is stored only after the event's sync handlers succeeded or it was
 * dead-lettered (policy.c); auto-commit and the commits on revoke/close send the stored offsets.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "consumer_int.h"
#include "kafka_obs.h"
#include "topic.h"

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
    c->poll_timeout_ms = (int)evbus__conf_int(conf, "consumer.poll.timeout.ms");
    /* consumer.start (default latest, as the Python bus) until evbus_consumer_set_start() */
    c->start = strcmp(evbus__conf_str(conf, "consumer.start"), "earliest") == 0 ? EVBUS_START_EARLIEST
                                                                             : EVBUS_START_LATEST;
    pthread_mutex_init(&c->qmu, NULL);
    pthread_cond_init(&c->done_cond, NULL);
    pthread_mutex_init(&c->parts_mu, NULL);
    pthread_mutex_init(&c->bp_mu, NULL);
    pthread_mutex_init(&c->unsettled_mu, NULL);
    c->max_consec = evbus__conf_int(conf, "consumer.max.consecutive.errors");
    c->max_inflight = (size_t)evbus__conf_int(conf, "consumer.max.in.flight");
    c->max_inflight_part = (size_t)evbus__conf_int(conf, "consumer.max.in.flight.per.partition");
    c->nworkers = (int)evbus__conf_int(conf, "workers");
    if (c->nworkers < 1)
        c->nworkers = 1;
    c->retry_max = (int)evbus__conf_int(conf, "retry.max");
    c->veto_dlq = !strcmp(evbus__conf_str(conf, "received.veto"), "dlq");
    c->backoff_ms = evbus__conf_int(conf, "retry.backoff.ms");
    c->backoff_max_ms = evbus__conf_int(conf, "retry.backoff.max.ms");
    if (c->backoff_max_ms < c->backoff_ms)
        c->backoff_max_ms = c->backoff_ms;
    c->prefix = evbus__conf_str(conf, "topic.prefix");
    c->dlq_suffix = evbus__conf_str(conf, "dlq.topic.suffix");
    if (!c->dlq_suffix)
        c->dlq_suffix = ".dlq";
    evbus__log_init(&c->log, conf);
    if (!(c->metrics = evbus__cmetrics_new())) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        goto fail;
    }
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

    if (!(c->store = evbus__schema_store_from_conf(conf, errstr, errstr_size)))
        goto fail;
    if (evbus__registry_from_conf(conf, &c->reg, errstr, errstr_size) != EVBUS_OK)
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
    rd_kafka_conf_set_rebalance_cb(kc, evbus__rebalance_cb);
    rd_kafka_conf_set_opaque(kc, c);
    if (evbus__kafka_obs_bind(kc, conf, c, &c->log, evbus__cmetrics_stats, c->metrics) != 0) {
        rd_kafka_conf_destroy(kc);
        evbus__seterr(errstr, errstr_size, "out of memory");
        goto fail;
    }
    if (!(c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, kerr, sizeof(kerr)))) {
        evbus__kafka_obs_unbind(c);
        rd_kafka_conf_destroy(kc);
        evbus__seterr(errstr, errstr_size, "kafka consumer: %s", kerr);
        goto fail;
    }
    rd_kafka_poll_set_consumer(c->rk);
    char mpi[32];
    size_t mpi_size = sizeof(mpi);
    long max_poll = 300000; /* librdkafka's default */
    if (rd_kafka_conf_get(rd_kafka_conf(c->rk), "max.poll.interval.ms", mpi, &mpi_size) ==
        RD_KAFKA_CONF_OK)
        max_poll = strtol(mpi, NULL, 10);
    c->revoke_wait_ms = (int)(max_poll > 2 ? max_poll / 2 : 1);
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

evbus_err_t evbus_consumer_poll(evbus_consumer_t *c, int timeout_ms, size_t *countp) {
    size_t n = 0;
    if (countp)
        *countp = 0;
    if (!c || c->closed)
        return EVBUS_ERR_STATE;
    int fatal = atomic_load_explicit(&c->fatal, memory_order_acquire);
    if (fatal)
        return (evbus_err_t)fatal;
    evbus__cmetrics_polled(c->metrics); /* /healthz: the poll loop makes progress */
    if (evbus__workers_start(c) != EVBUS_OK)
        return EVBUS_ERR_NOMEM;
    rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c->rk, timeout_ms);
    int failed = 0;
    while (rkm) {
        if (rkm->err) {
            if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && rkm->err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
                evbus__log(&c->log, EVBUS_LOG_ERR, "consumer", "%s", rd_kafka_message_errstr(rkm));
                failed = 1;
            }
            rd_kafka_message_destroy(rkm);
        } else {
            ADD(c->received);
            n += (size_t)evbus__enqueue(c, rkm);
        }
        if (n >= 1000 || STOPPING(c))
            break;
        rkm = rd_kafka_consumer_poll(c->rk, 0);
    }
    evbus__staged_push_all(c); /* nothing waits in the poll thread between calls */
    /* Only errors: do not spin on a broker that keeps failing (the Python bus's
     * POLL_FAILURE_SLEEP), but wake up for a stop. */
    for (int64_t left = failed && n == 0 ? evbus__conf_int(c->conf, "consumer.poll.failure.sleep.ms") : 0;
         left > 0 && !STOPPING(c); left -= 50) {
        struct timespec ts = {0, (left < 50 ? left : 50) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (countp)
        *countp = n;
    return EVBUS_OK;
}

evbus_err_t evbus_consumer_run(evbus_consumer_t *c) {
    if (!c || c->closed)
        return EVBUS_ERR_STATE;
    while (!STOPPING(c)) {
        evbus_err_t err = evbus_consumer_poll(c, c->poll_timeout_ms, NULL);
        if (err != EVBUS_OK) {
            evbus_consumer_close(c);
            return err;
        }
    }
    evbus_err_t err = evbus_consumer_close(c);
    int fatal = atomic_load_explicit(&c->fatal, memory_order_acquire);
    return fatal ? (evbus_err_t)fatal : err;
}

void evbus_consumer_stop(evbus_consumer_t *c) {
    if (c)
        atomic_store_explicit(&c->stop, 1, memory_order_release);
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
    atomic_store_explicit(&c->stop, 1, memory_order_release);
    evbus__workers_stop(c);
    evbus_err_t err = EVBUS_OK;
    rd_kafka_resp_err_t kerr = rd_kafka_commit(c->rk, NULL, 0);
    /* A rebalance under way (another member leaving at the same moment, as `consume
     * --processes` members do on SIGTERM) refuses the commit, and so does a group that has
     * already dropped this member (UNKNOWN_MEMBER_ID: a sibling killed and restarted made the
     * group move on).  The revocation that rd_kafka_consumer_close() runs commits again where
     * it still can, and what stays uncommitted is redelivered: not a failure of the close. */
    if (kerr && kerr != RD_KAFKA_RESP_ERR__NO_OFFSET && kerr != RD_KAFKA_RESP_ERR__STATE &&
        kerr != RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS && kerr != RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION &&
        kerr != RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID)
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
        /* Async handlers may still hold events, whose in-flight release points at the
         * partition records (and whose data at the schema store) freed below, and whose
         * messages (evbus__event_take_message()) must be gone before rd_kafka_destroy(). */
        if (atomic_load(&c->inflight) > 0)
            evbus_dispatcher_drain(c->d, -1);
        rd_kafka_destroy(c->rk);
        evbus__kafka_obs_unbind(c);
    }
    evbus__dlq_stop(c);
    if (g_sig_consumer == c)
        g_sig_consumer = NULL;
    if (atomic_load(&c->inflight) > 0)
        evbus_dispatcher_drain(c->d, -1);
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
    evbus__unsettled_free(c);
    pthread_mutex_destroy(&c->unsettled_mu);
    evbus__cmetrics_destroy(c->metrics);
    pthread_mutex_destroy(&c->parts_mu);
    pthread_mutex_destroy(&c->bp_mu);
    pthread_cond_destroy(&c->done_cond);
    pthread_mutex_destroy(&c->qmu);
    free(c);
}

evbus_dispatcher_t *evbus_consumer_dispatcher(evbus_consumer_t *c) { return c ? c->d : NULL; }

evbus_err_t evbus_consumer_load_plugin(evbus_consumer_t *c, const char *path, char *errstr,
                                       size_t errstr_size) {
    if (!c)
        return EVBUS_ERR_INVALID_ARG;
    evbus_plugin_opts_t o = EVBUS_PLUGIN_OPTS_INIT;
    o.flags = evbus__conf_bool(c->conf, "plugin.isolate") ? EVBUS_PLUGIN_LOAD_ISOLATE : 0;
    o.timeout_ms = (int)evbus__conf_int(c->conf, "handler.timeout.ms");
    o.conf = c->conf;
    return evbus_dispatcher_load_plugins(c->d, path, &o, NULL, errstr, errstr_size);
}

evbus_err_t evbus_consumer_load_plugins_dir(evbus_consumer_t *c, const char *dir, char *errstr,
                                            size_t errstr_size) {
    if (!c)
        return EVBUS_ERR_INVALID_ARG;
    evbus_plugin_opts_t o = EVBUS_PLUGIN_OPTS_INIT;
    o.flags = evbus__conf_bool(c->conf, "plugin.isolate") ? EVBUS_PLUGIN_LOAD_ISOLATE : 0;
    o.timeout_ms = (int)evbus__conf_int(c->conf, "handler.timeout.ms");
    o.conf = c->conf;
    return evbus_dispatcher_load_plugins(c->d, dir, &o, NULL, errstr, errstr_size);
}

/* The first release's evbus_consumer_stats_t ends with assigned. */
#define CONSUMER_STATS_MIN (offsetof(evbus_consumer_stats_t, assigned) + sizeof(uint64_t))

evbus_err_t evbus_consumer_stats(evbus_consumer_t *c, evbus_consumer_stats_t *st) {
    evbus_consumer_stats_t full = {.size = sizeof(full)};
    if (!c)
        return EVBUS_ERR_INVALID_ARG;
    full.received = LOAD(c->received);
    full.handled = LOAD(c->handled);
    full.rejected = LOAD(c->rejected);
    full.retries = LOAD(c->retries);
    full.dead_lettered = LOAD(c->dead_lettered);
    full.dlq_failed = LOAD(c->dlq_failed);
    full.assigned = LOAD(c->assigned);
    full.queued = LOAD(c->queued);
    full.transient_errors = LOAD(c->transient_errors);
    return evbus__struct_out(st, &full, sizeof(full), CONSUMER_STATS_MIN);
}
