/*
 * Dead-letter writes: synchronous (the offset of a dead-lettered event is stored only once the
 * broker has the dead letter), byte for byte, with the evbus_* headers saying why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "consumer_int.h"
#include "kafka_obs.h"

#include <jansson.h>

typedef struct dr_wait_s {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int done;
    rd_kafka_resp_err_t err;
} dr_wait_t;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk; (void)opaque;
    dr_wait_t *w = m->_private;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->err = m->err;
    w->done = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

static void *poller_main(void *arg) {
    evbus_consumer_t *c = arg;
    while (!atomic_load_explicit(&c->dlq_stop, memory_order_acquire))
        rd_kafka_poll(c->dlq, 100);
    return NULL;
}

evbus_err_t evbus__dlq_start(evbus_consumer_t *c, char *errstr, size_t errstr_size) {
    char kerr[512];
    rd_kafka_conf_t *kc = evbus__conf_to_kafka(c->conf, errstr, errstr_size);
    if (!kc)
        return EVBUS_ERR_CONFIG;
    if (!evbus_conf_get(c->conf, "kafka.message.timeout.ms"))
        rd_kafka_conf_set(kc, "message.timeout.ms", "30000", NULL, 0);
    rd_kafka_conf_set(kc, "acks", "all", NULL, 0);
    rd_kafka_conf_set_dr_msg_cb(kc, dr_cb);
    if (evbus__kafka_obs_bind(kc, c->conf, c, &c->log, NULL, NULL) != 0) { /* its logs: c's */
        rd_kafka_conf_destroy(kc);
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    c->dlq = rd_kafka_new(RD_KAFKA_PRODUCER, kc, kerr, sizeof(kerr));
    if (!c->dlq) {
        evbus__kafka_obs_unbind(c);
        rd_kafka_conf_destroy(kc);
        return evbus__fail(EVBUS_ERR_TRANSPORT, errstr, errstr_size, "dead-letter producer: %s", kerr);
    }
    if (pthread_create(&c->dlq_poller, NULL, poller_main, c) != 0) {
        rd_kafka_destroy(c->dlq);
        evbus__kafka_obs_unbind(c);
        c->dlq = NULL;
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "cannot start the DLQ poller thread");
    }
    c->dlq_poller_started = 1;
    return EVBUS_OK;
}

void evbus__dlq_stop(evbus_consumer_t *c) {
    if (!c->dlq)
        return;
    rd_kafka_flush(c->dlq, 10000);
    atomic_store_explicit(&c->dlq_stop, 1, memory_order_release);
    if (c->dlq_poller_started)
        pthread_join(c->dlq_poller, NULL);
    c->dlq_poller_started = 0;
    rd_kafka_destroy(c->dlq);
    evbus__kafka_obs_unbind(c);
    c->dlq = NULL;
}

static int add_hdr(rd_kafka_headers_t *h, const char *name, const char *value) {
    return rd_kafka_header_add(h, name, -1, value, -1) ? -1 : 0;
}

evbus_err_t evbus__dlq_write(evbus_consumer_t *c, const evbus_event_t *ev, evbus_err_t code,
                             const char *error, const evbus__run_t *run, int attempts, char *errstr,
                             size_t errstr_size) {
    const char *otopic = evbus_event_topic(ev);
    size_t nh = evbus_event_header_count(ev), vlen, klen;
    const void *value = evbus_event_value(ev, &vlen), *key = evbus__event_key_raw(ev, &klen);
    if (!otopic)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "event has no topic");
    size_t tlen = strlen(otopic) + strlen(c->dlq_suffix) + 1;
    char *topic = malloc(tlen);
    rd_kafka_headers_t *h = rd_kafka_headers_new(nh + 8);
    /* evbus_handler names every handler that failed ("a, b"); evbus_failures gives each one's
     * error as JSON [{"handler", "error", "error_code"}]. */
    evbus__buf_t names = EVBUS__BUF_INIT;
    int bad = 0;
    for (size_t i = 0; run && i < run->nfail; i++)
        bad |= (i && evbus__buf_puts(&names, ", ")) ||
               evbus__buf_puts(&names, run->fail[i].handler ? run->fail[i].handler : "?");
    bad |= evbus__buf_putc(&names, 0) != 0;
    json_t *fj = run && run->nfail ? evbus__run_failures_json(run) : NULL;
    char *failures = fj ? json_dumps(fj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(fj);
    if (!topic || !h || bad || (run && run->nfail && !failures)) {
        free(failures);
        evbus__buf_free(&names);
        free(topic);
        if (h)
            rd_kafka_headers_destroy(h);
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    snprintf(topic, tlen, "%s%s", otopic, c->dlq_suffix);
    char num[3][32];
    snprintf(num[0], sizeof(num[0]), "%d", attempts);
    snprintf(num[1], sizeof(num[1]), "%d", (int)evbus_event_partition(ev));
    snprintf(num[2], sizeof(num[2]), "%lld", (long long)evbus_event_offset(ev));
    for (size_t i = 0; i < nh; i++) {
        const char *name, *v;
        size_t len;
        evbus_event_header_at(ev, i, &name, &v, &len);
        bad |= rd_kafka_header_add(h, name, -1, v, (ssize_t)len) != 0;
    }
    bad |= add_hdr(h, "evbus_error", error ? error : evbus_strerror(code));
    bad |= add_hdr(h, "evbus_error_code", evbus_err_name(code));
    bad |= add_hdr(h, "evbus_handler", (const char *)names.data);
    if (failures)
        bad |= add_hdr(h, "evbus_failures", failures);
    free(failures);
    evbus__buf_free(&names);
    bad |= add_hdr(h, "evbus_attempts", num[0]);
    bad |= add_hdr(h, "evbus_original_topic", otopic);
    bad |= add_hdr(h, "evbus_original_partition", num[1]);
    bad |= add_hdr(h, "evbus_original_offset", num[2]);
    if (bad) {
        free(topic);
        rd_kafka_headers_destroy(h);
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "cannot build dead-letter headers");
    }
    dr_wait_t w = {.done = 0};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cond, NULL);
    rd_kafka_resp_err_t kerr = rd_kafka_producev(
        c->dlq, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE((void *)value, vlen), RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_OPAQUE(&w), RD_KAFKA_V_END);
    if (kerr) {
        rd_kafka_headers_destroy(h); /* producev owns them only on success */
    } else {
        pthread_mutex_lock(&w.mu);
        while (!w.done) /* bounded by message.timeout.ms */
            pthread_cond_wait(&w.cond, &w.mu);
        kerr = w.err;
        pthread_mutex_unlock(&w.mu);
    }
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.mu);
    evbus_err_t err = EVBUS_OK;
    if (kerr)
        err = evbus__fail(EVBUS_ERR_TRANSPORT, errstr, errstr_size, "dead-letter write to %s: %s",
                          topic, rd_kafka_err2str(kerr));
    free(topic);
    return err;
}
