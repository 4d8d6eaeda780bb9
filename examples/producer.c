/*
 * examples/producer: publish the JSON events of one type, one per line on stdin.
 *
 *   EVENT_BUS_PRODUCER_CONFIG=examples/producer-config.json \
 *   EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 EVENT_BUS_TOPIC_PREFIX=dev \
 *   ./producer org.evbus.demo.order.placed.v1 < examples/events/org.evbus.demo.order.placed.v1.jsonl
 *
 * Written only against the fixed public surface (evbus.h + producer.h): everything comes
 * from the EVENT_BUS_* environment, exactly as a service would configure it.
 */
/* getline() is POSIX.1-2008: say so, so that `cc -std=c11` builds this file as it is. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evbus/producer.h>

static void on_delivery(const evbus_delivery_t *d, void *opaque) {
    int *failed = opaque;
    if (d->err != EVBUS_OK) {
        /* Called from the producer's thread; a counter is all this example needs. */
        __atomic_add_fetch(failed, 1, __ATOMIC_RELAXED);
        fprintf(stderr, "producer: %s %s to %s: %s\n", d->event_type, d->event_id, d->topic,
                d->errstr);
    }
}

int main(int argc, char **argv) {
    char errstr[2048];
    int failed_delivery = 0, bad = 0, sent = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: %s EVENT_TYPE < events.jsonl\n", argv[0]);
        return 2;
    }
    evbus_conf_t *conf = evbus_conf_new();
    if (!conf)
        return 1;
    /* The library reads no environment: take EVENT_BUS_* here, as the Python bus's users do. */
    if (evbus_conf_from_env(conf, errstr, sizeof(errstr)) != EVBUS_OK) {
        fprintf(stderr, "producer: %s\n", errstr);
        evbus_conf_destroy(conf);
        return 2;
    }
    evbus_conf_set_delivery_cb(conf, on_delivery, &failed_delivery);
    evbus_producer_t *p = evbus_producer_new(conf, errstr, sizeof(errstr));
    if (!p) {
        fprintf(stderr, "producer: %s\n", errstr);
        evbus_conf_destroy(conf); /* still ours: ownership moves only on success */
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (n == 0)
            continue;
        evbus_err_t err = evbus_producer_send(p, argv[1], line, (size_t)n, errstr, sizeof(errstr));
        if (err != EVBUS_OK) {
            fprintf(stderr, "producer: line %ld: %s: %s\n", lineno, evbus_err_name(err), errstr);
            bad++;
        } else {
            sent++;
        }
    }
    free(line);
    int undelivered = evbus_producer_flush(p, 30000);
    evbus_producer_destroy(p);
    fprintf(stderr, "producer: %d sent, %d rejected, %d undelivered\n", sent, bad, undelivered);
    return bad || undelivered || failed_delivery ? 1 : 0;
}
