#include "json_scan.h"

#include <string.h>

#include "common.h"

int evbus__json_error(evbus__json_t *j, const char *msg) {
    if (!j->err) {
        j->err = msg;
        j->errpos = j->pos;
    }
    return -1;
}

const char *evbus__json_type_name(evbus__json_type_t t) {
    switch (t) {
    case EVBUS__JSON_NULL: return "null";
    case EVBUS__JSON_FALSE:
    case EVBUS__JSON_TRUE: return "boolean";
    case EVBUS__JSON_NUMBER: return "number";
    case EVBUS__JSON_STRING: return "string";
    case EVBUS__JSON_OBJECT: return "object";
    case EVBUS__JSON_ARRAY: return "array";
    default: return "invalid JSON";
    }
}

evbus__json_type_t evbus__json_peek(evbus__json_t *j) {
    evbus__json_ws(j);
    if (j->pos >= j->len) {
        evbus__json_error(j, "unexpected end of input");
        return EVBUS__JSON_INVALID;
    }
    switch (j->s[j->pos]) {
    case '"': return EVBUS__JSON_STRING;
    case '{': return EVBUS__JSON_OBJECT;
    case '[': return EVBUS__JSON_ARRAY;
    case 'n': return EVBUS__JSON_NULL;
    case 't': return EVBUS__JSON_TRUE;
    case 'f': return EVBUS__JSON_FALSE;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return EVBUS__JSON_NUMBER;
    default:
        evbus__json_error(j, "unexpected character");
        return EVBUS__JSON_INVALID;
    }
}

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

size_t evbus__utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
    *cp = 0;
    return n == 0 ? 0 : utf8_seq(s, n, cp);
}

size_t evbus__utf8_char_len(const unsigned char *s, size_t n) {
    uint32_t cp;
    if (n == 0)
        return 0;
    return s[0] < 0x80 ? 1 : utf8_seq(s, n, &cp);
}

size_t evbus__utf8_valid_prefix(const unsigned char *s, size_t n) {
    size_t i = 0;
    uint32_t cp = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            /* ASCII, the usual text, 8 bytes per step */
            for (i++; i + 8 <= n && !(evbus__w_load(s + i) & EVBUS__W_HIGH); i += 8)
                ;
            while (i < n && s[i] < 0x80)
                i++;
            continue;
        }
        size_t k = utf8_seq(s + i, n - i, &cp);
        if (!k)
            return i;
        i += k;
    }
    return n;
}

static int hex4(const char *s, uint32_t *v) {
    uint32_t r = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        r <<= 4;
        if (c >= '0' && c <= '9')
            r |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            r |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            r |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *v = r;
    return 0;
}

static size_t utf8_len(uint32_t cp) {
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Decode the escape at raw[*i] == '\\' of an already validated string. */
static uint32_t escape_cp(const char *raw, size_t *i) {
    char c = raw[*i + 1];
    uint32_t cp = 0, lo = 0xDC00;
    *i += 2;
    switch (c) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u':
        hex4(raw + *i, &cp);
        *i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            hex4(raw + *i + 2, &lo);
            *i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        return cp;
    default: return (unsigned char)c; /* " \ / */
    }
}

