/* Avro schema resolution between two versions of a schema: the static check and the data
 * transformation (see resolve.h for why it works on natural JSON). */
#include "resolve.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "codec_internal.h"

#define MAX_DEPTH 128

typedef struct rctx_s {
    const evbus__schema_doc_t *reader;
    json_t *reader_json; /* parsed lazily, for enum defaults (the schema tree keeps none) */
    evbus__path_t path; /* where the check or the data is, for messages (as the codec's) */
    char *errstr;
    size_t errstr_size;
    /* static check: writer/reader record pairs being checked, so recursive types end */
    const evbus__schema_t *stack_w[MAX_DEPTH], *stack_r[MAX_DEPTH];
    int nstack;
} rctx_t;

static const char *kname(const evbus__schema_t *n) {
    return n->fullname ? n->fullname : evbus__avro_kind_name(n->kind);
}

static const char *short_name(const char *full) {
    const char *d = full ? strrchr(full, '.') : NULL;
    return d ? d + 1 : full;
}

static int rfail(rctx_t *c, const char *fmt, ...) EVBUS__PRINTF(2, 3);
static int rfail(rctx_t *c, const char *fmt, ...) {
    char what[300], path[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (c->path.depth == 0 || evbus__path_format(&c->path, path, sizeof(path)) == 0)
        snprintf(path, sizeof(path), "(top level)");
    evbus__seterr(c->errstr, c->errstr_size, "%s: %s", path, what);
    return -1;
}

/* The spec's "promotable or equal" for non-union, non-named kinds. */
static int prim_ok(evbus__avro_kind_t w, evbus__avro_kind_t r) {
    if (w == r)
        return 1;
    switch (w) {
    case EVBUS__AVRO_INT:
        return r == EVBUS__AVRO_LONG || r == EVBUS__AVRO_FLOAT || r == EVBUS__AVRO_DOUBLE;
    case EVBUS__AVRO_LONG: return r == EVBUS__AVRO_FLOAT || r == EVBUS__AVRO_DOUBLE;
    case EVBUS__AVRO_FLOAT: return r == EVBUS__AVRO_DOUBLE;
    case EVBUS__AVRO_STRING: return r == EVBUS__AVRO_BYTES;
    case EVBUS__AVRO_BYTES: return r == EVBUS__AVRO_STRING;
    default: return 0;
    }
}

/* Whether a writer node and a reader node are of a matching kind (first step of the spec's
 * union branch choice, and the top of every comparison). Named types match by unqualified name. */
static int kinds_match(const evbus__schema_t *w, const evbus__schema_t *r) {
    if (w->kind == EVBUS__AVRO_RECORD || w->kind == EVBUS__AVRO_ENUM || w->kind == EVBUS__AVRO_FIXED)
        return w->kind == r->kind && strcmp(short_name(w->fullname), short_name(r->fullname)) == 0 &&
               (w->kind != EVBUS__AVRO_FIXED || w->fixed_size == r->fixed_size);
    if (w->kind == EVBUS__AVRO_ARRAY || w->kind == EVBUS__AVRO_MAP)
        return w->kind == r->kind;
    return prim_ok(w->kind, r->kind);
}

/* The reader branch the spec picks for a writer type: the first that matches exactly, else
 * the first the writer promotes to. -1 when none. */
static int pick_branch(const evbus__schema_t *w, const evbus__schema_t *ru) {
    for (size_t i = 0; i < ru->nbranches; i++)
        if (ru->branches[i]->kind == w->kind && kinds_match(w, ru->branches[i]))
            return (int)i;
    for (size_t i = 0; i < ru->nbranches; i++)
        if (kinds_match(w, ru->branches[i]))
            return (int)i;
    return -1;
}

/* The "default" of the reader's enum fullname, from the reader schema's JSON; NULL if none. */
static const char *find_enum_default_in(json_t *j, const char *fullname, const char *ns, int depth) {
    char nsbuf[512];
    if (depth > MAX_DEPTH || !j)
        return NULL;
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            const char *d = find_enum_default_in(json_array_get(j, i), fullname, ns, depth + 1);
            if (d)
                return d;
        }
        return NULL;
    }
    if (!json_is_object(j))
        return NULL;
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *jns = json_string_value(json_object_get(j, "namespace"));
    if (jns)
        ns = jns;
    if (type && name && strcmp(type, "enum") == 0) {
        char full[768];
        if (strchr(name, '.') || !ns || !*ns)
            snprintf(full, sizeof(full), "%s", name);
        else
            snprintf(full, sizeof(full), "%s.%s", ns, name);
        if (strcmp(full, fullname) == 0)
            return json_string_value(json_object_get(j, "default"));
        return NULL;
    }
    if (type && name && strcmp(type, "record") == 0 && strchr(name, '.')) {
        /* a dotted name sets the namespace of what it encloses */
        snprintf(nsbuf, sizeof(nsbuf), "%.*s", (int)(strrchr(name, '.') - name), name);
        ns = nsbuf;
    }
    const char *d = NULL; /* points into j, not into nsbuf: fine to return */
    json_t *f = json_object_get(j, "fields");
    for (size_t i = 0; !d && json_is_array(f) && i < json_array_size(f); i++)
        d = find_enum_default_in(json_object_get(json_array_get(f, i), "type"), fullname, ns,
                                 depth + 1);
    if (!d && json_object_get(j, "items"))
        d = find_enum_default_in(json_object_get(j, "items"), fullname, ns, depth + 1);
    if (!d && json_object_get(j, "values"))
        d = find_enum_default_in(json_object_get(j, "values"), fullname, ns, depth + 1);
    if (!d && json_is_object(json_object_get(j, "type")))
        d = find_enum_default_in(json_object_get(j, "type"), fullname, ns, depth + 1);
    return d;
}

