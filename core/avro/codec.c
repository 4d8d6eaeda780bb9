/*
 * JSON text -> Avro binary, directed by the schema, in one pass over the text.
 *
 * Record fields may come in any order: a field that arrives in schema order is
 * encoded straight away; one that arrives early has only the offset of its value
 * remembered (the value is validated and skipped) and is encoded from there once the
 * fields before it are done.  So JSON written in schema order (what evbus and the
 * Python bus emit) is scanned once, and any order costs at most one extra scan of
 * the early fields.  No DOM, and no allocation beyond the output buffer except for
 * records wider than SPAN_LOCAL fields.
 */
#include "codec.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>

#include "codec_internal.h"

#define SPAN_LOCAL 48

static locale_t c_loc;
static pthread_once_t c_loc_once = PTHREAD_ONCE_INIT;
static void c_loc_init(void) { c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

locale_t evbus__c_locale(void) {
    pthread_once(&c_loc_once, c_loc_init);
    return c_loc;
}

/* A map key cut at 100 bytes (on a UTF-8 boundary), so that a long key cannot push the reason
 * out of the message; a data key escaped as in JSON, so that a message never carries raw
 * control bytes. */
static int key_format(const evbus__seg_t *s, char *buf, size_t size) {
    unsigned char tmp[2 + 100 * 6 + 2 + 1];
    size_t o = 0, n = s->n;
    const unsigned char *k = (const unsigned char *)s->s;
    if (n > 100) {
        n = 100;
        while (n > 0 && (k[n] & 0xC0) == 0x80)
            n--;
    }
    tmp[o++] = '[';
    tmp[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (k[i] < 0x80 && s->kind == SEG_DATA_KEY)
            o += evbus__json_escape_ascii(k[i], tmp + o);
        else
            tmp[o++] = k[i];
    }
    tmp[o++] = '"';
    tmp[o++] = ']';
    tmp[o] = 0;
    return snprintf(buf, size, "%s", (const char *)tmp);
}

static int seg_format(const evbus__seg_t *s, int first, char *buf, size_t size) {
    if (s->kind == SEG_FIELD)
        return snprintf(buf, size, "%s%s", first ? "" : ".", s->s);
    if (s->kind == SEG_INDEX)
        return s->n == EVBUS__PATH_ANY_INDEX ? snprintf(buf, size, "[]")
                                             : snprintf(buf, size, "[%zu]", s->n);
    return key_format(s, buf, size);
}

/* A deep path keeps its innermost segments (where the problem is) behind "...". */
size_t evbus__path_format(const evbus__path_t *p, char *buf, size_t size) {
    enum { BUDGET = 160 };
    char seg[128];
    int depth = p->depth < EVBUS__CODEC_MAX_DEPTH + 2 ? p->depth : EVBUS__CODEC_MAX_DEPTH + 2;
    int from = depth;
    size_t total = 0;
    if (size == 0)
        return 0;
    while (from > 0) {
        int k = seg_format(&p->segs[from - 1], 0, seg, sizeof(seg));
        if (k < 0 || total + (size_t)k > BUDGET)
            break;
        total += (size_t)k;
        from--;
    }
    size_t o = 0;
    buf[0] = 0;
    if (from > 0)
        o = (size_t)snprintf(buf, size, "...");
    for (int i = from; i < depth && o < size; i++) {
        int k = seg_format(&p->segs[i], i == 0 || (from > 0 && i == from), buf + o, size - o);
        if (k < 0)
            break;
        o += (size_t)k;
    }
    return o < size ? o : size - 1;
}

typedef struct enc_s {
    evbus__json_t j;
    evbus__buf_t *out;
    char *errstr;
    size_t errstr_size;
    evbus_err_t err;
    size_t zero_items; /* array items of no encoded size so far (EVBUS__AVRO_MAX_ZERO_ITEMS) */
    int avro_default;  /* the text is a schema default: Avro's rules, not natural JSON's */
    evbus__path_t path;
} enc_t;

static int enc_fail(enc_t *e, evbus_err_t code, const char *fmt, ...) EVBUS__PRINTF(3, 4);
static int enc_fail(enc_t *e, evbus_err_t code, const char *fmt, ...) {
    char msg[256], path[256];
    va_list ap;
    if (e->err)
        return -1;
    e->err = code;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (evbus__path_format(&e->path, path, sizeof(path)) > 0)
        evbus__seterr(e->errstr, e->errstr_size, "%s: %s", path, msg);
    else
        evbus__seterr(e->errstr, e->errstr_size, "%s", msg);
    return -1;
}

static int nomem(enc_t *e) { return enc_fail(e, EVBUS_ERR_NOMEM, "out of memory"); }

static int json_fail(enc_t *e) {
    return enc_fail(e, EVBUS_ERR_SCHEMA, "invalid JSON at offset %zu: %s", e->j.errpos,
                    e->j.err ? e->j.err : "syntax error");
}

static int mismatch(enc_t *e, const evbus__schema_t *n, evbus__json_type_t t) {
    if (t == EVBUS__JSON_INVALID)
        return json_fail(e);
    return enc_fail(e, EVBUS_ERR_SCHEMA, "expected %s, got %s", evbus__avro_kind_name(n->kind),
                    evbus__json_type_name(t));
}

static inline size_t varint_len(uint64_t z) {
    size_t k = 1;
    while (z >= 0x80) {
        z >>= 7;
        k++;
    }
    return k;
}

static inline unsigned char *put_varint(unsigned char *p, uint64_t z) {
    while (z >= 0x80) {
        *p++ = (unsigned char)((z & 0x7f) | 0x80);
        z >>= 7;
    }
    *p++ = (unsigned char)z;
    return p;
}

static inline uint64_t zigzag(int64_t v) {
    return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
}

static int put_long(enc_t *e, int64_t v) {
    if (evbus__buf_reserve(e->out, 10) != 0)
        return nomem(e);
    e->out->len = (size_t)(put_varint(e->out->data + e->out->len, zigzag(v)) - e->out->data);
    return 0;
}

static int put_bytes(enc_t *e, const void *p, size_t n) {
    return evbus__buf_append(e->out, p, n) == 0 ? 0 : nomem(e);
}

/* Integers are parsed exactly (not through double) so INT64_MIN/MAX survive. */
static int parse_i64(const char *s, size_t n, int64_t *v) {
    size_t i = 0;
    int neg = 0;
    uint64_t acc = 0;
    if (n && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return -1;
        acc = acc * 10 + d;
    }
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (acc > limit)
        return -1;
    *v = neg ? (acc == limit ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
    return 0;
}

static int enc_value(enc_t *e, const evbus__schema_t *n, int depth);
static int enc_default_text(enc_t *e, const evbus__schema_t *n, const char *json, int depth);
static int enc_union(enc_t *e, const evbus__schema_t *n, evbus__json_type_t t, int depth);

static int enc_integer(enc_t *e, const evbus__schema_t *n, evbus__json_type_t t) {
    evbus__json_num_t num;
    int64_t v;
    if (t != EVBUS__JSON_NUMBER)
        return mismatch(e, n, t);
    if (evbus__json_number(&e->j, &num) != 0)
        return json_fail(e);
    if (!num.integer)
        return enc_fail(e, EVBUS_ERR_SCHEMA, "expected %s, got non-integer number %.*s",
                        evbus__avro_kind_name(n->kind), (int)(num.len > 40 ? 40 : num.len),
                        num.text);
    if (parse_i64(num.text, num.len, &v) != 0 ||
        (n->kind == EVBUS__AVRO_INT && (v < INT32_MIN || v > INT32_MAX)))
        return enc_fail(e, EVBUS_ERR_SCHEMA, "%.*s out of range for %s",
                        (int)(num.len > 40 ? 40 : num.len), num.text,
                        evbus__avro_kind_name(n->kind));
    return put_long(e, v);
}

static int enc_real(enc_t *e, const evbus__schema_t *n, evbus__json_type_t t) {
    evbus__json_num_t num;
    char tmp[512];
    unsigned char b[8];
    if (t != EVBUS__JSON_NUMBER)
        return mismatch(e, n, t);
    if (evbus__json_number(&e->j, &num) != 0)
        return json_fail(e);
    if (num.len >= sizeof(tmp))
        return enc_fail(e, EVBUS_ERR_SCHEMA, "number too long");
    memcpy(tmp, num.text, num.len);
    tmp[num.len] = 0;
    double d = strtod(tmp, NULL); /* in the C locale: see evbus__avro_encode_json */
    if (n->kind == EVBUS__AVRO_FLOAT) {
        float f = (float)d;
        if (!isfinite(f))
            return enc_fail(e, EVBUS_ERR_SCHEMA, "%s out of range for float", tmp);
        uint32_t u;
        memcpy(&u, &f, 4);
        for (int i = 0; i < 4; i++)
            b[i] = (unsigned char)(u >> (8 * i));
        return put_bytes(e, b, 4);
    }
    if (!isfinite(d))
        return enc_fail(e, EVBUS_ERR_SCHEMA, "%s out of range for double", tmp);
    uint64_t u;
    memcpy(&u, &d, 8);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(u >> (8 * i));
    return put_bytes(e, b, 8);
}

/* bytes/fixed: a JSON string whose code points 0..255 are the bytes. */
static int enc_binary(enc_t *e, const evbus__schema_t *n, evbus__json_type_t t) {
    evbus__json_str_t str;
    size_t i = 0, count = 0;
    uint32_t cp = 0;
    if (t != EVBUS__JSON_STRING)
        return mismatch(e, n, t);
    if (evbus__json_string(&e->j, &str) != 0)
        return json_fail(e);
    while (evbus__json_next_cp(&str, &i, &cp)) {
        if (cp > 255)
            return enc_fail(e, EVBUS_ERR_SCHEMA,
                            "code point U+%04X in %s (only U+0000..U+00FF stand for bytes)",
                            (unsigned)cp, evbus__avro_kind_name(n->kind));
        count++;
    }
    if (n->kind == EVBUS__AVRO_FIXED) {
        if (count != n->fixed_size)
            return enc_fail(e, EVBUS_ERR_SCHEMA, "fixed '%s' needs %zu bytes, got %zu",
                            n->fullname, n->fixed_size, count);
    } else if (put_long(e, (int64_t)count) != 0) {
        return -1;
    }
    if (evbus__buf_reserve(e->out, count) != 0)
        return nomem(e);
    unsigned char *p = e->out->data + e->out->len;
    for (i = 0; evbus__json_next_cp(&str, &i, &cp);)
        *p++ = (unsigned char)cp;
    e->out->len += count;
    return 0;
}

static int enc_string(enc_t *e, const evbus__schema_t *n, evbus__json_type_t t) {
    evbus__json_str_t str;
    if (t != EVBUS__JSON_STRING)
        return mismatch(e, n, t);
    if (evbus__json_string(&e->j, &str) != 0)
        return json_fail(e);
    if (put_long(e, (int64_t)str.ulen) != 0 || evbus__buf_reserve(e->out, str.ulen) != 0)
        return e->err ? -1 : nomem(e);
    e->out->len += evbus__json_unescape(&str, (char *)e->out->data + e->out->len);
    return 0;
}

static int enc_enum(enc_t *e, const evbus__schema_t *n, evbus__json_type_t t) {
    evbus__json_str_t str;
    if (t != EVBUS__JSON_STRING)
        return mismatch(e, n, t);
    if (evbus__json_string(&e->j, &str) != 0)
        return json_fail(e);
    for (size_t i = 0; i < n->nsymbols; i++)
        if (evbus__json_str_eq(&str, n->symbols[i], strlen(n->symbols[i])))
            return put_long(e, (int64_t)i);
    return enc_fail(e, EVBUS_ERR_SCHEMA, "unknown symbol \"%.*s\" for enum '%s'",
                    (int)(str.rawlen > 100 ? 100 : str.rawlen), str.raw, n->fullname);
}

/*
 * Arrays and maps are one block: count, items, 0.  The count is not known until the
 * end, so one byte is reserved for it and the items are moved up in the rare case
 * (64 items or more) that the count needs a longer varint.
 */
static int finish_block(enc_t *e, size_t start, size_t count) {
    if (count == 0)
        return 0; /* the reserved byte is the 0 that ends the (empty) array */
    uint64_t z = zigzag((int64_t)count);
    size_t k = varint_len(z);
    if (evbus__buf_reserve(e->out, k) != 0)
        return nomem(e);
    unsigned char *d = e->out->data;
    if (k > 1)
        memmove(d + start + k, d + start + 1, e->out->len - start - 1);
    e->out->len += k - 1;
    put_varint(d + start, z);
    d[e->out->len++] = 0;
    return 0;
}

static int enc_array(enc_t *e, const evbus__schema_t *n, evbus__json_type_t t, int depth) {
    int first = 1, r;
    size_t count = 0, start;
    if (t != EVBUS__JSON_ARRAY)
        return mismatch(e, n, t);
    e->j.pos++;
    start = e->out->len;
    if (evbus__buf_putc(e->out, 0) != 0)
        return nomem(e);
    while ((r = evbus__json_arr_next(&e->j, &first)) == 1) {
        evbus__path_push(&e->path, SEG_INDEX, NULL, count);
        if (n->items->min_size == 0 && ++e->zero_items > EVBUS__AVRO_MAX_ZERO_ITEMS)
            return enc_fail(e, EVBUS_ERR_SCHEMA,
                            "more than %d array items of no encoded size in one value",
                            EVBUS__AVRO_MAX_ZERO_ITEMS);
        if (enc_value(e, n->items, depth + 1) != 0)
            return -1;
        evbus__path_pop(&e->path);
        count++;
    }
    if (r < 0)
        return json_fail(e);
    return finish_block(e, start, count);
}

static int enc_map(enc_t *e, const evbus__schema_t *n, evbus__json_type_t t, int depth) {
    int first = 1, r;
    size_t count = 0, start;
    evbus__json_str_t key;
    if (t != EVBUS__JSON_OBJECT)
        return mismatch(e, n, t);
    e->j.pos++;
    start = e->out->len;
    if (evbus__buf_putc(e->out, 0) != 0)
        return nomem(e);
    while ((r = evbus__json_obj_next(&e->j, &first, &key)) == 1) {
        if (put_long(e, (int64_t)key.ulen) != 0 || evbus__buf_reserve(e->out, key.ulen) != 0)
            return e->err ? -1 : nomem(e);
        e->out->len += evbus__json_unescape(&key, (char *)e->out->data + e->out->len);
        evbus__path_push(&e->path, SEG_KEY, key.raw, key.rawlen);
        if (enc_value(e, n->items, depth + 1) != 0)
            return -1;
        evbus__path_pop(&e->path);
        count++;
    }
    if (r < 0)
        return json_fail(e);
    return finish_block(e, start, count);
}

/* Encode field i from the value at the scanner's position. */
static int enc_field(enc_t *e, const evbus__schema_t *n, size_t i, int depth) {
    evbus__path_push(&e->path, SEG_FIELD, n->fields[i].name, 0);
    int r = enc_value(e, n->fields[i].type, depth + 1);
    evbus__path_pop(&e->path);
    return r;
}

/* Encode field i from the value remembered at offset pos, keeping the scanner where it was. */
static int enc_field_at(enc_t *e, const evbus__schema_t *n, size_t i, size_t pos, int depth) {
    size_t saved = e->j.pos;
    e->j.pos = pos;
    int r = enc_field(e, n, i, depth);
    e->j.pos = saved;
    return r;
}

static int field_named(const evbus__json_str_t *key, const evbus__field_t *f) {
    return evbus__json_str_eq(key, f->name, strlen(f->name));
}

static int enc_record(enc_t *e, const evbus__schema_t *n, evbus__json_type_t t, int depth) {
    size_t local[SPAN_LOCAL], *span = local, next = 0, nf = n->nfields;
    int first = 1, r, rc = -1;
    evbus__json_str_t key;
    if (t != EVBUS__JSON_OBJECT)
        return mismatch(e, n, t);
    if (nf > SPAN_LOCAL && !(span = malloc(nf * sizeof(*span))))
        return nomem(e);
    /* span[i] != 0: offset of field i's value, seen before its turn (never 0: '{' precedes) */
    memset(span, 0, nf * sizeof(*span));
    e->j.pos++;
    while ((r = evbus__json_obj_next(&e->j, &first, &key)) == 1) {
        size_t f = nf;
        if (next < nf && field_named(&key, &n->fields[next])) {
            f = next;
        } else {
            for (size_t i = 0; i < nf; i++)
                if (field_named(&key, &n->fields[i])) {
                    f = i;
                    break;
                }
        }
        if (f == nf && e->avro_default) {
            /* Avro says nothing of them; Java's parser ignores them, and so do we */
            if (evbus__json_skip(&e->j, depth + 1) != 0) {
                json_fail(e);
                goto out;
            }
            continue;
        }
        if (f == nf || f < next || span[f]) {
            char name[128];
            snprintf(name, sizeof(name), "%.*s", (int)(key.rawlen > 100 ? 100 : key.rawlen),
                     key.raw);
            evbus__path_push(&e->path, SEG_FIELD, name, 0);
            enc_fail(e, EVBUS_ERR_SCHEMA, f == nf ? "unknown field" : "duplicate field");
            evbus__path_pop(&e->path);
            goto out;
        }
        if (f != next) { /* early: remember where its value is */
            evbus__json_ws(&e->j);
            span[f] = e->j.pos;
            if (evbus__json_skip(&e->j, depth + 1) != 0) {
                json_fail(e);
                goto out;
            }
            continue;
        }
        if (enc_field(e, n, next++, depth) != 0)
            goto out;
        for (; next < nf && span[next]; next++)
            if (enc_field_at(e, n, next, span[next], depth) != 0)
                goto out;
    }
    if (r < 0) {
        json_fail(e);
        goto out;
    }
    for (; next < nf; next++) {
        const evbus__field_t *f = &n->fields[next];
        if (span[next]) {
            if (enc_field_at(e, n, next, span[next], depth) != 0)
                goto out;
        } else if (f->has_default && f->default_avro) {
            if (put_bytes(e, f->default_avro, f->default_avro_len) != 0)
                goto out;
        } else if (f->has_default) { /* not prepared yet: a default inside a default */
            evbus__path_push(&e->path, SEG_FIELD, f->name, 0);
            int r2 = enc_default_text(e, f->type, f->default_json, depth + 1);
            evbus__path_pop(&e->path);
            if (r2 != 0)
                goto out;
        } else {
            evbus__path_push(&e->path, SEG_FIELD, f->name, 0);
            enc_fail(e, EVBUS_ERR_SCHEMA, "missing field (no default)");
            evbus__path_pop(&e->path);
            goto out;
        }
    }
    rc = 0;
out:
    if (span != local)
        free(span);
    return rc;
}

/* Type name by which a union branch is chosen in {"<name>": value}. */
static const char *branch_name(const evbus__schema_t *b) {
    return b->fullname ? b->fullname : evbus__avro_kind_name(b->kind);
}

static int union_mismatch(enc_t *e, const evbus__schema_t *n, evbus__json_type_t t) {
    char names[200];
    size_t o = 0;
    names[0] = 0;
    for (size_t i = 0; i < n->nbranches && o < sizeof(names); i++) {
        int k = snprintf(names + o, sizeof(names) - o, "%s%s", i ? "," : "",
                         branch_name(n->branches[i]));
        if (k < 0)
            break;
        o += (size_t)k;
    }
    if (t == EVBUS__JSON_INVALID)
        return json_fail(e);
    return enc_fail(e, EVBUS_ERR_SCHEMA, "expected union [%s] as {\"<type>\": value}, got %s",
                    names, evbus__json_type_name(t));
}

/*
 * null picks the null branch.  A union of null and one other type (either order) takes
 * that type's plain value; any other union takes {"<type name>": value}.
 */
static int enc_union(enc_t *e, const evbus__schema_t *n, evbus__json_type_t t, int depth) {
    size_t nonnull = n->nbranches - (n->null_branch >= 0 ? 1 : 0);
    if (e->avro_default) { /* Avro: a union's default is a value of its first branch */
        if (n->nbranches == 0)
            return enc_fail(e, EVBUS_ERR_SCHEMA, "an empty union has no value");
        if (put_long(e, 0) != 0)
            return -1;
        return enc_value(e, n->branches[0], depth + 1);
    }
    if (t == EVBUS__JSON_NULL && n->null_branch >= 0) {
        if (evbus__json_literal(&e->j, t) != 0)
            return json_fail(e);
        return put_long(e, n->null_branch);
    }
    if (nonnull == 1) {
        size_t b = n->null_branch == 0 ? 1 : 0;
        if (put_long(e, (int64_t)b) != 0)
            return -1;
        return enc_value(e, n->branches[b], depth + 1);
    }
    if (t != EVBUS__JSON_OBJECT)
        return union_mismatch(e, n, t);
    int first = 1, r;
    evbus__json_str_t key;
    e->j.pos++;
    r = evbus__json_obj_next(&e->j, &first, &key);
    if (r < 0)
        return json_fail(e);
    if (r == 0)
        return union_mismatch(e, n, EVBUS__JSON_OBJECT);
    for (size_t i = 0; i < n->nbranches; i++) {
        const char *bn = branch_name(n->branches[i]);
        if (!evbus__json_str_eq(&key, bn, strlen(bn)))
            continue;
        if (put_long(e, (int64_t)i) != 0 || enc_value(e, n->branches[i], depth + 1) != 0)
            return -1;
        r = evbus__json_obj_next(&e->j, &first, &key);
        if (r < 0)
            return json_fail(e);
        if (r == 1)
            return enc_fail(e, EVBUS_ERR_SCHEMA, "union value must be an object with one key");
        return 0;
    }
    return enc_fail(e, EVBUS_ERR_SCHEMA, "no branch \"%.*s\" in union",
                    (int)(key.rawlen > 100 ? 100 : key.rawlen), key.raw);
}

static int enc_value(enc_t *e, const evbus__schema_t *n, int depth) {
    if (depth > EVBUS__CODEC_MAX_DEPTH)
        return enc_fail(e, EVBUS_ERR_SCHEMA, "nesting too deep");
    evbus__json_type_t t = evbus__json_peek(&e->j);
    switch (n->kind) {
    case EVBUS__AVRO_NULL:
        if (t != EVBUS__JSON_NULL)
            return mismatch(e, n, t);
        return evbus__json_literal(&e->j, t) == 0 ? 0 : json_fail(e);
    case EVBUS__AVRO_BOOLEAN:
        if (t != EVBUS__JSON_TRUE && t != EVBUS__JSON_FALSE)
            return mismatch(e, n, t);
        if (evbus__json_literal(&e->j, t) != 0)
            return json_fail(e);
        return evbus__buf_putc(e->out, t == EVBUS__JSON_TRUE) == 0 ? 0 : nomem(e);
    case EVBUS__AVRO_INT:
    case EVBUS__AVRO_LONG: return enc_integer(e, n, t);
    case EVBUS__AVRO_FLOAT:
    case EVBUS__AVRO_DOUBLE: return enc_real(e, n, t);
    case EVBUS__AVRO_STRING: return enc_string(e, n, t);
    case EVBUS__AVRO_BYTES:
    case EVBUS__AVRO_FIXED: return enc_binary(e, n, t);
    case EVBUS__AVRO_ENUM: return enc_enum(e, n, t);
    case EVBUS__AVRO_ARRAY: return enc_array(e, n, t, depth);
    case EVBUS__AVRO_MAP: return enc_map(e, n, t, depth);
    case EVBUS__AVRO_RECORD: return enc_record(e, n, t, depth);
    case EVBUS__AVRO_UNION: return enc_union(e, n, t, depth);
    }
    return enc_fail(e, EVBUS_ERR_SCHEMA, "bad schema node");
}

/*
 * Encode a default given as JSON text (a record field's own default, needed while encoding
 * another default that leaves that field out) with a scanner of its own, then carry on
 * with the outer text.
 */
static int enc_default_text(enc_t *e, const evbus__schema_t *n, const char *json, int depth) {
    evbus__json_t saved = e->j;
    int saved_mode = e->avro_default;
    evbus__json_init(&e->j, json, strlen(json));
    e->avro_default = 1;
    int r = enc_value(e, n, depth);
    if (r == 0 && evbus__json_end(&e->j) != 0)
        r = json_fail(e);
    e->j = saved;
    e->avro_default = saved_mode;
    return r;
}

static evbus_err_t encode(const evbus__schema_t *schema, const char *json, size_t len,
                          int avro_default, evbus__buf_t *out, char *errstr, size_t errstr_size) {
    enc_t e;
    size_t start = out->len;
    e.out = out;
    e.errstr = errstr;
    e.errstr_size = errstr_size;
    e.err = EVBUS_OK;
    e.zero_items = 0;
    e.avro_default = avro_default;
    e.path.depth = 0;
    evbus__json_init(&e.j, json, len);
    /* strtod must read '.' whatever locale the application set */
    locale_t cl = evbus__c_locale(), old = cl ? uselocale(cl) : (locale_t)0;
    int r = enc_value(&e, schema, 0);
    if (r == 0 && evbus__json_end(&e.j) != 0)
        r = json_fail(&e);
    if (cl)
        uselocale(old);
    if (r != 0) {
        out->len = start;
        if (out->data)
            out->data[start] = 0;
        return e.err ? e.err : EVBUS_ERR_SCHEMA;
    }
    if (evbus__buf_reserve(out, 0) != 0) { /* keep the promised NUL after the data */
        out->len = start;
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    out->data[out->len] = 0;
    return EVBUS_OK;
}

evbus_err_t evbus__avro_encode_default(const evbus__schema_t *schema, const char *json, size_t len,
                                       evbus__buf_t *out, char *errstr, size_t errstr_size) {
    return encode(schema, json, len, 1, out, errstr, errstr_size);
}

evbus_err_t evbus__avro_encode_json(const evbus__schema_t *schema, const char *json, size_t len,
                                    evbus__buf_t *out, char *errstr, size_t errstr_size) {
    return encode(schema, json, len, 0, out, errstr, errstr_size);
}
