/* Public checks and formatters the library applies itself (evbus.h): typed conf values, topic
 * names, W3C trace context, log lines.  Each is the library's own rule, not a copy of it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "headers.h"
#include "log.h"
#include "topic.h"

evbus_err_t evbus_conf_get_int(const evbus_conf_t *conf, const char *name, int64_t *valuep) {
    const char *v = conf && name ? evbus__conf_str(conf, name) : NULL;
    if (!v || !*v || !valuep)
        return EVBUS_ERR_INVALID_ARG;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end)
        return EVBUS_ERR_INVALID_ARG;
    *valuep = n;
    return EVBUS_OK;
}

evbus_err_t evbus_conf_get_bool(const evbus_conf_t *conf, const char *name, int *valuep) {
    const char *v = conf && name ? evbus__conf_str(conf, name) : NULL;
    if (!v || !valuep)
        return EVBUS_ERR_INVALID_ARG;
    /* conf.c's parse_bool accepts these at set time; anything stored is one of them */
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
        *valuep = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
        *valuep = 0;
    else
        return EVBUS_ERR_INVALID_ARG;
    return EVBUS_OK;
}

const char *evbus_conf_wire_format(const evbus_conf_t *conf) {
    return evbus__wire_format_name(conf ? evbus__conf_wire_format(conf) : EVBUS__WIRE_SINGLE_OBJECT);
}

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

int evbus_log_format(char *buf, size_t size, int flags, int level, const char *subsystem,
                     const char *message, const evbus_log_fields_t *fields) {
    evbus__buf_t b = EVBUS__BUF_INIT;
    if (evbus__log_format(&b, (flags & EVBUS_LOG_FORMAT_JSON) != 0, level, subsystem, message,
                          fields) != 0 || b.len > 0x7fffffff) {
        evbus__buf_free(&b);
        return -1;
    }
    int n = (int)b.len;
    if (buf && size) {
        size_t k = b.len < size ? b.len : size - 1;
        if (k)
            memcpy(buf, b.data, k);
        buf[k] = 0;
    }
    evbus__buf_free(&b);
    return n;
}