static const char *enum_default(rctx_t *c, const evbus__schema_t *r) {
    if (!c->reader_json && c->reader->json)
        c->reader_json = json_loads(c->reader->json, JSON_DECODE_ANY, NULL);
    return find_enum_default_in(c->reader_json, r->fullname, NULL, 0);
}

static int has_symbol(const evbus__schema_t *e, const char *s) {
    for (size_t i = 0; i < e->nsymbols; i++)
        if (strcmp(e->symbols[i], s) == 0)
            return 1;
    return 0;
}

static const evbus__field_t *field_of(const evbus__schema_t *rec, const char *name) {
    for (size_t i = 0; i < rec->nfields; i++)
        if (strcmp(rec->fields[i].name, name) == 0)
            return &rec->fields[i];
    return NULL;
}

/* The writer's field that the reader's field rf reads: the one of its name, else the first of
 * its aliases the writer has (a field renamed, its old name kept as an alias), as the Avro
 * specification resolves them and registries judge compatibility. */
static const evbus__field_t *writer_field(const evbus__schema_t *w, const evbus__field_t *rf) {
    const evbus__field_t *wf = field_of(w, rf->name);
    for (size_t i = 0; !wf && i < rf->naliases; i++)
        wf = field_of(w, rf->aliases[i]);
    return wf;
}

/* ---- static check ---- */

