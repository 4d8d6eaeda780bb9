/*
 * Avro binary -> compact JSON text, in one pass.  The input is untrusted (it comes off
 * a Kafka topic): every length is checked against the bytes left before it is used,
 * recursion is capped, block counts are bounded by what their items can take (items of
 * no size, like nulls, by a fixed budget per datum), so
 * garbage gives EVBUS_ERR_DECODE rather than a crash or a huge allocation.
 *
 * Choices (see codec.h): strings must be valid UTF-8 (else an error: the Python peer
 * cannot produce anything else); doubles and floats are printed in the shortest form
 * that reads back as the same value, with ".0" added to integral values so they still
 * look like floating point numbers ("1.0", "-0.0", "1e+300" stays as is).
 */
#include "codec.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "codec_internal.h"

typedef struct dec_s {
    const unsigned char *p;
    size_t len, pos;
    evbus__buf_t *out;
    char *errstr;
    size_t errstr_size;
    int failed;
    int nonfinite;     /* a NaN/Infinity was written as null */
    size_t zero_budget; /* items of zero encoded size we still accept */
    /* 0: the first pass, no path kept and no message written; a datum that fails (or holds a
     * NaN) is decoded again with 1, which keeps the path for the message.  Decoding is
     * deterministic, so the second pass fails at the same place; the path pushes cost as
     * much as a few fields' decoding and are wasted on the datums that decode. */
    int track;
    evbus__path_t path;
} dec_t;

#define PATH_PUSH(d, k, s, n)                      \
    do {                                           \
        if ((d)->track)                            \
            evbus__path_push(&(d)->path, k, s, n); \
    } while (0)
#define PATH_POP(d)                    \
    do {                               \
        if ((d)->track)                \
            evbus__path_pop(&(d)->path); \
    } while (0)

static int dec_fail(dec_t *d, const char *fmt, ...) EVBUS__PRINTF(2, 3);
static int dec_fail(dec_t *d, const char *fmt, ...) {
    char msg[200], path[256];
    va_list ap;
    if (d->failed)
        return -1;
    d->failed = 1;
    if (!d->track)
        return -1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (evbus__path_format(&d->path, path, sizeof(path)) > 0)
        evbus__seterr(d->errstr, d->errstr_size, "%s: %s", path, msg);
    else
        evbus__seterr(d->errstr, d->errstr_size, "%s", msg);
    return -1;
}

static int nomem(dec_t *d) { return dec_fail(d, "out of memory"); }

static int truncated(dec_t *d) { return dec_fail(d, "truncated data at byte %zu", d->pos); }

