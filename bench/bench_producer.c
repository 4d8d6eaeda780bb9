/*
 * Producer throughput, one figure per run:
 *   evbus  libproducer evbus_producer_send() of the JSON ring (parse, key, encode, headers,
 *          produce) from --threads threads, then evbus_producer_flush() to completion
 *   raw    plain librdkafka producing the same events pre-encoded (framed Avro value and key,
 *          made before the clock starts) with the same ten headers, then rd_kafka_flush()
 *   gen    write the JSON ring to --out, one event per line (for the Python peer)
 *   create create the topic with --partitions (real Kafka only; the mock has no CreateTopics)
 * Both producers use the same settings: acks=all, enable.idempotence=true, linger.ms=5.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include <evbus/producer.h>
#include <evbus/schema.h>
#include <jansson.h>

#include "bench.h"

static const char usage[] =
    "usage: bench_producer evbus|raw -b BOOTSTRAP -t TOPIC [-n EVENTS] [--threads T] [--given-ids]\n"
    "                      [--transactional] [--type T --key-field F --ring FILE] [--registry URL]\n"
    "                      [--schemas DIR] [--partitions P] [--queue-messages N] [--timeout S]\n"
    "                      [--spool DIR [--spool-sync interval|always|none]]\n"
    "       bench_producer create -b BOOTSTRAP -t TOPIC --partitions P --schemas DIR\n"
    "       bench_producer gen --out FILE\n";

/* The settings both sides share: the ratio compares work per event, not configurations. */
static const char *const kafka_settings[][2] = {
    {"acks", "all"}, {"enable.idempotence", "true"}, {"linger.ms", "5"},
};

/* ---------------------------------------------------------------- evbus */

/* The event type sent (--type, default the demo one). */
static const char *ev_type = BENCH_EVENT_TYPE;

/* ce_id values made before the clock starts, for --given-ids (see run_evbus). */
static char (*given_ids)[BENCH_UUID_LEN];

typedef struct sender_s {
    evbus_producer_t *p;
    uint64_t from, count;
    pthread_barrier_t *go;
    uint64_t failed;
} sender_t;

static void *sender_main(void *arg) {
    sender_t *s = arg;
    const bench_event_t *ring = bench_ring();
    char errstr[512];
    pthread_barrier_wait(s->go);
    for (uint64_t i = s->from; i < s->from + s->count; i++) {
        const bench_event_t *e = &ring[i % BENCH_RING];
        evbus_send_opts_t so = EVBUS_SEND_OPTS_INIT;
        so.id = given_ids ? given_ids[i % BENCH_RING] : NULL;
        evbus_err_t err = evbus_producer_send_opts(s->p, ev_type, e->json, e->len,
                                                   given_ids ? &so : NULL, errstr, sizeof(errstr));
        if (err != EVBUS_OK) {
            if (s->failed++ == 0)
                fprintf(stderr, "bench: send: %s: %s\n", evbus_err_name(err), errstr);
        }
    }
    return NULL;
}

/* The deepest the producer's queue got (messages sent, not yet reported), sampled every
 * 10 ms: what the peak RSS is to be read against. */
typedef struct depth_s {
    evbus_producer_t *p;
    atomic_int stop;
    uint64_t max;
} depth_t;