static int check(rctx_t *c, const evbus__schema_t *w, const evbus__schema_t *r, int depth) {
    if (depth > MAX_DEPTH)
        return rfail(c, "schemas nest too deep");
    if (w->kind == EVBUS__AVRO_UNION) {
        for (size_t i = 0; i < w->nbranches; i++) /* branches are never unions: not counted */
            if (check(c, w->branches[i], r, depth) != 0)
                return -1;
        return 0;
    }
    if (r->kind == EVBUS__AVRO_UNION) {
        int b = pick_branch(w, r);
        if (b < 0)
            return rfail(c, "writer's %s matches no branch of the reader's union", kname(w));
        return check(c, w, r->branches[b], depth);
    }
    if (!kinds_match(w, r))
        return rfail(c, "writer's %s cannot be read as reader's %s", kname(w), kname(r));
    switch (w->kind) {
    case EVBUS__AVRO_ARRAY:
    case EVBUS__AVRO_MAP: {
        if (w->kind == EVBUS__AVRO_ARRAY)
            evbus__path_push(&c->path, SEG_INDEX, NULL, EVBUS__PATH_ANY_INDEX);
        else
            evbus__path_push(&c->path, SEG_FIELD, "*", 0); /* any key */
        int rc = check(c, w->items, r->items, depth + 1);
        evbus__path_pop(&c->path);
        return rc;
    }
    case EVBUS__AVRO_ENUM:
        for (size_t i = 0; i < w->nsymbols; i++)
            if (!has_symbol(r, w->symbols[i]) && !enum_default(c, r))
                return rfail(c, "symbol %s of the writer's enum %s is not in the reader's, which has no default",
                             w->symbols[i], w->fullname);
        return 0;
    case EVBUS__AVRO_RECORD:
        for (int i = 0; i < c->nstack; i++)
            if (c->stack_w[i] == w && c->stack_r[i] == r)
                return 0; /* recursive type: this pair is being checked further up */
        if (c->nstack >= MAX_DEPTH)
            return rfail(c, "schemas nest too deep");
        c->stack_w[c->nstack] = w;
        c->stack_r[c->nstack++] = r;
        for (size_t i = 0; i < r->nfields; i++) {
            const evbus__field_t *rf = &r->fields[i], *wf = writer_field(w, rf);
            evbus__path_push(&c->path, SEG_FIELD, rf->name, 0);
            int rc = 0;
            if (wf)
                rc = check(c, wf->type, rf->type, depth + 1);
            else if (!rf->has_default)
                rc = rfail(c, "the reader's field is not in the writer's record and has no default");
            evbus__path_pop(&c->path);
            if (rc) {
                c->nstack--;
                return -1;
            }
        }
        c->nstack--;
        return 0;
    default: return 0;
    }
}

evbus_err_t evbus__resolve_check(const evbus__schema_doc_t *writer, const evbus__schema_doc_t *reader,
                                 char *errstr, size_t errstr_size) {
    rctx_t *c = calloc(1, sizeof(*c));
    if (!c)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    c->reader = reader;
    c->errstr = errstr;
    c->errstr_size = errstr_size;
    int rc = check(c, writer->root, reader->root, 0);
    json_decref(c->reader_json);
    free(c);
    return rc ? EVBUS_ERR_SCHEMA : EVBUS_OK;
}

/* ---- data ---- */

static json_t *resolve(rctx_t *c, const evbus__schema_t *w, const evbus__schema_t *r, json_t *v,
                       int depth);

/* The writer's union branch of a natural-JSON value and the value inside it (borrowed). */
static int writer_branch(rctx_t *c, const evbus__schema_t *w, json_t *v, const evbus__schema_t **bp,
                         json_t **inner) {
    size_t nonnull = w->nbranches - (w->null_branch >= 0 ? 1 : 0);
    if (json_is_null(v) && w->null_branch >= 0) {
        *bp = w->branches[w->null_branch];
        *inner = v;
        return 0;
    }
    if (nonnull == 1) {
        *bp = w->branches[w->null_branch == 0 ? 1 : 0];
        *inner = v;
        return 0;
    }
    const char *key;
    json_t *val;
    if (json_is_object(v) && json_object_size(v) == 1) {
        json_object_foreach(v, key, val) {
            for (size_t i = 0; i < w->nbranches; i++) {
                if (strcmp(kname(w->branches[i]), key) == 0) {
                    *bp = w->branches[i];
                    *inner = val;
                    return 0;
                }
            }
        }
    }
    return rfail(c, "value does not match the writer's union");
}

