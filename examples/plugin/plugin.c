/*
 * A sample evbus plugin (ABI v2): logs the Open edX events it sees, one line each on stderr,
 * configured through its settings.  Build it with the headers only (the process that loads it
 * provides libevbus):
 *     cc -shared -fPIC -o evbus_example_plugin.so plugin.c $(pkg-config --cflags evbus-consumer)
 * and load it with
 *     evbus-cli consume -t TOPIC -g GROUP --plugin ./evbus_example_plugin.so \
 *         -X plugin.example-logger.label=cms
 * or name it in a consumer config file (consume --config consumer.json):
 *     {"topics": ["content-authoring-xblock-lifecycle"], "group": "cms-worker",
 *      "plugins": [{"path": "evbus_example_plugin.so",
 *                   "settings": {"label": "cms", "types": "org.openedx.*"}}]}
 * Its settings (plugin.example-logger.<key>; also env EVBUS_PLUGIN_EXAMPLE_LOGGER_<KEY>):
 *     enabled  "false" leaves it off (consume says so at start, with the reason below)
 *     label    the word in front of each line (default: example-plugin)
 *     types    a glob of event types to log (default: every type it subscribes to)
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evbus/plugin.h>

typedef struct state_s {
    unsigned long seen;
    char label[128];
    char types[256];
} state_t;

/* Asked once, at load time: this is where a plugin decides from its configuration. */
static int enabled(const evbus_plugin_ctx_t *ctx) {
    const char *on = evbus_plugin_ctx_get(ctx, "enabled");
    if (on && !strcmp(on, "false")) {
        evbus_plugin_ctx_disable_reason(ctx, "plugin.example-logger.enabled is false");
        return 0;
    }
    return 1;
}

/* The context is only valid during the call: copy what the handler needs. */
static evbus_err_t init(const evbus_plugin_ctx_t *ctx, void **state, char *errstr,
                        size_t errstr_size) {
    state_t *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return EVBUS_ERR_NOMEM;
    }
    const char *label = evbus_plugin_ctx_get(ctx, "label");
    snprintf(s->label, sizeof(s->label), "%s", label ? label : "example-plugin");
    const char *group = evbus_plugin_ctx_get(ctx, "consumer.group"); /* a consumer setting */
    fprintf(stderr, "%s: started (group %s)\n", s->label, group ? group : "none");
    const char *types = evbus_plugin_ctx_get(ctx, "types");
    snprintf(s->types, sizeof(s->types), "%s", types ? types : "*");
    *state = s;
    return EVBUS_OK;
}

static evbus_err_t handle(void *state, const evbus_event_t *ev, char *errstr, size_t errstr_size) {
    state_t *s = state;
    if (fnmatch(s->types, evbus_event_type(ev), 0) != 0)
        return EVBUS_OK;
    size_t len;
    /* Decoding happens here, on demand: a plugin that only needs the type pays nothing. */
    const char *json = evbus_event_json(ev, &len);
    if (!json) {
        /* Undecodable data cannot get better by retrying, but failing sends it to the DLQ. */
        snprintf(errstr, errstr_size, "cannot decode: %s", evbus_event_error(ev));
        return EVBUS_ERR_DECODE;
    }
    s->seen++;
    fprintf(stderr, "%s: #%lu %s %s key=%s %.*s\n", s->label, s->seen, evbus_event_type(ev),
            evbus_event_id(ev), evbus_event_key(ev) ? evbus_event_key(ev) : "-", (int)len, json);
    return EVBUS_OK;
}

static void fini(void *state) {
    state_t *s = state;
    fprintf(stderr, "%s: %lu events\n", s->label, s->seen);
    free(s);
}

static const char *const subscriptions[] = {"org.openedx.*", "org.evbus.*", NULL};

static const evbus_plugin_v2_t plugin = {
    .abi_version = EVBUS_PLUGIN_ABI_VERSION,
    .name = "example-logger",
    .subscriptions = subscriptions,
    .enabled = enabled,
    .init = init,
    .handle = handle,
    .fini = fini,
    .flags = 0,
};

EVBUS_EXPORT const evbus_plugin_v2_t *evbus_plugin_v2(void) { return &plugin; }
