/* The public log-line formatter (evbus_log_format, evbus.h): the library's own lines. */
#include <string.h>

#include "log.h"

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