static void *depth_main(void *arg) {
    depth_t *d = arg;
    while (!atomic_load(&d->stop)) {
        evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
        if (evbus_producer_stats(d->p, &st) == EVBUS_OK && st.in_flight > d->max)
            d->max = st.in_flight;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void run_evbus(const bench_opts_t *o) {
    char errstr[2048];
    evbus_conf_t *conf = evbus_conf_new();
    if (!conf)
        bench_die("out of memory");
#define SET(n, v)                                                                   \
    do {                                                                            \
        if (evbus_conf_set(conf, n, v, errstr, sizeof(errstr)) != EVBUS_CONF_OK)    \
            bench_die("conf %s: %s", n, errstr);                                    \
    } while (0)
    SET("kafka.bootstrap.servers", o->bootstrap);
    if (o->type)
        ev_type = o->type;
    SET("producer.config",
        bench_producer_config(ev_type, o->key_field ? o->key_field : BENCH_KEY_FIELD, o->topic));
    /* --registry: the Confluent wire format the Open edX bus uses (producer_vs_openedx) */
    if (o->registry)
        SET("schema.registry.url", o->registry);
    SET("schema.dir", o->schemas);
    SET("topic.prefix", "");
    for (size_t i = 0; i < sizeof(kafka_settings) / sizeof(kafka_settings[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "kafka.%s", kafka_settings[i][0]);
        SET(name, kafka_settings[i][1]);
    }
    /* --queue-messages: a queue bound every run reaches (rss_growth_producer) */
    if (o->queue_messages) {
        char v[24];
        snprintf(v, sizeof(v), "%d", o->queue_messages);
        SET("kafka.queue.buffering.max.messages", v);
    }
    /* --transactional: the cost of Kafka transactions (producer_transactional_vs_plain) */
    if (o->transactional)
        SET("producer.transactional", "true");
    /* --spool: the cost of the crash-safe spool (producer_spool_vs_plain, _always_vs_plain);
     * the directory must not hold an earlier run's events (bench/run gives a fresh one) */
    if (o->spool)
        SET("producer.spool.dir", o->spool);
    if (o->spool_sync)
        SET("producer.spool.sync", o->spool_sync);
#undef SET
    if (o->partitions)
        bench_ensure_topic(o->bootstrap, o->topic, o->partitions);
    evbus_producer_t *p = evbus_producer_new(conf, errstr, sizeof(errstr));
    if (!p)
        bench_die("evbus_producer_new: %s", errstr);
    bench_ring();
    /* --given-ids: the caller supplies ce_id (evbus_send_opts_t.id), which takes UUID
     * generation out of the measured path; it tells how much of the cost that is. */
    if (o->given_ids) {
        given_ids = calloc(BENCH_RING, sizeof(*given_ids));
        if (!given_ids)
            bench_die("out of memory");
        for (size_t i = 0; i < BENCH_RING; i++)
            bench_uuid1(given_ids[i]);
    }

    int nt = o->threads;
    sender_t s[64];
    pthread_t th[64];
    pthread_barrier_t go;
    /* One thread sends from main, as the raw baseline does: a second thread would only add
     * its own malloc arena to the comparison. */
    int spawn = nt > 1 ? nt : 0;
    pthread_barrier_init(&go, NULL, (unsigned)spawn + 1);
    uint64_t per = o->events / (uint64_t)nt;
    for (int i = 0; i < nt; i++)
        s[i] = (sender_t){p, per * (uint64_t)i, i + 1 == nt ? o->events - per * (uint64_t)i : per, &go, 0};
    for (int i = 0; i < spawn; i++)
        if (pthread_create(&th[i], NULL, sender_main, &s[i]) != 0)
            bench_die("pthread_create failed");
    depth_t depth = {p, 0, 0};
    pthread_t depth_th;
    if (pthread_create(&depth_th, NULL, depth_main, &depth) != 0)
        bench_die("pthread_create failed");
    double t0 = bench_now(), c0 = bench_cpu();
    if (spawn) {
        pthread_barrier_wait(&go);
        t0 = bench_now();
        c0 = bench_cpu();
    } else {
        sender_main(&s[0]); /* its barrier wait returns at once: the count is 1 */
    }
    uint64_t failed = 0;
    for (int i = 0; i < spawn; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < nt; i++)
        failed += s[i].failed;
    int left = evbus_producer_flush(p, 120000);
    double t1 = bench_now(), c1 = bench_cpu();
    atomic_store(&depth.stop, 1);
    pthread_join(depth_th, NULL);
    pthread_barrier_destroy(&go);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    if (failed || left != 0 || st.delivered != o->events)
        bench_die("evbus: %llu send failures, %d undelivered, %llu of %llu delivered",
                  (unsigned long long)failed, left, (unsigned long long)st.delivered,
                  (unsigned long long)o->events);
    char extra[320], bounds[192];
    bench_queue_bounds(0, bounds, sizeof(bounds));
    if (o->queue_messages) { /* the bound set here, not librdkafka's default */
        const char *kb = strstr(bounds, " queue.buffering.max.kbytes");
        char kbs[96];
        snprintf(kbs, sizeof(kbs), "%s", kb ? kb : "");
        snprintf(bounds, sizeof(bounds), " queue.buffering.max.messages=%d%s", o->queue_messages, kbs);
    }
    snprintf(extra, sizeof(extra), "threads=%d given_ids=%d queue_peak_messages=%llu%s", nt,
             o->given_ids, (unsigned long long)depth.max, bounds);
    bench_result(o->events, t1 - t0, c1 - c0, extra);
    evbus_producer_destroy(p);
    free(given_ids);
}

/* ---------------------------------------------------------------- raw */

typedef struct pre_s {
    unsigned char *val, *key;
    size_t vlen, klen;
    char id[BENCH_UUID_LEN], time[BENCH_TIME_LEN];
} pre_t;

static atomic_uint_fast64_t raw_delivered, raw_failed;

static void raw_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err)
        atomic_fetch_add(&raw_failed, 1);
    else
        atomic_fetch_add(&raw_delivered, 1);
}

/* json as single-object framed Avro of schema, malloc'd (evbus_schema_encode_json). */
static unsigned char *framed(const evbus_schema_t *schema, const char *json, size_t len,
                             size_t *outlen) {
    char errstr[512];
    static unsigned char tmp[65536];
    if (evbus_schema_encode_json(schema, json, len, EVBUS_ENCODE_SINGLE_OBJECT, tmp, sizeof(tmp),
                                 outlen, errstr, sizeof(errstr)) != EVBUS_OK)
        bench_die("pre-encoding failed: %s", errstr);
    unsigned char *p = malloc(*outlen);
    if (!p)
        bench_die("out of memory");
    memcpy(p, tmp, *outlen);
    return p;
}

/* The key field's value as JSON text (the producer's event_key_field: a period-delimited
 * path), malloc'd. */
static char *key_json(const char *json, size_t len, const char *path) {
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr), *v = root;
    if (!root)
        bench_die("ring event: %s", jerr.text);
    char seg[256];
    for (const char *p = path; v && *p;) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof(seg))
            bench_die("key path too long");
        memcpy(seg, p, n);
        seg[n] = 0;
        v = json_object_get(v, seg);
        p += n + (p[n] == '.');
    }
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    json_decref(root);
    if (!s)
        bench_die("key %s missing from a ring event", path);
    return s;
}