static int rd_long_slow(dec_t *d, int64_t *v) {
    uint64_t r = 0;
    *v = 0;
    for (int shift = 0;; shift += 7) {
        if (d->pos >= d->len)
            return truncated(d);
        unsigned char b = d->p[d->pos++];
        if (shift == 63 && (b & 0xfe))
            return dec_fail(d, "varint too long at byte %zu", d->pos - 1);
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    *v = (int64_t)((r >> 1) ^ (0 - (r & 1)));
    return 0;
}

/* Most varints of an event (lengths, small ints, branches, counts) are one byte: read inline. */
static inline int rd_long(dec_t *d, int64_t *v) {
    if (d->pos < d->len && !(d->p[d->pos] & 0x80)) {
        unsigned b = d->p[d->pos++];
        *v = (int64_t)(b >> 1) ^ -(int64_t)(b & 1);
        return 0;
    }
    return rd_long_slow(d, v);
}

/* A length: 0 <= n <= bytes left. */
static inline int rd_len(dec_t *d, size_t *n, const char *what) {
    int64_t v = 0;
    *n = 0;
    if (rd_long(d, &v) != 0)
        return -1;
    if (v < 0 || (uint64_t)v > d->len - d->pos)
        return dec_fail(d, "%s length %lld exceeds the %zu bytes left", what, (long long)v,
                        d->len - d->pos);
    *n = (size_t)v;
    return 0;
}

/* Room for n more bytes.  The output is NUL-terminated once, at the end of the datum
 * (evbus__avro_decode_json), not after every piece: the pieces are written per byte of JSON. */
static inline int room(dec_t *d, size_t n) {
    if (d->out->cap - d->out->len > n)
        return 0;
    return evbus__buf_reserve(d->out, n) == 0 ? 0 : nomem(d);
}

static inline int put(dec_t *d, const char *s, size_t n) {
    if (room(d, n) != 0)
        return -1;
    memcpy(d->out->data + d->out->len, s, n);
    d->out->len += n;
    return 0;
}

static inline int putc_(dec_t *d, char c) {
    if (room(d, 1) != 0)
        return -1;
    d->out->data[d->out->len++] = (unsigned char)c;
    return 0;
}

static int put_i64(dec_t *d, int64_t v) {
    char tmp[24], *e = tmp + sizeof(tmp), *p = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return put(d, p, (size_t)(e - p));
}

/*
 * Fast path of put_real() for a double with at most 15 significant digits and a decimal
 * exponent in [-4, 14], i.e. v is the double nearest to M / 10^k with |M| < 10^15: then
 * "%.15g" prints exactly M / 10^k (v is within half an ulp, 2^-53 relative, of it, far less
 * than half a unit of the 15th digit), in fixed notation, and that text reads back as v, so it
 * is what the "%.*g" search below would print.  Nearness is tested exactly: M and 10^k
 * (k <= 18) are exact doubles, so M / 10^k is correctly rounded by IEEE division.
 * 0 and the text in tmp (NUL-terminated), or -1 to take the general path.
 */
static int real_fixed(double v, char *tmp, int *lenp) {
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
                                 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
    double a = fabs(v);
    if (!(a >= 1e-4 && a < 1e15))
        return -1;
    for (int k = 0; k <= 18; k++) {
        double m = a * p10[k];
        if (m >= 1e15)
            return -1; /* would need more than 15 digits */
        /* nearbyint(m) without the library call: 0 <= m < 1e15 < 2^52, so adding and
         * subtracting 2^52 rounds to an integer in the current rounding mode, as nearbyint does */
        double r = (m + 0x1p52) - 0x1p52;
        if (r == 0 || r / p10[k] != a)
            continue;
        uint64_t M = (uint64_t)r;
        /* fixed notation needs a decimal exponent >= -4: M / 10^k >= 1e-4 */
        if (k > 4 && (double)M < p10[k - 4])
            return -1;
        char digits[24];
        int nd = 0;
        do {
            digits[nd++] = (char)('0' + M % 10);
            M /= 10;
        } while (M);
        char *o = tmp;
        if (v < 0)
            *o++ = '-';
        if (nd <= k) { /* 0.000ddd */
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < k - nd; i++)
                *o++ = '0';
            while (nd > 0)
                *o++ = digits[--nd];
        } else {
            while (nd > k)
                *o++ = digits[--nd];
            *o++ = '.';
            if (k == 0)
                *o++ = '0';
            while (nd > 0)
                *o++ = digits[--nd];
        }
        *o = 0;
        *lenp = (int)(o - tmp);
        return 0;
    }
    return -1;
}

/* Shortest "%.*g" (from prec_lo up) that reads back as the same value; ".0" when integral. */
static int put_real(dec_t *d, double v, int is_float) {
    char tmp[40];
    int n = 0;
    if (!isfinite(v)) {
        if (!d->nonfinite) {
            d->nonfinite = 1;
            dec_fail(d, "%s is not finite: written as null", is_float ? "float" : "double");
            d->failed = 0; /* keep decoding; the error is reported at the end */
        }
        return put(d, "null", 4);
    }
    /* Any decimal of at most DBL_DIG (FLT_DIG) digits survives the round trip, so starting
     * there finds the shortest text of a normal number in one or two tries.  Subnormals have
     * fewer bits and shorter texts (5e-324), so they search from one digit. */
    if (!is_float) { /* written in place: its text (and NUL) takes at most 25 bytes */
        if (room(d, sizeof(tmp)) != 0)
            return -1;
        if (real_fixed(v, (char *)d->out->data + d->out->len, &n) == 0) {
            d->out->len += (size_t)n;
            return 0;
        }
    }
    int subnormal = v != 0 && (is_float ? fabs(v) < FLT_MIN : fabs(v) < DBL_MIN);
    int prec_lo = subnormal ? 1 : is_float ? FLT_DIG : DBL_DIG;
    /* snprintf/strtod must use '.' whatever locale the application set; switched here only,
     * on the slow path (per datum it cost more than the fast path's numbers) */
    locale_t cl = evbus__c_locale(), old = cl ? uselocale(cl) : (locale_t)0;
    for (int prec = prec_lo; prec <= (is_float ? 9 : 17); prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (is_float ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
            break;
    }
    if (cl)
        uselocale(old);
    if (n < 0 || (size_t)n >= sizeof(tmp) - 3)
        return dec_fail(d, "cannot format number");
    if (!strpbrk(tmp, ".eEn")) {
        memcpy(tmp + n, ".0", 3);
        n += 2;
    }
    return put(d, tmp, (size_t)n);
}

/* bytes/fixed as a JSON string of code points 0..255 (Avro's JSON encoding convention). */
static int put_binary(dec_t *d, const unsigned char *s, size_t n) {
    if (n > (SIZE_MAX - 3) / 6 || evbus__buf_reserve(d->out, n * 6 + 2) != 0)
        return nomem(d);
    unsigned char *o = d->out->data + d->out->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 0x80) { /* code point c, as UTF-8 */
            *o++ = (unsigned char)(0xC0 | (c >> 6));
            *o++ = (unsigned char)(0x80 | (c & 0x3F));
        } else {
            o += evbus__json_escape_ascii(c, o);
        }
    }
    *o++ = '"';
    d->out->len = (size_t)(o - d->out->data);
    d->out->data[d->out->len] = 0;
    return 0;
}

