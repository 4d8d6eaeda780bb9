/* Test plugin: subscribes to every lifecycle event and records its type, so a test sees which
 * fired (e.g. that `evbus-cli dispatch` fires them as `consume` does). */
#include "common.h"

static evbus_err_t handle(void *state, const evbus_event_t *ev, char *errstr, size_t n) {
    (void)state; (void)errstr; (void)n;
    tp_record(evbus_event_type(ev), ev);
    return EVBUS_OK;
}

static const char *const subs[] = {"evbus.*", NULL};
static const evbus_plugin_t plugin = {EVBUS_PLUGIN_ABI_VERSION, "test-lifecycle", subs, NULL, NULL,
                                      handle, NULL, 0};

EVBUS_EXPORT const evbus_plugin_t *evbus_plugin_v1(void) { return &plugin; }