static pre_t *pre_encode(const char *schema_dir, double *mean_vlen) {
    char errstr[512];
    evbus_schema_store_t *store = evbus_schema_store_new(schema_dir, errstr, sizeof(errstr));
    if (!store)
        bench_die("schemas: %s", errstr);
    const evbus_schema_t *vs = evbus_schema_store_get(store, BENCH_EVENT_TYPE);
    if (!vs)
        bench_die("no schema for %s in %s", BENCH_EVENT_TYPE, schema_dir);
    evbus_schema_t *ks = evbus_schema_new("\"string\"", 8, errstr, sizeof(errstr));
    pre_t *pre = calloc(BENCH_RING, sizeof(*pre));
    if (!ks || !pre)
        bench_die("key schema / out of memory");
    const bench_event_t *ring = bench_ring();
    double sum = 0;
    for (size_t i = 0; i < BENCH_RING; i++) {
        char *kv = key_json(ring[i].json, ring[i].len, BENCH_KEY_FIELD);
        pre[i].val = framed(vs, ring[i].json, ring[i].len, &pre[i].vlen);
        pre[i].key = framed(ks, kv, strlen(kv), &pre[i].klen);
        free(kv);
        bench_uuid1(pre[i].id);
        bench_time_iso(pre[i].time);
        sum += (double)pre[i].vlen;
    }
    *mean_vlen = sum / BENCH_RING;
    evbus_schema_destroy(ks);
    evbus_schema_store_destroy(store);
    return pre;
}

