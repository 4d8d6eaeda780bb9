/*
 * `--format pretty`: a header line per event, then the data indented.  The data is
 * re-indented from its JSON text (not re-parsed), so numbers print exactly as decoded.
 * Every byte that came from the message goes through cli/safe_text.c: the only escape
 * sequences written are the colours below.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "output.h"

#define C_RESET "\033[0m"
#define C_HEAD "\033[1;36m" /* bold cyan */
#define C_LABEL "\033[2m"   /* dim */
#define C_KEY "\033[34m"    /* blue: object keys */
#define C_STR "\033[32m"    /* green: string values */
#define C_ERR "\033[1;31m"  /* bold red */

static int color_on(evbus_cli_buf_t *b, int color, const char *c) {
    return color ? evbus_cli_buf_puts(b, c) : 0;
}

static int indent(evbus_cli_buf_t *b, int depth) {
    int r = evbus_cli_buf_putc(b, '\n');
    for (int i = 0; i < depth + 1; i++)
        r |= evbus_cli_buf_puts(b, "  ");
    return r;
}

/* Re-indent compact JSON text (as the codec writes it) by two spaces per level. */
static int pretty_json(evbus_cli_buf_t *b, const char *j, size_t len, int color) {
    int r = 0, depth = 0;
    int in_obj[128] = {0}; /* per level: object (1) or array (0) */
    int expect_key = 0;
    r |= evbus_cli_buf_puts(b, "  ");
    for (size_t i = 0; i < len && r == 0; i++) {
        char c = j[i];
        if (c == '"') {
            size_t k = i + 1;
            while (k < len && j[k] != '"')
                k += j[k] == '\\' ? 2 : 1;
            if (k >= len)
                k = len - 1;
            r |= color_on(b, color, expect_key ? C_KEY : C_STR);
            r |= evbus_cli_safe_json_text(b, j + i, k - i + 1);
            r |= color_on(b, color, C_RESET);
            i = k;
            continue;
        }
        switch (c) {
        case '{':
        case '[':
            if (i + 1 < len && (j[i + 1] == '}' || j[i + 1] == ']')) {
                r |= evbus_cli_buf_putc(b, c);
                r |= evbus_cli_buf_putc(b, j[++i]);
                expect_key = 0;
                break;
            }
            r |= evbus_cli_buf_putc(b, c);
            depth++;
            if (depth < 128)
                in_obj[depth] = c == '{';
            expect_key = c == '{';
            r |= indent(b, depth);
            break;
        case '}':
        case ']':
            depth = depth > 0 ? depth - 1 : 0;
            r |= indent(b, depth);
            r |= evbus_cli_buf_putc(b, c);
            expect_key = 0;
            break;
        case ',':
            r |= evbus_cli_buf_putc(b, ',');
            r |= indent(b, depth);
            expect_key = depth < 128 && depth > 0 && in_obj[depth];
            break;
        case ':':
            r |= evbus_cli_buf_puts(b, ": ");
            expect_key = 0;
            break;
        case ' ':
        case '\n':
        case '\t':
        case '\r':
            break;
        default:
            r |= evbus_cli_buf_putc(b, c);
        }
    }
    return r;
}

static int put_time(evbus_cli_buf_t *b, int64_t ms) {
    if (ms < 0)
        return evbus_cli_buf_puts(b, "-");
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    char t[32];
    if (!gmtime_r(&s, &tm) || !strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm))
        return evbus_cli_buf_printf(b, "%" PRId64, ms);
    return evbus_cli_buf_printf(b, "%s.%03dZ", t, (int)(ms % 1000));
}

/* Every value shown here comes from the message: through the sanitizer. */
static int label(evbus_cli_buf_t *b, int color, const char *name, const char *value) {
    int r = evbus_cli_buf_puts(b, "  ");
    r |= color_on(b, color, C_LABEL);
    r |= evbus_cli_buf_printf(b, "%-8s", name);
    r |= color_on(b, color, C_RESET);
    r |= evbus_cli_safe_cstr(b, value);
    r |= evbus_cli_buf_putc(b, '\n');
    return r;
}

int evbus_cli_out_pretty(evbus_cli_buf_t *b, const evbus_event_t *ev, int color) {
    size_t dlen = 0;
    const char *data = evbus_event_json(ev, &dlen);
    const char *problem = evbus_cli_event_problem(ev);
    int r = color_on(b, color, C_HEAD);
    r |= evbus_cli_safe_cstr(b, evbus_event_topic(ev));
    r |= evbus_cli_buf_printf(b, " [%" PRId32 "] @%" PRId64 "  ", evbus_event_partition(ev),
                           evbus_event_offset(ev));
    r |= put_time(b, evbus_event_timestamp(ev));
    r |= color_on(b, color, C_RESET);
    r |= evbus_cli_buf_putc(b, '\n');
    r |= label(b, color, "type", evbus_cli_event_type(ev));
    r |= label(b, color, "id", evbus_cli_event_id(ev));
    size_t klen = 0;
    const void *kraw = evbus_event_key_raw(ev, &klen);
    if (evbus_event_key(ev) || !kraw || klen == 0) {
        r |= label(b, color, "key", evbus_event_key(ev));
    } else {
        /* Key bytes that are neither Avro nor text: shown escaped, not hidden behind "-". */
        r |= evbus_cli_buf_puts(b, "  ");
        r |= color_on(b, color, C_LABEL);
        r |= evbus_cli_buf_printf(b, "%-8s", "key");
        r |= color_on(b, color, C_RESET);
        r |= evbus_cli_safe_text(b, kraw, klen, 0);
        r |= evbus_cli_buf_putc(b, '\n');
    }
    for (size_t i = 0, nh = evbus_event_header_count(ev); i < nh; i++) {
        const char *n, *v;
        size_t vl;
        evbus_event_header_at(ev, i, &n, &v, &vl);
        if (!strcmp(n, "ce_type") || !strcmp(n, "ce_id"))
            continue;
        r |= evbus_cli_buf_puts(b, "  ");
        r |= color_on(b, color, C_LABEL);
        r |= evbus_cli_safe_cstr(b, n);
        r |= evbus_cli_buf_putc(b, '=');
        r |= color_on(b, color, C_RESET);
        r |= v ? evbus_cli_safe_text(b, v, vl, 0) : evbus_cli_buf_puts(b, "null");
        r |= evbus_cli_buf_putc(b, '\n');
    }
    if (data) {
        r |= pretty_json(b, data, dlen, color);
        r |= evbus_cli_buf_putc(b, '\n');
    }
    if (problem) {
        r |= evbus_cli_buf_puts(b, "  ");
        r |= color_on(b, color, C_ERR);
        r |= evbus_cli_buf_puts(b, "error: ");
        r |= evbus_cli_safe_cstr(b, problem);
        r |= color_on(b, color, C_RESET);
        r |= evbus_cli_buf_putc(b, '\n');
    }
    r |= evbus_cli_buf_putc(b, '\n');
    return r ? -1 : 0;
}