int evbus__json_string(evbus__json_t *j, evbus__json_str_t *out) {
    const unsigned char *s = (const unsigned char *)j->s;
    size_t n = j->len, i = j->pos + 1, ulen = 0;
    int escaped = 0;
    if (j->pos >= n || s[j->pos] != '"')
        return evbus__json_error(j, "expected string");
    for (;;) {
        size_t start = i;
        /* the common run of plain ASCII */
        while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
            i++;
        ulen += i - start;
        if (i >= n) {
            j->pos = i;
            return evbus__json_error(j, "unterminated string");
        }
        unsigned char c = s[i];
        if (c == '"')
            break;
        if (c < 0x20) {
            j->pos = i;
            return evbus__json_error(j, "control character in string");
        }
        if (c >= 0x80) {
            uint32_t cp = 0;
            size_t k = utf8_seq(s + i, n - i, &cp);
            if (!k) {
                j->pos = i;
                return evbus__json_error(j, "invalid UTF-8 in string");
            }
            i += k;
            ulen += k;
            continue;
        }
        /* backslash */
        escaped = 1;
        if (i + 1 >= n) {
            j->pos = i;
            return evbus__json_error(j, "unterminated string");
        }
        switch (s[i + 1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            i += 2;
            ulen++;
            break;
        case 'u': {
            uint32_t cp, lo;
            if (i + 6 > n || hex4((const char *)s + i + 2, &cp) != 0) {
                j->pos = i;
                return evbus__json_error(j, "bad \\u escape");
            }
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                j->pos = i;
                return evbus__json_error(j, "lone low surrogate in \\u escape");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (i + 12 > n || s[i + 6] != '\\' || s[i + 7] != 'u' ||
                    hex4((const char *)s + i + 8, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    j->pos = i;
                    return evbus__json_error(j, "high surrogate without low surrogate");
                }
                i += 12;
                ulen += 4;
            } else {
                i += 6;
                ulen += utf8_len(cp);
            }
            break;
        }
        default:
            j->pos = i;
            return evbus__json_error(j, "bad escape in string");
        }
    }
    out->raw = j->s + j->pos + 1;
    out->rawlen = i - j->pos - 1;
    out->ulen = ulen;
    out->escaped = escaped;
    j->pos = i + 1;
    return 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

int evbus__json_number(evbus__json_t *j, evbus__json_num_t *out) {
    const char *s = j->s;
    size_t n = j->len, i = j->pos;
    int integer = 1;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n || !is_digit(s[i])) {
        j->pos = i;
        return evbus__json_error(j, "bad number");
    }
    if (s[i] == '0') {
        i++;
    } else {
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && s[i] == '.') {
        integer = 0;
        i++;
        if (i >= n || !is_digit(s[i])) {
            j->pos = i;
            return evbus__json_error(j, "bad number: digit expected after '.'");
        }
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integer = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i])) {
            j->pos = i;
            return evbus__json_error(j, "bad number: digit expected in exponent");
        }
        while (i < n && is_digit(s[i]))
            i++;
    }
    out->text = s + j->pos;
    out->len = i - j->pos;
    out->integer = integer;
    j->pos = i;
    return 0;
}

int evbus__json_literal(evbus__json_t *j, evbus__json_type_t t) {
    const char *lit = t == EVBUS__JSON_NULL ? "null" : t == EVBUS__JSON_TRUE ? "true" : "false";
    size_t n = strlen(lit);
    if (j->len - j->pos < n || memcmp(j->s + j->pos, lit, n) != 0)
        return evbus__json_error(j, "invalid literal");
    j->pos += n;
    return 0;
}

int evbus__json_open(evbus__json_t *j, char c) {
    evbus__json_ws(j);
    if (j->pos >= j->len || j->s[j->pos] != c)
        return evbus__json_error(j, c == '{' ? "expected '{'" : "expected '['");
    j->pos++;
    return 0;
}

int evbus__json_obj_next(evbus__json_t *j, int *first, evbus__json_str_t *key) {
    evbus__json_ws(j);
    if (j->pos >= j->len)
        return evbus__json_error(j, "unterminated object");
    if (*first) {
        *first = 0;
        if (j->s[j->pos] == '}') {
            j->pos++;
            return 0;
        }
    } else {
        if (j->s[j->pos] == '}') {
            j->pos++;
            return 0;
        }
        if (j->s[j->pos] != ',')
            return evbus__json_error(j, "expected ',' or '}'");
        j->pos++;
        evbus__json_ws(j);
    }
    if (j->pos >= j->len || j->s[j->pos] != '"')
        return evbus__json_error(j, "expected object key string");
    if (evbus__json_string(j, key) != 0)
        return -1;
    evbus__json_ws(j);
    if (j->pos >= j->len || j->s[j->pos] != ':')
        return evbus__json_error(j, "expected ':'");
    j->pos++;
    return 1;
}

