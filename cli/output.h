/*
 * Formatting one consumed event for `tail` (and any other subcommand that prints events):
 * json (one object per line), pretty (indented, optionally coloured), raw (framing + hex).
 * Each formatter appends to a buffer, so stdout gets one fwrite per event.
 */
#ifndef EVBUS_CLI_OUTPUT_H
#define EVBUS_CLI_OUTPUT_H

#include "common.h"
#include "event.h"
#include "safe_text.h" /* the sanitizer every piece of outside text takes */

typedef enum evbus_cli_format_e {
    EVBUS_CLI_FMT_JSON,
    EVBUS_CLI_FMT_PRETTY,
    EVBUS_CLI_FMT_RAW
} evbus_cli_format_t;

/** "json" / "pretty" / "raw" -> format; -1 when unknown. */
int evbus_cli_format_parse(const char *s);

/* Each appends one event, newline-terminated; -1 when out of memory. */
int evbus_cli_out_json(evbus__buf_t *b, const evbus_event_t *ev);
int evbus_cli_out_pretty(evbus__buf_t *b, const evbus_event_t *ev, int color);
int evbus_cli_out_raw(evbus__buf_t *b, const evbus_event_t *ev);

/** Why the event's data cannot be shown (decode error or header problem), or NULL.
 * Decodes the data (lazily, once) as a side effect. */
const char *evbus_cli_event_problem(const evbus_event_t *ev);

/** ce_type / ce_id of the event, from the headers even when the message is unusable. */
const char *evbus_cli_event_type(const evbus_event_t *ev);
const char *evbus_cli_event_id(const evbus_event_t *ev);

#endif
