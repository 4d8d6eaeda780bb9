/*
 * The library's sanitizer for text that came from outside (ce_type, ce_id, topics, errors) on
 * its way into a log line: the default stderr sink and the JSON-lines format (core/obs/log.c).
 * The rules are tail's (cli/safe_text.c, which keeps its own copy: evbus-cli is built on the
 * public API only).  Such text reaches terminals and log viewers, and a terminal acts on
 * control characters: ESC starts sequences that clear the screen, set the
 * title or remap keys; C1 controls (U+0080..U+009F) do the same on some terminals; U+2028/2029
 * and the bidi controls reorder or split what the reader sees.  Everything that is not a
 * printable character is therefore shown as an escape, the way less and git do:
 *   - text mode:  \x1b, \t, \n, \r, \x7f, invalid UTF-8 bytes as \xHH, the code points above as
 *                 \u0085 / \u2028 / \u202e, and (unless told otherwise) the backslash as \\ so
 *                 that a literal "\x1b" in the input stays distinguishable;
 *   - JSON mode:  the same code points as \uXXXX inside a valid JSON string (invalid UTF-8
 *                 becomes \ufffd: JSON cannot carry raw bytes).
 * UTF-8 validity is the core's (json_scan.c); the JSON escaping of valid, harmless text is the
 * core's writer.  Only the choice of what a terminal must not see lives here.
 */
#include <string.h>

#include "json_scan.h"
#include "safe_text.h"

int evbus__unsafe_cp(uint32_t cp) {
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || /* C0, DEL, C1 */
           cp == 0x061C ||                                           /* Arabic letter mark */
           cp == 0x200E || cp == 0x200F ||                           /* LRM, RLM */
           (cp >= 0x2028 && cp <= 0x202E) ||                         /* separators, embeddings */
           (cp >= 0x2066 && cp <= 0x2069) ||                         /* bidi isolates */
           cp == 0xFEFF;                                             /* BOM / ZWNBSP */
}

/* Is the byte a printable ASCII character that no mode needs to escape? */
static inline int plain_ascii(unsigned char c) {
    return c >= 0x20 && c < 0x7F && c != '\\' && c != '"';
}

static int put_text_escape(evbus__buf_t *b, uint32_t cp) {
    switch (cp) {
    case '\t': return evbus__buf_puts(b, "\\t");
    case '\n': return evbus__buf_puts(b, "\\n");
    case '\r': return evbus__buf_puts(b, "\\r");
    default:
        return cp < 0x80 ? evbus__buf_printf(b, "\\x%02x", (unsigned)cp)
                         : evbus__buf_printf(b, "\\u%04x", (unsigned)cp);
    }
}

int evbus__safe_text(evbus__buf_t *b, const char *str, size_t len, int flags) {
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0; /* bytes to copy verbatim, flushed in one append */
    int r = 0;
    for (size_t i = 0; i < len && r == 0;) {
        unsigned char c = s[i];
        if (plain_ascii(c) || c == '"') {
            i++;
            run++;
            continue;
        }
        uint32_t cp = '\\';
        size_t k = c == '\\' ? 1 : evbus__utf8_next(s + i, len - i, &cp);
        if (k && cp != '\\' && !evbus__unsafe_cp(cp)) {
            i += k;
            run += k;
            continue;
        }
        if (cp == '\\' && (flags & EVBUS__SAFE_KEEP_BACKSLASH)) {
            i++;
            run++;
            continue;
        }
        r |= evbus__buf_append(b, s + i - run, run);
        run = 0;
        if (!k) {
            r |= evbus__buf_printf(b, "\\x%02x", c); /* not UTF-8: the byte itself */
            i++;
        } else if (cp == '\\') {
            r |= evbus__buf_puts(b, "\\\\");
            i++;
        } else {
            r |= put_text_escape(b, cp);
            i += k;
        }
    }
    r |= evbus__buf_append(b, s + len - run, run);
    return r ? -1 : 0;
}

/* Does valid or invalid UTF-8 text hold anything beyond what the core's JSON writer makes safe
 * (i.e. a byte >= 0x7F that is invalid UTF-8 or an unsafe code point)? */
static int needs_more_than_core(const unsigned char *s, size_t len) {
    for (size_t i = evbus__below_7f_len(s, len); i < len; i += evbus__below_7f_len(s + i, len - i)) {
        uint32_t cp;
        size_t k = evbus__utf8_next(s + i, len - i, &cp);
        if (!k || evbus__unsafe_cp(cp))
            return 1;
        i += k;
    }
    return 0;
}

int evbus__safe_json_string(evbus__buf_t *b, const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    /* Plain ASCII with nothing to escape (header names, most values): one copy. */
    size_t plain = evbus__plain_ascii_len(s, len);
    if (plain == len) {
        if (evbus__buf_reserve(b, len + 2) != 0)
            return -1;
        b->data[b->len++] = '"';
        memcpy(b->data + b->len, str, len);
        b->len += len;
        b->data[b->len++] = '"';
        b->data[b->len] = 0;
        return 0;
    }
    if (!needs_more_than_core(s + plain, len - plain))
        return evbus__json_write_string(b, str, len);
    /* Runs below 0x7F (and harmless UTF-8) take the core's escapes; only what the core leaves
     * raw for a terminal to act on is escaped here. */
    int r = evbus__buf_putc(b, '"');
    size_t start = 0;
    for (size_t i = plain; i < len && r == 0;) {
        if (s[i] < 0x7F) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = evbus__utf8_next(s + i, len - i, &cp);
        if (!k)
            cp = 0xFFFD; /* not UTF-8: U+FFFD */
        if (k && !evbus__unsafe_cp(cp)) {
            i += k;
            continue;
        }
        r |= evbus__json_write_string_body(b, str + start, i - start);
        r |= evbus__buf_printf(b, "\\u%04x", (unsigned)cp);
        i += k ? k : 1;
        start = i;
    }
    r |= evbus__json_write_string_body(b, str + start, len - start);
    r |= evbus__buf_putc(b, '"');
    return r ? -1 : 0;
}
