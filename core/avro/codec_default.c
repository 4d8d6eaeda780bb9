/*
 * Record field defaults by Avro's rules: checking every default of a parsed schema and
 * pre-encoding it (evbus__avro_prepare_defaults), one default's natural JSON
 * (evbus__avro_default_json), and evbus__schema_parse, the types from schema.c with their
 * defaults prepared here.  The encoding itself is codec.c's, run in its Avro-default mode
 * (evbus__avro_encode_default), so there is one JSON reader for both kinds of JSON.
 */
#include "codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

evbus_err_t evbus__avro_default_json(const evbus__schema_t *type, const char *json, size_t len,
                                     evbus__buf_t *out, char *errstr, size_t errstr_size) {
    evbus__buf_t avro = EVBUS__BUF_INIT;
    evbus_err_t e = evbus__avro_encode_default(type, json, len, &avro, errstr, errstr_size);
    if (e == EVBUS_OK) {
        /* A checked default always decodes (it holds no NaN: JSON has none); a failure
         * here is a codec bug, reported as such rather than as the schema's fault. */
        char derr[256];
        if (evbus__avro_decode_json(type, avro.data, avro.len, out, derr, sizeof(derr)) !=
            EVBUS_OK)
            e = evbus__fail(strstr(derr, "out of memory") ? EVBUS_ERR_NOMEM : EVBUS_ERR_DECODE,
                            errstr, errstr_size, "default does not decode: %s", derr);
    }
    evbus__buf_free(&avro);
    return e;
}

typedef struct prep_s {
    const evbus__schema_t **seen; /* records already prepared (named types make cycles) */
    size_t nseen, capseen;
    char path[512];               /* field path for messages, "a.b" */
    size_t pathlen;
    char *errstr;
    size_t errstr_size;
} prep_t;

static evbus_err_t prep_node(prep_t *p, evbus__schema_t *n, int depth);

static evbus_err_t prep_field(prep_t *p, evbus__field_t *f) {
    char err[300];
    evbus__buf_t b = EVBUS__BUF_INIT;
    const evbus__schema_t *t = f->type;
    evbus_err_t e = evbus__avro_encode_default(t, f->default_json, strlen(f->default_json), &b,
                                               err, sizeof(err));
    if (e != EVBUS_OK)
        evbus__buf_free(&b); /* a failed encoding leaves b empty, not unallocated */
    if (e == EVBUS_ERR_NOMEM)
        return evbus__fail(e, p->errstr, p->errstr_size, "out of memory");
    if (e != EVBUS_OK) {
        if (t->kind == EVBUS__AVRO_UNION && t->nbranches > 0) {
            const evbus__schema_t *b0 = t->branches[0];
            return evbus__fail(EVBUS_ERR_SCHEMA, p->errstr, p->errstr_size,
                               "field '%s': default %.200s does not match the union's first "
                               "branch (%s): %s",
                               p->path, f->default_json,
                               b0->fullname ? b0->fullname : evbus__avro_kind_name(b0->kind), err);
        }
        return evbus__fail(EVBUS_ERR_SCHEMA, p->errstr, p->errstr_size,
                           "field '%s': default %.200s does not match the type: %s", p->path,
                           f->default_json, err);
    }
    /* an empty encoding (null, empty record) still gets a pointer: NULL means "not prepared" */
    f->default_avro_len = b.len;
    f->default_avro = b.data ? b.data : malloc(1);
    if (!f->default_avro)
        return evbus__fail(EVBUS_ERR_NOMEM, p->errstr, p->errstr_size, "out of memory");
    return EVBUS_OK;
}

static evbus_err_t prep_record(prep_t *p, evbus__schema_t *n, int depth) {
    for (size_t i = 0; i < p->nseen; i++)
        if (p->seen[i] == n)
            return EVBUS_OK;
    if (p->nseen == p->capseen) {
        size_t nc = p->capseen ? p->capseen * 2 : 16;
        const evbus__schema_t **s = realloc(p->seen, nc * sizeof(*s));
        if (!s)
            return evbus__fail(EVBUS_ERR_NOMEM, p->errstr, p->errstr_size, "out of memory");
        p->seen = s;
        p->capseen = nc;
    }
    p->seen[p->nseen++] = n;
    for (size_t i = 0; i < n->nfields; i++) {
        evbus__field_t *f = &n->fields[i];
        size_t saved = p->pathlen;
        int k = snprintf(p->path + saved, sizeof(p->path) - saved, "%s%s", saved ? "." : "",
                         f->name);
        p->pathlen = k < 0 ? saved : saved + (size_t)k;
        if (p->pathlen >= sizeof(p->path))
            p->pathlen = sizeof(p->path) - 1;
        /* inner records first: messages then name the innermost bad default, as the
         * definition order does */
        evbus_err_t e = prep_node(p, f->type, depth + 1);
        if (e == EVBUS_OK && f->has_default && !f->default_avro)
            e = prep_field(p, f);
        p->pathlen = saved;
        p->path[saved] = 0;
        if (e != EVBUS_OK)
            return e;
    }
    return EVBUS_OK;
}

static evbus_err_t prep_node(prep_t *p, evbus__schema_t *n, int depth) {
    if (depth > 2 * EVBUS__SCHEMA_MAX_DEPTH) /* the parser's cap; unreachable for its trees */
        return evbus__fail(EVBUS_ERR_SCHEMA, p->errstr, p->errstr_size, "schema nested too deeply");
    switch (n->kind) {
    case EVBUS__AVRO_RECORD: return prep_record(p, n, depth);
    case EVBUS__AVRO_ARRAY:
    case EVBUS__AVRO_MAP: return prep_node(p, n->items, depth + 1);
    case EVBUS__AVRO_UNION:
        for (size_t i = 0; i < n->nbranches; i++) {
            evbus_err_t e = prep_node(p, n->branches[i], depth + 1);
            if (e != EVBUS_OK)
                return e;
        }
        return EVBUS_OK;
    default: return EVBUS_OK;
    }
}

evbus_err_t evbus__avro_prepare_defaults(evbus__schema_doc_t *doc, char *errstr,
                                         size_t errstr_size) {
    prep_t p;
    memset(&p, 0, sizeof(p));
    p.errstr = errstr;
    p.errstr_size = errstr_size;
    evbus_err_t e = prep_node(&p, doc->root, 0);
    free(p.seen);
    return e;
}

evbus__schema_doc_t *evbus__schema_parse(const char *json, size_t len, char *errstr,
                                         size_t errstr_size) {
    evbus__schema_doc_t *doc = evbus__schema_parse_types(json, len, errstr, errstr_size);
    if (doc && evbus__avro_prepare_defaults(doc, errstr, errstr_size) != EVBUS_OK) {
        evbus__schema_doc_destroy(doc);
        return NULL;
    }
    return doc;
}