/* The len string bytes at the read position, checked to be UTF-8 and written as a JSON string
 * in one pass (most of a datum's bytes are strings). */
static int dec_string_body(dec_t *d, size_t len) {
    size_t bad = 0;
    int r = evbus__json_write_utf8_string(d->out, d->p + d->pos, len, &bad);
    if (r < 0)
        return nomem(d);
    if (r > 0)
        return dec_fail(d, "invalid UTF-8 in string at byte %zu", d->pos + bad);
    d->pos += len;
    return 0;
}

/* An Avro name (enum symbol, a union branch's full name or type name) as a JSON string: the
 * schema parser admits only [A-Za-z_][A-Za-z0-9_]* parts joined by dots, so there is nothing to
 * escape. */
static int put_name(dec_t *d, const char *name) {
    size_t nl = strlen(name);
    if (room(d, nl + 2) != 0)
        return -1;
    unsigned char *o = d->out->data + d->out->len;
    o[0] = '"';
    memcpy(o + 1, name, nl);
    o[nl + 1] = '"';
    d->out->len += nl + 2;
    return 0;
}

/*
 * Block header: item count (a negative count is followed by the block's byte size).  Every
 * item takes at least min bytes, so a count the bytes left cannot hold is refused before any
 * item is read.  Items that take no bytes (null, empty records, fixed 0) are charged to the
 * datum's budget of EVBUS__AVRO_MAX_ZERO_ITEMS instead: the bound must not depend on the
 * input's length, or a value that decodes from a long input would not decode from its own,
 * shorter, canonical encoding.
 */
static int rd_block(dec_t *d, size_t min, size_t *count) {
    int64_t c = 0, bytes = 0;
    *count = 0;
    if (rd_long(d, &c) != 0)
        return -1;
    if (c < 0) {
        if (c == INT64_MIN)
            return dec_fail(d, "bad block count");
        c = -c;
        if (rd_long(d, &bytes) != 0)
            return -1;
        if (bytes < 0 || (uint64_t)bytes > d->len - d->pos)
            return dec_fail(d, "block size %lld exceeds the %zu bytes left", (long long)bytes,
                            d->len - d->pos);
    }
    if (min > 0) {
        if ((uint64_t)c > (d->len - d->pos) / min)
            return dec_fail(d, "block count %lld needs at least %llu bytes, %zu left",
                            (long long)c, (unsigned long long)c * min, d->len - d->pos);
    } else {
        if ((uint64_t)c > d->zero_budget)
            return dec_fail(d, "block count %lld exceeds the limit of %d items of no size in a datum",
                            (long long)c, EVBUS__AVRO_MAX_ZERO_ITEMS);
        d->zero_budget -= (size_t)c;
    }
    *count = (size_t)c;
    return 0;
}

static int dec_value(dec_t *d, const evbus__schema_t *n, int depth);

/* "name": for a record field.  The schema parser admits only [A-Za-z_][A-Za-z0-9_]* as field
 * names, so there is nothing to escape, and the string writer's scan was a tenth of decoding. */
