/* Test plugin: an event whose action is "fail" fails (every attempt); others are handled. */
#include "common.h"

static evbus_err_t handle(void *state, const evbus_event_t *ev, char *errstr, size_t n) {
    (void)state;
    if (tp_action_is(ev, "fail")) {
        tp_record("selective-fail", ev);
        snprintf(errstr, n, "test-selective fails action=fail");
        return EVBUS_ERR_HANDLER;
    }
    tp_record("selective-ok", ev);
    return EVBUS_OK;
}

static const char *const subs[] = {"org.evbus.test.consumer.v1", NULL};
static const evbus_plugin_t plugin = {EVBUS_PLUGIN_ABI_VERSION, "test-selective", subs, NULL, NULL,
                                      handle, NULL, 0};

EVBUS_EXPORT const evbus_plugin_t *evbus_plugin_v1(void) { return &plugin; }
