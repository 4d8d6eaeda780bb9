/*
 * A minimal evbus consumer: handles every event of the given topics with a C callback,
 * logs failures through the lifecycle events, and stops cleanly on SIGINT/SIGTERM.
 *
 *   EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=localhost:9092 ./consumer [--from-beginning] GROUP TOPIC...
 *
 * A new group starts at the end of each partition (consumer.start=latest, as the Python bus);
 * --from-beginning starts it at the beginning.
 *
 * Everything else comes from the EVENT_BUS_* environment (topic prefix, schema dir, registry).
 */
#include <stdio.h>
#include <string.h>

#include <evbus/consumer.h>

/* The business handler: returning an error makes the consumer retry, then dead-letter. */
static evbus_err_t on_event(const evbus_event_t *ev, void *opaque, char *errstr, size_t errstr_size) {
    unsigned long *count = opaque;
    size_t len;
    const char *json = evbus_event_json(ev, &len);
    if (!json) {
        snprintf(errstr, errstr_size, "%s", evbus_event_error(ev));
        return EVBUS_ERR_DECODE;
    }
    (*count)++;
    printf("%s [%d] @%lld %s %.*s\n", evbus_event_topic(ev), (int)evbus_event_partition(ev),
           (long long)evbus_event_offset(ev), evbus_event_type(ev), (int)len, json);
    fflush(stdout);
    return EVBUS_OK;
}

/* Lifecycle events are ordinary events: their data says what happened to which event. */
static evbus_err_t on_problem(const evbus_event_t *ev, void *opaque, char *errstr, size_t errstr_size) {
    (void)opaque; (void)errstr; (void)errstr_size;
    fprintf(stderr, "%s %s\n", evbus_event_type(ev), evbus_event_json(ev, NULL));
    return EVBUS_OK;
}

int main(int argc, char **argv) {
    char errstr[512];
    int from_beginning = argc > 1 && strcmp(argv[1], "--from-beginning") == 0;
    if (from_beginning) {
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: %s [--from-beginning] GROUP TOPIC...\n", argv[0]);
        return 2;
    }
    unsigned long count = 0;
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    evbus_conf_t *conf = evbus_conf_new();
    if (!d || !conf)
        return 1;
    /* "org.*": a bare "*" would also match the lifecycle types (evbus.*). */
    const char *problems[] = {EVBUS_LC_HANDLER_FAILED, EVBUS_LC_EVENT_DEAD_LETTERED};
    if (evbus_dispatcher_subscribe(d, "org.*", on_event, &count, NULL, 0, "print") != EVBUS_OK ||
        evbus_dispatcher_subscribe_list(d, problems, 2, on_problem, NULL, NULL, 0, "log") != EVBUS_OK)
        return 1;
    if (evbus_conf_from_env(conf, errstr, sizeof(errstr)) != EVBUS_OK ||
        evbus_conf_set(conf, "consumer.group", argv[1], errstr, sizeof(errstr)) != EVBUS_CONF_OK ||
        (from_beginning &&
         evbus_conf_set(conf, "consumer.start", "earliest", errstr, sizeof(errstr)) != EVBUS_CONF_OK)) {
        fprintf(stderr, "consumer: %s\n", errstr);
        return 2;
    }
    evbus_consumer_t *c = evbus_consumer_new(conf, d, errstr, sizeof(errstr));
    if (!c) {
        fprintf(stderr, "consumer: %s\n", errstr);
        evbus_conf_destroy(conf);
        evbus_dispatcher_destroy(d);
        return 2;
    }
    if (evbus_consumer_subscribe(c, (const char *const *)argv + 2, (size_t)(argc - 2), errstr,
                                 sizeof(errstr)) != EVBUS_OK) {
        fprintf(stderr, "consumer: %s\n", errstr);
        evbus_consumer_destroy(c);
        evbus_dispatcher_destroy(d);
        return 2;
    }
    evbus_consumer_handle_signals(c);
    evbus_err_t err = evbus_consumer_run(c); /* until SIGINT/SIGTERM */
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    fprintf(stderr, "consumer: %lu events handled\n", count);
    return err ? 1 : 0;
}
