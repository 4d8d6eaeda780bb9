/*
 * A strict (RFC 8259) JSON scanner over a text span: no DOM, no allocation.
 *
 * The codec and the key-path lookup both walk JSON text with it, so there is one
 * notion of "valid JSON" in evbus.  Callers drive it token by token: peek at the
 * next value's type, then consume that value (string, number, literal, or the
 * punctuation of an object/array), or skip it whole.  Strings are validated as they
 * are scanned (escapes, \uXXXX surrogate pairs, UTF-8, no raw control characters),
 * so unescaping later cannot fail.
 *
 * On error a function returns -1 and records a static message and the byte offset
 * in the scanner (err, errpos); the first error wins.
 */
#ifndef EVBUS_CORE_JSON_SCAN_H
#define EVBUS_CORE_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum evbus__json_type_e {
    EVBUS__JSON_INVALID = 0, /* end of input or a character no value starts with */
    EVBUS__JSON_NULL,
    EVBUS__JSON_FALSE,
    EVBUS__JSON_TRUE,
    EVBUS__JSON_NUMBER,
    EVBUS__JSON_STRING,
    EVBUS__JSON_OBJECT,
    EVBUS__JSON_ARRAY
} evbus__json_type_t;

/* Nesting deeper than this is rejected (bounds recursion in every walker). */
#define EVBUS__JSON_MAX_DEPTH 128

typedef struct evbus__json_s {
    const char *s;
    size_t len;
    size_t pos;
    const char *err;   /* static text of the first error, NULL when none */
    size_t errpos;     /* byte offset of that error */
} evbus__json_t;

/* A scanned string: the text between the quotes, still escaped. */
typedef struct evbus__json_str_s {
    const char *raw;
    size_t rawlen;
    size_t ulen;   /* length of the unescaped UTF-8 */
    int escaped;   /* raw contains backslash escapes (else raw is the UTF-8 text) */
} evbus__json_str_t;

/* A scanned number: its text, and whether it has neither fraction nor exponent. */
typedef struct evbus__json_num_s {
    const char *text;
    size_t len;
    int integer;
} evbus__json_num_t;

static inline void evbus__json_init(evbus__json_t *j, const char *s, size_t len) {
    j->s = s;
    j->len = len;
    j->pos = 0;
    j->err = NULL;
    j->errpos = 0;
}

/** Record an error (first one wins); returns -1. */
int evbus__json_error(evbus__json_t *j, const char *msg);

