/* Public checks of names and values the library applies itself (evbus.h): topic names, full
 * topic names, W3C trace context.  Each is the library's own rule, not a copy of it. */
#include <stdio.h>

#include "headers.h"
#include "topic.h"

evbus_err_t evbus_topic_check(const char *name, char *errstr, size_t errstr_size) {
    return evbus__topic_check(name, errstr, errstr_size) == 0 ? EVBUS_OK : EVBUS_ERR_INVALID_ARG;
}

size_t evbus_topic_full(const char *prefix, const char *topic, char *buf, size_t size) {
    if (!topic)
        topic = "";
    int n = prefix && *prefix ? snprintf(buf, size, "%s-%s", prefix, topic)
                              : snprintf(buf, size, "%s", topic);
    return n < 0 ? 0 : (size_t)n;
}

evbus_err_t evbus_trace_check(const char *traceparent, const char *tracestate, char *errstr,
                              size_t errstr_size) {
    return evbus__trace_check(traceparent, tracestate, errstr, errstr_size) == 0
               ? EVBUS_OK
               : EVBUS_ERR_INVALID_ARG;
}
