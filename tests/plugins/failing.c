/* Test plugin: every event fails. */
#include "common.h"

static evbus_err_t handle(void *state, const evbus_event_t *ev, char *errstr, size_t n) {
    (void)state;
    tp_record("fail", ev);
    snprintf(errstr, n, "test-failing always fails");
    return EVBUS_ERR_HANDLER;
}

static const char *const subs[] = {"org.evbus.test.consumer.v1", NULL};
static const evbus_plugin_t plugin = {EVBUS_PLUGIN_ABI_VERSION, "test-failing", subs, NULL, NULL,
                                      handle, NULL, 0};

EVBUS_EXPORT const evbus_plugin_t *evbus_plugin_v1(void) { return &plugin; }
