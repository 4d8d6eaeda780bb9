/* Test plugin: an event whose action is "hang" never returns; others are recorded. */
#include "common.h"

static evbus_err_t handle(void *state, const evbus_event_t *ev, char *errstr, size_t n) {
    (void)state; (void)errstr; (void)n;
    if (tp_action_is(ev, "hang")) {
        tp_record("hanging", ev);
        for (;;)
            pause();
    }
    tp_record("hang-ok", ev);
    return EVBUS_OK;
}

static const char *const subs[] = {"org.evbus.test.*", NULL};
static const evbus_plugin_t plugin = {EVBUS_PLUGIN_ABI_VERSION, "test-hanging", subs, NULL, NULL,
                                      handle, NULL, 0};

EVBUS_EXPORT const evbus_plugin_t *evbus_plugin_v1(void) { return &plugin; }
