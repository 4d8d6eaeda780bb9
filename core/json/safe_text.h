/*
 * The library's sanitizer for text that came from outside (ce_type, ce_id, topics, errors) in
 * its log lines: what a terminal or a log viewer would act on or hide is escaped, by the rules
 * tail uses (cli/safe_text.c).
 */
#ifndef EVBUS_CORE_SAFE_TEXT_H
#define EVBUS_CORE_SAFE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* Each appends to b and returns 0, or -1 when out of memory. */
#define EVBUS__SAFE_KEEP_BACKSLASH 1 /* flag: leave '\\' as is (error and log lines, not data) */

/** Does a terminal act on (or hide) this code point: C0, DEL, C1, U+2028/9, bidi controls? */
int evbus__unsafe_cp(uint32_t cp);
/** s[0..len) as text: unsafe code points as \x1b / \t / \u2028, invalid UTF-8 bytes as \xHH,
 * the backslash as \\ (unless flags has EVBUS__SAFE_KEEP_BACKSLASH). */
int evbus__safe_text(evbus__buf_t *b, const char *s, size_t len, int flags);
/** s[0..len) as a JSON string literal, unsafe code points as \uXXXX; invalid UTF-8 becomes
 * \ufffd. */
int evbus__safe_json_string(evbus__buf_t *b, const char *s, size_t len);

#endif