static int dec_record(dec_t *d, const evbus__schema_t *n, int depth) {
    if (putc_(d, '{') != 0)
        return -1;
    for (size_t i = 0; i < n->nfields; i++) {
        const evbus__field_t *f = &n->fields[i];
        /* Avro names are [A-Za-z_][A-Za-z0-9_]*: their JSON text needs no escaping.  The
         * comma and the name with its colon in one piece, one room check per field; the key
         * text prepared by the schema parser, zero-padded, is copied in whole words (up to 7
         * bytes past it, inside the room asked for, overwritten next). */
        size_t kl = f->json_key_len;
        if (room(d, kl + 9) != 0)
            return -1;
        unsigned char *o = d->out->data + d->out->len;
        if (i)
            *o++ = ',';
        for (size_t w = 0; w < kl; w += 8)
            memcpy(o + w, f->json_key + w, 8);
        d->out->len = (size_t)(o + kl - d->out->data);
        PATH_PUSH(d, SEG_FIELD, f->name, 0);
        if (f->type->kind == EVBUS__AVRO_STRING && depth < EVBUS__CODEC_MAX_DEPTH) {
            /* most fields are strings: read here, without the call and dispatch of dec_value
             * (the same reads and checks as its string case; too deep goes there to fail) */
            size_t len = 0;
            if (rd_len(d, &len, "string") != 0 || dec_string_body(d, len) != 0)
                return -1;
        } else if (dec_value(d, f->type, depth + 1) != 0) {
            return -1;
        }
        PATH_POP(d);
    }
    return putc_(d, '}');
}

static int dec_array(dec_t *d, const evbus__schema_t *n, int depth) {
    size_t count = 0, idx = 0;
    if (putc_(d, '[') != 0)
        return -1;
    for (;;) {
        if (rd_block(d, n->items->min_size, &count) != 0)
            return -1;
        if (count == 0)
            break;
        for (size_t i = 0; i < count; i++, idx++) {
            if (idx && putc_(d, ',') != 0)
                return -1;
            PATH_PUSH(d, SEG_INDEX, NULL, idx);
            if (dec_value(d, n->items, depth + 1) != 0)
                return -1;
            PATH_POP(d);
        }
    }
    return putc_(d, ']');
}

static int dec_map(dec_t *d, const evbus__schema_t *n, int depth) {
    size_t count = 0, idx = 0;
    if (putc_(d, '{') != 0)
        return -1;
    for (;;) {
        if (rd_block(d, 1 + n->items->min_size, &count) != 0) /* the key's length byte */
            return -1;
        if (count == 0)
            break;
        for (size_t i = 0; i < count; i++, idx++) {
            const unsigned char *k = NULL;
            size_t kn = 0;
            if (idx && putc_(d, ',') != 0)
                return -1;
            /* the key checked and written in one pass, as string values are */
            if (rd_len(d, &kn, "string") != 0 || dec_string_body(d, kn) != 0 || putc_(d, ':') != 0)
                return -1;
            k = d->p + d->pos - kn;
            PATH_PUSH(d, SEG_DATA_KEY, (const char *)k, kn);
            if (dec_value(d, n->items, depth + 1) != 0)
                return -1;
            PATH_POP(d);
        }
    }
    return putc_(d, '}');
}

static int dec_union(dec_t *d, const evbus__schema_t *n, int depth) {
    int64_t b = 0;
    if (rd_long(d, &b) != 0)
        return -1;
    if (b < 0 || (uint64_t)b >= n->nbranches)
        return dec_fail(d, "union branch %lld out of range (%zu branches)", (long long)b,
                        n->nbranches);
    const evbus__schema_t *br = n->branches[b];
    size_t nonnull = n->nbranches - (n->null_branch >= 0 ? 1 : 0);
    if (br->kind == EVBUS__AVRO_NULL)
        return put(d, "null", 4);
    if (nonnull == 1)
        return dec_value(d, br, depth + 1);
    const char *name = br->fullname ? br->fullname : evbus__avro_kind_name(br->kind);
    if (putc_(d, '{') != 0 || put_name(d, name) != 0 ||
        putc_(d, ':') != 0 || dec_value(d, br, depth + 1) != 0)
        return -1;
    return putc_(d, '}');
}

