/*
 * Text scanning for evbus-cli's output: UTF-8 decoding and JSON string escaping, with word-at-
 * a-time scans of plain ASCII (tail prints millions of mostly ASCII bytes; a loop over single
 * bytes was a tenth of its instructions).  The same rules as the library's JSON writer: the
 * CLI's copy, because it uses the public API only.
 */
#ifndef EVBUS_CLI_TEXT_SCAN_H
#define EVBUS_CLI_TEXT_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

/**
 * The one JSON escape of an ASCII byte c (< 0x80) into d, which has room for 6 bytes: c itself,
 * or \" \\ \n \r \t \b \f, or \u00XX for the other control characters.  Returns the bytes
 * written.  Inline: the decoder and the JSON writers call it per byte.
 */
static inline size_t evbus_cli_json_escape_ascii(unsigned char c, unsigned char *d) {
    static const char hexd[] = "0123456789abcdef";
    if (c >= 0x20 && c != '"' && c != '\\') {
        d[0] = c;
        return 1;
    }
    d[0] = '\\';
    switch (c) {
    case '"': d[1] = '"'; return 2;
    case '\\': d[1] = '\\'; return 2;
    case '\n': d[1] = 'n'; return 2;
    case '\r': d[1] = 'r'; return 2;
    case '\t': d[1] = 't'; return 2;
    case '\b': d[1] = 'b'; return 2;
    case '\f': d[1] = 'f'; return 2;
    default:
        d[1] = 'u';
        d[2] = '0';
        d[3] = '0';
        d[4] = (unsigned char)hexd[c >> 4];
        d[5] = (unsigned char)hexd[c & 15];
        return 6;
    }
}
/*
 * Scanning 8 bytes per step (the classic "has a byte less than / equal to" word tricks):
 * the bytes printed per event are mostly plain ASCII, and a loop over single bytes was a
 * tenth of tail's instructions.  Each test is exact about whether some byte of the word
 * qualifies; the byte loop after it finds which.
 */
#define EVBUS_CLI_W_ONES 0x0101010101010101ull
#define EVBUS_CLI_W_HIGH 0x8080808080808080ull
static inline uint64_t evbus_cli_w_load(const unsigned char *s) {
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}
static inline uint64_t evbus_cli_w_zero_byte(uint64_t w) {
    return (w - EVBUS_CLI_W_ONES) & ~w & EVBUS_CLI_W_HIGH;
}
/** Leading bytes of s that are 0x20..0x7E and neither '"' nor '\\' (nothing to escape). */
static inline size_t evbus_cli_plain_ascii_len(const unsigned char *s, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = evbus_cli_w_load(s + i);
        uint64_t bad = ((w - 0x20 * EVBUS_CLI_W_ONES) & ~w) | /* < 0x20 */
                       (w + EVBUS_CLI_W_ONES) | w |           /* 0x7F, >= 0x80 */
                       evbus_cli_w_zero_byte(w ^ (0x22 * EVBUS_CLI_W_ONES)) |
                       evbus_cli_w_zero_byte(w ^ (0x5C * EVBUS_CLI_W_ONES));
        if (bad & EVBUS_CLI_W_HIGH)
            break;
    }
    if (i < n && i + 8 > n && n >= 8) { /* the rest, as the last word (overlapping) */
        uint64_t w = evbus_cli_w_load(s + n - 8);
        uint64_t bad = ((w - 0x20 * EVBUS_CLI_W_ONES) & ~w) | (w + EVBUS_CLI_W_ONES) | w |
                       evbus_cli_w_zero_byte(w ^ (0x22 * EVBUS_CLI_W_ONES)) |
                       evbus_cli_w_zero_byte(w ^ (0x5C * EVBUS_CLI_W_ONES));
        if (!(bad & EVBUS_CLI_W_HIGH))
            return n;
    }
    for (; i < n; i++)
        if (s[i] < 0x20 || s[i] >= 0x7F || s[i] == '"' || s[i] == '\\')
            break;
    return i;
}
/** Leading bytes of s below 0x7F. */
static inline size_t evbus_cli_below_7f_len(const unsigned char *s, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = evbus_cli_w_load(s + i);
        if (((w + EVBUS_CLI_W_ONES) | w) & EVBUS_CLI_W_HIGH)
            break;
    }
    while (i < n && s[i] < 0x7F)
        i++;
    return i;
}
/** Leading bytes of s that JSON keeps as they are (>= 0x20, neither '"' nor '\\'). */
static inline size_t evbus_cli_json_verbatim_len(const unsigned char *s, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = evbus_cli_w_load(s + i);
        /* a byte < 0x20 with its high bit clear; bytes >= 0x80 are fine */
        uint64_t bad = ((w - 0x20 * EVBUS_CLI_W_ONES) & ~w) |
                       evbus_cli_w_zero_byte(w ^ (0x22 * EVBUS_CLI_W_ONES)) |
                       evbus_cli_w_zero_byte(w ^ (0x5C * EVBUS_CLI_W_ONES));
        if (bad & EVBUS_CLI_W_HIGH)
            break;
    }
    while (i < n && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}
/** s (n bytes) as a JSON string with its quotes: '"', '\\' and control characters escaped,
 *  other bytes as they are.  0 or -1 (out of memory). */
int evbus_cli_json_write_string(evbus_cli_buf_t *out, const char *s, size_t n);
/** The same without the quotes. 0 or -1 (out of memory). */
int evbus_cli_json_write_string_body(evbus_cli_buf_t *out, const char *s, size_t n);
/** Bytes of the valid UTF-8 character at s (1 for ASCII) with its code point in *cp, or 0
 *  (and *cp 0) if it is not one: overlong forms, surrogates and code points above U+10FFFF
 *  are not. */
size_t evbus_cli_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

#endif