int evbus__json_arr_next(evbus__json_t *j, int *first) {
    evbus__json_ws(j);
    if (j->pos >= j->len)
        return evbus__json_error(j, "unterminated array");
    if (j->s[j->pos] == ']') { /* "[1,]" is rejected below: after ',' a value must follow */
        j->pos++;
        return 0;
    }
    if (*first) {
        *first = 0;
        return 1;
    }
    if (j->s[j->pos] != ',')
        return evbus__json_error(j, "expected ',' or ']'");
    j->pos++;
    evbus__json_ws(j);
    if (j->pos < j->len && j->s[j->pos] == ']')
        return evbus__json_error(j, "value expected after ','");
    return 1;
}

int evbus__json_skip(evbus__json_t *j, int depth) {
    evbus__json_type_t t = evbus__json_peek(j);
    int first = 1, r;
    evbus__json_str_t str;
    evbus__json_num_t num;
    switch (t) {
    case EVBUS__JSON_STRING: return evbus__json_string(j, &str);
    case EVBUS__JSON_NUMBER: return evbus__json_number(j, &num);
    case EVBUS__JSON_NULL:
    case EVBUS__JSON_TRUE:
    case EVBUS__JSON_FALSE: return evbus__json_literal(j, t);
    case EVBUS__JSON_OBJECT:
        if (depth >= EVBUS__JSON_MAX_DEPTH)
            return evbus__json_error(j, "nesting too deep");
        j->pos++;
        while ((r = evbus__json_obj_next(j, &first, &str)) == 1)
            if (evbus__json_skip(j, depth + 1) != 0)
                return -1;
        return r;
    case EVBUS__JSON_ARRAY:
        if (depth >= EVBUS__JSON_MAX_DEPTH)
            return evbus__json_error(j, "nesting too deep");
        j->pos++;
        while ((r = evbus__json_arr_next(j, &first)) == 1)
            if (evbus__json_skip(j, depth + 1) != 0)
                return -1;
        return r;
    default: return -1;
    }
}

int evbus__json_end(evbus__json_t *j) {
    evbus__json_ws(j);
    if (j->pos != j->len)
        return evbus__json_error(j, "trailing characters after the value");
    return 0;
}

int evbus__json_next_cp(const evbus__json_str_t *str, size_t *i, uint32_t *cp) {
    const char *raw = str->raw;
    if (*i >= str->rawlen)
        return 0;
    unsigned char c = (unsigned char)raw[*i];
    if (c == '\\') {
        *cp = escape_cp(raw, i);
    } else if (c < 0x80) {
        *cp = c;
        (*i)++;
    } else {
        *i += utf8_seq((const unsigned char *)raw + *i, str->rawlen - *i, cp);
    }
    return 1;
}

static size_t put_utf8(char *d, uint32_t cp) {
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    } else if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    } else if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t evbus__json_unescape(const evbus__json_str_t *str, char *dst) {
    if (!str->escaped) {
        memcpy(dst, str->raw, str->rawlen);
        return str->rawlen;
    }
    size_t i = 0, o = 0;
    while (i < str->rawlen) {
        const char *bs = memchr(str->raw + i, '\\', str->rawlen - i);
        size_t run = bs ? (size_t)(bs - (str->raw + i)) : str->rawlen - i;
        memcpy(dst + o, str->raw + i, run);
        o += run;
        i += run;
        if (!bs)
            break;
        o += put_utf8(dst + o, escape_cp(str->raw, &i));
    }
    return o;
}

int evbus__json_str_eq(const evbus__json_str_t *str, const char *s, size_t n) {
    if (!str->escaped)
        return str->rawlen == n && memcmp(str->raw, s, n) == 0;
    if (str->ulen != n)
        return 0;
    size_t i = 0, o = 0;
    uint32_t cp = 0;
    char tmp[4];
    while (evbus__json_next_cp(str, &i, &cp)) {
        size_t k = put_utf8(tmp, cp);
        if (o + k > n || memcmp(s + o, tmp, k) != 0)
            return 0;
        o += k;
    }
    return o == n;
}

