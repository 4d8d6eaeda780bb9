/* Public event calls beyond the accessors (evbus.h): references, the raw key, the problem. */
#include "event.h"

const void *evbus_event_key_raw(const evbus_event_t *ev, size_t *lenp) {
    if (!ev) {
        if (lenp)
            *lenp = 0;
        return NULL;
    }
    return evbus__event_key_raw(ev, lenp);
}

evbus_err_t evbus_event_problem(const evbus_event_t *ev, const char **msgp) {
    return evbus__event_problem(ev, msgp);
}

evbus_event_t *evbus_event_ref(const evbus_event_t *ev) {
    /* The count is the one mutable part of a shared event, atomic by design. */
    return ev ? evbus__event_ref((evbus_event_t *)ev) : NULL;
}

void evbus_event_destroy(evbus_event_t *ev) { evbus__event_destroy(ev); }