static int dec_value(dec_t *d, const evbus__schema_t *n, int depth) {
    int64_t v = 0;
    size_t len = 0;
    const unsigned char *s = NULL;
    if (depth > EVBUS__CODEC_MAX_DEPTH)
        return dec_fail(d, "nesting too deep");
    switch (n->kind) {
    case EVBUS__AVRO_NULL: return put(d, "null", 4);
    case EVBUS__AVRO_BOOLEAN:
        if (d->pos >= d->len)
            return truncated(d);
        if (d->p[d->pos] > 1)
            return dec_fail(d, "bad boolean byte 0x%02x", d->p[d->pos]);
        return d->p[d->pos++] ? put(d, "true", 4) : put(d, "false", 5);
    case EVBUS__AVRO_INT:
    case EVBUS__AVRO_LONG:
        if (rd_long(d, &v) != 0)
            return -1;
        if (n->kind == EVBUS__AVRO_INT && (v < INT32_MIN || v > INT32_MAX))
            return dec_fail(d, "int %lld out of range", (long long)v);
        return put_i64(d, v);
    case EVBUS__AVRO_FLOAT:
    case EVBUS__AVRO_DOUBLE: {
        size_t k = n->kind == EVBUS__AVRO_FLOAT ? 4 : 8;
        uint64_t u = 0;
        if (d->len - d->pos < k)
            return truncated(d);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (k == 8) { /* Avro's little-endian bytes are the host's: one load */
            memcpy(&u, d->p + d->pos, 8);
        } else {
            uint32_t u32;
            memcpy(&u32, d->p + d->pos, 4);
            u = u32;
        }
#else
        for (size_t i = 0; i < k; i++)
            u |= (uint64_t)d->p[d->pos + i] << (8 * i);
#endif
        d->pos += k;
        if (k == 4) {
            uint32_t u32 = (uint32_t)u;
            float f;
            memcpy(&f, &u32, 4);
            return put_real(d, f, 1);
        }
        double x;
        memcpy(&x, &u, 8);
        return put_real(d, x, 0);
    }
    case EVBUS__AVRO_STRING:
        if (rd_len(d, &len, "string") != 0)
            return -1;
        return dec_string_body(d, len);
    case EVBUS__AVRO_BYTES:
        if (rd_len(d, &len, "bytes") != 0)
            return -1;
        s = d->p + d->pos;
        d->pos += len;
        return put_binary(d, s, len);
    case EVBUS__AVRO_FIXED:
        if (d->len - d->pos < n->fixed_size)
            return truncated(d);
        s = d->p + d->pos;
        d->pos += n->fixed_size;
        return put_binary(d, s, n->fixed_size);
    case EVBUS__AVRO_ENUM:
        if (rd_long(d, &v) != 0)
            return -1;
        if (v < 0 || (uint64_t)v >= n->nsymbols)
            return dec_fail(d, "enum index %lld out of range (%zu symbols)", (long long)v,
                            n->nsymbols);
        return put_name(d, n->symbols[v]);
    case EVBUS__AVRO_RECORD: return dec_record(d, n, depth);
    case EVBUS__AVRO_ARRAY: return dec_array(d, n, depth);
    case EVBUS__AVRO_MAP: return dec_map(d, n, depth);
    case EVBUS__AVRO_UNION: return dec_union(d, n, depth);
    }
    return dec_fail(d, "bad schema node");
}

evbus_err_t evbus__avro_decode_json(const evbus__schema_t *schema, const void *data, size_t len,
                                    evbus__buf_t *out, char *errstr, size_t errstr_size) {
    size_t start = out->len;
    /* Not memset: the path's segments are written before they are read, and zeroing them
     * all cost as much as decoding a small datum. */
    dec_t d;
    int r = 0;
    for (int track = 0; track < 2; track++) {
        d.pos = 0;
        d.failed = d.nonfinite = 0;
        d.track = track;
        d.path.depth = 0;
        d.p = data ? data : (const void *)"";
        d.len = data ? len : 0;
        d.out = out;
        d.errstr = errstr;
        d.errstr_size = errstr_size;
        d.zero_budget = EVBUS__AVRO_MAX_ZERO_ITEMS;
        out->len = start;
        r = dec_value(&d, schema, 0);
        if (r == 0 && d.pos != d.len)
            r = dec_fail(&d, "%zu trailing bytes after the datum", d.len - d.pos);
        if (r == 0 && !d.nonfinite)
            break; /* decoded: no message to write */
    }
    if (r != 0) {
        out->len = start;
        if (out->data)
            out->data[start] = 0;
        return EVBUS_ERR_DECODE;
    }
    if (evbus__buf_reserve(out, 0) != 0) {
        out->len = start;
        return evbus__fail(EVBUS_ERR_DECODE, errstr, errstr_size, "out of memory");
    }
    out->data[out->len] = 0;
    /* NaN/Infinity: the JSON (with null in their place) is complete, but it is not the data */
    return d.nonfinite ? EVBUS_ERR_DECODE : EVBUS_OK;
}

evbus_err_t evbus__avro_decode_string(const void *data, size_t len, const char **sp, size_t *np) {
    dec_t d;
    size_t n = 0;
    memset(&d, 0, sizeof(d));
    d.p = data;
    d.len = data ? len : 0;
    if (rd_len(&d, &n, "string") != 0 || d.pos + n != d.len ||
        evbus__utf8_valid_prefix(d.p + d.pos, n) != n || memchr(d.p + d.pos, 0, n))
        return EVBUS_ERR_DECODE;
    *sp = (const char *)d.p + d.pos;
    *np = n;
    return EVBUS_OK;
}