int evbus__json_write_string_body(evbus__buf_t *out, const char *s, size_t n) {
    /* worst case every byte becomes \u00XX */
    if (n > (SIZE_MAX - 3) / 6 || evbus__buf_reserve(out, n * 6) != 0)
        return -1;
    const unsigned char *u = (const unsigned char *)s;
    unsigned char *d = out->data + out->len;
    for (size_t i = 0; i < n;) {
        size_t k = evbus__json_verbatim_len(u + i, n - i);
        if (k)
            memcpy(d, u + i, k);
        d += k;
        i += k;
        if (i < n)
            d += evbus__json_escape_ascii(u[i++], d);
    }
    out->len = (size_t)(d - out->data);
    out->data[out->len] = 0;
    return 0;
}

int evbus__json_write_string(evbus__buf_t *out, const char *s, size_t n) {
    if (n > (SIZE_MAX - 3) / 6 || evbus__buf_reserve(out, n * 6 + 2) != 0)
        return -1;
    out->data[out->len++] = '"';
    evbus__json_write_string_body(out, s, n); /* room reserved above: cannot fail */
    out->data[out->len++] = '"';
    out->data[out->len] = 0;
    return 0;
}

/* 1 for the bytes a JSON string takes as they are and UTF-8 needs no check for: printable
 * ASCII but quote and backslash (0x7f included, as evbus__json_escape_ascii() has it). */
static const unsigned char k_plain[256] = {
#define P16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
    [0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x22 '"' */
    P16, P16, /* 0x30-0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x5c '\\' */
    P16, P16,
#undef P16
};

/* Whether some byte of w is not printable ASCII, or is '"' or '\\' (evbus__plain_ascii_len's test). */
static inline int word_not_plain(uint64_t w) {
    uint64_t bad = ((w - 0x20 * EVBUS__W_ONES) & ~w) | (w + EVBUS__W_ONES) | w |
                   evbus__w_zero_byte(w ^ (0x22 * EVBUS__W_ONES)) |
                   evbus__w_zero_byte(w ^ (0x5C * EVBUS__W_ONES));
    return (bad & EVBUS__W_HIGH) != 0;
}

/* Copies the leading bytes of s that need neither escaping nor a UTF-8 check to d (room for n
 * bytes); how many.  A word at a time, the last one overlapping the one before; a string
 * shorter than a word byte by byte (the input may end right after it). */
static inline size_t plain_copy(unsigned char *d, const unsigned char *s, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = evbus__w_load(s + i);
        if (word_not_plain(w))
            break;
        memcpy(d + i, &w, 8);
    }
    if (i < n && i + 8 > n && n >= 8) {
        uint64_t w = evbus__w_load(s + n - 8);
        if (!word_not_plain(w)) {
            memcpy(d + n - 8, &w, 8);
            return n;
        }
    }
    for (; i < n && k_plain[s[i]]; i++)
        d[i] = s[i];
    return i;
}

int evbus__json_write_utf8_string(evbus__buf_t *out, const unsigned char *s, size_t n, size_t *badp) {
    if (n > (SIZE_MAX - 3) / 6)
        return -1;
    /* the reserve call only when the room is short: strings are many and short */
    if (out->cap - out->len <= n * 6 + 2 && evbus__buf_reserve(out, n * 6 + 2) != 0)
        return -1;
    unsigned char *d = out->data + out->len;
    uint32_t cp;
    *d++ = '"';
    /* Most strings are plain ASCII throughout: checked and copied 8 bytes per step (the byte
     * loop below was a fifth of decoding an event to JSON). */
    size_t i = plain_copy(d, s, n);
    d += i;
    while (i < n) {
        unsigned char c = s[i];
        if (k_plain[c]) {
            *d++ = c;
            i++;
        } else if (c < 0x80) {
            d += evbus__json_escape_ascii(c, d);
            i++;
        } else {
            size_t k = utf8_seq(s + i, n - i, &cp);
            if (!k) {
                *badp = i;
                out->data[out->len] = 0;
                return 1;
            }
            memcpy(d, s + i, k);
            d += k;
            i += k;
        }
    }
    *d++ = '"';
    out->len = (size_t)(d - out->data);
    out->data[out->len] = 0;
    return 0;
}