/* Natural JSON of v as reader union r's branch b. Steals v. */
static json_t *wrap_branch(const evbus__schema_t *r, size_t b, json_t *v) {
    size_t nonnull = r->nbranches - (r->null_branch >= 0 ? 1 : 0);
    if (!v || r->branches[b]->kind == EVBUS__AVRO_NULL || nonnull == 1)
        return v;
    json_t *o = json_object();
    if (!o || json_object_set_new(o, kname(r->branches[b]), v) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Bytes (code points 0..255) <-> string (UTF-8). */
static json_t *string_to_bytes(json_t *v) {
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t n = json_string_length(v);
    char *o = malloc(n * 2 + 1);
    size_t k = 0;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x80) {
            o[k++] = (char)s[i];
        } else {
            o[k++] = (char)(0xC0 | (s[i] >> 6));
            o[k++] = (char)(0x80 | (s[i] & 0x3F));
        }
    }
    json_t *r = json_stringn(o, k);
    free(o);
    return r;
}

static json_t *bytes_to_string(rctx_t *c, json_t *v) {
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t n = json_string_length(v), k = 0;
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) {
            o[k++] = (char)s[i++];
        } else if ((s[i] & 0xE0) == 0xC0 && i + 1 < n && s[i] <= 0xC3) {
            o[k++] = (char)(((s[i] & 0x1F) << 6) | (s[i + 1] & 0x3F));
            i += 2;
        } else {
            free(o);
            rfail(c, "bytes value is not a byte string");
            return NULL;
        }
    }
    json_t *r = json_stringn(o, k); /* NULL when the bytes are not UTF-8: reported below */
    free(o);
    if (!r)
        rfail(c, "the writer's bytes are not valid UTF-8, so cannot be read as the reader's string");
    return r;
}

