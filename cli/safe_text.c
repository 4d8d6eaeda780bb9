/*
 * The CLI's sanitizer for text that came from outside (message keys, header names and values,
 * ce_type, ce_id, topics, decode errors, error lines) on its way to a terminal: the library's
 * evbus_text_escape(), written straight into the output buffer.  One call per string: room for
 * the worst case is reserved first, so the library writes in one pass and allocates nothing.
 */
#include <string.h>

#include "output.h"

static int escape(evbus_cli_buf_t *b, const char *s, size_t len, int flags) {
    if (len > (SIZE_MAX - 3) / 6 || evbus_cli_buf_reserve(b, EVBUS_TEXT_ESCAPE_MAX(len)) != 0)
        return -1;
    size_t n = evbus_text_escape((char *)b->data + b->len, b->cap - b->len, s, len, flags);
    if (n == EVBUS_TEXT_ERROR)
        return -1;
    b->len += n;
    return 0;
}

int evbus_cli_safe_text(evbus_cli_buf_t *b, const char *s, size_t len, int flags) {
    return escape(b, s, len,
                  EVBUS_TEXT_TERMINAL |
                      ((flags & EVBUS_CLI_SAFE_KEEP_BACKSLASH) ? EVBUS_TEXT_KEEP_BACKSLASH : 0));
}

int evbus_cli_safe_cstr(evbus_cli_buf_t *b, const char *s) {
    return s ? evbus_cli_safe_text(b, s, strlen(s), 0) : evbus_cli_buf_putc(b, '-');
}

int evbus_cli_json_string(evbus_cli_buf_t *b, const char *s, size_t len) {
    return escape(b, s, len, EVBUS_TEXT_JSON);
}

int evbus_cli_safe_json_text(evbus_cli_buf_t *b, const char *json, size_t len) {
    return escape(b, json, len, EVBUS_TEXT_JSON_TEXT);
}