static inline void evbus__json_ws(evbus__json_t *j) {
    while (j->pos < j->len) {
        char c = j->s[j->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            break;
        j->pos++;
    }
}

/** Skip whitespace and classify the next value by its first character (consumes nothing). */
evbus__json_type_t evbus__json_peek(evbus__json_t *j);
/** Name of a type for messages: "null", "boolean", "number", "string", "object", "array". */
const char *evbus__json_type_name(evbus__json_type_t t);

/** Consume a string value (after peek said STRING). 0 or -1. */
int evbus__json_string(evbus__json_t *j, evbus__json_str_t *out);
/** Consume a number value. 0 or -1. */
int evbus__json_number(evbus__json_t *j, evbus__json_num_t *out);
/** Consume the literal null/true/false that peek announced. 0 or -1. */
int evbus__json_literal(evbus__json_t *j, evbus__json_type_t t);
/** Consume any value, validating it; depth is the current nesting. 0 or -1. */
int evbus__json_skip(evbus__json_t *j, int depth);

/** Consume '{' or '['. 0 or -1. */
int evbus__json_open(evbus__json_t *j, char c);
/**
 * Object member iteration after evbus__json_open(j, '{'): *first starts at 1.
 * Returns 1 with the key scanned and ':' consumed (the value is next),
 * 0 when '}' was consumed, -1 on error.
 */
int evbus__json_obj_next(evbus__json_t *j, int *first, evbus__json_str_t *key);
/** Array iteration after evbus__json_open(j, '['): 1 a value is next, 0 ']' consumed, -1 error. */
int evbus__json_arr_next(evbus__json_t *j, int *first);
/** After the top-level value: only whitespace may remain. 0 or -1. */
int evbus__json_end(evbus__json_t *j);

/** Unescape a scanned string into dst (room for str->ulen bytes). Returns bytes written. */
size_t evbus__json_unescape(const evbus__json_str_t *str, char *dst);
/**
 * Next code point of a scanned string, starting at *i in str->raw.
 * Returns 1 with *cp set, 0 at the end.
 */
int evbus__json_next_cp(const evbus__json_str_t *str, size_t *i, uint32_t *cp);
/** Does the scanned string equal the n bytes of s? */
int evbus__json_str_eq(const evbus__json_str_t *str, const char *s, size_t n);

/** Append s (n bytes of UTF-8) as a quoted JSON string; escapes quote, backslash, controls. */
struct evbus__buf_s;
int evbus__json_write_string(struct evbus__buf_s *out, const char *s, size_t n);

/**
 * The one JSON escape of an ASCII byte c (< 0x80) into d, which has room for 6 bytes: c itself,
 * or \" \\ \n \r \t \b \f, or \u00XX for the other control characters.  Returns the bytes
 * written.  Inline: the decoder and the JSON writers call it per byte.
 */
static inline size_t evbus__json_escape_ascii(unsigned char c, unsigned char *d) {
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
#define EVBUS__W_ONES 0x0101010101010101ull
#define EVBUS__W_HIGH 0x8080808080808080ull
static inline uint64_t evbus__w_load(const unsigned char *s) {
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}
static inline uint64_t evbus__w_zero_byte(uint64_t w) {
    return (w - EVBUS__W_ONES) & ~w & EVBUS__W_HIGH;
}
/** Leading bytes of s that are 0x20..0x7E and neither '"' nor '\\' (nothing to escape). */
static inline size_t evbus__plain_ascii_len(const unsigned char *s, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = evbus__w_load(s + i);
        uint64_t bad = ((w - 0x20 * EVBUS__W_ONES) & ~w) | /* < 0x20 */
                       (w + EVBUS__W_ONES) | w |           /* 0x7F, >= 0x80 */
                       evbus__w_zero_byte(w ^ (0x22 * EVBUS__W_ONES)) |
                       evbus__w_zero_byte(w ^ (0x5C * EVBUS__W_ONES));
        if (bad & EVBUS__W_HIGH)
            break;
    }
    if (i < n && i + 8 > n && n >= 8) { /* the rest, as the last word (overlapping) */
        uint64_t w = evbus__w_load(s + n - 8);
        uint64_t bad = ((w - 0x20 * EVBUS__W_ONES) & ~w) | (w + EVBUS__W_ONES) | w |
                       evbus__w_zero_byte(w ^ (0x22 * EVBUS__W_ONES)) |
                       evbus__w_zero_byte(w ^ (0x5C * EVBUS__W_ONES));
        if (!(bad & EVBUS__W_HIGH))
            return n;
    }
    for (; i < n; i++)
        if (s[i] < 0x20 || s[i] >= 0x7F || s[i] == '"' || s[i] == '\\')
            break;
    return i;
}
/** Leading bytes of s below 0x7F. */
static inline size_t evbus__below_7f_len(const unsigned char *s, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = evbus__w_load(s + i);
        if (((w + EVBUS__W_ONES) | w) & EVBUS__W_HIGH)
            break;
    }
    while (i < n && s[i] < 0x7F)
        i++;
    return i;
}
/** Leading bytes of s that JSON keeps as they are (>= 0x20, neither '"' nor '\\'). */
static inline size_t evbus__json_verbatim_len(const unsigned char *s, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = evbus__w_load(s + i);
        /* a byte < 0x20 with its high bit clear; bytes >= 0x80 are fine */
        uint64_t bad = ((w - 0x20 * EVBUS__W_ONES) & ~w) |
                       evbus__w_zero_byte(w ^ (0x22 * EVBUS__W_ONES)) |
                       evbus__w_zero_byte(w ^ (0x5C * EVBUS__W_ONES));
        if (bad & EVBUS__W_HIGH)
            break;
    }
    while (i < n && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}
/** The same without the quotes: s escaped as the inside of a JSON string. 0 or -1 (OOM). */
int evbus__json_write_string_body(struct evbus__buf_s *out, const char *s, size_t n);
/** Length of the valid UTF-8 prefix of s (== n when all of s is valid UTF-8). */
size_t evbus__utf8_valid_prefix(const unsigned char *s, size_t n);
/**
 * evbus__json_write_string() of s when s is valid UTF-8, checked in the same pass: 0; 1 when
 * it is not (*badp: the offset of the first invalid byte; out unchanged); -1 out of memory.
 */
int evbus__json_write_utf8_string(struct evbus__buf_s *out, const unsigned char *s, size_t n,
                                  size_t *badp);
/** Bytes of the valid UTF-8 character at s (1 for ASCII) with its code point in *cp, or 0
 * (and *cp 0) if it is not one. */
size_t evbus__utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/** Bytes of the valid UTF-8 character at s (1 for ASCII), or 0 if it is not one. */
size_t evbus__utf8_char_len(const unsigned char *s, size_t n);

#endif
