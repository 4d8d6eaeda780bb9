/* Test plugin: a future ABI version, which the loader must refuse. */
#include "common.h"

static evbus_err_t handle(void *state, const evbus_event_t *ev, char *errstr, size_t n) {
    (void)state; (void)ev; (void)errstr; (void)n;
    return EVBUS_OK;
}

static const char *const subs[] = {"*", NULL};
static const evbus_plugin_t plugin = {99, "test-badabi", subs, NULL, NULL, handle, NULL, 0};

EVBUS_EXPORT const evbus_plugin_t *evbus_plugin_v1(void) { return &plugin; }
