/*
 * evbus_text_escape(): the public face of the sanitizer in safe_text.c, so that evbus-cli (built
 * on the public API only) prints through the library's one copy of it.  Shaped for tail, which
 * escapes a dozen strings per event: the caller passes room for the worst case
 * (EVBUS_TEXT_ESCAPE_MAX) and the escape is written there in one pass, with no allocation;
 * only a caller with less room pays for a temporary copy.
 */
#include <stdlib.h>
#include <string.h>

#include "evbus/evbus.h"

#include "common.h"
#include "json_scan.h"
#include "safe_text.h"

static int escape_into(evbus__buf_t *b, const char *s, size_t len, int flags) {
    switch (flags & ~EVBUS_TEXT_KEEP_BACKSLASH) {
    case EVBUS_TEXT_TERMINAL:
        return evbus__safe_text(b, s, len,
                                (flags & EVBUS_TEXT_KEEP_BACKSLASH) ? EVBUS__SAFE_KEEP_BACKSLASH
                                                                    : 0);
    case EVBUS_TEXT_JSON:
        return evbus__safe_json_string(b, s, len);
    case EVBUS_TEXT_JSON_TEXT:
        return evbus__safe_json_text(b, s, len);
    default:
        return -1;
    }
}

/* Everything but the common case, out of line so that the exported function's entry stays light
 * (no registers to save before the plain-ASCII check). */
__attribute__((noinline)) static size_t escape_general(char *dst, size_t dst_size, const char *s,
                                                      size_t len, int flags) {
    int mode = flags & ~EVBUS_TEXT_KEEP_BACKSLASH;
    if ((mode != EVBUS_TEXT_TERMINAL && mode != EVBUS_TEXT_JSON && mode != EVBUS_TEXT_JSON_TEXT) ||
        ((flags & EVBUS_TEXT_KEEP_BACKSLASH) && mode != EVBUS_TEXT_TERMINAL) ||
        (!s && len) || (!dst && dst_size) || len > (SIZE_MAX - 3) / 6)
        return EVBUS_TEXT_ERROR;
    if (!s)
        s = "";
    if (dst_size >= EVBUS_TEXT_ESCAPE_MAX(len)) {
        /* Room for the worst case: write straight into dst.  fixed: a bug that asked for more
         * would fail rather than realloc the caller's memory. */
        evbus__buf_t b = {(unsigned char *)dst, 0, dst_size, 1};
        dst[0] = 0;
        return escape_into(&b, s, len, flags) == 0 ? b.len : EVBUS_TEXT_ERROR;
    }
    evbus__buf_t b = EVBUS__BUF_INIT;
    if (escape_into(&b, s, len, flags) != 0) {
        evbus__buf_free(&b);
        return EVBUS_TEXT_ERROR;
    }
    if (dst_size) {
        size_t n = b.len < dst_size ? b.len : dst_size - 1;
        if (n)
            memcpy(dst, b.data, n);
        dst[n] = 0;
    }
    size_t out = b.len;
    evbus__buf_free(&b);
    return out;
}

size_t evbus_text_escape(char *dst, size_t dst_size, const char *s, size_t len, int flags) {
    /* tail's common case, a JSON string of plain ASCII (header names, ids, most values) into
     * ample room: one scan and one copy, before any of the general path's set-up. */
    if (flags == EVBUS_TEXT_JSON && s && dst && len <= (SIZE_MAX - 3) / 6 &&
        dst_size >= EVBUS_TEXT_ESCAPE_MAX(len) &&
        evbus__plain_ascii_len((const unsigned char *)s, len) == len) {
        dst[0] = '"';
        memcpy(dst + 1, s, len);
        dst[len + 1] = '"';
        dst[len + 2] = 0;
        return len + 2;
    }
    return escape_general(dst, dst_size, s, len, flags);
}