static json_t *resolve_record(rctx_t *c, const evbus__schema_t *w, const evbus__schema_t *r, json_t *v,
                              int depth) {
    if (!json_is_object(v)) {
        rfail(c, "expected a record object");
        return NULL;
    }
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (size_t i = 0; i < r->nfields; i++) {
        const evbus__field_t *rf = &r->fields[i], *wf = writer_field(w, rf);
        json_t *fv = wf ? json_object_get(v, wf->name) : NULL; /* the data has the writer's names */
        if (!wf || !fv) {
            if (rf->has_default)
                continue; /* the reader's codec fills the default when encoding */
            evbus__path_push(&c->path, SEG_FIELD, rf->name, 0);
            if (wf)
                rfail(c, "missing in the data");
            else
                rfail(c, "the reader's field is not in the writer's record and has no default");
            evbus__path_pop(&c->path);
            json_decref(o);
            return NULL;
        }
        evbus__path_push(&c->path, SEG_FIELD, rf->name, 0);
        json_t *nv = resolve(c, wf->type, rf->type, fv, depth + 1);
        evbus__path_pop(&c->path);
        if (!nv || json_object_set_new(o, rf->name, nv) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o; /* the writer's fields the reader lacks are not copied: dropped */
}

static json_t *resolve(rctx_t *c, const evbus__schema_t *w, const evbus__schema_t *r, json_t *v,
                       int depth) {
    if (depth > MAX_DEPTH) {
        rfail(c, "data nests too deep");
        return NULL;
    }
    if (w->kind == EVBUS__AVRO_UNION) {
        const evbus__schema_t *b = NULL;
        json_t *inner = NULL;
        if (writer_branch(c, w, v, &b, &inner) != 0)
            return NULL;
        /* a union step adds no data nesting (and a branch is never a union): not counted, so
         * whatever the codec decoded (its own depth limit) resolves */
        return resolve(c, b, r, inner, depth);
    }
    if (r->kind == EVBUS__AVRO_UNION) {
        int b = pick_branch(w, r);
        if (b < 0) {
            rfail(c, "writer's %s matches no branch of the reader's union", kname(w));
            return NULL;
        }
        return wrap_branch(r, (size_t)b, resolve(c, w, r->branches[b], v, depth));
    }
    if (!kinds_match(w, r)) {
        rfail(c, "writer's %s cannot be read as reader's %s", kname(w), kname(r));
        return NULL;
    }
    switch (r->kind) {
    case EVBUS__AVRO_FLOAT:
    case EVBUS__AVRO_DOUBLE:
        return json_is_integer(v) ? json_real((double)json_integer_value(v)) : json_incref(v);
    case EVBUS__AVRO_BYTES:
        return w->kind == EVBUS__AVRO_STRING && json_is_string(v) ? string_to_bytes(v) : json_incref(v);
    case EVBUS__AVRO_STRING:
        return w->kind == EVBUS__AVRO_BYTES && json_is_string(v) ? bytes_to_string(c, v) : json_incref(v);
    case EVBUS__AVRO_ENUM: {
        const char *s = json_string_value(v);
        if (s && has_symbol(r, s))
            return json_incref(v);
        const char *d = enum_default(c, r);
        if (!d) {
            rfail(c, "symbol %s is not in the reader's enum %s, which has no default", s ? s : "?",
                  r->fullname);
            return NULL;
        }
        return json_string(d);
    }
    case EVBUS__AVRO_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; a && i < json_array_size(v); i++) {
            evbus__path_push(&c->path, SEG_INDEX, NULL, i);
            json_t *e = resolve(c, w->items, r->items, json_array_get(v, i), depth + 1);
            evbus__path_pop(&c->path);
            if (!e || json_array_append_new(a, e) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case EVBUS__AVRO_MAP: {
        json_t *m = json_object(), *mv;
        const char *k;
        json_object_foreach(v, k, mv) {
            evbus__path_push(&c->path, SEG_DATA_KEY, k, strlen(k));
            json_t *e = m ? resolve(c, w->items, r->items, mv, depth + 1) : NULL;
            evbus__path_pop(&c->path);
            if (!e || json_object_set_new(m, k, e) != 0) {
                json_decref(m);
                return NULL;
            }
        }
        return m;
    }
    case EVBUS__AVRO_RECORD: return resolve_record(c, w, r, v, depth);
    default: return json_incref(v);
    }
}

evbus_err_t evbus__resolve_json(const evbus__schema_doc_t *writer, const evbus__schema_doc_t *reader,
                                const char *json, size_t len, evbus__buf_t *out, char *errstr,
                                size_t errstr_size) {
    json_error_t jerr;
    json_t *in = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!in)
        return evbus__fail(EVBUS_ERR_DECODE, errstr, errstr_size, "data is not JSON: %s", jerr.text);
    rctx_t *c = calloc(1, sizeof(*c));
    if (!c) {
        json_decref(in);
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    c->reader = reader;
    c->errstr = errstr;
    c->errstr_size = errstr_size;
    if (errstr && errstr_size)
        errstr[0] = '\0';
    json_t *res = resolve(c, writer->root, reader->root, in, 0);
    json_decref(in);
    json_decref(c->reader_json);
    free(c);
    if (!res)
        return errstr && errstr_size && errstr[0]
                   ? EVBUS_ERR_SCHEMA
                   : evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    /* Through the reader's codec: it fills the defaults resolution left out and prints numbers
     * the way every other decoded event has them. */
    char *txt = json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    json_decref(res);
    if (!txt)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    evbus__buf_t avro = EVBUS__BUF_INIT;
    evbus_err_t err = evbus__avro_encode_json(reader->root, txt, strlen(txt), &avro, errstr, errstr_size);
    free(txt);
    if (!err)
        err = evbus__avro_decode_json(reader->root, avro.data, avro.len, out, errstr, errstr_size);
    evbus__buf_free(&avro);
    return err;
}
