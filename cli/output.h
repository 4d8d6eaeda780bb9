/*
 * Formatting one consumed event for `tail` (and any other subcommand that prints events):
 * json (one object per line), pretty (indented, optionally coloured), raw (framing + hex).
 * Each formatter appends to a buffer, so stdout gets one fwrite per event.
 */
#ifndef EVBUS_CLI_OUTPUT_H
#define EVBUS_CLI_OUTPUT_H

#include <evbus/evbus.h>

#include "util.h"

typedef enum evbus_cli_format_e {
    EVBUS_CLI_FMT_JSON,
    EVBUS_CLI_FMT_PRETTY,
    EVBUS_CLI_FMT_RAW
} evbus_cli_format_t;

/** "json" / "pretty" / "raw" -> format; -1 when unknown. */
int evbus_cli_format_parse(const char *s);

/*
 * The one sanitizer for outside text on its way to a terminal (cli/safe_text.c).  Each appends
 * to b and returns 0, or -1 when out of memory.
 */
#define EVBUS_CLI_SAFE_KEEP_BACKSLASH 1 /* flag: leave '\\' as is (error lines, not data) */

/** Does a terminal act on (or hide) this code point: C0, DEL, C1, U+2028/9, bidi controls? */
int evbus_cli_unsafe_cp(uint32_t cp);
/** s[0..len) as text: unsafe code points as \x1b / \t / \u2028, invalid UTF-8 bytes as \xHH,
 * the backslash as \\ (unless flags has EVBUS_CLI_SAFE_KEEP_BACKSLASH). */
int evbus_cli_safe_text(evbus_cli_buf_t *b, const char *s, size_t len, int flags);
/** The same for a C string; NULL is shown as "-". */
int evbus_cli_safe_cstr(evbus_cli_buf_t *b, const char *s);
/** s[0..len) as a JSON string literal, unsafe code points as \uXXXX; invalid UTF-8 becomes
 * \ufffd. */
int evbus_cli_json_string(evbus_cli_buf_t *b, const char *s, size_t len);
/** Valid JSON text (the codec's output) copied with unsafe code points as \uXXXX: the same
 * JSON value, nothing a terminal acts on. */
int evbus_cli_safe_json_text(evbus_cli_buf_t *b, const char *json, size_t len);

/* Each appends one event, newline-terminated; -1 when out of memory. */
int evbus_cli_out_json(evbus_cli_buf_t *b, const evbus_event_t *ev);
int evbus_cli_out_pretty(evbus_cli_buf_t *b, const evbus_event_t *ev, int color);
int evbus_cli_out_raw(evbus_cli_buf_t *b, const evbus_event_t *ev);

/** Why the event's data cannot be shown (decode error or header problem), or NULL.
 * Decodes the data (lazily, once) as a side effect. */
const char *evbus_cli_event_problem(const evbus_event_t *ev);

/** ce_type / ce_id of the event, from the headers even when the message is unusable. */
const char *evbus_cli_event_type(const evbus_event_t *ev);
const char *evbus_cli_event_id(const evbus_event_t *ev);

#endif
