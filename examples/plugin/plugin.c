/*
 * A sample evbus plugin: counts the Open edX events it sees and prints one line per event
 * on stderr.  Build it with the headers only (the process that loads it provides libevbus):
 *     cc -shared -fPIC -o evbus_example_plugin.so plugin.c $(pkg-config --cflags evbus-consumer)
 * and load it with
 *     evbus-cli consume -t TOPIC -g GROUP --plugin ./evbus_example_plugin.so
 * Set EVBUS_EXAMPLE_PLUGIN_OFF=1 to leave it disabled (enabled() is asked at load time).
 */
#include <stdio.h>
#include <stdlib.h>

#include <evbus/consumer.h>

typedef struct state_s {
    unsigned long seen;
} state_t;

static int enabled(void) { return getenv("EVBUS_EXAMPLE_PLUGIN_OFF") == NULL; }

static evbus_err_t init(void **state, char *errstr, size_t errstr_size) {
    state_t *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return EVBUS_ERR_NOMEM;
    }
    *state = s;
    return EVBUS_OK;
}

static evbus_err_t handle(void *state, const evbus_event_t *ev, char *errstr, size_t errstr_size) {
    state_t *s = state;
    size_t len;
    /* Decoding happens here, on demand: a plugin that only needs the type pays nothing. */
    const char *json = evbus_event_json(ev, &len);
    if (!json) {
        /* Undecodable data cannot get better by retrying, but failing sends it to the DLQ. */
        snprintf(errstr, errstr_size, "cannot decode: %s", evbus_event_error(ev));
        return EVBUS_ERR_DECODE;
    }
    s->seen++;
    fprintf(stderr, "example-plugin: #%lu %s %s key=%s %.*s\n", s->seen, evbus_event_type(ev),
            evbus_event_id(ev), evbus_event_key(ev) ? evbus_event_key(ev) : "-", (int)len, json);
    return EVBUS_OK;
}

static void fini(void *state) {
    state_t *s = state;
    fprintf(stderr, "example-plugin: %lu events\n", s->seen);
    free(s);
}

static const char *const subscriptions[] = {"org.openedx.*", "org.evbus.*", NULL};

static const evbus_plugin_t plugin = {
    .abi_version = EVBUS_PLUGIN_ABI_VERSION,
    .name = "example-logger",
    .subscriptions = subscriptions,
    .enabled = enabled,
    .init = init,
    .handle = handle,
    .fini = fini,
    .flags = 0,
};

EVBUS_EXPORT const evbus_plugin_t *evbus_plugin_v1(void) { return &plugin; }
