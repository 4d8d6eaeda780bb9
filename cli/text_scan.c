/* UTF-8 and JSON string writing for the CLI (text_scan.h). */
#include "text_scan.h"

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 when invalid.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cpp) {
    unsigned char c = s[0];
    uint32_t cp = 0;
    size_t k;
    *cpp = 0;
    if (c < 0x80) {
        *cpp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        k = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *cpp = cp;
    return k;
}

size_t evbus_cli_utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
    *cp = 0;
    return n == 0 ? 0 : utf8_seq(s, n, cp);
}

int evbus_cli_json_write_string_body(evbus_cli_buf_t *out, const char *s, size_t n) {
    /* worst case every byte becomes \u00XX */
    if (n > (SIZE_MAX - 3) / 6 || evbus_cli_buf_reserve(out, n * 6) != 0)
        return -1;
    const unsigned char *u = (const unsigned char *)s;
    unsigned char *d = out->data + out->len;
    for (size_t i = 0; i < n;) {
        size_t k = evbus_cli_json_verbatim_len(u + i, n - i);
        if (k)
            memcpy(d, u + i, k);
        d += k;
        i += k;
        if (i < n)
            d += evbus_cli_json_escape_ascii(u[i++], d);
    }
    out->len = (size_t)(d - out->data);
    out->data[out->len] = 0;
    return 0;
}

int evbus_cli_json_write_string(evbus_cli_buf_t *out, const char *s, size_t n) {
    if (n > (SIZE_MAX - 3) / 6 || evbus_cli_buf_reserve(out, n * 6 + 2) != 0)
        return -1;
    out->data[out->len++] = '"';
    evbus_cli_json_write_string_body(out, s, n); /* room reserved above: cannot fail */
    out->data[out->len++] = '"';
    out->data[out->len] = 0;
    return 0;
}

