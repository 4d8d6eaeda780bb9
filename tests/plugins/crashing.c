/* Test plugin: an event whose action is "crash" kills the process; others are recorded. */
#include <signal.h>

#include "common.h"

static evbus_err_t handle(void *state, const evbus_event_t *ev, char *errstr, size_t n) {
    (void)state; (void)errstr; (void)n;
    if (tp_action_is(ev, "crash")) {
        tp_record("crashing", ev);
        signal(SIGSEGV, SIG_DFL); /* no sanitizer report: just die */
        raise(SIGSEGV);
    }
    tp_record("crash-ok", ev);
    return EVBUS_OK;
}

static const char *const subs[] = {"org.evbus.test.*", NULL};
static const evbus_plugin_t plugin = {EVBUS_PLUGIN_ABI_VERSION, "test-crashing", subs, NULL, NULL,
                                      handle, NULL, 0};

EVBUS_EXPORT const evbus_plugin_t *evbus_plugin_v1(void) { return &plugin; }
