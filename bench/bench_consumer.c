/*
 * Consumer throughput over a topic that already holds at least -n events (bench_producer
 * filled it), one figure per run, each in a fresh consumer group:
 *   evbus  libconsumer with --workers W: every event decoded (evbus_event_json()) and
 *          dispatched to a no-op handler
 *   raw    plain librdkafka: rd_kafka_consumer_poll() and a look at every value byte
 *   evbus-dispatch  the same without evbus_event_json(): routing and dispatch only, the
 *          like-for-like figure beside raw-headers (consumer_dispatch_vs_raw_headers)
 *   raw-headers  raw, plus reading each message's ce_type header: the least any consumer that
 *          routes on ce_type does, so the fair floor for libconsumer (consumer_vs_raw_headers)
 * The clock runs from the first event to the n-th, so group join and partition assignment
 * (the same for both) are left out.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include <evbus/consumer.h>

#include "bench.h"

static const char usage[] =
    "usage: bench_consumer evbus|evbus-dispatch|raw|raw-headers -b BOOTSTRAP -t TOPIC [-n EVENTS] [--workers W]\n"
    "                      [--schemas DIR] [--group G] [--timeout S] [--type T] [--registry URL]\n";

static atomic_uint_fast64_t seen, decode_failed;
static _Atomic double t_first, t_last, cpu_first, cpu_last;
static uint64_t target;
static const char *ev_type = BENCH_EVENT_TYPE; /* --type */

/* Called once per event by whichever thread saw it. */
static void mark(void) {
    uint64_t n = atomic_fetch_add(&seen, 1) + 1;
    if (n == 1) {
        atomic_store(&t_first, bench_now());
        atomic_store(&cpu_first, bench_cpu());
    }
    if (n == target) {
        atomic_store(&t_last, bench_now());
        atomic_store(&cpu_last, bench_cpu());
    }
}

static void group_name(const bench_opts_t *o, char *b, size_t size) {
    if (o->group)
        snprintf(b, size, "%s", o->group);
    else
        snprintf(b, size, "bench-%s-%ld-%ld", o->mode, (long)getpid(), (long)time(NULL));
}

static void report(const bench_opts_t *o) {
    if (atomic_load(&seen) < target)
        bench_die("%s: only %llu of %llu events arrived", o->mode,
                  (unsigned long long)atomic_load(&seen), (unsigned long long)target);
    char extra[256], bounds[192];
    bench_queue_bounds(1, bounds, sizeof(bounds));
    snprintf(extra, sizeof(extra), "workers=%d%s", o->workers, bounds);
    /* n events span n-1 gaps between the first and the last */
    bench_result(target - 1, atomic_load(&t_last) - atomic_load(&t_first),
                 atomic_load(&cpu_last) - atomic_load(&cpu_first), extra);
}

/* ---------------------------------------------------------------- evbus */

static evbus_err_t noop_handler(const evbus_event_t *ev, void *opaque, char *errstr,
                                size_t errstr_size) {
    size_t len = 0;
    (void)opaque;
    (void)errstr;
    (void)errstr_size;
    if (!evbus_event_json(ev, &len) || len == 0)
        atomic_fetch_add(&decode_failed, 1);
    mark();
    return EVBUS_OK;
}

static evbus_err_t dispatch_handler(const evbus_event_t *ev, void *opaque, char *errstr,
                                    size_t errstr_size) {
    (void)ev;
    (void)opaque;
    (void)errstr;
    (void)errstr_size;
    mark();
    return EVBUS_OK;
}

static void run_evbus(const bench_opts_t *o, int decode) {
    char errstr[1024], group[128], workers[16];
    group_name(o, group, sizeof(group));
    snprintf(workers, sizeof(workers), "%d", o->workers);
    evbus_conf_t *conf = evbus_conf_new();
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    if (!conf || !d)
        bench_die("out of memory");
#define SET(n, v)                                                                   \
    do {                                                                            \
        if (evbus_conf_set(conf, n, v, errstr, sizeof(errstr)) != EVBUS_CONF_OK)    \
            bench_die("conf %s: %s", n, errstr);                                    \
    } while (0)
    SET("kafka.bootstrap.servers", o->bootstrap);
    SET("consumer.group", group);
    SET("schema.dir", o->schemas);
    SET("topic.prefix", "");
    SET("workers", workers);
    SET("consumer.start", "earliest"); /* the topic is filled before the group joins */
    if (o->registry) /* Confluent-framed events (consumer_vs_openedx) */
        SET("schema.registry.url", o->registry);
#undef SET
    if (evbus_dispatcher_subscribe(d, ev_type, decode ? noop_handler : dispatch_handler, NULL, NULL, 0,
                                   "noop") != EVBUS_OK)
        bench_die("subscribe failed");
    evbus_consumer_t *c = evbus_consumer_new(conf, d, errstr, sizeof(errstr));
    if (!c)
        bench_die("evbus_consumer_new: %s", errstr);
    const char *topics[] = {o->topic};
    if (evbus_consumer_subscribe(c, topics, 1, errstr, sizeof(errstr)) != EVBUS_OK)
        bench_die("evbus_consumer_subscribe: %s", errstr);
    while (atomic_load(&seen) < target) {
        evbus_err_t err = evbus_consumer_poll(c, 100, NULL);
        if (err != EVBUS_OK)
            bench_die("evbus_consumer_poll: %s", evbus_strerror(err));
    }
    if (atomic_load(&decode_failed))
        bench_die("%llu events failed to decode", (unsigned long long)atomic_load(&decode_failed));
    report(o);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
}