static void run_raw(const bench_opts_t *o) {
    char errstr[512], host[256];
    double mean_vlen;
    pre_t *pre = pre_encode(o->schemas, &mean_vlen);
    if (gethostname(host, sizeof(host) - 1) != 0)
        strcpy(host, "unknown");
    host[sizeof(host) - 1] = 0;

    if (o->partitions)
        bench_ensure_topic(o->bootstrap, o->topic, o->partitions);
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    if (rd_kafka_conf_set(kc, "bootstrap.servers", o->bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(kc, "client.id", "bench-raw", errstr, sizeof(errstr)))
        bench_die("%s", errstr);
    for (size_t i = 0; i < sizeof(kafka_settings) / sizeof(kafka_settings[0]); i++)
        if (rd_kafka_conf_set(kc, kafka_settings[i][0], kafka_settings[i][1], errstr, sizeof(errstr)))
            bench_die("%s", errstr);
    rd_kafka_conf_set_dr_msg_cb(kc, raw_dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
    if (!rk)
        bench_die("rd_kafka_new: %s", errstr);
    /* The topic handle up front, as libproducer does, so the first metadata request asks
     * for it (made on the first produce, it can wait for librdkafka's 1 s topic scan). */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    if (!rkt)
        bench_die("rd_kafka_topic_new: %s", rd_kafka_err2str(rd_kafka_last_error()));

    double t0 = bench_now(), c0 = bench_cpu();
    for (uint64_t i = 0; i < o->events; i++) {
        const pre_t *e = &pre[i % BENCH_RING];
        rd_kafka_headers_t *h = rd_kafka_headers_new(10);
        rd_kafka_header_add(h, "ce_type", -1, BENCH_EVENT_TYPE, -1);
        rd_kafka_header_add(h, "ce_id", -1, e->id, -1);
        rd_kafka_header_add(h, "ce_source", -1, "openedx/evbus/web", -1);
        rd_kafka_header_add(h, "ce_specversion", -1, "1.0", -1);
        rd_kafka_header_add(h, "ce_time", -1, e->time, -1);
        rd_kafka_header_add(h, "ce_minorversion", -1, "0", -1);
        rd_kafka_header_add(h, "sourcehost", -1, host, -1);
        rd_kafka_header_add(h, "sourcelib", -1, EVBUS_VERSION_STR, -1);
        rd_kafka_header_add(h, "content-type", -1, "application/avro", -1);
        rd_kafka_header_add(h, "ce_datacontenttype", -1, "application/avro", -1);
        for (;;) {
            rd_kafka_resp_err_t err = rd_kafka_producev(
                rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_KEY(e->key, e->klen), RD_KAFKA_V_VALUE(e->val, e->vlen),
                RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                break;
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                bench_die("produce: %s", rd_kafka_err2str(err));
            rd_kafka_poll(rk, 1);
        }
        if ((i & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    rd_kafka_resp_err_t fe = rd_kafka_flush(rk, 120000);
    double t1 = bench_now(), c1 = bench_cpu();
    if (fe || atomic_load(&raw_failed) || atomic_load(&raw_delivered) != o->events)
        bench_die("raw: flush %s, %llu failed, %llu of %llu delivered", rd_kafka_err2str(fe),
                  (unsigned long long)atomic_load(&raw_failed),
                  (unsigned long long)atomic_load(&raw_delivered), (unsigned long long)o->events);
    char extra[64];
    snprintf(extra, sizeof(extra), "value_bytes=%.1f", mean_vlen);
    bench_result(o->events, t1 - t0, c1 - c0, extra);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    for (size_t i = 0; i < BENCH_RING; i++) {
        free(pre[i].val);
        free(pre[i].key);
    }
    free(pre);
}

/* ---------------------------------------------------------------- gen */

static void run_gen(const bench_opts_t *o) {
    FILE *f = fopen(o->out, "w");
    if (!f)
        bench_die("cannot write %s", o->out);
    const bench_event_t *ring = bench_ring();
    for (size_t i = 0; i < BENCH_RING; i++)
        fprintf(f, "%s\n", ring[i].json);
    if (fclose(f) != 0)
        bench_die("write %s failed", o->out);
    printf("events=%d mean_json_bytes=%.1f\n", BENCH_RING, bench_ring_mean_len());
}

int main(int argc, char **argv) {
    bench_opts_t o;
    bench_parse(argc, argv, usage, &o);
    if (strcmp(o.mode, "gen") == 0) {
        if (!o.out)
            bench_die("gen needs --out FILE");
        run_gen(&o);
        return 0;
    }
    if (!o.bootstrap || !o.topic || !o.schemas)
        bench_die("%s needs -b, -t and --schemas", o.mode);
    if (strcmp(o.mode, "create") == 0)
        bench_ensure_topic(o.bootstrap, o.topic, o.partitions ? o.partitions : 4);
    else if (strcmp(o.mode, "evbus") == 0)
        run_evbus(&o);
    else if (strcmp(o.mode, "raw") == 0)
        run_raw(&o);
    else {
        fputs(usage, stderr);
        return 2;
    }
    return 0;
}
