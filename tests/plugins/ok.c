/* Test plugin: records every event; init/fini recorded too; disabled by EVBUS_TEST_PLUGIN_DISABLE. */
#include "common.h"

static int enabled(void) { return getenv("EVBUS_TEST_PLUGIN_DISABLE") == NULL; }

static evbus_err_t init(void **state, char *errstr, size_t n) {
    (void)errstr; (void)n;
    static int token;
    *state = &token;
    tp_record("init", NULL);
    return EVBUS_OK;
}

static evbus_err_t handle(void *state, const evbus_event_t *ev, char *errstr, size_t n) {
    if (!state || !evbus_event_json(ev, NULL)) {
        snprintf(errstr, n, "no state or undecodable data: %s", evbus_event_error(ev));
        return EVBUS_ERR_HANDLER;
    }
    tp_record("ok", ev);
    return EVBUS_OK;
}

static void fini(void *state) { (void)state; tp_record("fini", NULL); }

static const char *const subs[] = {"org.evbus.test.*", NULL};
static const evbus_plugin_t plugin = {EVBUS_PLUGIN_ABI_VERSION, "test-ok", subs, enabled, init,
                                      handle, fini, 0};

EVBUS_EXPORT const evbus_plugin_t *evbus_plugin_v1(void) { return &plugin; }