/* ---------------------------------------------------------------- raw */

static void run_raw(const bench_opts_t *o, int read_type) {
    char errstr[512], group[128];
    group_name(o, group, sizeof(group));
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    if (rd_kafka_conf_set(kc, "bootstrap.servers", o->bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(kc, "group.id", group, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(kc, "auto.offset.reset", "earliest", errstr, sizeof(errstr)))
        bench_die("%s", errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, sizeof(errstr));
    if (!rk)
        bench_die("rd_kafka_new: %s", errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, o->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        bench_die("subscribe: %s", rd_kafka_err2str(e));
    unsigned sum = 0;
    while (atomic_load(&seen) < target) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err) {
            if (read_type) {
                rd_kafka_headers_t *h = NULL;
                const void *tv = NULL;
                size_t tlen = 0;
                if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
                    rd_kafka_header_get_last(h, "ce_type", &tv, &tlen) != RD_KAFKA_RESP_ERR_NO_ERROR ||
                    tlen != strlen(ev_type) || memcmp(tv, ev_type, tlen) != 0)
                    bench_die("raw-headers: a message without ce_type %s", ev_type);
            }
            const unsigned char *v = m->payload;
            for (size_t i = 0; i < m->len; i++)
                sum += v[i];
            mark();
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "bench: consume: %s\n", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    report(o);
    if (sum == 1) /* keeps the byte loop; never true in practice, harmless if it is */
        fputs("", stderr);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/*
 * Die at once when the topic holds fewer events than asked for (the sum over its partitions of
 * high - low watermark): the embedded broker drops a partition's oldest events past about
 * 5 MiB, and the consumer would otherwise wait for events that are gone until its deadline.
 */
static void check_topic_holds(const bench_opts_t *o) {
    char errstr[512];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    if (rd_kafka_conf_set(kc, "bootstrap.servers", o->bootstrap, errstr, sizeof(errstr)))
        bench_die("%s", errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, sizeof(errstr));
    if (!rk)
        bench_die("rd_kafka_new: %s", errstr);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rkt ? rd_kafka_metadata(rk, 0, rkt, &md, 10000) : RD_KAFKA_RESP_ERR__FAIL;
    if (err || md->topic_cnt != 1 || md->topics[0].err)
        bench_die("%s: no metadata (%s)", o->topic,
                  rd_kafka_err2str(err ? err : md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__FAIL));
    uint64_t held = 0;
    for (int i = 0; i < md->topics[0].partition_cnt; i++) {
        int64_t lo = 0, hi = 0;
        err = rd_kafka_query_watermark_offsets(rk, o->topic, md->topics[0].partitions[i].id, &lo, &hi, 10000);
        if (err)
            bench_die("%s [%d]: watermarks: %s", o->topic, (int)md->topics[0].partitions[i].id,
                      rd_kafka_err2str(err));
        held += hi > lo ? (uint64_t)(hi - lo) : 0;
    }
    if (held < target)
        bench_die("%s holds %llu events, fewer than the %llu asked for (the embedded broker keeps "
                  "about 5 MiB a partition: give the topic more partitions)",
                  o->topic, (unsigned long long)held, (unsigned long long)target);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
}

int main(int argc, char **argv) {
    bench_opts_t o;
    bench_parse(argc, argv, usage, &o);
    if (!o.bootstrap || !o.topic || !o.schemas)
        bench_die("%s needs -b, -t and --schemas", o.mode);
    if (o.events < 2)
        bench_die("need at least 2 events");
    target = o.events;
    if (o.type)
        ev_type = o.type;
    check_topic_holds(&o);
    if (strcmp(o.mode, "evbus") == 0)
        run_evbus(&o, 1);
    else if (strcmp(o.mode, "evbus-dispatch") == 0)
        run_evbus(&o, 0);
    else if (strcmp(o.mode, "raw") == 0)
        run_raw(&o, 0);
    else if (strcmp(o.mode, "raw-headers") == 0)
        run_raw(&o, 1);
    else {
        fputs(usage, stderr);
        return 2;
    }
    return 0;
}
